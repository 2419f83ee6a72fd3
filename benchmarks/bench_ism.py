"""Benchmark: exact in-silico mutagenesis against batched full forwards and against tangermeme.

Every measurement runs seqcnn and its baseline in the same run, on the same sequences and the
same weights, and checks that both give the same effects (largest difference <= 1e-5):

- **fast vs full forwards** (default ``deepbind``, 64 filters of 24 bp, 101 bp and 1000 bp):
  ``seqcnn.attribution.ism`` (its fast path: only the first convolution's window is updated,
  prefix/suffix maxima for the global max pool) against ``ism(method="naive")``, batched full
  forward passes of every mutated sequence (identity edits skipped, batch 256);
- **against tangermeme** (``tangermeme.saturation_mutagenesis``, ``raw_outputs=True``, its
  default ``fast=True``, batch 256), at 1000 bp, for the DeepBind-size model and a 3-layer
  Basset-size model (300/200/200 filters of 19/11/7 bp with batch norm, ReLU and max pooling,
  two dense layers of 1000), which goes through seqcnn's second shortcut (local windows
  carried through the convolution and pooling stack, the dense layers in full).

Timings are wall-clock seconds of one call after an untimed warm-up call on a short input;
short calls are repeated for at least ``--min-seconds``. Ratios are baseline time over seqcnn
time. Only a failed check changes the exit code (1), never a timing.

Usage::

    python benchmarks/bench_ism.py [--quick] [--threads N] [--no-tangermeme]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from seqcnn.attribution import ism
from seqcnn.models import count_parameters, create_model

TOLERANCE = 1e-5


def random_onehot(n: int, length: int, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    idx = torch.from_numpy(rng.integers(0, 4, size=(n, length)))
    return nn.functional.one_hot(idx, 4).permute(0, 2, 1).float().contiguous()


def basset_size() -> nn.Module:
    """A 3-layer Basset-size network (Kelley et al. 2016), one output, for 1000 bp."""

    def block(cin: int, cout: int, k: int, pool: int) -> list[nn.Module]:
        return [
            nn.Conv1d(cin, cout, k, padding=k // 2),
            nn.BatchNorm1d(cout),
            nn.ReLU(),
            nn.MaxPool1d(pool),
        ]

    length = 1000 // 3 // 4 // 4
    return nn.Sequential(
        *block(4, 300, 19, 3),
        *block(300, 200, 11, 4),
        *block(200, 200, 7, 4),
        nn.Flatten(),
        nn.Linear(200 * length, 1000),
        nn.ReLU(),
        nn.Dropout(0.3),
        nn.Linear(1000, 1000),
        nn.ReLU(),
        nn.Dropout(0.3),
        nn.Linear(1000, 1),
    )


def timed(fn: Callable[[], torch.Tensor], min_seconds: float) -> tuple[torch.Tensor, float]:
    """Result of ``fn`` and its mean time over repeats lasting at least ``min_seconds``."""
    runs, start, result = 0, time.perf_counter(), None
    while True:
        result = fn()
        runs += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return result, elapsed / runs


def tangermeme_ism(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Effects ``(N, T, 4, L)`` from tangermeme's raw outputs."""
    from tangermeme.saturation_mutagenesis import saturation_mutagenesis

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        y0, y_hat = saturation_mutagenesis(model, x, batch_size=256, raw_outputs=True, device="cpu")
    tangermeme_ism.warnings = [str(w.message) for w in caught if "fast" in str(w.message)]
    return (y_hat - y0[:, None, None, :]).permute(0, 3, 1, 2)


tangermeme_ism.warnings = []


