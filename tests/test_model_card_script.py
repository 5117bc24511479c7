"""scripts/build_model_card.py renders the shipped default's card from its sidecar: every field of the template is
filled, and the figures come from the measurements given."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from script_modules import script_module

from dldl_core.models.sidecar import read_sidecar

ROOT = Path(__file__).resolve().parent.parent
WEIGHTS = ROOT / "weights" / "thin_age_net.safetensors"


@pytest.fixture(scope="module")
def script():
    with script_module(ROOT / "scripts" / "build_model_card.py", "build_model_card") as module:
        yield module


def test_the_card_is_rendered_from_the_measurements_given(script, tmp_path):
    metrics = read_sidecar(WEIGHTS)["metrics"]
    results = {name: metrics[f"val_{name}"] for name in ("chip", "full", "pasted")}
    results["chip"] = {**results["chip"], "mae": 3.21}  # a figure the shipped card does not hold
    samples = [SimpleNamespace(file=f) for f in ("a.jpg", "b.jpg", "c.jpg")]
    chip_eval = SimpleNamespace(samples=samples, pred=np.array([10.0, 20.0, 30.0]), true=np.array([12.0, 20.0, 35.0]))
    (tmp_path / "duplicates.csv").write_text("group,file,age,split\n0,a.jpg,12,val\n0,x.jpg,12,train\n")
    log = [{"epoch": 1, "epoch_s": 5400.0, "l1": 6.0, "val_mae": 5.5},  # a CPU stage, validated on the whole split
           {"stage": 2, "epoch": 1, "epoch_s": 120.0, "l1": 5.0, "val250_mae": 5.1, "device": "a test GPU"},
           {"stage": 2, "epoch": 2, "epoch_s": 60.0, "l1": 4.5, "val250_mae": 4.9, "device": "a test GPU"}]
    fields = script.card_fields(WEIGHTS, tmp_path, results, chip_eval, log, "a test CPU")
    card = script.CARD_TEMPLATE.format_map(fields)
    assert card.startswith("# Model card: thin_age_net.safetensors")
    assert read_sidecar(WEIGHTS)["sha256"] in card and "| chip | the aligned chips as they are |" in card
    assert "| 3.210 |" in card  # the chip MAE given, not the sidecar's
    assert "Without the 1 val faces" in card and "chip MAE 2.500" in card  # b and c: errors 0 and 5
    assert ("1.50 h on a test CPU (stage 1, with other work on the same cores) and 3.0 min on a test GPU (stage 2)"
            in " ".join(card.split()) and "{" not in card.replace("{}", ""))
    assert ("the MAE on the 250 val faces it watched from 5.100 after its first epoch to 4.900 after its last"
            in " ".join(card.split()))
    assert "## Real photos: the wild proxy" in card  # the proxy's JSON beside the shipped weights


def test_networks_trained_side_by_side_count_their_longest_run_and_the_soup_is_named(script):
    log = [{"stage": 2, "ingredient": i, "epoch": e, "epoch_s": 60.0 * i, "l1": 5.0, "val250_mae": 5.0 - e / 10,
            "device": "a test GPU"} for i in (1, 2) for e in (1, 2)]
    assert script.epochs_wall_seconds(log) == 240.0  # network 2's two epochs of 120 s; network 1 ran meanwhile
    assert "4.0 min on a test GPU (stage 2)" in script.training_time_text(log, "a test CPU")
    soup = {"soup": [{"file": "a.safetensors"}, {"file": "b.safetensors"}], "input_size": 160}
    assert script.kept_text(soup, log).startswith("The shipped network is the mean of the weights of stage 2's 2 "
                                                  "networks")
    assert script.kept_text({"best_epoch": 3, "epochs": 5}, log) == "The last stage kept its epoch 3 of 5"
    gains = script.stage_gains([{"epoch": 1, "l1": 6.0, "val_mae": 5.5}, *log])
    assert "Stage 2 trained 2 networks side by side" in gains and "4.900 to 4.800 in 2 epochs" in gains


def test_stages_run_on_one_machine_are_named_as_ranges(script):
    assert script.stage_span([1, 2, 3, 4, 5, 6, 7, 12]) == "stages 1-7 and 12"
    assert script.stage_span([3]) == "stage 3" and script.stage_span([1, 3, 4]) == "stages 1 and 3-4"
    assert script.stage_span([1, 2, 5, 8, 9]) == "stages 1-2, 5 and 8-9"
    log = [{"stage": s, "epoch": 1, "epoch_s": 600.0} for s in (1, 2, 12)] + [{"stage": 8, "epoch": 1, "epoch_s": 9.0,
                                                                               "device": "a test GPU"}]
    assert script.training_time_text(log, "a test CPU") == ("30.0 min on a test CPU (stages 1-2 and 12, with other "
                                                            "work on the same cores) and 0.1 min on a test GPU "
                                                            "(stage 8)")
