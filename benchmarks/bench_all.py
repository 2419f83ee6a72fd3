"""Benchmark: seqcnn against real baselines, in one run, on one thread, outputs checked equal.

Sections (``--only a,b``; all by default):

- ``encoding``: ``one_hot_encode`` on batches of 1,000 strings of 1,000 bp vs tangermeme's
  public ``one_hot_encode`` (one call per string, stacked: how tangermeme encodes a batch)
  and a plain numpy lookup table; int8 output, as tangermeme gives. Warm (best of repeated
  calls) and cold (the first call in a fresh process, after imports). Target >= 5x
  tangermeme warm, >= 1x cold.
- ``training``: ``Trainer.fit`` for one epoch vs a bare PyTorch loop (same model, data order,
  optimizer, batch size); the weights after the epoch must be equal. Target >= 0.9x.
- ``batches``: BED -> float32 one-hot batches of 1,000-bp windows on the real genome slice
  (``read_bed`` + ``Genome.interval_codes`` + per-batch one-hot) vs the usual pipeline
  (per-window ``pysam.FastaFile.fetch`` or ``pyfaidx`` + numpy encoding into a preloaded
  array) and vs the default model's training-step rate at the same length. Same arrays.
  Target >= 5x the step rate.
- ``scan``: ``seqcnn predict RUN --fasta G --bed windows.bed`` over sliding windows of the
  genome slice: the share of the command's wall time spent in the model's forward calls
  (timed by hooks on the loaded model, inside that run). Target >= 80%.
- ``variants``: ``score_variants_run`` on 100,000 random SNVs of the genome slice vs a plain
  cyvcf2 + pyfaidx + numpy + PyTorch loop; the same ALT - REF logits. Target >= 3x.
- ``memory``: peak resident memory of ``seqcnn train --negatives shuffle`` on 40,000 x
  1,000 bp (``--quick``: 4,000) in a child process, per training base, above the baseline of
  a child that imports the same modules (``VmHWM``), and as the slope between n/4 and n
  sequences. Target <= 4 bytes per base.
- ``predict-memory``: peak resident memory of ``seqcnn predict`` on n and 10 n sequences
  (``--full``: 100,000 and 1,000,000 of 101 bp); flat means the ratio stays within 1.2.
- ``bed-memory``: a BED training set of 1,000,000 windows x 1,000 bp on the genome slice
  (``--quick``: 100,000) read as ``train`` reads it (``read_intervals`` + ``as_tensors``) and
  200 batches drawn: the child's peak above the loaded genome, per window base, against the
  1 byte per base the windows would take as bytes. Batches checked equal to the windows'
  one-hot.

Output: one JSON line per measurement on stdout, then a Markdown table. Exit status 1 if an
output check fails, never because of a timing.

Usage::

    python benchmarks/bench_all.py [--quick] [--full] [--only encoding,batches] [--threads 1]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SEQCNN_DATA_DIR", REPO.parent / "shared" / "data"))
GENOME_SLICE = DATA / "genome-slice" / "baskerville_hg38_chr1_first1Mb.fa.gz"
LOWER_IS_BETTER = ("memory", "predict-memory", "bed-memory")
SECTIONS = (
    "encoding",
    "training",
    "batches",
    "scan",
    "variants",
    "memory",
    "predict-memory",
    "bed-memory",
)
RESULTS: list[dict[str, Any]] = []
FAILED: list[str] = []


def report(**row: Any) -> None:
    RESULTS.append(row)
    print(json.dumps(row), flush=True)


def check(ok: bool, what: str) -> str:
    if not ok:
        FAILED.append(what)
    return "equal" if ok else "**DIFFERENT**"


def best_time(fn, min_seconds: float = 1.0, min_runs: int = 3) -> float:
    """The best of repeated calls (seconds), garbage collection off, after one warm-up."""
    fn()
    times = []
    gc.disable()
    try:
        t_end = time.perf_counter() + min_seconds
        while len(times) < min_runs or time.perf_counter() < t_end:
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
    finally:
        gc.enable()
    return min(times)


def random_dna(n: int, length: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    codes = np.frombuffer(b"ACGTN", dtype=np.uint8)[
        rng.choice(5, size=n * length, p=[0.2475] * 4 + [0.01])
    ]
    text = codes.tobytes().decode()
    return [text[i * length : (i + 1) * length] for i in range(n)]


# ---------------------------------------------------------------------------- encoding
_NP_LUT = np.zeros((256, 4), dtype=np.int8)
for _i, _b in enumerate("ACGT"):
    _NP_LUT[ord(_b), _i] = _NP_LUT[ord(_b.lower()), _i] = 1


def numpy_lut_one_hot(seqs: list[str]) -> torch.Tensor:
    """The plain numpy way: a 256 x 4 table indexed by the bytes, then channels first."""
    codes = np.frombuffer("".join(seqs).encode("ascii"), dtype=np.uint8)
    hot = _NP_LUT[codes].reshape(len(seqs), -1, 4)
    return torch.from_numpy(np.ascontiguousarray(hot.transpose(0, 2, 1)))


def tangermeme_batch(seqs: list[str]) -> torch.Tensor:
    from tangermeme.utils import one_hot_encode as tm_one_hot

    return torch.stack([tm_one_hot(s) for s in seqs])


_COLD = r"""
import sys, time, json
import torch
sys.path.insert(0, {bench!r})
from bench_all import random_dna
seqs = random_dna(1000, 1000, 7)
which = sys.argv[1]
if which == "tangermeme":
    from tangermeme.utils import one_hot_encode as f
    t = time.perf_counter(); x = torch.stack([f(s) for s in seqs])
