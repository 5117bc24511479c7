"""``dldl train`` and ``dldl soup``: thin wrappers over dldl_core.training."""
from __future__ import annotations

import argparse

from dldl_core.cli.common import Command


def _train_args(p: argparse.ArgumentParser) -> None:
    from dldl_core.training.cli_options import add_config_arguments  # imports no torch

    add_config_arguments(p)
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint next to --out")
    p.add_argument("--allow-config-change", action="store_true",
                   help="with --resume: continue although options that can change the result differ from the "
                        "checkpoint's (a larger --epochs, --workers, --device, --progress and the cache are always "
                        "allowed)")


def train_command(args: argparse.Namespace) -> int:
    from dldl_core.training.cli_options import config_from_args
    from dldl_core.training.trainer import train

    if args.input_size % 32:
        raise ValueError(f"--input-size must be a multiple of 32, got {args.input_size}")
    if not args.out.endswith(".safetensors"):
        raise ValueError("--out must name a .safetensors file")
    path = train(config_from_args(args), resume=args.resume, allow_config_change=args.allow_config_change)
    print(f"weights written to {path}")
    return 0


def _soup_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("weights", nargs="+", help="two or more .safetensors files fine-tuned from one network")
    p.add_argument("--out", required=True, help="the soup's .safetensors file (a sidecar is written beside it)")


def soup_command(args: argparse.Namespace) -> int:
    from dldl_core.training.soup import make_soup

    if not args.out.endswith(".safetensors"):
        raise ValueError("--out must name a .safetensors file")
    print(f"weights written to {make_soup(args.weights, args.out)}")
    return 0


COMMANDS = (
    Command("train",
            'Train ThinAgeNet or TinyAgeNet on a manifest of face images.',
            _train_args, train_command),
    Command("soup",
            'Average the weights of networks fine-tuned from one starting point into one network (a weight soup).',
            _soup_args, soup_command),
)
