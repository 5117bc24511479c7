"""The per-stage suite: decode, detect, align, the network forward (Thin and Tiny, two sizes, two batches), flip-TTA,
Grad-CAM, region occlusion and the Live page's whole frame loop, each the median of repeated calls after warm-up."""
from __future__ import annotations

import itertools
import os
import platform
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from dldl_core.bench.flops import flops_per_image
from dldl_core.bench.peak import matmul_call, matmul_peak_gflops
from dldl_core.bench.timing import Timing, time_call, time_interleaved
from dldl_core.data.images import load_rgb
from dldl_core.data.sample_photos import photo_files, webcam_frames
from dldl_core.models.networks import ARCH_ALIASES, create_model
from dldl_core.pipeline.face import align_face
from dldl_core.pipeline.inference import autocast_for, bf16_is_fast
from dldl_core.pipeline.predictor import Predictor

# Stage keys of the result rows, in pipeline order.
BENCH_STAGES = ("decode", "detect", "align", "forward", "estimate", "flip_tta", "gradcam", "region_occlusion",
          "live_frame")


@dataclass(frozen=True)
class SuiteConfig:
    """What the suite runs; the defaults are the published tables."""

    repeat: int = 10  # timed calls per figure (the median is reported)
    warmup: int = 2  # untimed calls first
    archs: tuple[str, ...] = ("thin_age_net", "tiny_age_net")
    sizes: tuple[int, ...] = (224,)  # forward input sizes besides the shipped weights' own
    batches: tuple[int, ...] = (1, 32)  # forward batch sizes
    live_backends: tuple[str, ...] = ("torch", "onnxruntime")  # backends of the Live loop rows (onnxruntime: CPU)


def row(stage: str, name: str, timing: Timing, items: int = 1, **extra: Any) -> dict[str, Any]:
    """One result row: the timing, per item (image, face or frame) and items per second."""
    return {"stage": stage, "name": name, "items": items, **timing.to_json(),
            "per_item_ms": round(timing.median_ms / items, 3),
            "items_per_s": round(items * 1e3 / timing.median_ms, 2), **extra}


def environment(device: torch.device) -> dict[str, Any]:
    """The machine the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    try:
        import onnxruntime

        ort_version = onnxruntime.__version__
    except ImportError:
        ort_version = None
    return {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu", "cpu": cpu,
            "cores": os.cpu_count(), "threads": torch.get_num_threads(), "torch": torch.__version__,
            "onnxruntime": ort_version, "load_average": [round(v, 2) for v in os.getloadavg()],
            "bf16_fast": bf16_is_fast(device)}


def precisions(device: torch.device) -> tuple[str, ...]:
    """fp32 always; bf16 where it is fast (CUDA, CPUs with native bf16)."""
    return ("fp32", "bf16") if bf16_is_fast(device) else ("fp32",)


def measure_peak(device: torch.device, config: SuiteConfig) -> dict[str, float]:
    """Matrix-multiply peak GFLOP/s per precision, measured now (the best call)."""
    dtypes = {"fp32": torch.float32, "bf16": torch.bfloat16}
    return {p: round(matmul_peak_gflops(device, dtype=dtypes[p], repeat=config.repeat), 2) for p in precisions(device)}


def forward_rows(device: torch.device, shipped_size: int, config: SuiteConfig
                 ) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The network alone (normalised input -> head output) per architecture, input size, batch and precision.

    Speed does not depend on what the weights learned, so untrained networks are timed; channels_last as in the
    predictor. Each row's calls are interleaved with a 1024 x 1024 matrix product of the same precision, and its
    achieved GFLOP/s is given as a fraction of that product's, both from their median calls: on a machine shared
    with other work, the load then slows both alike. Returns the rows and the FLOPs per image of each ``arch@size``.
    """
    dtypes = {"fp32": torch.float32, "bf16": torch.bfloat16}
    matmuls = {p: matmul_call(device, 1024, dtypes[p]) for p in precisions(device)}
    rows, flops = [], {}
    sizes = tuple(dict.fromkeys((*config.sizes, shipped_size)))
    for arch, size in itertools.product(config.archs, sizes):
        arch = ARCH_ALIASES.get(arch, arch)
        torch.manual_seed(0)
        model = create_model(arch).eval()
        flops[f"{arch}@{size}"] = per_image = flops_per_image(model, size)
        model = model.to(device).to(memory_format=torch.channels_last)
        for batch, precision in itertools.product(config.batches, precisions(device)):
            x = torch.randn(batch, 3, size, size, device=device).contiguous(memory_format=torch.channels_last)

            def forward(model: torch.nn.Module = model, x: torch.Tensor = x, bf16: bool = precision == "bf16") -> None:
                with torch.inference_mode(), autocast_for(device, bf16):
                    model(x)

            matmul, matmul_flops = matmuls[precision]
            timings = time_interleaved({"forward": forward, "matmul": matmul}, config.repeat, config.warmup, device)
            timing = timings["forward"]
            achieved = per_image * batch / (timing.median_ms * 1e-3) / 1e9
            matmul_gflops = matmul_flops / (timings["matmul"].median_ms * 1e-3) / 1e9
            rows.append(row("forward", f"{arch} {size} px, batch {batch}, {precision}", timing, batch, arch=arch,
                            input_size=size, batch=batch, precision=precision, gflops_per_image=per_image / 1e9,
                            achieved_gflops=round(achieved, 2), matmul_gflops=round(matmul_gflops, 2),
                            peak_fraction=round(achieved / matmul_gflops, 4)))
        del model
    return rows, flops


