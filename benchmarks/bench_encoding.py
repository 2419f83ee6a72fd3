"""Benchmark: one-hot encoding and dinucleotide shuffling against plain-Python baselines.

Each measurement compares a seqcnn function with a straightforward implementation written
here, in the same run, on the same input, and checks that both give the right answer:

- ``one_hot_encode`` vs the per-sequence, per-base loop many tools use (a dict lookup per base
  into a numpy array): 50k x 101 bp, 10k x 1000 bp and 20k sequences of 50-150 bp (padded on
  the right). The two arrays must be identical. Target: at least 20x faster.
- ``dinucleotide_shuffle_many`` vs a per-sequence Python Altschul-Erickson shuffle: 20k x
  101 bp. Both outputs must keep every sequence's dinucleotide counts, first and last base.
- Peak memory of ``one_hot_encode`` (50k x 101 bp): the growth of the process's peak resident
  memory (Linux ``VmHWM``, which sees numpy and torch alike) and the tracemalloc peak (numpy
  and Python objects only), as multiples of the output tensor's size; the baseline is the
  per-base loop, whose only allocation is the output array.

Timings: each slow baseline runs once (seconds long); each seqcnn call is repeated for at least
``--min-seconds`` and its mean time is used, so both average over the machine's load alike.
Only correctness failures change the exit code (1); timings never do.

Usage::

    python benchmarks/bench_encoding.py [--quick] [--threads N] [--min-seconds S]
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import platform
import random
import select
import signal
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqcnn.sequence import dinucleotide_shuffle_many, one_hot_encode

ENCODE_TARGET = 20.0  # seqcnn must be at least this many times faster than the per-base loop


# ---------------------------------------------------------------------------- inputs
def random_sequences(
    n: int, length: int | tuple[int, int], seed: int, n_rate: float = 0.01, lower_rate: float = 0.05
) -> list[str]:
    """``n`` random DNA strings: ACGT, with a few ``N`` and some soft-masked (lowercase) bases.

    ``length`` is one length, or an inclusive ``(low, high)`` range for unequal lengths.
    """
    rng = np.random.default_rng(seed)
    if isinstance(length, int):
        lengths = np.full(n, length)
    else:
        lengths = rng.integers(length[0], length[1] + 1, size=n)
    total = int(lengths.sum())
    codes = np.frombuffer(b"ACGT", dtype=np.uint8)[rng.integers(0, 4, size=total)].copy()
    codes[rng.random(total) < n_rate] = ord("N")
    lower = rng.random(total) < lower_rate
    codes[lower] += 32  # ASCII upper -> lower case
    text = codes.tobytes().decode("ascii")
    ends = np.cumsum(lengths).tolist()
    starts = [0] + ends[:-1]
    return [text[s:e] for s, e in zip(starts, ends, strict=True)]


# ---------------------------------------------------------------------------- baselines
SYMBOLS = "ACGTNacgtn"  # what random_sequences() draws from
NAIVE_INDEX = {"A": 0, "C": 1, "G": 2, "T": 3, "a": 0, "c": 1, "g": 2, "t": 3}


def naive_one_hot(seqs: Sequence[str]) -> np.ndarray:
    """Per-sequence, per-base loop: (N, 4, L) float32, right-padded, N -> zero column."""
    length = max(map(len, seqs))
    out = np.zeros((len(seqs), 4, length), dtype=np.float32)
    for i, seq in enumerate(seqs):
        for j, base in enumerate(seq):
            k = NAIVE_INDEX.get(base)
            if k is not None:
                out[i, k, j] = 1.0
    return out


def altschul_erickson(seq: str, rng: random.Random) -> str:
    """One dinucleotide shuffle of ``seq`` (Altschul & Erickson 1985), in plain Python.

    The classic per-sequence algorithm: list the out-edges of every symbol in the doublet
    graph, draw one "last exit" per symbol (except the final one) until these exits form a
    tree into the final symbol, shuffle the other edges, and walk the Euler path.
    """
    if len(seq) <= 2:
        return seq
    edges: dict[str, list[str]] = {}
    for a, b in zip(seq, seq[1:], strict=False):
        edges.setdefault(a, []).append(b)
    last = seq[-1]
    while True:
        exits = {v: rng.choice(out) for v, out in edges.items() if v != last}
        ok = True
        for v in exits:  # every symbol must reach `last` by following exits
            seen = set()
            while v != last:
                if v in seen:
                    ok = False
                    break
                seen.add(v)
                v = exits[v]
            if not ok:
                break
        if ok:
            break
    order: dict[str, list[str]] = {}
    for v, out in edges.items():
        out = list(out)
        if v in exits:
            out.remove(exits[v])
            rng.shuffle(out)
            out.append(exits[v])
        else:
            rng.shuffle(out)
        order[v] = out
    pos = dict.fromkeys(order, 0)
    path = [seq[0]]
    v = seq[0]
    for _ in range(len(seq) - 1):
        nxt = order[v][pos[v]]
        pos[v] += 1
        path.append(nxt)
        v = nxt
    return "".join(path)


def naive_shuffle_many(seqs: Sequence[str], seed: int) -> list[str]:
    rng = random.Random(seed)
    return [altschul_erickson(s, rng) for s in seqs]


# ---------------------------------------------------------------------------- checks
def dinucleotide_counts(seqs: Sequence[str]) -> np.ndarray:
    """(N, K * K) counts of every symbol pair in each sequence (equal lengths only).

    The symbols are :data:`SYMBOLS` plus one "other" symbol for any other character.
    """
    k = len(SYMBOLS) + 1
    codes = np.frombuffer("".join(seqs).encode("latin-1"), dtype=np.uint8)
    to_id = np.full(256, k - 1, dtype=np.int64)
    to_id[[ord(c) for c in SYMBOLS]] = np.arange(len(SYMBOLS))
    ids = to_id[codes].reshape(len(seqs), len(seqs[0]))
    pairs = ids[:, :-1] * k + ids[:, 1:] + (np.arange(len(seqs)) * k * k)[:, None]
    return np.bincount(pairs.ravel(), minlength=len(seqs) * k * k).reshape(len(seqs), k * k)


def check_shuffles(original: Sequence[str], shuffled: Sequence[str], who: str) -> list[str]:
    """Errors (empty when fine): counts, ends, and that most sequences actually changed."""
    errors = []
    if len(shuffled) != len(original):
        return [f"{who}: {len(shuffled)} shuffles for {len(original)} sequences"]
    if any(len(a) != len(b) for a, b in zip(original, shuffled, strict=True)):
        return [f"{who}: a shuffle changed a sequence's length"]
    bad = np.flatnonzero((dinucleotide_counts(original) != dinucleotide_counts(shuffled)).any(1))
    if bad.size:
        errors.append(f"{who}: dinucleotide counts differ in {bad.size} sequences (first {bad[0]})")
    if any(a[0] != b[0] or a[-1] != b[-1] for a, b in zip(original, shuffled, strict=True)):
        errors.append(f"{who}: first or last base changed")
    same = np.mean([a == b for a, b in zip(original, shuffled, strict=True)])
    if same > 0.01:
        errors.append(f"{who}: {same:.1%} of the sequences came back unchanged")
    return errors


# ---------------------------------------------------------------------------- timing
def mean_time(fn: Callable[[], Any], min_seconds: float) -> tuple[float, Any]:
    """Mean wall time per call of ``fn``, called until ``min_seconds`` have passed (at least
    once), with the garbage collector off as in :mod:`timeit`; and the last result.

    Averaging over a comparable stretch of time for the fast function and the slow baseline
    keeps the ratio fair on a shared machine, where load comes and goes: a best-of-k of a
    20 ms call would pick a quiet moment that a 2 s baseline run cannot.
    """
    gc.collect()
    gc.disable()
    try:
        calls, start = 0, time.perf_counter()
        while True:
            result = fn()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds:
                return elapsed / calls, result
    finally:
        gc.enable()


def _vm_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def rss_peak_in_child(
    fn: Callable[[], Any], warmup: Callable[[], Any] | None = None, timeout: float = 60.0
) -> int | None:
    """Peak growth of resident memory while ``fn()`` runs, in bytes, measured in a forked child.

    Linux only (``/proc/self/clear_refs`` resets the peak, ``VmHWM`` reads it); ``None``
    elsewhere. The child first hands free heap pages back to the system (``malloc_trim``) and
    has large blocks mmapped, so that memory malloc reuses is counted like fresh memory, for
    numpy and torch alike; the parent is untouched. ``warmup()`` runs in the child before the
    measurement starts: the child maps the pages of shared libraries (libtorch's code) only when
    it first touches them, which would otherwise count as memory used by ``fn``.
    """
    if not hasattr(os, "fork") or _vm_kib("VmHWM") is None:
        return None
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            os.close(r)
            torch.set_num_threads(1)
            if warmup is not None:
                warmup()  # fault in the code it runs: a fork's child maps library pages lazily
            gc.collect()
            try:
                libc = ctypes.CDLL(None)
                libc.mallopt(-3, 64 * 1024)  # M_MMAP_THRESHOLD (glibc): big blocks are mmapped
                libc.malloc_trim(0)  # free heap pages go back, so reusing them counts again
            except (OSError, AttributeError):
                pass
            Path("/proc/self/clear_refs").write_text("5")  # peak RSS := current RSS
            before = _vm_kib("VmRSS") or 0
            result = fn()
            peak = (_vm_kib("VmHWM") or 0) - before
            del result
            os.write(w, str(peak * 1024).encode())
            code = 0
        except BaseException:  # noqa: BLE001  (the parent reports None)
            pass
        finally:
            os._exit(code)
    os.close(w)
    try:
        ready, _, _ = select.select([r], [], [], timeout)
        data = os.read(r, 64) if ready else b""
    finally:
        os.close(r)
        if not data:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    return int(data) if data else None


def tracemalloc_peak(fn: Callable[[], Any]) -> int:
    """Peak of the memory traced by tracemalloc (Python objects and numpy arrays, not torch's
    own allocations) while ``fn()`` runs, in bytes."""
    gc.collect()
    tracemalloc.start()
    try:
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del result
    return peak


# ---------------------------------------------------------------------------- main
def _cpus() -> int | None:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count()


def _emit(rows: list[dict], **row: Any) -> None:
    rows.append(row)
    print(json.dumps(row), flush=True)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="example: python benchmarks/bench_encoding.py --quick --threads 1",
    )
    p.add_argument("--quick", action="store_true", help="inputs 20x smaller: a smoke test")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument(
        "--min-seconds",
        type=float,
        default=None,
        help="time each seqcnn call over at least this long (default 1, 0.25 with --quick)",
    )
    p.add_argument("--seed", type=int, default=0)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns 0, or 1 when a correctness check fails."""
    args = _parser().parse_args(argv)
    old_threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        return _run(args)
    finally:
        torch.set_num_threads(old_threads)


def _run(args: argparse.Namespace) -> int:
    t_start = time.perf_counter()
    scale = 20 if args.quick else 1
    min_seconds = args.min_seconds or (0.25 if args.quick else 1.0)
    rows: list[dict] = []
    errors: list[str] = []
    env = {
        "benchmark": "encoding",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "threads": torch.get_num_threads(),
        "cpus": _cpus(),
        "quick": args.quick,
    }
    print(json.dumps(env), flush=True)

    # peak memory first, while no OpenMP pool exists that a fork could inherit
    n = 50_000 // scale
    seqs = random_sequences(n, 101, seed=args.seed)
    out_bytes = n * 4 * 101 * 4
    for name, encode in (
        ("one_hot_encode", one_hot_encode),
        ("per-base Python loop", naive_one_hot),
    ):
        fn = partial(encode, seqs)
        rss = rss_peak_in_child(fn, warmup=partial(encode, seqs[:100]))
        traced = tracemalloc_peak(fn)
        _emit(
            rows,
            name=f"peak memory: {name}",
            case=f"{n} x 101 bp",
            output_bytes=out_bytes,
            input_bytes=sum(map(len, seqs)),
            rss_peak_bytes=rss,
            tracemalloc_peak_bytes=traced,
            rss_over_output=None if rss is None else round(rss / out_bytes, 2),
            tracemalloc_over_output=round(traced / out_bytes, 2),
        )

    cases = [(50_000 // scale, 101), (10_000 // scale, 1000), (20_000 // scale, (50, 150))]
    for i, (n, length) in enumerate(cases):
        seqs = random_sequences(n, length, seed=args.seed + i)
        bases = sum(map(len, seqs))
        t_naive, naive = mean_time(partial(naive_one_hot, seqs), 0.0)
        t_fast, fast = mean_time(partial(one_hot_encode, seqs), min_seconds)
        identical = fast.dtype == torch.float32 and np.array_equal(fast.numpy(), naive)
        if not identical:
            errors.append(f"one_hot_encode differs from the per-base loop on {n} x {length}")
        shape = f"{n} x {length if isinstance(length, int) else '{}-{}'.format(*length)} bp"
        _emit(
            rows,
            name="one_hot_encode",
            case=shape,
            baseline="per-base Python loop",
            seconds=round(t_fast, 5),
            baseline_seconds=round(t_naive, 4),
            mbases_per_s=round(bases / t_fast / 1e6, 2),
            ratio=round(t_naive / t_fast, 1),
            target=f">= {ENCODE_TARGET:g}x",
            met=t_naive / t_fast >= ENCODE_TARGET,
            correct=bool(identical),
        )
        del naive, fast

    n = 20_000 // scale
    seqs = [s.upper() for s in random_sequences(n, 101, seed=args.seed + 10, n_rate=0.0)]
    t_naive, naive = mean_time(lambda: naive_shuffle_many(seqs, seed=args.seed), 0.0)
    t_fast, fast = mean_time(lambda: dinucleotide_shuffle_many(seqs, seed=args.seed), min_seconds)
    problems = check_shuffles(seqs, fast, "dinucleotide_shuffle_many")
    problems += check_shuffles(seqs, naive, "Python Altschul-Erickson")
    errors += problems
    _emit(
        rows,
        name="dinucleotide_shuffle_many",
        case=f"{n} x 101 bp",
        baseline="per-sequence Python Altschul-Erickson",
        seconds=round(t_fast, 5),
        baseline_seconds=round(t_naive, 4),
        mbases_per_s=round(n * 101 / t_fast / 1e6, 2),
        ratio=round(t_naive / t_fast, 1),
        target="report",
        met=None,
        correct=not problems,
    )

    _table(rows)
    print(f"total {time.perf_counter() - t_start:.1f} s")
    for e in errors:
        print(f"CHECK FAILED: {e}", file=sys.stderr)
    return 1 if errors else 0


def _table(rows: list[dict]) -> None:
    print()
    print(f"{'measurement':<28} {'case':<20} {'seqcnn s':>9} {'baseline s':>11} {'ratio':>8}  ok")
    for r in rows:
        if "ratio" in r:
            ok = "yes" if r["correct"] else "NO"
            print(
                f"{r['name']:<28} {r['case']:<20} {r['seconds']:>9.4f} "
                f"{r['baseline_seconds']:>11.3f} {r['ratio']:>7.1f}x  {ok}"
            )
    print()
    print(f"{'memory':<34} {'case':<16} {'peak RSS / output':>18} {'tracemalloc / output':>21}")
    for r in rows:
        if "output_bytes" in r:
            rss = "n/a" if r["rss_over_output"] is None else f"{r['rss_over_output']:.2f}"
            traced = r["tracemalloc_over_output"]
            print(f"{r['name']:<34} {r['case']:<16} {rss:>18} {traced:>21.2f}")
    mem = [r for r in rows if "output_bytes" in r]
    if mem:
        print(f"(output tensor: {mem[0]['output_bytes'] / 2**20:.1f} MiB float32)")


if __name__ == "__main__":
    sys.exit(main())
