"""What test-time augmentation costs: predict_step time per batch with TTA off, flip, and flip + 2 scales.

Each problem type's LightningModule is built with random init at a small scale (the demo networks),
so the table shows the ratio TTA adds, not real-size throughput. Views: off = 1, hflip = 2,
hflip + scales [0.75, 1.25] = 6 (detection also fuses the views' boxes with WBF).

    python scripts/bench_tta.py                        # CPU
    python scripts/bench_tta.py --device cuda --repeats 20 --size 1024

Prints a Markdown table (paste it into docs/performance.md with the device and versions).
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import lightning
import torch

from baselines.models.base import Optim
from baselines.models.detection import DetectionModule
from baselines.models.multilabel import MultiLabelModule
from baselines.models.nets.detectors import faster_rcnn
from baselines.models.nets.segmenters import smp_model
from baselines.models.nets.volume_classifiers import monai_classifier
from baselines.models.segmentation import SegmentationModule
from baselines.models.tta import TTA
from baselines.models.volume import VolumeClassificationModule
from baselines.models.weights import create_timm

OPTIM = Optim(partial(torch.optim.SGD, lr=0.1))
SETTINGS = {"off": None, "hflip": TTA(hflip=True), "hflip+2 scales": TTA(hflip=True, scales=[0.75, 1.25])}


def _images(batch: int, size: int, device: str) -> dict[str, Any]:
    return {
        "image": torch.randint(0, 256, (batch, 3, size, size), dtype=torch.uint8, device=device),
        "id": [str(i) for i in range(batch)],
        "index": torch.arange(batch),
        "orig_size": torch.tensor([[size, size]] * batch),
        "scale": torch.ones(batch),
    }


def detection(size: int, device: str) -> tuple[Any, dict[str, Any]]:
    net = faster_rcnn(21, "resnet18", image_size=size, fpn_channels=64, representation_size=256)
    return DetectionModule(net, OPTIM), _images(2, size, device)


def segmentation(size: int, device: str) -> tuple[Any, dict[str, Any]]:
    net = smp_model(13, "Unet", "tu-resnet18", encoder_weights=None, decoder_channels=[128, 64, 32, 16, 8])
    return SegmentationModule(net, 13, OPTIM), _images(2, size, device)


def classification(size: int, device: str) -> tuple[Any, dict[str, Any]]:
    module = MultiLabelModule(create_timm("resnet18", False, num_classes=0), OPTIM)
    module.build_head([f"C{i:07d}" for i in range(100)])
    return module, _images(8, size // 2, device)


def volume(size: int, device: str) -> tuple[Any, dict[str, Any]]:
    side = max(16, size // 8)
    batch = {
        "volume": torch.rand(2, 2, 1, side, side, side, device=device),
        "id": ["a", "b"],
        "index": torch.arange(2),
    }
    return VolumeClassificationModule(monai_classifier("resnet18"), OPTIM), batch


BUILDERS: dict[str, Callable[[int, str], tuple[Any, dict[str, Any]]]] = {
    "detection (drawnUI, coral boxes)": detection,
    "segmentation (coral polygons)": segmentation,
    "classification (concepts; VQA alike)": classification,
    "volume classification (TB)": volume,
}


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def time_predict(module: Any, batch: dict[str, Any], repeats: int, device: str) -> float:
    """Median seconds of predict_step over repeats, after one warm-up call."""
    times = []
    with torch.no_grad():
        module.predict_step(batch, 0)
        for _ in range(repeats):
            _sync(device)
            start = time.perf_counter()
            module.predict_step(batch, 0)
            _sync(device)
            times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--size", type=int, default=256, help="image side (classification: half; TB: an eighth)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    device = torch.cuda.get_device_name() if args.device == "cuda" else platform.processor() or "cpu"
    print(
        f"device {device}, torch {torch.__version__}, lightning {lightning.__version__}, size {args.size}, "
        f"median of {args.repeats} predict_step calls, random init\n"
    )
    print("| problem type | batch | TTA off ms | hflip ms (x) | hflip + 2 scales ms (x) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, build in BUILDERS.items():
        module, batch = build(args.size, args.device)
        module = module.to(args.device).eval()
        cells = []
        base = 0.0
        for setting, tta in SETTINGS.items():
            module.tta = tta
            seconds = time_predict(module, batch, args.repeats, args.device)
            base = base or seconds
            cells.append(f"{seconds * 1000:.0f}" + ("" if setting == "off" else f" ({seconds / base:.1f})"))
        print(f"| {name} | {len(batch['id'])} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
