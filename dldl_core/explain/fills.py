"""What replaces a hidden part of the face: the fill of every occlusion and perturbation measure.

A fill decides what a removal test measures. A flat colour leaves a patchwork the network never saw in training: a
face filled entirely with the data's mean colour reads about 39 years whatever the face, and half-filled faces jump
by decades, so curves built on it mostly measure the reaction to patchwork. Two fills stay nearer to the data:

- ``blur``: the hidden pixels come from a strong Gaussian blur of the same face (sigma ``BLUR_SIGMA_SHARE`` of the
  side): colour, shading and layout stay, the detail (wrinkles, texture, the shape of the eyes) goes;
- ``road``: noisy linear imputation (Rong et al. 2022, ROAD), each hidden pixel the weighted mean of its
  neighbours plus a little noise, solved per mask with pytorch-grad-cam's ``NoisyLinearImputer``; it removes the
  mask's shape as a cue but needs one sparse solve per mask (about 30x slower than ``blur`` at 64 px);
- ``mean``: the data's mean colour (0 in the normalised input), the classic choice, kept to show how it differs.

Every function takes and returns normalised network inputs.
"""
from __future__ import annotations

import torch
from torchvision.transforms.functional import gaussian_blur

FILLS: dict[str, str] = {  # name -> what the hidden pixels become, for people
    "blur": "a strong blur of the same face",
    "road": "noisy linear imputation from the surrounding pixels (ROAD)",
    "mean": "the training data's mean colour",
}
DEFAULT_FILL = "blur"
BLUR_SIGMA_SHARE = 0.05  # blur sigma as a share of the input side: 3.2 px at 64 px, 11 px at 224 px
ROAD_NOISE = 0.01  # ROAD's default imputation noise, in normalised units

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


def imputed(x: torch.Tensor, masks: torch.Tensor, noise: float = ROAD_NOISE, seed: int = 0) -> torch.Tensor:
    """(1, 3, S, S) input and (N, S, S) binary masks (1 = hide) -> (N, 3, S, S) copies whose hidden pixels are
    imputed from their neighbours (ROAD's noisy linear imputation; seeded, so the same call gives the same copies)."""
    from pytorch_grad_cam.metrics.road import NoisyLinearImputer

    imputer = NoisyLinearImputer(noise=noise)
    image = x[0].detach().float().cpu()
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        copies = [image if not m.any() else imputer(image, (m < 0.5).float()) for m in masks.cpu()]
    finally:
        torch.random.set_rng_state(state)
    return torch.stack(copies).to(x.device, x.dtype)


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
