"""The dldl command line end to end, in-process (same code path as the console script)."""
import json

import pytest
from PIL import Image

from dldl_core.cli.main import main
from dldl_core.pipeline.grain import GRAINY


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    for name in ("train", "evaluate", "predict"):
        assert name in out


def test_predict_json_schema_on_a_real_photo(capsys, grace_hopper_path, random_weights):
    code, out, _ = run(capsys, "predict", grace_hopper_path, "--weights", random_weights, "--json")
    assert code == 0
    images = json.loads(out)["images"]
    assert len(images) == 1 and images[0]["error"] is None and len(images[0]["faces"]) == 1
    face = images[0]["faces"][0]
    assert set(face) == {"box", "score", "confirmation", "age", "std", "interval90", "grain", "support",
                         "distribution"}
    assert len(face["support"]) == len(face["distribution"]) == 117
    assert sum(face["distribution"]) == pytest.approx(1, abs=1e-3)
    x0, y0, x1, y1 = face["box"]
    assert 150 < x0 < x1 < 400 and 100 < y0 < y1 < 400  # her face, not the flag behind her
    assert face["interval90"][0] <= face["age"] <= face["interval90"][1]


def test_predict_reports_grain_and_says_when_a_face_is_grainy(capsys, astronaut_path, dim_astronaut_path,
                                                             random_weights):
    code, out, _ = run(capsys, "predict", astronaut_path, dim_astronaut_path, "--weights", random_weights)
    clean, dim = out.strip().splitlines()
    assert code == 0 and "grainy" not in clean
    assert dim.endswith("(grainy, as in a dim photo: less reliable, may be too old)")
    code, out, _ = run(capsys, "predict", astronaut_path, dim_astronaut_path, "--weights", random_weights, "--json")
    grain = [image["faces"][0]["grain"] for image in json.loads(out)["images"]]
    assert grain[0] < GRAINY < grain[1]


def test_bad_image_is_one_line_and_exit_2(capsys, tmp_path, random_weights):
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a photo")
    code, _out, err = run(capsys, "predict", bad, "--weights", random_weights)
    assert code == 2
    assert err.strip().count("\n") == 0 and "not an image" in err and "Traceback" not in err


def test_no_face_is_exit_0_with_an_empty_list(capsys, tmp_path, random_weights):
    blank = tmp_path / "wall.png"
    Image.new("RGB", (320, 240), (120, 130, 140)).save(blank)
    code, out, _ = run(capsys, "predict", blank, "--weights", random_weights, "--json")
    assert code == 0 and json.loads(out)["images"][0]["faces"] == []


def test_folder_prediction_writes_one_csv_row_per_face(capsys, tmp_path, photo_folder, random_weights):
    folder, _ = photo_folder
    out_csv = tmp_path / "faces.csv"
    code, _out, _ = run(capsys, "predict", folder, "--weights", random_weights, "--csv", out_csv, "--workers", "2")
    rows = out_csv.read_text().strip().splitlines()
    assert code == 0 and rows[0].startswith("path,face") and len(rows) == 1 + 8


def test_evaluate_json(capsys, photo_folder, random_weights):
    folder, manifest = photo_folder
    code, out, _ = run(capsys, "evaluate", "--data", folder, "--manifest", manifest, "--pipeline", "full",
                       "--weights", random_weights, "--json")
    result = json.loads(out)
    assert code == 0 and result["n"] == 8 and result["pipeline"] == "full" and result["faces_missed"] == 0
    assert list(result["per_band"]) == ["0-12", "13-19", "20-39", "40-59", "60-79", "80+"]
    assert result["per_band"]["60-79"]["n"] == 4 and "per_gender" in result
    assert 0 <= result["coverage90"] <= 1 and result["interval90_width"] > 0  # the 90 % intervals were kept
    assert 0 <= result["gross_error_share"] <= 1


def test_predict_refuses_a_confirmation_outside_0_to_1_and_reports_the_second_look(capsys, grace_hopper_path):
    code, _, err = run(capsys, "predict", grace_hopper_path, "--min-confirmation", "1.5")
    assert code == 2 and "--min-confirmation" in err and "Traceback" not in err
    code, out, _ = run(capsys, "predict", grace_hopper_path, "--json")
    face = json.loads(out)["images"][0]["faces"][0]
    assert code == 0 and face["confirmation"] >= 0.7
    code, out, _ = run(capsys, "predict", grace_hopper_path, "--json", "--min-confirmation", "0")
    assert code == 0 and json.loads(out)["images"][0]["faces"][0]["confirmation"] is None  # no second look


