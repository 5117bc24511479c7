"""Resources shared by the pages: the predictor loaded once per weights file, the device line of the sidebar.

Heavy objects are created once per process with ``st.cache_resource``; everything that holds per-request state
(a CAM with hooks, a report) is created by the page inside the request.
"""
from __future__ import annotations

import importlib
import os
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from dldl_core.models.registry import (
    ARCH_NAMES,
    DEFAULT_WEIGHTS,
    is_default_weights,
    resolve,
    shipped_weights,
    weights_from_environment,
)
from dldl_core.models.sidecar import WeightsError, read_sidecar

if TYPE_CHECKING:  # torch and the predictor load on first use, so that a page draws before they are imported
    from dldl_core.pipeline.predictor import Predictor

ROOT = Path(__file__).resolve().parent.parent
WEIGHTS_CHOICE = "weights_choice"  # session-state key of the sidebar's network choice
DEVICE_SLOT = "device_line_slot"  # session-state key of this run's sidebar device line


def weights_path() -> Path:
    """The weights the app uses: ``DLDL_WEIGHTS`` when set, else the network chosen in the sidebar (the shipped
    default until one is chosen)."""
    if (chosen := weights_from_environment()) is not None:
        return resolve(chosen)[0]  # a file or a shipped network's name (thin, tiny)
    return Path(st.session_state.get(WEIGHTS_CHOICE) or DEFAULT_WEIGHTS)


def weights_label(path: Path) -> str:
    """``ThinAgeNet (default)``: the short name the sidebar's choice shows of a shipped weights file."""
    try:
        arch = read_sidecar(path)["model"]["arch"]
    except (WeightsError, OSError, ValueError, KeyError):
        return path.name
    return ARCH_NAMES.get(arch, path.stem) + (" (default)" if is_default_weights(path) else "")


def weights_caption(path: Path) -> str:
    """``Weights: thin_age_net.safetensors, 160 px, val MAE 4.68``: the file in use and what its card measured."""
    try:
        sidecar = read_sidecar(path)
    except (WeightsError, OSError, ValueError):
        return f"Weights: {path.name}"
    mae = (sidecar.get("metrics") or {}).get("val_mae_chip_tta")
    size = (sidecar.get("preprocess") or {}).get("input_size")
    return f"Weights: {path.name}" + (f", {size} px" if size else "") + (f", val MAE {mae:.2f}" if mae else "")


def default_data_dir() -> Path:
    """The labelled faces the Learn and Age stages pages offer first: ``DLDL_UTKFACE`` or the shared UTKFace folder
    beside the project (``images/`` and ``manifest.csv``); it may not exist."""
    return Path(os.environ.get("DLDL_UTKFACE", ROOT.parent / "shared" / "datasets" / "utkface"))


def dataset_inputs(key_prefix: str) -> tuple[str, str]:
    """The image folder and manifest fields of a page (UTKFace where the project keeps it, unless typed; a note
    when it is not there), kept for the session under ``<key_prefix>_data`` and ``<key_prefix>_manifest``."""
    default = default_data_dir()
    if not default.is_dir():
        st.info(f"The UTKFace faces are not at {default}: put UTKFace's images/ and manifest.csv there, set "
                "DLDL_UTKFACE to their folder before starting the app, or type an image folder and its manifest.")
    c1, c2 = st.columns(2)
    data = c1.text_input("Image folder", str(default / "images") if default.is_dir() else "",
                         key=f"{key_prefix}_data", persist_state="session")
    manifest = c2.text_input("Manifest (CSV with file,age[,split])",
                             str(default / "manifest.csv") if default.is_dir() else "",
                             key=f"{key_prefix}_manifest", persist_state="session")
    return data, manifest


def path_refusal(*paths: str) -> str | None:
    """One sentence when a typed path lies outside the allowed roots (the project, the UTKFace folder, the temp
    folder, or ``DLDL_ALLOWED_ROOTS``), else None."""
    from dldl_core.ui.server_paths import allowed_roots, refusal

    roots = allowed_roots([ROOT, default_data_dir()])
    return next((problem for path in paths if (problem := refusal(path, roots))), None)


