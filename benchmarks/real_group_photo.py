"""The shipped networks on a real group photo, as it is and under camera effects: faces found and missed, false boxes,
and each face's estimate against the ages its people could have had.

The photo (six adults, 25-36 when it was taken, smiling, heads tilted, turned and bowed, warm directional light) is
installed by `scripts/fetch_group_photo.py` (part of `scripts/setup.sh --dev`); its faces are marked by hand in
`dldl_core.data.sample_photos`. Each network runs as `dldl predict` runs it (onnxruntime, flip-TTA, the face pipeline
with its second, upright look; a weights file runs on torch). Gross: an estimate more than 15 years outside 25-36.

    python benchmarks/real_group_photo.py [--weights thin tiny FILE.safetensors ...] [--json]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dldl_core.data.images import load_rgb
from dldl_core.data.sample_photos import group_photo_path
from dldl_core.evaluation.group_photo import group_photo_table, measure_group_photo
from dldl_core.models.weights import WeightsError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", nargs="+", default=["thin", "tiny"],
                        help="shipped networks by name or weights files (default: thin tiny)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the Markdown table")
    args = parser.parse_args(argv)
    path = group_photo_path()
    if path is None:
        print("real_group_photo: the group photo is not installed; run python scripts/fetch_group_photo.py",
              file=sys.stderr)
        return 2
    try:
        rows = measure_group_photo(load_rgb(path), args.weights)
    except (WeightsError, OSError, ValueError, KeyError) as error:
        print(f"real_group_photo: the weights could not be loaded: {error}", file=sys.stderr)
        return 2
    print(json.dumps(rows, indent=1) if args.json else group_photo_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
