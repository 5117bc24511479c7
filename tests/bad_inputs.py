"""Files a user may drop on the CLI, the Python API or the app, built from real faces with Pillow and NumPy.

Each ``BadInput`` says what the project must answer: a one-sentence error (``expect="error"``), no face
(``"no_face"``), or faces (``"faces"``) that match those found on ``reference``, the upright 8-bit RGB picture the
file encodes. The faces are Grace Hopper (matplotlib's sample photo) and Eileen Collins (scikit-image's
astronaut); the picture without a face is scikit-image's rocket on its launch pad.
"""
from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

BOMB_SIDE = 20_000  # a 20000 x 20000 RGB image: 1.2 GB once decoded, about 1.2 MB as a PNG
GRID = (6, 5)  # columns, rows of the face grid: 30 faces
GRID_TILE = 200  # pixels per face tile of the grid
CASE_KEYS = ("empty", "text", "truncated", "one_pixel", "bomb", "sixteen_bit", "cmyk", "rgba", "animated_gif",
             "exif_rotated", "no_face", "thirty_faces")  # the rows of the table, in its order


@dataclass(frozen=True)
class BadInput:
    """One file and the answer it must get."""

    key: str  # short name, used as the test id and the table's row
    name: str  # file name as uploaded
    what: str  # one line for the table
    data: bytes
    expect: str  # "error", "no_face" or "faces"
    message: str | None = None  # for "error": text the one-sentence message must contain
    faces: int = 0  # for "faces": how many faces the file shows
    reference: np.ndarray | None = None  # for "faces": (H, W, 3) uint8 upright picture to compare with
    note: str = ""  # what the project does with it, for the table

    def write(self, folder: Path) -> Path:
        path = folder / self.name
        path.write_bytes(self.data)
        return path


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False  # shared between the cases: copy before changing
    return array


@cache
def grace_hopper() -> np.ndarray:
    """(600, 512, 3) uint8: Grace Hopper, 1984, from matplotlib's sample data."""
    from matplotlib import cbook

    return _frozen(np.array(Image.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)).convert("RGB")))


@cache
def astronaut() -> np.ndarray:
    """(512, 512, 3) uint8: Eileen Collins, from scikit-image."""
    from skimage import data

    return _frozen(np.array(data.astronaut()))


