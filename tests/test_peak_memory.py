"""The memory bounds of the reliability tests measure the child program alone, not the test process that starts it."""
import sys

import numpy as np
import pytest
from bad_inputs import run_measured


@pytest.mark.slow
def test_a_child_is_measured_alone_whatever_the_parent_holds(tmp_path):
    ballast = np.ones(600 * 2**20 // 8)  # 600 MiB resident in this process
    script = tmp_path / "allocate.py"
    script.write_text("import sys\nblock = bytearray(int(sys.argv[1]) * 2**20)\n"
                      "block[::4096] = b'x' * len(block[::4096])\nprint(len(block) // 2**20)\n")
    small = run_measured([sys.executable, str(script), "20"], timeout=60)
    large = run_measured([sys.executable, str(script), "300"], timeout=60)
    assert small.code == 0 and small.stdout.strip() == "20" and large.stdout.strip() == "300"
    assert 20 < small.peak_mb < 200  # an interpreter and 20 MiB, not this process's 600 MiB
    assert large.peak_mb > small.peak_mb + 250
    assert ballast.sum() == ballast.size