def strict_json(text: str):
    """``json.loads`` that refuses NaN and infinities: Python's ``json`` writes them, but they are not JSON."""
    def refuse(constant: str):
        raise ValueError(f"{constant} is not JSON")
    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def weights_without_distribution(tmp_path_factory):
    """An untrained metric-regression (``mr``) TinyAgeNet: one age per face, no distribution, so no std or interval."""
    import torch

    from dldl_core.models.networks import create_model
    from dldl_core.models.preprocess import Preprocess
    from dldl_core.models.weights import save_weights

    torch.manual_seed(0)
    model = create_model("tiny", max_age=116, num_bins=117, head="scalar")
    path = tmp_path_factory.mktemp("mr") / "mr_tiny.safetensors"
    return save_weights(model, path, Preprocess(input_size=64), "mr", {"metrics": {}})


def test_predict_without_a_distribution_writes_null_never_nan(capsys, tmp_path, grace_hopper_path,
                                                              weights_without_distribution):
    import csv

    out_csv, out_jsonl = tmp_path / "faces.csv", tmp_path / "faces.jsonl"
    code, out, err = run(capsys, "predict", grace_hopper_path, "--weights", weights_without_distribution, "--json",
                         "--csv", out_csv, "--jsonl", out_jsonl)
    assert code == 0, err
    face = strict_json(out)["images"][0]["faces"][0]
    assert face["std"] is None and face["interval90"] == [None, None] and face["distribution"] is None
    assert 0 <= face["age"] <= 116 and len(face["box"]) == 4 and 0 < face["score"] <= 1
    assert strict_json(out_jsonl.read_text())["faces"] == [face]
    (row,) = csv.DictReader(out_csv.open())
    assert row["std"] == row["lo90"] == row["hi90"] == "" and float(row["age"]) == face["age"]
    code, out, _ = run(capsys, "predict", grace_hopper_path, "--weights", weights_without_distribution)
    line = out.strip().removeprefix(str(grace_hopper_path))
    assert code == 0 and f"age {face['age']:.1f} (these weights give no distribution)" in line
    assert "nan" not in line.lower()


def test_printed_json_turns_nan_infinities_and_numpy_values_into_json():
    import numpy as np

    from dldl_core.cli.common import json_ready

    data = {"a": float("nan"), "b": [np.float32(np.inf), -np.inf, 1.5], "c": np.array([[1, 2]]),
            "d": (np.float64(2.25), None, "x"), "e": np.int64(3), "f": np.bool_(True)}
    text = json.dumps(json_ready(data), allow_nan=False)
    assert strict_json(text) == {"a": None, "b": [None, None, 1.5], "c": [[1, 2]], "d": [2.25, None, "x"], "e": 3,
                                 "f": True}


def test_evaluate_on_a_missing_manifest_is_exit_2(capsys, tmp_path, random_weights):
    code, _, err = run(capsys, "evaluate", "--data", tmp_path, "--manifest", tmp_path / "none.csv",
                       "--weights", random_weights)
    assert code == 2 and err.startswith("dldl: error:")


def test_module_entry_point_runs():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "dldl_core", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "predict" in result.stdout


def test_the_command_line_does_not_import_grad_cam_until_an_explanation_needs_it():
    import subprocess
    import sys

    code = ("import sys; from dldl_core.cli.main import build_parser; build_parser(); "
            "print('pytorch_grad_cam' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stderr[-1000:]


def test_the_method_names_of_the_options_are_the_methods_that_exist():
    from dldl_core.explain.cam import CAM_METHODS
    from dldl_core.explain.methods import CAM_METHOD_NAMES

    assert tuple(CAM_METHODS) == CAM_METHOD_NAMES


def test_folder_prediction_shows_a_progress_bar_on_a_terminal(monkeypatch, photo_folder):
    import io

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    folder, _ = photo_folder
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert main(["predict", str(folder), "--weights", "tiny", "--json"]) == 0
    assert "8/8" in terminal.getvalue() and "image/s" in terminal.getvalue()
    terminal.seek(0)
    terminal.truncate()
    assert main(["predict", str(folder), "--weights", "tiny", "--json", "--no-progress"]) == 0
    assert terminal.getvalue() == ""


def test_app_serves_the_installed_app_with_the_readmes_options(monkeypatch):
    import os

    from dldl_core.assets import APP_MAIN

    calls = []
    monkeypatch.setattr(os, "execv", lambda path, argv: calls.append(argv))
    assert main(["app", "--port", "8600"]) == 0
    assert calls[0][1:5] == ["-m", "streamlit", "run", str(APP_MAIN)] and APP_MAIN.is_file()
    assert " ".join(calls[0][5:]) == ("--server.address 127.0.0.1 --server.port 8600 --server.headless true "
                                      "--browser.gatherUsageStats false")


def test_app_without_its_extra_is_one_line(monkeypatch, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "streamlit", None)
    assert main(["app"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "dldl: error: the app needs the app extra: pip install 'dldl_core[app]'"
