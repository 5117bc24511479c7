"""Batch prediction over many files: threads decode the next images (Pillow releases the GIL while it decodes)
while the caller's thread detects and predicts, in the order of the paths; at most a few decoded images wait at any
time, so memory stays flat however many images there are. No torch: the torch-free predictor uses it too."""
from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import numpy as np

from dldl_core.data.images import ImageError, load_rgb
from dldl_core.pipeline.prediction import FacePrediction, ImagePrediction

LOOKAHEAD_PER_WORKER = 2  # decoded images waiting per decoding thread


class PhotoPredictor(Protocol):
    """What batch prediction needs of a predictor (pipeline.predictor's or pipeline.onnx_predictor's)."""

    def predict_rgb(self, rgb: np.ndarray) -> list[FacePrediction]: ...


def decode(path: str) -> tuple[str, np.ndarray | None, str | None]:
    """(path, RGB array or None, error or None): never raises for a bad image."""
    try:
        return path, load_rgb(path), None
    except ImageError as err:
        return path, None, str(err)


def decoded_images(paths: Iterable[str], workers: int = 1) -> Iterator[tuple[str, np.ndarray | None, str | None]]:
    """``decode`` of each path, in order; with ``workers`` > 1 that many threads decode ahead."""
    if workers <= 1:
        yield from map(decode, paths)
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="decode") as pool:
        pending: deque = deque()
        for path in paths:
            pending.append(pool.submit(decode, path))
            if len(pending) >= workers * LOOKAHEAD_PER_WORKER:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def iterate_predictions(predictor: PhotoPredictor, paths: Iterable[str], workers: int = 1
                        ) -> Iterator[ImagePrediction]:
    """One ImagePrediction per path, in order."""
    for path, rgb, error in decoded_images(paths, workers):
        if error is not None:
            yield ImagePrediction(path, error=error)
        else:
            yield ImagePrediction(path, predictor.predict_rgb(rgb))
