"""The LMRT collection index built in shards by two DDP ranks (gloo, CPU) equals the one-process build, and
so do the run file searched over it and the report of the unreadable images left out (each rank knows only
its own shard's)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hydra.utils import instantiate

SCRIPTS = Path(sys.executable).parent


def _cli(command: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPTS / f"baselines-{command}"), *args], cwd=cwd, capture_output=True, text=True, timeout=600
    )


@pytest.mark.slow
@pytest.mark.skipif(not (SCRIPTS / "baselines-train").is_file(), reason="console scripts not installed")
def test_ddp_sharded_index_and_run_file_equal_single_process(demo_cfg: Any, tmp_path: Path) -> None:
    instantiate(demo_cfg("lmrt", "synthetic.n_events=8").synthetic)
    common = ["experiment=lmrt", "+demo=lmrt", f"paths.root_dir={tmp_path}", "synthetic.n_events=8"]
    trained = _cli(
        "train",
        *common,
        f"paths.output_dir={tmp_path}/train",
        f"hydra.run.dir={tmp_path}/hydra-train",
        "trainer.max_epochs=1",
        "evaluate=false",
        cwd=tmp_path,
    )
    assert trained.returncode == 0, trained.stderr[-3000:]
    (checkpoint,) = (tmp_path / "train/checkpoints").glob("epoch_*.ckpt")
    collection = instantiate(demo_cfg("lmrt", "synthetic.n_events=8").data).collection
    broken = [collection.paths[collection.images[k].image_id] for k in (2, len(collection.images) * 3 // 4)]
    for path in broken:  # one in each rank's shard
        path.write_bytes(b"not a jpeg")
    predict = [*common, "train=false", f"ckpt_path={checkpoint}", "data.on_bad_image=skip"]
    single = _cli(
        "predict",
        *predict,
        f"paths.output_dir={tmp_path}/single",
        f"hydra.run.dir={tmp_path}/hydra-single",
        f"model.index_dir={tmp_path}/single-index",
        "trainer=cpu",
        cwd=tmp_path,
    )
    assert single.returncode == 0, single.stderr[-3000:]
    ddp = _cli(
        "predict",
        *predict,
        f"paths.output_dir={tmp_path}/ddp",
        f"hydra.run.dir={tmp_path}/hydra-ddp",
        f"model.index_dir={tmp_path}/ddp-index",
        "trainer=ddp",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
        "trainer.precision=32-true",
        "trainer.sync_batchnorm=false",
        cwd=tmp_path,
    )
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    assert "MEMBER: 2/2" in ddp.stdout + ddp.stderr  # two ranks did run, so the index was built in two shards
    assert not (tmp_path / "ddp-index/shards").exists()  # merged, then the shards deleted
    for name in ("embeddings.npy", "times.npy", "meta.json"):
        merged = (tmp_path / "ddp-index" / name).read_bytes()
        assert merged == (tmp_path / "single-index" / name).read_bytes(), name
    reported = [json.loads((tmp_path / run / "summary.json").read_text())["skipped"] for run in ("single", "ddp")]
    assert [message.split(": ")[0] for message in reported[0]["collection"]] == [str(path) for path in broken]
    assert reported[1] == reported[0]
    text = (tmp_path / "single/runs/lmrt.csv").read_text()
    assert len({line.split(",")[0] for line in text.splitlines()}) == 6  # every topic ranked
    assert (tmp_path / "ddp/runs/lmrt.csv").read_text() == text