def pipeline_rows(predictor: Predictor, config: SuiteConfig) -> list[dict[str, Any]]:
    """Decode, detect and align on each bundled photo; then, on the first photo's face, the estimate with and
    without flip-TTA, Grad-CAM, region occlusion and the Live frame loop on webcam-like frames."""
    from dldl_core.explain.explainer import Explainer

    device, rows = predictor.device, []
    template, chip_size = predictor.preprocess.template, predictor.preprocess.chip_size
    files = photo_files()
    photos = {name: load_rgb(data) for name, data in files.items()}
    for name, data in files.items():
        rgb = photos[name]
        size = f"{rgb.shape[1]}x{rgb.shape[0]}"
        rows.append(row("decode", f"{name} JPEG {size}", time_call(lambda data=data: load_rgb(data), config.repeat,
                                                                     config.warmup)))
        rows.append(row("detect", f"{name} {size}", time_call(lambda rgb=rgb: predictor.detector.detect(rgb),
                                                               config.repeat, config.warmup)))
        faces = predictor.detector.detect(rgb)
        if faces:
            rows.append(row("align", f"{name}, {chip_size} px chip",
                            time_call(lambda rgb=rgb, face=faces[0]: align_face(rgb, face, template, chip_size),
                                      config.repeat, config.warmup)))
    rgb = photos["grace_hopper"]
    face = predictor.predict_rgb(rgb)[0]

    def timed(fn: Callable[[], object]) -> Timing:
        return time_call(fn, config.repeat, config.warmup, device)

    backend = predictor.network.name
    rows.append(row("estimate", f"one face, no flip ({backend})", timed(lambda: predictor.estimate_chips(
        [face.chip], tta=False)), backend=backend))
    rows.append(row("flip_tta", f"one face and its mirror ({backend})", timed(lambda: predictor.estimate_chips(
        [face.chip], tta=True)), backend=backend))
    explainer = Explainer(predictor)
    regions = explainer.regions(face)
    rows.append(row("gradcam", "one face, target expected age", timed(lambda: explainer.cam(face, "gradcam"))))
    rows.append(row("region_occlusion", f"one face, {len(regions.names)} regions in one batch",
                    timed(lambda: explainer.region_deltas(face, regions))))
    rows += live_rows(predictor, explainer, webcam_frames(rgb), config)
    return rows


def live_rows(predictor: Predictor, explainer: Any, frames: list[np.ndarray], config: SuiteConfig
              ) -> list[dict[str, Any]]:
    """The Live page's frame loop (``LiveProcessor.process``) per backend, the backends' calls interleaved. With the
    Grad-CAM overlay, recomputed every second frame as on the page, one timed call processes two frames."""
    from dldl_core.ui.live import LiveProcessor, gradcam_function

    predictors = {name: predictor if name == predictor.network.name else Predictor(
        predictor.weights, device=str(predictor.device), tta=predictor.tta, backend=name)
        for name in live_backends(predictor, config)}
    rows = []
    try:
        for cam in (False, True):
            calls = {}
            for name, p in predictors.items():
                live = LiveProcessor(p, cam=gradcam_function(p, explainer=explainer), cam_every=2)
                live.cam_enabled = cam
                calls[name] = _frame_loop(live, frames, 2 if cam else 1)
            timings = time_interleaved(calls, config.repeat, config.warmup, predictor.device)
            label = "640x480, one face, flip-TTA" + (", Grad-CAM overlay every 2nd frame" if cam else "")
            rows += [row("live_frame", f"{label} ({name})", t, 2 if cam else 1, backend=name, gradcam=cam)
                     for name, t in timings.items()]
    finally:
        for p in predictors.values():
            if p is not predictor:
                p.close()
    return rows


def _frame_loop(live: Any, frames: list[np.ndarray], per_call: int) -> Callable[[], None]:
    clip = itertools.cycle(frames)

    def run() -> None:
        for _ in range(per_call):
            live.process(next(clip))
    return run


def live_backends(predictor: Predictor, config: SuiteConfig) -> list[str]:
    """The Live loop backends to time here: onnxruntime only on the CPU and where it is installed."""
    names = []
    for name in config.live_backends:
        if name == "onnxruntime":
            try:
                import onnxruntime  # noqa: F401
            except ImportError:
                continue
            if predictor.device.type != "cpu":
                continue
        names.append(name)
    return names


def run_suite(predictor: Predictor, config: SuiteConfig) -> dict[str, Any]:
    """Everything but the peer and the torch/onnxruntime comparison: environment, peak, FLOPs and stage rows."""
    device = predictor.device
    env = environment(device)  # the load average at the start
    peak = measure_peak(device, config)
    forward, flops = forward_rows(device, predictor.preprocess.input_size, config)
    rows = pipeline_rows(predictor, config)
    ordered = sorted(forward + rows, key=lambda r: BENCH_STAGES.index(r["stage"]))
    return {"environment": env, "peak_gflops": peak, "flops_per_image": flops,
            "repeat": config.repeat, "warmup": config.warmup, "stages": ordered}


def first_chip_input(predictor: Predictor) -> torch.Tensor:
    """(1, 3, S, S) normalised network input of the first bundled photo's face, on the CPU."""
    rgb = load_rgb(photo_files()["grace_hopper"])
    faces = predictor.detect(rgb, max_faces=1)
    chip = faces[0].chip if faces else np.ascontiguousarray(rgb)
    return predictor.preprocess.normalize(predictor.to_input([chip])).cpu()
