"""Training: Adam as the official recipe, bf16 autocast + channels_last, resumable checkpoints, DDP via torchrun.

Outputs next to ``--out weights/NAME.safetensors``: the best-on-val weights and their sidecar, ``NAME.log.jsonl``
(one line per epoch: loss terms, val MAE, learning rate, images/s) and ``NAME.ckpt.pt`` (the state to resume from).
"""
from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from dldl_core.data.augment import AugmentConfig, augment_batch
from dldl_core.data.datasets import FaceDataset, build_cache, default_cache_dir, read_manifest
from dldl_core.maths import metrics
from dldl_core.models.networks import ARCH_ALIASES, AgeNet, ModelConfig
from dldl_core.models.objectives import get_objective
from dldl_core.models.preprocess import Preprocess
from dldl_core.models.weights import load_weights, save_weights
from dldl_core.pipeline.inference import autocast_for, estimate, pick_device

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    data: str  # image folder
    manifest: str  # CSV manifest with a split column (train / val) or without one (all train)
    out: str  # weights path (.safetensors); log and checkpoint go next to it
    arch: str = "tiny_age_net"
    objective: str = "dldl_v2"
    lam: float = 1.0  # weight of the expectation L1 term
    kl_only_epochs: int = 0  # the paper's first stage: this many epochs with lambda 0 (KL alone), then lambda
    sigma: float = 2.0  # label std where the manifest gives none
    input_size: int = 128
    epochs: int = 60
    batch_size: int = 128
    lr: float = 1e-3  # Adam, as the official recipe
    weight_decay: float = 1e-4
    schedule: str = "cosine"  # "cosine" (with warm-up) or "step" (x0.1 every 30 epochs, the official recipe)
    warmup_epochs: int = 2
    min_age: float = 0.0
    max_age: float = 116.0  # UTKFace runs to 116
    train_split: str = "train"
    val_split: str = "val"
    limit: int | None = None  # use only the first N training samples (smoke tests)
    init: str | None = None  # start from these weights (e.g. fine-tuning at a larger input size)
    ema: float = 0.0  # decay of an exponential moving average of the weights, validated and saved instead; 0: off
    keep: str = "best"  # which epoch's network the weights file holds: "best" on val, or the "last"
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    seed: int = 0
    device: str = "auto"
    amp: bool | None = None  # bf16 autocast; None: where the hardware makes it fast
    cache: bool = True  # decoded uint8 cache
    cache_dir: str | None = None
    workers: int = 0
    progress: bool = True
    template: tuple[tuple[float, float], ...] | None = None  # alignment template to store in the sidecar

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def out_paths(out: str | os.PathLike) -> dict[str, Path]:
    out = Path(out)
    stem = out.with_suffix("")
    return {"weights": out, "log": Path(f"{stem}.log.jsonl"), "checkpoint": Path(f"{stem}.ckpt.pt")}


def _distributed() -> tuple[int, int]:
    """(rank, world size); initialises the process group when started by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


def _lr_factor(config: TrainConfig, epoch_progress: float) -> float:
    if config.schedule == "step":
        return 0.1 ** int(epoch_progress // 30)
    if epoch_progress < config.warmup_epochs:
        return max(epoch_progress / max(config.warmup_epochs, 1e-9), 0.01)
    t = (epoch_progress - config.warmup_epochs) / max(config.epochs - config.warmup_epochs, 1e-9)
    return 0.5 * (1 + math.cos(math.pi * min(t, 1.0)))


def _dataset(config: TrainConfig, split: str | None, preprocess: Preprocess, limit: int | None) -> FaceDataset | None:
    manifest = read_manifest(config.manifest, config.data)
    has_split = any(s.split for s in manifest.samples)
    samples = manifest.split(split if has_split else None).samples if split else []
    if split == config.val_split and not has_split:
        samples = []
    samples = samples[:limit] if limit else samples
    if not samples:
        return None
    ds = FaceDataset(config.data, samples, preprocess.input_size, config.sigma)
    if config.cache:
        distributed = dist.is_available() and dist.is_initialized()
        if distributed and dist.get_rank() != 0:
            dist.barrier()  # rank 0 decodes the cache; the others then map the finished file
        ds.cache = build_cache(ds, config.cache_dir or default_cache_dir(), progress=config.progress)
        if distributed and dist.get_rank() == 0:
            dist.barrier()
    return ds


def training_template(dataset: FaceDataset, count: int = 600, seed: int = 0
                      ) -> tuple[tuple[tuple[float, float], ...] | None, int]:
    """The alignment template measured on the training chips themselves (median detector keypoints of ``count``
    random chips) and the chips' size; (None, size) when no face is found in them (then the default is used)."""
    from dldl_core.assets import DETECTOR_MODEL
    from dldl_core.data.images import ImageError, load_rgb
    from dldl_core.pipeline.face import FaceDetector, derive_template

    rng = np.random.default_rng(seed)
    picks = rng.choice(len(dataset), size=min(count, len(dataset)), replace=False)
    chips = []
    for i in picks:
        try:
            chips.append(load_rgb(dataset.image_dir / dataset.samples[i].file))
        except ImageError:
            continue
    chip_size = int(np.median([c.shape[1] for c in chips])) if chips else 200
    try:
        with FaceDetector(model_path=DETECTOR_MODEL) as detector:
            return derive_template(chips, detector), chip_size
    except ValueError:
        return None, chip_size


