"""The notebooks run top to bottom on small local data (bundled photos, untrained weights), with no shared data."""
from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def execute(name: str) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    book = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbclient.NotebookClient(book, timeout=150, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    errors = [o for c in book.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors


@pytest.fixture
def small_data(monkeypatch, photo_folder, random_weights, tmp_path):
    folder, manifest = photo_folder
    for key, value in {"DLDL_NOTEBOOK_DATA": folder, "DLDL_NOTEBOOK_MANIFEST": manifest, "DLDL_NOTEBOOK_LIMIT": 2,
                       "DLDL_NOTEBOOK_EPOCHS": 2, "DLDL_NOTEBOOK_INPUT_SIZE": 32, "DLDL_NOTEBOOK_SPLIT": "",
                       "DLDL_NOTEBOOK_PIPELINE": "full", "DLDL_WEIGHTS": random_weights,
                       "MPLBACKEND": "agg", "TMPDIR": tmp_path}.items():
        monkeypatch.setenv(key, str(value))


def test_every_notebook_is_tested():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(NAMES)


NAMES = ["01_label_distributions.ipynb", "02_train_kl_vs_l1.ipynb", "03_explain_age_stages.ipynb"]


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs(name, small_data):
    execute(name)
