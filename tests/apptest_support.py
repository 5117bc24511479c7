"""Shared set-up of the AppTest files: the app's entry, the weights under test, page switching."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from dldl_core.models.registry import weights_from_environment

ROOT = Path(__file__).resolve().parent.parent
MAIN = ROOT / "app" / "main.py"
SHIPPED = ROOT / "weights" / "thin_age_net.safetensors"
TIMEOUT = 180  # seconds per script run: the first one loads the network and the face detector


def weights_under_test(random_weights: Path) -> Path:
    """DLDL_WEIGHTS when it names a file, else the shipped weights, else the untrained test weights."""
    chosen = Path(weights_from_environment() or SHIPPED)
    return chosen if chosen.is_file() else random_weights


def open_page(page: str | None = None) -> AppTest:
    """Run the app once (as a browser's first visit) and, with ``page`` (e.g. ``"views/learn.py"``), switch to it."""
    at = AppTest.from_file(str(MAIN), default_timeout=TIMEOUT).run()
    if page is not None:
        at.switch_page(page).run()
    return at


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def markdown_text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)
