"""Batch prediction over many files: a DataLoader decodes images in worker processes while the main process
detects and predicts, so memory stays flat however many images there are."""
from __future__ import annotations

from typing import Iterable, Iterator

import numpy as np
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from dldl_core.images import ImageError, load_rgb
from dldl_core.predictor import ImagePrediction, Predictor


class DecodedImages(IterableDataset):
    """Yields (path, rgb or None, error or None); the paths are split between workers."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.paths = paths

    def __iter__(self) -> Iterator[tuple[str, np.ndarray | None, str | None]]:
        info = get_worker_info()
        for i, path in enumerate(self.paths):
            if info is not None and i % info.num_workers != info.id:
                continue
            try:
                yield path, load_rgb(path), None
            except ImageError as err:
                yield path, None, str(err)


def iterate_predictions(predictor: Predictor, paths: Iterable[str], workers: int = 1) -> Iterator[ImagePrediction]:
    """One ImagePrediction per path, in order when ``workers`` <= 1."""
    paths = list(paths) if workers > 1 else paths  # each worker walks the whole list and keeps its share
    loader = DataLoader(DecodedImages(paths), batch_size=None, num_workers=workers if workers > 1 else 0,
                        collate_fn=lambda item: item)
    for path, rgb, error in loader:
        if error is not None:
            yield ImagePrediction(path, error=error)
        else:
            yield ImagePrediction(path, predictor.predict_rgb(rgb))
