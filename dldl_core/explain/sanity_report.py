"""Tables and the figure of a sanity-check report (``dldl_core.explain.sanity.sanity_check``)."""
from __future__ import annotations

from typing import Any

import numpy as np

from dldl_core.explain.methods import METHOD_LABELS
from dldl_core.explain.sanity import SIMILARITIES
from dldl_core.markdown import markdown_table

SHUFFLED = "shuffled labels"
EMPTY_NOTE = ("Empty (constant) maps along the cascade, of the faces each method was measured on (an empty map scores "
              "Spearman 0 against any map that ranks something):")


def _cell(summary: dict[str, float] | None) -> str:
    return "-" if summary is None else f"{summary['mean']:.2f} [{summary['lo']:.2f}, {summary['hi']:.2f}]"


def verdict_table(report: dict[str, Any]) -> str:
    """Per method: the verdict, its faces, its empty maps and the mean Spearman (95 % interval) at the verdict's
    step, with every block random, for the label-shuffled network and between two different faces; SSIM at the
    verdict's step."""
    step, last = report["verdict_step"], report["steps"][-1]
    rows = []
    for m, r in report["methods"].items():
        shuffled = r.get("shuffled") or {}
        empty = " / ".join(str(v) for v in (r.get("trained_empty_maps", "-"), r["cascade"][step].get("empty_maps", "-"),
                                            shuffled.get("empty_maps", "-")))
        rows.append([METHOD_LABELS.get(m, m), "shows the network" if r["shows_network"] else
                     "does not show the network", r["cascade"][step]["spearman"]["n"], empty,
                     _cell(r["cascade"][step]["spearman"]), _cell(r["cascade"][last]["spearman"]),
                     _cell(shuffled.get("spearman")), _cell(r["different_faces"]["spearman"]),
                     _cell(r["cascade"][step]["ssim"]), _cell(shuffled.get("ssim"))])
    return markdown_table(["method", "verdict", "faces", f"empty maps: trained / {step} / shuffled",
                           f"Spearman, random to {step}", f"Spearman, random to {last}",
                           "Spearman, shuffled labels", "Spearman, two different faces", f"SSIM, random to {step}",
                           "SSIM, shuffled labels"], rows)


def _value(summary: dict[str, Any] | None, key: str) -> str:
    if summary is None or key not in summary:
        return "-"
    return f"{summary[key]['mean']:.2f}" if isinstance(summary[key], dict) else str(summary[key])


def cascade_table(report: dict[str, Any], key: str = "spearman") -> str:
    """Per method (rows) after each cascade step (columns), then for the label-shuffled network: the mean of a
    similarity (``spearman``, ``ssim``) or the count ``empty_maps``."""
    rows = [[METHOD_LABELS.get(m, m), *(_value(r["cascade"][s], key) for s in report["steps"]),
             _value(r.get("shuffled"), key)] for m, r in report["methods"].items()]
    return markdown_table(["method", *report["steps"], SHUFFLED], rows)


def sanity_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: what was measured, the verdicts, then Spearman and SSIM along the cascade."""
    intro = (f"Sanity checks (Adebayo et al. 2018) of the CAM maps of `{report.get('weights', {}).get('file', '?')}` "
             f"on {report['n']} faces (split {report.get('split') or 'all'}), target `{report.get('target', '?')}`. "
             "Each column compares the trained network's map of a face with the map of the same face by a changed "
             "network: cascading randomisation re-initialises the head, then the CAM's layer (`last_block`), then "
             "each VGG stage down to the input (each step keeps the ones above it random); `shuffled labels` is a "
             "network of the same architecture trained on permuted ages. Means over the faces with a bootstrap "
             f"95 % interval. A method shows the network when its mean Spearman at `{report['verdict_step']}` and "
             f"for the label-shuffled network is below {report['threshold']:g}.")
    parts = [intro, verdict_table(report), "Mean Spearman rank correlation along the cascade:",
             cascade_table(report, "spearman"), "Mean SSIM along the cascade:", cascade_table(report, "ssim"),
             EMPTY_NOTE, cascade_table(report, "empty_maps")]
    return "\n\n".join(parts) + "\n"


def _similarity_axes(ax, report: dict[str, Any], similarity: str) -> None:
    steps = report["steps"]
    x = np.arange(len(steps))
    for i, (m, r) in enumerate(report["methods"].items()):
        s = [r["cascade"][step][similarity] for step in steps]
        ax.plot(x, [v["mean"] for v in s], "o-", color=f"C{i}", label=METHOD_LABELS.get(m, m), ms=4)
        ax.fill_between(x, [v["lo"] for v in s], [v["hi"] for v in s], color=f"C{i}", alpha=0.15, lw=0)
        if r.get("shuffled"):
            v = r["shuffled"][similarity]
            ax.errorbar(len(steps) + 0.6 + 0.08 * i, v["mean"], [[v["mean"] - v["lo"]], [v["hi"] - v["mean"]]],
                        fmt="s", color=f"C{i}", ms=5, capsize=2)
    if similarity == "spearman":
        ax.axhline(report["threshold"], color="0.4", ls="--", lw=1)
    ax.axhline(0, color="0.7", lw=0.8)
    ax.set_xticks([*x, len(steps) + 0.8], [*steps, SHUFFLED], rotation=30, ha="right")
    ax.set_ylabel(f"mean {'Spearman' if similarity == 'spearman' else 'SSIM'} with the trained maps")
    ax.set_xlabel("randomised down to (cascade)")


def _strip_axes(axes, strips: dict[str, list[tuple[str, np.ndarray]]], chip: np.ndarray) -> None:
    gray = chip.mean(axis=2)
    for row, (m, strip) in zip(axes, strips.items()):
        for ax, (label, cam) in zip(row, strip):
            ax.imshow(gray, cmap="gray")
            ax.imshow(cam, cmap="jet", alpha=0.5, vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if m == next(iter(strips)):
                ax.set_title(label, fontsize=9)
        row[0].set_ylabel(METHOD_LABELS.get(m, m), fontsize=9)


def sanity_figure(report: dict[str, Any], strips: dict[str, list[tuple[str, np.ndarray]]] | None = None,
                  chip: np.ndarray | None = None):
    """A matplotlib Figure: Spearman and SSIM along the cascade per method (band: 95 % interval; squares: the
    label-shuffled network), and with ``strips`` (``map_strip``) and the face's (S, S, 3) ``chip``, its maps."""
    from matplotlib.figure import Figure

    rows = len(strips) if strips else 0
    fig = Figure(figsize=(12, 4.6 + 1.35 * rows), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[4.6, max(1.35 * rows, 0.01)]) if rows else (fig, None)
    axes = top.subplots(1, len(SIMILARITIES))
    for ax, similarity in zip(axes, SIMILARITIES):
        _similarity_axes(ax, report, similarity)
    axes[0].legend(fontsize=8, loc="upper right")
    top.suptitle(f"Sanity checks of the CAM methods: {report['n']} faces; dashed: the verdict's threshold")
    if rows:
        columns = max(len(s) for s in strips.values())
        _strip_axes(bottom.subplots(rows, columns, squeeze=False), strips, chip)
        bottom.suptitle("Maps of one photo (Grace Hopper, bundled with matplotlib) along the cascade", fontsize=10)
    return fig
