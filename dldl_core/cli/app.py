"""``dldl app``: the Streamlit app, served from the package."""
from __future__ import annotations

import argparse

from dldl_core.cli.common import Command


def _app_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--address", default="127.0.0.1", help="where the server listens (0.0.0.0: every interface)")


def app_command(args: argparse.Namespace) -> int:
    import importlib.util
    import os
    import sys

    from dldl_core.assets import APP_MAIN

    if importlib.util.find_spec("streamlit") is None:
        raise ValueError("the app needs the app extra: pip install 'dldl_core[app]'")
    if not APP_MAIN.is_file():
        raise FileNotFoundError(f"the app's entry {APP_MAIN} is missing from this installation")
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, "-m", "streamlit", "run", str(APP_MAIN), "--server.address",
                              args.address, "--server.port", str(args.port), "--server.headless", "true",
                              "--browser.gatherUsageStats", "false"])  # Streamlit takes over the process
    return 0  # not reached


COMMANDS = (
    Command("app",
            "Serve the Streamlit app (needs the app extra: pip install 'dldl_core[app]').",
            _app_args, app_command),
)
