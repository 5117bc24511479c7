"""AppTest of the Model card page with a bare sidecar, a full one, and none."""
import json

import pytest
from apptest_support import no_exception, open_page

from dldl_core.models.weights import update_sidecar

PAGE = "views/model_card.py"


def frame(at, column=None, index_name=None):
    """The first dataframe with this column or this index name (AppTest does not expose a dataframe's key)."""
    for df in at.dataframe:
        value = df.value
        if (column and column in value.columns) or (index_name and value.index.name == index_name):
            return value
    raise AssertionError(f"no dataframe with {column or index_name}")


@pytest.fixture
def weights_copy(random_weights, tmp_path, monkeypatch):
    for suffix in (".safetensors", ".json"):
        (tmp_path / f"w{suffix}").write_bytes(random_weights.with_suffix(suffix).read_bytes())
    monkeypatch.setenv("DLDL_WEIGHTS", str(tmp_path / "w.safetensors"))
    return tmp_path / "w.safetensors"


def test_bare_sidecar_says_what_is_missing(weights_copy):
    at = open_page(PAGE)
    no_exception(at)
    assert at.title[0].value == "Model card"
    assert "non-commercial" in at.warning[0].value  # the licence
    notes = " ".join(i.value for i in at.info)
    assert "no metrics" in notes and "scatter" in notes
    assert not at.get("plotly_chart")


def test_full_card(weights_copy):
    chip = {"n": 4, "mae": 3.8, "cs5": 0.75, "faces_missed": 0, "pipeline": "chip", "coverage90": 0.75,
            "per_band": {"0-12": {"n": 1, "mae": 2.0, "bias": 2.0}, "13-19": {"n": 0, "mae": None, "bias": None}},
            "per_race": {"0": {"n": 4, "mae": 3.8, "bias": -0.5}}}
    full = {**chip, "pipeline": "full", "mae": 4.1, "per_race": {"1": {"n": 4, "mae": 4.1, "bias": 0.1}}}
    pasted = {**full, "pipeline": "pasted", "coverage90": 0.5, "interval90_width": 12.25}
    update_sidecar(weights_copy, metrics={"val_mae_chip_tta": 6.1, "val_cs5_chip_tta": 0.52, "val_chip": chip,
                                          "val_full": full, "val_pasted": pasted},
                   val_predictions={"true": [5, 25, 45, 70], "pred": [7, 24, 49, 63], "gender": [0, 1, 0, 1]})
    (weights_copy.parent / "w.train_log.jsonl").write_text('{"val_mae": 9.0, "total": 3.0}\n'
                                                           '{"val_mae": 7.0, "total": 2.0}\n'
                                                           '{"stage": 2, "val_mae": 6.0, "total": 1.5}\n')
    at = open_page(PAGE)
    no_exception(at)
    assert {m.label for m in at.metric} == {"val MAE (chips, TTA)", "val CS@5 (chips, TTA)",
                                            "90 % interval coverage (chips)", "90 % interval coverage (photos)",
                                            "90 % interval coverage (pasted)"}
    assert [m.value for m in at.metric if m.label.startswith("90 %")] == ["75.0 %", "75.0 %", "50.0 %"]
    captions = " ".join(c.value for c in at.caption)
    assert "*pasted*: each crop pasted into a random 640x480 scene" in captions and "pasted 12.2" in captions
    assert len(at.get("plotly_chart")) == 3  # bands, scatter, history
    history = json.loads(at.get("plotly_chart")[2].proto.spec)
    spans = [s for s in history["layout"]["shapes"] if s["type"] == "rect"]
    assert [(s["x0"], s["x1"]) for s in spans] == [(0.5, 2.5), (2.5, 3.5)]  # the training stages, shaded
    assert [a["text"] for a in history["layout"]["annotations"]] == ["1", "2"]  # each stage by its number
    assert "2 training runs" in captions
    assert frame(at, column="pipeline")["pipeline"].tolist() == ["chip", "full", "pasted"]
    assert frame(at, index_name="race").index.tolist() == ["White"]
    assert any(m.value == "**gender**" for m in at.markdown)  # from the prediction columns
    assert not at.info  # nothing missing
    at.selectbox(key="card_evaluation").set_value("val_full").run()
    no_exception(at)
    assert frame(at, index_name="race").index.tolist() == ["Black"]


def test_missing_sidecar(tmp_path, monkeypatch):
    monkeypatch.setenv("DLDL_WEIGHTS", str(tmp_path / "none.safetensors"))
    at = open_page(PAGE)
    no_exception(at)
    assert at.error[0].value.startswith("No model card:")
