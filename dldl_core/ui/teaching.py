"""The maths of the Learn page: loss terms of an editable prediction with their gradients, and a short training
that compares KL-only (DLDL) with KL + L1 of the expectation (DLDL-v2) on a few hundred faces.

The formulas live in ``labels`` and ``objectives``; this module only arranges them for teaching.
"""
from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import torch

from dldl_core.data.datasets import read_manifest
from dldl_core.data.images import ImageError, load_rgb
from dldl_core.maths import labels
from dldl_core.models.networks import create_model
from dldl_core.models.objectives import get_objective
from dldl_core.models.preprocess import Preprocess


def editable_distribution(support: torch.Tensor, mean: float, std: float, second_mean: float | None = None,
                          second_weight: float = 0.0) -> torch.Tensor:
    """A predicted distribution a user can shape with four numbers: a Gaussian bump, optionally mixed with a
    second one (``second_weight`` in [0, 1]); bimodal shapes show how KL and the L1 of the expectation disagree.

    Returns:
        (K,) probabilities over ``support``.
    """
    first = labels.gaussian_label_distribution(torch.tensor([mean]), support, std)[0]
    if second_mean is None or second_weight <= 0:
        return first
    second = labels.gaussian_label_distribution(torch.tensor([second_mean]), support, std)[0]
    return (1 - second_weight) * first + second_weight * second


@dataclass(frozen=True)
class LossTerms:
    """Values of the loss terms for one prediction, and each term's gradient at every bin."""

    kl: float
    l1: float  # |E[p_hat] - y|
    cross_entropy: float
    total: float  # KL + lambda * L1, the DLDL-v2 objective
    expectation: float
    gradients: dict[str, np.ndarray]  # term -> (K,)


def loss_terms(prediction: torch.Tensor, age: float, sigma: float, support: torch.Tensor, lam: float = 1.0,
               wrt: Literal["logits", "probabilities"] = "logits") -> LossTerms:
    """Loss terms of a predicted distribution against the Gaussian label distribution of ``age``.

    Args:
        prediction: (K,) predicted probabilities p_hat (strictly positive).
        age: the true age y.
        sigma: std of the label distribution.
        support: (K,) ages l_k.
        lam: weight of the L1 term in the total.
        wrt: gradients with respect to the logits z (p_hat = softmax(z): what back-propagation sends into the
            network) or to the probabilities p_hat themselves.
    """
    support = support.double()
    target = labels.gaussian_label_distribution(torch.tensor([float(age)]), support, sigma)  # (1, K)
    logits = prediction.double().clamp_min(1e-12).log().reshape(1, -1).detach().requires_grad_(True)  # (1, K)
    probs_leaf = torch.softmax(logits, dim=1).detach().requires_grad_(True)

    def terms(log_p: torch.Tensor, p: torch.Tensor) -> dict[str, torch.Tensor]:
        kl = labels.kl_divergence(target, log_p)[0]
        l1 = (labels.expectation(p, support)[0] - age).abs()
        ce = labels.cross_entropy(target, log_p)[0]
        return {"KL": kl, "L1": l1, "cross-entropy": ce, f"KL + {lam:g} L1": kl + lam * l1}

    if wrt == "logits":
        leaf = logits
        values = terms(torch.log_softmax(logits, dim=1), torch.softmax(logits, dim=1))
    elif wrt == "probabilities":
        leaf = probs_leaf
        values = terms(probs_leaf.clamp_min(1e-12).log(), probs_leaf)
    else:
        raise ValueError(f"wrt must be 'logits' or 'probabilities', got {wrt!r}")
    gradients = {}
    for name, value in values.items():
        (grad,) = torch.autograd.grad(value, leaf, retain_graph=True)
        gradients[name] = grad[0].numpy()
    expectation = float(labels.expectation(prediction.double().reshape(1, -1), support)[0])
    kl, l1, ce = (float(values[k].detach()) for k in ("KL", "L1", "cross-entropy"))
    return LossTerms(kl, l1, ce, kl + lam * l1, expectation, gradients)


@dataclass
class FaceSet:
    """Faces for a short training: uint8 images, ages, and which rows are held out for validation."""

    images: torch.Tensor  # (N, 3, S, S) uint8
    ages: torch.Tensor  # (N,) float
    val: torch.Tensor  # (N,) bool

    def __len__(self) -> int:
        return len(self.ages)


