"""Run directories: safetensors + JSON only, atomic writes, clear errors."""

from __future__ import annotations

import json

import pytest
import torch

from seqcnn import checkpoint
from seqcnn.exceptions import InputError
from seqcnn.models import create_model


def test_weights_round_trip_and_no_pickle(tmp_path):
    model = create_model("deepbind", n_filters=4)
    checkpoint.save_weights(model, tmp_path / "w.safetensors")
    other = create_model("deepbind", n_filters=4)
    checkpoint.load_weights(other, tmp_path / "w.safetensors")
    for (k, a), b in zip(model.state_dict().items(), other.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    assert not list(tmp_path.glob("*.pt")) and not list(tmp_path.glob(".*tmp*"))


def test_weights_that_do_not_fit_name_the_file(tmp_path):
    checkpoint.save_weights(create_model("deepbind", n_filters=4), tmp_path / "w.safetensors")
    with pytest.raises(InputError, match="w.safetensors.*do not fit"):
        checkpoint.load_weights(create_model("deepbind", n_filters=8), tmp_path / "w.safetensors")


def test_json_is_strict_and_nan_becomes_null(tmp_path):
    checkpoint.write_json({"auroc": float("nan"), "n": 3}, tmp_path / "m.json")
    assert json.loads((tmp_path / "m.json").read_text()) == {"auroc": None, "n": 3}
    (tmp_path / "bad.json").write_text("{\n  'x': 1\n}")
    with pytest.raises(InputError, match="bad.json, line 2"):
        checkpoint.read_json(tmp_path / "bad.json")


def test_existing_run_directory_is_kept_without_force(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "metrics.json").write_text("{}")
    with pytest.raises(InputError, match="--force"):
        checkpoint.prepare_run_dir(tmp_path / "run")
    assert (tmp_path / "run" / "metrics.json").read_text() == "{}"
    assert checkpoint.prepare_run_dir(tmp_path / "run", force=True).is_dir()


def test_load_run_errors(tmp_path):
    with pytest.raises(InputError, match="run directory not found"):
        checkpoint.load_run(tmp_path / "nope")
    (tmp_path / "config.json").write_text(json.dumps({"model": {"name": "deepbind"}}))
    with pytest.raises(InputError, match="config.json lacks 'args'"):
        checkpoint.load_run(tmp_path)
