"""Shared fixtures: real face photos that ship with pip packages, small weights, the shared UTKFace data.

Test tiers: ``python -m pytest -q`` runs everything (what CI runs); ``python -m pytest -q -m "not slow and not
browser"`` is the quick tier for development (about a minute on 2 idle cores). ``slow`` marks a test (or a module,
with ``pytestmark``) that takes seconds: processes, the app, training, long loops; ``browser`` drives Chromium.
Every test fails after 10 minutes (pytest-timeout, pyproject.toml).
"""
from __future__ import annotations

import os

# OpenMP threads that sleep instead of spinning while they wait: the tests start servers and subprocesses beside the
# test process, and on a 2-core machine spinning threads of two processes slow both by an order of magnitude.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SHARED_UTKFACE = Path(os.environ.get("DLDL_UTKFACE", ROOT.parent / "shared" / "datasets" / "utkface"))


@pytest.fixture(scope="session")
def free_port():
    """A function giving a TCP port on 127.0.0.1 that nothing listens on (bound to port 0, then released)."""
    import socket

    def pick() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    return pick


@pytest.fixture(scope="session")
def grace_hopper_path() -> Path:
    """A real portrait (Grace Hopper, 1984) bundled with matplotlib."""
    from matplotlib import cbook

    return Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


@pytest.fixture(scope="session")
def astronaut_path(tmp_path_factory) -> Path:
    """scikit-image's astronaut (Eileen Collins), written to a PNG."""
    skimage_data = pytest.importorskip("skimage.data", reason="scikit-image provides the astronaut photo")
    path = tmp_path_factory.mktemp("photos") / "astronaut.png"
    Image.fromarray(skimage_data.astronaut()).save(path)
    return path


@pytest.fixture(scope="session")
def dim_astronaut_path(astronaut_path, tmp_path_factory) -> Path:
    """The astronaut in a dim room: a third of the light and sensor grain (std 12 grey levels, seeded), so grainy
    that her aligned face is above dldl_core.pipeline.grain.GRAINY while the detector still finds it."""
    rgb = np.asarray(Image.open(astronaut_path), np.float32)
    dark = rgb * 0.3 + np.random.default_rng(0).normal(0, 12, rgb.shape[:2])[..., None]
    path = tmp_path_factory.mktemp("photos") / "astronaut_dim.png"
    Image.fromarray(np.clip(np.rint(dark), 0, 255).astype(np.uint8)).save(path)
    return path


@pytest.fixture(scope="session")
def group_photo_path() -> Path:
    """A real group photo (six adults, 25-36) that `scripts/setup.sh --dev` installs from the insightface wheel."""
    from dldl_core.data.sample_photos import group_photo_path as installed

    path = installed()
    if path is None:
        pytest.skip("needs the real group photo: python scripts/fetch_group_photo.py (part of scripts/setup.sh --dev)")
    return path


@pytest.fixture(scope="session")
def random_weights(tmp_path_factory) -> Path:
    """An untrained TinyAgeNet at 64x64 saved in the shipped format (for pipeline tests, not accuracy)."""
    import torch

    from dldl_core.models.networks import create_model
    from dldl_core.models.preprocess import Preprocess
    from dldl_core.models.weights import save_weights

    torch.manual_seed(0)
    model = create_model("tiny", max_age=116, num_bins=117)
    path = tmp_path_factory.mktemp("weights") / "random_tiny.safetensors"
    return save_weights(model, path, Preprocess(input_size=64), "dldl_v2", {"metrics": {}})


@pytest.fixture(scope="session")
def utkface() -> Path:
    """The shared UTKFace chips; tests that need them are skipped where the data is not present."""
    if not (SHARED_UTKFACE / "manifest.csv").is_file():
        pytest.skip("needs the UTKFace data in ../shared/datasets/utkface (not part of the repository)")
    return SHARED_UTKFACE


@pytest.fixture(scope="session")
def photo_folder(tmp_path_factory, grace_hopper_path, astronaut_path) -> tuple[Path, Path]:
    """A tiny labelled image folder and manifest made from the pip-bundled photos (ages as of the photos)."""
    folder = tmp_path_factory.mktemp("photo_set")
    rng = np.random.default_rng(0)
    rows = ["file,age,gender,split"]
    for i, (src, age, g) in enumerate([(grace_hopper_path, 77, "1"), (astronaut_path, 36, "1")] * 4):
        image = Image.open(src).convert("RGB")
        if i >= 2:  # small variations so the set is not eight copies of two images
            image = image.resize((int(image.width * rng.uniform(0.8, 1.2)),) * 2)
        name = f"img_{i}.png"
        image.save(folder / name)
        rows.append(f"{name},{age},{g},{'val' if i % 4 == 3 else 'train'}")
    manifest = folder / "manifest.csv"
    manifest.write_text("\n".join(rows) + "\n")
    return folder, manifest


from browser_support import playwright, server  # noqa: E402, F401 - the browser tests' shared fixtures
