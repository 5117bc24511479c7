"""AppTest of the Learn page: the equations, the support of the network in use, bounded gradients, the L1 kink,
the head training with its summary, and the paths a user may type."""
import base64
import json
import re

import numpy as np
import pytest
from apptest_support import no_exception, open_page

PAGE = "views/learn.py"


def metric(at, label):
    return float(next(m.value for m in at.metric if m.label == label))


def array(values):
    """A trace's values as plotly writes them: a list, or a typed array ``{"dtype", "bdata"}`` in base64."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).astype(float)
    return np.asarray(values, float)


def chart(at, title_start):
    """The data of the plotly chart whose title starts with ``title_start``: {trace name: (x, y)}."""
    for element in at.get("plotly_chart"):
        spec = json.loads(element.proto.spec)
        if spec["layout"].get("title", {}).get("text", "").startswith(title_start):
            return {t.get("name"): (array(t["x"]), array(t["y"])) for t in spec["data"]}
    raise AssertionError(f"no chart titled {title_start}...")


def max_gradient(at):
    return max(np.abs(y).max() for _, y in chart(at, "Gradients w.r.t. the logits").values())


def test_equations_support_and_bounded_gradients():
    at = open_page(PAGE)
    no_exception(at)
    latex = " ".join(e.value for e in at.latex)
    for part in (r"2\sigma^2", r"\mathrm{KL}", r"\mathbb{E}[\hat p]", r"L_{\text{DLDL-v2}}", r"1 - \mathrm{CDF}_k",
                 r"\partial z_k"):
        assert part in latex
    assert at.slider(key="learn_age").max == 116 and at.slider(key="learn_pred_mean").max == 116
    x, _ = chart(at, "Gaussian label distribution")["label distribution p_k"]
    assert x[0] == 0 and x[-1] == 116 and len(x) == 117  # the shipped network's support
    assert len(chart(at, "Ranking encoding")["1 - CDF of the Gaussian label distribution"][0]) == 116  # K - 1
    assert metric(at, "|E[p_hat] - y|") == pytest.approx(6.0, abs=0.05)  # centre 36, true age 30
    assert np.isfinite(max_gradient(at)) and max_gradient(at) < 1e3
    # the worst case: all the mass at one end, the true age at the other, lambda at its largest
    at.slider(key="learn_pred_mean").set_value(0)
    at.slider(key="learn_pred_std").set_value(1.0)
    at.slider(key="learn_loss_age").set_value(116)
    at.slider(key="learn_lambda").set_value(5.0).run()
    no_exception(at)
    assert np.isfinite(max_gradient(at)) and max_gradient(at) < 1e3
    assert "-p_k / p_hat_k: here it reaches" in " ".join(c.value for c in at.caption)  # why not the probabilities


def test_a_perfect_prediction_and_the_l1_kink():
    at = open_page(PAGE)
    at.slider(key="learn_pred_mean").set_value(30)
    at.slider(key="learn_pred_std").set_value(2.0).run()
    assert metric(at, "KL(p || p_hat)") == pytest.approx(0.0, abs=1e-3)
    # a second hump placed symmetrically keeps the expectation right while KL grows
    at.slider(key="learn_pred_mean").set_value(20)
    at.slider(key="learn_second_mean").set_value(40)
    at.slider(key="learn_second_weight").set_value(0.5).run()
    no_exception(at)
    assert metric(at, "|E[p_hat] - y|") == pytest.approx(0.0, abs=0.005)
    assert metric(at, "median of p_hat") == pytest.approx(30.0, abs=0.5)  # between the humps, by symmetry
    assert metric(at, "KL(p || p_hat)") > 1.0
    assert "kink" in at.info[0].value  # the one sentence on L1's gradient where E = y
    assert np.abs(chart(at, "Gradients w.r.t. the logits")["L1"][1]).max() == 0


def test_edge_effect_is_shown():
    at = open_page(PAGE)
    at.slider(key="learn_age").set_value(0).run()
    no_exception(at)
    ages, shift = chart(at, "Mean of the label distribution minus y")["E[p] - y"]
    assert ages[0] == 0 and ages[-1] == 116
    assert shift[0] > 1 and shift[-1] < -1 and abs(shift[58]) < 1e-6  # inward at both ends, none in the middle
    assert "label of a newborn has mean 1.30 instead of 0" in " ".join(c.value for c in at.caption)


def numbers(text):
    return [float(v) for v in re.findall(r"[-+]?\d+\.\d+", text)]


@pytest.mark.slow
def test_head_training_on_a_folder(photo_folder, tmp_path, monkeypatch):
    monkeypatch.setenv("DLDL_CACHE", str(tmp_path / "cache"))
    folder, manifest = photo_folder
    at = open_page(PAGE)
    at.text_input(key="learn_data").set_value(str(folder))
    at.text_input(key="learn_manifest").set_value(str(manifest))
    at.number_input(key="learn_faces").set_value(20)
    at.number_input(key="learn_steps").set_value(20)
    at.number_input(key="learn_seeds").set_value(2).run()
    at.button(key="learn_train").click().run()
    for _ in range(30):  # the fragment trains a chunk per run
        no_exception(at)
        if not at.session_state["learn_running"]:
            break
        at.run()
    assert not at.session_state["learn_running"] and at.session_state["learn_comparison"].steps_done == 20
    assert any("validation faces" in w.value and "fewer than 50" in w.value for w in at.warning)
    sentence = next(m.value for m in at.markdown if m.value.startswith(("After", "Stopped")))
    table = {row["head"]: row["mean"] for row in at.dataframe[0].value.to_dict("records")}
    v2, _, v1, _ = numbers(sentence)[:4]
    assert v2 == pytest.approx(table["DLDL-v2 (KL + λ L1)"], abs=0.006)
    assert v1 == pytest.approx(table["DLDL (KL)"], abs=0.006)
    assert "median training age" in sentence and list((tmp_path / "cache" / "learn_features").glob("*.npz"))


def test_paths_outside_the_allowed_folders_are_refused(tmp_path, monkeypatch):
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    allowed.mkdir(), outside.mkdir()
    (outside / "manifest.csv").write_text("file,age\n")
    monkeypatch.setenv("DLDL_ALLOWED_ROOTS", str(allowed))
    at = open_page(PAGE)
    at.text_input(key="learn_data").set_value(str(outside))
    at.text_input(key="learn_manifest").set_value(str(outside / "manifest.csv")).run()
    at.button(key="learn_train").click().run()
    no_exception(at)
    assert at.error[0].value.startswith(f"{outside} is outside the folders this app may read")
    assert "learn_comparison" not in at.session_state


def test_without_the_dataset_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("DLDL_UTKFACE", str(tmp_path / "nothing"))
    at = open_page(PAGE)
    no_exception(at)
    assert "The UTKFace faces are not at" in at.info[0].value and "DLDL_UTKFACE" in at.info[0].value
    assert at.text_input(key="learn_data").value == ""
    at.button(key="learn_train").click().run()
    assert at.error[0].value.startswith("Point the two fields")


def test_typed_paths_and_settings_survive_a_visit_to_another_page(tmp_path):
    at = open_page("views/learn.py")
    at.text_input(key="learn_data").set_value(str(tmp_path / "faces")).run()
    at.slider(key="learn_sigma").set_value(3.5).run()
    at.switch_page("views/model_card.py").run()
    at.switch_page("views/learn.py").run()
    no_exception(at)
    assert at.text_input(key="learn_data").value == str(tmp_path / "faces")
    assert at.slider(key="learn_sigma").value == 3.5


def test_the_age_stages_settings_survive_a_visit_to_another_page():
    at = open_page("views/age_stages.py")
    at.text_input(key="stages_split").set_value("train").run()
    at.switch_page("views/learn.py").run()
    at.switch_page("views/age_stages.py").run()
    no_exception(at)
    assert at.text_input(key="stages_split").value == "train"