else:
    from seqcnn.sequence import one_hot_encode
    t = time.perf_counter(); x = one_hot_encode(seqs, dtype=torch.int8)
print(json.dumps({{"seconds": time.perf_counter() - t, "sum": int(x.sum())}}))
"""


def cold_call(which: str) -> dict:
    code = _COLD.format(bench=str(Path(__file__).parent))
    env = dict(os.environ, OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, "-c", code, which], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_encoding(args) -> None:
    from seqcnn.sequence import one_hot_encode

    n = 200 if args.quick else 1000
    seqs = random_dna(n, 1000, 7)
    ours = one_hot_encode(seqs, dtype=torch.int8)
    tm = tangermeme_batch(seqs)
    lut = numpy_lut_one_hot(seqs)
    same = check(torch.equal(ours, tm) and torch.equal(ours, lut), "encoding outputs")
    t_ours = best_time(lambda: one_hot_encode(seqs, dtype=torch.int8), args.min_seconds)
    t_tm = best_time(lambda: tangermeme_batch(seqs), args.min_seconds)
    t_lut = best_time(lambda: numpy_lut_one_hot(seqs), args.min_seconds)
    t_f32 = best_time(lambda: one_hot_encode(seqs), args.min_seconds)
    case = f"{n} x 1000 bp, int8"
    mb = n * 1000 / 1e6
    report(
        section="encoding",
        what="one_hot_encode vs tangermeme (warm)",
        case=case,
        seqcnn_s=t_ours,
        baseline_s=t_tm,
        ratio=t_tm / t_ours,
        target=5.0,
        check=same,
        seqcnn_mbp_s=mb / t_ours,
    )
    report(
        section="encoding",
        what="one_hot_encode vs numpy LUT (warm)",
        case=case,
        seqcnn_s=t_ours,
        baseline_s=t_lut,
        ratio=t_lut / t_ours,
        target=None,
        check=same,
    )
    report(
        section="encoding",
        what="one_hot_encode float32 vs tangermeme int8 (warm)",
        case=f"{n} x 1000 bp",
        seqcnn_s=t_f32,
        baseline_s=t_tm,
        ratio=t_tm / t_f32,
        target=None,
        check=same,
    )
    cold_ours = cold_call("seqcnn")
    cold_tm = cold_call("tangermeme")
    ok = cold_ours["sum"] == cold_tm["sum"] == int(ours.sum()) if n == 1000 else True
    report(
        section="encoding",
        what="one_hot_encode vs tangermeme (cold: first call)",
        case="1000 x 1000 bp, int8, fresh process",
        seqcnn_s=cold_ours["seconds"],
        baseline_s=cold_tm["seconds"],
        ratio=cold_tm["seconds"] / cold_ours["seconds"],
        target=1.0,
        check=check(ok, "cold encoding sums"),
    )


# ---------------------------------------------------------------------------- training
def bare_epoch(model, x, y, batch_size, lr, seed) -> None:
    """The plain PyTorch loop: the order and optimizer that Trainer uses, nothing else."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    model.train()
    for idx in torch.randperm(len(y), generator=generator).split(batch_size):
        xb = x[idx]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), y[idx])
        loss.backward()
        opt.step()


