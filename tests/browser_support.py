"""What the browser tests share: the Streamlit server on a free port (one per test session), Playwright with Debian's
Chromium, screenshots into ``test-artifacts/``, waiting for Streamlit to settle, and a fake camera's .y4m clip."""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from apptest_support import weights_under_test

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
BROWSER_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync"]

BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.is_file(), reason="needs Debian's Chromium at /usr/bin/chromium "
                                                      "(apt-get install -y chromium)"),
]  # every browser test module: pytestmark = BROWSER_MARKS


@contextlib.contextmanager
def streamlit_server(weights: Path, port: int, log: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """A fresh ``streamlit run app/main.py`` on ``port`` with DLDL_WEIGHTS = ``weights``; yields its URL once its
    health check answers, and stops it afterwards."""
    env = {**os.environ, "DLDL_WEIGHTS": str(weights), **(env or {})}
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app/main.py", "--server.address", "127.0.0.1",
             "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.read() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the Streamlit server did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def server(random_weights, tmp_path_factory, free_port):
    """The app on a free port for the whole test session; yields its URL."""
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    with streamlit_server(weights_under_test(random_weights), free_port(), log) as url:
        yield url


@pytest.fixture(scope="session")
def playwright():
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")
    with sync_api.sync_playwright() as p:
        yield p


def launch(playwright, extra_args: list[str] = ()):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                      args=BROWSER_ARGS + list(extra_args))


def screenshot(page, name: str) -> Path:
    """The page as it stands (Streamlit scrolls inside its own container, so tests use a tall viewport)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_until_idle(page, timeout: float = 60_000) -> None:
    """Until the script run has finished and no element is still a loading placeholder."""
    page.wait_for_timeout(500)
    page.wait_for_function("!document.querySelector('[data-testid^=stStatusWidgetRunning]') && "
                           "!document.querySelector('[data-testid=stSkeleton]')", timeout=timeout)
    page.wait_for_timeout(500)


def wait_for_charts(page, count: int = 1, timeout: float = 30_000) -> None:
    """Until ``count`` plotly charts have drawn their SVG."""
    page.wait_for_function(f"document.querySelectorAll('[data-testid=stPlotlyChart] .main-svg').length >= {count}",
                           timeout=timeout)


def write_y4m(rgb: np.ndarray, path: Path, frames: int = 20, size: tuple[int, int] = (640, 480)) -> Path:
    """A looping 4:2:0 ``C420jpeg`` .y4m clip of a photo that drifts slowly sideways (a webcam-like input)."""
    w, h = size
    canvas = np.full((h, w, 3), 70, np.uint8)
    face = cv2.resize(rgb, (int(rgb.shape[1] * 400 / rgb.shape[0]), 400), interpolation=cv2.INTER_AREA)
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F15:1 Ip A1:1 C420jpeg\n".encode())
        for i in range(frames):
            frame = canvas.copy()
            x = (w - face.shape[1]) // 2 + int(12 * np.sin(2 * np.pi * i / frames))
            frame[40:440, x:x + face.shape[1]] = face
            yuv = cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420)  # (h * 3 / 2, w): Y, then U and V planes
            f.write(b"FRAME\n" + yuv.tobytes())
    return path
