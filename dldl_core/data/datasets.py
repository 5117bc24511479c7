"""Face datasets driven by a CSV manifest, the UTKFace file-name parser and a decoded uint8 cache.

A manifest has the columns ``file,age[,sigma][,split]``; every other column is kept as metadata. Rows that cannot be
used (missing file name, an age that is not a number, a file that does not exist) are skipped and counted, each
with a one-line reason, never a crash.
"""
from __future__ import annotations

import csv
import hashlib
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from dldl_core.data.images import load_rgb
from dldl_core.models.preprocess import resize_transform

log = logging.getLogger(__name__)

UTKFACE_GENDERS = {0: "male", 1: "female"}
UTKFACE_RACES = {0: "White", 1: "Black", 2: "Asian", 3: "Indian", 4: "Others"}


@dataclass(frozen=True)
class Sample:
    """One labelled face image."""

    file: str  # path relative to the image folder
    age: float
    sigma: float | None = None  # per-sample label std, when the manifest gives one
    split: str | None = None
    meta: dict[str, str] = field(default_factory=dict)  # every other manifest column


@dataclass
class Manifest:
    """Parsed manifest rows plus the rows that were skipped and why."""

    samples: list[Sample]
    skipped: list[str] = field(default_factory=list)  # one line per skipped row

    def split(self, name: str | None) -> Manifest:
        if name is None:
            return self
        return Manifest([s for s in self.samples if s.split == name], self.skipped)


def parse_utkface_name(name: str) -> dict[str, int] | None:
    """``{age}_{gender}_{race}_{datetime}.jpg[.chip.jpg]`` -> {"age", "gender", "race"}; fields missing in a
    malformed name are left out. Returns None when not even the age is readable."""
    parts = Path(name).name.split("_")
    try:
        fields = {"age": int(parts[0])}
    except (ValueError, IndexError):
        return None
    for key, pos in (("gender", 1), ("race", 2)):
        if len(parts) > pos + 1 and parts[pos].isdigit():  # the last field is the date, never gender/race
            fields[key] = int(parts[pos])
    return fields


def read_manifest(path: str | os.PathLike, image_dir: str | os.PathLike | None = None) -> Manifest:
    """Read a ``file,age[,sigma][,split]`` CSV. With ``image_dir``, rows whose file is missing are skipped."""
    samples, skipped = [], []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or "file" not in reader.fieldnames or "age" not in reader.fieldnames:
            raise ValueError(f"{path}: a manifest needs the columns 'file' and 'age'")
        for line, row in enumerate(reader, start=2):
            reason = _row_problem(row, image_dir)
            if reason:
                skipped.append(f"line {line}: {reason}")
                continue
            sigma = row.get("sigma") or None
            meta = {k: v for k, v in row.items() if k not in {"file", "age", "sigma", "split"} and k is not None}
            samples.append(Sample(row["file"], float(row["age"]), float(sigma) if sigma else None,
                                  row.get("split") or None, meta))
    if skipped:
        log.warning("%s: skipped %d malformed row(s); first: %s", path, len(skipped), skipped[0])
    return Manifest(samples, skipped)


def _row_problem(row: dict[str, str | None], image_dir: str | os.PathLike | None) -> str | None:
    name = (row.get("file") or "").strip()
    if not name:
        return "no file name"
    try:
        age = float(row.get("age") or "")
    except ValueError:
        return f"age {row.get('age')!r} is not a number"
    if not np.isfinite(age) or age < 0:
        return f"age {age} is out of range"
    sigma = row.get("sigma")
    if sigma:
        try:
            if not float(sigma) > 0:
                return f"sigma {sigma} is not positive"
        except ValueError:
            return f"sigma {sigma!r} is not a number"
    if image_dir is not None and not (Path(image_dir) / name).is_file():
        return f"file {name} not found"
    return None


def manifest_from_utkface_folder(image_dir: str | os.PathLike) -> Manifest:
    """Build a manifest from UTKFace file names alone (age, gender, race); unreadable names are skipped."""
    samples, skipped = [], []
    for path in sorted(Path(image_dir).iterdir()):
        fields = parse_utkface_name(path.name)
        if fields is None:
            skipped.append(f"{path.name}: no age in the file name")
            continue
        meta = {k: str(v) for k, v in fields.items() if k != "age"}
        samples.append(Sample(path.name, float(fields["age"]), meta=meta))
    return Manifest(samples, skipped)


