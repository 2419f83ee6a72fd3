"""Batched prediction: batch size does not matter, model state is left as it was."""

from __future__ import annotations

import torch

from seqcnn.models import create_model
from seqcnn.predict import predict
from seqcnn.sequence import one_hot_encode


def test_batch_size_does_not_change_predictions():
    torch.manual_seed(0)
    model = create_model("deepbind", n_filters=8)
    x = one_hot_encode(["ACGTTGCA" * 12, "GGGCCCAA" * 12, "ATATATAT" * 12] * 5)
    a = predict(model, x, batch_size=1)
    b = predict(model, x, batch_size=64)
    assert a.shape == (15, 1) and torch.allclose(a, b, atol=1e-6)


def test_prediction_leaves_mode_and_is_deterministic_with_dropout():
    model = create_model("deepbind", n_filters=8).train()
    x = one_hot_encode(["ACGT" * 10] * 4)
    assert torch.equal(predict(model, x), predict(model, x))  # eval mode inside: no dropout
    assert model.training


def test_rc_average_of_a_strand_symmetric_model_changes_nothing():
    torch.manual_seed(1)
    model = create_model("deepbind", n_filters=8, strands="max")
    x = one_hot_encode(["ACGTTGCAAGG" * 5, "TTTACGGACAC" * 5])
    assert torch.allclose(predict(model, x), predict(model, x, rc_average=True), atol=1e-6)
    fwd = create_model("deepbind", n_filters=8, strands="forward")
    assert not torch.allclose(predict(fwd, x), predict(fwd, x.flip(-2, -1)))


def test_a_model_without_parameters_predicts_on_the_cpu():
    """Toy models with known answers (attribution tests) have no parameters at all."""
    x = torch.rand(5, 4, 12)
    out = predict(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Identity()), x, batch_size=2)
    assert torch.equal(out, x.flatten(1))


