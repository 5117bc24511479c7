"""AppTest of the sidebar's network choice among the shipped weights."""
import pytest

from apptest_support import no_exception, open_page
from dldl_core.weights import DEFAULT_WEIGHTS, shipped_weights


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
    assert "(default)" in box.options[0] and " px, val MAE " in box.options[0]
    assert weights_caption(at) == f"Weights: {DEFAULT_WEIGHTS.name}"
    default_title = at.title[0].value
    box.set_value(shipped[1]).run()
    no_exception(at)
    assert weights_caption(at) == f"Weights: {shipped[1].name}"
    assert shipped[1].name in " ".join(m.value for m in at.markdown)  # the model card of the chosen network
    at.switch_page("views/model_card.py").run()
    assert network_box(at)[0].value == shipped[1]  # the choice holds across pages
    assert at.title[0].value == default_title


def test_a_weights_file_named_by_the_environment_is_not_overridden(random_weights, monkeypatch):
    monkeypatch.setenv("DLDL_WEIGHTS", str(random_weights))
    at = open_page("views/model_card.py")
    no_exception(at)
    assert network_box(at) == []
    assert weights_caption(at) == f"Weights: {random_weights.name}"


def test_shipped_weights_lists_files_with_a_sidecar_default_first(tmp_path, random_weights):
    for name in ("b", "a"):
        for suffix in (".safetensors", ".json"):
            (tmp_path / f"{name}{suffix}").write_bytes(random_weights.with_suffix(suffix).read_bytes())
    (tmp_path / "orphan.safetensors").write_bytes(b"no sidecar")
    assert shipped_weights(tmp_path) == [tmp_path / "a.safetensors", tmp_path / "b.safetensors"]
    assert shipped_weights()[0] == DEFAULT_WEIGHTS
