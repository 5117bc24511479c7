"""The explain, stages and faithfulness sub-commands: JSON output, written files and exit codes."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from dldl_core.cli.main import main
from dldl_core.explain.regions import REGION_NAMES


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_explain_json_and_files(capsys, tmp_path, grace_hopper_path, random_weights):
    code, out, err = run(capsys, "explain", grace_hopper_path, "--weights", random_weights, "--out", tmp_path,
                         "--json", "--target", "contrast:30,70", "--method", "LayerCAM")
    assert code == 0, err
    data = json.loads(out)
    assert len(data["faces"]) == 1
    face = data["faces"][0]
    assert len(face["box"]) == 4 and 0 <= face["age"] <= 116 and face["method"] == "layercam"
    assert set(face["regions"]) == set(REGION_NAMES)
    assert all(isinstance(v, float) for v in face["regions"].values())
    assert set(face["files"]) == {"gradcam", "occlusion", "regions"}
    size = Image.open(grace_hopper_path).size
    for path in face["files"].values():
        assert Image.open(path).size == size


def test_explain_text_output_without_files(capsys, grace_hopper_path, random_weights):
    code, out, _ = run(capsys, "explain", grace_hopper_path, "--weights", random_weights, "--no-sliding")
    assert code == 0 and "face 1" in out and "years" in out


def test_no_face_exits_1_with_an_empty_list(capsys, tmp_path, random_weights):
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((120, 160, 3), 128, np.uint8)).save(blank)
    code, out, err = run(capsys, "explain", blank, "--weights", random_weights, "--json")
    assert code == 1 and json.loads(out)["faces"] == [] and "no face" in err


@pytest.mark.parametrize("extra, message", [(["--target", "bin:500"], "bin"), (["--method", "bogus"], "bogus"),
                                            (["--target", "contrast:30"], "contrast")])
def test_user_errors_exit_2_with_one_line(capsys, grace_hopper_path, random_weights, extra, message):
    code, out, err = run(capsys, "explain", grace_hopper_path, "--weights", random_weights, *extra)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("dldl: error:") and message in err


def test_missing_image_exits_2(capsys, tmp_path, random_weights):
    code, _, err = run(capsys, "explain", tmp_path / "nope.jpg", "--weights", random_weights)
    assert code == 2 and "no such file" in err


def test_stages_command(capsys, tmp_path, photo_folder, random_weights):
    folder, manifest = photo_folder
    code, out, err = run(capsys, "stages", "--data", folder, "--manifest", manifest, "--split", "all", "--limit", "1",
                         "--pipeline", "full", "--out", tmp_path, "--weights", random_weights, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["faces"] == 2 and data["stages"]["60+"]["n"] == 1 and data["stages"]["20-39"]["n"] == 1
    assert all((tmp_path / name).is_file() for name in ("stages.png", "stages.json", "stages.csv"))
    assert data["fill"] == "blur" and json.loads((tmp_path / "stages.json").read_text())["fill"] == "blur"


def test_stages_fill_option(capsys, tmp_path, photo_folder, random_weights):
    from dldl_core.cli.main import build_parser
    from dldl_core.explain.fills import FILLS

    action = next(a for a in build_parser()._subparsers._group_actions[0].choices["stages"]._actions
                  if a.dest == "fill")
    assert tuple(action.choices) == tuple(FILLS) and action.default == "blur"
    folder, manifest = photo_folder
    code, out, err = run(capsys, "stages", "--data", folder, "--manifest", manifest, "--split", "all", "--limit", "1",
                         "--fill", "mean", "--out", tmp_path, "--weights", random_weights)
    assert code == 0, err
    assert "mean fill" in out and "(p_H " in out
    assert json.loads((tmp_path / "stages.json").read_text())["fill"] == "mean"
    with pytest.raises(SystemExit) as exit_:
        run(capsys, "stages", "--data", folder, "--manifest", manifest, "--fill", "black", "--out", tmp_path)
    assert exit_.value.code == 2 and "invalid choice: 'black'" in capsys.readouterr().err


def test_stages_user_errors(capsys, tmp_path, photo_folder, random_weights):
    folder, manifest = photo_folder
    base = ["stages", "--data", folder, "--out", tmp_path, "--weights", random_weights]
    assert run(capsys, *base, "--manifest", tmp_path / "missing.csv")[0] == 2
    assert run(capsys, *base, "--manifest", manifest, "--limit", "0")[0] == 2
    assert run(capsys, *base, "--manifest", manifest, "--split", "test")[0] == 2


def test_stages_on_a_manifest_without_a_split_column_uses_every_row(capsys, tmp_path, photo_folder, random_weights):
    folder, manifest = photo_folder
    rows = [line.split(",") for line in manifest.read_text().splitlines()]
    assert rows[0] == ["file", "age", "gender", "split"]
    plain = tmp_path / "file_age.csv"
    plain.write_text("".join(f"{r[0]},{r[1]}\n" for r in rows))  # the eight photos, no split column
    code, out, err = run(capsys, "stages", "--data", folder, "--manifest", plain, "--pipeline", "full", "--limit", "2",
                         "--out", tmp_path / "out", "--weights", random_weights, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["split"] is None and data["faces"] == 4  # two per stage of the eight rows; split 'val' holds two
    assert data["stages"]["60+"]["n"] == 2 and data["stages"]["20-39"]["n"] == 2
    assert "has no split column: all its rows are used" in err


def test_stages_on_a_split_without_rows_names_the_splits_there_are(capsys, tmp_path, photo_folder, random_weights):
    folder, manifest = photo_folder
    code, out, err = run(capsys, "stages", "--data", folder, "--manifest", manifest, "--split", "test",
                         "--out", tmp_path, "--weights", random_weights)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "no usable rows in split 'test'; its splits are train, val" in err


def test_faithfulness_command(capsys, tmp_path, photo_folder, random_weights):
    folder, manifest = photo_folder
    code, out, err = run(capsys, "faithfulness", "--data", folder, "--manifest", manifest, "--split", "all",
                         "--limit", "2", "--methods", "gradcam,eigencam", "--road-faces", "2", "--steps", "4",
                         "--pipeline", "full", "--out", tmp_path, "--weights", random_weights, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert set(data["methods"]) == {"gradcam", "eigencam"}
    assert data["fill"] == "blur"
    for r in data["methods"].values():
        assert r["n"] == 2 and r["fill"] == "blur" and r["road_faces"] == 2
        for key in ("deletion_gain", "insertion_gain", "road_gain"):
            lo, hi = r[f"{key}_ci95"]
            assert lo <= r[key] <= hi
        assert -1 <= r["sanity_rank_corr"] <= 1
    assert (tmp_path / "faithfulness.png").is_file() and (tmp_path / "faithfulness.json").is_file()
    assert "deletion gain vs random" in (tmp_path / "faithfulness.md").read_text()


def test_faithfulness_on_a_manifest_without_a_split_column_uses_every_row(capsys, tmp_path, photo_folder,
                                                                          random_weights):
    folder, manifest = photo_folder
    plain = tmp_path / "file_age.csv"
    plain.write_text("".join(",".join(line.split(",")[:2]) + "\n" for line in manifest.read_text().splitlines()))
    code, out, err = run(capsys, "faithfulness", "--data", folder, "--manifest", plain, "--per-stage", "2",
                         "--methods", "gradcam", "--road-faces", "1", "--steps", "4", "--pipeline", "full",
                         "--fill", "mean", "--sanity-faces", "0",
                         "--out", tmp_path / "out", "--weights", random_weights, "--json")
    assert code == 0, err
    data = json.loads(out)
    # every row of the plain manifest (split 'val' alone holds two), two per stage: two of 77 and two of 36 years
    assert data["split"] is None and data["methods"]["gradcam"]["n"] == 4
    assert {s: r["n"] for s, r in data["methods"]["gradcam"]["by_stage"].items()} == {"60+": 2, "20-39": 2}
    assert data["methods"]["gradcam"]["fill"] == "mean" and "sanity_rank_corr" not in data["methods"]["gradcam"]
    assert "has no split column: all its rows are used" in err
