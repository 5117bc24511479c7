"""``dldl train``'s options, generated from the fields of :class:`TrainConfig` (help, choices, defaults).

Booleans become ``--flag`` / ``--no-flag`` (``--no-cache``, ``--no-progress``, ``--no-amp``); ``--augment NAME``
takes a preset name; ``template`` is no option. Like the config, this module imports no torch.
"""
from __future__ import annotations

import argparse
from dataclasses import MISSING, Field, fields
from typing import Any

from dldl_core.training.config import TrainConfig

_SCALAR_TYPES = {"str": str, "int": int, "float": float, "bool": bool}


def option_fields() -> list[Field]:
    """The fields of TrainConfig that are command-line options (all but ``template``)."""
    return [f for f in fields(TrainConfig) if f.metadata.get("cli", True)]


def option_name(f: Field) -> str:
    """``kl_only_epochs`` -> ``--kl-only-epochs``."""
    return "--" + f.name.replace("_", "-")


def _value_type(f: Field) -> type:
    """The option's type, read from the field's annotation (``int | None`` -> int); str where ``from_cli`` converts."""
    if "from_cli" in f.metadata:
        return str
    annotation = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    try:
        return _SCALAR_TYPES[annotation.removesuffix(" | None")]
    except KeyError:
        raise TypeError(f"TrainConfig.{f.name}: {annotation} needs a from_cli converter to be an option") from None


def _argument(f: Field) -> dict[str, Any]:
    """``add_argument``'s keywords for one field."""
    required = f.default is MISSING and f.default_factory is MISSING
    default = f.metadata.get("cli_default", None if required else f.default)
    spec: dict[str, Any] = {"dest": f.name, "help": f.metadata["help"], "default": default}
    value_type = _value_type(f)
    if value_type is bool:
        return {**spec, "action": argparse.BooleanOptionalAction}
    spec.update(type=value_type, required=required)
    spec.update({key: f.metadata[key] for key in ("choices", "metavar") if key in f.metadata})
    if default is not None:
        spec["help"] += " (default: %(default)s)"
    return spec


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare one option per field of TrainConfig on ``parser``."""
    for f in option_fields():
        parser.add_argument(option_name(f), **_argument(f))


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The TrainConfig that parsed options describe (``--augment`` names a preset)."""
    values = {}
    for f in option_fields():
        value = getattr(args, f.name)
        convert = f.metadata.get("from_cli")
        values[f.name] = convert(value) if convert is not None else value
    return TrainConfig(**values)
