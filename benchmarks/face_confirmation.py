"""Precision and recall of the face pipeline with and without the second, upright look
(dldl_core.pipeline.face.confirm_face).

Positives: UTKFace val chips pasted into random photos (dldl_core.data.synthetic.paste_face), so the true face's place
is known. Negatives: scenes that hold no face (dldl_core.data.negatives: scikit-image's bundled non-face photos, crops
of them, drawn fabric patterns, hands and badges). Every candidate of the detector (score >= 0.5) is aligned and
looked at again; a box counts as a true face when it overlaps the pasted face, as a false box otherwise. The table
gives, for the detector alone and for each confirmation threshold, the recall (pasted faces kept), the false boxes on
the negative scenes and on the positive photos, and the precision; then the cost of the second look on a 640x480
frame.

    python benchmarks/face_confirmation.py --data ../shared/datasets/utkface [--limit 300] [--json]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dldl_core.data.datasets import read_manifest, utkface_folder_problem
from dldl_core.data.images import load_rgb
from dldl_core.data.negatives import non_face_scenes
from dldl_core.data.synthetic import paste_face
from dldl_core.markdown import markdown_table
from dldl_core.models.weights import load_weights
from dldl_core.pipeline.face import MIN_CONFIRMATION, FaceDetector, _overlap, every_candidate, find_faces, is_confirmed

THRESHOLDS = (0.5, 0.6, 0.65, 0.7, 0.75, 0.8)


def candidate_scores(detector: FaceDetector, rgb: np.ndarray, template, chip_size: int
                     ) -> list[tuple[tuple[float, ...], float, float]]:
    """(box, first-look score, confirmation score) of every candidate the detector finds in an image, as the Analyze
    page looks at them (dldl_core.pipeline.face.every_candidate: in a grainy image, on its smoothed copy too)."""
    return [(face.box, float(face.score), float(face.confirmation))
            for face in every_candidate(rgb, detector, template, chip_size)]


def measure(data: Path, limit: int, seed: int, template, chip_size: int, per_kind: int = 4) -> dict:
    samples = [s for s in read_manifest(data / "manifest.csv", data / "images").split("val").samples][:limit]
    rng = np.random.default_rng(seed)
    # (first-look score, confirmation) of the candidates on each true face, of other boxes, of the non-face scenes
    positives, extra, negatives = [], [], []
    with FaceDetector() as detector:
        for sample in samples:
            photo, true_box = paste_face(load_rgb(data / "images" / sample.file), rng)
            found = candidate_scores(detector, photo, template, chip_size)
            positives.append([(s, c) for b, s, c in found if _overlap(b, true_box) > 0.3])
            extra += [(s, c) for b, s, c in found if _overlap(b, true_box) <= 0.3]
        scenes = 0
        for _, scene in non_face_scenes(per_kind=per_kind, seed=seed):
            scenes += 1
            negatives += [(s, c) for _, s, c in candidate_scores(detector, scene, template, chip_size)]
    return {"positives": positives, "extra": extra, "negatives": negatives, "scenes": scenes}


def table(scores: dict) -> list[dict]:
    """Per threshold (None: the detector alone keeps every candidate), with dldl_core.pipeline.face.is_confirmed's
    rule, then the default threshold on the second look's score alone (without the rule's allowance): recall, false
    boxes and precision."""
    rows = [table_row("none (detector alone)" if t is None else f">= {t}", scores,
                      lambda s, c, t=t: is_confirmed(s, c, 0.0 if t is None else t)) for t in (None, *THRESHOLDS)]
    return [*rows, table_row(f">= {MIN_CONFIRMATION}, second look alone", scores, lambda s, c: c >= MIN_CONFIRMATION)]


def table_row(label: str, scores: dict, kept: Callable[[float, float], bool]) -> dict:
    """One row: ``kept(first-look score, confirmation)`` says which candidates count as faces."""
    true = sum(any(kept(s, c) for s, c in hits) for hits in scores["positives"])
    false_neg = sum(kept(s, c) for s, c in scores["negatives"])
    false_pos = sum(kept(s, c) for s, c in scores["extra"])
    return {"confirmation": label, "recall": true / len(scores["positives"]), "false_boxes_on_non_faces": false_neg,
            "false_boxes_on_photos": false_pos, "precision": true / max(true + false_neg + false_pos, 1)}


def confirmation_cost_ms(template, chip_size: int, repeat: int = 30) -> dict:
    """Median ms of detect + align on a 640x480 frame with one face, with and without the second look."""
    import cv2
    from matplotlib.cbook import get_sample_data

    face = load_rgb(get_sample_data("grace_hopper.jpg", asfileobj=False))
    frame = np.full((480, 640, 3), 120, np.uint8)
    frame[60:60 + 360, 140:140 + 300] = cv2.resize(face, (300, 360))
    times = {}
    with FaceDetector() as detector:
        for name, threshold in (("detect_align", 0.0), ("detect_align_confirm", MIN_CONFIRMATION)):
            runs = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                find_faces(frame, detector, template, chip_size, min_confirmation=threshold)
                runs.append((time.perf_counter() - t0) * 1e3)
            times[name] = float(np.median(runs))
    return times


def markdown(rows: list[dict], scores: dict, cost: dict) -> str:
    table = markdown_table(
        ["second look", "recall", "false boxes on non-faces", "false boxes on the face photos", "precision"],
        [[r["confirmation"], f"{r['recall']:.3f}", r["false_boxes_on_non_faces"], r["false_boxes_on_photos"],
          f"{r['precision']:.3f}"] for r in rows], align="lrrrr")
    cost_line = (f"Detect + align on a 640x480 frame with one face: {cost['detect_align']:.1f} ms alone, "
                 f"{cost['detect_align_confirm']:.1f} ms with the second look (median of 30).")
    return "\n".join([f"{len(scores['positives'])} pasted val faces, {scores['scenes']} scenes without a face.", "",
                      table, "", cost_line])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="../shared/datasets/utkface", help="UTKFace folder (images/, manifest.csv)")
    parser.add_argument("--weights", default=None, help="weights whose alignment template is used (default: shipped)")
    parser.add_argument("--limit", type=int, default=300, help="pasted val faces")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-kind", type=int, default=4, help="crops of each bundled photo and drawn scenes of "
                        "each kind among the non-face scenes")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    data = Path(args.data)
    if problem := utkface_folder_problem(data):
        print(f"error: {problem}", file=sys.stderr)
        return 2
    preprocess = load_weights(args.weights).preprocess
    scores = measure(data, args.limit, args.seed, preprocess.template, preprocess.chip_size, args.per_kind)
    rows, cost = table(scores), confirmation_cost_ms(preprocess.template, preprocess.chip_size)
    print(json.dumps({"rows": rows, "cost_ms": cost, "default_threshold": MIN_CONFIRMATION}, indent=1)
          if args.json else markdown(rows, scores, cost))
    return 0


if __name__ == "__main__":
    sys.exit(main())
