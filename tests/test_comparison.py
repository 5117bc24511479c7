"""Two networks on the same faces (dldl_core.evaluation.comparison) and benchmarks/compare_weights.py, on real
bundled faces."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from script_modules import script_module

from dldl_core.evaluation.comparison import compare_errors, comparison_table, verdict
from dldl_core.models.weights import DEFAULT_WEIGHTS

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "compare_weights.py"


@pytest.fixture(scope="module")
def compare_weights():
    with script_module(SCRIPT, "benchmarks_compare_weights") as module:
        yield module


def test_numbers_by_hand_and_a_face_one_missed_is_left_out_of_both():
    true = np.array([20.0, 30.0, 40.0, 50.0])
    a = np.array([22.0, 30.0, 60.0, np.nan])  # errors 2, 0, 20; the last face missed
    b = np.array([21.0, 35.0, 41.0, 50.0])  # errors 1, 5, 1 on the faces a found
    row = compare_errors(true, a, b, n_boot=500)
    assert row["n"] == 3
    assert row["mae_a"] == pytest.approx(22 / 3) and row["mae_b"] == pytest.approx(7 / 3)
    assert row["mae_diff"] == pytest.approx(5.0)
    assert row["gross_a"] == pytest.approx(1 / 3) and row["gross_b"] == 0.0
    assert row["mae_diff_low"] <= row["mae_diff"] <= row["mae_diff_high"]
    assert 0.0 <= row["gross_diff_low"] <= row["gross_diff"] <= row["gross_diff_high"] <= 1.0
    assert compare_errors(true, np.full(4, np.nan), b) == {"n": 0}


def test_a_shared_hard_face_does_not_widen_the_paired_interval():
    rng = np.random.default_rng(0)
    true = rng.uniform(1, 90, 400)
    shared = rng.normal(0, 8, 400)  # both networks' errors, mostly the same
    a, b = true + shared, true + shared + 0.5 * np.sign(shared)  # b is 0.5 years worse on every face
    row = compare_errors(true, a, b)
    assert row["mae_diff"] == pytest.approx(-0.5)
    assert row["mae_diff_high"] - row["mae_diff_low"] < 0.01  # the unpaired MAEs are uncertain by about 0.5
    assert verdict(row) == "a"
    assert verdict(compare_errors(true, b, a)) == "b"
    assert verdict(compare_errors(true, a, a + rng.choice([-0.3, 0.3], 400))) == "tie"


def test_table_names_the_better_network():
    rows = {"chip": compare_errors(np.array([10.0, 20.0]), np.array([10.0, 20.0]), np.array([15.0, 26.0])),
            "pasted": {"n": 0}}
    lines = comparison_table(rows, "new", "old").splitlines()
    assert lines[0].startswith("| faces | n (both found) | MAE `new` | MAE `old` |")
    assert lines[2].endswith("| new |") and "-5.500" in lines[2]
    assert lines[3] == "| pasted | 0 | - | - | - | - | - |"


def small_utkface(folder: Path, grace_hopper_path: Path, astronaut_path: Path) -> Path:
    (folder / "images").mkdir(parents=True)
    Image.open(grace_hopper_path).convert("RGB").save(folder / "images" / "grace.png")
    Image.open(astronaut_path).convert("RGB").save(folder / "images" / "astronaut.png")
    (folder / "manifest.csv").write_text("file,age,gender,race,split\ngrace.png,79,1,0,val\n"
                                         "astronaut.png,42,1,0,val\n")
    return folder


def test_script_ranks_two_real_networks_on_two_real_photos(compare_weights, random_weights, grace_hopper_path,
                                                          astronaut_path, tmp_path, capsys):
    data = small_utkface(tmp_path / "data", grace_hopper_path, astronaut_path)
    out = tmp_path / "compare.json"
    argv = ["--data", str(data), "--weights", str(DEFAULT_WEIGHTS), str(random_weights), "--pipelines",
            "full,pasted", "--threads", "1", "--out", str(out), "--json"]
    assert compare_weights.main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    result = json.loads(out.read_text())
    assert printed == {k: v for k, v in result.items() if k != "per_face"}
    assert list(result["pipelines"]) == ["full", "pasted"]
    for name, row in result["pipelines"].items():
        faces = result["per_face"][name]
        assert sorted(faces["true"]) == [42.0, 79.0] and row["n"] == 2
        errors = {k: np.abs(np.array(faces[k]) - np.array(faces["true"])) for k in ("a", "b")}
        assert row["mae_a"] == pytest.approx(errors["a"].mean(), abs=0.01)
        assert row["mae_diff"] == pytest.approx(errors["a"].mean() - errors["b"].mean(), abs=0.01)
    # the shipped network reads these two faces far better than an untrained one
    assert result["pipelines"]["full"]["mae_a"] < result["pipelines"]["full"]["mae_b"]


@pytest.mark.parametrize("extra, words", [
    (["--data", "{tmp}/nowhere", "--weights", "{w}", "{w}"], "is not a UTKFace folder"),
    (["--data", "{data}", "--weights", "{w}", "{tmp}/missing.safetensors"], "no weights file at"),
    (["--data", "{data}", "--weights", "{w}", "{w}", "--pipelines", "chip,fog"], "unknown pipeline 'fog'"),
    (["--data", "{data}", "--weights", "{w}", "{bad}"], "could not be loaded"),
    (["--data", "{data}", "--weights", "{w}", "{w}", "--split", "test"], "no usable rows in split 'test'"),
])
def test_bad_input_is_one_sentence_and_exit_2(compare_weights, tmp_path, capsys, extra, words):
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    Image.new("RGB", (200, 200), (128, 100, 90)).save(data / "images" / "a.png")
    (data / "manifest.csv").write_text("file,age,split\na.png,30,val\n")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file")
    argv = [a.format(tmp=tmp_path, data=data, w=DEFAULT_WEIGHTS, bad=bad) for a in extra]
    assert compare_weights.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0] and "Traceback" not in err[0]
