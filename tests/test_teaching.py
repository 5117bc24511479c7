"""The Learn page's maths: loss terms with autograd gradients checked against their closed forms, and the short
KL-only vs KL + L1 training."""
import numpy as np
import pytest
import torch

from dldl_core.maths import labels
from dldl_core.ui import teaching

SUPPORT = labels.age_support(0, 100, 101)


def test_editable_distribution():
    p = teaching.editable_distribution(SUPPORT, 30, 4)
    assert float(p.sum()) == pytest.approx(1.0)
    assert float(labels.expectation(p[None], SUPPORT)[0]) == pytest.approx(30, abs=1e-3)
    two = teaching.editable_distribution(SUPPORT, 20, 3, 60, 0.5)
    assert float(labels.expectation(two[None], SUPPORT)[0]) == pytest.approx(40, abs=1e-3)
    assert two[20] > two[40] < two[60]  # bimodal


def test_a_perfect_prediction_has_zero_loss_and_gradient():
    target = labels.gaussian_label_distribution(torch.tensor([30.0]), SUPPORT, 2.0)[0]
    t = teaching.loss_terms(target, 30, 2.0, SUPPORT)
    assert t.kl == pytest.approx(0, abs=1e-9) and t.l1 == pytest.approx(0, abs=1e-6)
    assert t.cross_entropy > 0  # the entropy of the target
    for name in ("KL", "cross-entropy"):  # |E - y| has a kink at 0: its gradient there is a matter of convention
        assert np.abs(t.gradients[name]).max() < 1e-6


def test_logit_gradients_match_the_closed_forms():
    p_hat = teaching.editable_distribution(SUPPORT, 40, 5, 70, 0.3).double()
    t = teaching.loss_terms(p_hat, 30, 2.0, SUPPORT, lam=2.0)
    target = labels.gaussian_label_distribution(torch.tensor([30.0]), SUPPORT.double(), 2.0)[0]
    e = float(p_hat @ SUPPORT.double())
    assert t.expectation == pytest.approx(e)
    np.testing.assert_allclose(t.gradients["KL"], (p_hat - target).numpy(), atol=1e-9)
    np.testing.assert_allclose(t.gradients["cross-entropy"], t.gradients["KL"], atol=1e-9)
    np.testing.assert_allclose(t.gradients["L1"], (np.sign(e - 30) * p_hat * (SUPPORT.double() - e)).numpy(),
                               atol=1e-6)  # bins below 1e-12 are clamped before the log
    np.testing.assert_allclose(t.gradients["KL + 2 L1"], t.gradients["KL"] + 2 * t.gradients["L1"], atol=1e-9)
    assert t.total == pytest.approx(t.kl + 2 * t.l1)
    assert t.l1 == pytest.approx(abs(e - 30))


def test_probability_gradients():
    p_hat = teaching.editable_distribution(SUPPORT, 40, 5)
    t = teaching.loss_terms(p_hat, 30, 2.0, SUPPORT, wrt="probabilities")
    np.testing.assert_allclose(t.gradients["L1"], SUPPORT.numpy(), atol=1e-9)  # E - y > 0: dE/dp_k = l_k
    with pytest.raises(ValueError, match="wrt"):
        teaching.loss_terms(p_hat, 30, 2.0, SUPPORT, wrt="weights")


def test_load_face_set_and_a_short_comparison(photo_folder):
    folder, manifest = photo_folder
    faces = teaching.load_face_set(folder, manifest, limit=8, input_size=32)
    assert faces.images.shape == (8, 3, 32, 32) and faces.images.dtype == torch.uint8
    assert 0 < int(faces.val.sum()) < 8  # the manifest's own val split
    config = teaching.MiniTrainConfig(steps=4, batch_size=4, eval_every=2)
    records = list(teaching.compare_objectives(faces, ("dldl", "dldl_v2"), config))
    assert [r["objective"] for r in records] == ["dldl", "dldl_v2"] * 4
    assert [r["step"] for r in records[::2]] == [1, 2, 3, 4]
    with_val = [r for r in records if "val_mae" in r]
    assert [r["step"] for r in with_val] == [2, 2, 4, 4]
    assert all(np.isfinite(r["val_mae"]) and r["val_mae"] >= 0 for r in with_val)
    assert all(r["total"] == pytest.approx(r["kl"]) for r in records if r["objective"] == "dldl")
    assert all(r["total"] == pytest.approx(r["kl"] + r["l1"], rel=1e-5) for r in records if r["objective"] == "dldl_v2")


def test_same_start_same_batches():
    """Both objectives start from the same weights: at step 1 their KL terms are equal."""
    g = torch.Generator().manual_seed(0)
    faces = teaching.FaceSet(torch.randint(0, 255, (12, 3, 32, 32), generator=g, dtype=torch.uint8),
                             torch.linspace(5, 80, 12), torch.tensor([False] * 9 + [True] * 3))
    first = list(teaching.compare_objectives(faces, ("dldl", "dldl_v2"), teaching.MiniTrainConfig(steps=1,
                                                                                                  batch_size=6)))
    assert first[0]["kl"] == pytest.approx(first[1]["kl"], rel=1e-5)


def test_training_input_checks():
    faces = teaching.FaceSet(torch.zeros(4, 3, 40, 40, dtype=torch.uint8), torch.ones(4),
                             torch.tensor([0, 0, 1, 1]).bool())
    with pytest.raises(ValueError, match="multiple of 32"):
        next(teaching.compare_objectives(faces))
    faces = teaching.FaceSet(torch.zeros(4, 3, 32, 32, dtype=torch.uint8), torch.ones(4), torch.zeros(4).bool())
    with pytest.raises(ValueError, match="validation"):
        next(teaching.compare_objectives(faces))


def test_load_face_set_without_a_split_holds_out_a_fraction(photo_folder, tmp_path):
    folder, manifest = photo_folder
    rows = manifest.read_text().splitlines()
    plain = tmp_path / "plain.csv"
    plain.write_text("\n".join(",".join(r.split(",")[:2]) for r in rows) + "\n")  # file,age only
    faces = teaching.load_face_set(folder, plain, limit=8, input_size=32, val_fraction=0.25)
    assert len(faces) == 8 and int(faces.val.sum()) == 2
    with pytest.raises(ValueError, match="no usable rows"):
        empty = tmp_path / "empty.csv"
        empty.write_text("file,age\n")
        teaching.load_face_set(folder, empty)
