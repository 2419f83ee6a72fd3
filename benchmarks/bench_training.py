"""Benchmark: DeepBind training and prediction throughput against naive ways of doing the same.

Each measurement compares seqcnn with a baseline in the same run, on the same data and the same
weights, and checks that both compute the same thing:

- **Training step** (forward + backward + Adam step, batch 128, 101 bp, the default
  ``deepbind`` model): seqcnn scores both strands in one batch of ``2 x 128`` and merges them
  with a max; the baseline runs the model twice, on the forward strand and then on the reverse
  complement, and takes the elementwise max (the straightforward way to score both strands).
  Check: with dropout off, both give the same outputs and the same gradients.
- **Trainer overhead**: ``Trainer.fit`` for one epoch vs the bare training step above (both
  with seqcnn's forward); the ratio says how much the trainer's bookkeeping costs.
- **Prediction**: ``seqcnn.predict.predict`` (batches of 256) vs a loop that scores one
  sequence at a time. Check: identical scores up to float rounding, batch size does not change
  predictions, and the model comes back in the mode it was in.
- **Prediction, strands**: ``predict`` with seqcnn's both-strands-in-one-batch forward vs the
  two-pass baseline model. Check: same scores.

Throughputs are sequences per second over all rounds; the ratio (seqcnn's speed over the
baseline's) is the median over rounds that run the two back to back, alternating which goes
first, so that both see the machine's load alike. Only correctness failures change the exit
code (1); timings never do.

Usage::

    python benchmarks/bench_training.py [--quick] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from seqcnn.datasets import Tensors
from seqcnn.models import count_parameters, create_model
from seqcnn.predict import predict
from seqcnn.sequence import one_hot_encode
from seqcnn.train import TrainConfig, Trainer

BATCH = 128
LENGTH = 101


# ---------------------------------------------------------------------------- inputs
def random_onehot(n: int, length: int, seed: int) -> torch.Tensor:
    """``(n, 4, length)`` one-hot encodings of random ACGT sequences."""
    rng = np.random.default_rng(seed)
    codes = np.frombuffer(b"ACGT", dtype=np.uint8)[rng.integers(0, 4, size=n * length)]
    text = codes.tobytes().decode("ascii")
    return one_hot_encode([text[i * length : (i + 1) * length] for i in range(n)])


# ---------------------------------------------------------------------------- baselines
class TwoPasses(nn.Module):
    """Both strands the naive way: run a forward-strand model twice and take the max."""

    def __init__(self, single_strand: nn.Module) -> None:
        super().__init__()
        self.net = single_strand

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.maximum(self.net(x), self.net(x.flip(-2, -1)))


def models(seed: int) -> tuple[nn.Module, nn.Module]:
    """(seqcnn's default DeepBind, the two-pass baseline) with identical weights."""
    torch.manual_seed(seed)
    fast = create_model("deepbind")
    single = create_model("deepbind", strands="forward")
    single.load_state_dict(fast.state_dict())
    return fast, TwoPasses(single)


def naive_predict(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """One sequence at a time."""
    model.eval()
    with torch.inference_mode():
        return torch.cat([model(X[i : i + 1]) for i in range(len(X))])


# ---------------------------------------------------------------------------- checks
def check_same_function(
    fast: nn.Module, base: nn.Module, x: torch.Tensor, y: torch.Tensor
) -> list[str]:
    """Outputs and gradients of the two models agree with dropout off."""
    errors = []
    loss_fn = nn.BCEWithLogitsLoss()
    grads = []
    for model in (fast, base):
        model.eval()
        model.zero_grad(set_to_none=True)
        out = model(x)
        loss_fn(out, y).backward()
        grads.append((out.detach(), [p.grad.clone() for p in model.parameters()]))
        model.zero_grad(set_to_none=True)
    (out_a, grad_a), (out_b, grad_b) = grads
    if not torch.allclose(out_a, out_b, rtol=1e-5, atol=1e-6):
        errors.append(f"outputs differ (max |diff| {(out_a - out_b).abs().max():.3g})")
    if len(grad_a) != len(grad_b) or not all(
        torch.allclose(a, b, rtol=1e-4, atol=1e-6) for a, b in zip(grad_a, grad_b, strict=True)
    ):
        errors.append("gradients differ between both-strands-in-one-batch and two passes")
    return [f"training step: {e}" for e in errors]


# ---------------------------------------------------------------------------- timing
def train_steps(model: nn.Module, X: torch.Tensor, Y: torch.Tensor, steps: int) -> float:
    """Seconds for ``steps`` training steps (forward, BCE loss, backward, Adam step)."""
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    n_batches = len(X) // BATCH
    t0 = time.perf_counter()
    for step in range(steps):
        k = (step % n_batches) * BATCH
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(X[k : k + BATCH]), Y[k : k + BATCH])
        loss.backward()
        optimizer.step()
    return time.perf_counter() - t0


def interleaved(fns: dict[str, Any], rounds: int) -> dict[str, list[float]]:
    """Seconds of each ``fn()`` in each of ``rounds`` rounds; the order alternates by round.

    The two functions of a round run back to back, so the ratio of their times within a
    round sees the same load; the median of those ratios resists bursts of load.
    """
    times: dict[str, list[float]] = {name: [] for name in fns}
    for r in range(rounds):
        names = list(fns) if r % 2 == 0 else list(fns)[::-1]
        for name in names:
            times[name].append(fns[name]())
    return times


def compare(
    rows: list[dict], times: dict[str, list[float]], n_per_round: int, **fields: Any
) -> None:
    """Emit a row: throughputs over all rounds and the median per-round speed ratio."""
    (name_a, t_a), (name_b, t_b) = times.items()
    ratios = [b / a for a, b in zip(t_a, t_b, strict=True)]
    _emit(
        rows,
        seqs_per_s=round(n_per_round * len(t_a) / sum(t_a)),
        baseline_seqs_per_s=round(n_per_round * len(t_b) / sum(t_b)),
        ratio=round(float(np.median(ratios)), 2),
        round_ratios=[round(r, 2) for r in ratios],
        **fields,
    )


# ---------------------------------------------------------------------------- main
def _emit(rows: list[dict], **row: Any) -> None:
    rows.append(row)
    print(json.dumps(row), flush=True)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="example: python benchmarks/bench_training.py --quick --threads 1",
    )
    p.add_argument("--quick", action="store_true", help="fewer steps and sequences: a smoke test")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
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
    steps, rounds = (3, 2) if args.quick else (8, 6)
    n_fit = 256 if args.quick else 2048
    n_predict = 64 if args.quick else 512
    rows: list[dict] = []
    errors: list[str] = []
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    print(
        json.dumps(
            {
                "benchmark": "training",
                "python": platform.python_version(),
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "cpus": cpus,
                "quick": args.quick,
            }
        ),
        flush=True,
    )

    X = random_onehot(max(n_fit, 8 * BATCH), LENGTH, seed=args.seed)
    Y = (torch.rand(len(X), 1, generator=torch.Generator().manual_seed(args.seed)) > 0.5).float()

    # ------------------------------------------------ training step: one batch vs two passes
    fast, base = models(args.seed)
    problems = check_same_function(fast, base, X[:BATCH], Y[:BATCH])
    errors += problems
    for model in (fast, base):
        train_steps(model, X, Y, 2)  # warm-up
    times = interleaved(
        {
            "seqcnn": lambda: train_steps(fast, X, Y, steps),
            "two passes": lambda: train_steps(base, X, Y, steps),
        },
        rounds,
    )
    compare(
        rows,
        times,
        steps * BATCH,
        name="train step",
        case=f"deepbind ({count_parameters(fast):,} params), batch {BATCH}, {LENGTH} bp",
        baseline="model run twice (forward, reverse complement), max",
        target="report (> 1: one batch is faster)",
        correct=not problems,
    )

    # ------------------------------------------------ Trainer.fit overhead
    data = Tensors(X[:n_fit], Y[:n_fit])
    config = TrainConfig(
        epochs=1,
        batch_size=BATCH,
        lr_schedule="none",
        device="cpu",
        verbose=False,
        threads=args.threads,
    )
    fit_model, _ = models(args.seed)
    times = interleaved(
        {
            "fit": lambda: _seconds(lambda: Trainer(fit_model, config).fit(data)),
            "steps": lambda: train_steps(fast, X, Y, n_fit // BATCH),
        },
        2,
    )
    compare(
        rows,
        times,
        n_fit,
        name="Trainer.fit epoch",
        case=f"{n_fit} seqs, batch {BATCH}, {LENGTH} bp",
        baseline="bare training steps (same model, batch, optimizer)",
        target=">= 0.8",
        correct=True,
    )

    # ------------------------------------------------ prediction: batched vs one at a time
    Xp = X[:n_predict]
    outputs: dict[str, torch.Tensor] = {}

    def timed(name: str, fn: Any) -> float:
        t0 = time.perf_counter()
        outputs[name] = fn()
        return time.perf_counter() - t0

    times = interleaved(
        {
            "predict": lambda: timed("predict", lambda: predict(fast, Xp, batch_size=256)),
            "loop": lambda: timed("loop", lambda: naive_predict(fast, Xp)),
        },
        2,
    )
    problems = []
    fast.train()
    scores = predict(fast, Xp, batch_size=256)
    if not fast.training:
        problems.append("predict() left the model in eval mode")
    if not torch.allclose(scores, predict(fast, Xp, batch_size=7), rtol=1e-5, atol=1e-6):
        problems.append("predictions change with the batch size")
    if not torch.allclose(outputs["predict"], outputs["loop"], rtol=1e-5, atol=1e-6):
        problems.append("batched and one-at-a-time predictions differ")
    errors += [f"predict: {p}" for p in problems]
    compare(
        rows,
        times,
        n_predict,
        name="predict",
        case=f"{n_predict} seqs, {LENGTH} bp, batch 256",
        baseline="one sequence at a time",
        target="report",
        correct=not problems,
    )

    # ------------------------------------------------ prediction: both strands, one batch or two
    base.net.load_state_dict(fast.state_dict())  # training above moved them apart
    times = interleaved(
        {
            "predict": lambda: timed("predict", lambda: predict(fast, Xp, batch_size=256)),
            "two passes": lambda: timed("two", lambda: predict(base, Xp, batch_size=256)),
        },
        2 if args.quick else 4,
    )
    same = torch.allclose(outputs["predict"], outputs["two"], rtol=1e-5, atol=1e-6)
    if not same:
        errors.append("predict: both strands in one batch and in two passes differ")
    compare(
        rows,
        times,
        n_predict,
        name="predict strands",
        case=f"{n_predict} seqs, {LENGTH} bp, batch 256",
        baseline="model run twice (forward, reverse complement), max",
        target="report (> 1: one batch is faster)",
        correct=same,
    )

    _table(rows)
    print(f"total {time.perf_counter() - t_start:.1f} s")
    for e in errors:
        print(f"CHECK FAILED: {e}", file=sys.stderr)
    return 1 if errors else 0


def _seconds(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _table(rows: list[dict]) -> None:
    print()
    head = f"{'measurement':<18} {'seqcnn seq/s':>13} {'baseline seq/s':>15} {'ratio':>7}"
    print(head + "  ok  baseline")
    for r in rows:
        ok = "yes" if r["correct"] else "NO"
        print(
            f"{r['name']:<18} {r['seqs_per_s']:>13,} {r['baseline_seqs_per_s']:>15,} "
            f"{r['ratio']:>6}x  {ok:<3} {r['baseline']}"
        )


if __name__ == "__main__":
    sys.exit(main())
