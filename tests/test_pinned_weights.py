"""The pins in code (dldl_core/models/pinned_weights.py) agree with the shipped files.

When this fails after the networks in weights/ were replaced on purpose, run ``python scripts/pin_weights.py``: it
exports their ONNX graphs, checks them against torch on real faces and rewrites the pins."""
from __future__ import annotations

import json

import pytest

from dldl_core import assets
from dldl_core.models.pinned_weights import DETECTOR_SHA256, PINS
from dldl_core.models.registry import AgeNetWeights
from dldl_core.models.sidecar import prediction_sha256, read_sidecar, sha256_of

REPIN = "the pins are stale: run python scripts/pin_weights.py"


@pytest.mark.parametrize("entry", list(AgeNetWeights), ids=lambda e: e.name.lower())
def test_each_shipped_network_matches_its_pins(entry):
    sidecar = read_sidecar(entry.path)
    assert entry.stem in PINS, REPIN
    assert sha256_of(entry.path) == entry.sha256 == sidecar["sha256"], REPIN
    assert sha256_of(entry.onnx_path) == entry.onnx_sha256, REPIN
    assert prediction_sha256(sidecar) == entry.prediction_sha256, REPIN
    assert entry.input_size == sidecar["preprocess"]["input_size"] and entry.preprocess == sidecar["preprocess"], REPIN
    assert entry.metrics == {k: v for k, v in (sidecar.get("metrics") or {}).items()
                             if isinstance(v, (int, float)) and not isinstance(v, bool)}, REPIN  # e.g. a new model card
    onnx_sidecar = json.loads(entry.onnx_path.with_name(entry.onnx_path.name + ".json").read_text())
    assert onnx_sidecar["source_weights"]["sha256"] == entry.sha256, REPIN  # exported from these very weights
    assert entry.license and "non-commercial" in entry.license


def test_the_face_detector_matches_its_pin():
    assert sha256_of(assets.DETECTOR_MODEL) == DETECTOR_SHA256, REPIN


def test_every_shipped_weights_file_is_in_the_registry():
    shipped = {p.stem for p in assets.WEIGHTS_DIR.glob("*.safetensors")}
    assert shipped == {e.stem for e in AgeNetWeights} == set(PINS)
