"""AppTest of the Learn page: the label distribution, the loss terms, and the short training."""
import pytest
from apptest_support import markdown_text, no_exception, open_page

PAGE = "views/learn.py"


def metric(at, label):
    return float(next(m.value for m in at.metric if m.label == label))


def test_distributions_losses_and_gradients():
    at = open_page(PAGE)
    no_exception(at)
    assert len(at.get("plotly_chart")) == 4  # label distribution, ranking vs 1 - CDF, prediction vs target, gradients
    kl = metric(at, "KL(p || p_hat)")
    assert metric(at, "|E[p_hat] - y|") == pytest.approx(6.0, abs=0.05)  # centre 36, true age 30
    at.slider(key="learn_pred_mean").set_value(30)
    at.slider(key="learn_pred_std").set_value(2.0).run()
    assert metric(at, "KL(p || p_hat)") == pytest.approx(0.0, abs=1e-3)
    assert kl > 0.5
    assert metric(at, "|E[p_hat] - y|") == pytest.approx(0.0, abs=0.05)
    # a second hump placed symmetrically keeps the expectation right while KL grows
    at.slider(key="learn_pred_mean").set_value(20)
    at.slider(key="learn_second_mean").set_value(40)
    at.slider(key="learn_second_weight").set_value(0.5)
    at.radio(key="learn_wrt").set_value("probabilities").run()
    no_exception(at)
    assert metric(at, "|E[p_hat] - y|") == pytest.approx(0.0, abs=0.05)
    assert metric(at, "KL(p || p_hat)") > 1.0


@pytest.mark.slow
def test_short_training_on_a_folder(photo_folder):
    folder, manifest = photo_folder
    at = open_page(PAGE)
    at.text_input(key="learn_data").set_value(str(folder))
    at.text_input(key="learn_manifest").set_value(str(manifest))
    at.number_input(key="learn_faces").set_value(20)
    at.number_input(key="learn_steps").set_value(4).run()
    at.button(key="learn_train").click().run()
    no_exception(at)
    assert "Final validation MAE: **dldl**" in markdown_text(at)
    assert len(at.get("plotly_chart")) == 5
    history = at.session_state["learn_history"]
    assert {r["objective"] for r in history} == {"dldl", "dldl_v2"} and max(r["step"] for r in history) == 4


def test_no_data_no_button(tmp_path):
    at = open_page(PAGE)
    at.text_input(key="learn_data").set_value(str(tmp_path / "nothing")).run()
    no_exception(at)
    assert "No training data here" in at.info[0].value
    assert not [b for b in at.button if b.key == "learn_train"]
