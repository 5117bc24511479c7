"""What the Analyze page says of a map's faithfulness for one face and of its method's sanity check."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from dldl_core.models.weights import read_sidecar
from dldl_core.ui.explanation_view import faithfulness_sentence
from dldl_core.ui.sanity_view import DOCS_FIGURES, find_sanity_report, sanity_sentence, shipped_faithfulness_sentence

WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "tiny_age_net.safetensors"


def explanation(gain: float, spread: float = 2.0, target: str = "expected") -> SimpleNamespace:
    return SimpleNamespace(method="gradcam", target=target, faithfulness={
        "map_auc": 10 + gain, "random_auc": 10.0, "random_spread": spread, "fill": "blur", "gain": gain})


def test_the_faithfulness_sentence_names_the_fill_the_gain_and_its_yardstick():
    clear = faithfulness_sentence(explanation(5.0))
    assert "a strong blur of the same face" in clear and "+5.00" in clear and "± 2.00" in clear
    assert "clearly more faithful than chance" in clear and "lowers the expected age by 15.00 years" in clear
    assert "within the spread of random orders" in faithfulness_sentence(explanation(1.0))
    assert "no better than chance" in faithfulness_sentence(explanation(-0.5))
    assert "log-probability" in faithfulness_sentence(explanation(1.0, target="bin:30"))
    assert "raises the expected age" in faithfulness_sentence(explanation(1.0, target="younger"))
    assert faithfulness_sentence(SimpleNamespace(faithfulness=None)) is None


def _report(sha: str) -> dict:
    summary = {"mean": 0.12, "lo": 0.08, "hi": 0.16, "n": 40}
    return {"weights": {"sha256": sha}, "split": "val", "verdict_step": "last_block", "threshold": 0.5,
            "methods": {"gradcam": {"cascade": {"last_block": {"spearman": summary}}, "shuffled": None,
                                    "shows_network": True}}}


def test_the_sanity_verdict_is_given_only_for_the_weights_it_was_measured_on(tmp_path):
    weights = tmp_path / WEIGHTS.name
    shutil.copy(WEIGHTS, weights)
    shutil.copy(WEIGHTS.with_suffix(".json"), weights.with_suffix(".json"))
    folder = tmp_path / "tiny_age_net.sanity"
    folder.mkdir()
    (folder / "sanity.json").write_text(json.dumps(_report(read_sidecar(weights)["sha256"])))
    assert find_sanity_report(weights) == folder / "sanity.json"
    verdict = sanity_sentence("gradcam", weights)
    assert verdict.startswith("Grad-CAM passed the sanity check") and "0.12 [0.08, 0.16]" in verdict
    assert "did not measure hirescam" in sanity_sentence("hirescam", weights)
    (folder / "sanity.json").write_text(json.dumps(_report("0" * 64)))
    assert "run on other weights" in sanity_sentence("gradcam", weights)
    (folder / "sanity.json").write_text("not json")
    assert sanity_sentence("gradcam", weights).startswith("No sanity check ships with these weights")


def test_the_shipped_faithfulness_is_quoted_only_for_the_weights_it_measured():
    if not (DOCS_FIGURES / "faithfulness" / "faithfulness.json").is_file():
        pytest.skip("needs the source checkout's docs/figures/faithfulness")
    report = json.loads((DOCS_FIGURES / "faithfulness" / "faithfulness.json").read_text())
    default = WEIGHTS.with_name("thin_age_net.safetensors")
    assert report["weights"]["sha256"] == read_sidecar(default)["sha256"]  # rerun dldl faithfulness after shipping
    sentence = shipped_faithfulness_sentence("gradcam", default)
    gain = report["methods"]["gradcam"]["deletion_gain"]
    assert f"deletion gain over random order {gain:+.2f}" in sentence and f"over {report['methods']['gradcam']['n']}" \
        in sentence
    assert shipped_faithfulness_sentence("gradcam", WEIGHTS) is None  # TinyAgeNet was not measured
    assert shipped_faithfulness_sentence("nocam", default) is None


def test_the_shipped_sanity_check_describes_the_shipped_default_so_the_app_quotes_its_verdicts():
    if not (DOCS_FIGURES / "sanity" / "sanity.json").is_file():
        pytest.skip("needs the source checkout's docs/figures/sanity")
    default = WEIGHTS.with_name("thin_age_net.safetensors")
    assert find_sanity_report(default) == DOCS_FIGURES / "sanity" / "sanity.json"  # rerun dldl sanity after shipping
    assert sanity_sentence("gradcam", default).startswith("Grad-CAM passed the sanity check")
    assert sanity_sentence("gradcam++", default).startswith("Grad-CAM++ failed the sanity check")
