"""Where the shipped files are: the networks, their sidecars and ONNX graphs, the face detector, the licences, and
the Streamlit app.

In an installed wheel they are the packages ``dldl_core/bundled_weights/`` and ``dldl_core/app/``; in a source
checkout (and an editable install) they are the repository's top-level ``weights/`` and ``app/`` folders, which the
build maps onto those packages.
"""
from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
BUNDLED_WEIGHTS_DIR = PACKAGE_DIR / "bundled_weights"  # an installed wheel
CHECKOUT_WEIGHTS_DIR = PACKAGE_DIR.parent / "weights"  # a source checkout


def find_weights_dir() -> Path:
    """The folder of the shipped files: the installed package's, else the checkout's."""
    return BUNDLED_WEIGHTS_DIR if BUNDLED_WEIGHTS_DIR.is_dir() else CHECKOUT_WEIGHTS_DIR


WEIGHTS_DIR = find_weights_dir()
DETECTOR_MODEL = WEIGHTS_DIR / "face_detection_short_range.tflite"  # MediaPipe's short-range face detector


def find_app_main() -> Path:
    """The Streamlit app's entry script: the installed package's, else the checkout's."""
    packaged = PACKAGE_DIR / "app" / "main.py"
    return packaged if packaged.is_file() else PACKAGE_DIR.parent / "app" / "main.py"


APP_MAIN = find_app_main()
