"""Pretrained weights offline: a cached file is used, a missing one fails at once with what to do."""

from __future__ import annotations

from pathlib import Path

import pytest
import timm
import torch
from safetensors.torch import save_file

from baselines.models import weights
from baselines.models.weights import MissingWeightsError, create_timm


@pytest.fixture
def offline_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No hub (HF_HUB_OFFLINE), and an empty hub cache of our own."""
    from huggingface_hub import constants

    cache = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    weights.hub_reachable.cache_clear()
    yield cache
    weights.hub_reachable.cache_clear()


def test_missing_hub_weights_fail_at_once_naming_hf_home_and_hf_hub_offline(
    offline_hub: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_hub_attempt(*args: object, **kwargs: object) -> None:
        raise AssertionError("asked timm to load from the hub (about 50 s of retries offline)")

    monkeypatch.setattr(weights.timm, "create_model", no_hub_attempt)
    with pytest.raises(MissingWeightsError) as caught:
        create_timm("resnet10t", pretrained=True)
    message = str(caught.value)
    assert "HF_HOME" in message and "HF_HUB_OFFLINE=1" in message and str(offline_hub) in message
    assert "pretrained=false" in message


def test_cached_hub_weights_are_used_offline(offline_hub: Path) -> None:
    # lay out a hub cache as huggingface_hub does: refs/main -> snapshots/<revision>/<file>
    repo_id = timm.models.get_pretrained_cfg("resnet10t").hf_hub_id
    folder = offline_hub / f"models--{repo_id.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text("0" * 40)
    snapshot = folder / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    reference = timm.create_model("resnet10t", pretrained=False)
    save_file(reference.state_dict(), str(snapshot / "model.safetensors"))
    model = create_timm("resnet10t", pretrained=True)
    for key, value in reference.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


def test_hub_reachable_asks_no_network_under_hf_hub_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("tried to connect")

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(weights.socket, "create_connection", no_network)
    weights.hub_reachable.cache_clear()
    assert weights.hub_reachable() is False
    weights.hub_reachable.cache_clear()
