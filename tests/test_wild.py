"""The wild-proxy benchmark: the conditions (dldl_core.data.wild), the summary (dldl_core.evaluation.wild_report), the
error causes (dldl_core.evaluation.error_causes) and benchmarks/wild_proxy.py, on real bundled faces and, where
present, on UTKFace."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from script_modules import script_module

from dldl_core.data.images import load_rgb
from dldl_core.data.wild import CONDITIONS, group_photo, pasted, turned_head_maps
from dldl_core.evaluation import error_causes, wild_report
from dldl_core.models.weights import DEFAULT_WEIGHTS
from dldl_core.pipeline.predictor import Predictor

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "wild_proxy.py"
SINGLE = [name for name, c in CONDITIONS.items() if not c.is_group and name != "pasted"]
SAME_LAYOUT = ("roll_30", "roll_45", "yaw", "pitch", "hand_occluder", "glasses", "makeup")  # the face changes only


@pytest.fixture(scope="module")
def predictor():
    with Predictor(device="cpu") as p:
        yield p


@pytest.fixture(scope="module")
def chips(predictor, grace_hopper_path, astronaut_path) -> dict[str, np.ndarray]:
    """Aligned chips of two real faces, made by the project's own detector and alignment."""
    return {name: predictor.detect(load_rgb(path), max_faces=1)[0].chip
            for name, path in (("grace", grace_hopper_path), ("astronaut", astronaut_path))}


@pytest.fixture(scope="module")
def wild_proxy():
    with script_module(SCRIPT, "benchmarks_wild_proxy") as module:
        yield module


def rng(seed: int = 3) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.mark.parametrize("name", SINGLE)
def test_condition_makes_a_uint8_photo_of_its_size_that_differs_from_the_baseline(name, chips):
    photo, base = CONDITIONS[name].make(chips["grace"], rng()), pasted(chips["grace"], rng())
    assert photo.dtype == np.uint8 and photo.shape == (*CONDITIONS[name].photo_size, 3)
    if photo.shape != base.shape:
        return
    changed = np.any(photo != base, axis=2).mean()
    assert changed > 0.01
    if name in SAME_LAYOUT:  # same seed, same background, size and place: only the face differs
        assert changed < 0.5
    else:  # light, blur, compression act on the whole photo
        assert changed > 0.9


def test_group_photo_pastes_every_chip_where_it_says(chips):
    group = group_photo([chips["grace"], chips["astronaut"]] * 2, rng())
    assert group.photo.shape == (*CONDITIONS["group_photo"].photo_size, 3) and group.photo.dtype == np.uint8
    assert len(group.boxes) == 4
    width = group.photo.shape[1]
    for i, (x0, y0, x1, y1) in enumerate(group.boxes):
        assert 0.10 * width - 1 <= x1 - x0 <= 0.20 * width
        for a0, b0, a1, b1 in group.boxes[i + 1:]:
            assert x1 <= a0 or a1 <= x0 or y1 <= b0 or b1 <= y0  # no two faces overlap


@pytest.mark.parametrize("name, degrees", [("roll_30", 30), ("roll_45", 45)])
def test_rolled_conditions_roll_the_face_by_their_angle(name, degrees, chips, predictor):
    chip = chips["grace"]
    own = error_causes.eye_line_degrees(predictor.detect(chip)[0].keypoints)
    for seed in range(3):
        faces = predictor.detect(CONDITIONS[name].make(chip, rng(seed)))
        assert faces, f"{name}, seed {seed}: no face found"
        eye_line = error_causes.eye_line_degrees(faces[0].keypoints)
        assert abs(abs(eye_line - own) - degrees) < 8, (seed, eye_line)


def test_turned_head_maps_squeeze_and_shorten_the_receding_side():
    map_x, map_y = turned_head_maps(200, 0)
    assert np.allclose(map_x, np.arange(200)[None, :]) and np.allclose(map_y, np.arange(200)[:, None])
    map_x, map_y = turned_head_maps(200, 30)  # the image's left side turns away
    assert map_x[0, 0] > 10  # the left edge now shows what was inside the chip
    assert map_x[0, -1] == -1  # the right edge shows what the chip never saw
    assert np.argmin(np.abs(map_x[0] - 99.5)) < 90  # the nose moves towards the receding side
    assert map_y[0, 20] < 0 < map_y[0, 150]  # receding side shorter (its top row is off the chip), the other taller