# ---------------------------------------------------------------------------- predict_run
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def random_fasta(path: Path, n: int, length: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    seqs = ["".join(rng.choice(list("ACGTN"), length)) for _ in range(n)]
    path.write_text("".join(f">r{i}\n{s}\n" for i, s in enumerate(seqs)))
    return seqs


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """A run directory with a small DeepBind (one epoch on random data: any weights do)."""
    from seqcnn.inputs import DataOptions
    from seqcnn.runs import train_run
    from seqcnn.train import TrainConfig

    d = tmp_path_factory.mktemp("run")
    rng = np.random.default_rng(0)
    rows = ["".join(rng.choice(list("ACGT"), 30)) + f"\t{i % 2}" for i in range(64)]
    (d / "t.tsv").write_text("sequence\tlabel\n" + "\n".join(rows) + "\n")
    config = TrainConfig(epochs=1, verbose=False, device="cpu")
    args = {"n_filters": 4, "hidden": 4}
    train_run(d / "t.tsv", d / "run", DataOptions(), config, model_args=args)
    return d / "run"


def test_predict_run_streams_blocks_and_scores_like_predict(small_run, tmp_path, monkeypatch):
    from seqcnn import checkpoint, inputs, runs
    from seqcnn.metrics import sigmoid

    monkeypatch.setattr(inputs, "SHARD_BLOCK", 7)  # many blocks
    seqs = random_fasta(tmp_path / "x.fa", 40, 30)
    summary = runs.predict_run(small_run, tmp_path / "x.fa", tmp_path / "out.tsv", batch_size=3)
    assert summary == {"n": 40, "skipped": {}, "shard": "1/1"}
    got = pd.read_csv(tmp_path / "out.tsv", sep="\t")
    model, _ = checkpoint.load_run(small_run)
    want = sigmoid(predict(model, one_hot_encode(seqs)).numpy())[:, 0]
    assert got["id"].tolist() == [f"r{i}" for i in range(40)]
    assert np.allclose(got["label"], want, atol=1e-6)


def test_predict_run_pads_short_sequences_to_the_model_length(small_run, tmp_path):
    """A record's score does not depend on the other records of its block."""
    from seqcnn.runs import predict_run

    (tmp_path / "a.fa").write_text(">short\nACGTAC\n>long\n" + "ACGT" * 20 + "\n")
    (tmp_path / "b.fa").write_text(">short\nACGTAC\n")
    predict_run(small_run, tmp_path / "a.fa", tmp_path / "a.tsv")
    predict_run(small_run, tmp_path / "b.fa", tmp_path / "b.tsv")
    a = pd.read_csv(tmp_path / "a.tsv", sep="\t")
    b = pd.read_csv(tmp_path / "b.tsv", sep="\t")
    assert a["label"].iloc[0] == b["label"].iloc[0]


def test_predict_run_over_bed_skips_and_counts_windows(small_run, tmp_path):
    from seqcnn import checkpoint
    from seqcnn.io import Genome
    from seqcnn.metrics import sigmoid
    from seqcnn.runs import predict_run

    rng = np.random.default_rng(1)
    genome = "".join(rng.choice(list("ACGT"), 500))
    (tmp_path / "g.fa").write_text(">c1\n" + genome + "\n")
    (tmp_path / "w.bed").write_text(
        "c1\t0\t30\ta\nc2\t0\t30\tb\nc1\t480\t510\tc\nc1\t470\t500\td\n"
    )
    summary = predict_run(
        small_run, tmp_path / "w.bed", tmp_path / "w.tsv", genome=tmp_path / "g.fa", length=30
    )
    assert summary["n"] == 4
    assert summary["skipped"] == {"out_of_bounds": 1, "unknown_contig": 1}
    got = pd.read_csv(tmp_path / "w.tsv", sep="\t")
    assert list(got.columns) == ["id", "chrom", "start", "end", "label", "status"]
    assert got["status"].tolist() == ["ok", "unknown_contig", "out_of_bounds", "ok"]
    assert got["label"].isna().tolist() == [False, True, True, False]
    model, _ = checkpoint.load_run(small_run)
    x = one_hot_encode([genome[0:30], genome[470:500]])
    assert np.allclose(got["label"].dropna(), sigmoid(predict(model, x).numpy())[:, 0], atol=1e-6)
    assert Genome(tmp_path / "g.fa").fetch("c1", 470, 500) == genome[470:500]


def test_shards_from_two_processes_merge_to_the_unsharded_output(small_run, tmp_path):
    """Byte for byte: what scatter/gather (Snakemake, SLURM arrays) relies on."""
    from seqcnn.inputs import SHARD_BLOCK
    from seqcnn.runs import merge_shards, predict_run

    n = 2 * SHARD_BLOCK + 123  # three blocks: shard 1 gets two, shard 2 one
    random_fasta(tmp_path / "x.fa", n, 30, seed=3)
    predict_run(small_run, tmp_path / "x.fa", tmp_path / "all.tsv", batch_size=256)
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "seqcnn.cli",
                "predict",
                str(small_run),
                "--data",
                str(tmp_path / "x.fa"),
                "-o",
                str(tmp_path / f"part{i}.tsv"),
                "--shard",
                f"{i}/2",
                "--threads",
                "1",
                "--batch-size",
                "256",
                "--device",
                "cpu",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in (1, 2)
    ]
    for p in procs:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0, out
    parts = [tmp_path / "part1.tsv", tmp_path / "part2.tsv"]
    assert merge_shards(parts, tmp_path / "merged.tsv") == n
    assert (tmp_path / "merged.tsv").read_bytes() == (tmp_path / "all.tsv").read_bytes()
    # a shard given twice, or the shards out of order, is refused
    from seqcnn.exceptions import InputError

    with pytest.raises(InputError, match="part1.tsv: has rows beyond"):
        merge_shards([parts[1], parts[0]], tmp_path / "bad.tsv")
    assert not (tmp_path / "bad.tsv").exists()


