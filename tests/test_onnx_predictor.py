"""The torch-free prediction path: each shipped ONNX graph computes torch's distribution on real faces, the whole
pipeline gives the torch predictor's results, and ``dldl predict`` on it never imports torch."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from dldl_core.data.images import load_rgb
from dldl_core.models.registry import AgeNetWeights
from dldl_core.pipeline.onnx_predictor import OnnxPredictor


@pytest.mark.parametrize("entry", list(AgeNetWeights), ids=lambda e: e.name.lower())
def test_each_shipped_onnx_graph_gives_torchs_distribution_on_real_faces(entry):
    from dldl_core.evaluation.parity import PARITY_TOLERANCE, onnx_gap, real_face_batch
    from dldl_core.models.weights import load_weights

    weights = load_weights(entry)
    faces = real_face_batch(weights)
    assert len(faces) >= 2 and onnx_gap(weights, entry.onnx_path, faces) <= PARITY_TOLERANCE


@pytest.mark.parametrize("tta", [True, False])
def test_the_pipeline_gives_the_torch_predictors_results(tta, grace_hopper_path, astronaut_path):
    """Same faces and boxes as the torch predictor; the torch network in fp32 (the predictor uses bf16 where the CPU
    has it natively) on those faces gives the same ages to 0.05 year: only the chip's resize rounds differently
    (within one grey level)."""
    from dldl_core.maths.labels import interval
    from dldl_core.pipeline.inference import estimate
    from dldl_core.pipeline.predictor import Predictor

    with OnnxPredictor(AgeNetWeights.THIN, tta=tta) as fast, Predictor("thin", device="cpu", tta=tta) as slow:
        for path in (grace_hopper_path, astronaut_path):
            rgb = load_rgb(path)
            ours, theirs = fast.predict_rgb(rgb), slow.predict_rgb(rgb)
            assert [f.box for f in ours] == [f.box for f in theirs] and len(ours) >= 1
            reference = estimate(slow.model, slow.to_input([f.chip for f in ours]), slow.preprocess, slow.objective,
                                 tta=tta, amp=False)
            intervals = interval(reference.distribution, slow.support, 0.9).numpy()
            for i, face in enumerate(ours):
                assert abs(face.age - float(reference.age[i])) < 0.05
                assert np.abs(face.distribution - reference.distribution[i].numpy()).max() < 1e-3
                assert np.abs(np.subtract(face.interval90, intervals[i])).max() < 0.3
                assert (face.age_mirrored is None) == (not tta)
                assert face.to_json().keys() == theirs[i].to_json().keys()


def test_dldl_predict_runs_without_importing_torch(grace_hopper_path, tmp_path):
    code = ("import sys; from dldl_core.cli.main import main; "
            f"code = main(['predict', {str(grace_hopper_path)!r}, '--json', '--jsonl', {str(tmp_path / 'o.jsonl')!r}]);"
            " print([m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision')], file=sys.stderr);"
            " sys.exit(code)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr.strip().splitlines()[-1] == "[]"  # torch was never imported
    faces = json.loads(result.stdout)["images"][0]["faces"]
    assert len(faces) == 1 and 55 <= faces[0]["age"] <= 100
