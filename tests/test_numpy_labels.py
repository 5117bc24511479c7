"""The numpy read-outs are the torch ones (dldl_core.maths.labels) on any distribution."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dldl_core.maths import labels, numpy_labels


def distributions(seed: int) -> np.ndarray:
    """(B, K) distributions from flat to one-hot, on a 117-bin support."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(6, 117)) * np.array([0.01, 0.5, 2, 8, 30, 300])[:, None]
    p = np.exp(logits - logits.max(1, keepdims=True))
    return (p / p.sum(1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("seed", range(5))
def test_the_numpy_read_outs_are_the_torch_ones(seed):
    p = distributions(seed)
    support = np.arange(117, dtype=np.float32)
    tp, ts = torch.from_numpy(p), torch.from_numpy(support)
    np.testing.assert_allclose(numpy_labels.expectation(p, support), labels.expectation(tp, ts).numpy(), atol=1e-4)
    np.testing.assert_allclose(numpy_labels.variance(p, support), labels.variance(tp, ts).numpy(), rtol=1e-4,
                               atol=1e-2)
    np.testing.assert_allclose(numpy_labels.standard_deviation(p, support),
                               labels.standard_deviation(tp, ts).numpy(), atol=1e-3)
    np.testing.assert_allclose(numpy_labels.standard_deviation(p, support),
                               np.sqrt(np.clip(numpy_labels.variance(p, support), 0, None)))
    for q in (0.0, 0.05, 0.5, 0.95, 1.0):
        np.testing.assert_allclose(numpy_labels.quantile(p, support, q), labels.quantile(tp, ts, q).numpy(), atol=1e-4)
    np.testing.assert_allclose(numpy_labels.interval(p, support, 0.9), labels.interval(tp, ts, 0.9).numpy(),
                               atol=1e-4)


def test_a_quantile_outside_0_1_is_refused():
    with pytest.raises(ValueError):
        numpy_labels.quantile(np.ones((1, 3)) / 3, np.arange(3.0), 1.5)


def test_the_numpy_bin_edges_are_the_torch_ones():
    support = np.array([0.0, 1.0, 3.0, 4.0])
    np.testing.assert_allclose(numpy_labels.bin_edges(support), labels.bin_edges(torch.from_numpy(support)).numpy())
