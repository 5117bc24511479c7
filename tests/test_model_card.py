"""The model card reads what the sidecar and the files beside the weights hold, and names what is missing."""
import json

import numpy as np
import pytest

from dldl_core.models.weights import WeightsError, update_sidecar
from dldl_core.ui.model_card import (
    coverage_caption,
    load_model_card,
    metric_label,
    pipelines_caption,
    stages_caption,
    training_stages,
)


@pytest.fixture
def weights_copy(random_weights, tmp_path):
    """A private copy of the random weights whose sidecar each test may change."""
    for suffix in (".safetensors", ".json"):
        (tmp_path / f"w{suffix}").write_bytes(random_weights.with_suffix(suffix).read_bytes())
    return tmp_path / "w.safetensors"


def test_bare_sidecar_lists_what_is_missing(weights_copy):
    card = load_model_card(weights_copy)
    assert card.summary["architecture"] == "tiny_age_net"
    assert card.summary["input size"] == 64
    assert card.per_band is None and card.predictions is None and card.train_log is None
    text = " ".join(card.missing)
    assert "no metrics" in text and "per-age-band" in text and "scatter" in text and "training log" in text


def summary(pipeline, mae, per_band):
    """An evaluation summary as ``Evaluation.summary()`` writes it."""
    return {"n": 3, "mae": mae, "cs5": 0.5, "per_band": per_band, "faces_missed": 0, "pipeline": pipeline,
            "gross_error_share": 1 / 3, "coverage90": 2 / 3, "per_gender": {"0": {"n": 1, "mae": 2.0, "bias": 1.0}}}


def test_evaluations_and_predictions_from_the_sidecar(weights_copy):
    chip_band = {"0-12": {"n": 2, "mae": 1.5, "bias": 0.5}}
    update_sidecar(weights_copy, metrics={"val_mae_chip_tta": 5.5, "val_full": summary("full", 6.5, {}),
                                          "val_chip": summary("chip", 5.5, chip_band)},
                   val_predictions={"pred": [10, 30, 52], "true": [12, 25, 50], "race": [0, 1, 2]})
    card = load_model_card(weights_copy)
    assert card.scalars == {"val_mae_chip_tta": 5.5}
    assert list(card.evaluations) == ["val_full", "val_chip"]
    assert card.per_band == chip_band  # the chip pipeline is the default, and its shipped table wins
    assert card.per_group["gender"] == {"male": {"n": 1, "mae": 2.0, "bias": 1.0}}
    assert set(card.per_group["race"]) == {"White", "Black", "Asian"}  # computed from the prediction columns
    assert card.tables("val_full")[0] == {}
    rows = card.evaluation_rows()
    assert rows[1] == {"evaluation": "val_chip", "pipeline": "chip", "faces": 3, "MAE": 5.5, "CS@5": 0.5,
                       "gross (> 15 y)": 0.333, "90 % coverage": 0.667, "faces missed": 0}
    np.testing.assert_array_equal(card.predictions["pred"], [10, 30, 52])
    assert not any("scatter" in m for m in card.missing)


def test_predictions_csv_and_training_log_beside_the_weights(weights_copy):
    (weights_copy.parent / "w.val_predictions.csv").write_text("true,pred,gender\n10,12,0\n40,35,1\n70,60,1\n")
    (weights_copy.parent / "w.train_log.jsonl").write_text(
        json.dumps({"epoch": 1, "val_mae": 9.0}) + "\nnot json\n" + json.dumps({"epoch": 2, "val_mae": 7.0}) + "\n")
    card = load_model_card(weights_copy)
    assert card.per_band["0-12"] == {"n": 1, "mae": 2.0, "bias": 2.0}
    assert card.per_band["60-79"]["bias"] == -10.0
    assert card.per_group["gender"]["female"]["n"] == 2
    assert [r["epoch"] for r in card.train_log] == [1, 2]


def test_unusable_predictions_are_ignored(weights_copy):
    update_sidecar(weights_copy, val_predictions={"pred": [1, 2], "true": [1]})
    assert load_model_card(weights_copy).predictions is None


def test_missing_sidecar(tmp_path):
    with pytest.raises(WeightsError, match="sidecar"):
        load_model_card(tmp_path / "none.safetensors")


def test_metric_labels():
    assert metric_label("val_mae_chip_tta") == "val MAE (chips, TTA)"
    assert metric_label("val.cs5") == "val CS@5"
    assert metric_label("loss") == "loss"