def compare(
    name: str,
    case: str,
    model: nn.Module,
    x: torch.Tensor,
    baseline_name: str,
    baseline: Callable[[], torch.Tensor],
    min_seconds: float,
) -> dict:
    ism(model, x[:1], start=0, end=2, target=None)  # warm-up: two positions of one sequence
    ours, t_ours = timed(lambda: ism(model, x, target=None), min_seconds)
    theirs, t_theirs = timed(baseline, min_seconds)
    diff = float((ours - theirs).abs().max())
    n_edits = x.shape[0] * 3 * x.shape[2]
    row = {
        "measurement": name,
        "case": case,
        "baseline": baseline_name,
        "seqcnn_s": round(t_ours, 4),
        "baseline_s": round(t_theirs, 4),
        "seqcnn_edits_per_s": round(n_edits / t_ours),
        "baseline_edits_per_s": round(n_edits / t_theirs),
        "ratio": round(t_theirs / t_ours, 2),
        "max_abs_diff": diff,
        "correct": diff <= TOLERANCE,
    }
    print(json.dumps(row), flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small inputs (a smoke test)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--min-seconds", type=float, default=1.0)
    parser.add_argument("--no-tangermeme", action="store_true")
    args = parser.parse_args(argv)
    previous = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        return _run(args)
    finally:
        torch.set_num_threads(previous)


def _run(args: argparse.Namespace) -> int:
    print(
        json.dumps(
            {
                "python": platform.python_version(),
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "cpus": os.cpu_count(),
                "load": os.getloadavg() if hasattr(os, "getloadavg") else None,
            }
        ),
        flush=True,
    )
    torch.manual_seed(0)
    deepbind = create_model("deepbind").eval()
    rows = []
    n101, n1000 = (4, 1) if args.quick else (20, 2)
    long = 200 if args.quick else 1000
    min_s = 0.0 if args.quick else args.min_seconds
    params = count_parameters(deepbind)
    for n, length in ((n101, 101), (n1000, long)):
        x = random_onehot(n, length, seed=length)
        rows.append(
            compare(
                "fast ISM vs full forwards",
                f"deepbind ({params:,} params), {n} x {length} bp",
                deepbind,
                x,
                "ism(method='naive'), batch 256",
                lambda x=x: ism(deepbind, x, target=None, method="naive"),
                min_s,
            )
        )
    if not args.no_tangermeme:
        try:
            import tangermeme  # noqa: F401
        except ImportError:
            print(
                json.dumps(
                    {"skipped": "tangermeme is not installed (pip install 'seqcnn[benchmark]')"}
                )
            )
        else:
            x = random_onehot(2 if not args.quick else 1, long, seed=7)
            rows.append(
                compare(
                    "ISM vs tangermeme",
                    f"deepbind, {x.shape[0]} x {long} bp",
                    deepbind,
                    x,
                    "tangermeme.saturation_mutagenesis",
                    lambda: tangermeme_ism(deepbind, x),
                    0.0,
                )
            )
            print(json.dumps({"tangermeme_warnings": tangermeme_ism.warnings}), flush=True)
            basset = basset_size().eval() if not args.quick else None
            if basset is not None:
                with torch.no_grad():
                    for m in basset.modules():
                        if isinstance(m, nn.BatchNorm1d):
                            m.running_mean.normal_(0, 0.1)
                            m.running_var.uniform_(0.5, 1.5)
                x = random_onehot(1, 1000, seed=8)
                rows.append(
                    compare(
                        "ISM vs tangermeme",
                        f"Basset-size ({count_parameters(basset):,} params), 1 x 1000 bp",
                        basset,
                        x,
                        "tangermeme.saturation_mutagenesis",
                        lambda: tangermeme_ism(basset, x),
                        0.0,
                    )
                )
                print(json.dumps({"tangermeme_warnings": tangermeme_ism.warnings}), flush=True)
    print()
    print("| measurement | case | seqcnn | baseline | ratio | max diff |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['measurement']} | {r['case']} | {r['seqcnn_s']:.3g} s "
            f"({r['seqcnn_edits_per_s']:,} edits/s) | {r['baseline']}: {r['baseline_s']:.3g} s "
            f"| **{r['ratio']:.1f}x** | {r['max_abs_diff']:.1e} |"
        )
    ok = all(r["correct"] for r in rows)
    if not ok:
        print("FAILED: seqcnn and a baseline disagree by more than 1e-5", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