def evaluate_dataset(model: AgeNet, dataset: FaceDataset, preprocess: Preprocess, objective: str,
                     batch_size: int = 256, tta: bool = True, amp: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Predicted and true ages over a dataset of aligned chips."""
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False)
    preds, trues = [], []
    model.eval()
    for images, ages, _ in loader:
        preds.append(estimate(model, images, preprocess, objective, tta=tta, amp=amp).age.cpu())
        trues.append(ages)
    return torch.cat(preds).numpy(), torch.cat(trues).numpy()


def train(config: TrainConfig, resume: bool = False) -> Path:
    """Train, validate every epoch, keep the best-on-val weights; returns the weights path."""
    rank, world = _distributed()
    device = pick_device(config.device)
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
    torch.manual_seed(config.seed + rank)
    random.seed(config.seed + rank)
    np.random.seed(config.seed + rank)
    paths = out_paths(config.out)
    paths["weights"].parent.mkdir(parents=True, exist_ok=True)

    objective = get_objective(config.objective, lam=config.lam)
    preprocess = Preprocess(input_size=config.input_size, template=config.template)
    model_config = ModelConfig(arch=ARCH_ALIASES.get(config.arch, config.arch), min_age=config.min_age,
                               max_age=config.max_age, num_bins=int(config.max_age - config.min_age) + 1,
                               head=objective.head)
    model = AgeNet(model_config).to(device).to(memory_format=torch.channels_last)
    train_set = _dataset(config, config.train_split, preprocess, config.limit)
    if train_set is None:
        raise ValueError(f"{config.manifest}: no usable training rows (split {config.train_split!r})")
    val_set = _dataset(config, config.val_split, preprocess, None)
    if preprocess.template is None and rank == 0:
        template, chip_size = training_template(train_set)
        preprocess = dataclasses.replace(preprocess, template=template, chip_size=chip_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    start_epoch, best_mae, history = 0, math.inf, []
    if config.init:
        model.load_state_dict(load_weights(config.init).model.state_dict())
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(config.ema), use_buffers=True) if config.ema else None
    if resume and paths["checkpoint"].is_file():
        state = torch.load(paths["checkpoint"], map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if ema is not None and "ema" in state:
            ema.load_state_dict(state["ema"])
        start_epoch, best_mae = state["epoch"], state["best_mae"]
        torch.set_rng_state(state["rng"])
        history = [json.loads(l) for l in paths["log"].read_text().splitlines()] if paths["log"].is_file() else []
        history = history[:start_epoch]
        log.info("resumed from epoch %d (best val MAE %.3f)", start_epoch, best_mae)
    elif paths["log"].exists() and rank == 0:
        paths["log"].unlink()

    net = DistributedDataParallel(model) if world > 1 else model
    sampler = DistributedSampler(train_set, shuffle=True, seed=config.seed) if world > 1 else None
    loader = DataLoader(train_set, batch_size=config.batch_size, shuffle=sampler is None, sampler=sampler,
                        drop_last=len(train_set) > config.batch_size * world, num_workers=config.workers,
                        persistent_workers=config.workers > 0)
    support = model.support
    steps_per_epoch = len(loader)
    for epoch in range(start_epoch, config.epochs):
        if sampler is not None:
            sampler.set_epoch(epoch)
        net.train()
        objective.lam = 0.0 if epoch < config.kl_only_epochs else config.lam
        sums: dict[str, float] = {}
        seen, t0 = 0, time.perf_counter()
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{config.epochs}", disable=not config.progress or rank != 0,
                   leave=False)
        for step, (images, ages, sigmas) in enumerate(bar):
            for group in optimizer.param_groups:
                group["lr"] = config.lr * _lr_factor(config, epoch + step / steps_per_epoch)
            images, ages, sigmas = images.to(device), ages.to(device), sigmas.to(device)
            x = preprocess.normalize(augment_batch(images.float() / 255.0, config.augment))
            with autocast_for(device, config.amp):
                features = model.forward_features(x) if world == 1 else None
                output = model.forward_head(features) if world == 1 else net(x)
            terms = objective.loss(output.float(), ages, sigmas, support,
                                   features.float() if features is not None else None)
            optimizer.zero_grad(set_to_none=True)
            terms["total"].backward()
            optimizer.step()
            if ema is not None:
                ema.update_parameters(model)
            n = images.shape[0]
            seen += n
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach()) * n
            bar.set_postfix(loss=f"{sums['total'] / seen:.3f}")
        elapsed = time.perf_counter() - t0
        record: dict[str, Any] = {"epoch": epoch + 1, **{k: v / seen for k, v in sums.items()},
                                  "lr": optimizer.param_groups[0]["lr"], "train_img_per_s": seen * world / elapsed,
                                  "epoch_s": elapsed}
        if rank == 0:
            kept = ema.module if ema is not None else model  # the network that is validated and saved
            if val_set is not None:
                pred, true = evaluate_dataset(kept, val_set, preprocess, objective, amp=config.amp)
                record.update(val_mae=metrics.mae(pred, true), val_cs5=metrics.cs_at(pred, true, 5))
            score = record.get("val_mae", record["total"])
            improved = score < best_mae
            if improved:
                best_mae = score
            if improved or config.keep == "last":
                save_weights(kept, paths["weights"], preprocess, config.objective,
                             {"recipe": {**config.to_dict(), "best_epoch": epoch + 1},
                              "metrics": {"val_mae_chip_tta": record.get("val_mae"),
                                          "val_cs5_chip_tta": record.get("val_cs5")}})
            record["best"] = improved
            history.append(record)
            with open(paths["log"], "a") as f:
                f.write(json.dumps(record) + "\n")
            ckpt_tmp = paths["checkpoint"].with_suffix(".tmp")
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch + 1,
                        "best_mae": best_mae, "rng": torch.get_rng_state(),
                        **({"ema": ema.state_dict()} if ema is not None else {})}, ckpt_tmp)
            os.replace(ckpt_tmp, paths["checkpoint"])
            msg = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in record.items())
            tqdm.write(msg)
    if world > 1:
        dist.barrier()
    return paths["weights"]
