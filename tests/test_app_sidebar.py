"""AppTest of the sidebar's network choice among the shipped weights."""
import pytest
from apptest_support import no_exception, open_page

from dldl_core.models.weights import DEFAULT_WEIGHTS, read_sidecar, shipped_weights


def network_box(at):
    return [s for s in at.sidebar.selectbox if s.label == "Network"]


def weights_caption(at) -> str:
    return next(c.value for c in at.sidebar.caption if c.value.startswith("Weights: "))


@pytest.mark.skipif(len(shipped_weights()) < 2, reason="needs two shipped weights files to choose between")
def test_the_sidebar_offers_every_shipped_network_and_the_pages_follow_the_choice(monkeypatch):
    monkeypatch.delenv("DLDL_WEIGHTS", raising=False)
    shipped = shipped_weights()
    at = open_page("views/model_card.py")
    no_exception(at)
    (box,) = network_box(at)
    assert box.value == DEFAULT_WEIGHTS and shipped[0] == DEFAULT_WEIGHTS
    assert box.options[0].endswith("AgeNet (default)") and "(default)" not in box.options[1]
    size = read_sidecar(DEFAULT_WEIGHTS)["preprocess"]["input_size"]
    assert weights_caption(at).startswith(f"Weights: {DEFAULT_WEIGHTS.name}, {size} px, val MAE ")
    default_title = at.title[0].value
    box.set_value(shipped[1]).run()
    no_exception(at)
    assert weights_caption(at).startswith(f"Weights: {shipped[1].name}, ")
    assert shipped[1].name in " ".join(m.value for m in at.markdown)  # the model card of the chosen network
    at.switch_page("views/model_card.py").run()
    assert network_box(at)[0].value == shipped[1]  # the choice holds across pages
    assert at.title[0].value == default_title


def test_a_weights_file_named_by_the_environment_is_not_overridden(random_weights, monkeypatch):
    monkeypatch.setenv("DLDL_WEIGHTS", str(random_weights))
    at = open_page("views/model_card.py")
    no_exception(at)
    assert network_box(at) == []
    assert weights_caption(at).startswith(f"Weights: {random_weights.name}")


def test_shipped_weights_lists_files_with_a_sidecar_default_first(tmp_path, random_weights):
    for name in ("b", "a"):
        for suffix in (".safetensors", ".json"):
            (tmp_path / f"{name}{suffix}").write_bytes(random_weights.with_suffix(suffix).read_bytes())
    (tmp_path / "orphan.safetensors").write_bytes(b"no sidecar")
    assert shipped_weights(tmp_path) == [tmp_path / "a.safetensors", tmp_path / "b.safetensors"]
    assert shipped_weights()[0] == DEFAULT_WEIGHTS


@pytest.mark.skipif(len(shipped_weights()) < 2, reason="needs two shipped weights files to choose between")
@pytest.mark.slow
def test_switching_the_network_reanalyses_an_uploaded_photo(monkeypatch, grace_hopper_path):
    """The Analyze page keeps each photo's analysis for the session; a new network must not reuse the old one."""
    from dldl_core.data.images import load_rgb
    from dldl_core.pipeline.predictor import Predictor

    monkeypatch.delenv("DLDL_WEIGHTS", raising=False)
    shipped = shipped_weights()
    at = open_page("views/analyze.py")
    at.file_uploader(key="analyze_upload").set_value(("grace.jpg", grace_hopper_path.read_bytes(), "image/jpeg"))
    at.run()
    first = at.session_state["analyze_cache"]
    network_box(at)[0].set_value(shipped[1]).run()
    no_exception(at)
    ages = {}
    for key, photo in at.session_state["analyze_cache"].items():
        if key[0] == "photo":  # ("photo", digest, weights); explanations are kept under other keys
            ages[key[-1]] = photo.faces[0].age
    with Predictor(shipped[1], device="auto", backend="auto") as predictor:  # as the app loads it (app/resources.py)
        expected = predictor.predict_rgb(load_rgb(grace_hopper_path))[0].age
    assert set(ages) == {str(shipped[0]), str(shipped[1])} and first
    assert ages[str(shipped[1])] == pytest.approx(expected, abs=0.05)
    assert ages[str(shipped[0])] != pytest.approx(ages[str(shipped[1])], abs=0.05)
