"""Benchmark inputs: real face photos that ship with pip packages (nothing is downloaded at run time) and webcam-like
frames."""
from __future__ import annotations

import hashlib
import io
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image


def photo_files() -> dict[str, bytes]:
    """Encoded photos by name: matplotlib's grace_hopper.jpg as shipped, and scikit-image's astronaut as a JPEG
    (quality 90) where scikit-image is installed."""
    from matplotlib import cbook

    with open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False), "rb") as f:
        files = {"grace_hopper": f.read()}
    try:
        from skimage import data
    except ImportError:
        return files
    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buffer, format="JPEG", quality=90)
    files["astronaut"] = buffer.getvalue()
    return files


# The real group photo: t1.jpg of the insightface 2.1 wheel (1280x886), put in the environment by
# scripts/fetch_group_photo.py (run by scripts/setup.sh --dev); its copyright belongs to its owners, so it is used,
# never committed or shown. A promotional still of a TV cast: six adults around a card table, smiling, heads tilted,
# turned and bowed, under warm directional light.
GROUP_PHOTO_SHA256 = "47f682e945b659f93a9e490b9c9c4a2a864abe64dace9e1a2893845ddfd69489"
# Each face's nose tip (x, y) in pixels, placed by eye, left to right.
GROUP_PHOTO_NOSES = ((112, 340), (322, 218), (520, 350), (803, 418), (962, 142), (1180, 338))
# The cast were born 1963-1969 and the show began in 1994; the still is from its early seasons (1995-1999 by the
# cast's looks), so every face was 25-36 years old when it was taken. The exact date is not recorded.
GROUP_PHOTO_AGES = (25.0, 36.0)


def group_photo_target() -> Path:
    """Where scripts/fetch_group_photo.py puts the group photo: inside the running Python environment."""
    return Path(sys.prefix) / "share" / "dldl-photos" / "group_photo.jpg"


def group_photo_path() -> Path | None:
    """The installed group photo, or None where it has not been fetched (scripts/fetch_group_photo.py) or its bytes
    are not the photo the project measured."""
    path = group_photo_target()
    if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != GROUP_PHOTO_SHA256:
        return None
    return path


def webcam_frames(portrait: np.ndarray, n: int = 60, size: tuple[int, int] = (640, 480)) -> list[np.ndarray]:
    """``n`` (H, W, 3) frames of ``portrait`` scaled to 400 px high, drifting sideways over a grey background."""
    w, h = size
    face = cv2.resize(portrait, (int(portrait.shape[1] * 400 / portrait.shape[0]), 400), interpolation=cv2.INTER_AREA)
    face = face[:, :w]
    frames = []
    for i in range(n):
        frame = np.full((h, w, 3), 70, np.uint8)
        x = max(0, (w - face.shape[1]) // 2 + int(20 * np.sin(2 * np.pi * i / 60)))
        frame[40:440, x:x + face.shape[1]] = face[:, :w - x]
        frames.append(frame)
    return frames
