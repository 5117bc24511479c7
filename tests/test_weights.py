import json

import pytest
import torch

from dldl_core.models.networks import create_model
from dldl_core.models.preprocess import Preprocess
from dldl_core.models.weights import WeightsError, load_weights, save_weights, shipped_weights, sidecar_path


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    model = create_model("tiny", max_age=116, num_bins=117)
    path = save_weights(model, tmp_path / "w.safetensors", Preprocess(input_size=96, template=((0.3, 0.3),) * 6),
                        "dldl_v2", {"metrics": {"val_mae": 4.9}})
    return model, path


def test_round_trip_rebuilds_the_model_from_the_sidecar_alone(saved):
    model, path = saved
    w = load_weights(path)
    side = json.loads(sidecar_path(path).read_text())
    assert {"sha256", "model", "support", "preprocess", "license", "metrics"} <= set(side)
    assert w.model.config == model.config and w.preprocess.input_size == 96
    assert w.preprocess.template[0] == (0.3, 0.3) and w.meta["metrics"]["val_mae"] == 4.9
    x = torch.randn(1, 3, 96, 96)
    with torch.no_grad():
        assert torch.allclose(w.model(x), model.eval()(x), atol=1e-6)
    assert "non-commercial" in side["license"]


def _flip(position: int):
    def change(data: bytes) -> bytes:
        mutated = bytearray(data)
        mutated[position] ^= 0x01
        return bytes(mutated)
    return change


@pytest.mark.parametrize("change", [_flip(20), _flip(-1000), lambda data: data[:len(data) // 2]],
                         ids=["header_byte_flipped", "tensor_byte_flipped", "truncated_to_half"])
def test_changed_weights_are_refused_by_hash(change, saved, grace_hopper_path, monkeypatch, capsys):
    """Through the API, the predictor and the command line, before a single tensor is parsed."""
    from dldl_core.cli.main import main
    from dldl_core.models import weights as weights_module
    from dldl_core.pipeline.predictor import Predictor

    _, path = saved
    path.write_bytes(change(path.read_bytes()))

    def never(*args, **kwargs):
        raise AssertionError("the tensors were parsed before the hash was checked")
    monkeypatch.setattr(weights_module, "load_file", never)
    with pytest.raises(WeightsError, match="sha256"):
        load_weights(path)
    with pytest.raises(WeightsError, match="sha256"):
        Predictor(path, device="cpu")
    code = main(["predict", str(grace_hopper_path), "--weights", str(path)])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("dldl: error: ") and "sha256" in err and "Traceback" not in err


def test_missing_file_and_missing_sidecar(saved, tmp_path):
    _, path = saved
    with pytest.raises(WeightsError, match="not found"):
        load_weights(tmp_path / "nope.safetensors")
    sidecar_path(path).unlink()
    with pytest.raises(WeightsError, match="sidecar"):
        load_weights(path)


def test_shipped_default_weights_load_and_cover_the_data():
    from dldl_core.models.weights import DEFAULT_WEIGHTS

    if not DEFAULT_WEIGHTS.is_file():
        pytest.fail("the default weights must ship in weights/")
    w = load_weights()
    assert w.support.max().item() >= 116
    assert w.preprocess.template is not None and w.meta["metrics"]["val_mae_chip_tta"] < 8


@pytest.mark.parametrize("shipped", shipped_weights(), ids=lambda p: p.stem)
def test_every_shipped_network_gives_plausible_ages_on_real_photos(shipped, grace_hopper_path, astronaut_path):
    """Grace Hopper was 77 in this 1984 portrait; Eileen Collins about 40 in hers."""
    from dldl_core.data.images import load_rgb
    from dldl_core.pipeline.predictor import Predictor

    with Predictor(shipped, device="cpu") as predictor:
        hopper = predictor.predict_rgb(load_rgb(grace_hopper_path))[0]
        collins = predictor.predict_rgb(load_rgb(astronaut_path))[0]
    assert 55 <= hopper.age <= 100 and 15 <= collins.age <= 55
    assert hopper.age - collins.age > 20
