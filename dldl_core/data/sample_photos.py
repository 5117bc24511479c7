"""Benchmark inputs: real face photos that ship with pip packages (nothing is downloaded) and webcam-like frames."""
from __future__ import annotations

import io

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
