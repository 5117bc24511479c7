"""Robust image loading: any photo a user may have becomes an 8-bit RGB array, or one clear error.

EXIF orientation is honoured; RGBA, LA and palette images are composited on white; grayscale, CMYK and 16-bit
images are converted; an animated image gives its first frame; a decompression bomb is refused before decoding.
"""
from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 50_000_000  # refuse images above this many pixels (about 7000 x 7000)


class ImageError(ValueError):
    """A file that cannot be used as a photo; the message is one sentence for the user."""


def open_image(source: str | os.PathLike | bytes | io.IOBase, name: str | None = None) -> Image.Image:
    """Open and fully decode an image from a path, bytes or a file object, as 8-bit RGB."""
    label = name or (str(source) if isinstance(source, (str, os.PathLike)) else "the upload")
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    if isinstance(source, (str, os.PathLike)) and not Path(source).is_file():
        raise ImageError(f"{label}: no such file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns about corrupt EXIF, truncated TIFF tags...: not the user's
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(source)
            w, h = image.size
            if w * h > MAX_PIXELS:
                raise ImageError(f"{label} is too large ({w}x{h} pixels; the limit is {MAX_PIXELS:,} pixels)")
            if w < 1 or h < 1:
                raise ImageError(f"{label} has no pixels")
            image.seek(0)  # first frame of an animation
            image.load()
            return to_rgb(image)
    except (ImageError, MemoryError):
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"{label} is too large to decode safely (a decompression bomb?)") from None
    except UnidentifiedImageError:
        raise ImageError(f"{label} is not an image Pillow can read") from None
    except Exception as err:  # noqa: BLE001 - Pillow's plugins raise other types on a malformed file too (fuzzing
        # found a TypeError from a TIFF's strip offsets and a struct.error from a JPEG's EXIF): all mean "corrupt"
        raise ImageError(f"{label} could not be decoded ({_one_line(err)})") from None


def _one_line(err: Exception) -> str:
    text = " ".join(str(err).split())
    return text[:200] or type(err).__name__


def to_rgb(image: Image.Image) -> Image.Image:
    """Upright 8-bit RGB from any Pillow mode."""
    image = ImageOps.exif_transpose(image) or image
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        lo, hi = float(array.min()), float(array.max())
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
        image = Image.fromarray(((array - lo) * scale).astype(np.uint8), mode="L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("RGB")


def load_rgb(source: str | os.PathLike | bytes | io.IOBase, name: str | None = None) -> np.ndarray:
    """(H, W, 3) uint8 RGB array of an image file or bytes; raises ImageError with a readable message."""
    return np.array(open_image(source, name))  # a writable copy
