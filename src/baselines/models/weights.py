"""Building backbones with random init or pretrained weights, with errors that say what to do offline.

Hub weights (timm, transformers, open_clip) come through the Hugging Face hub client, which retries for
about 50 s when the hub cannot be reached. So before a hub load the suite asks once per process
whether the hub is reachable (`HF_HUB_OFFLINE=1` says no without asking; otherwise one connection with
a 3 s timeout). Offline, weights already in the local cache are loaded from it, and missing ones fail
at once with a message naming `HF_HOME`, `HF_HUB_OFFLINE` and the file to provide.
"""

from __future__ import annotations

import functools
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import timm
import torch
from torch import nn

if TYPE_CHECKING:  # transformers is imported by the callers that hand in a class of it
    from transformers import PreTrainedModel

HUB_CHECK_TIMEOUT = 3.0
_HUB_FILES = ("model.safetensors", "pytorch_model.bin", "open_clip_model.safetensors", "open_clip_pytorch_model.bin")


class MissingWeightsError(RuntimeError):
    """Pretrained weights were asked for but could not be loaded."""


@functools.cache
def hub_reachable() -> bool:
    """Whether the Hugging Face hub answers: False under HF_HUB_OFFLINE=1, else one TCP connection."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return False
    endpoint = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        with socket.create_connection((endpoint.hostname or "huggingface.co", port), timeout=HUB_CHECK_TIMEOUT):
            return True
    except OSError:
        return False


def hub_cache() -> Path:
    """Where the hub client keeps downloads (HF_HUB_CACHE, or HF_HOME/hub, default ~/.cache/huggingface/hub)."""
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def offline_advice(what: str, local: str) -> str:
    """The message for weights that are neither reachable on the hub nor in the local cache."""
    return (
        f"{what}: the Hugging Face hub is not reachable and the weights are not in the local cache {hub_cache()}. "
        f"Either copy the hub cache of a machine with internet to HF_HOME (default ~/.cache/huggingface; run "
        f"with HF_HUB_OFFLINE=1 to skip the connection check), or {local}"
    )


def cached_hub_file(repo_id: str, filenames: tuple[str, ...] = _HUB_FILES) -> Path | None:
    """The first of filenames already in the local hub cache for repo_id (no network), or None."""
    from huggingface_hub import try_to_load_from_cache

    for filename in filenames:
        found = try_to_load_from_cache(repo_id, filename)
        if isinstance(found, str):
            return Path(found)
    return None


def cached_timm_file(name: str) -> Path | None:
    """The cached weights of a timm model (hub repo or torch-hub URL cache), or None."""
    cfg = timm.models.get_pretrained_cfg(name)
    if cfg is None:
        return None
    if cfg.hf_hub_id:
        return cached_hub_file(cfg.hf_hub_id, (cfg.hf_hub_filename,) if cfg.hf_hub_filename else _HUB_FILES)
    if isinstance(cfg.url, str) and cfg.url:
        candidate = Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(cfg.url).path).name
        return candidate if candidate.is_file() else None
    return None


def create_timm(name: str, pretrained: bool | str = False, **kwargs: Any) -> nn.Module:
    """Creates a timm model with random init (False), hub weights (True) or a local weights file (path).

    Raises:
        MissingWeightsError: If hub weights cannot be fetched or a local file is missing; the message
            says how to provide them. Offline, it is raised at once (no retries).
    """
    local = "point `pretrained` to the .safetensors/.pth file, or set pretrained=false"
    if isinstance(pretrained, str) and pretrained.lower() not in ("true", "false"):
        path = Path(pretrained).expanduser()
        if not path.is_file():
            raise MissingWeightsError(
                f"weights file {path} for timm model {name!r} not found; download them on a machine with "
                f"internet (timm.create_model({name!r}, pretrained=True) caches them under HF_HOME, default "
                f"~/.cache/huggingface) and {local}"
            )
        return timm.create_model(name, pretrained=True, pretrained_cfg_overlay={"file": str(path)}, **kwargs)
    if pretrained is True or (isinstance(pretrained, str) and pretrained.lower() == "true"):
        if not hub_reachable():
            cached = cached_timm_file(name)
            if cached is None:
                raise MissingWeightsError(offline_advice(f"pretrained weights of timm model {name!r}", local))
            return timm.create_model(name, pretrained=True, pretrained_cfg_overlay={"file": str(cached)}, **kwargs)
        try:
            return timm.create_model(name, pretrained=True, **kwargs)
        except Exception as exc:  # hub errors come in many types (OSError, HTTP, LocalEntryNotFound)
            raise MissingWeightsError(
                f"could not load pretrained weights for timm model {name!r} from the hub ({type(exc).__name__}: "
                f"{exc}). Copy the weights file to this machine and set `pretrained=/path/to/model.safetensors`, "
                "or train from scratch with pretrained=false"
            ) from exc
    return timm.create_model(name, pretrained=False, **kwargs)


def pretrained_transformer(kind: type[PreTrainedModel], name: str, options: dict[str, Any]) -> PreTrainedModel:
    """A transformers model of class `kind` from a hub name or a local folder, with `from_pretrained` options.

    Offline, only the local hub cache is looked at (no retries).

    Raises:
        MissingWeightsError: The weights cannot be loaded; the message says how to provide them.
    """
    local = (
        f"run `{kind.__name__}.from_pretrained(NAME).save_pretrained(DIR)` on a machine with internet, copy DIR "
        "here and pass its path, or pass null for a random-init model"
    )
    offline = not Path(name).expanduser().is_dir() and not hub_reachable()
    try:
        return kind.from_pretrained(name, local_files_only=offline, **options)
    except OSError as exc:
        if offline:
            raise MissingWeightsError(offline_advice(f"{kind.__name__} {name!r}", local)) from exc
        raise MissingWeightsError(f"could not load {name!r} ({exc}). Offline, {local}") from exc


def load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """Loads a .safetensors, .pt/.pth or Lightning .ckpt file into a state dict."""
    path = Path(path)
    if not path.is_file():
        raise MissingWeightsError(f"weights file {path} not found")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    state = torch.load(path, map_location="cpu", weights_only=True)
    return state.get("state_dict", state)
