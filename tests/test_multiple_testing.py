"""Tests of a mean against zero and Holm's correction, against hand-computed values."""
import math

import numpy as np
import pytest
from scipy import stats

from dldl_core.maths.multiple_testing import holm, mean_test


def test_holm_against_a_hand_computed_family():
    # Sorted: 0.005 x 4 = 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 = 0.04 -> running max 0.06.
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_caps_at_one_keeps_order_and_skips_missing_tests():
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])
    adjusted = holm([0.01, np.nan, 0.02])  # m = 2: 0.01 x 2, then 0.02 x 1 -> max(0.02, 0.02)
    assert adjusted[0] == pytest.approx(0.02) and math.isnan(adjusted[1]) and adjusted[2] == pytest.approx(0.02)
    assert holm([]).shape == (0,) and math.isnan(holm([np.nan])[0])
    p = np.random.default_rng(0).uniform(size=20)
    adjusted = holm(p)
    assert (adjusted >= p).all() and (np.diff(adjusted[np.argsort(p)]) >= 0).all()


def test_mean_test_matches_scipy_and_a_hand_computed_interval():
    values = np.array([1.0, 2.0, 4.0, 7.0])  # mean 3.5, sd sqrt(7), se sqrt(7) / 2
    result = mean_test(values)
    assert result.mean == 3.5 and result.se == pytest.approx(math.sqrt(7) / 2)
    assert result.ci95 == pytest.approx(3.182446 * math.sqrt(7) / 2, rel=1e-5)  # t(0.975, 3) = 3.1824
    assert result.p == pytest.approx(stats.ttest_1samp(values, 0).pvalue)


def test_mean_test_edge_cases():
    one = mean_test(np.array([2.0]))
    assert one.mean == 2.0 and math.isnan(one.se) and math.isnan(one.p)
    assert math.isnan(mean_test(np.array([])).mean)
    assert mean_test(np.zeros(5)).p == 1.0 and mean_test(np.full(5, 0.3)).p == 0.0
