"""Frames per second of the Live page's frame loop: detect -> predict -> track -> draw on 640x480 frames with one face.

Goal (issue 5): >= 10 fps with TinyAgeNet on 2 CPU threads. The frames are a real portrait (matplotlib's
grace_hopper.jpg) drifting sideways over a plain background, as a webcam would show a person.

    python benchmarks/bench_live.py                      # shipped weights (or DLDL_WEIGHTS), 2 threads, flip-TTA on
    python benchmarks/bench_live.py --weights W.safetensors --threads 2 --frames 300 --json
    python benchmarks/bench_live.py --backend torch          # the network on torch instead of onnxruntime
    python benchmarks/bench_live.py --gradcam-cost           # the loop without and with the Grad-CAM overlay

``--gradcam-cost`` times the loop without and with the overlay (recomputed every 2nd frame, as on the Live page) in
alternating blocks of frames, so that other work on the machine slows both alike; its figures are the ones the Live
page states before the overlay is turned on (dldl_core.ui.live.MEASURED_OVERLAY_COST).

``cpu_share`` is the process's CPU time over wall time divided by the threads: well below 1 means other processes
took the CPU and the fps is a lower bound.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

# Idle OpenMP threads sleep instead of spinning; set before torch loads (as app/main.py does). On a small CPU shared
# with other work, spinning threads were measured to slow a 2-thread frame loop from 36 fps to 2 fps.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dldl_core.data.images import load_rgb
from dldl_core.pipeline.predictor import Predictor
from dldl_core.ui.live import LiveProcessor, gradcam_function

GOAL_FPS = 10.0


def webcam_frames(n: int, size: tuple[int, int] = (640, 480)) -> list[np.ndarray]:
    """``n`` frames of a portrait drifting sideways over a grey background."""
    from matplotlib import cbook

    portrait = load_rgb(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    w, h = size
    face = cv2.resize(portrait, (int(portrait.shape[1] * 400 / portrait.shape[0]), 400), interpolation=cv2.INTER_AREA)
    frames = []
    for i in range(n):
        frame = np.full((h, w, 3), 70, np.uint8)
        x = (w - face.shape[1]) // 2 + int(20 * np.sin(2 * np.pi * i / 60))
        frame[40:440, x:x + face.shape[1]] = face
        frames.append(frame)
    return frames


def run(weights: str | None, threads: int, frames: int, warmup: int, tta: bool, cam: bool,
        backend: str = "auto") -> dict:
    torch.set_num_threads(threads)
    predictor = Predictor(weights, device="cpu", tta=tta, backend=backend)
    live = LiveProcessor(predictor, cam=gradcam_function(predictor) if cam else None)
    live.cam_enabled = cam
    clip = webcam_frames(60)
    for i in range(warmup):
        live.process(clip[i % len(clip)])
    live.reset()
    faces = 0
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for i in range(frames):
        live.process(clip[i % len(clip)])
        faces += len(live.stats().faces)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    stats = live.stats()
    predictor.close()
    fps = frames / wall
    return {"fps": round(fps, 2), "goal_fps": GOAL_FPS, "meets_goal": fps >= GOAL_FPS, "frames": frames,
            "faces_per_frame": round(faces / frames, 2), "threads": threads, "tta": tta, "gradcam": cam,
            "backend": predictor.network.name,
            "weights": str(predictor.weights.path.name), "parameters": predictor.weights.meta.get("num_parameters"),
            "input_size": predictor.preprocess.input_size,
            "latency_ms": {k: round(v, 2) for k, v in stats.latency_ms.items()},
            "cpu_share": round(cpu / wall / threads, 2), "cpu_count": os.cpu_count(),
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY")}


def gradcam_cost(weights: str | None, threads: int, frames: int, warmup: int, tta: bool, backend: str = "auto",
                 block: int = 20) -> dict:
    """The loop without and with the Grad-CAM overlay, in alternating blocks of ``block`` frames each."""
    torch.set_num_threads(threads)
    predictor = Predictor(weights, device="cpu", tta=tta, backend=backend)
    plain, overlay = LiveProcessor(predictor), LiveProcessor(predictor, cam=gradcam_function(predictor), cam_every=2)
    overlay.cam_enabled = True
    clip = webcam_frames(60)
    wall = {"without": 0.0, "with": 0.0}
    for i in range(warmup):
        plain.process(clip[i % len(clip)])
        overlay.process(clip[i % len(clip)])
    for start in range(0, frames, block):
        for name, live in (("without", plain), ("with", overlay)):
            t0 = time.perf_counter()
            for i in range(start, min(start + block, frames)):
                live.process(clip[i % len(clip)])
            wall[name] += time.perf_counter() - t0
    predictor.close()
    frame_ms, with_ms = wall["without"] * 1e3 / frames, wall["with"] * 1e3 / frames
    return {"fps_without": round(1e3 / frame_ms, 1), "fps_with": round(1e3 / with_ms, 1),
            "frame_ms": round(frame_ms, 1), "cam_ms": round(with_ms - frame_ms, 1),
            "frames": frames, "threads": threads, "tta": tta, "backend": predictor.network.name,
            "weights": str(predictor.weights.path.name), "cpu_count": os.cpu_count()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=None, help="weights file; default DLDL_WEIGHTS or the shipped weights")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--no-tta", action="store_true", help="no flip test-time augmentation")
    parser.add_argument("--gradcam", action="store_true", help="with the Grad-CAM overlay on the face")
    parser.add_argument("--backend", default="auto", choices=("auto", "torch", "onnxruntime"),
                        help="where the network runs; auto (the app's choice): onnxruntime when installed")
    parser.add_argument("--gradcam-cost", action="store_true",
                        help="time the loop without and with the Grad-CAM overlay, in alternating blocks")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if args.gradcam_cost:
        cost = gradcam_cost(args.weights, args.threads, args.frames, args.warmup, not args.no_tta, args.backend)
        print(json.dumps(cost, indent=2) if args.json else
              f"{cost['fps_without']:.1f} fps without the Grad-CAM overlay, {cost['fps_with']:.1f} fps with it "
              f"({cost['frame_ms']:.1f} ms a frame plus {cost['cam_ms']:.1f} ms for the overlay); "
              f"{cost['weights']} on {cost['backend']}, {args.threads} threads, {cost['frames']} frames each")
        return 0
    result = run(args.weights, args.threads, args.frames, args.warmup, not args.no_tta, args.gradcam, args.backend)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        lat = ", ".join(f"{k} {v:.1f}" for k, v in result["latency_ms"].items())
        print(f"{result['fps']:.1f} fps over {result['frames']} frames of 640x480 ({result['faces_per_frame']} faces "
              f"per frame), {args.threads} threads, TTA {'on' if result['tta'] else 'off'}, Grad-CAM "
              f"{'on' if result['gradcam'] else 'off'}, {result['weights']} at {result['input_size']} px on "
              f"{result['backend']}; goal "
              f">= {GOAL_FPS:g} fps: {'met' if result['meets_goal'] else 'NOT met'}")
        print(f"latency per stage (ms, moving average): {lat}; CPU share {result['cpu_share']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
