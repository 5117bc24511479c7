"""What replaces a hidden part of the face: the fill of every occlusion and perturbation measure.

A fill decides what a removal test measures. A flat colour leaves a patchwork the network never saw in training: for
the shipped network a face filled entirely with the data's mean colour reads 37 years whatever the face, and hiding
half of it in random blobs moves 36 % of val faces by more than 15 years (14 % with the blur;
benchmarks/fill_effects.py), so curves built on it partly measure the reaction to patchwork. Two fills stay nearer
to the data:

- ``blur``: the hidden pixels come from a strong Gaussian blur of the same face (sigma ``BLUR_SIGMA_SHARE`` of the
  side): colour, shading and layout stay, the detail (wrinkles, texture, the shape of the eyes) goes;
- ``road``: noisy linear imputation (Rong et al. 2022, ROAD), each hidden pixel the weighted mean of its
  neighbours plus a little noise (the equations of pytorch-grad-cam's ``NoisyLinearImputer``), one sparse solve per
  mask; it removes the mask's shape as a cue;
- ``mean``: the data's mean colour (0 in the normalised input), the classic choice, kept to show how it differs.

Every function takes and returns normalised network inputs.
"""
from __future__ import annotations

import numpy as np
import torch
from torchvision.transforms.functional import gaussian_blur

from dldl_core.explain.methods import DEFAULT_FILL, FILLS

BLUR_SIGMA_SHARE = 0.05  # blur sigma as a share of the input side: 3.2 px at 64 px, 11 px at 224 px
ROAD_NOISE = 0.01  # ROAD's default imputation noise, in normalised units
# ROAD's neighbour weights ((row offset, column offset), weight): 1/6 for the four edge neighbours, 1/12 diagonally.
NEIGHBOUR_WEIGHTS = tuple(((dr, dc), 1 / 12 if dr and dc else 1 / 6)
                          for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc)

Fill = str | torch.Tensor | None  # a name of FILLS, a (3,) normalised colour, or None (the data's mean colour)


def fill_name(fill: Fill) -> str:
    """The name of a fill (``colour`` for an explicit colour); raises ValueError for an unknown name."""
    if fill is None:
        return "mean"
    if isinstance(fill, torch.Tensor):
        return "colour"
    if fill not in FILLS:
        raise ValueError(f"unknown fill {fill!r}; choose one of {', '.join(FILLS)}")
    return fill


def blurred(x: torch.Tensor, sigma_share: float = BLUR_SIGMA_SHARE) -> torch.Tensor:
    """(B, 3, S, S) -> the same faces under a Gaussian blur of sigma ``sigma_share`` x S (reflected borders)."""
    sigma = max(sigma_share * x.shape[-1], 0.5)
    kernel = 2 * int(3 * sigma) + 1
    return gaussian_blur(x.float(), [kernel, kernel], [sigma, sigma]).to(x.dtype)


def impute_linear(image: np.ndarray, hidden: np.ndarray, noise: float = ROAD_NOISE,
                  rng: np.random.Generator | None = None) -> np.ndarray:
    """ROAD's noisy linear imputation of one image: each hidden pixel is the weighted mean of its eight neighbours
    (``NEIGHBOUR_WEIGHTS``, renormalised at the border), solved jointly for all hidden pixels, plus Gaussian noise.

    The equations are those of pytorch-grad-cam's ``NoisyLinearImputer``; the system is assembled with vectorised
    numpy instead of its per-entry ``lil_matrix`` writes: on a 64 px image with half its pixels hidden, 18 ms
    against 46 ms (2 CPU cores), the same values to 1e-6 (tests/test_explain_fills.py).

    Args:
        image: (C, H, W) float image.
        hidden: (H, W) bool, True where the pixel is imputed.
        noise: standard deviation of the added noise.
        rng: the noise's generator (default seeded with 0).
    """
    from scipy.sparse import csc_matrix
    from scipy.sparse.linalg import spsolve

    channels, h, w = image.shape
    flat, hidden_flat = image.reshape(channels, -1).astype(np.float64), hidden.ravel()
    index = np.flatnonzero(hidden_flat)
    if index.size == 0:
        return image.copy()
    unknown = np.full(h * w, -1)
    unknown[index] = np.arange(index.size)
    row, col = np.divmod(index, w)
    diagonal, rhs = np.zeros(index.size), np.zeros((index.size, channels))
    rows, cols, values = [], [], []
    for (dr, dc), weight in NEIGHBOUR_WEIGHTS:
        r, c = row + dr, col + dc
        inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
        eq, neighbour = np.flatnonzero(inside), r[inside] * w + c[inside]
        diagonal[eq] += weight  # the weights of the neighbours that exist
        free = hidden_flat[neighbour]
        rows.append(eq[free])
        cols.append(unknown[neighbour[free]])
        values.append(np.full(int(free.sum()), weight))
        rhs[eq[~free]] -= weight * flat[:, neighbour[~free]].T
    rows.append(np.arange(index.size))
    cols.append(np.arange(index.size))
    values.append(-diagonal)
    system = csc_matrix((np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
                        shape=(index.size, index.size))
    solved = spsolve(system, rhs).reshape(index.size, channels)
    rng = rng or np.random.default_rng(0)
    out = flat.copy()
    out[:, index] = solved.T + noise * rng.standard_normal((channels, index.size))
    return out.reshape(image.shape).astype(image.dtype)


def imputed(x: torch.Tensor, masks: torch.Tensor, noise: float = ROAD_NOISE, seed: int = 0) -> torch.Tensor:
    """(1, 3, S, S) input and (N, S, S) binary masks (1 = hide) -> (N, 3, S, S) copies whose hidden pixels are
    imputed from their neighbours (``impute_linear``; seeded, so the same call gives the same copies)."""
    image = x[0].detach().float().cpu().numpy()
    rng = np.random.default_rng(seed)
    copies = [impute_linear(image, m.numpy() >= 0.5, noise, rng) for m in masks.detach().float().cpu()]
    return torch.from_numpy(np.stack(copies)).to(x.device, x.dtype)


def hide(x: torch.Tensor, masks: torch.Tensor, fill: Fill = DEFAULT_FILL, seed: int = 0) -> torch.Tensor:
    """(1, 3, S, S) input and (N, S, S) masks in [0, 1] (1 = hide) -> (N, 3, S, S) copies with the masked part
    replaced by ``fill`` (soft masks blend; ``road`` treats a mask as hidden where it is >= 0.5)."""
    m = masks.to(x.device, x.dtype).unsqueeze(1)  # (N, 1, S, S)
    name = fill_name(fill)
    if name == "road":
        out = imputed(x, (masks >= 0.5).float(), seed=seed)
    elif name == "blur":
        out = x * (1 - m) + blurred(x) * m
    else:
        colour = torch.zeros(3) if fill is None or name == "mean" else fill
        out = x * (1 - m) + colour.to(x.device, x.dtype).reshape(1, 3, 1, 1) * m
    return out.contiguous(memory_format=torch.channels_last)
