"""The synthetic generators write each task's official layout (configs/data/<task>.yaml), so a demo config is the
real-data config plus a data root (`synthetic.root` under `paths.data_dir`), sizes and the ground truth it scores:
it restates no data path of the real-data config, and every path either names exists once the generator ran."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from baselines.config import compose_config, config_dir
from baselines.demo import demo_names

DEMOS = demo_names()
# the smallest sets each generator makes quickly
TINY: dict[str, tuple[str, ...]] = {
    "lmrt": ("synthetic.n_events=6",),
    "tbct": ("synthetic.n_train=2", "synthetic.n_test=2", "+synthetic.size=24"),
}
SMALL = ("synthetic.n_train=2", "synthetic.n_test=2")


def _compose(name: str, root: Path, *extra: str) -> DictConfig:
    return compose_config(
        "train", [f"experiment={name}", f"paths.root_dir={root}", f"paths.output_dir={root}/out", *extra]
    )


def _paths(node: Any, under: str) -> dict[str, str]:
    """key -> path of the node's values (or list items) that lie under the folder `under`."""
    found: dict[str, str] = {}
    for key, value in OmegaConf.to_container(node, resolve=True).items():  # type: ignore[union-attr]
        for k, item in enumerate(value) if isinstance(value, list) else [(None, value)]:
            if isinstance(item, str) and item.startswith(under):
                found[key if k is None else f"{key}[{k}]"] = item
    return found


@pytest.mark.parametrize("name", DEMOS)
def test_a_demo_config_restates_no_data_path(name: str, tmp_path: Path) -> None:
    """A data path in a demo file only names what the real-data config leaves unset (lmrt's metadata CSV)."""
    raw = OmegaConf.load(config_dir() / "demo" / f"{name}.yaml")
    root = OmegaConf.to_container(raw.synthetic, resolve=False)["root"]  # type: ignore[index]
    assert str(root).startswith("${paths.data_dir}/"), "the generator writes under the data root"
    written = OmegaConf.to_container(raw.get("data") or OmegaConf.create(), resolve=False)
    real = _compose(name, tmp_path).data
    for key, value in written.items():  # type: ignore[union-attr]
        if isinstance(value, str) and "${paths.data_dir}" in value:
            assert real[key] is None, f"configs/demo/{name}.yaml restates data.{key} of the real-data config"


@pytest.mark.parametrize("name", DEMOS)
def test_the_demo_reads_the_official_layout_the_generator_wrote(name: str, tmp_path: Path) -> None:
    demo = _compose(name, tmp_path, f"+demo={name}", *TINY.get(name, SMALL))
    instantiate(demo.synthetic)
    root = f"{demo.paths.data_dir}/"
    real = _paths(_compose(name, tmp_path).data, root)
    kept = {key: path for key, path in real.items() if _paths(demo.data, root).get(key) == path}
    # the real-data paths the demo drops are the validation split it has none of (held out of training instead)
    assert {key.split("[")[0] for key in set(real) - set(kept)} <= {"val_file", "val_images"}
    assert all(demo.data[key.split("[")[0]] is None for key in set(real) - set(kept))
    named = {**kept, **_paths(demo.data, root), **_paths(demo.evaluation, root)}
    if demo.model.get("tokenizer"):
        named["model.tokenizer"] = str(demo.model.tokenizer)
    assert kept and "ground_truth" in named
    missing = {key: path for key, path in named.items() if not Path(path).exists()}
    assert not missing, f"{name}: the generator did not write {missing}"


# The validation files README.md's real-data block reads: named by the data config, or by the README's commands
# where the data config leaves the split out (medical caption: `data.predict_images=...`, `--gt ...`).
README_VAL = {
    "concepts": ("medcaption/val/images", "medcaption/val/concepts.txt"),
    "caption": ("medcaption/val/images", "medcaption/val/captions.txt"),
    "vqa": ("data.val_file", "data.val_images"),
    "vqg": ("data.val_file", "data.val_images"),
}


@pytest.mark.parametrize("name", sorted(README_VAL))
def test_with_a_validation_split_every_real_data_path_exists(name: str, tmp_path: Path) -> None:
    """The README scores the validation split of these releases: the generators write it on request."""
    demo = _compose(name, tmp_path, f"+demo={name}", *SMALL, "+synthetic.n_val=2")
    instantiate(demo.synthetic)
    real = _compose(name, tmp_path)
    paths = list(_paths(real.data, f"{demo.paths.data_dir}/").values())
    for where in README_VAL[name]:
        paths.append(OmegaConf.select(real, where) if where.startswith("data.") else f"{demo.paths.data_dir}/{where}")
    assert len(paths) > 3 and not [path for path in paths if not Path(path).exists()]
