"""Shared test set-up: one torch thread (the machines are shared), and the real-data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
TEST_DATA = Path(__file__).resolve().parent / "data"


def shared_data_dir() -> Path | None:
    """``$SEQCNN_DATA_DIR`` or ``../shared/data`` beside the project, if it exists."""
    candidates = [os.environ.get("SEQCNN_DATA_DIR"), REPO.parent / "shared" / "data"]
    for c in candidates:
        if c and Path(c).is_dir():
            return Path(c)
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
