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

from baselines.config import compose_config
from baselines.pipeline import run

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
    # The checkpoint and the one-process reference are made in this process: a console script would pay the
    # interpreter and library start-up again; only the DDP run needs its own processes.
    train = [*common, f"paths.output_dir={tmp_path}/train", "trainer.max_epochs=1", "evaluate=false"]
    checkpoint = run(compose_config("train", train), train)["checkpoint"]
    collection = instantiate(demo_cfg("lmrt", "synthetic.n_events=8").data).collection
    broken = [collection.paths[collection.images[k].image_id] for k in (2, len(collection.images) * 3 // 4)]
    for path in broken:  # one in each rank's shard
        path.write_bytes(b"not a jpeg")
    predict = [*common, "train=false", f"ckpt_path={checkpoint}", "data.on_bad_image=skip"]
    single = [
        *predict,
        f"paths.output_dir={tmp_path}/single",
        f"model.index_dir={tmp_path}/single-index",
        "trainer=cpu",
    ]
    single_summary = run(compose_config("predict", single), single)
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
    reported = json.loads((tmp_path / "ddp/summary.json").read_text())["skipped"]
    assert [message.split(": ")[0] for message in single_summary["skipped"]["collection"]] == [str(p) for p in broken]
    assert reported == json.loads(json.dumps(single_summary["skipped"], default=str))
    text = (tmp_path / "single/runs/lmrt.csv").read_text()
    assert len({line.split(",")[0] for line in text.splitlines()}) == 6  # every topic ranked
    assert (tmp_path / "ddp/runs/lmrt.csv").read_text() == text
