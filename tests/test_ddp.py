"""Two DDP ranks (gloo, CPU): the same run file as one process; the CLIP loss of one process over the global batch."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.multiprocessing as mp

from baselines.config import compose_config
from baselines.pipeline import run
from conftest import TINY_DRAWNUI

SCRIPTS = Path(sys.executable).parent


def _cli(command: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPTS / f"baselines-{command}"), *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
@pytest.mark.skipif(not (SCRIPTS / "baselines-train").is_file(), reason="console scripts not installed")
def test_ddp_run_file_equals_single_process(drawnui_root: Path, tmp_path: Path) -> None:
    common = [
        "experiment=drawnui",
        "+demo=drawnui",
        f"paths.root_dir={drawnui_root}",
        f"hydra.run.dir={tmp_path}/hydra",
        *(o for o in TINY_DRAWNUI if not o.startswith("synthetic.")),
        "model.net.box_score_thresh=0.0",
    ]
    ddp = _cli(
        "train",
        *common,
        f"paths.output_dir={tmp_path}/ddp",
        "trainer=ddp",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
        "trainer.precision=32-true",
        "trainer.sync_batchnorm=false",
        "trainer.max_epochs=1",
        cwd=tmp_path,
    )
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    (checkpoint,) = (tmp_path / "ddp/checkpoints").glob("epoch_*.ckpt")
    # the one-process reference runs in this process: a console script would pay the library start-up again
    single = [
        *(o for o in common if not o.startswith("hydra.")),
        f"paths.output_dir={tmp_path}/single",
        "trainer=cpu",
        f"ckpt_path={checkpoint}",
    ]
    run(compose_config("predict", single), single)
    ddp_text = (tmp_path / "ddp/runs/drawnui.txt").read_text()
    # 3 test images over 2 ranks: the sampler pads one rank with a repeat, which the writer drops
    assert len(ddp_text.splitlines()) == 3
    assert ddp_text == (tmp_path / "single/runs/drawnui.txt").read_text()


def _clip_rank(rank: int, module: Any, batch: dict[str, Any], port: int, out: Path) -> None:
    """One DDP rank (gloo): the trainer gives the module its rank and world size, as in `trainer.fit`."""
    import os

    import lightning.pytorch as pl
    import torch.distributed as dist
    from lightning.pytorch.strategies import DDPStrategy

    torch.set_num_threads(
        1
    )  # a forked child must not use the parent's OpenMP pool (it would hang), as DataLoader workers
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE="2", RANK=str(rank))
    os.environ.update(LOCAL_RANK=str(rank), NODE_RANK="0")
    trainer = pl.Trainer(
        accelerator="cpu",
        devices=2,
        strategy=DDPStrategy(process_group_backend="gloo", timeout=timedelta(seconds=60)),
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.strategy.setup_environment()  # joins the process group, as fit does
    module.trainer = trainer
    module.setup("fit")
    share = {key: value[2 * rank : 2 * rank + 2] for key, value in batch.items()}  # 2 of the 4 pairs
    loss = module.contrastive_loss(share)
    loss.backward()
    grads = [p.grad.clone() for p in module.parameters() if p.grad is not None]
    for grad in grads:  # what DDP does to the gradients
        dist.all_reduce(grad)
        grad /= 2
    # a step where rank 1's images were all skipped: no deadlock, rank 0 contrasts its own pairs
    with torch.no_grad():
        uneven = module.contrastive_loss(share if rank == 0 else {key: value[:0] for key, value in batch.items()})
    torch.save({"loss": loss.detach(), "grads": grads, "uneven": uneven}, out / f"rank{rank}.pt")
    dist.destroy_process_group()


def test_clip_loss_under_ddp_equals_one_process_over_the_global_batch(tmp_path: Path) -> None:
    from baselines.models.base import Optim
    from baselines.models.retrieval import RetrievalModule

    torch.manual_seed(0)
    module = RetrievalModule("baselines-tiny-clip", None, Optim(partial(torch.optim.AdamW))).eval()
    batch = {
        "id": [f"i{k}" for k in range(4)],
        "image": torch.randint(0, 256, (4, 3, 64, 64), dtype=torch.uint8),
        "text": ["a kitchen", "a bus stop", "an office desk", "a park at night"],
    }
    with socket.socket() as probe:  # a free port for the gloo rendezvous
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # fork: the ranks inherit the imported modules and this very module (a spawn would import torch again)
    mp.start_processes(_clip_rank, args=(module, batch, port, tmp_path), nprocs=2, start_method="fork")

    single = module.contrastive_loss(batch)  # no trainer: one process, the whole batch
    assert single is not None
    single.backward()
    expected = [p.grad for p in module.parameters() if p.grad is not None]
    local = module.contrastive_loss({key: value[:2] for key, value in batch.items()})
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(2)]
    for result in ranks:
        torch.testing.assert_close(result["loss"], single.detach())
        assert len(result["grads"]) == len(expected)
        for grad, want in zip(result["grads"], expected, strict=True):
            torch.testing.assert_close(grad, want, atol=1e-6, rtol=1e-4)
    # with only its own 2 pairs as negatives, rank 0's loss would differ: the gathering is what matters
    assert not torch.allclose(local, single)
    torch.testing.assert_close(ranks[0]["uneven"], local.detach())
    assert ranks[1]["uneven"] is None