def test_summary_numbers_by_hand():
    true = [10, 20, 30, 40]
    pred = [12, np.nan, 50, 40]  # the second face was not found
    std = [1, 9, 3, 5]
    low, high = [9, 0, 25, 41], [13, 0, 35, 45]
    s = wild_report.summarize(true, pred, std, low, high, false_boxes=2)
    assert (s["n"], s["faces_missed"], s["false_boxes"]) == (4, 1, 2)
    assert s["mae"] == pytest.approx(22 / 3)  # |2| + |20| + |0| over the three found
    assert s["gross_error_share"] == pytest.approx(1 / 3)  # only the 20-year error is over 15
    assert s["mean_std"] == pytest.approx(3.0)
    assert s["coverage90"] == pytest.approx(2 / 3)  # 40 is outside [41, 45]
    ends = wild_report.summarize([5, 6, 31], [5, 6, 15], [1, 1, 1], [5, 0, 20], [9, 6, 40])
    assert ends["coverage90"] == 1.0  # both ends of an interval count as inside
    assert ends["gross_error_share"] == pytest.approx(1 / 3)  # 16 years off is gross, 0 is not
    assert wild_report.summarize([0, 0], [15, 15.5], [1, 1], [0, 0], [1, 1])["gross_error_share"] == 0.5  # 15 is not
    changes = wild_report.with_changes({"pasted": {"mae": 5.0}, "blur": {"mae": 7.5}, "jpeg": {"mae": None}})
    assert changes["blur"]["mae_change"] == pytest.approx(2.5) and changes["pasted"]["mae_change"] == 0.0
    assert changes["jpeg"]["mae_change"] is None
    none_found = wild_report.summarize([30], [np.nan], [np.nan], [np.nan], [np.nan])
    assert none_found["faces_missed"] == 1 and none_found["mae"] is None
    table = wild_report.condition_table({"w": wild_report.with_changes({"pasted": s, "jpeg": none_found})})
    assert "| pasted | w | 4 | 1 | 2 | 7.33 | +0.00 | 33.3% | 3.00 | 66.7% |" in table
    assert "| jpeg | w | 1 | 1 | 0 | - | - | - | - | - |" in table


def test_faces_are_matched_to_pasted_boxes_by_overlap():
    pasted_boxes = [(0, 0, 100, 100), (200, 0, 300, 100), (400, 0, 500, 100)]
    predicted = [(210, 10, 290, 90), (20, 20, 80, 80), (600, 600, 640, 640), (450, 0, 550, 100), (25, 25, 75, 75)]
    matches, false_boxes = wild_report.match_faces(pasted_boxes, predicted)
    assert matches == [1, 0, 3]  # the first: the larger of two boxes inside; the third: half inside is enough
    assert false_boxes == 2  # the box far away, and the smaller box on the first face
    matches, false_boxes = wild_report.match_faces(pasted_boxes, [(80, 0, 180, 100)])  # 20 % inside: no match
    assert matches == [None, None, None] and false_boxes == 1


def test_error_causes_are_measured():
    dark_flat = np.full((200, 200, 3), 40, np.uint8)
    assert error_causes.image_causes(dark_flat, 0.0) == ["grayscale", "dark", "low contrast", "blurry"]
    texture = np.random.default_rng(0).integers(0, 256, (200, 200, 3), dtype=np.uint8)
    assert error_causes.image_causes(texture, -20.0) == [error_causes.STRONG_ROLL]
    assert error_causes.image_causes(texture, None) == [error_causes.NO_FACE]
    assert error_causes.eye_line_degrees([[0, 0], [10, 10]]) == pytest.approx(45.0)
    rows = error_causes.cause_table([["a"], ["a", "b"], [], ["b"], []], worst=[1], names=["c", "b"])
    assert [r["cause"] for r in rows] == ["c", "b", "a"]
    c, b, _ = rows
    assert (c["worst"], c["all"], c["ratio"]) == (0, 0, None)
    assert (b["worst"], b["worst_share"], b["all"], b["all_share"]) == (1, 1.0, 2, 0.4)
    assert b["ratio"] == pytest.approx(2.5)
    assert error_causes.cause_markdown(rows, 1, 5).splitlines()[:4] == [
        "| cause | among the 1 worst | among all 5 | over-representation |", "|---|---:|---:|---:|",
        "| c | 0 (0%) | 0 (0.0%) | - |", "| b | 1 (100%) | 2 (40.0%) | x2.5 |"]


def two_face_utkface(data: Path, chips: dict[str, np.ndarray]) -> Path:
    """A UTKFace-shaped folder of the two real chips, both in val (Grace Hopper 79, the astronaut 42)."""
    (data / "images").mkdir(parents=True)
    for name, chip in chips.items():
        Image.fromarray(chip).save(data / "images" / f"{name}.png")
    (data / "manifest.csv").write_text("file,age,gender,race,split\ngrace.png,79,1,0,val\nastronaut.png,42,1,0,val\n")
    return data


