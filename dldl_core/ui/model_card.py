"""What the model card page shows, gathered from a weights file's sidecar and the files beside it.

Sources, each optional (what is missing is listed in ``ModelCard.missing`` so the page can say so):
- the sidecar's ``metrics``: top-level scalars (``val_mae_chip_tta`` ...) and nested evaluation summaries
  (``Evaluation.summary()``, e.g. ``metrics["val_chip"]`` with ``mae``, ``per_band``, ``per_gender``, ``per_race``), one
  per pipeline;
- validation predictions for the scatter plot: the sidecar key ``val_predictions`` (``{"pred": [...], "true": [...],
  "gender": [...], ...}`` or a list of such rows), else ``<stem>.val_predictions.csv`` (columns ``true,pred`` plus any
  group columns) or ``<stem>.val_predictions.json`` beside the weights;
- the training log ``<stem>.train_log.jsonl`` (or ``<stem>.log.jsonl``), one JSON record per epoch.
Tables missing from the metrics are computed from the predictions when those exist.
"""
from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dldl_core.data.datasets import UTKFACE_GENDERS, UTKFACE_RACES
from dldl_core.maths import metrics
from dldl_core.models.registry import resolve
from dldl_core.models.weights import is_default_weights, read_sidecar

GROUP_NAMES: dict[str, dict[int, str]] = {"gender": UTKFACE_GENDERS, "race": UTKFACE_RACES}


@dataclass
class ModelCard:
    path: Path
    sidecar: dict[str, Any]
    scalars: dict[str, float] = field(default_factory=dict)  # the top-level scalar metrics
    evaluations: dict[str, dict[str, Any]] = field(default_factory=dict)  # metrics key -> evaluation summary
    per_band: dict[str, dict[str, float]] | None = None  # of the default evaluation (chip pipeline first)
    per_group: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # "gender" -> table
    predictions: dict[str, np.ndarray] | None = None  # "pred", "true" and group columns, each (N,)
    train_log: list[dict[str, Any]] | None = None
    missing: list[str] = field(default_factory=list)  # one sentence per absent source
    markdown: str | None = None  # MODEL_CARD.md beside the weights

    def tables(self, evaluation: str) -> tuple[dict[str, dict[str, float]] | None, dict[str, dict[str, dict]]]:
        """Per-band and per-group tables of one evaluation summary, group values named ("0" -> "male")."""
        summary = self.evaluations[evaluation]
        groups = {k.removeprefix("per_"): {group_label(k.removeprefix("per_"), str(g)): row for g, row in v.items()}
                  for k, v in summary.items() if k.startswith("per_") and k != "per_band" and isinstance(v, dict)}
        return summary.get("per_band"), groups

    def evaluation_rows(self) -> list[dict[str, Any]]:
        """One row per evaluation summary: what it measured and how well."""
        rows = []
        for key, e in self.evaluations.items():
            row = {"evaluation": key, "pipeline": e.get("pipeline", ""), "faces": e.get("n")}
            for name, label in (("mae", "MAE"), ("cs5", "CS@5"), ("e_error", "e-error"),
                                ("gross_error_share", "gross (> 15 y)"), ("coverage90", "90 % coverage"),
                                ("faces_missed", "faces missed")):
                if name in e:
                    row[label] = round(e[name], 3) if isinstance(e[name], float) else e[name]
            rows.append(row)
        return rows

    def coverage_rows(self) -> list[dict[str, Any]]:
        """Per pipeline, the share of validation faces whose true age lies inside the predicted central 90 %
        interval (about 0.90 when the interval is calibrated) and the interval's mean width in years."""
        rows = []
        for key, e in self.evaluations.items():
            if "coverage90" in e:
                name, how = PIPELINES.get(e.get("pipeline", key), (e.get("pipeline", key), ""))
                rows.append({"pipeline": name, "what goes in": how, "coverage": float(e["coverage90"]),
                             "width": e.get("interval90_width")})
        return rows

    @property
    def summary(self) -> dict[str, Any]:
        """Architecture, size, input and provenance in a flat dict for a table."""
        s = self.sidecar
        model = s.get("model", {})
        recipe = s.get("recipe", {})
        return {"file": self.path.name, "architecture": model.get("arch"), "parameters": s.get("num_parameters"),
                "input size": s.get("preprocess", {}).get("input_size"), "objective": s.get("objective"),
                "age support": f"{model.get('min_age')}..{model.get('max_age')} ({model.get('num_bins')} bins)",
                **_epochs(recipe), "started from": _started_from(recipe),
                "epochs in the training log": len(self.train_log) if self.train_log else None,
                "sha256": str(s.get("sha256", ""))[:16] + "..."}


