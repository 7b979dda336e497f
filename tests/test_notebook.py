"""The quickstart notebook runs top to bottom (nbclient, a real kernel) and shows pictures."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "quickstart_drawnui.ipynb"


@pytest.mark.slow
def test_quickstart_notebook_runs_and_shows_overlays_and_a_pr_curve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The kernel is started as `python -m ipykernel_launcher`: this interpreter's `python` must come first.
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert not any(cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), "commit it cleared"
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    images = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if "image/png" in output.get("data", {})
    ]
    assert len(images) == 3  # two overlays and the PR curve
    assert sorted(p.name for p in (tmp_path / "notebook_out" / "overlays").iterdir()) == [
        f"test_{i:05d}.png" for i in range(4)
    ]
