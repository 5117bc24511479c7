"""The shipped networks as typed entries, in the manner of torchvision's weights enums: ``AgeNetWeights.THIN``.

Each entry names its file and carries what ``scripts/pin_weights.py`` pinned from it
(dldl_core/models/pinned_weights.py): the sha256 of the tensor file, of its ONNX graph and of the sidecar's
prediction-defining part (config, support, preprocessing, objective), the input size, the preprocessing, the metrics
and the licence. The pins live in code, so a shipped file altered together with its sidecar is still refused.
Everything here runs without torch.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from dldl_core import assets
from dldl_core.models.pinned_weights import DETECTOR_SHA256, PINS
from dldl_core.models.sidecar import WeightsError, prediction_sha256, sha256_of, sidecar_path

REPIN_HINT = "if the shipped files were replaced on purpose, run python scripts/pin_weights.py"
WEIGHTS_VARIABLE = "DLDL_WEIGHTS"  # the environment variable that overrides the default weights


@dataclass(frozen=True)
class WeightsEntry:
    """One shipped network: its file and the pins taken from it."""

    short_name: str  # the name --weights takes: thin, tiny
    stem: str  # file name without suffix: thin_age_net -> thin_age_net.safetensors, .json, .onnx
    sha256: str | None  # of the .safetensors file
    onnx_sha256: str | None  # of the .onnx graph exported from it
    prediction_sha256: str | None  # of the sidecar's config, support, preprocessing and objective
    input_size: int | None = None
    preprocess: dict[str, Any] = field(default_factory=dict, compare=False)
    objective: str | None = None
    metrics: dict[str, float] = field(default_factory=dict, compare=False)  # scalar metrics of the sidecar
    license: str | None = None

    @property
    def path(self) -> Path:
        return assets.WEIGHTS_DIR / f"{self.stem}.safetensors"

    @property
    def onnx_path(self) -> Path:
        return assets.WEIGHTS_DIR / f"{self.stem}.onnx"


def pinned_entry(short_name: str, stem: str) -> WeightsEntry:
    """The entry of ``stem`` built from its pins; without pins its hashes are None and loading it is refused."""
    pins = PINS.get(stem, {})
    return WeightsEntry(short_name, stem, pins.get("sha256"), pins.get("onnx_sha256"), pins.get("prediction_sha256"),
                        pins.get("input_size"), pins.get("preprocess", {}), pins.get("objective"),
                        pins.get("metrics", {}), pins.get("license"))


class AgeNetWeights(Enum):
    """The shipped networks; the entry's attributes read through (``AgeNetWeights.THIN.path``), except ``name`` and
    ``value``, which are the enum's own (``THIN`` and the entry)."""

    THIN = pinned_entry("thin", "thin_age_net")  # ThinAgeNet: the most accurate
    TINY = pinned_entry("tiny", "tiny_age_net")  # TinyAgeNet: the fastest
    DEFAULT = THIN  # an alias of THIN

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.value, name)


NAMES = {m.value.short_name: m for m in AgeNetWeights} | {m.value.stem: m for m in AgeNetWeights} | {
    "default": AgeNetWeights.DEFAULT}


def lookup(name: str) -> AgeNetWeights | None:
    """The shipped network called ``name`` (thin, tiny, thin_age_net, tiny_age_net, default; any case), else None."""
    return NAMES.get(name.strip().lower())


def shipped_entry(path: str | os.PathLike) -> AgeNetWeights | None:
    """The shipped network whose file ``path`` is (however it is spelt), else None."""
    resolved = Path(path).resolve()
    return next((m for m in AgeNetWeights if m.value.path.resolve() == resolved), None)


def weights_from_environment() -> str | None:
    """The weights that the ``DLDL_WEIGHTS`` environment variable names (a shipped network's name or a file), or
    None when it is unset or empty: every default choice of weights (CLI, app, benchmarks, notebooks) reads it here."""
    return os.environ.get(WEIGHTS_VARIABLE, "").strip() or None


def resolve(spec: str | os.PathLike | AgeNetWeights | None) -> tuple[Path, AgeNetWeights | None]:
    """(the weights file, its shipped entry or None) of a name, an entry, a path, or None for ``DLDL_WEIGHTS`` and
    then the default. A name wins over a file of the same name in the working folder; write ``./thin`` for that."""
    if spec is None or spec == "":
        spec = weights_from_environment() or AgeNetWeights.DEFAULT
    if isinstance(spec, AgeNetWeights):
        return spec.value.path, spec
    if isinstance(spec, str) and (named := lookup(spec)) is not None:
        return named.value.path, named
    path = Path(spec)
    return path, shipped_entry(path)


def verify_pinned(entry: AgeNetWeights, file: str | os.PathLike, sidecar: dict[str, Any] | None = None,
                  kind: str = "weights", digest: str | None = None) -> None:
    """Refuse a shipped network's file (``kind`` weights or onnx) or sidecar that differs from its pins; ``digest``:
    the file's sha256 when the caller has already computed it."""
    name = entry.value.short_name
    pin = entry.value.sha256 if kind == "weights" else entry.value.onnx_sha256
    if pin is None:
        raise WeightsError(f"no sha256 is pinned for the shipped {name} network's {kind} file; {REPIN_HINT}")
    if not Path(file).is_file():
        raise WeightsError(f"{file}: the shipped {name} network's {kind} file is missing")
    if (digest or sha256_of(file)) != pin:
        raise WeightsError(f"{file} does not match the sha256 pinned for the shipped {name} network (corrupted or "
                           f"tampered; {REPIN_HINT}); refusing to load")
    if sidecar is not None and prediction_sha256(sidecar) != entry.value.prediction_sha256:
        raise WeightsError(f"the sidecar of {Path(file).name} does not match the configuration pinned for the shipped "
                           f"{name} network (corrupted or tampered; {REPIN_HINT}); refusing to load")


def verified_detector_model() -> Path:
    """The shipped face detector's file, after checking it against its pinned sha256."""
    path = assets.DETECTOR_MODEL
    if not path.is_file():
        raise WeightsError(f"the face detector model {path} is missing")
    if sha256_of(path) != DETECTOR_SHA256:
        raise WeightsError(f"{path} does not match the sha256 pinned for the face detector (corrupted or tampered; "
                           f"{REPIN_HINT}); refusing to load")
    return path


ARCH_NAMES: dict[str, str] = {"thin_age_net": "ThinAgeNet", "tiny_age_net": "TinyAgeNet"}  # as the paper writes them
DEFAULT_WEIGHTS = AgeNetWeights.DEFAULT.path  # the shipped default; DLDL_WEIGHTS overrides it


def is_default_weights(path: str | os.PathLike) -> bool:
    """True for the shipped default weights file, however ``path`` names it."""
    return Path(path).resolve() == DEFAULT_WEIGHTS.resolve()


def shipped_weights(folder: str | os.PathLike | None = None) -> list[Path]:
    """The weights files in ``folder`` (default: the shipped files' folder, dldl_core.assets.WEIGHTS_DIR) that have
    a sidecar, the default first, then by name."""
    found = sorted(p for p in Path(folder or assets.WEIGHTS_DIR).glob("*.safetensors") if sidecar_path(p).is_file())
    return sorted(found, key=lambda p: not is_default_weights(p))
