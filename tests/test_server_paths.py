"""Typed server paths: inside the allowed folders (links resolved) or refused with one sentence."""
import os
import tempfile
from pathlib import Path

from dldl_core.ui.server_paths import ALLOWED_ROOTS_ENV, allowed_roots, refusal


def test_defaults_and_the_temporary_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(ALLOWED_ROOTS_ENV, raising=False)
    roots = allowed_roots([tmp_path / "project", tmp_path / "data"])
    assert roots == [(tmp_path / "project").resolve(), (tmp_path / "data").resolve(),
                     Path(tempfile.gettempdir()).resolve()]
    assert refusal(tmp_path / "project" / "images", roots) is None
    assert refusal(Path(tempfile.gettempdir()) / "x.csv", roots) is None


def test_the_environment_replaces_the_defaults(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    monkeypatch.setenv(ALLOWED_ROOTS_ENV, f"{a}{os.pathsep}{b}{os.pathsep}")
    roots = allowed_roots([tmp_path / "project"])
    assert roots == [a.resolve(), b.resolve()]
    assert refusal(b / "faces" / "manifest.csv", roots) is None
    sentence = refusal(tmp_path / "project", roots)
    assert sentence.startswith(f"{tmp_path / 'project'} is outside the folders this app may read")
    assert sentence.endswith(f"set {ALLOWED_ROOTS_ENV} to allow another folder.")


def test_dot_dot_and_links_cannot_leave_a_root(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir(), outside.mkdir()
    (root / "link").symlink_to(outside)
    roots = [root.resolve()]
    assert refusal(root / ".." / "outside", roots) is not None
    assert refusal(root / "link" / "manifest.csv", roots) is not None
    assert refusal(root / "sub" / ".." / "manifest.csv", roots) is None
    assert refusal("/etc/passwd", roots) is not None
