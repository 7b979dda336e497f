"""CLIP networks from open_clip: a named model with a pretrained tag, a local checkpoint or random init.

`baselines-tiny-clip` (clip_configs/) is a random-init configuration registered with open_clip on import, for
tests and the demo.
"""

from __future__ import annotations

from pathlib import Path

import open_clip
import torch

from baselines.models.weights import MissingWeightsError, cached_hub_file, hub_reachable, offline_advice

open_clip.add_model_config(Path(__file__).parent / "clip_configs")


def create_clip(model_name: str, pretrained: str | None) -> torch.nn.Module:
    """open_clip model by name with a pretrained tag (e.g. "openai", "laion2b_s34b_b79k"), a local
    checkpoint path, or None for random init."""
    local = "pass a checkpoint file path as pretrained, or pretrained=null for random init"
    if pretrained and not Path(pretrained).expanduser().is_file() and not hub_reachable():
        # a tag offline: its file from the local hub cache, or a clear error at once (no retries)
        hub_id = (open_clip.get_pretrained_cfg(model_name, pretrained) or {}).get("hf_hub", "")
        cached = cached_hub_file(hub_id.rstrip("/")) if hub_id else None
        if cached is None:
            raise MissingWeightsError(offline_advice(f"open_clip weights {pretrained!r} of {model_name}", local))
        pretrained = str(cached)
    try:
        return open_clip.create_model(model_name, pretrained=pretrained)
    except RuntimeError as exc:  # open_clip raises RuntimeError for unknown tags and failed downloads
        raise MissingWeightsError(
            f"could not load open_clip weights {pretrained!r} for {model_name} ({exc}). Download the checkpoint "
            f"elsewhere (open_clip.create_model(name, pretrained=tag) caches it under HF_HOME) and {local}"
        ) from exc
