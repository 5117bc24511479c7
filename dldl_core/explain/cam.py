"""Class-activation maps through pytorch-grad-cam, on the layer named by ``model.CAM_TARGET_LAYER``.

A CAM object registers hooks on the network; ``compute_cam`` creates one per call inside a ``with`` block, so
the hooks are gone when it returns, even on an error, and a network shared between requests never keeps any.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from pytorch_grad_cam import EigenCAM, GradCAM, GradCAMPlusPlus, HiResCAM, LayerCAM, ScoreCAM
from pytorch_grad_cam.base_cam import BaseCAM
from torch import nn

from dldl_core.explain.forward import Bf16Forward
from dldl_core.explain.targets import Target
from dldl_core.models.networks import CAM_TARGET_LAYER


class BatchedScoreCAM(ScoreCAM):
    """ScoreCAM that scores the masked copies of a face in batches of ``batch_size`` with one target call per
    batch (the package's version calls the target once per copy and prints a progress bar); the copies run through
    ``score_network`` (the network itself, or ``Bf16Forward`` of it: forwards only, no gradients)."""

    batch_size = 128
    score_network: nn.Module | None = None  # None: self.model

    def get_cam_weights(self, input_tensor: torch.Tensor, target_layer: nn.Module, targets: list[Target],
                        activations: np.ndarray, grads: np.ndarray | None) -> np.ndarray:
        with torch.no_grad():
            act = torch.from_numpy(activations).to(self.device)  # (B, C, h, w)
            up = F.interpolate(act, size=input_tensor.shape[-2:], mode="bilinear", align_corners=True)  # (B, C, H, W)
            lo = up.amin(dim=(2, 3), keepdim=True)
            hi = up.amax(dim=(2, 3), keepdim=True)
            up = (up - lo) / (hi - lo + 1e-8)
            scores, network = [], self.score_network or self.model
            for target, image, masks in zip(targets, input_tensor, up):
                chunks = [target(network(image.unsqueeze(0) * masks[i:i + self.batch_size, None]))
                          for i in range(0, masks.shape[0], self.batch_size)]
                scores.append(torch.cat(chunks).float())
            return torch.softmax(torch.stack(scores), dim=-1).cpu().numpy()  # (B, C)


# Selectable methods by name; every one shares the package's base (hooks, scaling, release).
CAM_METHODS: dict[str, type[BaseCAM]] = {
    "gradcam": GradCAM,
    "gradcam++": GradCAMPlusPlus,
    "hirescam": HiResCAM,
    "layercam": LayerCAM,
    "eigencam": EigenCAM,
    "scorecam": BatchedScoreCAM,
}


def method_name(name: str) -> str:
    """The registry key of a method name as a user may write it (``GradCAM++``, ``grad-cam-pp``, ``Score-CAM``)."""
    key = name.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    key = key[:-2] + "++" if key.endswith("pp") else key
    if key not in CAM_METHODS:
        raise ValueError(f"unknown CAM method {name!r}; choose one of {', '.join(CAM_METHODS)}")
    return key


def target_layer(model: nn.Module) -> nn.Module:
    """The module the CAM methods hook (``features.last_block``)."""
    owner, _, attr = CAM_TARGET_LAYER.rpartition(".")
    return getattr(model.get_submodule(owner), attr)


def compute_cam(model: nn.Module, x: torch.Tensor, targets: Target | list[Target], method: str = "gradcam",
                bf16: bool = False) -> np.ndarray:
    """(B, 3, S, S) normalised input -> (B, S, S) float32 maps in [0, 1] (each scaled to its own maximum).

    Args:
        model: the age network, in eval mode.
        x: the normalised network input.
        targets: one target for the whole batch or one per image.
        method: a key of ``CAM_METHODS`` (or a spelling ``method_name`` accepts).
        bf16: score Score-CAM's masked copies in bf16 (forwards only, as occlusion); the gradient methods and
            EigenCAM always run in float32.
    """
    cls = CAM_METHODS[method_name(method)]
    targets = targets if isinstance(targets, list) else [targets] * x.shape[0]
    if len(targets) != x.shape[0]:
        raise ValueError(f"{len(targets)} targets for a batch of {x.shape[0]}")
    maps = None
    with torch.enable_grad(), cls(model=model, target_layers=[target_layer(model)]) as cam:
        cam.score_network = Bf16Forward(model) if bf16 else None  # read only by BatchedScoreCAM
        maps = cam(input_tensor=x, targets=targets)
        cam.outputs = None  # drop the graph of the last forward now rather than at garbage collection
    if maps is None:  # the package's __exit__ swallows an IndexError after printing it
        raise RuntimeError(f"{method} failed on an input of shape {tuple(x.shape)}")
    return np.nan_to_num(maps.astype(np.float32, copy=False))