def bench_training(args) -> None:
    from seqcnn.datasets import Tensors
    from seqcnn.models import create_model
    from seqcnn.sequence import CompactOneHot, one_hot_encode, sequence_bytes
    from seqcnn.train import TrainConfig, Trainer

    n = 512 if args.quick else 4096
    seqs = random_dna(n, 101, 3)
    y = (torch.rand(n, 1, generator=torch.Generator().manual_seed(0)) > 0.5).float()
    x_float = one_hot_encode(seqs)
    x_compact = CompactOneHot(sequence_bytes(seqs))
    cfg = dict(epochs=1, batch_size=128, lr=3e-3, verbose=False, lr_schedule="none", seed=0)
    ratios, weights_equal = [], True
    warm = create_model("deepbind")  # first calls pay torch's lazy set-up: not timed
    bare_epoch(warm, x_float[:256], y[:256], 128, 3e-3, 0)
    Trainer(create_model("deepbind"), TrainConfig(**cfg)).fit(
        Tensors(CompactOneHot(sequence_bytes(seqs[:256])), y[:256])
    )
    for r in range(2 if args.quick else 5):
        torch.manual_seed(1)
        init = create_model("deepbind").state_dict()
        m_bare = create_model("deepbind")
        m_bare.load_state_dict(init)
        m_fit = create_model("deepbind")
        m_fit.load_state_dict(init)
        order = (
            [("bare", m_bare), ("fit", m_fit)] if r % 2 == 0 else [("fit", m_fit), ("bare", m_bare)]
        )
        times = {}
        for which, m in order:
            t = time.perf_counter()
            if which == "bare":
                bare_epoch(m, x_float, y, 128, 3e-3, 0)
            else:
                Trainer(m, TrainConfig(**cfg)).fit(Tensors(x_compact, y))
            times[which] = time.perf_counter() - t
        ratios.append(times["bare"] / times["fit"])
        a, b = m_bare.state_dict(), m_fit.state_dict()
        weights_equal &= all(torch.equal(a[k], b[k]) for k in a)
    report(
        section="training",
        what="Trainer.fit epoch (compact uint8 data) vs bare loop",
        case=f"{n} x 101 bp, deepbind, batch 128",
        seqcnn_s=times["fit"],
        baseline_s=times["bare"],
        ratio=float(np.median(ratios)),
        target=0.9,
        check=check(weights_equal, "trainer vs bare weights"),
    )


# ---------------------------------------------------------------------------- BED -> batches
def model_step_rate(length: int, batch: int = 128, steps: int = 6) -> float:
    """Training steps of the default model per second, in sequences per second."""
    from seqcnn.models import create_model

    model = create_model("deepbind")
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.zeros(batch, 4, length)
    x[:, 0] = 1
    y = torch.ones(batch, 1)
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    t = best_time(lambda: [step() for _ in range(steps)], min_seconds=0.5, min_runs=2)
    return steps * batch / t