@cache
def rocket() -> np.ndarray:
    """(427, 640, 3) uint8: a rocket on its launch pad, no face."""
    from skimage import data

    return _frozen(np.array(data.rocket()))


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def constant_png(width: int, height: int, value: int = 128) -> bytes:
    """An RGB PNG of one colour, written without ever holding its pixels: the rows are compressed in equal blocks,
    each ended by a full flush so that every block after the first compresses to the same bytes."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    row = b"\x00" + bytes([value]) * (3 * width)  # filter byte 0, then the row
    rows_per_block = max(1, (1 << 22) // len(row))
    blocks, rest = divmod(height, rows_per_block)
    block = row * rows_per_block
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate: the zlib header and checksum are added here
    first = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    again = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH) if blocks > 1 else b""
    tail = deflate.compress(row * rest) + deflate.flush(zlib.Z_FINISH)
    checksum = 1
    for _ in range(blocks):
        checksum = zlib.adler32(block, checksum)
    checksum = zlib.adler32(row * rest, checksum)
    stream = b"\x78\xda" + first + again * (blocks - 1) + tail + struct.pack(">I", checksum)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", stream) + chunk(b"IEND", b"")


def sixteen_bit(rgb: np.ndarray) -> tuple[bytes, np.ndarray]:
    """A 16-bit grayscale PNG (mode I;16) of a face and the 8-bit gray picture it shows."""
    gray = np.asarray(Image.fromarray(rgb).convert("L"), np.uint16)
    wide = gray * 257  # 0..255 -> 0..65535
    image = Image.fromarray(wide.astype(np.uint16))  # mode I;16
    # The loader stretches the 16-bit range to 8 bits; the picture is the same up to that stretch.
    lo, hi = int(gray.min()), int(gray.max())
    shown = ((gray.astype(np.float64) - lo) * (255.0 / (hi - lo))).astype(np.uint8)
    return encode(image, "PNG"), np.repeat(shown[..., None], 3, axis=2)


def rgba(rgb: np.ndarray) -> tuple[bytes, np.ndarray]:
    """An RGBA PNG: the face inside an opaque ellipse, a soft edge, a transparent border; and the same on white."""
    h, w = rgb.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    r = np.hypot((xx - w / 2) / (0.45 * w), (yy - h / 2) / (0.47 * h))
    alpha = (np.clip((1.1 - r) / 0.2, 0, 1) * 255).astype(np.uint8)
    data = encode(Image.fromarray(np.dstack([rgb, alpha])), "PNG")
    a = alpha[..., None].astype(np.float64) / 255
    on_white = np.round(rgb * a + 255 * (1 - a)).astype(np.uint8)
    return data, on_white


def animated_gif(first: np.ndarray, second: np.ndarray) -> tuple[bytes, np.ndarray]:
    """A two-frame GIF: ``first`` then ``second`` (resized to the first's size); and the first frame as shown."""
    h, w = first.shape[:2]
    frames = [Image.fromarray(np.ascontiguousarray(a)).resize((w, h)).quantize(256, Image.Quantize.FASTOCTREE)
              for a in (first, second)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=500, loop=0)
    shown = np.array(Image.open(io.BytesIO(data)).convert("RGB"))  # frame 0 after the palette
    return data, shown


def exif_rotated(rgb: np.ndarray) -> bytes:
    """A JPEG whose pixels hold the face lying on its side, with the EXIF Orientation that puts it upright
    (6: rotate 90 degrees clockwise to display)."""
    sideways = Image.fromarray(rgb).transpose(Image.Transpose.ROTATE_90)  # counter-clockwise
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(sideways, "JPEG", quality=95, exif=exif.tobytes())


def face_grid(faces: list[np.ndarray], columns: int = GRID[0], rows: int = GRID[1], tile: int = GRID_TILE
              ) -> np.ndarray:
    """``columns * rows`` face crops (cycled, every other one mirrored) tiled into one picture."""
    out = np.full((rows * tile, columns * tile, 3), 255, np.uint8)
    for i in range(columns * rows):
        crop = faces[i % len(faces)]
        if (i // len(faces)) % 2:
            crop = crop[:, ::-1]
        r, c = divmod(i, columns)
        out[r * tile:(r + 1) * tile, c * tile:(c + 1) * tile] = np.asarray(
            Image.fromarray(np.ascontiguousarray(crop)).resize((tile, tile), Image.Resampling.LANCZOS))
    return out


def face_crops() -> list[np.ndarray]:
    """Square crops around the two real faces, a little wider than the face."""
    return [grace_hopper()[90:420, 120:450], astronaut()[10:250, 110:350]]


@cache
def cases() -> dict[str, BadInput]:
    """Every case of the reliability table by key, in the order of the table (built once, about two seconds)."""
    built = {case.key: case for case in bad_inputs()}
    assert tuple(built) == CASE_KEYS
    return built


def bad_inputs() -> list[BadInput]:
    """Every case of the reliability table, in the order of the table."""
    hopper = grace_hopper()
    jpeg = encode(Image.fromarray(hopper), "JPEG", quality=95)
    sixteen, sixteen_shown = sixteen_bit(hopper)
    rgba_data, rgba_shown = rgba(astronaut())
    gif, gif_shown = animated_gif(hopper, astronaut())
    grid = face_grid(face_crops())
    n_grid = GRID[0] * GRID[1]
    return [
        BadInput("empty", "empty.jpg", "empty file (0 bytes)", b"", "error", "is not an image Pillow can read"),
        BadInput("text", "notes.jpg", "text renamed .jpg", b"Meeting notes, not a photo.\n" * 20, "error",
                 "is not an image Pillow can read"),
        BadInput("truncated", "cut.jpg", "JPEG cut at a third of its bytes", jpeg[:len(jpeg) // 3], "error",
                 "could not be decoded"),
        BadInput("one_pixel", "dot.png", "1x1 PNG", encode(Image.new("RGB", (1, 1), (90, 60, 40)), "PNG"),
                 "no_face", note="decoded; no face"),
        BadInput("bomb", "bomb.png", f"{BOMB_SIDE}x{BOMB_SIDE} RGB PNG of one colour "
                 "(decompression bomb, 1.2 GB decoded)", constant_png(BOMB_SIDE, BOMB_SIDE), "error", "too large",
                 note="refused from its header, never decoded"),
        BadInput("sixteen_bit", "hopper16.png", "16-bit grayscale PNG (I;16) of a face", sixteen, "faces", faces=1,
                 reference=sixteen_shown, note="range stretched to 8 bits; face found"),
        BadInput("cmyk", "hopper_cmyk.jpg", "CMYK JPEG of a face",
                 encode(Image.fromarray(hopper).convert("CMYK"), "JPEG", quality=95), "faces", faces=1,
                 reference=hopper, note="converted to RGB; face found"),
        BadInput("rgba", "collins_rgba.png", "RGBA PNG, transparent border", rgba_data, "faces", faces=1,
                 reference=rgba_shown, note="composited on white; face found"),
        BadInput("animated_gif", "hopper_then_collins.gif", "animated GIF, 2 frames (Hopper, then Collins)", gif,
                 "faces", faces=1, reference=gif_shown, note="first frame used (Hopper); later frames ignored"),
        BadInput("exif_rotated", "hopper_sideways.jpg", "JPEG stored sideways, EXIF Orientation 6",
                 exif_rotated(hopper), "faces", faces=1, reference=hopper,
                 note="EXIF orientation applied; face found upright"),
        BadInput("no_face", "rocket.png", "photo without a face (a rocket on its pad)",
                 encode(Image.fromarray(rocket()), "PNG"), "no_face",
                 note="exit 0 and an empty face list; the app says no face was found"),
        BadInput("thirty_faces", "thirty.png", f"{n_grid} faces in a {GRID[0]}x{GRID[1]} grid", encode(
            Image.fromarray(grid), "PNG"), "faces", faces=n_grid, reference=grid,
                 note="every face estimated by the CLI and API; the app shows the 12 largest"),
    ]


@dataclass
class Run:
    """A finished child process: exit code, output, wall time and the peak resident memory of that process."""

    code: int
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float


def run_measured(argv: list[str], timeout: float, env: dict[str, str] | None = None) -> Run:
    """Run ``argv`` (``[sys.executable, ...]``) and measure it alone: its wall time and its own peak resident memory,
    which ``peak_memory.py`` reads inside the child (``os.wait4`` would count the test process's size too)."""
    import os
    import subprocess
    import sys
    import tempfile
    import threading
    import time

    assert argv[0] == sys.executable, "run_measured runs Python programs"
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryDirectory() as tmp:
        peak_file = Path(tmp) / "peak.txt"
        start = time.perf_counter()
        wrapper = Path(__file__).resolve().with_name("peak_memory.py")
        child = subprocess.Popen([sys.executable, str(wrapper), str(peak_file), *argv[1:]], stdout=out, stderr=err,
                                 env=env)
        timer = threading.Timer(timeout, child.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(child.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text = peak_file.read_text().strip() if peak_file.is_file() else "None"
        peak = float(text) if text != "None" else usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux
        return Run(child.returncode, out.read().decode(errors="replace"), err.read().decode(errors="replace"),
                   seconds, peak)
