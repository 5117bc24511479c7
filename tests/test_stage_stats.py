"""The statistics of the age-stage analysis: halves, cell tests, Holm per family, replication, rank agreement,
and the honest strip names."""
import numpy as np
import pytest

from dldl_core.explain.stage_stats import (
    column_stats,
    disagreements,
    family,
    mark_replication,
    rank_agreement,
    split_halves,
)
from dldl_core.explain.strip_bands import strip_edges, strip_landmarks, strip_names
from dldl_core.models.preprocess import DEFAULT_TEMPLATE


def test_split_halves_are_disjoint_seeded_and_cover_everything():
    a, b = split_halves(11, 3)
    assert len(a) == 5 and len(b) == 6 and sorted([*a, *b]) == list(range(11))
    assert all((x == y).all() for x, y in zip(split_halves(11, 3), (a, b)))
    assert not all((x == y).all() for x, y in zip(split_halves(11, 4), (a, b)))


def test_column_stats_test_each_column_and_each_half():
    rng = np.random.default_rng(0)
    values = np.stack([rng.normal(2.0, 1.0, 40), rng.normal(0.0, 1.0, 40)], axis=1)
    strong, null = column_stats(values, split_halves(40, 0))
    assert strong["mean"] == pytest.approx(values[:, 0].mean()) and strong["p"] < 1e-6
    assert strong["ci95"] == pytest.approx(2.0227 * values[:, 0].std(ddof=1) / np.sqrt(40), rel=1e-3)
    assert null["p"] > 0.05 and all(p < 0.01 for p in strong["halves_p"])
    (empty,) = column_stats(np.zeros((0, 1)), split_halves(0, 0))
    assert empty["mean"] is None and empty["p"] is None  # JSON-safe, no NaN


def test_a_family_is_corrected_together_and_findings_must_replicate():
    cells = [{"mean": 1.0, "p": 0.001, "halves": [0.9, 1.1], "halves_p": [0.001, 0.002]},  # replicates
             {"mean": 1.0, "p": 0.004, "halves": [1.5, -0.1], "halves_p": [0.001, 0.8]},  # one half against it
             {"mean": 0.5, "p": 0.03, "halves": [0.5, 0.5], "halves_p": [0.01, 0.01]},  # no finding after Holm
             {"mean": None, "p": None, "halves": [None, None], "halves_p": [None, None]}]  # an empty stage
    assert family(cells) == 3
    assert [c["p_holm"] for c in cells[:3]] == pytest.approx([0.003, 0.008, 0.03])
    assert cells[3]["p_holm"] is None
    assert [c["replicated"] for c in cells] == [True, False, True, None]  # 0.03 < 0.05: the third is a finding
    cells[2]["p"] = 0.2
    family(cells)
    assert cells[2]["replicated"] is None


def test_replication_corrects_the_halves_over_the_findings():
    cells = [{"mean": 1.0, "p_holm": 0.001, "halves": [1.0, 1.0], "halves_p": [0.03, 0.001]},
             {"mean": 1.0, "p_holm": 0.001, "halves": [1.0, 1.0], "halves_p": [0.04, 0.001]}]
    mark_replication(cells)  # halves' Holm over the two findings: 0.03 x 2 = 0.06 -> 0.06, 0.06: neither
    assert [c["replicated"] for c in cells] == [False, False]


def test_rank_agreement_and_disagreements():
    assert rank_agreement([1, 2, 3, 4], [10, 20, 30, 40])["rho"] == pytest.approx(1.0)
    assert rank_agreement([1, 2, 3, 4], [4, 3, 2, 1])["rho"] == pytest.approx(-1.0)
    assert rank_agreement([1, 1, 1], [1, 2, 3]) == {"rho": None, "p": None}
    assert rank_agreement([1, None, 3], [1, 2, 3]) == {"rho": None, "p": None}
    regions = {"nose": {"delta_mae": -0.8, "test": {"p_holm": 0.01}},  # the map weighs it, hiding it helps
               "mouth": {"delta_mae": 5.0, "test": {"p_holm": 0.001}},  # both agree
               "chin": {"delta_mae": 1.0, "test": {"p_holm": 0.02}},  # the map avoids it, hiding it hurts
               "brows": {"delta_mae": -2.0, "test": {"p_holm": 0.3}}}  # no finding
    odd = disagreements(regions, {"nose": 1.6, "mouth": 1.7, "chin": 0.5, "brows": 2.0})
    assert [(d["region"], d["cam_per_area"]) for d in odd] == [("nose", 1.6), ("chin", 0.5)]


def test_strip_names_say_where_the_template_landmarks_fall():
    assert strip_edges() == pytest.approx(np.arange(8) / 7)
    names = strip_names(DEFAULT_TEMPLATE)
    # The eyes (0.29-0.30) lie just below the edge at 2/7 = 0.286 and the mouth (0.72) just below 5/7 = 0.714: cut.
    assert names == ["0-14 %", "14-29 %", "29-43 % eyes*, ears", "43-57 % nose tip", "57-71 %", "71-86 % mouth*",
                     "86-100 %"]
    assert not any(word in " ".join(names) for word in ("forehead", "brows", "upper lip", "chin"))
    # A template with its landmarks in the middle of strips cuts none of them.
    centred = ((0.3, 3.5 / 7), (0.7, 3.5 / 7), (0.5, 4.5 / 7), (0.5, 5.5 / 7), (0.1, 3.5 / 7), (0.9, 3.5 / 7))
    assert strip_landmarks(centred) == [[], [], [], ["eyes", "ears"], ["nose tip"], ["mouth"], []]
