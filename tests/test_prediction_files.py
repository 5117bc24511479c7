"""The --csv and --jsonl outputs of ``dldl predict``, and resuming an interrupted run from them."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from dldl_core.cli.main import main
from dldl_core.pipeline.prediction import FacePrediction, ImagePrediction
from dldl_core.pipeline.prediction_files import CSV_COLUMNS, PredictionFiles


def face(age: float) -> FacePrediction:
    return FacePrediction(box=(1, 2, 30, 40), score=0.9, age=age, std=3.0, interval90=(age - 5, age + 5),
                          support=np.arange(3.0), distribution=np.ones(3) / 3, age_original=age, age_mirrored=age,
                          confirmation=0.8)


RESULTS = [ImagePrediction("a.jpg", [face(30), face(40)]), ImagePrediction("b.jpg", []),
           ImagePrediction("c.jpg", error="c.jpg is not an image Pillow can read"),
           ImagePrediction("d,1.jpg", [face(9)])]


def write(tmp_path, results, resume=False):
    with PredictionFiles(tmp_path / "o.csv", tmp_path / "o.jsonl", resume) as files:
        for r in results:
            files.write(r)
        return files.done


def csv_paths(path):
    return [row["path"] for row in csv.DictReader(path.open(newline=""))]


def test_every_image_has_a_row_a_face_each(tmp_path):
    write(tmp_path, RESULTS)
    rows = list(csv.DictReader((tmp_path / "o.csv").open(newline="")))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [(r["path"], r["face"]) for r in rows] == [("a.jpg", "1"), ("a.jpg", "2"), ("b.jpg", "0"), ("c.jpg", ""),
                                                      ("d,1.jpg", "1")]
    assert rows[3]["error"].startswith("c.jpg is not") and float(rows[1]["age"]) == 40
    lines = (tmp_path / "o.jsonl").read_text().splitlines()
    assert [json.loads(line)["path"] for line in lines] == ["a.jpg", "b.jpg", "c.jpg", "d,1.jpg"]


def test_resuming_keeps_whole_images_and_drops_a_cut_off_one(tmp_path):
    write(tmp_path, RESULTS)
    for name in ("o.csv", "o.jsonl"):  # interrupted in the middle of the last line
        path = tmp_path / name
        path.write_bytes(path.read_bytes()[:-7])
    done = write(tmp_path, [], resume=True)
    # The JSONL lost d's line; the CSV its cut-off row and (as the last image, maybe incomplete) the whole of c.
    assert done == {"a.jpg", "b.jpg"}
    assert csv_paths(tmp_path / "o.csv") == ["a.jpg", "a.jpg", "b.jpg"]
    with PredictionFiles(tmp_path / "o.csv", tmp_path / "o.jsonl", resume=True) as files:
        assert files.done == {"a.jpg"}  # b is now the CSV's last image: it is predicted again, to be safe
        for r in RESULTS:
            if r.path not in files.done:
                files.write(r)
    assert csv_paths(tmp_path / "o.csv") == ["a.jpg", "a.jpg", "b.jpg", "c.jpg", "d,1.jpg"]
    assert [json.loads(line)["path"] for line in (tmp_path / "o.jsonl").read_text().splitlines()] == [
        "a.jpg", "b.jpg", "c.jpg", "d,1.jpg"]


def test_resume_needs_an_output_and_refuses_a_foreign_csv(tmp_path):
    with pytest.raises(ValueError, match="needs --csv or --jsonl"):
        PredictionFiles(resume=True)
    (tmp_path / "o.csv").write_text("name,value\nx,1\n")
    with pytest.raises(ValueError, match="is not a CSV that dldl predict wrote"):
        PredictionFiles(tmp_path / "o.csv", resume=True)


def test_a_csv_of_the_version_before_the_grain_column_resumes_with_every_row_whole(tmp_path):
    write(tmp_path, RESULTS[:2])
    grain = CSV_COLUMNS.index("grain")
    earlier = [row[:grain] + row[grain + 1:] for row in csv.reader((tmp_path / "o.csv").open(newline=""))]
    with (tmp_path / "o.csv").open("w", newline="") as f:
        csv.writer(f).writerows(earlier)
    with PredictionFiles(tmp_path / "o.csv", tmp_path / "o.jsonl", resume=True) as files:
        assert files.done == {"a.jpg"}  # b was the CSV's last image
        measured = face(9)
        measured.chip = np.full((32, 32, 3), 128, np.uint8)  # a crop: this version measures its grain
        for r in [*RESULTS[1:3], ImagePrediction("d,1.jpg", [measured])]:
            files.write(r)
    rows = list(csv.reader((tmp_path / "o.csv").open(newline="")))
    assert tuple(rows[0]) == CSV_COLUMNS and all(len(row) == len(CSV_COLUMNS) for row in rows)
    assert [row[grain] for row in rows[1:3]] == ["", ""]  # a's faces: not measured by the earlier version
    assert float(rows[1][CSV_COLUMNS.index("age")]) == 30 and float(rows[-1][grain]) >= 0  # d's face, measured now


def test_an_interrupted_folder_run_resumes_where_it_stopped(tmp_path, photo_folder, capsys):
    folder, _ = photo_folder
    full, part = tmp_path / "full.csv", tmp_path / "part.csv"
    assert main(["predict", str(folder), "--weights", "tiny", "--csv", str(full)]) == 0
    text = full.read_text()
    part.write_text(text[:text.index("img_4")] + "img_4.png,1,12")  # stopped while writing the fifth image
    capsys.readouterr()
    assert main(["predict", str(folder), "--weights", "tiny", "--csv", str(part), "--resume", "--json"]) == 0
    redone = [image["path"] for image in json.loads(capsys.readouterr().out)["images"]]
    assert [p.rsplit("/", 1)[-1] for p in redone] == [f"img_{i}.png" for i in range(3, 8)]  # img_3 was the last
    assert sorted(part.read_text().splitlines()) == sorted(text.splitlines())