def test_benchmark_main_on_two_real_faces(wild_proxy, chips, tmp_path, capsys):
    data = two_face_utkface(tmp_path / "data", chips)
    out = tmp_path / "out"
    assert wild_proxy.main(["--data", str(data), "--limit", "2", "--out", str(out), "--json", "--worst", "1"]) == 0
    result = json.loads((out / "wild_proxy.json").read_text())
    assert json.loads(capsys.readouterr().out) == result
    assert (out / "wild_proxy.md").read_text().startswith("Wild proxy: 2 UTKFace val faces")
    assert result["n_faces"] == 2 and result["excluded_duplicates"] == 0
    (summaries,) = result["results"].values()
    assert list(summaries) == list(CONDITIONS)
    assert all(s["n"] == 2 for s in summaries.values())
    found = [name for name, s in summaries.items() if s["faces_missed"] == 0]
    assert len(found) >= 11, summaries
    assert summaries["pasted"]["mae"] < 20 and summaries["pasted"]["mae_change"] == 0
    (worst,) = result["worst"].values()
    assert worst["n"] == 2 and worst["k"] == 1 and len(worst["worst"]) == 1
    counts = {r["cause"]: r["all"] for r in worst["causes"]}
    assert (counts["age 60-79"], counts["age 40-59"], counts["age 0-12"], counts["grayscale"]) == (1, 1, 0, 0)


def test_a_second_network_is_compared_on_the_same_photos(wild_proxy, chips, random_weights, tmp_path, capsys):
    data = two_face_utkface(tmp_path / "data", chips)
    out = tmp_path / "out"
    argv = ["--data", str(data), "--limit", "2", "--out", str(out), "--conditions", "pasted,blur",
            "--weights", str(DEFAULT_WEIGHTS), str(random_weights)]
    assert wild_proxy.main(argv) == 0
    result = json.loads((out / "wild_proxy.json").read_text())
    first, second = result["weights"]
    assert result["sha256"][first] == json.loads(DEFAULT_WEIGHTS.with_suffix(".json").read_text())["sha256"]
    assert result["sha256"][second] == json.loads(random_weights.with_suffix(".json").read_text())["sha256"]
    assert list(result["paired"]) == [second]
    for condition, row in result["paired"][second].items():
        summaries = {label: result["results"][label][condition] for label in (first, second)}
        assert row["n"] == 2 == summaries[first]["n"] - summaries[first]["faces_missed"]
        assert row["mae_a"] == pytest.approx(summaries[first]["mae"])
        assert row["mae_b"] == pytest.approx(summaries[second]["mae"])
    assert "(a) against `random_tiny.safetensors` (b) on the same photos" in capsys.readouterr().out


@pytest.mark.parametrize("extra, words", [
    (["--data", "{tmp}/nowhere"], "is not a UTKFace folder"),
    (["--data", "{data}", "--conditions", "pasted,fog"], "unknown condition 'fog'"),
    (["--data", "{data}", "--weights", "{tmp}/missing.safetensors"], "could not be loaded"),
    (["--data", "{data}", "--examples", "--out", str(ROOT / "out")], "outside the repository"),
])
def test_bad_input_is_one_sentence_and_exit_2(wild_proxy, tmp_path, capsys, extra, words):
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    Image.new("RGB", (200, 200), (128, 100, 90)).save(data / "images" / "a.png")
    (data / "manifest.csv").write_text("file,age,split\na.png,30,val\n")
    argv = [a.format(tmp=tmp_path, data=data) for a in extra]
    assert wild_proxy.main(argv + ([] if "--out" in argv else ["--out", str(tmp_path / "out")])) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0] and "Traceback" not in err[0]
    assert not (ROOT / "out").exists()


@pytest.mark.slow
def test_script_on_utkface(utkface, tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), "--data", str(utkface), "--limit", "6", "--out",
                           str(tmp_path), "--json"], capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result == json.loads((tmp_path / "wild_proxy.json").read_text())
    assert result["n_faces"] == 6 and result["excluded_duplicates"] == 61
    (summaries,) = result["results"].values()
    assert list(summaries) == list(CONDITIONS) and all(s["n"] == 6 for s in summaries.values())
    assert summaries["pasted"]["faces_missed"] == 0 and summaries["pasted"]["mae"] < 15


@pytest.mark.parametrize("stem", ["thin_age_net", "tiny_age_net"])
def test_the_cards_current_pipeline_tables_describe_the_shipped_weights(stem):
    """The model card's wild-proxy rows for today's face pipeline were measured on the shipped weights: in
    ``<stem>.wild_proxy.current.json`` where the card's comparison is older than the pipeline, else in the comparison
    itself (``<stem>.wild_proxy.json``, its ``shipped: ...`` network). New weights mean running
    benchmarks/wild_proxy.py --json for them again."""
    weights = DEFAULT_WEIGHTS.with_name(f"{stem}.safetensors")
    current = weights.with_suffix(".wild_proxy.current.json")
    if current.is_file():
        result = json.loads(current.read_text())
        (label,) = result["weights"]
        assert label == weights.name
    else:
        result = json.loads(weights.with_suffix(".wild_proxy.json").read_text())
        (label,) = [w for w in result["weights"] if w.startswith("shipped") and weights.name in w]
    assert result["n_faces"] == 200
    assert result["sha256"][label] == json.loads(weights.with_suffix(".json").read_text())["sha256"]
    assert set(result["results"][label]) == set(CONDITIONS)
