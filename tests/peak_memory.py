"""Run a Python program and write its own peak resident memory (MiB) to a file when it exits::

    python tests/peak_memory.py PEAK.txt -m dldl_core predict photo.jpg
    python tests/peak_memory.py PEAK.txt some_script.py ARGS...

Why not ``os.wait4``'s ``ru_maxrss``: Linux carries the high-water mark of the forked copy of the parent across
``exec``, so a child of a test process that has grown to 2 GB reports at least 2 GB, whatever it used itself.
``VmHWM`` in ``/proc/self/status`` belongs to the memory map that ``exec`` created, so it is the program's own peak.
"""
from __future__ import annotations

import atexit
import runpy
import sys
from pathlib import Path


def peak_mib() -> float | None:
    """This process's peak resident memory since exec, in MiB (None where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return None


def main() -> None:
    out, *program = sys.argv[1:]
    if not program:
        raise SystemExit("usage: peak_memory.py PEAK.txt (-m MODULE | SCRIPT) [ARGS...]")
    atexit.register(lambda: Path(out).write_text(f"{peak_mib()}\n"))
    if program[0] == "-m":
        sys.argv = [program[1], *program[2:]]
        runpy.run_module(program[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = program
        sys.path.insert(0, str(Path(program[0]).resolve().parent))
        runpy.run_path(program[0], run_name="__main__")


if __name__ == "__main__":
    main()
