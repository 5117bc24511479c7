"""The one entry point the app and the CLI call: ``Explainer(predictor).explain(face, method, target)``.

The explainer works on its own copy of the predictor's network (BatchNorm folded into the convs), in which only the
CAM layer's parameters need gradients: the predictor's network never carries hooks or gradients, a CAM's backward
pass stops at that layer, and a lock serialises requests, so one explainer can be shared between the app's sessions
and threads. The forward-only read-outs (occlusion, the faithfulness check, Score-CAM's scoring of masked copies) run
that copy in bf16 where bf16 is native (``readout_network``): about twice as fast on such a CPU, and on 20 val faces
the changes of age moved by 0.03 years on average, 0.25 at most (``benchmarks/bf16_readout.py``). Elsewhere they run
in float32, occlusion and the faithfulness check on the predictor's onnxruntime session when it has one. The gradient
CAMs and the estimate stay in float32 on torch.
"""
from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import cv2
import numpy as np
import torch

from dldl_core.explain import render
from dldl_core.explain.cam import compute_cam, method_name, target_layer
from dldl_core.explain.faithfulness import face_faithfulness
from dldl_core.explain.fills import Fill, fill_name
from dldl_core.explain.forward import (
    BackendForward,
    Bf16Forward,
    inference_copy,
    normalized_input,
    readout,
    readout_network,
)
from dldl_core.explain.methods import DEFAULT_FILL, FILLS, ignores_target
from dldl_core.explain.occlusion import OcclusionMaps, region_occlusion, sliding_window_occlusion
from dldl_core.explain.regions import FaceRegions, face_regions, keypoints_to_chip
from dldl_core.explain.targets import Target, parse_target
from dldl_core.models.preprocess import template_points
from dldl_core.pipeline.face import chip_footprint
from dldl_core.pipeline.predictor import Predictor

CAM_LABEL = "evidence for the target (0 none, 1 the most)"  # a CAM, each scaled to its own maximum
AGE_CHANGE_LABEL = "change of expected age when hidden, years"  # the occlusion maps, whatever the CAM's target


class AlignedFace(Protocol):
    """What the explainer needs of a face: ``FacePrediction`` and ``Face`` both qualify."""

    chip: np.ndarray | None  # (C, C, 3) uint8 aligned crop
    matrix: np.ndarray | None  # (2, 3) image -> chip
    keypoints: np.ndarray | None  # (6, 2) in the image


