"""Whole-process measurements, as a user meets them: a command's wall time and its own peak resident memory, and a
folder of varied real photos to run it on.

The peak is GNU time's maximum resident set size of the command (``/usr/bin/time -f %M``): the command is a child of
``time``, a small process, so Linux's carrying of the parent's high-water mark across ``exec`` does not inflate it.
"""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

GNU_TIME = "/usr/bin/time"


@dataclass
class ProcessRun:
    """One run of a command: its exit code, wall seconds, peak resident MiB and output."""

    returncode: int
    wall_s: float
    peak_mib: float
    stdout: str
    stderr: str


def run_process(argv: list[str], cwd: str | os.PathLike | None = None, env: dict[str, str] | None = None,
                timeout: float = 900) -> ProcessRun:
    """Run ``argv`` to its end and measure it (GNU time must be installed at /usr/bin/time)."""
    if not shutil.which(GNU_TIME):
        raise ValueError(f"measuring a whole process needs GNU time at {GNU_TIME} (apt-get install time)")
    with tempfile.NamedTemporaryFile("r", suffix=".txt") as stats:
        start = time.perf_counter()
        done = subprocess.run([GNU_TIME, "-f", "%M", "-o", stats.name, *argv], check=False, cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=timeout)
        wall = time.perf_counter() - start
        peak_kib = int(Path(stats.name).read_text().split()[-1])  # after "Command exited with ..." on a failure
    return ProcessRun(done.returncode, wall, peak_kib / 1024, done.stdout, done.stderr)


def varied_photos(sources: dict[str, bytes], folder: str | os.PathLike, count: int, seed: int = 0) -> list[Path]:
    """``count`` JPEGs in ``folder`` made from the encoded ``sources``: each rescaled (0.6-1.2), cropped a little,
    mirrored at random and saved at a random quality (70-95), so that no two files are the same."""
    rng = np.random.default_rng(seed)
    images = [Image.open(io.BytesIO(data)).convert("RGB") for data in sources.values()]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        image = images[i % len(images)]
        scale = rng.uniform(0.6, 1.2)
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.BILINEAR)
        dx, dy = (int(rng.integers(0, max(1, s // 10))) for s in image.size)
        image = image.crop((dx, dy, image.width - dx // 2, image.height - dy // 2))
        if rng.random() < 0.5:
            image = image.transpose(Image.FLIP_LEFT_RIGHT)
        path = folder / f"photo_{i:05d}.jpg"
        image.save(path, quality=int(rng.integers(70, 96)))
        paths.append(path)
    return paths
