"""Weights as typed objects: a safetensors file plus a JSON sidecar that rebuilds everything around it.

The sidecar (``<name>.json`` beside ``<name>.safetensors``, dldl_core/models/sidecar.py) carries the model config,
the age support, the preprocessing (input size, mean/std, alignment template), the objective, the training recipe,
the metrics, the licence and the sha256 of the tensor file. Loading verifies the hash first and never unpickles
anything; a shipped network (``--weights thin``, ``Weights.THIN``) is also checked against the hashes pinned in code
(dldl_core/models/registry.py), so it cannot be altered together with its sidecar.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch
from safetensors.torch import load_file, save_file

from dldl_core.models.networks import AgeNet, ModelConfig
from dldl_core.models.preprocess import Preprocess
from dldl_core.models.registry import (  # noqa: F401 - DEFAULT_WEIGHTS and the listing re-exported here
    DEFAULT_WEIGHTS,
    AgeNetWeights,
    is_default_weights,
    resolve,
    shipped_weights,
    verify_pinned,
)
from dldl_core.models.sidecar import (
    FORMAT_VERSION,
    WeightsError,
    check_keys,
    read_sidecar,
    sha256_of,
    sidecar_path,
    update_sidecar,  # noqa: F401 - re-exported for the callers from before sidecar.py
)

UTKFACE_LICENSE = ("Trained on UTKFace, which its authors provide for non-commercial research purposes only; "
                   "the copyright of the images belongs to their original owners. These weights inherit that "
                   "restriction: non-commercial research use only.")


@dataclass
class Weights:
    """A loaded weights file: the network, its preprocessing and everything the sidecar says about it."""

    path: Path
    model: AgeNet
    preprocess: Preprocess
    objective: str
    meta: dict[str, Any] = field(default_factory=dict)  # recipe, metrics, licence, sha256, ...

    # The shipped networks, for load_weights(Weights.THIN) and the builders' weights= (dldl_core.models.registry).
    THIN: ClassVar[AgeNetWeights] = AgeNetWeights.THIN
    TINY: ClassVar[AgeNetWeights] = AgeNetWeights.TINY
    DEFAULT: ClassVar[AgeNetWeights] = AgeNetWeights.DEFAULT

    @property
    def support(self) -> torch.Tensor:
        return self.model.support


def save_weights(model: AgeNet, path: str | os.PathLike, preprocess: Preprocess, objective: str,
                 meta: dict[str, Any] | None = None) -> Path:
    """Write ``path`` (safetensors) and its sidecar; both are written to temporary names and renamed."""
    path = Path(path)
    check_keys({"format_version": FORMAT_VERSION, **(meta or {})}, sidecar_path(path))  # before writing anything
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tmp = path.with_name(path.name + ".tmp")
    save_file(state, str(tmp), metadata={"format": "dldl_core", "arch": model.config.arch})
    sidecar = {
        "format_version": FORMAT_VERSION,
        "file": path.name,
        "sha256": sha256_of(tmp),
        "model": model.config.to_dict(),
        "support": model.support.tolist(),
        "preprocess": preprocess.to_dict(),
        "objective": objective,
        "num_parameters": sum(p.numel() for p in model.parameters()),
        **(meta or {}),
    }
    sidecar.setdefault("license", UTKFACE_LICENSE)
    side_tmp = sidecar_path(path).with_suffix(".json.tmp")
    side_tmp.write_text(json.dumps(sidecar, indent=2) + "\n")
    os.replace(tmp, path)
    os.replace(side_tmp, sidecar_path(path))
    return path


def load_weights(weights: str | os.PathLike | AgeNetWeights | None = None, device: str | torch.device = "cpu",
                 pinned: bool = True) -> Weights:
    """Verify the hash, rebuild the network from the sidecar alone and load the tensors (no pickle).

    Args:
        weights: a file, a shipped network's name (``thin``, ``tiny``) or entry (``Weights.THIN``), or None for
            ``DLDL_WEIGHTS`` and then the shipped default.
        device: where the network goes.
        pinned: check a shipped network against the hashes pinned in code too (off only to re-pin it).
    """
    path, entry = resolve(weights)
    if not path.is_file():
        raise WeightsError(f"weights file {path} not found")
    sidecar = read_sidecar(path)
    actual = sha256_of(path)
    if actual != sidecar.get("sha256"):
        raise WeightsError(f"{path} does not match the sha256 in its sidecar (corrupted or tampered); refusing to load")
    if entry is not None and pinned:
        verify_pinned(entry, path, sidecar, digest=actual)
    config = ModelConfig.from_dict(sidecar["model"])
    model = AgeNet(config)
    try:
        state = load_file(str(path))
        model.load_state_dict(state)
    except Exception as err:  # noqa: BLE001 - safetensors raises its own error types
        raise WeightsError(f"{path} could not be loaded into {config.arch} ({err})") from None
    model.to(device).eval()
    # The file's own name: the sidecar's "file" is the name it was saved under and goes stale when the pair is copied.
    meta = {k: v for k, v in sidecar.items() if k not in {"model", "preprocess", "objective"}} | {"file": path.name}
    return Weights(path, model, Preprocess.from_dict(sidecar["preprocess"]), sidecar.get("objective", "dldl_v2"), meta)
