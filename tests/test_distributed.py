"""Training under torchrun: two CPU processes (gloo backend) share the work, rank 0 writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(sys.platform != "linux", reason="gloo process groups are tested on Linux")
def test_two_process_training_writes_one_run_directory(tmp_path):
    demo = REPO / "data" / "demo"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "-m",
        "seqcnn.cli",
        "train",
        "--train",
        str(demo / "train.tsv.gz"),
        "--valid",
        str(demo / "valid.tsv.gz"),
        "--out",
        str(tmp_path / "run"),
        "--epochs",
        "2",
        "--threads",
        "1",
        "--quiet",
        "--model-arg",
        "n_filters=8",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr.count("trained deepbind") == 1  # only rank 0 reports
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["train"]["n"] == 3000 and 0.0 <= metrics["valid"]["auroc"] <= 1.0
    assert len(list((tmp_path / "run").glob("*.safetensors"))) == 1
