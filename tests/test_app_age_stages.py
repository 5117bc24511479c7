"""AppTest of the Age stages page: the shipped analysis (or a note) with counts and intervals, the corrected
statistics (or a note for a report made before them), a run on a user's folder, thin stages, and the paths a user
may type."""
import json

import pytest
from apptest_support import no_exception, open_page, weights_under_test
from test_stage_report import REPORT, synthetic_report

from dldl_core.ui.stage_report import find_stage_report, has_statistics

PAGE = "views/age_stages.py"


@pytest.fixture(autouse=True)
def weights(monkeypatch, random_weights):
    monkeypatch.setenv("DLDL_WEIGHTS", str(weights_under_test(random_weights)))


def weights_alone(random_weights, folder):
    """The untrained weights copied into ``folder``: no stage report beside them."""
    for suffix in (".safetensors", ".json"):
        (folder / f"w{suffix}").write_bytes(random_weights.with_suffix(suffix).read_bytes())
    return folder / "w.safetensors"


def test_without_any_analysis_a_note(random_weights, tmp_path, monkeypatch):
    monkeypatch.setenv("DLDL_WEIGHTS", str(weights_alone(random_weights, tmp_path)))
    monkeypatch.setattr("dldl_core.ui.stage_report.DOCS_FIGURES", tmp_path / "no_figures")
    at = open_page(PAGE)
    no_exception(at)
    assert "No precomputed stage analysis" in at.info[0].value
    assert not at.dataframe and not at.image and not at.get("plotly_chart")
    assert at.button(key="stages_run")


def test_the_analysis_in_docs_figures_is_shown(random_weights, tmp_path, monkeypatch):
    from dldl_core.ui.stage_report import DOCS_FIGURES

    report = DOCS_FIGURES / "stages" / "stages.json"
    if not report.is_file():
        pytest.skip("needs the source checkout's docs/figures/stages")
    shipped = json.loads(report.read_text())
    monkeypatch.setenv("DLDL_WEIGHTS", str(weights_alone(random_weights, tmp_path)))
    at = open_page(PAGE)
    no_exception(at)
    assert find_stage_report(tmp_path / "w.safetensors") == report.parent
    assert not any("No precomputed" in i.value for i in at.info)
    assert at.dataframe[0].value["faces"].sum() == shipped["faces"]
    intervals = at.dataframe[1].value  # change of MAE per region and stage, mean ± 95 % interval
    stages = [f"{name} (n={stage['n']})" for name, stage in shipped["stages"].items()]
    assert [c for c in intervals.columns if c != "region"] == stages
    assert all(" ± " in cell for cell in intervals.iloc[:, 1:].to_numpy().ravel())
    assert len(at.image) == int((report.parent / "stages.png").is_file())
    assert at.selectbox(key="stages_shipped_measure").value == "delta_mae"
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["data"][0]["colorbar"]["title"]["text"] == "years"
    assert spec["layout"]["title"]["text"].startswith("Change of MAE when the region is hidden")
    captions = " ".join(c.value for c in at.caption)
    assert "|change" not in captions
    assert "CAM method Grad-CAM (targets: expected, younger, predicted)" in captions and "None" not in captions
    if has_statistics(shipped):  # the corrected statistics: every cell with its Holm p, and map vs occlusion
        assert [len(d.value) for d in at.dataframe[2:5]] == [60, 42, 18]
        assert "Holm's correction runs over each table" in captions and shipped["fill"] in captions.lower()
        assert not any("predates" in i.value for i in at.info)
    else:
        assert "predates the corrected statistics" in at.info[0].value
    assert "Why two groupings" in captions and "age_groups.py" in captions
    assert any(m.value == "**How far the mean maps can be trusted**" for m in at.markdown)
    assert "sanity check was run on other weights" in captions  # these random weights were never checked
    assert "made with other weights" in at.warning[0].value and shipped["weights"]["sha256"][:12] in at.warning[0].value
    assert at.button(key="stages_run")


@pytest.mark.slow
def test_run_on_a_folder_of_photos(photo_folder):
    folder, manifest = photo_folder
    at = open_page(PAGE)
    at.text_input(key="stages_data").set_value(str(folder))
    at.text_input(key="stages_manifest").set_value(str(manifest))
    at.text_input(key="stages_split").set_value("")
    at.number_input(key="stages_limit").set_value(2)
    at.radio(key="stages_pipeline").set_value("full").run()
    at.button(key="stages_run").click().run()
    no_exception(at)
    assert not at.error
    report = at.session_state["stages_result"][0]
    assert report["faces"] == 4 and report["stages"]["60+"]["n"] == 2 and report["stages"]["20-39"]["n"] == 2
    # (the page may also warn that its shipped analysis describes other weights than the network in use)
    assert any("Fewer than 20 faces in the stages 0-3 (0), 4-12 (0), 13-19 (0), 20-39 (2)" in w.value
               for w in at.warning)
    assert at.selectbox(key="stages_user_measure").value == "delta_mae"
    assert at.get("plotly_chart")
    assert at.download_button(key="stages_download")


