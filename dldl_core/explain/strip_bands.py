"""Honest names for the paper's horizontal strips: each strip's height range and the landmarks that fall in it.

The paper cuts its aligned 224-pixel face into seven 32-pixel strips at fixed fractions of the height; they do not
follow the face. On the alignment template (dldl_core.models.preprocess.DEFAULT_TEMPLATE) the eyes sit at 0.29-0.30
of the height, just below the edge between strips 2 and 3, and the mouth at 0.72, just below the edge between
strips 5 and 6: those strips cut through the eyes and the mouth. Names such as "eyes" or "mouth" would say more than
the strips do, so each strip is named by its range and the template's landmarks inside it, with a ``*`` where a
landmark lies within ``EDGE_MARGIN`` of the strip's edge (the strip holds only part of it).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dldl_core.models.preprocess import template_points

# Landmark groups of the template, by the detector's keypoint rows (dldl_core.pipeline.face.KEYPOINT_NAMES).
LANDMARKS: dict[str, tuple[int, ...]] = {"eyes": (0, 1), "nose tip": (2,), "mouth": (3,), "ears": (4, 5)}
EDGE_MARGIN = 0.03  # a landmark this close (share of the height) to a strip's edge is cut by it
PAPER_STRIPS = 7


def strip_edges(strips: int = PAPER_STRIPS) -> np.ndarray:
    """(strips + 1,) edges of equal horizontal strips as shares of the height, top to bottom."""
    return np.linspace(0.0, 1.0, strips + 1)


def strip_landmarks(template: Sequence[Sequence[float]] | None = None, strips: int = PAPER_STRIPS
                    ) -> list[list[str]]:
    """Per strip, the template's landmark groups whose mean height falls in it, ``*`` added where the landmark lies
    within ``EDGE_MARGIN`` of an edge between two strips."""
    edges = strip_edges(strips)
    points = template_points(template, 1.0)
    inside: list[list[str]] = [[] for _ in range(strips)]
    for name, rows in LANDMARKS.items():
        y = float(points[list(rows), 1].mean())
        k = int(np.clip(np.searchsorted(edges, y, side="right") - 1, 0, strips - 1))
        cut = bool(np.abs(edges[1:-1] - y).min() < EDGE_MARGIN) if strips > 1 else False
        inside[k].append(f"{name}*" if cut else name)
    return inside


def strip_names(template: Sequence[Sequence[float]] | None = None, strips: int = PAPER_STRIPS) -> list[str]:
    """Short names of the strips: the height range in per cent and the landmarks inside (``29-43 % eyes*, ears``)."""
    edges = strip_edges(strips) * 100
    return [f"{a:.0f}-{b:.0f} %" + (f" {', '.join(marks)}" if marks else "")
            for a, b, marks in zip(edges[:-1], edges[1:], strip_landmarks(template, strips))]