def test_a_shard_without_blocks_writes_the_header(small_run, tmp_path):
    from seqcnn.runs import merge_shards, predict_run

    random_fasta(tmp_path / "x.fa", 10, 30)
    predict_run(small_run, tmp_path / "x.fa", tmp_path / "all.tsv")
    for i in (1, 2, 3):
        assert predict_run(small_run, tmp_path / "x.fa", tmp_path / f"p{i}.tsv", shard=f"{i}/3")
    assert (tmp_path / "p3.tsv").read_text() == "id\tlabel\n"
    merge_shards([tmp_path / f"p{i}.tsv" for i in (1, 2, 3)], tmp_path / "m.tsv")
    assert (tmp_path / "m.tsv").read_bytes() == (tmp_path / "all.tsv").read_bytes()
    from seqcnn.exceptions import ConfigError

    with pytest.raises(ConfigError, match="shard '3/2' is not valid"):
        predict_run(small_run, tmp_path / "x.fa", tmp_path / "q.tsv", shard="3/2")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_predict_matches_the_cpu():
    """Compact bytes become one-hot on the device; scores close to the CPU's; bf16 close."""
    from seqcnn.sequence import CompactOneHot, sequence_bytes

    torch.manual_seed(0)
    model = create_model("deepbind", n_filters=8)
    rng = np.random.default_rng(0)
    x = CompactOneHot(sequence_bytes(["".join(rng.choice(list("ACGTN"), 101)) for _ in range(300)]))
    cpu = predict(model, x, batch_size=64)
    gpu = predict(model, x, batch_size=64, device="cuda")
    assert torch.allclose(cpu, gpu, atol=1e-4)
    assert torch.allclose(cpu, predict(model, x, batch_size=64, device="cuda", amp=True), atol=5e-2)
    assert next(model.parameters()).device.type == "cpu"  # left where it was
    on_device = x.to("cuda")
    assert torch.allclose(cpu, predict(model, on_device, batch_size=64, device="cuda"), atol=1e-4)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
def test_predict_memory_stays_flat_at_ten_times_the_records(small_run, tmp_path, peak_memory_kib):
    """Streaming: 10x the records, the same peak memory within 20% (issue 10)."""
    peaks = []
    for n in (5_000, 50_000):
        rng = np.random.default_rng(n)
        seqs = rng.choice(np.frombuffer(b"ACGT", "S1"), size=(n, 200)).view("S200").ravel()
        with open(tmp_path / f"s{n}.fa", "wb") as fh:
            fh.writelines(b">r%d\n%s\n" % (i, s) for i, s in enumerate(seqs.tolist()))
        peaks.append(
            peak_memory_kib(
                "predict", small_run, "--data", tmp_path / f"s{n}.fa", "-o",
                tmp_path / f"p{n}.tsv", "--threads", "1", "--batch-size", "256",
            )
        )  # fmt: skip
        assert len(pd.read_csv(tmp_path / f"p{n}.tsv", sep="\t")) == n
    # reading the 50k x 200 bp whole as float32 one-hot alone would add ~160 MB
    assert peaks[1] <= 1.2 * peaks[0], peaks


def test_predict_run_streams_tables_in_blocks(small_run, tmp_path, monkeypatch):
    """A table is read, scored and written block by block: the same output as in one block
    (its label column is not read: predicting does not need it)."""
    import seqcnn.inputs
    from seqcnn.runs import predict_run

    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGT"), 30)) for _ in range(25)]
    table = tmp_path / "t.tsv"
    table.write_text(
        "id\tseq\tlabel\n" + "".join(f"s{i}\t{s}\tnot-a-number\n" for i, s in enumerate(seqs))
    )
    predict_run(small_run, table, tmp_path / "one.tsv")
    monkeypatch.setattr(seqcnn.inputs, "SHARD_BLOCK", 4)
    calls = []
    original = seqcnn.inputs.iter_table
    monkeypatch.setattr(
        seqcnn.inputs, "iter_table", lambda *a, **k: calls.append(k["rows"]) or original(*a, **k)
    )
    predict_run(small_run, table, tmp_path / "blocks.tsv")
    assert calls == [4]
    assert (tmp_path / "blocks.tsv").read_text() == (tmp_path / "one.tsv").read_text()


