"""The two age groupings: the model card's bands and the paper's stages, on their boundaries and off their range."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from dldl_core.maths import metrics
from dldl_core.maths.age_groups import AGE_BANDS, AGE_STAGES, age_band, age_group, age_stage, group_names


def test_the_groupings_are_the_model_cards_and_the_papers():
    assert group_names(AGE_BANDS) == ["0-12", "13-19", "20-39", "40-59", "60-79", "80+"]
    assert group_names(AGE_STAGES) == ["0-3", "4-12", "13-19", "20-39", "40-59", "60+"]


@pytest.mark.parametrize("groups", [AGE_BANDS, AGE_STAGES], ids=["bands", "stages"])
def test_each_grouping_covers_every_age_from_zero_without_gaps(groups):
    assert groups[0][1] == 0 and groups[-1][2] == math.inf
    assert all(prev[2] == nxt[1] for prev, nxt in itertools.pairwise(groups))


@pytest.mark.parametrize("age, band, stage", [(0, "0-12", "0-3"), (3.9, "0-12", "0-3"), (4, "0-12", "4-12"),
                                              (12, "0-12", "4-12"), (12.99, "0-12", "4-12"), (13, "13-19", "13-19"),
                                              (19.5, "13-19", "13-19"), (20, "20-39", "20-39"),
                                              (39.5, "20-39", "20-39"), (40, "40-59", "40-59"),
                                              (59.9, "40-59", "40-59"), (60, "60-79", "60+"), (79.9, "60-79", "60+"),
                                              (80, "80+", "60+"), (116, "80+", "60+")])
def test_bands_and_stages_agree_on_their_shared_boundaries(age, band, stage):
    assert age_band(age) == band and age_stage(age) == stage
    assert age_band(np.float32(age)) == band  # numpy scalars, as the metrics pass them


@pytest.mark.parametrize("age", [-1, -0.01, math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("grouping", [age_band, age_stage])
def test_negative_and_non_finite_ages_are_refused(grouping, age):
    with pytest.raises(ValueError, match="not a finite age"):
        grouping(age)


def test_an_age_outside_a_partial_grouping_is_refused():
    with pytest.raises(ValueError, match="none of the groups"):
        age_group(30, (("0-12", 0, 13),))


def test_per_band_uses_the_bands_and_refuses_a_negative_true_age():
    table = metrics.per_band(np.array([10.0, 30.0]), np.array([12.0, 85.0]))
    assert list(table) == group_names(AGE_BANDS)
    assert table["0-12"] == {"n": 1, "mae": 2.0, "bias": -2.0} and table["80+"]["n"] == 1
    assert table["13-19"] == {"n": 0, "mae": None, "bias": None}
    with pytest.raises(ValueError):
        metrics.per_band(np.array([10.0]), np.array([-1.0]))
