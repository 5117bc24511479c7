"""Training: the :class:`Trainer` and its wrapper :func:`train`.

AdamW (the official recipe's Adam with decoupled weight decay) under a per-step schedule (``cosine`` with warm-up,
or the official ``step``), bf16 autocast where it is fast, channels_last, an optional moving average of the weights
(EMA), resumable checkpoints and DDP via torchrun (rank 0 validates, logs and saves).

Outputs next to ``--out weights/NAME.safetensors``: the best-on-val (or last) weights and their sidecar,
``NAME.log.jsonl`` (one line per epoch: loss terms, val MAE and CS@5, learning rate, images/s) and ``NAME.ckpt.pt``
(the state to resume from: :mod:`dldl_core.training.checkpoint`).
"""
from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from dldl_core.data.augment import augment_batch
from dldl_core.data.datasets import FaceDataset, build_cache, default_cache_dir, read_manifest
from dldl_core.maths import metrics
from dldl_core.models.networks import ARCH_ALIASES, AgeNet, ModelConfig
from dldl_core.models.objectives import get_objective
from dldl_core.models.preprocess import Preprocess
from dldl_core.models.weights import load_weights, read_sidecar, resolve, save_weights
from dldl_core.pipeline.inference import autocast_for, estimate, pick_device
from dldl_core.training.checkpoint import Checkpoint, check_config, load_checkpoint, save_checkpoint
from dldl_core.training.config import TrainConfig
from dldl_core.training.rng import gather_rng_states, restore_rng_states, seed_all
from dldl_core.training.run_log import append_record, read_log, rewrite_log
from dldl_core.training.schedule import build_scheduler

__all__ = ["TrainConfig", "Trainer", "epochs_within_budget", "evaluate_dataset", "out_paths", "train",
           "training_template"]

log = logging.getLogger(__name__)
budget_clock = time.perf_counter  # times the first epoch against a run's time budget


def out_paths(out: str | os.PathLike) -> dict[str, Path]:
    """The weights file and, next to it, the run's log and checkpoint."""
    out = Path(out)
    stem = out.with_suffix("")
    return {"weights": out, "log": Path(f"{stem}.log.jsonl"), "checkpoint": Path(f"{stem}.ckpt.pt")}


