"""`baselines ensemble --task T RUN... -o OUT [--weights w...] [--gt GT] [--images DIR]`: fuse run files.

Every run is checked by the task's validator (against --gt/--images when given), fused by the task's
rule (docs/ensembles.md), written, validated again and recorded in OUT.provenance.json.
"""

from __future__ import annotations

import argparse

from baselines.commands._reference import load, printed_warnings

HELP = "fuse several run files of one task into one (WBF, votes, means, RRF, consensus)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", required=True, help="a registered task (baselines tasks)")
    parser.add_argument("runs", nargs="+", metavar="RUN", help="run files of the task, in priority order")
    parser.add_argument("-o", "--output", required=True, help="the fused run file")
    parser.add_argument("--weights", nargs="+", type=float, default=None, help="one positive weight per run")
    parser.add_argument(
        "--ground-truth", "--gt", dest="ground_truth", default=None, help="the split's official ground-truth file"
    )
    parser.add_argument(
        "--images",
        default=None,
        help="what the runs must cover, as for validate (image or CT folder, VQA test questions, LMRT "
        "image folder or metadata CSV: their times enable the temporal re-ranking, SPLL features)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    parser.add_argument(
        "--max-sidecar-bytes",
        type=int,
        default=1 << 30,
        help="refuse a score sidecar whose arrays take more once loaded (checked from its headers; default 1 GiB)",
    )
    fusion = parser.add_argument_group("fusion options (defaults in docs/ensembles.md)")
    fusion.add_argument("--iou-thr", type=float, default=0.55, help="boxes: WBF IoU threshold")
    fusion.add_argument("--skip-box-thr", type=float, default=0.0, help="boxes: ignore member boxes below this")
    fusion.add_argument(
        "--threshold", type=float, default=0.5, help="polygons: pixel vote share; concepts: vote share or mean score"
    )
    fusion.add_argument("--min-labels", type=int, default=1, help="concepts: fewest concepts per image")
    fusion.add_argument("--rrf-k", type=float, default=60.0, help="LMRT: reciprocal rank fusion k")
    fusion.add_argument("--diversity-weight", type=float, default=0.7, help="LMRT: relevance weight of the re-ranking")
    fusion.add_argument("--time-scale-minutes", type=float, default=30.0, help="LMRT: same-event time scale")
    fusion.add_argument("--no-sidecars", action="store_true", help="vote on the run files even if score sidecars exist")


def run(args: argparse.Namespace) -> int:
    from baselines.ensemble import FusionOptions, ensemble_runs

    options = FusionOptions(
        iou_threshold=args.iou_thr,
        skip_box_threshold=args.skip_box_thr,
        threshold=args.threshold,
        min_labels=args.min_labels,
        rrf_k=args.rrf_k,
        diversity_weight=args.diversity_weight,
        time_scale_minutes=args.time_scale_minutes,
        use_sidecars=not args.no_sidecars,
        max_sidecar_bytes=args.max_sidecar_bytes,
    )
    with printed_warnings():
        spec, reference = load(args)
        result = ensemble_runs(
            spec,
            args.runs,
            args.output,
            weights=args.weights,
            reference=reference,
            images=args.images,
            options=options,
            overwrite=args.overwrite,
            sources={"ground_truth": args.ground_truth, "images": args.images},
        )
    print(f"{result.run_file}: {len(args.runs)} {spec.name} runs fused ({spec.kind}), valid {spec.name} run file")
    for note in result.notes:
        print(f"  note: {note}")
    for check in spec.unchecked(reference):
        print(f"  not checked: {check}")
    print(f"  provenance: {result.provenance}")
    return 0