def test_evaluate_run_streams_tables_with_the_same_metrics(small_run, tmp_path, monkeypatch):
    import json

    import seqcnn.inputs
    from seqcnn.exceptions import InputError
    from seqcnn.runs import evaluate_run

    rng = np.random.default_rng(1)
    rows = [f"{''.join(rng.choice(list('ACGT'), 30))}\t{i % 2}" for i in range(30)]
    table = tmp_path / "e.tsv"
    table.write_text("sequence\tlabel\n" + "\n".join(rows) + "\n")
    whole = evaluate_run(small_run, table, tmp_path / "whole")
    monkeypatch.setattr(seqcnn.inputs, "SHARD_BLOCK", 7)
    pieces = evaluate_run(small_run, table, tmp_path / "pieces")
    assert pieces == whole and whole["n"] == 30
    assert json.loads((tmp_path / "pieces" / "metrics.json").read_text())["auroc"] == whole["auroc"]
    # a bad label in a later piece is still reported with its line
    table.write_text("sequence\tlabel\n" + "\n".join(rows[:20] + ["ACGT\t2"]) + "\n")
    with pytest.raises(InputError, match="line 22"):
        evaluate_run(small_run, table, tmp_path / "bad")


def test_predict_run_scans_intervals_with_a_stride(small_run, tmp_path, monkeypatch):
    """--stride: windows every N bp cover each interval; scores are the model's on them."""
    import seqcnn.inputs
    from seqcnn import checkpoint
    from seqcnn.exceptions import ConfigError
    from seqcnn.metrics import sigmoid
    from seqcnn.runs import predict_run

    rng = np.random.default_rng(2)
    genome = "".join(rng.choice(list("ACGT"), 400))
    (tmp_path / "g.fa").write_text(">c1\n" + genome + "\n")
    (tmp_path / "r.bed").write_text("c1\t0\t400\twhole\nc2\t0\t50\tnowhere\nc1\t100\t100\tempty\n")
    run = lambda out, **k: predict_run(  # noqa: E731
        small_run,
        tmp_path / "r.bed",
        tmp_path / out,
        genome=tmp_path / "g.fa",
        length=30,
        stride=25,
        **k,
    )
    summary = run("scan.tsv")
    got = pd.read_csv(tmp_path / "scan.tsv", sep="\t")
    scan = got[got["id"].str.startswith("whole:")]
    starts = scan["start"].tolist()
    assert starts == list(range(0, 371, 25)) + [370]  # the last window ends at 400
    assert (scan["end"] - scan["start"] == 30).all() and (scan["status"] == "ok").all()
    assert summary["skipped"] == {"unknown_contig": 2, "zero_length": 1}
    model, _ = checkpoint.load_run(small_run)
    x = one_hot_encode([genome[s : s + 30] for s in starts])
    assert np.allclose(scan["label"], sigmoid(predict(model, x).numpy())[:, 0], atol=1e-6)
    # in small blocks and in shards: the same output
    monkeypatch.setattr(seqcnn.inputs, "SHARD_BLOCK", 4)
    run("blocks.tsv")
    assert (tmp_path / "blocks.tsv").read_text() == (tmp_path / "scan.tsv").read_text()
    from seqcnn.runs import merge_shards

    for i in (1, 2):
        run(f"part{i}.tsv", shard=f"{i}/2")
    merge_shards([tmp_path / "part1.tsv", tmp_path / "part2.tsv"], tmp_path / "merged.tsv")
    assert (tmp_path / "merged.tsv").read_text() == (tmp_path / "scan.tsv").read_text()
    with pytest.raises(ConfigError, match="not a BED file"):
        predict_run(small_run, tmp_path / "g.fa", tmp_path / "x.tsv", stride=10)
