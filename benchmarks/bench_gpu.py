"""Benchmark on a CUDA device: training utilisation and inference throughput.

- Training: ``Trainer.fit`` of the default model on compact (uint8) data kept on the device,
  batch 1024, 101 bp and 1,000 bp, bf16 autocast; the device's utilisation sampled with
  ``nvidia-smi`` every 0.2 s during the epochs (target: >= 70% busy at batch 1024).
- Inference: ``predict`` throughput (sequences per second), float32 and bf16 autocast, on
  compact inputs; the float32 scores are checked against the CPU's (close, not bit-equal:
  the kernels differ).

Exits 1 if a check fails; prints JSON lines, then a table. Needs a GPU: exits 2 without one.

Usage::

    python benchmarks/bench_gpu.py [--seconds 20]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time

import numpy as np
import torch


def utilisation_sampler(samples: list[int], stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            out = subprocess.run(
                ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"],
                capture_output=True,
                text=True,
                timeout=5,
            ).stdout
            samples.append(int(out.split()[0]))
        except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
            pass
        stop.wait(0.2)


def compact_set(n: int, length: int, seed: int = 0):
    from seqcnn.datasets import Tensors
    from seqcnn.sequence import CompactOneHot

    rng = np.random.default_rng(seed)
    raw = np.frombuffer(b"ACGT", dtype=np.uint8)[rng.integers(0, 4, (n, length))]
    y = torch.from_numpy((rng.random((n, 1)) > 0.5).astype(np.float32))
    return Tensors(CompactOneHot(raw), y)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=20.0, help="training time per length")
    args = p.parse_args(argv)
    if not torch.cuda.is_available():
        print("no CUDA device", file=sys.stderr)
        return 2
    from seqcnn.models import create_model
    from seqcnn.predict import predict
    from seqcnn.train import TrainConfig, Trainer

    rows, failed = [], []
    print(json.dumps({"device": torch.cuda.get_device_name(0), "torch": torch.__version__}))
    for length in (101, 1000):
        # warm-up (kernels, cuDNN plans), which also sizes the set to about args.seconds
        warm = compact_set(8192, length)
        cfg = {"batch_size": 1024, "verbose": False, "device": "cuda"}
        Trainer(create_model("deepbind"), TrainConfig(epochs=1, **cfg)).fit(warm)
        torch.cuda.synchronize()
        t = time.perf_counter()
        Trainer(create_model("deepbind"), TrainConfig(epochs=1, **cfg)).fit(warm)
        torch.cuda.synchronize()
        rate = len(warm.x) / (time.perf_counter() - t)
        n = int(min(max(rate * args.seconds / 2, 16384), 2_000_000))
        data = compact_set(n, length)
        model = create_model("deepbind")
        config = TrainConfig(epochs=2, patience=9, **cfg)
        samples: list[int] = []
        stop = threading.Event()
        sampler = threading.Thread(target=utilisation_sampler, args=(samples, stop), daemon=True)
        torch.cuda.synchronize()
        sampler.start()
        t = time.perf_counter()
        trainer = Trainer(model, config).fit(data)
        torch.cuda.synchronize()
        wall = time.perf_counter() - t
        stop.set()
        sampler.join()
        busy = float(np.mean(samples)) if samples else float("nan")
        rows.append(
            {
                "what": "training utilisation",
                "length": length,
                "batch": 1024,
                "busy_percent": busy,
                "seq_per_s": 2 * n / wall,
                "target": ">= 70%",
                "met": busy >= 70,
            }
        )
        ok = bool(np.isfinite(trainer.history_["train_loss"]).all())
        if not ok:
            failed.append(f"training loss not finite at {length} bp")
        x = data.x
        cpu_part = x[:2048]
        model.eval()
        ref = predict(model, cpu_part, batch_size=1024, device="cpu")
        for amp in (False, True):
            predict(model, x, batch_size=4096, device="cuda", amp=amp)  # warm-up
            torch.cuda.synchronize()
            t = time.perf_counter()
            out = predict(model, x, batch_size=4096, device="cuda", amp=amp)
            torch.cuda.synchronize()
            rate = len(x) / (time.perf_counter() - t)
            close = torch.allclose(out[:2048], ref, atol=1e-4 if not amp else 5e-2, rtol=1e-3)
            if not close:
                failed.append(f"CUDA scores differ from the CPU's at {length} bp (amp {amp})")
            rows.append(
                {
                    "what": "predict throughput",
                    "length": length,
                    "amp": amp,
                    "seq_per_s": rate,
                    "close_to_cpu": bool(close),
                }
            )
    for r in rows:
        print(json.dumps(r))
    print("| measurement | length | setting | sequences/s | busy | check |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        setting = (
            "batch 1024, bf16"
            if r["what"].startswith("training")
            else ("bf16 autocast" if r["amp"] else "float32")
        )
        busy = f"{r['busy_percent']:.0f}%" if "busy_percent" in r else "-"
        chk = (
            ("met" if r["met"] else "**not met**")
            if "met" in r
            else ("close to CPU" if r["close_to_cpu"] else "**differs**")
        )
        print(
            f"| {r['what']} | {r['length']} | {setting} | {r['seq_per_s']:,.0f} | {busy} | {chk} |"
        )
    if failed:
        print("failed: " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
