"""``dldl export``: the network as a standalone ONNX or TorchScript graph."""
from __future__ import annotations

import argparse

from dldl_core.cli.common import Command, print_json


def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--weights", default=None,
                   help="a shipped network (thin, tiny) or a .safetensors file; default: thin")
    p.add_argument("--format", required=True, help="onnx or torchscript")
    p.add_argument("--out", required=True, help="output file (.onnx; .pt or .ts); a JSON sidecar is written beside")
    p.add_argument("--json", action="store_true", help="print JSON")


def export_command(args: argparse.Namespace) -> int:
    from dldl_core.models.export import check_target, export, sidecar_path

    out = check_target(args.format, args.out)  # a bad format or path fails before the weights load
    path = export(args.weights, args.format, out)
    if args.json:
        print_json({"format": args.format, "out": str(path), "sidecar": str(sidecar_path(path))})
    else:
        print(f"wrote {path} and {sidecar_path(path)}")
    return 0


COMMANDS = (
    Command("export",
            'Export the network (normalised input -> age distribution, dynamic batch) as ONNX or TorchScript, '
            'with a JSON sidecar of its preprocessing and age support.',
            _export_args, export_command),
)