@dataclass
class Explanation:
    """All explanations of one face. Maps in the chip frame are (C, C); on the photo (H, W), None without one.

    ``regions`` and ``occlusion_age`` are changes of the expected age, in years, when that part of the face is
    hidden (replaced by the explainer's fill, ``occlusion_settings["fill"]``): positive means that hiding it makes
    the face look older. They do not depend on the CAM's target. ``faithfulness`` says how much faster hiding the
    cells the CAM marks moves its target than hiding cells in random orders (``face_faithfulness``). ``scales``
    says how each overlay's values became colours (its colour bar).
    """

    method: str  # CAM method key (gradcam, gradcam++, hirescam, layercam, eigencam, scorecam)
    target: str  # the target spec as parsed (expected, younger, bin:K, contrast:A,B)
    age: float  # expected age of the chip alone (no flip): the estimate all maps refer to
    chip: np.ndarray  # (C, C, 3) uint8 aligned face
    cam: np.ndarray  # (C, C) float32 in [0, 1]
    regions: dict[str, float]  # region name -> change of the expected age when the region is filled
    region_labels: np.ndarray  # (C, C) int16 index into region_names, -1 outside every region
    region_names: tuple[str, ...]
    keypoints: np.ndarray  # (6, 2) keypoints in the chip frame the regions were built from
    occlusion_age: np.ndarray | None = None  # (C, C) sliding window: change of the expected age, years
    occlusion_kl: np.ndarray | None = None  # (C, C) sliding window: KL(p || p_occluded), nats
    overlays: dict[str, np.ndarray] = field(default_factory=dict)  # "cam", "occlusion", "regions": (C, C, 3) uint8
    cam_image: np.ndarray | None = None  # (H, W) float32, the CAM on the photo (0 outside the chip)
    overlays_image: dict[str, np.ndarray] = field(default_factory=dict)  # the same overlays on the photo
    timings_ms: dict[str, float] = field(default_factory=dict)
    scales: dict[str, render.ColourScale] = field(default_factory=dict)  # "cam", "occlusion", "regions"
    occlusion_settings: dict[str, Any] = field(default_factory=dict)  # input_px, patch_px, stride_px, fill, ...
    faithfulness: dict[str, Any] | None = None  # map_auc, random_auc, random_spread, gain, fill (target's units)

    @property
    def ignores_target(self) -> bool:
        """True when the CAM method draws the same map whatever the target (EigenCAM)."""
        return ignores_target(self.method)

    def to_json(self) -> dict[str, Any]:
        """The numbers and settings (not the maps) as JSON-ready values."""
        return {"method": self.method, "target": self.target, "cam_ignores_target": self.ignores_target,
                "age": round(self.age, 2), "regions": {k: round(v, 3) for k, v in self.regions.items()},
                "occlusion": dict(self.occlusion_settings),
                "colour_scales": {k: v.to_json() for k, v in self.scales.items()},
                "faithfulness": self.faithfulness,
                "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()}}


class Explainer:
    """Explanations of a ``Predictor``'s network: CAMs, sliding-window and region occlusion, with overlays.

    Example::

        predictor = Predictor()
        explainer = Explainer(predictor)
        face = predictor.predict_rgb(rgb)[0]
        result = explainer.explain(face, method="gradcam", target="contrast:35,55", image=rgb)
        result.overlays_image["cam"]  # (H, W, 3) uint8

    Each piece is also callable alone: ``cam``, ``occlusion``, ``region_deltas``, ``regions``.
    """

    def __init__(self, predictor: Predictor, patch: int | None = None, stride: int | None = None,
                 fill: Fill = DEFAULT_FILL, bf16: bool | None = None) -> None:
        """Args:
            predictor: supplies the network, its preprocessing and the face detector (for bare chips).
            patch: sliding-window side in network-input pixels; default a sixth of the input.
            stride: sliding-window step; default three fifths of the patch.
            fill: what replaces a hidden part of the face (``dldl_core.explain.fills``): a blur of the face by
                default, which stays nearer to real faces than a flat colour.
            bf16: run the forward-only read-outs (occlusion, the faithfulness check, Score-CAM's scoring) in bf16;
                None: where bf16 is native (a CPU with AVX512-BF16 or AMX, or CUDA). In float32 they run on the
                predictor's onnxruntime session when it has one, else on torch.
        """
        self.predictor = predictor
        self.preprocess = predictor.preprocess
        self.model = inference_copy(predictor.model)
        target_layer(self.model).requires_grad_(True)  # gradients start (and the backward pass ends) there
        # forwards only (occlusion, faithfulness, Score-CAM's scoring): bf16, or the predictor's onnxruntime, or torch
        self.readout_model = readout_network(self.model, bf16, getattr(predictor, "network", None))
        self.device = next(self.model.parameters()).device
        self.support = self.model.support.detach().float().cpu()
        self.patch, self.stride = patch, stride
        self.fill = fill
        fill_name(fill)  # an unknown name fails here, not at the first explanation
        self._lock = threading.Lock()

    @property
    def input_size(self) -> int:
        return self.preprocess.input_size

    def input(self, chip: np.ndarray) -> torch.Tensor:
        """(C, C, 3) uint8 chip -> (1, 3, S, S) normalised network input."""
        return normalized_input([chip], self.preprocess, self.predictor.to_input, self.device)

    def chip_keypoints(self, face: AlignedFace | np.ndarray) -> np.ndarray:
        """(6, 2) keypoints in the chip frame: a face's own keypoints mapped through its matrix; for a bare chip,
        the detector's keypoints on the chip, else the alignment template."""
        if not isinstance(face, np.ndarray) and face.keypoints is not None and face.matrix is not None:
            return keypoints_to_chip(face.keypoints, face.matrix)
        chip = _chip(face)
        found = self.predictor.detector.detect(chip)
        if found:
            return found[0].keypoints
        return template_points(self.preprocess.template, chip.shape[0])

    def regions(self, face: AlignedFace | np.ndarray, keypoints: np.ndarray | None = None) -> FaceRegions:
        """The named regions of a face in its chip frame (``keypoints`` in the chip frame, if known)."""
        chip = _chip(face)
        return face_regions(self.chip_keypoints(face) if keypoints is None else keypoints, chip.shape[0])

    def cam(self, face: AlignedFace | np.ndarray, method: str = "gradcam", target: str | Target = "expected"
            ) -> np.ndarray:
        """(C, C) float32 CAM in [0, 1] of one face for a method and a target spec."""
        chip = _chip(face)
        with self._lock:
            x = self.input(chip)
            maps = compute_cam(self.model, x, self._target(target, x), method, self._bf16_readout)
        return _to_chip(maps[0], chip.shape[0])

    def _target(self, target: str | Target, x: torch.Tensor) -> Target:
        """Parse a target; ``predicted`` is the bin of this face's own estimate."""
        if isinstance(target, str) and target.strip().lower() == "predicted":
            return parse_target(target, self.support, float(readout(self.model, x)[0][0]))
        return parse_target(target, self.support)

    def occlusion(self, face: AlignedFace | np.ndarray, patch: int | None = None, stride: int | None = None
                  ) -> OcclusionMaps:
        """Sliding-window maps (change of expected age, KL) at the network input's resolution."""
        with self._lock:
            return sliding_window_occlusion(self.readout_model, self.input(_chip(face)), patch or self.patch,
                                            stride or self.stride, self.fill)

    def region_deltas(self, face: AlignedFace | np.ndarray, regions: FaceRegions | None = None) -> dict[str, float]:
        """Region name -> change of the expected age, in years, when the region is hidden (one forward)."""
        regions = regions or self.regions(face)
        with self._lock:
            return region_occlusion(self.readout_model, self.input(_chip(face)), regions.resized(self.input_size),
                                    regions.names, self.fill)

    def explain(self, face: AlignedFace | np.ndarray, method: str = "gradcam", target: str | Target = "expected",
                image: np.ndarray | None = None, sliding: bool = True, keypoints: np.ndarray | None = None,
                faithfulness: bool = True) -> Explanation:
        """Every explanation of one face, with overlays.

        Args:
            face: a ``FacePrediction`` (or ``Face``) from the predictor, or a (C, C, 3) uint8 aligned chip.
            method: CAM method (gradcam, gradcam++, hirescam, layercam, eigencam, scorecam).
            target: ``expected``/``older``, ``younger``, ``predicted``, ``bin:K`` or ``contrast:A,B`` (ages), or a
                target callable (see ``targets``).
            image: the original (H, W, 3) uint8 photo the face was found in; with it (and the face's matrix) the
                maps and overlays are also given on the photo.
            sliding: compute the sliding-window occlusion maps (the slowest part, about a second on a CPU).
            faithfulness: measure how faithful the CAM is for this face (deletion against random orders).
            keypoints: (6, 2) keypoints in the chip frame, for a bare chip whose keypoints are known.

        Raises:
            ValueError: an unknown method or target, or a face without a chip.
        """
        chip = _chip(face)
        times: dict[str, float] = {}
        t = time.perf_counter()
        keypoints = self.chip_keypoints(face) if keypoints is None else np.asarray(keypoints, np.float64)
        regions = face_regions(keypoints, chip.shape[0])
        times["regions"] = _lap(t)
        result = self._network_maps(chip, method_name(method), target, regions, keypoints, (sliding, faithfulness),
                                    times)
        t = time.perf_counter()
        _chip_overlays(result)
        matrix = None if isinstance(face, np.ndarray) else face.matrix
        if image is not None and matrix is not None:
            _photo_overlays(result, image, matrix)
        times["overlays"] = _lap(t)
        return result

    def _network_maps(self, chip: np.ndarray, method: str, target: str | Target, regions: FaceRegions,
                      keypoints: np.ndarray, optional: tuple[bool, bool], times: dict[str, float]) -> Explanation:
        """The network's part of ``explain``, under the lock: the estimate, the CAM, its faithfulness for this face,
        region occlusion and sliding-window occlusion (``optional``: whether to compute the sliding window and the
        faithfulness), each timed into ``times``; the result has no overlays yet."""
        size, (sliding, faithfulness) = chip.shape[0], optional
        occ = None
        with self._lock:
            x = self.input(chip)
            t = time.perf_counter()
            age = float(readout(self.model, x)[0][0])
            parsed = parse_target(target, self.support, age)
            cam_input = compute_cam(self.model, x, parsed, method, self._bf16_readout)[0]  # (S, S) at the input
            times["cam"] = _lap(t)
            if faithfulness:
                t = time.perf_counter()
                check = face_faithfulness(self.readout_model, x, cam_input, parsed, self.fill)
                times["faithfulness"] = _lap(t)
            t = time.perf_counter()
            deltas = region_occlusion(self.readout_model, x, regions.resized(self.input_size), regions.names,
                                      self.fill)
            times["region_occlusion"] = _lap(t)
            if sliding:
                t = time.perf_counter()
                occ = sliding_window_occlusion(self.readout_model, x, self.patch, self.stride, self.fill)
                times["sliding_window"] = _lap(t)
        result = Explanation(method=method, target=repr(parsed) if not isinstance(target, str) else target.strip(),
                             age=age, chip=chip, cam=_to_chip(cam_input, size), regions=deltas,
                             region_labels=regions.labels, region_names=regions.names, keypoints=keypoints,
                             timings_ms=times, occlusion_settings=self._occlusion_settings(occ),
                             faithfulness=None if not faithfulness else {**asdict(check), "gain": check.gain})
        if occ is not None:
            result.occlusion_age = _to_chip(occ.age, size)
            result.occlusion_kl = _to_chip(occ.kl, size)
        return result

    @property
    def readout_precision(self) -> str:
        """``bf16`` or ``float32``: the precision of the forward-only read-outs (occlusion, the faithfulness check,
        Score-CAM's scoring)."""
        return "bf16" if self._bf16_readout else "float32"

    @property
    def readout_backend(self) -> str:
        """``onnxruntime`` or ``torch``: what runs the forward-only read-outs."""
        return "onnxruntime" if isinstance(self.readout_model, BackendForward) else "torch"

    @property
    def _bf16_readout(self) -> bool:
        return isinstance(self.readout_model, Bf16Forward)

    def _occlusion_settings(self, occ: OcclusionMaps | None) -> dict[str, Any]:
        """How the face was occluded: the sliding window's side and step (network-input pixels; None when not
        computed), the fill, and the precision and backend of the forwards."""
        name = fill_name(self.fill)
        return {"input_px": self.input_size, "patch_px": None if occ is None else occ.patch,
                "stride_px": None if occ is None else occ.stride, "fill": name,
                "fill_description": FILLS.get(name, "a flat colour"), "precision": self.readout_precision,
                "backend": self.readout_backend}


def age_change_scale(values: np.ndarray) -> render.ColourScale:
    """The colour scale of a map of changes of age: diverging, symmetric, to the map's own largest change."""
    s = render.symmetric_scale(np.asarray(values, np.float32))
    return render.ColourScale(render.SIGNED_COLORMAP, -s, s, AGE_CHANGE_LABEL)


def colour_scales(result: Explanation) -> dict[str, render.ColourScale]:
    """The colour scale of each overlay: the CAM on [0, 1]; the region and sliding-window maps each on its own
    symmetric range of years, so that the smaller changes of the sliding window stay visible."""
    scales = {"cam": render.ColourScale(render.HEAT_COLORMAP, 0.0, 1.0, CAM_LABEL),
              "regions": age_change_scale(np.array(list(result.regions.values()) or [0.0]))}
    if result.occlusion_age is not None:
        scales["occlusion"] = age_change_scale(result.occlusion_age)
    return scales


def _chip_overlays(result: Explanation) -> None:
    """Fill ``result.scales`` and ``result.overlays``: the CAM, the regions and (when computed) the occlusion map
    over the chip."""
    chip, result.scales = result.chip, colour_scales(result)
    result.overlays["cam"] = render.heat_overlay(chip, result.cam)
    result.overlays["regions"] = render.region_overlay(chip, result.region_labels, result.region_names,
                                                       result.regions, result.scales["regions"].vmax)
    if result.occlusion_age is not None:
        result.overlays["occlusion"] = render.signed_overlay(chip, result.occlusion_age,
                                                             result.scales["occlusion"].vmax)


def _photo_overlays(result: Explanation, image: np.ndarray, matrix: np.ndarray) -> None:
    """Fill ``result.cam_image`` and ``result.overlays_image``: the maps drawn on the (H, W, 3) photo the face was
    found in (``matrix``: photo -> chip). Only the chip's footprint changes, so each map is drawn in its box and
    pasted into a copy of the photo."""
    footprint = chip_footprint(matrix, result.chip.shape[0], image.shape)
    crop, coverage = footprint.crop(image), footprint.coverage()
    cam = footprint.to_box(result.cam)
    result.cam_image = footprint.paste(np.zeros(image.shape[:2], np.float32), cam)
    region_values = render.region_value_map(result.region_labels, result.region_names, result.regions)
    inside = footprint.to_box((result.region_labels >= 0).astype(np.float32))
    painted = {"cam": render.heat_overlay(crop, cam, coverage=coverage),
               "regions": render.signed_overlay(crop, footprint.to_box(region_values), result.scales["regions"].vmax,
                                                coverage=inside)}
    if result.occlusion_age is not None:
        painted["occlusion"] = render.signed_overlay(crop, footprint.to_box(result.occlusion_age),
                                                     result.scales["occlusion"].vmax, coverage=coverage)
    result.overlays_image = {key: footprint.paste(image, box) for key, box in painted.items()}


def _chip(face: AlignedFace | np.ndarray) -> np.ndarray:
    chip = face if isinstance(face, np.ndarray) else getattr(face, "chip", None)
    if chip is None or chip.ndim != 3 or chip.shape[0] != chip.shape[1] or chip.shape[2] != 3:
        raise ValueError("the face has no square (C, C, 3) aligned chip to explain")
    return np.ascontiguousarray(chip, dtype=np.uint8)


def _to_chip(values: np.ndarray, size: int) -> np.ndarray:
    """A map at the network input's resolution -> the chip's (C, C), bilinear."""
    if values.shape[0] == size:
        return values.astype(np.float32, copy=False)
    return cv2.resize(values.astype(np.float32), (size, size), interpolation=cv2.INTER_LINEAR)


def _lap(t0: float) -> float:
    return (time.perf_counter() - t0) * 1e3
