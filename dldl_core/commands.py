"""Sub-commands of the ``dldl`` CLI; each is a thin wrapper over a library function."""
from __future__ import annotations

import argparse

from dldl_core.cli import command, print_json


def _arguments(add: "callable"):
    def attach(run):
        run.add_arguments = add
        return run
    return attach


def _train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="image folder")
    p.add_argument("--manifest", required=True, help="CSV with file,age[,sigma][,split]")
    p.add_argument("--arch", default="tiny", help="thin or tiny (thin_age_net / tiny_age_net)")
    p.add_argument("--objective", default="dldl_v2", help="objective name (see the registry)")
    p.add_argument("--lam", type=float, default=1.0, help="weight of the expectation L1 term")
    p.add_argument("--sigma", type=float, default=2.0, help="label std where the manifest gives none")
    p.add_argument("--input-size", type=int, default=128, help="square input, a multiple of 32")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--schedule", choices=("cosine", "step"), default="cosine")
    p.add_argument("--warmup-epochs", type=int, default=2)
    p.add_argument("--max-age", type=float, default=116.0, help="last bin of the age support")
    p.add_argument("--limit", type=int, default=None, help="use only the first N training rows")
    p.add_argument("--init", default=None, help="start from these weights (e.g. at a larger input size)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--no-cache", action="store_true", help="decode images every epoch instead of caching them")
    p.add_argument("--workers", type=int, default=0, help="DataLoader workers")
    p.add_argument("--out", required=True, help="weights path (.safetensors); log and checkpoint go next to it")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint next to --out")
    p.add_argument("--no-progress", action="store_true")


@command("train", "Train ThinAgeNet or TinyAgeNet on a manifest of face images.")
@_arguments(_train_args)
def train_command(args: argparse.Namespace) -> int:
    from dldl_core.train import TrainConfig, train

    if args.input_size % 32:
        raise ValueError(f"--input-size must be a multiple of 32, got {args.input_size}")
    if not args.out.endswith(".safetensors"):
        raise ValueError("--out must name a .safetensors file")
    config = TrainConfig(data=args.data, manifest=args.manifest, out=args.out, arch=args.arch,
                         objective=args.objective, lam=args.lam, sigma=args.sigma, input_size=args.input_size,
                         epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, schedule=args.schedule,
                         warmup_epochs=args.warmup_epochs, max_age=args.max_age, limit=args.limit, init=args.init,
                         seed=args.seed, device=args.device, cache=not args.no_cache, workers=args.workers,
                         progress=not args.no_progress)
    path = train(config, resume=args.resume)
    print(f"weights written to {path}")
    return 0
