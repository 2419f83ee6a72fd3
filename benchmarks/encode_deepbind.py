"""DeepBind's ENCODE protocol on the ten shared experiments, one ``seqcnn train`` command each.

For each experiment: ``seqcnn train --train X_AC.seq.gz --negatives shuffle --test X_B.seq.gz``
with default settings, then the test AUROC from ``RUN/metrics.json``, next to the plain
DeepBind reimplementation's AUROC and the JASPAR PWM baseline (both from the data README).

    python benchmarks/encode_deepbind.py --out runs/encode            # all ten, default model
    python benchmarks/encode_deepbind.py --only REST ELK1 --model resbind

Needs the real data (``$SEQCNN_DATA_DIR`` or ``../shared/data``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

# B-set AUROC of a plain DeepBind reimplementation (16 x 24 filters, both strands, max
# pooling, 32 hidden units, one shuffled negative per positive) and of the best JASPAR 2024
# PWM hit on either strand (USF1: the H1 matrix), as given with the data.
REFERENCE = {
    "ARID3A": (0.816, 0.585),
    "CTCFL": (0.972, 0.796),
    "ELK1": (0.944, 0.922),
    "FOXA1": (0.985, 0.919),
    "GABPA": (0.979, 0.908),
    "MYC": (0.877, 0.822),
    "REST": (0.998, 0.956),
    "SP1": (0.819, 0.625),
    "USF1": (0.994, 0.98),
    "ZBTB7A": (0.799, 0.521),
}


def data_dir() -> Path:
    for candidate in (
        os.environ.get("SEQCNN_DATA_DIR"),
        Path(__file__).parents[2] / "shared" / "data",
    ):
        if candidate and (Path(candidate) / "encode-chipseq").is_dir():
            return Path(candidate) / "encode-chipseq"
    sys.exit("encode-chipseq data not found: set SEQCNN_DATA_DIR")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default="runs/encode", help="folder for the run directories")
    parser.add_argument("--only", nargs="+", default=None, help="experiments to run (default: all)")
    parser.add_argument("--threads", default="2", help="torch threads per run")
    parser.add_argument("--model", default=None, help="model name (default: seqcnn's default)")
    parser.add_argument(
        "--report-only", action="store_true", help="tabulate finished runs in --out as Markdown"
    )
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more train options")
    args = parser.parse_args(argv)
    src = data_dir()
    out = Path(args.out)
    rows = []
    for tf, (reference, jaspar) in REFERENCE.items():
        if args.only and tf not in args.only:
            continue
        ac = next(src.glob(f"{tf}_*_AC.seq.gz"))
        b = Path(str(ac).replace("_AC.seq.gz", "_B.seq.gz"))
        run = out / tf
        cmd = [
            "seqcnn",
            "train",
            "--train",
            str(ac),
            "--negatives",
            "shuffle",
            "--test",
            str(b),
            "--out",
            str(run),
            "--force",
            "--quiet",
            "--threads",
            args.threads,
        ]
        if args.model:
            cmd += ["--model", args.model]
        cmd += args.extra
        if args.report_only:
            if not (run / "metrics.json").is_file():
                continue
            metrics = json.loads((run / "metrics.json").read_text())
            seconds = metrics["seconds"]
        else:
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True)
            seconds = time.perf_counter() - t0
            metrics = json.loads((run / "metrics.json").read_text())
        row = {
            "experiment": tf,
            "auroc": round(metrics["test"]["auroc"], 4),
            "reference": reference,
            "jaspar": jaspar,
            "valid_auroc": round(metrics["valid"]["auroc"], 4),
            "auprc": round(metrics["test"]["auprc"], 4),
            "epochs": metrics["best_epoch"],
            "seconds": round(seconds),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    if rows and args.report_only:
        print(
            "| experiment | test AUROC | test AUPRC | reference | JASPAR | best epoch | seconds |"
        )
        print("|---|---|---|---|---|---|---|")
        for r in rows:
            print(
                f"| {r['experiment']} | {r['auroc']:.3f} | {r['auprc']:.3f} | {r['reference']:.3f} "
                f"| {r['jaspar']:.3f} | {r['epochs']} | {r['seconds']:.0f} |"
            )
    if rows:
        mean = sum(r["auroc"] for r in rows) / len(rows)
        ref = sum(r["reference"] for r in rows) / len(rows)
        print(f"\n{'experiment':<10} {'seqcnn':>7} {'ref':>6} {'JASPAR':>7} {'seconds':>8}")
        for r in rows:
            name, auroc, seconds = r["experiment"], r["auroc"], r["seconds"]
            ref_, jaspar = r["reference"], r["jaspar"]
            print(f"{name:<10} {auroc:>7.3f} {ref_:>6.3f} {jaspar:>7.3f} {seconds:>8}")
        print(f"{'mean':<10} {mean:>7.3f} {ref:>6.3f}")
        worst = min(r["auroc"] - r["reference"] for r in rows)
        print(f"largest shortfall against the reference: {worst:+.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
