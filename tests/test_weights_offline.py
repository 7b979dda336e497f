"""Pretrained weights offline: a cached file is used, a missing one fails at once with what to do."""

from __future__ import annotations

from pathlib import Path

import pytest
import timm
import torch
from safetensors.torch import save_file

from baselines.models import weights
from baselines.models.nets import segmenters
from baselines.models.nets.segmenters import smp_model
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


def _cache_timm_weights(hub_cache: Path, name: str) -> dict[str, torch.Tensor]:
    """Random weights of a timm model laid out in the hub cache as huggingface_hub does
    (refs/main -> snapshots/<revision>/<file>); returns them."""
    repo_id = timm.models.get_pretrained_cfg(name).hf_hub_id
    folder = hub_cache / f"models--{repo_id.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text("0" * 40)
    snapshot = folder / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    reference = timm.create_model(name, pretrained=False).state_dict()
    save_file(reference, str(snapshot / "model.safetensors"))
    return reference


def test_cached_hub_weights_are_used_offline(offline_hub: Path) -> None:
    reference = _cache_timm_weights(offline_hub, "resnet10t")
    model = create_timm("resnet10t", pretrained=True)
    for key, value in reference.items():
        assert torch.equal(model.state_dict()[key], value), key


def test_cached_timm_encoder_of_a_segmenter_is_used_offline(offline_hub: Path) -> None:
    reference = _cache_timm_weights(offline_hub, "resnet10t")
    model = smp_model(2, "Unet", "tu-resnet10t", encoder_weights="imagenet", decoder_channels=[16, 8, 8, 8, 8])
    encoder = model.encoder.model.state_dict()
    assert len(encoder) > 0
    for key, value in encoder.items():
        assert torch.equal(value, reference[key]), key


def test_missing_timm_encoder_of_a_segmenter_fails_at_once(offline_hub: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_hub_attempt(*args: object, **kwargs: object) -> None:
        raise AssertionError("asked smp to load from the hub (about 50 s of retries offline)")

    monkeypatch.setattr(segmenters.smp, "create_model", no_hub_attempt)
    with pytest.raises(MissingWeightsError) as caught:
        smp_model(2, "Unet", "tu-resnet10t", encoder_weights="imagenet")
    message = str(caught.value)
    assert message.startswith("'imagenet' weights of encoder 'tu-resnet10t': the Hugging Face hub is not reachable")
    assert "HF_HOME" in message and "HF_HUB_OFFLINE=1" in message and str(offline_hub) in message
    assert "encoder_weights=/path/to/encoder.pth" in message


def test_hub_reachable_asks_no_network_under_hf_hub_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("tried to connect")

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(weights.socket, "create_connection", no_network)
    weights.hub_reachable.cache_clear()
    assert weights.hub_reachable() is False
    weights.hub_reachable.cache_clear()
