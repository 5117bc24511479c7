"""The package as a user installs it: declared dependencies and extras, package data, and a built wheel that runs
``dldl predict`` from any folder in a fresh environment."""
from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
pytestmark = pytest.mark.skipif(not PYPROJECT.is_file(), reason="needs the source checkout")


def project() -> dict:
    return tomllib.loads(PYPROJECT.read_text())


def requirement_name(line: str) -> str:
    """``torch==2.14.1`` -> ``torch``; names normalised as pip does (PEP 503)."""
    return re.sub(r"[-_.]+", "-", re.split(r"[<>=!~;\[ ]", line.strip(), maxsplit=1)[0]).lower()


def requirement_names(path: Path) -> set[str]:
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return {requirement_name(line) for line in lines if line and not line.startswith("-")}


def declared(*extras: str) -> set[str]:
    meta = project()["project"]
    names = {requirement_name(r) for r in meta["dependencies"]}
    for extra in extras:
        names |= {requirement_name(r) for r in meta["optional-dependencies"][extra]}
    return names - {"dldl-core"}


def test_the_pinned_requirements_are_what_the_package_declares():
    """requirements.txt pins the tested versions of the library and its app and explain extras; the dev file adds
    the dev extra's tools."""
    assert requirement_names(ROOT / "requirements.txt") == declared("app", "explain")
    assert requirement_names(ROOT / "requirements-dev.txt") <= declared("app", "explain", "bench", "dev")
    assert declared("dev") - declared("app", "explain", "bench") <= requirement_names(ROOT / "requirements-dev.txt")


def test_every_subpackage_is_packaged():
    listed = set(project()["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "dldl_core").rglob("__init__.py")}
    assert found <= listed


def test_every_shipped_file_is_package_data():
    """Everything in weights/ goes into the wheel (except what only builds the weights: none today)."""
    patterns = project()["tool"]["setuptools"]["package-data"]["dldl_core.bundled_weights"]
    files = [p.name for p in (ROOT / "weights").iterdir() if p.is_file() and not p.name.endswith(".tmp")]
    assert files and [f for f in files if not any(fnmatch.fnmatch(f, pat) for pat in patterns)] == []


def build_wheel(out: Path) -> Path:
    """The wheel of a copy of the project (nothing is written into the checkout), built offline."""
    source = out / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.tmp", "*.egg-info")
    for name in ("dldl_core", "weights", "app"):
        shutil.copytree(ROOT / name, source / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                            "--no-index", "-w", str(out / "dist"), str(source)], capture_output=True, text=True,
                           timeout=300)
    assert built.returncode == 0, built.stderr[-3000:]
    return next((out / "dist").glob("dldl_core-*.whl"))


def fresh_venv(folder: Path) -> Path:
    """A new virtual environment that sees this environment's packages (torch, MediaPipe, ...) through a .pth file,
    so nothing is downloaded, but not this checkout: dldl_core comes only from what is installed into it."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=120)
    python = folder / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "project_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh virtual environment with the built wheel installed (``--no-deps``: its dependencies are this
    environment's, seen through a .pth file); returns the environment's folder."""
    pytest.importorskip("setuptools", reason="the wheel is built offline, with this environment's setuptools")
    tmp = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(tmp)
    python = fresh_venv(tmp / "venv")
    pip = [sys.executable, "-m", "pip", "--python", str(python)]
    subprocess.run([*pip, "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True, timeout=300)
    check = subprocess.run([*pip, "check"], capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr  # the declared dependencies are installed here
    return tmp / "venv"


def run_elsewhere(argv: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    """``argv`` from an empty folder, with neither PYTHONPATH nor DLDL_WEIGHTS."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "DLDL_WEIGHTS"}}
    return subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_an_installed_wheel_predicts_from_any_folder(installed, tmp_path, grace_hopper_path):
    where = run_elsewhere([str(installed / "bin" / "python"), "-c",
                           "import dldl_core.assets as a; print(a.WEIGHTS_DIR, a.APP_MAIN, sep=chr(10))"], tmp_path)
    weights_dir, app_main = map(Path, where.stdout.split())
    assert weights_dir.is_relative_to(installed) and (weights_dir / "thin_age_net.onnx").is_file()
    assert app_main.is_relative_to(installed) and app_main.is_file()
    result = run_elsewhere([str(installed / "bin" / "dldl"), "predict", str(grace_hopper_path), "--json"], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    faces = json.loads(result.stdout)["images"][0]["faces"]
    assert len(faces) == 1 and 55 <= faces[0]["age"] <= 100  # Grace Hopper was 77 in this 1984 portrait


APP_CHECK = """
from streamlit.testing.v1 import AppTest
import dldl_core.assets as a
at = AppTest.from_file(str(a.APP_MAIN), default_timeout=300).run()
assert not at.exception, [e.value for e in at.exception]
at.switch_page("views/model_card.py").run()
assert not at.exception, [e.value for e in at.exception]
print(chr(10).join(m.value for m in at.markdown))
"""


@pytest.mark.slow
def test_the_installed_app_runs_from_its_package(installed, tmp_path):
    pytest.importorskip("streamlit", reason="the app extra")
    result = run_elsewhere([str(installed / "bin" / "python"), "-c", APP_CHECK], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "ThinAgeNet" in result.stdout
