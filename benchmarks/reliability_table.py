"""The tables of docs/reliability.md, measured: every bad input of tests/bad_inputs.py through the command line
(one process each: exit code, wall time, peak resident memory), the Python API (load_rgb + Predictor in this
process: time, peak memory above the resident size before) and the app (AppTest of the Analyze page: what the page
shows); then the weights, network, concurrency and memory checks with their figures. Markdown goes to stdout.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/reliability_table.py > docs/figures/reliability.md

Needs the test tools (scikit-image for two of the photos); strace, where installed, adds a count of the connect()
system calls, native code included.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
sys.path[:0] = [str(TESTS), str(ROOT / "app")]

from bad_inputs import cases, encode, grace_hopper, run_measured  # noqa: E402

from dldl_core.markdown import markdown_table  # noqa: E402

PYTHON = sys.executable
ENV = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))


def peak_reset() -> float:
    """Reset the peak resident memory to the current one (Linux) and return the current one, MB."""
    Path("/proc/self/clear_refs").write_text("5")
    return status_mb("VmRSS")


def status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def short(text: str, n: int = 90) -> str:
    text = " ".join(text.split()).replace("|", "/")
    return text if len(text) <= n else text[:n - 3] + "..."


def faces_text(faces: list, n_shown: int = 1) -> str:
    if not faces:
        return "no face"
    ages = ", ".join(f"{f:.1f}" for f in faces[:n_shown])
    return f"{len(faces)} face{'s' if len(faces) > 1 else ''}, age {ages}" + (" ..." if len(faces) > n_shown else "")


def _cli(folder: Path, name: str, weights: str) -> tuple[str, float, float]:
    """Text-mode run for the message a user sees, then the exit code; the JSON run for the faces."""
    cwd = os.getcwd()
    os.chdir(folder)  # relative names: the messages show the file name as the user typed it
    try:
        text = run_measured([PYTHON, "-m", "dldl_core", "predict", name, "--weights", weights], 600, ENV)
    finally:
        os.chdir(cwd)
    traceback = " TRACEBACK" if "Traceback" in text.stderr else ""
    if text.code == 2:
        lines = text.stderr.strip().splitlines()
        shown = f"exit 2, {len(lines)} line: `{short(lines[0] if lines else '', 80)}`"
    else:
        ages = [float(line.split(": age ")[1].split()[0]) for line in text.stdout.splitlines() if ": age " in line]
        shown = f"exit {text.code}: {faces_text(ages)}" + (f", stderr {len(text.stderr)} B" if text.stderr else "")
    return shown + traceback, text.seconds, text.peak_mb


def api_row(predictor, data: bytes, name: str) -> tuple[str, float, float]:
    from dldl_core.data.images import ImageError, load_rgb

    gc.collect()
    before = peak_reset()
    start = time.perf_counter()
    try:
        rgb = load_rgb(data, name)
        faces = predictor.predict_rgb(rgb)
        shown = f"{rgb.shape[1]}x{rgb.shape[0]} RGB; {faces_text([f.age for f in faces])}"
    except ImageError as err:
        shown = f"ImageError: {short(str(err), 70)}"
    seconds = time.perf_counter() - start
    return shown, seconds, status_mb("VmHWM") - before


def app_row(case) -> str:
    from apptest_support import open_page

    at = open_page("views/analyze.py")
    at.file_uploader(key="analyze_upload").set_value((case.name, case.data, "application/octet-stream"))
    at.run()
    if at.exception:
        return "EXCEPTION " + short(at.exception[0].value, 60)
    if at.error:
        return "st.error: " + short(at.error[0].value, 80)
    captions = [c for image in at.image for c in image.captions]
    cards = sum("Estimated age **" in m.value for m in at.markdown)
    explained = any(c.endswith("on the photo") for c in captions)
    return f"{cards} face card{'s' if cards != 1 else ''}" + ("; explained" if explained else "")


def inputs_table(weights: str) -> list[str]:
    from dldl_core.pipeline.predictor import Predictor

    rows = []
    with tempfile.TemporaryDirectory() as tmp, Predictor(weights, device="cpu") as predictor:
        folder = Path(tmp)
        for case in cases().values():
            case.write(folder)
            cli, cli_s, cli_mb = _cli(folder, case.name, weights)
            api, api_s, api_mb = api_row(predictor, case.data, case.name)
            app = app_row(case)
            rows.append([f"{case.what} (`{case.name}`)", cli, api, app, f"{cli_s:.1f} s / {api_s:.2f} s",
                         f"{cli_mb:.0f} MB / {api_mb:+.0f} MB"])
            print(f"  {case.key}: done", file=sys.stderr)
    return markdown_table(["input", "CLI (`dldl predict FILE`)", "API (`load_rgb` + `predict_rgb`)",
                           "app (Analyze upload)", "time: CLI process / API",
                           "peak memory: CLI process / API above its resident size"], rows).splitlines()


def extra_rows(weights: str) -> list[str]:
    """Beyond the table: the largest image the loader accepts, and a known false positive of the detector."""
    from bad_inputs import constant_png

    from dldl_core.data.images import MAX_PIXELS, load_rgb
    from dldl_core.pipeline.face import FaceDetector

    side = int(MAX_PIXELS ** 0.5)
    big = constant_png(side, side)
    gc.collect()
    before = peak_reset()
    start = time.perf_counter()
    load_rgb(big, "big.png")
    seconds, peak = time.perf_counter() - start, status_mb("VmHWM") - before
    from skimage import data

    with FaceDetector() as detector:
        coffee = detector.detect(data.coffee())
    return [(f"- The largest image the loader accepts ({side}x{side}, {side * side / 1e6:.0f} M pixels, "
             f"{side * side * 3 / 2**20:.0f} MB as RGB): decoded in {seconds:.1f} s, peak {peak:.0f} MB above the "
             "resident size before."),
            (f"- scikit-image's coffee cup: the detector reports {len(coffee)} face(s), score "
             f"{', '.join(f'{f.score:.2f}' for f in coffee) or '-'} (found on the padded second try).")]


def weights_rows(weights: str, photo: Path) -> list[str]:
    rows = []
    data = Path(weights).read_bytes()
    changes = {"one byte flipped in the safetensors header (byte 20)": lambda d: d[:20] + bytes([d[20] ^ 1]) + d[21:],
               "one byte flipped in the tensor data (1000 from the end)":
                   lambda d: d[:-1000] + bytes([d[-1000] ^ 1]) + d[-999:],
               "truncated to half": lambda d: d[:len(d) // 2]}
    with tempfile.TemporaryDirectory() as tmp:
        for what, change in changes.items():
            path = Path(tmp) / "w.safetensors"
            path.write_bytes(change(data))
            shutil.copy(Path(weights).with_suffix(".json"), path.with_suffix(".json"))
            run = run_measured([PYTHON, "-m", "dldl_core", "predict", str(photo), "--weights", str(path)], 600, ENV)
            message = run.stderr.strip().replace(tmp + "/", "")
            rows.append([what, f"exit {run.code}, {len(message.splitlines())} line", f"`{short(message, 110)}`"])
    return markdown_table(["weights file", "`dldl predict`", "message"], rows).splitlines()


def network_rows(photo: Path) -> list[str]:
    rows = []
    strace = shutil.which("strace")
    runs = {"`dldl predict photo.jpg --json`": ["-m", "dldl_core", "predict", str(photo), "--json"],
            "`dldl explain photo.jpg --json` (Grad-CAM, sliding and region occlusion)":
                ["-m", "dldl_core", "explain", str(photo), "--json"],
            "Analyze page (AppTest): upload, predict, explain": [str(Path(__file__).resolve()), "--app-probe",
                                                                 str(photo)]}
    with tempfile.TemporaryDirectory() as tmp:
        for what, args in runs.items():
            report = Path(tmp) / "attempts.json"
            guarded = [PYTHON, str(TESTS / "no_network.py"), str(report), *args] if args[0] == "-m" else \
                [PYTHON, *args, "--attempts", str(report)]
            done = subprocess.run(guarded, capture_output=True, text=True, env=ENV, timeout=900, check=False)
            attempts = json.loads(report.read_text()) if report.is_file() else ["no report"]
            syscalls = "strace not installed"
            if strace:
                trace = Path(tmp) / "trace.txt"
                subprocess.run([strace, "-f", "-qq", "-e", "trace=connect", "-o", str(trace), PYTHON, *args],
                               capture_output=True, env=ENV, timeout=900, check=False)
                calls = [line for line in trace.read_text().splitlines() if "connect(" in line]
                syscalls = f"{len(calls)}" + (f": {short(calls[0], 80)}" if calls else "")
            rows.append([f"{what} (exit {done.returncode})", len(attempts), syscalls])
    return markdown_table(["run", "guarded Python socket calls attempted", "connect() system calls (strace)"],
                          rows).splitlines()


def app_probe(photo: Path, attempts_path: Path | None) -> int:
    """Child mode: the Analyze page analyses and explains ``photo`` (under the socket guard with ``attempts_path``)."""
    attempts: list[str] = []
    if attempts_path is not None:
        from no_network import forbid_network

        forbid_network(attempts)
    from apptest_support import open_page

    at = open_page("views/analyze.py")
    at.file_uploader(key="analyze_upload").set_value((photo.name, photo.read_bytes(), "image/jpeg"))
    at.run()
    if attempts_path is not None:
        attempts_path.write_text(json.dumps(attempts))
    ok = not at.exception and not at.error and any(c.endswith("on the photo") for i in at.image for c in i.captions)
    return 0 if ok else 1


def concurrency_rows(photos: dict[str, bytes], rounds: int = 10) -> list[str]:
    import resources

    from dldl_core.ui.analysis import analyze_photo

    predictor, explainer = resources.require_predictor(), resources.get_explainer()

    def session(name: str, data: bytes) -> dict:
        analysis = analyze_photo(predictor, data, name)
        explanation = explainer.explain(analysis.faces[0], "gradcam", "expected", image=analysis.rgb, sliding=False)
        return {"ages": np.array([f.age for f in analysis.faces]), "boxes": np.array([f.box for f in analysis.faces]),
                "cam": explanation.cam, "regions": np.array(list(explanation.regions.values()))}

    start = time.perf_counter()
    alone = {name: session(name, data) for name, data in photos.items()}
    single_s = time.perf_counter() - start
    mismatches, worst, together = 0, 0.0, []
    for _ in range(rounds):
        barrier, results = threading.Barrier(len(photos)), {}

        def run(name: str, data: bytes, barrier: threading.Barrier = barrier, results: dict = results) -> None:
            barrier.wait()
            results[name] = session(name, data)
        threads = [threading.Thread(target=run, args=item) for item in photos.items()]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        together.append(time.perf_counter() - start)
        for name in photos:
            diff = max(float(np.max(np.abs(results[name][k] - alone[name][k]))) for k in alone[name])
            worst = max(worst, diff)
            mismatches += diff > 1e-4
    names = " and ".join(photos)
    return [(f"- {rounds} rounds of two threads analysing and explaining {names} at the same moment, with the app's "
             f"shared predictor ({type(predictor.network).__name__}) and explainer: {mismatches} results differ from "
             f"the single-threaded ones (largest difference {worst:.1e}); one round takes {np.median(together):.2f} s "
             f"(median) against {single_s:.2f} s for the two photos one after the other.")]


def memory_rows(weights: str, photo: Path, calls: int = 100) -> list[str]:
    from dldl_core.data.images import load_rgb
    from dldl_core.explain.explainer import Explainer
    from dldl_core.pipeline.predictor import Predictor

    def hooks(model) -> int:
        names = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
        return sum(len(getattr(m, n)) for m in model.modules() for n in names)

    with Predictor(weights, device="cpu") as predictor:
        explainer = Explainer(predictor)
        rgb = load_rgb(photo)
        face = predictor.predict_rgb(rgb)[0]
        rss, most_hooks, start = {}, 0, time.perf_counter()
        for i in range(1, calls + 1):
            explainer.explain(face, "gradcam", "expected", image=rgb, sliding=False)
            most_hooks = max(most_hooks, hooks(explainer.model) + hooks(predictor.model))
            if i in (1, 10, calls):
                gc.collect()
                rss[i] = status_mb("VmRSS")
        per_call = (time.perf_counter() - start) / calls * 1e3
    return [(f"- {calls} explanations (Grad-CAM + region occlusion, overlays on the photo) of one face at the shipped "
             f"input size ({predictor.preprocess.input_size} px): resident memory {rss[1]:.0f} MB after 1, "
             f"{rss[10]:.0f} MB after 10, {rss[calls]:.0f} MB after {calls} (growth {rss[calls] - rss[10]:+.1f} MB "
             f"from 10 to {calls}); at most {most_hooks} forward/backward hooks registered between calls; "
             f"{per_call:.0f} ms per call.")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", default=None, help="default: the shipped weights")
    parser.add_argument("--app-probe", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--attempts", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.app_probe:
        return app_probe(Path(args.app_probe), Path(args.attempts) if args.attempts else None)
    from dldl_core.models.weights import DEFAULT_WEIGHTS

    weights = str(Path(args.weights or DEFAULT_WEIGHTS).resolve())
    os.environ["DLDL_WEIGHTS"] = weights
    ENV["DLDL_WEIGHTS"] = weights
    with tempfile.TemporaryDirectory() as tmp:
        photo = Path(tmp) / "grace.jpg"
        photo.write_bytes(encode(Image.fromarray(grace_hopper()), "JPEG", quality=95))
        from skimage import data as skdata

        photos = {"grace.jpg": photo.read_bytes(), "astronaut.png": encode(Image.fromarray(skdata.astronaut()), "PNG")}
        load = os.getloadavg()
        out = [(f"Measured on {platform.machine()} Linux, {os.cpu_count()} CPU cores, OMP_NUM_THREADS="
                f"{ENV['OMP_NUM_THREADS']}, load average {load[0]:.1f} at the start; weights "
                f"`{Path(weights).name}`."), "", "### Inputs", ""]
        out += inputs_table(weights)
        out += ["", *extra_rows(weights), "", "### Weights", "", *weights_rows(weights, photo), "", "### Network", "",
                *network_rows(photo), "", "### Concurrency", "", *concurrency_rows(photos), "", "### Memory", "",
                *memory_rows(weights, photo)]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
