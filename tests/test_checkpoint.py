"""Run directories: safetensors + JSON only, atomic writes, clear errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from seqcnn import checkpoint
from seqcnn.exceptions import ConfigError, InputError
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


# ---------------------------------------------------------------------------- hostile files
class _Payload:
    """Unpickling this creates ``marker``: proof that something was unpickled."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _valid_file(tmp_path):
    path = tmp_path / "ok.safetensors"
    checkpoint.save_weights(create_model("deepbind", n_filters=4), path)
    return path


def _bad_files(tmp_path):
    """name -> (bytes, a phrase the one-line message must contain)."""
    import pickle
    import struct

    marker = tmp_path / "PAYLOAD_RAN"
    good = _valid_file(tmp_path).read_bytes()
    rng = np.random.default_rng(0)
    header = json.dumps({"w": {"dtype": "F32", "shape": [256], "data_offsets": [0, 1024]}})
    short = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 8]}})
    return marker, {
        "pickle.pt": (pickle.dumps(_Payload(marker)), "pickle"),
        "torch_zip.pt": (b"PK\x03\x04" + bytes(100), "pickle"),
        "random.safetensors": (rng.bytes(4096), "safetensors"),
        "empty.safetensors": (b"", "empty file"),
        "tiny.safetensors": (b"abc", "only 3 bytes"),
        "truncated.safetensors": (good[: len(good) // 2], "truncated"),
        "huge_header.safetensors": (struct.pack("<Q", 2**40) + b"{}" + bytes(64), "header claims"),
        "past_end.safetensors": (
            struct.pack("<Q", len(header)) + header.encode() + bytes(16),
            "lies at bytes 0-1024",
        ),
        "wrong_size.safetensors": (
            struct.pack("<Q", len(short)) + short.encode() + bytes(8),
            "does not fill",
        ),
        "not_json.safetensors": (struct.pack("<Q", 4) + b"\xff\xfe{[" + bytes(8), "not JSON"),
        "json_list.safetensors": (struct.pack("<Q", 2) + b"[]", "not a JSON object"),
        "bad_dtype.safetensors": (
            struct.pack("<Q", 60)
            + json.dumps({"w": {"dtype": "X9", "shape": [1], "data_offsets": [0, 1]}})
            .ljust(60)
            .encode()
            + bytes(1),
            "malformed header entry",
        ),
    }


def test_every_broken_weights_file_is_one_line_naming_it_and_nothing_is_unpickled(tmp_path):
    marker, cases = _bad_files(tmp_path)
    for name, (content, phrase) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(InputError) as info:
            checkpoint.load_weights(create_model("deepbind", n_filters=4), path)
        message = str(info.value)
        assert message.startswith(str(path)) and phrase in message, (name, message)
        assert "\n" not in message, name
    assert not marker.exists()


def test_training_state_that_is_broken_is_one_line(tmp_path):
    model = create_model("deepbind", n_filters=4)
    optimizer = torch.optim.Adam(model.parameters())
    (tmp_path / checkpoint.STATE_DIR).mkdir()
    state = tmp_path / checkpoint.STATE_DIR / checkpoint.STATE
    _, cases = _bad_files(tmp_path)
    for name in ("truncated.safetensors", "random.safetensors", "empty.safetensors"):
        state.write_bytes(cases[name][0])
        with pytest.raises(InputError, match=f"^{state}: "):
            checkpoint.load_training_state(
                tmp_path, model, optimizer, None, torch.Generator().manual_seed(0)
            )


def test_nan_weights_are_refused(tmp_path):
    model = create_model("deepbind", n_filters=4)
    with torch.no_grad():
        next(iter(model.parameters())).view(-1)[:3] = float("nan")
    checkpoint.save_weights(model, tmp_path / "w.safetensors")
    with pytest.raises(InputError, match=r"NaN or infinite values \(3 of"):
        checkpoint.load_weights(create_model("deepbind", n_filters=4), tmp_path / "w.safetensors")


def test_missing_and_unexpected_tensors_are_named(tmp_path):
    state = create_model("deepbind", n_filters=4).state_dict()
    first = next(iter(state))
    state["extra.weight"] = torch.zeros(2)
    del state[first]
    checkpoint.save_tensors(state, tmp_path / "w.safetensors")
    with pytest.raises(InputError, match=f"missing {first}; unexpected extra.weight"):
        checkpoint.load_weights(create_model("deepbind", n_filters=4), tmp_path / "w.safetensors")


# ---------------------------------------------------------------------------- versions
def test_format_version_is_written_and_newer_ones_are_refused(tmp_path):
    model = create_model("deepbind", n_filters=4)
    checkpoint.save_weights(model, tmp_path / checkpoint.WEIGHTS)
    config = {"model": {"name": "deepbind", "args": {"n_filters": 4}}}
    checkpoint.write_config(config, tmp_path)
    written = json.loads((tmp_path / checkpoint.CONFIG).read_text())
    assert written["format_version"] == checkpoint.FORMAT_VERSION
    assert checkpoint.load_run(tmp_path)[1]["model"] == config["model"]
    checkpoint.write_json(config, tmp_path / checkpoint.CONFIG)  # before format_version: v1
    assert checkpoint.load_run(tmp_path)[1] == config
    checkpoint.write_json({**config, "format_version": 99}, tmp_path / checkpoint.CONFIG)
    with pytest.raises(InputError, match=f"format 99.*up to {checkpoint.FORMAT_VERSION}"):
        checkpoint.load_run(tmp_path)
    checkpoint.write_json({**config, "format_version": "one"}, tmp_path / checkpoint.CONFIG)
    with pytest.raises(InputError, match="not a positive integer"):
        checkpoint.load_run(tmp_path)


def test_config_that_cannot_build_its_model_is_one_line(tmp_path):
    checkpoint.write_config({"model": {"name": "deepbind", "args": {"bogus": 1}}}, tmp_path)
    with pytest.raises(InputError, match="config.json: cannot build the model.*deepbind.*bogus"):
        checkpoint.load_run(tmp_path)


def test_resume_options_must_match_except_run_time_ones(tmp_path):
    recorded = {
        "model": {"name": "deepbind", "args": {"n_filters": 4}},
        "data": {"train": "a.tsv", "valid_fraction": 0.1},
        "training": {"epochs": 5, "lr": 0.003, "threads": 1, "verbose": True, "device": "auto"},
    }
    same = json.loads(json.dumps(recorded))
    same["training"].update(threads=2, verbose=False, device="cpu")
    checkpoint.check_resume_options(recorded, same, tmp_path)
    other = json.loads(json.dumps(recorded))
    other["training"]["epochs"] = 9
    other["model"]["args"]["n_filters"] = 8
    other["data"]["train"] = "b.tsv"
    with pytest.raises(ConfigError) as info:
        checkpoint.check_resume_options(recorded, other, tmp_path)
    message = str(info.value)
    for part in (
        "model argument n_filters (4 -> 8)",
        "train ('a.tsv' -> 'b.tsv')",
        "epochs (5 -> 9)",
    ):
        assert part in message, message


# ---------------------------------------------------------------------------- resume state
def _state_round_trip(tmp_path, model, info):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model(torch.randn(3, 4, 30)).sum().backward()
    optimizer.step()
    generator = torch.Generator().manual_seed(5)
    checkpoint.save_training_state(tmp_path, model, optimizer, None, info, generator)
    return optimizer, generator


def test_training_state_round_trip_keeps_infinite_scores_and_cleans_orphans(tmp_path):
    model = create_model("deepbind", n_filters=4)
    orphan = tmp_path / checkpoint.STATE_DIR / ".state.safetensors.abcd1234.tmp.safetensors"
    orphan.parent.mkdir()
    orphan.write_bytes(b"half a file")
    keep = tmp_path / ".hidden_but_mine"
    keep.write_text("not a temporary file")
    info = {"epoch": 2, "best_score": -math.inf, "best_epoch": 0, "bad_epochs": 2}
    optimizer, generator = _state_round_trip(tmp_path, model, info)
    assert not orphan.exists() and keep.exists()
    assert sorted(p.name for p in (tmp_path / checkpoint.STATE_DIR).iterdir()) == [checkpoint.STATE]
    other = create_model("deepbind", n_filters=4)
    opt2 = torch.optim.Adam(other.parameters(), lr=1e-2)
    gen2 = torch.Generator()
    assert checkpoint.load_training_state(tmp_path, other, opt2, None, gen2) == info
    assert all(
        torch.equal(a, b) for a, b in zip(model.parameters(), other.parameters(), strict=True)
    )
    assert torch.equal(gen2.get_state(), generator.get_state())
    s1, s2 = optimizer.state_dict()["state"], opt2.state_dict()["state"]
    assert all(torch.equal(s1[i]["exp_avg"], s2[i]["exp_avg"]) for i in s1)


def test_training_state_of_another_model_is_refused(tmp_path):
    _state_round_trip(tmp_path, create_model("deepbind", n_filters=4), {"epoch": 1})
    bigger = create_model("deepbind", n_filters=8)
    with pytest.raises(InputError, match="state.safetensors: weights do not fit.*shape"):
        checkpoint.load_training_state(
            tmp_path, bigger, torch.optim.Adam(bigger.parameters()), None, torch.Generator()
        )


def test_prepare_run_dir_for_resume_removes_orphans(tmp_path):
    (tmp_path / "run").mkdir()
    orphan = tmp_path / "run" / ".history.csv.x1y2z3w4.tmp.csv"
    orphan.write_text("epoch\n")
    checkpoint.prepare_run_dir(tmp_path / "run", resume=True)
    assert not orphan.exists()


# ---------------------------------------------------------------------------- fault injection
def _table(path, n=96, length=30, seed=0):
    """A small training table: half the sequences carry a planted motif (label 1)."""
    rng = np.random.default_rng(seed)
    rows = ["id\tsequence\tlabel"]
    for i in range(n):
        seq = list(rng.choice(list("ACGT"), length))
        label = int(rng.random() < 0.5)
        if label:
            p = int(rng.integers(0, length - 8))
            seq[p : p + 8] = "TGACGTCA"
        rows.append(f"s{i}\t{''.join(seq)}\t{label}")
    path.write_text("\n".join(rows) + "\n")
    return path


def _argv(data, run):
    return [
        "train", "--train", str(data), "--out", str(run), "--epochs", "4", "--patience", "9",
        "--batch-size", "16", "--seed", "3", "--threads", "1", "--quiet",
        "--model-arg", "n_filters=4", "filter_width=6", "hidden=4",
    ]  # fmt: skip


def _child(argv, kill):
    """Run the CLI; SIGKILL this process at the moment ``kill`` describes."""
    import os
    import signal

    import seqcnn.checkpoint
    import seqcnn.train
    import seqcnn.utils
    from seqcnn import cli

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    kind, at = kill if kill else (None, 0)
    count = {"n": 0}

    def counting(original, after=False, truncate=False):
        def wrapper(*args, **kwargs):
            count["n"] += 1
            if count["n"] == at and not after:
                die()
            out = original(*args, **kwargs)
            if count["n"] == at:
                if truncate:  # the temporary file half written, then the crash
                    tmp = Path(args[1])
                    tmp.write_bytes(tmp.read_bytes()[: tmp.stat().st_size // 2])
                die()
            return out

        return wrapper

    if kind == "step":  # during an epoch, before optimizer step number `at`
        torch.optim.Adam.step = counting(torch.optim.Adam.step)
    elif kind == "rename":  # a temporary file written, the crash before its rename
        seqcnn.utils._finish = counting(seqcnn.utils._finish)
    elif kind == "tensor_write":  # a checkpoint file half written
        seqcnn.checkpoint.save_file = counting(
            seqcnn.checkpoint.save_file, after=True, truncate=True
        )
    elif kind == "evaluate":  # during the final evaluation
        seqcnn.train.Trainer.evaluate = counting(seqcnn.train.Trainer.evaluate)
    os._exit(cli.main(argv))


def _run(argv, kill=None, kill_after=None):
    """Fork a child that runs the CLI (and is killed as asked); its exit code."""
    import multiprocessing
    import os
    import signal
    import time

    process = multiprocessing.get_context("fork").Process(target=_child, args=(argv, kill))
    process.start()
    if kill_after is not None:
        time.sleep(kill_after)
        if process.is_alive():
            os.kill(process.pid, signal.SIGKILL)
    process.join(120)
    return process.exitcode


def _outcome(run):
    weights, _ = checkpoint.read_tensors(run / checkpoint.WEIGHTS)
    state, _ = checkpoint.read_tensors(run / checkpoint.STATE_DIR / checkpoint.STATE)
    metrics = json.loads((run / checkpoint.METRICS).read_text())
    metrics.pop("seconds")
    return weights, state, metrics


def _temporaries(run):
    return [p for p in run.rglob("*") if checkpoint._TEMP.match(p.name)]


def test_killed_training_resumes_to_bit_identical_weights(tmp_path, monkeypatch):
    """SIGKILL at random steps, mid-write, before renames and in the final evaluation; resume
    gives the uninterrupted run's weights, optimizer state and metrics, no temporary files.

    The reference run goes in this process (so that the forked runs find every module
    imported); figures are left out (80% of the time; their writes are atomic like the rest).
    """
    from seqcnn import cli

    monkeypatch.setattr("seqcnn.runs._plots", lambda *args, **kwargs: None)
    data = _table(tmp_path / "train.tsv")
    assert cli.main(_argv(data, tmp_path / "ref")) == 0
    ref_weights, ref_state, ref_metrics = _outcome(tmp_path / "ref")
    rng = np.random.default_rng()
    steps = 4 * 6  # 4 epochs of 6 batches (86 training examples, batch 16)
    kills = [
        ("step", int(rng.integers(2, steps))),  # during an epoch
        ("tensor_write", int(rng.integers(1, 5))),  # checkpoint half written
        ("rename", int(rng.integers(1, 12))),  # a written file not yet renamed
        ("evaluate", 1),  # final evaluation
        ("clock", float(rng.uniform(0.05, 1.5))),  # whenever the clock says (seconds)
    ]
    for i, kill in enumerate(kills):
        run = tmp_path / f"run{i}"
        if kill[0] == "clock":
            code = _run(_argv(data, run), kill_after=kill[1])
            assert code in (-9, 0), (kill, code)  # killed, or done before the clock
        else:
            code = _run(_argv(data, run), kill=kill)
            assert code == -9, (kill, code)  # really killed
        assert _run(_argv(data, run) + ["--resume"]) == 0, kill
        weights, state, metrics = _outcome(run)
        assert weights.keys() == ref_weights.keys()
        assert all(torch.equal(weights[k], ref_weights[k]) for k in weights), kill
        assert all(torch.equal(state[k], ref_state[k]) for k in state), kill
        assert metrics == ref_metrics, kill
        assert _temporaries(run) == [], (kill, _temporaries(run))


def test_header_length_that_looks_like_a_pickle_opcode_still_loads(tmp_path):
    """A header of 128 + 256 k bytes starts with 0x80, as pickles do: still safetensors."""
    import struct

    path = tmp_path / "w.safetensors"
    for pad in range(300):
        checkpoint.save_tensors({"w": torch.ones(3)}, path, metadata={"pad": "x" * pad})
        if path.read_bytes()[0] == 0x80:
            break
    assert struct.unpack("<Q", path.read_bytes()[:8])[0] % 256 == 0x80
    assert torch.equal(checkpoint.read_tensors(path)[0]["w"], torch.ones(3))


def test_resume_accepts_an_option_added_since_at_its_default(tmp_path):
    """A run recorded before an option existed resumes when the option keeps its default."""
    from seqcnn.checkpoint import check_resume_options
    from seqcnn.exceptions import ConfigError

    recorded = {"model": {"name": "deepbind", "args": {}}, "data": {"length": 101}, "training": {}}
    given = {"model": {"name": "deepbind", "args": {}}, "data": {"length": 101, "jitter": 0}}
    check_resume_options(recorded, {**given, "training": {}}, tmp_path / "config.json")
    given["data"]["jitter"] = 5
    with pytest.raises(ConfigError, match=r"jitter \(None -> 5\)"):
        check_resume_options(recorded, {**given, "training": {}}, tmp_path / "config.json")
