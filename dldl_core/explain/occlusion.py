"""Occlusion sensitivity: fill part of the face with a flat colour and watch the distribution move.

Three protocols share one batched core (``occlude`` + ``readout``): a sliding window (maps of the change in
expected age and of KL(p || p_occluded)), named face regions (one forward for all of them), and the paper's
protocol of seven 32-pixel strips of the aligned 224-pixel face (scaled to the network input), with flips.
The default fill is the normalisation mean, the data's mean colour, which is 0 in the normalised input.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from dldl_core.explain.fills import Fill, hide
from dldl_core.explain.forward import readout
from dldl_core.maths import labels

PAPER_FACE_SIZE, PAPER_STRIP = 224, 32  # the paper's aligned face and strip width, in pixels


def window_boxes(size: int, patch: int, stride: int) -> np.ndarray:
    """(N, 4) windows (y0, x0, y1, x1) of side ``patch`` every ``stride`` pixels; the last row and column are
    flush with the edge so every pixel is covered."""
    if not 0 < patch <= size or stride <= 0:
        raise ValueError(f"need 0 < patch <= {size} and stride > 0, got patch {patch}, stride {stride}")
    starts = list(range(0, size - patch + 1, stride))
    if starts[-1] != size - patch:
        starts.append(size - patch)
    return np.array([(y, x, y + patch, x + patch) for y in starts for x in starts], dtype=np.int64)


def box_masks(boxes: np.ndarray, size: int) -> torch.Tensor:
    """(N, 4) boxes -> (N, S, S) float masks, 1 inside each box."""
    masks = torch.zeros(len(boxes), size, size)
    for m, (y0, x0, y1, x1) in zip(masks, boxes.tolist()):
        m[y0:y1, x0:x1] = 1.0
    return masks


def occlude(x: torch.Tensor, masks: torch.Tensor, fill: Fill = None) -> torch.Tensor:
    """(1, 3, S, S) input and (N, S, S) masks in [0, 1] -> (N, 3, S, S) copies with the masked part replaced by
    ``fill`` (see ``dldl_core.explain.fills``; None is the data's mean colour)."""
    return hide(x, masks, fill)


def coverage_average(values: torch.Tensor, masks: torch.Tensor) -> np.ndarray:
    """(N,) values and (N, S, S) masks -> (S, S) mean value of the masks covering each pixel (0 if none)."""
    masks = masks.float()
    total = torch.einsum("n,nhw->hw", values.float(), masks)
    count = masks.sum(0)
    return torch.where(count > 0, total / count.clamp_min(1e-9), torch.zeros_like(total)).numpy()


@dataclass
class OcclusionMaps:
    """Sliding-window occlusion maps at the network input's resolution."""

    age: np.ndarray  # (S, S) mean change of the expected age, in years, over the windows covering each pixel
    kl: np.ndarray  # (S, S) mean KL(p || p_occluded), in nats
    base_age: float  # the expected age without occlusion
    patch: int  # window side, input pixels
    stride: int  # window step, input pixels


def sliding_window_occlusion(model: nn.Module, x: torch.Tensor, patch: int | None = None, stride: int | None = None,
                             fill: torch.Tensor | None = None, batch_size: int = 64) -> OcclusionMaps:
    """Occlusion maps of one face.

    Args:
        model: the age network.
        x: (1, 3, S, S) normalised input.
        patch: window side in input pixels; default S // 6 (a sixth of the face, about an eye).
        stride: window step; default three fifths of the patch (neighbouring windows overlap by two fifths): 10 x 10
            windows at 64, 128, 160 and 224 px (9 x 9 at 96), the 160 px network's CAM grid, a forward pass each.
        fill: (3,) normalised fill colour; default the data's mean colour.
        batch_size: occluded copies per forward.
    """
    size = x.shape[-1]
    patch = patch or max(size // 6, 1)
    stride = stride or max(round(patch * 3 / 5), 1)
    masks = box_masks(window_boxes(size, patch, stride), size)  # (N, S, S)
    base_age, base_lp = readout(model, x)
    ages, log_probs = readout(model, occlude(x, masks, fill), batch_size)
    kl = labels.kl_divergence(base_lp.exp().expand_as(log_probs), log_probs)  # (N,)
    return OcclusionMaps(coverage_average(ages - base_age, masks), coverage_average(kl, masks),
                         float(base_age[0]), patch, stride)


def region_occlusion(model: nn.Module, x: torch.Tensor, masks: np.ndarray | torch.Tensor, names: tuple[str, ...],
                     fill: torch.Tensor | None = None) -> dict[str, float]:
    """Change of the expected age, in years, when each region is filled: one forward for all regions.

    Args:
        model: the age network.
        x: (1, 3, S, S) normalised input.
        masks: (R, S, S) region masks at the input's resolution (soft masks are blended).
        names: the R region names.
        fill: (3,) normalised fill colour; default the data's mean colour.
    """
    masks = torch.as_tensor(masks, dtype=torch.float32)
    if masks.shape[0] != len(names) or masks.shape[-1] != x.shape[-1]:
        raise ValueError(f"{masks.shape[0]} masks of side {masks.shape[-1]} for {len(names)} names and an input of "
                         f"side {x.shape[-1]}")
    batch = torch.cat([x, occlude(x, masks, fill)])  # (R + 1, 3, S, S)
    ages, _ = readout(model, batch, batch_size=len(batch))
    return {name: float(ages[i + 1] - ages[0]) for i, name in enumerate(names)}


def strip_masks(size: int, orientation: str = "horizontal", strips: int = PAPER_FACE_SIZE // PAPER_STRIP
                ) -> torch.Tensor:
    """(strips, S, S) masks of the paper's protocol: strips of 32/224 of the side, tiling the face top to bottom
    (``horizontal``) or left to right (``vertical``)."""
    if orientation not in ("horizontal", "vertical"):
        raise ValueError(f"orientation is horizontal or vertical, got {orientation!r}")
    edges = np.round(np.linspace(0, size, strips + 1)).astype(int)
    masks = torch.zeros(strips, size, size)
    for m, (a, b) in zip(masks, itertools.pairwise(edges)):
        if orientation == "horizontal":
            m[a:b, :] = 1.0
        else:
            m[:, a:b] = 1.0
    return masks


def strip_occlusion(model: nn.Module, x: torch.Tensor, orientation: str = "horizontal", flip: bool = True,
                    fill: torch.Tensor | None = None, batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """The paper's strip protocol on a batch of faces.

    Args:
        model: the age network.
        x: (B, 3, S, S) normalised inputs.
        orientation: ``horizontal`` (forehead ... chin) or ``vertical`` strips.
        flip: average each estimate with that of the mirrored (occluded) image, as at test time.
        fill: (3,) normalised fill colour; default the data's mean colour.
        batch_size: images per forward.

    Returns:
        (B,) ages without occlusion and (B, strips) ages with each strip filled.
    """
    masks = strip_masks(x.shape[-1], orientation)  # (T, S, S)
    n = masks.shape[0]
    copies = torch.cat([x] + [occlude(xi.unsqueeze(0), masks, fill) for xi in x])  # (B + B*T, 3, S, S)
    if flip:
        copies = torch.cat([copies, copies.flip(-1)])
    ages, _ = readout(model, copies, batch_size)
    if flip:
        ages = (ages[:len(ages) // 2] + ages[len(ages) // 2:]) / 2
    b = x.shape[0]
    return ages[:b].numpy(), ages[b:].reshape(b, n).numpy()
