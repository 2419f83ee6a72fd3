"""Shared test set-up: one torch thread (the machines are shared), and the real-data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
TEST_DATA = Path(__file__).resolve().parent / "data"


# The project's data lies in ../shared/data beside a development checkout: tests (and only
# tests) use it as the default of $SEQCNN_DATA_DIR, then ask the package where the data is.
_CHECKOUT_DATA = REPO.parent / "shared" / "data"
if not os.environ.get("SEQCNN_DATA_DIR") and _CHECKOUT_DATA.is_dir():
    os.environ["SEQCNN_DATA_DIR"] = str(_CHECKOUT_DATA)


def shared_data_dir() -> Path | None:
    """The real datasets' folder as :func:`seqcnn.data_files.data_root` finds it, or None."""
    from seqcnn.data_files import data_root
    from seqcnn.exceptions import InputError

    try:
        return data_root()
    except InputError:
        return None


@pytest.fixture
def data_dir() -> Path:
    """The real datasets; skips (saying why) when they are absent."""
    d = shared_data_dir()
    if d is None:
        pytest.skip("real data not found: set SEQCNN_DATA_DIR or put it at ../shared/data")
    return d


@pytest.fixture
def test_data() -> Path:
    return TEST_DATA


@pytest.fixture
def peak_memory_kib():
    """``peak_memory_kib(*argv)``: peak resident memory (VmHWM, KiB) of one ``seqcnn`` command
    run in a fresh process (Linux only)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from seqcnn.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
        "print(int(hwm.split()[1]))\n"
        "sys.exit(code)\n"
    )

    def run(*argv) -> int:
        out = subprocess.run(
            [sys.executable, "-c", code, *map(str, argv)], capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr
        return int(out.stdout.split()[-1])

    return run