def test_a_missing_folder_is_one_sentence(tmp_path):
    at = open_page(PAGE)
    at.text_input(key="stages_data").set_value(str(tmp_path / "missing"))
    at.button(key="stages_run").click().run()
    no_exception(at)
    assert at.error[0].value.startswith("The image folder") and at.error[0].value.endswith("does not exist.")


def test_shipped_report_beside_the_weights(random_weights, photo_folder, tmp_path, monkeypatch):
    """A stage report written by ``dldl stages`` into ``<stem>.stages/`` beside the weights is shown."""
    from dldl_core.explain.explainer import Explainer
    from dldl_core.explain.stages import analyse_stages, write_stage_report
    from dldl_core.pipeline.predictor import Predictor

    weights_alone(random_weights, tmp_path)
    folder, manifest = photo_folder
    with Predictor(tmp_path / "w.safetensors", device="cpu") as predictor:
        analysis = analyse_stages(Explainer(predictor), folder, manifest, None, 1, pipeline="full")
    write_stage_report(analysis, tmp_path / "w.stages")
    monkeypatch.setenv("DLDL_WEIGHTS", str(tmp_path / "w.safetensors"))
    at = open_page(PAGE)
    no_exception(at)
    assert not any("No precomputed" in i.value for i in at.info)
    assert len(at.image) == 1  # stages.png
    assert at.dataframe[0].value["faces"].sum() == 2
    assert at.selectbox(key="stages_shipped_measure").value == "delta_mae"
    assert at.get("plotly_chart")
    assert not any("other weights" in w.value for w in at.warning)  # made with the network in use
    assert "Fewer than 20 faces" in at.warning[0].value  # one face per stage

    report = tmp_path / "w.stages" / "stages.json"
    data = json.loads(report.read_text())
    data["weights"]["sha256"] = "0" * 64
    report.write_text(json.dumps(data))
    at = open_page(PAGE)
    no_exception(at)
    assert "made with other weights" in at.warning[0].value and "000000000000" in at.warning[0].value


def test_paths_outside_the_allowed_folders_are_refused(tmp_path, monkeypatch):
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    allowed.mkdir(), outside.mkdir()
    (outside / "manifest.csv").write_text("file,age\n")
    monkeypatch.setenv("DLDL_ALLOWED_ROOTS", str(allowed))
    at = open_page(PAGE)
    at.text_input(key="stages_data").set_value(str(allowed))
    at.text_input(key="stages_manifest").set_value(str(outside / "manifest.csv"))
    at.button(key="stages_run").click().run()
    no_exception(at)
    assert at.error[0].value.startswith(f"{outside / 'manifest.csv'} is outside the folders this app may read")
    assert "stages_result" not in at.session_state


def report_beside_the_weights(random_weights, tmp_path, monkeypatch, report: dict) -> None:
    """``report`` as the stage report beside a copy of the untrained weights, which the page then uses."""
    weights = weights_alone(random_weights, tmp_path)
    (tmp_path / "w.stages").mkdir()
    (tmp_path / "w.stages" / "stages.json").write_text(json.dumps(report))
    monkeypatch.setenv("DLDL_WEIGHTS", str(weights))


def test_the_corrected_statistics_are_shown(random_weights, tmp_path, monkeypatch):
    report_beside_the_weights(random_weights, tmp_path, monkeypatch, synthetic_report())
    at = open_page(PAGE)
    no_exception(at)
    assert [s.value for s in at.subheader] == ["Corrected statistics"]
    regions, strips, agreement = (d.value for d in at.dataframe[2:5])
    assert len(regions) == 60 and len(strips) == 42 and len(agreement) == 6
    findings = regions[regions["finding (Holm p < 0.05)"]]
    assert set(findings["region"]) == {"mouth", "nose"} and set(findings["replicated in both halves"]) <= {"yes", "no"}
    assert agreement["map and occlusion disagree on"].str.startswith("nose: map 2.00x").all()
    assert "3: 29-43 % eyes*, ears" in set(strips["strip"])
    assert not any("predates" in i.value for i in at.info)
    captions = " ".join(c.value for c in at.caption)
    assert "60 region cells, 42 strip cells, 6 rank correlations" in captions
    assert "coloured only where its Holm p is below 0.05" not in captions  # no figure here, so no figure caption


def test_a_report_made_before_the_statistics_is_shown_with_a_note(random_weights, tmp_path, monkeypatch):
    report_beside_the_weights(random_weights, tmp_path, monkeypatch, REPORT)
    at = open_page(PAGE)
    no_exception(at)
    assert "predates the corrected statistics" in at.info[0].value and not at.subheader
    assert len(at.dataframe) == 2  # the summary and the intervals it has
    assert at.dataframe[1].value["60+ (n=30)"].tolist() == ["-1.00 ± 0.20"]
    strips = json.loads(at.get("plotly_chart")[1].proto.spec)
    assert strips["data"][0]["y"] == ["1: 0-14 %", "2: 14-29 %"]  # renamed by height range
    assert "filled with the data's mean colour" in " ".join(c.value for c in at.caption)