def load_face_set(image_dir: str | os.PathLike, manifest: str | os.PathLike, limit: int = 300, input_size: int = 32,
                  val_fraction: float = 0.25, seed: int = 0) -> FaceSet:
    """A random sample of ``limit`` readable faces of a manifest, resized to ``input_size`` as a ``FaceSet`` for a
    short training, of which ``val_fraction`` are held out: drawn from the manifest's val split where it has one,
    else from the sample. (The aligned, labelled faces of the explanations are dldl_core.explain.samples.load_faces.)
    """
    samples = read_manifest(manifest, image_dir).samples
    if not samples:
        raise ValueError(f"{manifest}: no usable rows")
    rng = np.random.default_rng(seed)
    n_val = max(1, int(round(limit * val_fraction)))
    val_rows = [i for i, s in enumerate(samples) if s.split == "val"]
    train_rows = [i for i, s in enumerate(samples) if s.split != "val"]
    if not val_rows or not train_rows:  # no usable split: hold out part of one sample
        train_rows, val_rows = list(range(len(samples))), []
    images, ages, val = [], [], []
    for rows, wanted, is_val in ((val_rows, n_val, True), (train_rows, limit - (n_val if val_rows else 0), False)):
        kept = 0
        for i in rng.permutation(rows) if rows else []:
            if kept >= wanted:
                break
            try:
                rgb = load_rgb(Path(image_dir) / samples[i].file)
            except ImageError:
                continue
            images.append(cv2.resize(rgb, (input_size, input_size), interpolation=cv2.INTER_AREA))
            ages.append(samples[i].age)
            val.append(is_val)
            kept += 1
    if len(images) < 2:
        raise ValueError(f"{manifest}: fewer than 2 readable images")
    held_out = torch.tensor(val)
    if not held_out.any():
        held_out[: min(n_val, len(images) - 1)] = True
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()  # (N, 3, S, S)
    return FaceSet(x, torch.tensor(ages, dtype=torch.float32), held_out)


@dataclass(frozen=True)
class MiniTrainConfig:
    steps: int = 60  # optimisation steps per objective
    batch_size: int = 32
    lr: float = 3e-3  # Adam; higher than the full recipe's 1e-3 because the run is short
    sigma: float = 2.0  # label std
    max_age: float = 116.0  # the support is 0..max_age in 1-year bins (UTKFace runs to 116)
    eval_every: int = 5  # steps between validation passes
    seed: int = 0


def compare_objectives(faces: FaceSet, objectives: Sequence[str] = ("dldl", "dldl_v2"),
                       config: MiniTrainConfig = MiniTrainConfig()) -> Iterator[dict[str, float | str]]:
    """Train one TinyAgeNet per objective from the same initial weights on the same batches, step by step in turn,
    so a page can draw both curves as they grow.

    Yields:
        records ``{"objective", "step", "kl", "l1", "total"}``, with ``"val_mae"`` every ``eval_every`` steps and at
        the last step.
    """
    size = faces.images.shape[-1]
    if size % 32:
        raise ValueError(f"the faces must be a multiple of 32 pixels, got {size}")
    train_idx = torch.nonzero(~faces.val).flatten()
    val_idx = torch.nonzero(faces.val).flatten()
    if len(train_idx) == 0 or len(val_idx) == 0:
        raise ValueError("the faces need both training and validation rows")
    preprocess = Preprocess(input_size=size)
    torch.manual_seed(config.seed)
    initial = create_model("tiny", max_age=config.max_age, num_bins=int(config.max_age) + 1)
    runs = []
    for name in objectives:
        model = create_model("tiny", max_age=config.max_age, num_bins=int(config.max_age) + 1)
        model.load_state_dict(initial.state_dict())
        runs.append((name, get_objective(name), model, torch.optim.Adam(model.parameters(), lr=config.lr)))
    generator = torch.Generator().manual_seed(config.seed)
    sigma = torch.full((config.batch_size,), config.sigma)
    for step in range(1, config.steps + 1):
        batch = train_idx[torch.randint(len(train_idx), (config.batch_size,), generator=generator)]
        x = preprocess.normalize(faces.images[batch])
        flip = torch.rand(len(batch), generator=generator) < 0.5  # the recipe's horizontal flip
        x = torch.where(flip.reshape(-1, 1, 1, 1), x.flip(-1), x)
        ages = faces.ages[batch]
        for name, objective, model, optimizer in runs:
            model.train()
            terms = objective.loss(model(x), ages, sigma[: len(batch)], model.support)
            optimizer.zero_grad(set_to_none=True)
            terms["total"].backward()
            optimizer.step()
            record: dict[str, float | str] = {"objective": name, "step": step,
                                              **{k: float(v.detach()) for k, v in terms.items()}}
            if step % config.eval_every == 0 or step == config.steps:
                record["val_mae"] = validation_mae(model, faces, val_idx, preprocess, objective)
            yield record


@torch.inference_mode()
def validation_mae(model: torch.nn.Module, faces: FaceSet, index: torch.Tensor, preprocess: Preprocess,
                   objective) -> float:
    """MAE of the expectation on the rows ``index`` (no flip-TTA: the run is about the objectives)."""
    model.eval()
    ages = []
    for chunk in index.split(256):
        out = model(preprocess.normalize(faces.images[chunk]))
        ages.append(objective.readout(out, model.support).age)
    return float((torch.cat(ages) - faces.ages[index]).abs().mean())
