"""Scripts of benchmarks/ and scripts/ imported as modules, for tests that call their functions and ``main``."""
from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType


@contextmanager
def script_module(path: Path, name: str) -> Iterator[ModuleType]:
    """The script at ``path`` loaded as module ``name``, registered in sys.modules while in use (dataclasses look
    their module up there) and removed after."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(name, None)
