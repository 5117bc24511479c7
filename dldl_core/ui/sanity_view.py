"""What the Analyze page says of a CAM method's sanity check: the shipped report (``sanity.json`` from ``dldl sanity``)
that describes the network in use, and its verdict on the method in one sentence."""
from __future__ import annotations

import os
from pathlib import Path

from dldl_core.assets import PACKAGE_DIR
from dldl_core.explain.sanity import load_sanity_report, method_verdict
from dldl_core.models.registry import resolve
from dldl_core.models.weights import WeightsError, read_sidecar

SANITY_REPORT_DIRS = ("{stem}.sanity", "sanity")  # beside the weights, then docs/figures/
DOCS_FIGURES = PACKAGE_DIR.parent / "docs" / "figures"


def find_sanity_report(path: str | os.PathLike | None = None) -> Path | None:
    """``sanity.json`` shipped with the weights at ``path``: in ``<stem>.sanity/`` or ``sanity/`` beside them, else
    in ``docs/figures/sanity/``; None where there is none."""
    path = resolve(path)[0]
    folders = [path.parent / d.format(stem=path.stem) for d in SANITY_REPORT_DIRS] + [DOCS_FIGURES / "sanity"]
    return next((f / "sanity.json" for f in folders if (f / "sanity.json").is_file()), None)


def sanity_sentence(method: str, path: str | os.PathLike | None = None) -> str:
    """One sentence for the page: the method's sanity verdict for the weights at ``path``, or why there is none."""
    found = find_sanity_report(path)
    report = load_sanity_report(found) if found else None
    if report is None:
        return ("No sanity check ships with these weights: run `dldl sanity` to learn whether this method's maps "
                "depend on what the network learned.")
    try:
        current = read_sidecar(resolve(path)[0]).get("sha256")
    except WeightsError:
        current = None
    made_with = (report.get("weights") or {}).get("sha256")
    if current is None or made_with != current:
        return (f"The shipped sanity check was run on other weights (sha256 {str(made_with)[:12]}...), not the network "
                f"in use; run `dldl sanity` for these.")
    return method_verdict(report, method) or f"The shipped sanity check did not measure {method}."


def _interval(value: float | None, ci: list) -> str:
    if value is None:
        return "not measured"
    return f"{value:+.2f}" + ("" if not ci or ci[0] is None else f" [{ci[0]:+.2f}, {ci[1]:+.2f}]")


def shipped_faithfulness_sentence(method: str, path: str | os.PathLike | None = None) -> str | None:
    """How faithful ``method``'s maps were over val faces for the weights at ``path``, from the shipped
    ``faithfulness.json`` (``dldl faithfulness``); None where none ships for these weights or it lacks the method."""
    import json

    found = DOCS_FIGURES / "faithfulness" / "faithfulness.json"
    try:
        data = json.loads(found.read_text())
        current = read_sidecar(resolve(path)[0]).get("sha256")
    except (OSError, ValueError, WeightsError):
        return None
    r = (data.get("methods") or {}).get(method)
    if not r or current is None or (data.get("weights") or {}).get("sha256") != current:
        return None
    road = f"; ROAD gain {_interval(r['road_gain'], r['road_gain_ci95'])}" if "road_gain" in r else ""
    return (f"Faithfulness of {method} over {r['n']} {data.get('split') or ''} faces ({r.get('fill', 'blur')} fill, "
            f"years, 95 % interval): deletion gain over random order "
            f"{_interval(r['deletion_gain'], r['deletion_gain_ci95'])}, over its mean map "
            f"{_interval(r['deletion_gain_vs_prior'], r['deletion_gain_vs_prior_ci95'])}{road}. An interval that "
            f"holds zero means the map's order is not distinguishable from chance (docs/explain.md).")
