"""The JSON sidecar of a weights file and the file's hash: reading, checking and updating them, without torch.

``<name>.json`` beside ``<name>.safetensors`` carries the model config, the age support, the preprocessing, the
objective, the recipe, the metrics, the licence and the sha256 of the tensor file. Its ``format_version`` says how to
read it; a key this version does not know is refused, so that a misspelt or newer field is never silently ignored.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1  # the sidecar format this version reads and writes
# Every key of a format-1 sidecar: what save_weights writes, and what update_sidecar may add.
SIDECAR_KEYS = frozenset({
    "format_version", "file", "sha256", "model", "support", "preprocess", "objective", "num_parameters",
    "license", "recipe", "metrics", "evaluation", "training", "val_predictions"})
# The keys that decide what the network predicts; a shipped network pins their hash beside the file's.
PREDICTION_KEYS = ("model", "support", "preprocess", "objective")


class WeightsError(ValueError):
    """A weights file that cannot be used; the message is one sentence for the user."""


def sidecar_path(path: str | os.PathLike) -> Path:
    """``w.safetensors`` -> ``w.json``."""
    return Path(path).with_suffix(".json")


def sha256_of(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def prediction_sha256(sidecar: dict[str, Any]) -> str:
    """Hex sha256 of the sidecar's prediction-defining part (config, support, preprocessing, objective), in canonical
    JSON: it changes when what the network predicts can change, not when metrics are added."""
    part = {k: sidecar.get(k) for k in PREDICTION_KEYS}
    return hashlib.sha256(json.dumps(part, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def check_keys(data: dict[str, Any], source: str | os.PathLike) -> None:
    """Refuse a sidecar of another format version or with keys this version does not know."""
    version = data.get("format_version")
    if version is None:
        raise WeightsError(f"{source}: the sidecar has no format_version")
    if version != FORMAT_VERSION:
        raise WeightsError(f"{source}: sidecar format_version {version!r} is not the one this dldl_core reads "
                           f"({FORMAT_VERSION}); use the dldl_core version that wrote it")
    unknown = sorted(set(data) - SIDECAR_KEYS)
    if unknown:
        raise WeightsError(f"{source}: unknown sidecar key(s) {', '.join(map(repr, unknown))}; format_version "
                           f"{FORMAT_VERSION} knows only {', '.join(sorted(SIDECAR_KEYS))}")


def read_sidecar(path: str | os.PathLike) -> dict[str, Any]:
    """The checked sidecar of the weights file ``path``."""
    side = sidecar_path(path)
    if not side.is_file():
        raise WeightsError(f"{path}: its sidecar {side.name} is missing")
    try:
        data = json.loads(side.read_text())
    except json.JSONDecodeError as err:
        raise WeightsError(f"{side}: the sidecar is not valid JSON ({err.msg})") from None
    if not isinstance(data, dict):
        raise WeightsError(f"{side}: the sidecar is not a JSON object")
    check_keys(data, side)
    return data


def write_sidecar(path: str | os.PathLike, data: dict[str, Any]) -> None:
    """Write the sidecar of ``path`` atomically (a temporary name, then a rename), after checking its keys."""
    side = sidecar_path(path)
    check_keys(data, side)
    tmp = side.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, side)


def update_sidecar(path: str | os.PathLike, **fields: Any) -> None:
    """Merge ``fields`` into the sidecar (metrics, evaluation, ...); the tensor file and its hash are unchanged."""
    write_sidecar(path, read_sidecar(path) | fields)