def _split_metrics(metrics: dict[str, Any]) -> tuple[dict[str, float], dict[str, dict[str, Any]]]:
    """Top-level numbers, and the nested evaluation summaries (dicts with a ``mae`` or a ``per_band``)."""
    scalars, evaluations = {}, {}
    for key, value in metrics.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            scalars[key] = float(value)
        elif isinstance(value, dict) and ("mae" in value or "per_band" in value):
            evaluations[key] = value
    if "per_band" in metrics:  # a summary stored as the metrics themselves
        evaluations["metrics"] = metrics
    return scalars, evaluations


def _columns_from_rows(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    keys = list(dict.fromkeys(k for r in rows for k in r))
    return {k: [r.get(k) for r in rows] for k in keys}


def _as_predictions(data: Any) -> dict[str, np.ndarray] | None:
    """Normalise column or row data into arrays; None where there is no usable ``pred`` and ``true``."""
    if isinstance(data, list) and data and isinstance(data[0], dict):
        data = _columns_from_rows(data)
    if not isinstance(data, dict) or "pred" not in data or "true" not in data:
        return None
    try:
        pred = np.asarray(data["pred"], dtype=float)
        true = np.asarray(data["true"], dtype=float)
    except (TypeError, ValueError):
        return None
    if pred.shape != true.shape or pred.ndim != 1 or len(pred) == 0:
        return None
    out = {"pred": pred, "true": true}
    for key, values in data.items():
        if key not in out and isinstance(values, list) and len(values) == len(pred):
            out[key] = np.asarray([str(v) for v in values])
    return out


def _read_predictions_file(stem: Path) -> dict[str, np.ndarray] | None:
    csv_path, json_path = Path(f"{stem}.val_predictions.csv"), Path(f"{stem}.val_predictions.json")
    if csv_path.is_file():
        with open(csv_path, newline="", encoding="utf-8") as f:
            return _as_predictions(list(csv.DictReader(f)))
    if json_path.is_file():
        try:
            return _as_predictions(json.loads(json_path.read_text()))
        except json.JSONDecodeError:
            return None
    return None


def _read_log(stem: Path) -> list[dict[str, Any]] | None:
    for path in (Path(f"{stem}.train_log.jsonl"), Path(f"{stem}.log.jsonl")):
        if path.is_file():
            records = []
            for line in path.read_text().splitlines():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
            return records or None
    return None


# What goes into the network under each evaluation pipeline: its short name and how the faces are made.
PIPELINES: dict[str, tuple[str, str]] = {
    "chip": ("chips", "the dataset's aligned crops fed directly"),
    "full": ("photos", "each image detected, aligned and confirmed as an upload is"),
    "pasted": ("pasted", ("each crop pasted into a random 640x480 scene (30-80 % of its width, turned up to ±20 "
                          "degrees), then detected and aligned as a photo: the closest of the three to a snapshot")),
}


def pipelines_caption() -> str:
    """One Markdown line saying what each pipeline feeds the network."""
    return "; ".join(f"*{name}*: {text}" for name, text in PIPELINES.values()) + "."


def coverage_caption(rows: list[dict[str, Any]]) -> str:
    """What the coverage numbers mean, with the intervals' mean widths."""
    widths = ", ".join(f"{r['pipeline']} {r['width']:.1f}" for r in rows if r["width"] is not None)
    return ("The share of validation faces whose true age lies inside the central 90 % interval of their predicted "
            "distribution (the interval the app and dldl predict show); a calibrated interval covers about 90 %, a "
            "lower share means the intervals are too narrow." + (f" Mean widths in years: {widths}." if widths else ""))


def _epochs(recipe: dict[str, Any]) -> dict[str, Any]:
    """The summary's ``best epoch`` and ``epochs``: the last stage's, or for a weight soup each network's."""
    soup = recipe.get("soup")
    if not soup:
        return {"best epoch": recipe.get("best_epoch"), "epochs": recipe.get("epochs")}
    counts = sorted({int(i["epochs"]) for i in soup if i.get("epochs")})
    span = (f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}-{counts[-1]}") if counts else "?"
    return {"best epoch": "each network's last", "epochs": f"{span} for each of the {len(soup)} networks"}


def _started_from(recipe: dict[str, Any]) -> str:
    """Where the network's last stage began: its init weights, or the networks a weight soup averaged."""
    if recipe.get("soup"):
        return f"the mean of {len(recipe['soup'])} networks (a weight soup)"
    return Path(recipe["init"]).name if recipe.get("init") else "random initialisation"


def training_stages(log: list[dict[str, Any]]) -> list[tuple[str, int, int]]:
    """The stages of a training log, each (``stage k``, its first and last epoch counted from 1 over the whole log).

    A log of several runs marks each record of run k with ``"stage": k`` from the second run on; unmarked records
    belong to stage 1. A stage of networks trained side by side (then averaged) marks the records of its i-th with
    ``"ingredient": i`` too, named ``stage k.i``. A log without marks is one stage, returned as an empty list.
    """
    stages: list[tuple[str, int, int]] = []
    for epoch, record in enumerate(log, start=1):
        name = f"stage {record.get('stage', 1)}" + (f".{record['ingredient']}" if record.get("ingredient") else "")
        if stages and stages[-1][0] == name:
            stages[-1] = (name, stages[-1][1], epoch)
        else:
            stages.append((name, epoch, epoch))
    return stages if len(stages) > 1 else []


def stages_caption(log: list[dict[str, Any]], stages: list[tuple[str, int, int]]) -> str:
    """The Model card page's caption of the training history: what its shaded spans and lines are."""
    side_by_side = [name for name, _, _ in stages if "." in name]
    return (f"The {len(log)} epochs of the training log in a row; the shaded spans are its {len(stages)} training "
            "runs, each started from the previous stage's weights (the full card below describes each)."
            + (f" Runs {side_by_side[0].removeprefix('stage ')}-{side_by_side[-1].removeprefix('stage ')}: networks "
               "trained side by side from one start, stage by stage, and averaged (a weight soup)."
               if side_by_side else "")
            + (" The dashed line: stages that watched 250 val faces each epoch instead of the whole split."
               if any("val250_mae" in r for r in log) else ""))


METRIC_WORDS = {"val": "val", "mae": "MAE", "cs5": "CS@5", "e": "e-error", "tta": "TTA", "chip": "chips",
                "full": "photos", "pasted": "pasted"}


def metric_label(name: str) -> str:
    """``val_mae_chip_tta`` -> ``val MAE (chips, TTA)``: the measure first, the conditions in brackets."""
    words = [METRIC_WORDS.get(w, w) for w in name.replace(".", "_").split("_") if w]
    head = [w for w in words if w not in ("chips", "photos", "pasted", "TTA")]
    tail = [w for w in words if w in ("chips", "photos", "pasted", "TTA")]
    return " ".join(head) + (f" ({', '.join(tail)})" if tail else "")


def group_label(group: str, value: str) -> str:
    """UTKFace codes to names ("0" -> "male"); other values unchanged."""
    names = GROUP_NAMES.get(group, {})
    return names.get(int(value), value) if value.isdigit() else value


def card_text_path(path: str | os.PathLike) -> Path:
    """Where the written card of these weights lives: ``MODEL_CARD.md`` for the shipped default, else
    ``<stem>.model_card.md`` beside them (a folder can hold several networks, each with its own card)."""
    path = Path(path)
    if is_default_weights(path):
        return path.parent / "MODEL_CARD.md"
    return path.with_suffix(".model_card.md")


def _read_card_text(path: Path) -> str | None:
    """The card of ``path``: its own file, else a ``MODEL_CARD.md`` beside it whose title names this file."""
    own = card_text_path(path)
    if own.is_file():
        return own.read_text()
    shared = path.parent / "MODEL_CARD.md"
    if shared.is_file():
        text = shared.read_text()
        if text.partition("\n")[0].strip() == f"# Model card: {path.name}":
            return text
    return None


def load_model_card(path: str | os.PathLike | None = None) -> ModelCard:
    """Read the sidecar of ``path`` (default: ``DLDL_WEIGHTS`` or the shipped weights) and the files beside it;
    raises ``WeightsError`` when the sidecar itself is missing or unreadable."""
    path = resolve(path)[0]
    sidecar = read_sidecar(path)
    stem = path.with_suffix("")
    card = ModelCard(path, sidecar)
    card.scalars, card.evaluations = _split_metrics(sidecar.get("metrics") or {})
    card.predictions = _as_predictions(sidecar.get("val_predictions")) or _read_predictions_file(stem)
    card.train_log = _read_log(stem)
    card.markdown = _read_card_text(path)
    default = next((k for k, e in card.evaluations.items() if e.get("pipeline") == "chip"),
                   next(iter(card.evaluations), None))
    if default is not None:
        card.per_band, card.per_group = card.tables(default)
    if card.per_band is None and card.predictions is not None:
        card.per_band = metrics.per_band(card.predictions["pred"], card.predictions["true"])
    if card.predictions is not None:
        for group in ("gender", "race"):
            if group not in card.per_group and group in card.predictions:
                labels = np.array([group_label(group, v) for v in card.predictions[group]])
                card.per_group[group] = metrics.group_table(card.predictions["pred"], card.predictions["true"], labels)
    if not card.scalars and not card.evaluations:
        card.missing.append("The weights' sidecar holds no metrics.")
    if card.per_band is None:
        card.missing.append("No per-age-band table: the sidecar has no per_band metrics and no validation "
                            "predictions.")
    if not card.per_group:
        card.missing.append("No per-group tables (gender, race): none in the sidecar and no validation predictions "
                            "with group columns.")
    if card.predictions is None:
        card.missing.append(f"No validation predictions for the scatter plot (sidecar key val_predictions or "
                            f"{stem.name}.val_predictions.csv beside the weights).")
    if card.train_log is None:
        card.missing.append(f"No training log ({stem.name}.train_log.jsonl or {stem.name}.log.jsonl beside the "
                            f"weights).")
    return card