def utkface_folder_problem(folder: str | os.PathLike) -> str | None:
    """One sentence on why ``folder`` is not a UTKFace folder (``manifest.csv`` and ``images/``), or None."""
    folder = Path(folder)
    if (folder / "manifest.csv").is_file() and (folder / "images").is_dir():
        return None
    return f"{folder} is not a UTKFace folder (it needs manifest.csv and images/)"


def duplicate_groups(duplicates_csv: str | os.PathLike) -> list[list[dict[str, str]]]:
    """The groups of byte-identical files of a ``duplicates.csv`` (``group,file,age,split``), each a list of its
    rows; empty when the file does not exist."""
    path = Path(duplicates_csv)
    if not path.is_file():
        return []
    groups: dict[str, list[dict[str, str]]] = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            groups.setdefault(row["group"], []).append(row)
    return list(groups.values())


def val_files_with_train_copy(duplicates_csv: str | os.PathLike) -> set[str]:
    """The val files that have a byte-identical copy in train (a network can remember it)."""
    return {r["file"] for rows in duplicate_groups(duplicates_csv) if any(r["split"] == "train" for r in rows)
            for r in rows if r["split"] == "val"}


class FaceDataset(Dataset):
    """(3, S, S) uint8 face, age, sigma for each manifest sample; decoded on the fly or from a uint8 cache."""

    def __init__(self, image_dir: str | os.PathLike, samples: list[Sample], input_size: int,
                 default_sigma: float = 2.0, cache: np.ndarray | None = None) -> None:
        self.image_dir = Path(image_dir)
        self.samples = samples
        self.input_size = input_size
        self.default_sigma = default_sigma
        self.transform = resize_transform(input_size)
        self.cache = cache  # (N, S, S, 3) uint8 or None
        self.ages = torch.tensor([s.age for s in samples], dtype=torch.float32)
        self.sigmas = torch.tensor([s.sigma or default_sigma for s in samples], dtype=torch.float32)

    def __len__(self) -> int:
        return len(self.samples)

    def load(self, index: int) -> torch.Tensor:
        if self.cache is not None:
            return torch.from_numpy(np.array(self.cache[index])).permute(2, 0, 1)  # a writable copy of the mapped row
        return self.transform(load_rgb(self.image_dir / self.samples[index].file))

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.load(index), self.ages[index], self.sigmas[index]


def cache_path(cache_dir: str | os.PathLike, image_dir: str | os.PathLike, samples: Iterable[Sample], size: int
               ) -> Path:
    """A cache file name keyed by the image folder, the file list and the size."""
    digest = hashlib.sha256(str(Path(image_dir).resolve()).encode())
    for s in samples:
        digest.update(s.file.encode())
    return Path(cache_dir) / f"faces_{size}_{digest.hexdigest()[:16]}.npy"


def build_cache(dataset: FaceDataset, cache_dir: str | os.PathLike, progress: bool = True, workers: int = 0
                ) -> np.ndarray:
    """Decode every image once into an (N, S, S, 3) uint8 array on disk and memory-map it; ``workers`` processes
    decode in parallel (the order is kept).

    Decoding a JPEG costs more than a TinyAgeNet step on a small CPU, so training decodes once and reuses.
    The array is written to a temporary name and renamed, so an interrupted build never leaves a bad cache.
    """
    path = cache_path(cache_dir, dataset.image_dir, dataset.samples, dataset.input_size)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
        s = dataset.input_size
        array = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(len(dataset), s, s, 3))
        saved, dataset.cache = dataset.cache, None
        # its own generator: iterating a loader draws a seed, which must not move the training's random state
        loader = DataLoader(dataset, batch_size=64, shuffle=False, num_workers=workers, generator=torch.Generator())
        done = 0
        with tqdm(total=len(dataset), desc=f"decoding {len(dataset)} images", disable=not progress) as bar:
            for faces, _, _ in loader:
                array[done:done + len(faces)] = faces.permute(0, 2, 3, 1).numpy()
                done += len(faces)
                bar.update(len(faces))
        dataset.cache = saved
        array.flush()
        del array
        os.replace(tmp, path)
    return np.load(path, mmap_mode="r")


def default_cache_dir() -> Path:
    return Path(os.environ.get("DLDL_CACHE", Path.home() / ".cache" / "dldl_core"))
