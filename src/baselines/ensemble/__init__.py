"""Run-file ensembles: several runs of one task fused into one run that passes the task's validator.

    from baselines.ensemble import ensemble_runs
    ensemble_runs(get_task("drawnui"), ["a.txt", "b.txt"], "fused.txt", weights=[2, 1], reference=ref)

Each input is parsed by the task's own validator, the parsed runs are fused by the function registered
for the task's kind (`TaskSpec.kind`, `FUSERS`), the result is written by the task's own `format_run`
(atomically), validated again, and recorded in a provenance JSON with every member's sha256. The fusion
rules per task are in docs/ensembles.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# the fusion functions register themselves, one per kind, on import
from baselines.ensemble import labels, rankings, regions, texts, values  # noqa: F401
from baselines.ensemble.base import FUSERS, FusionContext, FusionOptions, Member, register
from baselines.errors import FormatError
from baselines.io.sidecar import MAX_SIDECAR_BYTES, read_sidecar, sidecar_path
from baselines.tasks.base import TaskSpec

__all__ = ["FUSERS", "EnsembleResult", "FusionOptions", "Member", "ensemble_runs", "load_members", "register"]


@dataclass
class EnsembleResult:
    """Attributes:
    run_file: The fused run (validated).
    provenance: Its provenance JSON.
    notes: What the fusion decided on its own (normalisation, skipped re-ranking, sidecars used).
    """

    run_file: Path
    provenance: Path
    notes: list[str]


def _check_weights(paths: Sequence[Path], weights: Sequence[float] | None) -> list[float]:
    if weights is None:
        return [1.0] * len(paths)
    if len(weights) != len(paths):
        raise ValueError(f"{len(weights)} weights for {len(paths)} runs: give one weight per run, in run order")
    if not all(math.isfinite(w) and w > 0 for w in weights):
        raise ValueError(f"weights must be positive numbers, got {list(weights)}")
    return [float(w) for w in weights]


def load_members(
    spec: TaskSpec,
    paths: Sequence[str | Path],
    weights: Sequence[float] | None = None,
    reference: Any | None = None,
    use_sidecars: bool = True,
    max_sidecar_bytes: int = MAX_SIDECAR_BYTES,
) -> list[Member]:
    """Parses every run with the task's validator (every problem of every run is reported together)
    and reads the score sidecar beside each, if any.

    Raises:
        FormatError: Problems in any run or sidecar.
    """
    runs = [Path(p) for p in paths]
    checked = _check_weights(runs, weights)
    members, problems = [], []
    for path, weight in zip(runs, checked, strict=True):
        try:
            parsed = spec.parse_run(path, reference)
            side = sidecar_path(path)
            sidecar = read_sidecar(side, path, max_sidecar_bytes) if use_sidecars and side.is_file() else None
        except FormatError as exc:
            problems += exc.problems
            continue
        members.append(Member(path, parsed, weight, sidecar))
    if problems:
        raise FormatError(problems)
    return members


def ensemble_runs(
    spec: TaskSpec,
    paths: Sequence[str | Path],
    output: str | Path,
    weights: Sequence[float] | None = None,
    reference: Any | None = None,
    images: str | Path | None = None,
    options: FusionOptions | None = None,
    overwrite: bool = False,
    sources: dict[str, Any] | None = None,
) -> EnsembleResult:
    """Fuses run files of one task into `output`, validates it and writes its provenance.

    Args:
        spec: The task.
        paths: The member runs (at least two), in priority order (ties go to earlier runs).
        output: The fused run file; refused if it exists unless overwrite.
        weights: One positive weight per run (default: equal).
        reference: What every run and the result are validated against (None: grammar only).
        images: The --images path, for what fusion needs beyond the reference (LMRT image times).
        options: The fusion knobs.
        overwrite: Replace an existing output.
        sources: Recorded in the provenance as where the reference came from.

    Raises:
        ValueError: Fewer than two runs, a task without a fusion, bad weights, runs of different items.
        FormatError: An invalid member run or sidecar; or a fused run the validator refuses (then removed).
    """
    from baselines.io.atomic import atomic_write_text
    from baselines.io.hashes import sha256_file
    from baselines.runfiles.provenance import provenance_path, write_provenance

    options = options or FusionOptions()
    kind = spec.kind
    if kind not in FUSERS:
        raise ValueError(f"task {spec.name} has no ensemble fusion (no fusion for its kind {kind!r})")
    output = Path(output)
    if len(paths) < 2:
        raise ValueError("an ensemble needs at least two runs")
    if any(Path(p).resolve() == output.resolve() for p in paths):
        raise ValueError(f"the output {output} is one of the input runs: write the fused run elsewhere")
    if output.exists() and not overwrite:
        raise FileExistsError(f"{output} exists; pass --overwrite to replace it")
    members = load_members(spec, paths, weights, reference, options.use_sidecars, options.max_sidecar_bytes)
    context = FusionContext(spec, reference, Path(images) if images is not None else None, options)
    predictions = FUSERS[kind](members, context)
    atomic_write_text(output, spec.format_run(predictions), overwrite=True)
    try:
        spec.parse_run(output, reference)  # what we wrote must pass the validator, like every run file we write
    except FormatError:
        output.unlink(missing_ok=True)
        raise
    record = {
        "task": spec.name,
        "ensemble": {
            "fusion": kind,  # the kind whose fusion rule was applied
            "members": [
                {
                    "run_file": str(m.path),
                    "sha256": sha256_file(m.path),
                    "weight": m.weight,
                    "provenance": str(provenance_path(m.path)) if provenance_path(m.path).is_file() else None,
                    "score_sidecar": (
                        {"path": str(m.sidecar.path), "sha256": sha256_file(m.sidecar.path)}
                        if m.sidecar is not None and m.sidecar.path is not None
                        else None
                    ),
                }
                for m in members
            ],
            "options": asdict(options),
            "notes": context.notes,
            "validated_against": sources or {},
        },
        "num_predictions": len(predictions),
    }
    provenance = write_provenance(output, None, None, None, None, extra=record)
    return EnsembleResult(output, provenance, context.notes)
