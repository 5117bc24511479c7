"""The photos of one Analyze session: uploads and camera snapshots, each kept once by its content (a file uploaded
twice is one photo), in the order they came. The store follows the uploader while the page is shown and outlives
it: the uploader starts empty when the page is opened again, and that removes nothing."""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass


def content_digest(data: bytes) -> str:
    """The key of a photo: the sha256 of its bytes."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class StoredPhoto:
    digest: str
    name: str
    data: bytes


class PhotoStore:
    """Photos by content digest, oldest first."""

    def __init__(self) -> None:
        self._photos: dict[str, StoredPhoto] = {}
        self._in_uploader: set[str] = set()  # digests the uploader showed on the last sync
        self.snapshots = 0  # snapshots added so far (they are numbered)

    def __len__(self) -> int:
        return len(self._photos)

    def __contains__(self, digest: str) -> bool:
        return digest in self._photos

    def photos(self) -> list[StoredPhoto]:
        return list(self._photos.values())

    def add(self, name: str, data: bytes) -> tuple[str, bool]:
        """Keep a photo unless its content is kept already; its digest and whether it is new."""
        digest = content_digest(data)
        if digest in self._photos:
            return digest, False
        self._photos[digest] = StoredPhoto(digest, name, data)
        return digest, True

    def remove(self, digest: str) -> None:
        self._photos.pop(digest, None)
        self._in_uploader.discard(digest)

    def add_snapshot(self, data: bytes) -> tuple[str, bool]:
        """A camera snapshot, named ``snapshot.jpg``, then ``snapshot 2.jpg``, ...; its digest and whether new."""
        if content_digest(data) in self._photos:
            return content_digest(data), False
        self.snapshots += 1
        return self.add("snapshot.jpg" if self.snapshots == 1 else f"snapshot {self.snapshots}.jpg", data)

    def sync_uploads(self, files: Sequence[tuple[str, bytes]], fresh: bool = False) -> list[str]:
        """Follow the uploader: add its files, forget those removed from it since the last sync; the digests newly
        added. ``fresh``: the uploader was just drawn anew (the page was opened again), so what it no longer holds
        was not removed by the user and is kept."""
        if fresh:
            self._in_uploader = set()
        now, added = set(), []
        for name, data in files:
            digest, new = self.add(name, data)
            now.add(digest)
            if new:
                added.append(digest)
        for digest in self._in_uploader - now:
            self._photos.pop(digest, None)
        self._in_uploader = now
        return added

    def earlier(self) -> list[StoredPhoto]:
        """The photos kept from before the uploader was last drawn anew (not in the uploader now)."""
        return [p for p in self._photos.values() if p.digest not in self._in_uploader]
