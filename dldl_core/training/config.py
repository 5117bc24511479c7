"""The training configuration: one frozen dataclass, each field with its command-line help.

``dldl train`` builds its options from these fields (``dldl_core.training.cli_options``), so a field, its default
and its help are written once. The module imports no torch: the command line declares its options without it.
"""
from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dldl_core.data.augment import AugmentConfig


class RegistryNames:
    """The names of a registry in a module that imports torch, read on first use (a lazy ``choices``)."""

    def __init__(self, module: str, attribute: str) -> None:
        self.module, self.attribute = module, attribute

    def __iter__(self) -> Iterator[str]:
        return iter(getattr(importlib.import_module(self.module), self.attribute))

    def __contains__(self, name: object) -> bool:
        return name in tuple(self)


def _paper_augment() -> AugmentConfig:
    from dldl_core.data.augment import AugmentConfig

    return AugmentConfig()


def _augment_preset(name: str) -> AugmentConfig:
    from dldl_core.data.augment import augment_preset

    return augment_preset(name)


def _option(help_text: str, **cli: Any) -> dict[str, Any]:
    """Field metadata: the option's help and, optionally, ``choices``, ``metavar``, ``cli_default`` (the option's
    default where it differs from the field's), ``from_cli`` (turns the option's value into the field's) and
    ``cli=False`` (no option)."""
    return {"help": help_text, **cli}


OBJECTIVE_HELP = ("training objective, one of %(choices)s; dldl_v2 (the paper's) is the KL divergence to the "
                  "Gaussian label distribution + lambda x L1 of the expected age, dldl the KL alone")
AUGMENT_HELP = ("augmentation preset, one of %(choices)s. paper: the DLDL-v2 recipe; light: half its rotation, shift, "
                "rescale and colour jitter; wild: the paper's plus roll, perspective, light, occluders, blur, "
                "low resolution, JPEG; wild_light: the paper's rotation, lighter jitter, about half of wild's "
                "real-photo operations; wild_resample: wild_light with wider rescale and shift and frequent mild "
                "down-and-up resizing; wild_night: wild_light with dim, grainy exposures; wild_eyewear: wild_night "
                "with glasses and more occluders; wild_hands: wild_eyewear with hands in the face's skin colour")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run; stored in its checkpoint and in the weights' sidecar."""

    data: str = field(metadata=_option("image folder"))
    manifest: str = field(metadata=_option("CSV with file,age[,sigma][,split]; without a split column every row "
                                           "trains"))
    out: str = field(metadata=_option("weights path (.safetensors); the log NAME.log.jsonl and the checkpoint "
                                      "NAME.ckpt.pt go next to it"))
    arch: str = field(default="tiny_age_net", metadata=_option(
        "network: thin (ThinAgeNet) or tiny (TinyAgeNet)", choices=("thin", "tiny", "thin_age_net", "tiny_age_net")))
    objective: str = field(default="dldl_v2", metadata=_option(
        OBJECTIVE_HELP, choices=RegistryNames("dldl_core.models.objectives", "OBJECTIVES"), metavar="NAME"))
    lam: float = field(default=1.0, metadata=_option("lambda, the weight of the expectation L1 term"))
    kl_only_epochs: int = field(default=0, metadata=_option(
        "train the first N epochs on the KL term alone (lambda 0), then add lambda x L1 (the paper's stages)"))
    sigma: float = field(default=2.0, metadata=_option("label std where the manifest gives none"))
    input_size: int = field(default=128, metadata=_option("square network input in pixels, a multiple of 32"))
    epochs: int = field(default=60, metadata=_option("number of epochs; a resumed run may be given more"))
    time_budget: float | None = field(default=None, metadata=_option(
        "seconds for all epochs (training and validation): after the first epoch, --epochs is lowered to the number "
        "that fits, and the schedule decays over those (for a machine lent for a fixed time)"))
    batch_size: int = field(default=128, metadata=_option("images per step (per process under torchrun)"))
    lr: float = field(default=1e-3, metadata=_option("peak learning rate of AdamW"))
    weight_decay: float = field(default=1e-4, metadata=_option("AdamW's decoupled weight decay"))
    schedule: str = field(default="cosine", metadata=_option(
        "learning rate per step; cosine: linear warm-up, then cosine decay to 0; step: x0.1 every 30 epochs "
        "(the official recipe)", choices=("cosine", "step")))
    warmup_epochs: int = field(default=2, metadata=_option("epochs of linear warm-up (cosine schedule)"))
    min_age: float = field(default=0.0, metadata=_option("first bin of the age support"))
    max_age: float = field(default=116.0, metadata=_option("last bin of the age support (UTKFace runs to 116)"))
    train_split: str = field(default="train", metadata=_option("the manifest's split to train on"))
    val_split: str = field(default="val", metadata=_option(
        "the manifest's split validated after every epoch; where it has no row, the training loss picks the best"))
    limit: int | None = field(default=None, metadata=_option("use only the first N training rows (smoke tests)"))
    init: str | None = field(default=None, metadata=_option(
        "start from these weights (e.g. fine-tuning at a larger input size); their alignment template is kept"))
    ema: float = field(default=0.0, metadata=_option(
        "decay of a moving average of the weights that is validated and kept instead (e.g. 0.998); 0: off"))
    keep: str = field(default="best", metadata=_option(
        "the weights file holds the epoch with the best val MAE, or the last epoch's network",
        choices=("best", "last")))
    augment: AugmentConfig = field(default_factory=_paper_augment, metadata=_option(
        AUGMENT_HELP, choices=RegistryNames("dldl_core.data.augment", "AUGMENT_PRESETS"), metavar="NAME",
        cli_default="paper", from_cli=_augment_preset))
    seed: int = field(default=0, metadata=_option("random seed (each torchrun process adds its rank)"))
    device: str = field(default="auto", metadata=_option("auto: CUDA when present", choices=("auto", "cpu", "cuda")))
    amp: bool | None = field(default=None, metadata=_option(
        "bf16 autocast (--no-amp: float32); default: where the hardware makes it fast"))
    cache: bool = field(default=True, metadata=_option(
        "decode the images once into a uint8 cache (--no-cache: decode them every epoch)"))
    cache_dir: str | None = field(default=None, metadata=_option(
        "folder of the decoded-image cache (default: DLDL_CACHE, else the user's cache folder)"))
    workers: int = field(default=0, metadata=_option("DataLoader worker processes"))
    progress: bool = field(default=True, metadata=_option("show a progress bar"))
    template: tuple[tuple[float, float], ...] | None = field(default=None, metadata=_option(
        "alignment template to store in the sidecar; None: measured on the training chips", cli=False))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
