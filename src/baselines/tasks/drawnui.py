"""ImageCLEFdrawnUI 2020: detect 21 kinds of hand-drawn website UI elements.

Ground truth and run files: `image.jpg;class conf:WxH+X+Y,...;class2 ...` (see io.grouped).
Primary metric mAP@0.5; overall precision@0.5 is the secondary one, recall@0.5 is reported.
"""

from __future__ import annotations

from baselines.io.formats.drawnui import DRAWNUI_CLASSES
from baselines.tasks.regions import RegionSpec

TASKS = [RegionSpec("drawnui", DRAWNUI_CLASSES, geometry="box")]