def device_label(device) -> str:
    """``CPU`` or ``GPU (name)`` of a torch device, for display."""
    if device.type == "cuda":
        import torch

        return f"GPU ({torch.cuda.get_device_name(device)})"
    return device.type.upper()


@st.cache_resource(show_spinner="Loading the face detector and the network...")
def _load_predictor(path: str) -> Predictor:
    from dldl_core.pipeline.predictor import Predictor

    # onnxruntime runs the network on the CPU where it is installed (faster there, docs/performance.md); else torch.
    return Predictor(path, device="auto", backend="auto")


def get_predictor() -> Predictor | None:
    """The shared predictor, or None after showing one clear error when the weights cannot be loaded."""
    path = weights_path()
    try:
        predictor = _load_predictor(str(path))
    except (WeightsError, FileNotFoundError) as err:
        st.error(f"The age network could not be loaded: {err}. Set DLDL_WEIGHTS to a weights file or run "
                 "scripts/train_default_weights.sh.")
        return None
    if (slot := st.session_state.get(DEVICE_SLOT)) is not None:
        show_device(slot, predictor.device)  # as soon as the network is there
    return predictor


def require_predictor() -> Predictor:
    """The shared predictor; stops the page (after the error) when there is none."""
    predictor = get_predictor()
    if predictor is None:
        st.stop()
    return predictor


def network_choice_offered() -> bool:
    """True when the sidebar lets the user pick the network: no ``DLDL_WEIGHTS``, and more than one shipped."""
    return weights_from_environment() is None and len(shipped_weights()) > 1


def sidebar():
    """The device and the network, on every page: a choice among the shipped weights (the most accurate is the
    default, a faster one suits a live demo on a small CPU) unless ``DLDL_WEIGHTS`` fixes the file. Imports no torch:
    until torch is loaded the device line says so; returns that line's slot for ``show_device``."""
    device_line = st.sidebar.empty()
    st.session_state[DEVICE_SLOT] = device_line  # get_predictor() writes the device into it once loaded
    if "torch" in sys.modules:
        show_device(device_line)
    else:
        device_line.markdown("**Device:** known once the network has loaded")
    if network_choice_offered():
        st.sidebar.selectbox("Network", shipped_weights(), format_func=weights_label, key=WEIGHTS_CHOICE,
                             help="Every page uses this network. The model card page shows how each was trained "
                                  "and measured.")
    st.sidebar.caption(weights_caption(weights_path()))
    return device_line


def show_device(slot, device=None) -> None:
    """Write ``device`` (default: the one the network would run on; imports torch) into the sidebar's ``slot``."""
    if device is None:
        from dldl_core.pipeline.inference import pick_device

        device = pick_device("auto")
    slot.markdown(f"**Device:** {device_label(device)}")


def real_server() -> bool:
    """True under ``streamlit run``; False under AppTest, whose mock runtime cannot host custom components such as
    ``webrtc_streamer``."""
    from streamlit.runtime import Runtime

    return Runtime.exists() and type(Runtime.instance()) is Runtime


@st.cache_resource(show_spinner="Preparing the explainer...")
def _load_explainer(path: str):
    from dldl_core.explain.explainer import Explainer

    return Explainer(_load_predictor(path))


def get_explainer():
    """The shared explainer (its own copy of the network and a lock; CAM hooks live only inside each call)."""
    return _load_explainer(str(weights_path()))


# What the pages import on first use, loaded once per server process in the background so that the first visit to a
# page does not wait for them: the explanation engine, the face detector, the plots.
WARM_MODULES = ("dldl_core.explain.explainer", "dldl_core.pipeline.face", "dldl_core.ui.plots",
                "dldl_core.ui.analysis", "plotly.graph_objects")


WARM_DELAY_S = 1.5  # the first page draws its light content before the imports compete with it for the CPU


def _import_all(names: tuple[str, ...], delay: float = WARM_DELAY_S) -> None:
    time.sleep(delay)
    for name in names:
        importlib.import_module(name)


@st.cache_resource(show_spinner=False)
def start_warm_up() -> threading.Thread:
    """Start importing ``WARM_MODULES`` in a background thread, once per process; returns the thread."""
    thread = threading.Thread(target=_import_all, args=(WARM_MODULES,), name="warm-up", daemon=True)
    thread.start()
    return thread
