"""Which folders of the server a page may read when a user types a path.

On 127.0.0.1 the user owns the machine; once the app is served to others, a typed path must not reach the rest of
the file system. Pages resolve every typed path (symbolic links and ``..`` included) and accept it only inside an
allowed root: by default the project's folder, the shared data folder and the system temporary folder, or the
folders listed in ``DLDL_ALLOWED_ROOTS`` (separated by ``os.pathsep``), which then replace the defaults.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

ALLOWED_ROOTS_ENV = "DLDL_ALLOWED_ROOTS"


def allowed_roots(defaults: Iterable[str | os.PathLike]) -> list[Path]:
    """The folders typed paths may lie in: ``DLDL_ALLOWED_ROOTS`` when set, else ``defaults`` and the system
    temporary folder; each resolved."""
    listed = [p for p in os.environ.get(ALLOWED_ROOTS_ENV, "").split(os.pathsep) if p.strip()]
    roots = listed or [*defaults, tempfile.gettempdir()]
    return [Path(p).expanduser().resolve() for p in roots]


def refusal(path: str | os.PathLike, roots: Sequence[Path]) -> str | None:
    """None when ``path`` lies inside one of ``roots`` (after resolving links), else the one sentence a page shows."""
    resolved = Path(path).expanduser().resolve()
    if any(resolved.is_relative_to(root) for root in roots):
        return None
    return (f"{path} is outside the folders this app may read ({', '.join(str(r) for r in roots)}); "
            f"set {ALLOWED_ROOTS_ENV} to allow another folder.")