def test_training_stages_of_a_log():
    log = [{"epoch": 1}, {"epoch": 2}, {"stage": 2, "epoch": 1}, {"stage": 2, "epoch": 2}, {"stage": 2, "epoch": 3},
           {"stage": 3, "epoch": 1}]
    assert training_stages(log) == [("stage 1", 1, 2), ("stage 2", 3, 5), ("stage 3", 6, 6)]
    assert training_stages([{"epoch": 1}, {"epoch": 2}]) == []  # one stage: nothing to mark


def test_networks_trained_side_by_side_are_runs_of_their_stage():
    log = [{"epoch": 1}, {"stage": 2, "ingredient": 1, "epoch": 1}, {"stage": 2, "ingredient": 1, "epoch": 2},
           {"stage": 2, "ingredient": 2, "epoch": 1}, {"stage": 3, "epoch": 1, "val250_mae": 4.0}]
    stages = training_stages(log)
    assert stages == [("stage 1", 1, 1), ("stage 2.1", 2, 3), ("stage 2.2", 4, 4), ("stage 3", 5, 5)]
    caption = stages_caption(log, stages)
    assert "4 training runs" in caption and "Runs 2.1-2.2: networks trained side by side" in caption
    plain = log[:1] + log[-1:]
    assert "250 val faces" in caption and "side by side" not in stages_caption(plain, training_stages(plain))


def test_the_shipped_log_has_two_stages_of_three_networks_averaged_then_a_cpu_fine_tune_of_their_mean():
    from dldl_core.models.weights import DEFAULT_WEIGHTS, read_sidecar

    card = load_model_card(DEFAULT_WEIGHTS)
    stages = training_stages(card.train_log)
    assert [name for name, _, _ in stages] == [f"stage {k}" for k in range(1, 10)] + [
        f"stage {k}.{i}" for k in (10, 11) for i in (1, 2, 3)] + ["stage 12"]
    assert stages[0][1] == 1 and stages[-1][2] == len(card.train_log)
    recipe = read_sidecar(DEFAULT_WEIGHTS)["recipe"]  # the shipped network: stage 12, from the mean of the six runs
    assert recipe["input_size"] == 160 and "soup" not in recipe and recipe["augment"]["eyewear"] > 0
    assert recipe["epochs"] == stages[-1][2] - stages[-1][1] + 1 == recipe["best_epoch"]
    assert card.summary["started from"].startswith("thin_160_soup.safetensors: stage 11")
    gpu_stages = {r["stage"] for r in card.train_log if "device" in r}
    assert gpu_stages == {8, 9, 10, 11} and all("val250_mae" in r for r in card.train_log if r.get("stage", 1) >= 8)


def test_coverage_of_the_90_percent_interval_per_pipeline(weights_copy):
    update_sidecar(weights_copy, metrics={
        "val_chip": {"n": 10, "mae": 4.0, "pipeline": "chip", "coverage90": 0.913, "interval90_width": 20.5},
        "val_pasted": {"n": 10, "mae": 5.0, "pipeline": "pasted", "coverage90": 0.87},
        "val_full": {"n": 10, "mae": 4.5, "pipeline": "full"}})
    rows = load_model_card(weights_copy).coverage_rows()
    assert [(r["pipeline"], r["coverage"], r["width"]) for r in rows] == [("chips", 0.913, 20.5),
                                                                           ("pasted", 0.87, None)]
    assert "pasted into a random 640x480 scene" in rows[1]["what goes in"]
    assert "Mean widths in years: chips 20.5." in coverage_caption(rows)
    assert "*pasted*: each crop pasted" in pipelines_caption()


def test_each_network_in_a_folder_shows_its_own_written_card(random_weights, tmp_path):
    """A folder may hold several networks: ``<stem>.model_card.md`` is that network's card; a ``MODEL_CARD.md``
    beside it counts only when its title names the file, so one network's card is never shown for another."""
    from dldl_core.ui.model_card import card_text_path, load_model_card

    for name in ("fast", "other"):
        for suffix in (".safetensors", ".json"):
            (tmp_path / f"{name}{suffix}").write_bytes(random_weights.with_suffix(suffix).read_bytes())
    fast, other = tmp_path / "fast.safetensors", tmp_path / "other.safetensors"
    (tmp_path / "MODEL_CARD.md").write_text("# Model card: fast.safetensors\n\nthe fast one\n")
    assert "the fast one" in load_model_card(fast).markdown
    assert load_model_card(other).markdown is None
    card_text_path(other).write_text("# Model card: other.safetensors\n\nthe other one\n")
    assert card_text_path(other) == tmp_path / "other.model_card.md"
    assert "the other one" in load_model_card(other).markdown