def random_windows_bed(path: Path, n: int, length: int, size: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    start = np.sort(rng.integers(0, size - length, n))
    strand = rng.choice(["+", "-"], n)
    with open(path, "w") as fh:
        for i, (s, st) in enumerate(zip(start.tolist(), strand, strict=True)):
            fh.write(f"chr1\t{s}\t{s + length}\tw{i}\t0\t{st}\n")


def baseline_batches(bed_path: Path, fetch, batch: int) -> list[torch.Tensor]:
    """The usual pipeline: parse lines, fetch each window, encode into a preloaded array."""
    rows = [line.split("\t") for line in open(bed_path).read().splitlines()]
    length = int(rows[0][2]) - int(rows[0][1])
    pre = np.zeros((len(rows), 4, length), dtype=np.float32)
    comp = str.maketrans("ACGTacgtNn", "TGCAtgcaNn")
    lut = _NP_LUT.astype(np.float32)
    for i, r in enumerate(rows):
        s = fetch(r[0], int(r[1]), int(r[2]))
        if r[5] == "-":
            s = s.translate(comp)[::-1]
        pre[i] = lut[np.frombuffer(s.encode(), dtype=np.uint8)].T
    x = torch.from_numpy(pre)
    return [x[i : i + batch] for i in range(0, len(x), batch)]


def seqcnn_batches(bed_path: Path, genome, batch: int) -> list[torch.Tensor]:
    from seqcnn.io import read_bed
    from seqcnn.sequence import CompactOneHot, check_bytes

    bed = read_bed(bed_path)
    x = CompactOneHot(check_bytes(genome.interval_codes(bed, stranded=True)))
    return [x.batch(slice(i, i + batch)) for i in range(0, len(x), batch)]


def bench_batches(args) -> None:
    import pyfaidx
    import pysam

    from seqcnn.io import Genome

    length, batch = 1000, 128
    n = 2000 if args.quick else 20000
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        bed = tmp / "windows.bed"
        random_windows_bed(bed, n, length, 1_000_000, seed=5)
        genome = Genome(GENOME_SLICE, cache_dir=tmp / "cache")  # unpacked once, before timing
        fa = pysam.FastaFile(str(GENOME_SLICE))
        fx = pyfaidx.Fasta(str(GENOME_SLICE), as_raw=True)
        ours = seqcnn_batches(bed, genome, batch)
        ref = baseline_batches(bed, fa.fetch, batch)
        ref2 = baseline_batches(bed, lambda c, s, e: fx[c][s:e], batch)
        same = len(ours) == len(ref) == len(ref2) and all(
            torch.equal(a, b) and torch.equal(a, c) for a, b, c in zip(ours, ref, ref2, strict=True)
        )
        same = check(same, "BED batches")
        t_ours = best_time(lambda: seqcnn_batches(bed, genome, batch), args.min_seconds)
        t_pysam = best_time(lambda: baseline_batches(bed, fa.fetch, batch), 0, 1)
        t_faidx = best_time(lambda: baseline_batches(bed, lambda c, s, e: fx[c][s:e], batch), 0, 1)
    step = model_step_rate(length, batch)
    rate = n / t_ours
    case = f"{n} windows x {length} bp, batches of {batch}"
    report(
        section="batches",
        what="BED -> batches vs default model's training steps",
        case=case,
        seqcnn_rate=rate,
        baseline_rate=step,
        ratio=rate / step,
        target=5.0,
        check=same,
    )
    report(
        section="batches",
        what="BED -> batches vs pysam fetch + numpy preload",
        case=case,
        seqcnn_s=t_ours,
        baseline_s=t_pysam,
        ratio=t_pysam / t_ours,
        target=None,
        check=same,
    )
    report(
        section="batches",
        what="BED -> batches vs pyfaidx fetch + numpy preload",
        case=case,
        seqcnn_s=t_ours,
        baseline_s=t_faidx,
        ratio=t_faidx / t_ours,
        target=None,
        check=same,
    )


# ---------------------------------------------------------------------------- scan
def bench_scan(args) -> None:
    """Sliding windows over the genome slice, scored by ``predict_run`` from a BED file; the
    model's forward calls are timed inside that same run (hooks on the loaded model)."""
    import pandas as pd

    from seqcnn import checkpoint
    from seqcnn.io import Genome, read_bed
    from seqcnn.metrics import sigmoid
    from seqcnn.runs import predict_run
    from seqcnn.sequence import CompactOneHot

    length, batch = 101, 1024
    stride = 500 if args.quick else 50
    run = _untrained_run(Path(tempfile.mkdtemp()) / "run", length=length)
    in_model = [0.0]
    load_run = checkpoint.load_run

    def timed_load_run(*a, **k):
        model, config = load_run(*a, **k)
        started = []
        model.register_forward_pre_hook(lambda m, i: started.append(time.perf_counter()))
        model.register_forward_hook(
            lambda m, i, o: in_model.__setitem__(
                0, in_model[0] + time.perf_counter() - started.pop()
            )
        )
        return model, config

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        starts = np.arange(0, 1_000_000 - length + 1, stride)
        bed = tmp / "scan.bed"
        with open(bed, "w") as fh:
            fh.writelines(f"chr1\t{s}\t{s + length}\n" for s in starts.tolist())
        contig = tmp / "chr1.bed"  # the same scan, tiled by --stride from one interval
        contig.write_text("chr1\t0\t1000000\tchr1\n")
        os.environ["SEQCNN_CACHE_DIR"] = str(tmp / "cache")
        checkpoint.load_run = timed_load_run
        timings = {}
        try:
            genome = Genome(GENOME_SLICE)  # unpacked to the cache once, before timing
            for name, source, tile in (("bed", bed, None), ("stride", contig, stride)):
                in_model[0] = 0.0
                out = tmp / f"scan-{name}.tsv"
                t = time.perf_counter()
                predict_run(
                    run,
                    source,
                    out,
                    genome=str(GENOME_SLICE),
                    length=length,
                    batch_size=batch,
                    device="cpu",
                    stride=tile,
                )
                timings[name] = (time.perf_counter() - t, in_model[0], pd.read_csv(out, sep="\t"))
        finally:
            checkpoint.load_run = load_run
            os.environ.pop("SEQCNN_CACHE_DIR")
        model, _ = load_run(run)
        x = CompactOneHot(genome.interval_codes(read_bed(bed)))
        with torch.inference_mode():
            scores = torch.cat(
                [model.eval()(x.batch(slice(i, i + batch))) for i in range(0, len(x), batch)]
            )
    want = sigmoid(scores.numpy()[:, 0])
    for name, (wall, model_s, written) in timings.items():
        rows = written.iloc[: len(starts)]  # --stride adds one window ending at the contig end
        ok = (rows["start"].to_numpy() == starts).all() and (written["status"] == "ok").all()
        ok = ok and np.allclose(rows.iloc[:, 4].to_numpy(), want, rtol=2e-6, atol=1e-7)
        how = "a BED of sliding windows" if name == "bed" else "one interval, --stride"
        report(
            section="scan",
            what=f"predict over {how}: share of time in model",
            case=f"{len(written)} windows x {length} bp, stride {stride}, deepbind, batch {batch}",
            seqcnn_s=wall,
            model_s=model_s,
            ratio=model_s / wall,
            target=0.8,
            check=check(ok, f"scan scores ({name})"),
            windows_per_s=len(written) / wall,
        )


def _untrained_run(path: Path, length: int) -> Path:
    """A run directory with the default model's initial weights (nothing trained needed)."""
    from seqcnn.runs import train_run

    with tempfile.TemporaryDirectory() as tmp:
        table = Path(tmp) / "t.tsv"
        seqs = random_dna(64, length, 0)
        table.write_text(
            "sequence\tlabel\n" + "".join(f"{s}\t{i % 2}\n" for i, s in enumerate(seqs))
        )
        from seqcnn.inputs import DataOptions
        from seqcnn.train import TrainConfig

        train_run(table, path, DataOptions(), TrainConfig(epochs=1, verbose=False), force=True)
    return path


# ---------------------------------------------------------------------------- memory
_RSS = r"""
import sys, json
sys.argv = {argv!r}
import seqcnn.cli, seqcnn.runs, torch  # noqa: F401  (the import baseline)
torch.set_num_threads(1)
if {run!r}:
    try:
        seqcnn.cli.main(sys.argv[1:])
    except SystemExit as e:
        if e.code:
            raise
# VmHWM: this process's own peak (ru_maxrss would keep the parent's from before the exec)
with open("/proc/self/status") as fh:
    hwm = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM"))
print(json.dumps({{"hwm_kib": hwm}}))
"""


def child_peak(argv: list[str], run: bool = True) -> int:
    """Peak resident memory (bytes, ``VmHWM``) of a child process running the CLI."""
    code = _RSS.format(argv=["seqcnn", *argv], run=run)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if out.returncode:
        raise RuntimeError(f"child failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])["hwm_kib"] * 1024


def bench_memory(args) -> None:
    n, length = (4000, 1000) if args.quick else (40000, 1000)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)

        def train_args(table: Path, name: str) -> list[str]:
            return [
                "train",
                "--train",
                str(table),
                "--out",
                str(tmp / name),
                "--negatives",
                "shuffle",
                "--epochs",
                "2",
                "--threads",
                "1",
                "--quiet",
                "--force",
                "--device",
                "cpu",
                # a small model: the data path's memory is what is measured (per base), and
                # a batch's activations (per batch, not per base) stay out of it
                "--model-arg",
                "n_filters=8",
                "hidden=8",
                "--patience",
                "10",
            ]

        def write_table(path: Path, count: int) -> Path:
            with open(path, "w") as fh:
                fh.write("sequence\tlabel\n")
                for s in random_dna(count, length, 11):
                    fh.write(f"{s}\t1\n")
            return path

        small = write_table(tmp / "small.tsv", 200)
        quarter = write_table(tmp / "quarter.tsv", n // 4)
        big = write_table(tmp / "big.tsv", n)
        imports = child_peak(["--help"], run=False)
        tiny = child_peak(train_args(small, "small"))
        part = child_peak(train_args(quarter, "quarter"))
        peak = child_peak(train_args(big, "big"))
    bases = 2 * n * length  # positives and their shuffled negatives
    slope = (peak - part) / (bases - bases // 4)
    report(
        section="memory",
        what="seqcnn train --negatives shuffle: peak RSS per training base above the import "
        "baseline",
        case=f"{n} x {length} bp + {n} shuffled negatives, 2 epochs (fresh draw), 8 filters",
        ratio=(peak - imports) / bases,
        target=4.0,
        check="-",
        peak_mib=peak / 2**20,
        import_baseline_mib=imports / 2**20,
        tiny_run_mib=tiny / 2**20,
        quarter_run_mib=part / 2**20,
        per_base_above_tiny_run=(peak - tiny) / bases,
        per_base_slope=slope,
        per_positive_base=(peak - imports) / (n * length),
    )
    report(
        section="memory",
        what="the same, per base: slope of the peak between n/4 and n sequences",
        case=f"{n // 4} and {n} x {length} bp (+ negatives)",
        ratio=slope,
        target=4.0,
        check="-",
    )


def bench_predict_memory(args) -> None:
    n = 100_000 if args.full else (2_000 if args.quick else 20_000)
    run = _untrained_run(Path(tempfile.mkdtemp()) / "run", length=101)
    peaks = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for count in (n, 10 * n):
            fa = tmp / f"s{count}.fa"
            with open(fa, "w") as fh:
                for start in range(0, count, 10000):
                    chunk = random_dna(min(10000, count - start), 101, start)
                    fh.writelines(f">s{start + i}\n{s}\n" for i, s in enumerate(chunk))
            out = tmp / f"s{count}.tsv"
            peaks[count] = child_peak(
                [
                    "predict",
                    str(run),
                    "--data",
                    str(fa),
                    "-o",
                    str(out),
                    "--threads",
                    "1",
                    "--batch-size",
                    "1024",
                ]
            )
            lines = sum(1 for _ in open(out)) - 1
            if lines != count:
                FAILED.append(f"predict wrote {lines} rows for {count} sequences")
    report(
        section="predict-memory",
        what="seqcnn predict: peak RSS at 10x the records / at 1x",
        case=f"{n:,} and {10 * n:,} sequences x 101 bp",
        ratio=peaks[10 * n] / peaks[n],
        target=1.2,
        check="-",
        peak_small_mib=peaks[n] / 2**20,
        peak_large_mib=peaks[10 * n] / 2**20,
    )


_BED_CHILD = r"""
import json, sys, torch
torch.set_num_threads(1)
from seqcnn.inputs import as_tensors
from seqcnn.io import Genome
from seqcnn.negatives import read_intervals
from seqcnn.sequence import one_hot_encode, to_batch

def status(key):
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(key)) * 1024

genome = Genome(sys.argv[1])
genome.codes("chr1")  # the genome in memory: the baseline
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")  # reset VmHWM to the current resident set
base = status("VmRSS")
table = read_intervals(sys.argv[2], genome, int(sys.argv[3]), negatives="none")
data = as_tensors(table)
order = torch.randperm(len(data.x), generator=torch.Generator().manual_seed(0))
ok = True
for k, idx in enumerate(order[: 128 * 200].split(128)):
    x = to_batch(data.x, idx)
    if k == 0:
        ok = torch.equal(x, one_hot_encode([table.sequences[int(i)] for i in idx]))
print(json.dumps({"peak": status("VmHWM") - base, "kind": type(data.x).__name__, "ok": ok}))
"""


def bench_bed_memory(args) -> None:
    n, length = (100_000, 1000) if args.quick else (1_000_000, 1000)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        bed = tmp / "windows.bed"
        rng = np.random.default_rng(2)
        starts = np.sort(rng.integers(1000, 997_000, n))
        with open(bed, "w") as fh:
            fh.writelines(f"chr1\t{p}\t{p + 200}\tw{i}\n" for i, p in enumerate(starts.tolist()))
        env = dict(os.environ, OMP_NUM_THREADS="1", SEQCNN_CACHE_DIR=str(tmp / "cache"))
        t = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", _BED_CHILD, str(GENOME_SLICE), str(bed), str(length)],
            capture_output=True,
            text=True,
            env=env,
        )
        wall = time.perf_counter() - t
    if out.returncode:
        raise RuntimeError(f"child failed: {out.stderr[-2000:]}")
    got = json.loads(out.stdout.strip().splitlines()[-1])
    bases = n * length
    report(
        section="bed-memory",
        what="BED training set, as train reads it: peak above the genome, per window base",
        case=f"{n:,} windows x {length} bp on the genome slice, 200 batches of 128",
        ratio=got["peak"] / bases,
        target=1.0,
        check=check(got["ok"], "genome-window batches"),
        peak_mib=got["peak"] / 2**20,
        as_bytes_mib=bases / 2**20,
        x=got["kind"],
        seconds=wall,
    )


# ---------------------------------------------------------------------------- variants
def plain_variant_loop(model, vcf_path: Path, length: int, batch: int) -> np.ndarray:
    """The plain pipeline: cyvcf2 records, a pyfaidx window per variant, numpy one-hot,
    batched PyTorch forwards of REF and ALT windows; ALT - REF logits (first target)."""
    import cyvcf2
    import pyfaidx

    fa = pyfaidx.Fasta(str(GENOME_SLICE), as_raw=True)
    c = length // 2
    lut = _NP_LUT.astype(np.float32)
    deltas: list[np.ndarray] = []
    refs: list[str] = []
    alts: list[str] = []

    def flush() -> None:
        x_ref = torch.from_numpy(
            lut[np.frombuffer("".join(refs).encode(), np.uint8)].reshape(len(refs), length, 4)
        ).transpose(1, 2)
        x_alt = torch.from_numpy(
            lut[np.frombuffer("".join(alts).encode(), np.uint8)].reshape(len(alts), length, 4)
        ).transpose(1, 2)
        with torch.inference_mode():
            deltas.append((model(x_alt) - model(x_ref))[:, 0].numpy())
        refs.clear()
        alts.clear()

    for v in cyvcf2.VCF(str(vcf_path)):
        start = v.POS - 1 - c
        window = fa[v.CHROM][start : start + length]
        refs.append(window)
        alts.append(window[:c] + v.ALT[0] + window[c + 1 :])
        if len(refs) == batch:
            flush()
    if refs:
        flush()
    return np.concatenate(deltas)


def bench_variants(args) -> None:
    import pandas as pd

    from seqcnn import checkpoint
    from seqcnn.io import Genome
    from seqcnn.runs import score_variants_run

    n = 2_000 if args.quick else 100_000
    length, batch = 101, 1024
    run = _untrained_run(Path(tempfile.mkdtemp()) / "run", length=length)
    model, _ = checkpoint.load_run(run)
    model.eval()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        genome = Genome(GENOME_SLICE, cache_dir=tmp / "cache")
        bases = genome.codes("chr1")
        rng = np.random.default_rng(0)
        pos0 = np.sort(rng.choice(np.arange(1000, 999_000), size=3 * n, replace=False))
        ref = np.char.upper(bases[pos0].view("S1").astype(str))
        pos0, ref = pos0[np.isin(ref, list("ACGT"))][:n], ref[np.isin(ref, list("ACGT"))][:n]
        shift = rng.integers(1, 4, size=n)
        alt = np.array(list("ACGT"))[(np.searchsorted(list("ACGT"), ref) + shift) % 4]
        vcf = tmp / "snvs.vcf"
        with open(vcf, "w") as fh:
            fh.write("##fileformat=VCFv4.2\n##contig=<ID=chr1,length=1000000>\n")
            fh.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
            fh.writelines(
                f"chr1\t{p + 1}\tv{i}\t{r}\t{a}\t.\t.\t.\n"
                for i, (p, r, a) in enumerate(zip(pos0.tolist(), ref, alt, strict=True))
            )
        out = tmp / "effects.tsv"
        os.environ["SEQCNN_CACHE_DIR"] = str(tmp / "cache")
        try:
            t = time.perf_counter()
            score_variants_run(run, vcf, GENOME_SLICE, out, batch_size=batch, device="cpu")
            t_ours = time.perf_counter() - t
        finally:
            os.environ.pop("SEQCNN_CACHE_DIR")
        t = time.perf_counter()
        plain = plain_variant_loop(model, vcf, length, batch)
        t_plain = time.perf_counter() - t
        got = pd.read_csv(out, sep="\t", comment="#")
    delta = got[[c for c in got.columns if c.endswith("_delta")][0]].to_numpy()
    ok = len(got) == n and (got["status"] == "ok").all()
    ok = ok and np.allclose(delta, plain, atol=1e-5)
    report(
        section="variants",
        what="score-variants vs cyvcf2 + pyfaidx + PyTorch loop",
        case=f"{n:,} SNVs on the genome slice, {length} bp windows, deepbind, batch {batch}",
        seqcnn_s=t_ours,
        baseline_s=t_plain,
        ratio=t_plain / t_ours,
        target=3.0,
        check=check(ok, "variant scores"),
        variants_per_s=n / t_ours,
    )


# ---------------------------------------------------------------------------- main
def table() -> str:
    lines = [
        "| section | measurement | case | ratio | target | check |",
        "|---|---|---|---|---|---|",
    ]
    for r in RESULTS:
        target = r.get("target")
        tgt = (
            "-"
            if target is None
            else (f">= {target:g}" if r["section"] not in LOWER_IS_BETTER else f"<= {target:g}")
        )
        if target is not None:
            met = (
                r["ratio"] >= target
                if r["section"] not in LOWER_IS_BETTER
                else r["ratio"] <= target
            )
            tgt += ": met" if met else ": **not met**"
        lines.append(
            f"| {r['section']} | {r['what']} | {r['case']} | {r['ratio']:.2f} | {tgt} | "
            f"{r.get('check', '-')} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small inputs: a smoke test")
    p.add_argument("--full", action="store_true", help="the 1M-sequence predict-memory case")
    p.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--min-seconds", type=float, default=1.0)
    args = p.parse_args(argv)
    if args.quick:
        args.min_seconds = min(args.min_seconds, 0.2)
    torch.set_num_threads(args.threads)
    report(
        section="env",
        what="environment",
        case=platform.platform(),
        ratio=float("nan"),
        python=platform.python_version(),
        torch=torch.__version__,
        numpy=np.__version__,
        threads=args.threads,
        load=os.getloadavg()[0],
    )
    RESULTS.pop()
    funcs = {
        "encoding": bench_encoding,
        "training": bench_training,
        "batches": bench_batches,
        "scan": bench_scan,
        "variants": bench_variants,
        "memory": bench_memory,
        "predict-memory": bench_predict_memory,
        "bed-memory": bench_bed_memory,
    }
    for name in args.only.split(","):
        if name not in funcs:
            p.error(f"unknown section {name!r}; choose from {', '.join(SECTIONS)}")
        t = time.perf_counter()
        funcs[name](args)
        print(f"# {name}: {time.perf_counter() - t:.1f} s", file=sys.stderr, flush=True)
    print(table())
    if FAILED:
        print("output checks failed: " + ", ".join(FAILED), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
