"""ImageCLEFdrawnUI 2020: the 21 UI element classes, in the order of the task's class list.

The ground truth uses the grouped-region grammar (`baselines.io.grouped`).
"""

from __future__ import annotations

DRAWNUI_CLASSES: tuple[str, ...] = (
    "paragraph",
    "dropdown",
    "checkbox",
    "radiobutton",
    "rating",
    "toggle",
    "textarea",
    "datepicker",
    "stepperinput",
    "slider",
    "video",
    "label",
    "table",
    "list",
    "header",
    "button",
    "image",
    "linebreak",
    "container",
    "link",
    "textinput",
)