def _distributed() -> tuple[int, int]:
    """(rank, world size); initialises the process group when started by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


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
        ds.cache = build_cache(ds, config.cache_dir or default_cache_dir(), progress=config.progress,
                               workers=config.workers)
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


def epochs_within_budget(epochs: int, budget_seconds: float, epoch_seconds: float) -> int:
    """The number of epochs (at least 1, at most ``epochs``) that fit in ``budget_seconds`` at ``epoch_seconds``
    each."""
    return max(1, min(epochs, int(budget_seconds // max(epoch_seconds, 1e-9))))


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


class Trainer:
    """One training run: built from a config (and, when resuming, the checkpoint next to its weights), run by
    :meth:`fit`. Each epoch trains on every batch; then rank 0 validates the kept network (the moving average where
    there is one), writes the weights when they improve (every epoch with ``keep="last"``), the checkpoint and the
    epoch's log line."""

    def __init__(self, config: TrainConfig, resume: bool = False, allow_config_change: bool = False) -> None:
        self.config = config
        self.rank, self.world = _distributed()
        self.device = self._pick_device()
        self.paths = out_paths(config.out)
        self.paths["weights"].parent.mkdir(parents=True, exist_ok=True)
        checkpoint = self._checkpoint_to_resume(resume, allow_config_change)  # refuses other options before work
        seed_all(config.seed + self.rank)
        self.objective = get_objective(config.objective, lam=config.lam)
        self.model = self._build_model()
        self.train_set, self.val_set, self.preprocess = self._datasets()
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.ema = (AveragedModel(self.model, multi_avg_fn=get_ema_multi_avg_fn(config.ema), use_buffers=True)
                    if config.ema else None)
        self.start_epoch, self.best_score, self.history = 0, math.inf, []
        if checkpoint is not None:
            self._restore(checkpoint)
            if config.time_budget and checkpoint.config:  # the epochs the budget set when the run began
                self.config = config = dataclasses.replace(config, epochs=min(config.epochs,
                                                                               checkpoint.config["epochs"]))
        elif self.rank == 0:
            self.paths["log"].unlink(missing_ok=True)
        self.net = DistributedDataParallel(self.model) if self.world > 1 else self.model
        self.sampler, self.loader = self._loader()
        steps = len(self.loader)
        self.scheduler = build_scheduler(self.optimizer, config, steps, done_steps=self.start_epoch * steps)
        if checkpoint is not None:  # last, so that nothing above draws from the restored generators
            self._restore_rng(checkpoint)

    def fit(self) -> Path:
        """Train the remaining epochs; returns the weights path."""
        epoch = self.start_epoch
        while epoch < self.config.epochs:
            t0 = budget_clock()
            self.run_epoch(epoch)
            if epoch == 0 and self.config.time_budget:
                self._fit_epochs_to_budget(budget_clock() - t0)
            epoch += 1
        if self.world > 1:
            dist.barrier()
        return self.paths["weights"]

    def run_epoch(self, epoch: int) -> dict[str, Any]:
        """Train epoch ``epoch`` (0-based); then, on rank 0, validate, save and log. Returns its log record."""
        record = self.train_epoch(epoch)
        if self.rank == 0:
            self._validate(record)
        rng = gather_rng_states(self.world)  # every rank's generators as the next epoch will find them
        if self.rank == 0:
            self._save(epoch, record, rng)
        return record

    def train_epoch(self, epoch: int) -> dict[str, Any]:
        """One pass over the training set; its record: mean loss terms, learning rate, images/s."""
        if self.sampler is not None:
            self.sampler.set_epoch(epoch)
        self.net.train()
        self.objective.lam = 0.0 if epoch < self.config.kl_only_epochs else self.config.lam
        sums: dict[str, float] = {}
        seen, lr, t0 = 0, self.optimizer.param_groups[0]["lr"], time.perf_counter()
        bar = tqdm(self.loader, desc=f"epoch {epoch + 1}/{self.config.epochs}", leave=False,
                   disable=not self.config.progress or self.rank != 0)
        for images, ages, sigmas in bar:
            lr = self.optimizer.param_groups[0]["lr"]  # the learning rate of this step
            terms = self._train_step(images.to(self.device), ages.to(self.device), sigmas.to(self.device))
            seen += images.shape[0]
            for name, value in terms.items():
                sums[name] = sums.get(name, 0.0) + float(value.detach()) * images.shape[0]
            bar.set_postfix(loss=f"{sums['total'] / seen:.3f}")
        elapsed = time.perf_counter() - t0
        return {"epoch": epoch + 1, **{k: v / seen for k, v in sums.items()}, "lr": lr,
                "train_img_per_s": seen * self.world / elapsed, "epoch_s": elapsed}

    def _train_step(self, images: torch.Tensor, ages: torch.Tensor, sigmas: torch.Tensor) -> dict[str, torch.Tensor]:
        """One optimizer and scheduler step on a (B, 3, S, S) uint8 batch; the loss terms."""
        x = self.preprocess.normalize(augment_batch(images.float() / 255.0, self.config.augment))
        with autocast_for(self.device, self.config.amp):
            single = self.world == 1  # single-process: the objective may use the pooled features (DDP hides them)
            features = self.model.forward_features(x) if single else None
            output = self.model.forward_head(features) if single else self.net(x)
        terms = self.objective.loss(output.float(), ages, sigmas, self.model.support,
                                    features.float() if features is not None else None)
        self.optimizer.zero_grad(set_to_none=True)
        terms["total"].backward()
        self.optimizer.step()
        self.scheduler.step()
        if self.ema is not None:
            self.ema.update_parameters(self.model)
        return terms

    def _fit_epochs_to_budget(self, epoch_seconds: float) -> None:
        """Lower ``epochs`` to what ``time_budget`` allows at the first epoch's pace; the schedule follows."""
        if self.world > 1:  # every process keeps the same number of epochs: the slowest one's
            slowest = torch.tensor([epoch_seconds], device=self.device)
            dist.all_reduce(slowest, op=dist.ReduceOp.MAX)
            epoch_seconds = float(slowest)
        epochs = epochs_within_budget(self.config.epochs, self.config.time_budget, epoch_seconds)
        if epochs == self.config.epochs:
            return
        tqdm.write(f"time budget {self.config.time_budget:.0f} s at {epoch_seconds:.1f} s an epoch: {epochs} epochs "
                   f"instead of {self.config.epochs}")
        self.config = dataclasses.replace(self.config, epochs=epochs)
        steps = len(self.loader)
        self.scheduler = build_scheduler(self.optimizer, self.config, steps, done_steps=steps)

    def _kept_network(self) -> AgeNet:
        """The network validated and saved: the moving average where there is one."""
        return self.ema.module if self.ema is not None else self.model

    def _validate(self, record: dict[str, Any]) -> None:
        """Add the val MAE and CS@5 of the kept network to ``record`` (rank 0; none without a val split)."""
        if self.val_set is not None:
            pred, true = evaluate_dataset(self._kept_network(), self.val_set, self.preprocess, self.objective,
                                          amp=self.config.amp)
            record.update(val_mae=metrics.mae(pred, true), val_cs5=metrics.cs_at(pred, true, 5))

    def _save(self, epoch: int, record: dict[str, Any], rng: list[dict[str, Any]]) -> None:
        """Rank 0's end of an epoch: the weights when kept, the checkpoint, then the log line."""
        kept = self._kept_network()
        score = record.get("val_mae", record["total"])
        record["best"] = improved = score < self.best_score
        if improved:
            self.best_score = score
        if improved or self.config.keep == "last":
            save_weights(kept, self.paths["weights"], self.preprocess, self.config.objective,
                         {"recipe": {**self.config.to_dict(), "best_epoch": epoch + 1},
                          "metrics": {"val_mae_chip_tta": record.get("val_mae"),
                                      "val_cs5_chip_tta": record.get("val_cs5")}})
        self.history.append(record)
        save_checkpoint(self._checkpoint(epoch + 1, rng), self.paths["checkpoint"])
        append_record(self.paths["log"], record)  # after the checkpoint; a resume rewrites the log from it anyway
        tqdm.write(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in record.items()))

    def _checkpoint(self, epochs_done: int, rng: list[dict[str, Any]]) -> Checkpoint:
        return Checkpoint(epoch=epochs_done, best_score=self.best_score, model=self.model.state_dict(),
                          optimizer=self.optimizer.state_dict(), scheduler=self.scheduler.state_dict(),
                          ema=self.ema.state_dict() if self.ema is not None else None,
                          config=self.config.to_dict(), history=list(self.history), rng=rng)

    def _pick_device(self) -> torch.device:
        device = pick_device(self.config.device)
        if device.type == "cuda" and self.world > 1:
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        return device

    def _checkpoint_to_resume(self, resume: bool, allow_config_change: bool) -> Checkpoint | None:
        path = self.paths["checkpoint"]
        if not (resume and path.is_file()):
            return None
        checkpoint = load_checkpoint(path)
        check_config(checkpoint, self.config, path, allow_config_change)
        return checkpoint

    def _build_model(self) -> AgeNet:
        c = self.config
        model_config = ModelConfig(arch=ARCH_ALIASES.get(c.arch, c.arch), min_age=c.min_age, max_age=c.max_age,
                                   num_bins=int(c.max_age - c.min_age) + 1, head=self.objective.head)
        model = AgeNet(model_config).to(self.device).to(memory_format=torch.channels_last)
        if c.init:
            model.load_state_dict(load_weights(c.init).model.state_dict())
        return model

    def _datasets(self) -> tuple[FaceDataset, FaceDataset | None, Preprocess]:
        """The training and val sets, and the preprocessing with the template measured on the training chips."""
        c = self.config
        preprocess = Preprocess(input_size=c.input_size, template=c.template)
        if c.template is None and c.init:  # fine-tuning keeps the alignment the network learnt (its sidecar's)
            init = Preprocess.from_dict(read_sidecar(resolve(c.init)[0])["preprocess"])
            preprocess = dataclasses.replace(preprocess, template=init.template, chip_size=init.chip_size)
        train_set = _dataset(c, c.train_split, preprocess, c.limit)
        if train_set is None:
            raise ValueError(f"{c.manifest}: no usable training rows (split {c.train_split!r})")
        val_set = _dataset(c, c.val_split, preprocess, None)
        if preprocess.template is None and self.rank == 0:
            template, chip_size = training_template(train_set)
            preprocess = dataclasses.replace(preprocess, template=template, chip_size=chip_size)
        return train_set, val_set, preprocess

    def _loader(self) -> tuple[DistributedSampler | None, DataLoader]:
        c = self.config
        sampler = DistributedSampler(self.train_set, shuffle=True, seed=c.seed) if self.world > 1 else None
        loader = DataLoader(self.train_set, batch_size=c.batch_size, shuffle=sampler is None, sampler=sampler,
                            drop_last=len(self.train_set) > c.batch_size * self.world, num_workers=c.workers,
                            persistent_workers=c.workers > 0)
        return sampler, loader

    def _restore(self, checkpoint: Checkpoint) -> None:
        """Weights, optimizer, EMA, epoch and best score; the log rewritten with the checkpoint's epochs only."""
        self.model.load_state_dict(checkpoint.model)
        self.optimizer.load_state_dict(checkpoint.optimizer)
        if self.ema is not None and checkpoint.ema is not None:
            self.ema.load_state_dict(checkpoint.ema)
        self.start_epoch, self.best_score = checkpoint.epoch, checkpoint.best_score
        if checkpoint.history is not None:
            self.history = list(checkpoint.history)
        else:  # format 1: the log's last record of each epoch the checkpoint holds
            by_epoch = {r["epoch"]: r for r in read_log(self.paths["log"]) if r["epoch"] <= checkpoint.epoch}
            self.history = [by_epoch[e] for e in sorted(by_epoch)]
        if self.rank == 0:
            rewrite_log(self.paths["log"], self.history)
        log.info("resumed from epoch %d (best score %.3f)", checkpoint.epoch, checkpoint.best_score)

    def _restore_rng(self, checkpoint: Checkpoint) -> None:
        if len(checkpoint.rng) == self.world:
            restore_rng_states(checkpoint.rng[self.rank])
        else:
            log.warning("%s was written by %d processes, not %d: the random generators start from the seed",
                        self.paths["checkpoint"], len(checkpoint.rng), self.world)


def train(config: TrainConfig, resume: bool = False, allow_config_change: bool = False) -> Path:
    """Train, validate every epoch, keep the best-on-val (or last) weights; returns the weights path.

    ``resume`` continues from the checkpoint next to ``config.out`` (if there is one); a config that differs from
    the checkpoint's in a field that can change the result raises ValueError unless ``allow_config_change``.
    """
    return Trainer(config, resume=resume, allow_config_change=allow_config_change).fit()
