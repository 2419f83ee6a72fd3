"""The ``seqcnn`` command: a thin layer over :mod:`seqcnn.runs` and the analysis modules.

Exit codes: 0 success, 1 bad input (one line on stderr; ``--debug`` shows the traceback),
2 usage error (argparse).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from seqcnn import __version__

EXAMPLES = {
    "train": """
        examples:
          # DeepBind's protocol: positives from a .seq table, shuffled negatives, test on B
          seqcnn train --train CTCF_AC.seq.gz --negatives shuffle --test CTCF_B.seq.gz -o runs/ctcf
          # a table with several label columns, a validation file and another model
          seqcnn train --train train.tsv --valid valid.tsv --model resbind --out runs/multi
          # positives and negatives as FASTA files
          seqcnn train --train bound.fa --negatives unbound.fa --out runs/fa
          # genome intervals: narrowPeak + reference, chr8 held out for validation, chr9 for test
          seqcnn train --train peaks.narrowPeak --fasta hg38.fa --negatives gc -o runs/peaks
          # images
          seqcnn train --train mnist.npz --model lenet5 --epochs 10 --out runs/lenet
        """,
    "evaluate": """
        example:
          seqcnn evaluate runs/ctcf --data CTCF_B.seq.gz     # writes runs/ctcf/evaluate-CTCF_B/
        """,
    "predict": """
        examples:
          seqcnn predict runs/ctcf --data sequences.fa -o scores.tsv
          # genome windows (skipped ones get a status), on a GPU, in 4 processes
          seqcnn predict runs/ctcf --data windows.bed --fasta hg38.fa --device cuda \\
              --shard 1/4 -o part1.tsv     # ... --shard 4/4 -o part4.tsv
          seqcnn merge-shards part1.tsv part2.tsv part3.tsv part4.tsv -o scores.tsv
          # scan a whole chromosome: the run's windows every 50 bp
          printf 'chr21\\t0\\t46709983\\tchr21\\n' > chr21.bed
          seqcnn predict runs/ctcf --data chr21.bed --fasta hg38.fa --stride 50 -o chr21.tsv
        """,
    "merge-shards": """
        example:
          seqcnn merge-shards part1.tsv part2.tsv -o scores.tsv   # = the unsharded output
        """,
    "score-variants": """
        examples:
          # one row per ALT allele: REF, ALT and ALT - REF logits per target, and a status
          seqcnn score-variants runs/ctcf --vcf variants.vcf.gz --fasta hg38.fa -o effects.tsv
          # the input records untouched plus Number=A INFO fields; bgzipped and tabix-indexed
          seqcnn score-variants runs/ctcf --vcf variants.vcf.gz --fasta hg38.fa -o effects.vcf.gz
          # z-scores and p-values against the same edit in 99 shuffled windows
          seqcnn score-variants runs/ctcf --vcf v.vcf --fasta hg38.fa --significance 99 -o e.tsv
        """,
    "report": """
        examples:
          seqcnn report runs/ctcf                   # writes runs/ctcf/report.html
          # motifs, variant scores and mutation maps kept elsewhere
          seqcnn report runs/ctcf --motifs motifs/ctcf --variants effects.tsv \\
              --maps 'maps/ctcf_*.png' -o ctcf.html
          # the key numbers as JSON too, for `seqcnn summary`
          seqcnn report runs/ctcf -o reports/ctcf.html --json reports/ctcf.json
        """,
    "summary": """
        example:
          seqcnn summary reports/*.json -o summary.html --table summary.tsv
        """,
    "mutation-map": """
        examples:
          # a sequence of the run's input length (any length for deepbind)
          seqcnn mutation-map runs/ctcf --sequence ACGT...ACGT -o map.png       # + map.tsv
          # a genome region, 1-based inclusive as samtools
          seqcnn mutation-map runs/ctcf --fasta hg38.fa --region chr11:2,000,001-2,000,101 -o m.pdf
          # one map per variant of a VCF, windows placed as score-variants places them
          seqcnn mutation-map runs/ctcf --vcf variants.vcf.gz --fasta hg38.fa -o maps/var.png
        """,
    "attribute": """
        examples:
          seqcnn attribute runs/ctcf --data test.tsv.gz --method deeplift -o attr.npz
          seqcnn attribute runs/ctcf --data peaks.fa --method deepliftshap --n-shuffles 20 -o a.npz
          seqcnn attribute runs/ctcf --data test.tsv.gz --method ism -o ism.npz --logos 10
        """,
    "motifs": """
        examples:
          # PWMs from the bound sequences, influence by AUROC, matches in JASPAR 2024 (pyjaspar)
          seqcnn motifs runs/ctcf --data CTCF_B.seq.gz -o runs/ctcf/motifs
          # Basset's recipe, matches in another collection, SVG pictures
          seqcnn motifs runs/ctcf --data test.tsv.gz -o motifs --method basset \\
              --database JASPAR2024_CORE_vertebrates_nonredundant.meme --format svg
        """,
    "demo": """
        example:
          seqcnn demo -o seqcnn-demo     # trains, evaluates and predicts on the embedded data
        """,
    "list-models": """
        example:
          seqcnn list-models 'res*'
        """,
}


class KeyValue(argparse.Action):
    """Collect ``key=value`` pairs into a dict; values are parsed as JSON when they can be."""

    def __call__(self, parser, namespace, values, option_string=None):
        items = dict(getattr(namespace, self.dest) or {})
        for item in values:
            key, sep, value = item.partition("=")
            if not sep or not key:
                parser.error(f"{option_string} expects key=value, got {item!r}")
            try:
                items[key] = json.loads(value)
            except json.JSONDecodeError:
                items[key] = value
        setattr(namespace, self.dest, items)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seqcnn",
        description="Sequence-based deep learning for genomics, in the line of DeepBind.",
    )
    parser.add_argument("--version", action="version", version=f"seqcnn {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(
            name,
            help=help,
            description=help,
            epilog=textwrap.dedent(EXAMPLES.get(name, "")),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.add_argument("--debug", action="store_true", help="show tracebacks on errors")
        return p

    # ------------------------------------------------------------------ train
    p = command("train", "train a model and write a run directory")
    p.add_argument(
        "--train",
        metavar="FILE",
        help="training data (table, FASTA, BED, .npz); may come from --config, or with --resume "
        "from the run",
    )
    p.add_argument(
        "--valid", metavar="FILE", help="validation data (default: hold back --valid-fraction)"
    )
    p.add_argument("--test", metavar="FILE", help="test data, evaluated once with the best weights")
    p.add_argument("--out", "-o", required=True, metavar="RUN", help="run directory to write")
    p.add_argument("--force", action="store_true", help="overwrite an existing run directory")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run in RUN with its own options (options that differ are "
        "refused, except --threads, --device, --compile, --quiet)",
    )
    p.add_argument(
        "--config", metavar="FILE.yaml", help="options as YAML (command-line options win)"
    )
    _data_options(p, training=True)
    g = p.add_argument_group("model")
    g.add_argument(
        "--model", default=None, help="registered architecture (default deepbind; see list-models)"
    )
    g.add_argument(
        "--model-arg",
        dest="model_args",
        nargs="+",
        action=KeyValue,
        metavar="KEY=VALUE",
        help="model constructor argument, e.g. --model-arg n_filters=32 pooling=maxavg",
    )
    g = p.add_argument_group("training")
    from seqcnn.train import TrainConfig

    defaults = TrainConfig()
    for name, kind, text in (
        ("epochs", int, "maximum number of epochs"),
        ("batch_size", int, "examples per step"),
        ("lr", float, "learning rate"),
        ("weight_decay", float, "L2 penalty"),
        ("optimizer", str, "adam | adamw | sgd"),
        ("lr_schedule", str, "none | plateau | cosine"),
        ("patience", int, "early stopping: epochs without improvement"),
        ("min_delta", float, "early stopping: the smallest change that counts"),
        ("monitor", str, "auto (auroc, pearson or accuracy) | loss"),
        ("class_weight", str, "none | balanced"),
        ("device", str, "auto | cpu | cuda | cuda:N"),
        ("seed", int, "random seed (CPU runs are bit-identical for a seed)"),
    ):
        g.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            type=kind,
            default=None,
            help=f"{text} (default {getattr(defaults, name)})",
        )
    g.add_argument(
        "--no-amp", dest="amp", action="store_false", default=None, help="no mixed precision on GPU"
    )
    g.add_argument(
        "--compile",
        dest="compile",
        action="store_true",
        default=None,
        help="torch.compile the model for training (minutes to start: for long GPU runs)",
    )
    _threads(g)
    g.add_argument("--quiet", "-q", action="store_true", help="no progress output")

    # ------------------------------------------------------------------ evaluate / predict
    p = command("evaluate", "metrics of a trained run on labelled data")
    p.add_argument("run", metavar="RUN")
    p.add_argument("--data", required=True, metavar="FILE")
    p.add_argument("--out", "-o", metavar="DIR", help="output folder (default RUN/evaluate-<name>)")
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    _data_options(p, training=False)
    _threads(p)

    p = command("predict", "score sequences, genome windows or images with a trained run")
    p.add_argument("run", metavar="RUN")
    p.add_argument("--data", required=True, metavar="FILE")
    p.add_argument("--out", "-o", required=True, metavar="OUT.tsv")
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument(
        "--shard",
        metavar="I/N",
        help="score only share I of N (1 <= I <= N); join the N outputs with merge-shards",
    )
    p.add_argument("--amp", action="store_true", help="bfloat16 autocast on CUDA")
    p.add_argument(
        "--strict",
        action="store_true",
        help="refuse the file at the first record that would be skipped (BED: unknown contig, "
        "window off its contig, summit outside its peak, zero-length interval)",
    )
    p.add_argument(
        "--stride",
        type=int,
        metavar="BP",
        help="BED inputs: scan each interval with --length windows every BP bp (the last one "
        "ends at the interval's end) instead of one window at its summit",
    )
    _data_options(p, training=False)
    _threads(p)

    p = command("merge-shards", "join the outputs of predict --shard 1/N ... N/N into one TSV")
    p.add_argument("shards", nargs="+", metavar="SHARD.tsv", help="the N outputs, in order")
    p.add_argument("--out", "-o", required=True, metavar="OUT.tsv")

    # ------------------------------------------------------------------ score-variants
    p = command(
        "score-variants", "effects of VCF variants on a trained run's scores (TSV or annotated VCF)"
    )
    p.add_argument("run", metavar="RUN")
    p.add_argument("--vcf", required=True, metavar="VCF", help="variants (.vcf, .vcf.gz)")
    p.add_argument("--fasta", required=True, metavar="GENOME.fa", help="the reference genome")
    p.add_argument(
        "--out", "-o", required=True, metavar="OUT", help="OUT.tsv or OUT.vcf / OUT.vcf.gz"
    )
    p.add_argument(
        "--length", type=int, metavar="N", help="window length (default: the run's input length)"
    )
    p.add_argument(
        "--region",
        metavar="CHR:START-END",
        help="only the records there (1-based inclusive; needs a bgzipped, tabix-indexed VCF)",
    )
    p.add_argument("--scale", choices=("logit", "probability"), default="logit")
    p.add_argument(
        "--ref-policy",
        choices=("skip", "trust", "fail"),
        default="skip",
        help="REF differs from the genome: skip and count (default), score the VCF's REF, or stop",
    )
    p.add_argument(
        "--edge",
        choices=("pad", "skip"),
        default="pad",
        help="windows off a contig end: pad with N and flag (default), or skip as out_of_bounds",
    )
    p.add_argument(
        "--significance",
        type=int,
        default=0,
        metavar="N",
        help="z-score and p-value against the same edit in N shuffled windows (e.g. 99)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the shuffles")
    p.add_argument("--info-prefix", default="SEQCNN", help="prefix of the added INFO fields")
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    _threads(p)
    p.add_argument(
        "--quiet", "-q", action="store_true", help="no progress bar (shown on a terminal only)"
    )

    # ------------------------------------------------------------------ report
    p = command("report", "one self-contained HTML page about a run (every picture embedded)")
    p.add_argument("run", metavar="RUN")
    p.add_argument("--out", "-o", metavar="FILE.html", help="the page (default RUN/report.html)")
    p.add_argument(
        "--motifs", metavar="DIR", help="a `seqcnn motifs` folder (default RUN/motifs if present)"
    )
    p.add_argument(
        "--variants",
        nargs="+",
        metavar="TSV",
        help="score-variants tables or globs (default RUN/variants.tsv, RUN/variants/*.tsv)",
    )
    p.add_argument(
        "--maps",
        nargs="+",
        metavar="PNG",
        help="mutation-map pictures, folders or globs (default RUN/mutation_maps/*.png)",
    )
    p.add_argument(
        "--evaluations",
        nargs="+",
        metavar="DIR",
        help="`seqcnn evaluate --out` folders kept outside RUN (RUN/evaluate-* are always read)",
    )
    p.add_argument("--title", help="page title (default: the run directory's name)")
    p.add_argument(
        "--top", type=int, default=15, metavar="N", help="rows in the match and variant tables"
    )
    p.add_argument(
        "--json", metavar="FILE.json", help="also write the key numbers, for `seqcnn summary`"
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no summary line")

    p = command("summary", "one HTML page (and a TSV) across experiments, linking their reports")
    p.add_argument("facts", nargs="+", metavar="REPORT.json", help="`seqcnn report --json` files")
    p.add_argument("--out", "-o", required=True, metavar="FILE.html")
    p.add_argument("--table", metavar="FILE.tsv", help="the same table as TSV")
    p.add_argument("--quiet", "-q", action="store_true", help="no summary line")

    # ------------------------------------------------------------------ mutation-map
    p = command("mutation-map", "DeepBind mutation map: the effect of every single-base change")
    p.add_argument("run", metavar="RUN")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--sequence", metavar="S", help="a DNA sequence")
    src.add_argument(
        "--region", metavar="CHR:START-END", help="a genome region, 1-based inclusive (--fasta)"
    )
    src.add_argument("--vcf", metavar="VCF", help="one map per ALT allele (--fasta)")
    p.add_argument("--fasta", metavar="GENOME.fa", help="reference genome for --region and --vcf")
    p.add_argument(
        "--out", "-o", required=True, metavar="OUT.png", help="OUT.png|.svg|.pdf (+ OUT.tsv)"
    )
    p.add_argument(
        "--weighting",
        choices=("deepbind", "delta"),
        default=None,
        help="deepbind: (p_mut - p_wt) * max(0, p_wt, p_mut) (default for classifiers); "
        "delta: alt - ref logits",
    )
    p.add_argument("--target", default=None, help="target name or index (default: the first)")
    p.add_argument(
        "--ref-policy", choices=("skip", "trust", "fail"), default="skip", help="as score-variants"
    )
    p.add_argument("--max-maps", type=int, default=20, help="at most this many maps from a VCF")
    p.add_argument("--row-length", type=int, default=100, help="positions per row of the map")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    _threads(p)
    p.add_argument(
        "--quiet", "-q", action="store_true", help="no progress bar (shown on a terminal only)"
    )

    # ------------------------------------------------------------------ attribute
    p = command("attribute", "attributions of a run's output to every base (captum or ISM)")
    p.add_argument("run", metavar="RUN")
    p.add_argument("--data", required=True, metavar="FILE", help="sequences (table, FASTA, BED)")
    p.add_argument("--out", "-o", required=True, metavar="OUT.npz")
    from seqcnn.attribution import ATTRIBUTION_METHODS

    p.add_argument(
        "--method", default="deeplift", choices=ATTRIBUTION_METHODS, help="default deeplift"
    )
    p.add_argument(
        "--baselines",
        choices=("uniform", "zeros", "shuffle"),
        default=None,
        help="reference input: 0.25 per base (default for IG and DeepLIFT) or seeded "
        "dinucleotide shuffles (default for deepliftshap)",
    )
    p.add_argument("--n-shuffles", type=int, default=20, help="shuffled baselines per sequence")
    p.add_argument("--n-steps", type=int, default=50, help="integrated-gradients steps")
    p.add_argument("--target", default=None, help="target name or index (default: the first)")
    p.add_argument("--logos", type=int, default=5, help="attribution logos of the first N")
    p.add_argument("--seed", type=int, default=0, help="seed of the shuffles")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    _data_options(p, training=False)
    _threads(p)
    p.add_argument(
        "--quiet", "-q", action="store_true", help="no progress bar (shown on a terminal only)"
    )

    # ------------------------------------------------------------------ motifs
    p = command("motifs", "first-layer filters as PWMs, logos, a MEME file and JASPAR matches")
    p.add_argument("run", metavar="RUN")
    p.add_argument("--data", required=True, metavar="FILE", help="sequences (table, FASTA, BED)")
    p.add_argument(
        "--out", "-o", required=True, metavar="DIR", help="motifs.meme, matches.tsv, logos/"
    )
    p.add_argument(
        "--method",
        choices=("deepbind", "basset"),
        default="deepbind",
        help="deepbind: each sequence's best window if positive (default); basset: every "
        "window above --threshold times the filter's maximum",
    )
    p.add_argument("--threshold", type=float, default=0.5, help="basset's fraction (0.5)")
    p.add_argument(
        "--database",
        metavar="FILE",
        help="MEME or JASPAR file to match against (default: JASPAR 2024 CORE vertebrates "
        "from pyjaspar)",
    )
    p.add_argument("--release", default="JASPAR2024", help="pyjaspar release (JASPAR2024)")
    p.add_argument("--n-best", type=int, default=3, help="matches per filter in matches.tsv")
    p.add_argument(
        "--min-ic", type=float, default=0.5, help="trim edge columns below this many bits"
    )
    p.add_argument("--pseudocount", type=float, default=1.0, help="per PWM column (1)")
    p.add_argument(
        "--no-influence", dest="influence", action="store_false", help="skip filter silencing"
    )
    p.add_argument("--overview", type=int, default=12, help="filters in the overview picture")
    p.add_argument("--format", default="png", help="picture format: png | svg | pdf")
    p.add_argument("--seed", type=int, default=0, help="seed of the significance shuffles")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    _data_options(p, training=False)
    _threads(p)
    p.add_argument(
        "--quiet", "-q", action="store_true", help="no progress bar (shown on a terminal only)"
    )

    # ------------------------------------------------------------------ others
    p = command("list-models", "registered architectures")
    p.add_argument("pattern", nargs="?", default="*", help="shell-style pattern, e.g. 'res*'")

    p = command("demo", "the whole pipeline on the embedded (simulated) example data")
    p.add_argument("--out", "-o", default="seqcnn-demo", metavar="DIR")
    p.add_argument("--force", action="store_true", help="overwrite an existing DIR")
    _threads(p)
    return parser


def _threads(p) -> None:
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="CPU threads for torch (default: SEQCNN_THREADS or the number of cores, at most 4)",
    )


def _data_options(p: argparse.ArgumentParser, training: bool) -> None:
    g = p.add_argument_group("data")
    g.add_argument(
        "--fasta", dest="genome", metavar="GENOME.fa", help="reference genome for BED inputs"
    )
    g.add_argument("--length", type=int, default=None, help="window length for BED inputs")
    g.add_argument(
        "--sequence-column", default=None, help="table column with sequences (default: auto)"
    )
    g.add_argument(
        "--label-columns", nargs="+", default=None, help="table label columns (default: auto)"
    )
    g.add_argument(
        "--labels", default=None, metavar="TABLE", help="labels for FASTA records, by name"
    )
    g.add_argument(
        "--negatives",
        default=None,
        help="none | shuffle (dinucleotide shuffles of positives, as DeepBind) | flank | gc "
        "(BED inputs) | a FASTA file of negatives (default: none; evaluate: as in training)",
    )
    if not training:
        return
    g.add_argument(
        "--task",
        default=None,
        choices=["auto", "binary", "multilabel", "regression"],  # metrics.TABLE_TASKS
        help="what the labels mean (default auto: 0/1 labels are binary, others regression)",
    )
    g.add_argument("--negatives-per-positive", type=int, default=None)
    g.add_argument(
        "--fixed-negatives",
        dest="fresh_negatives",
        action="store_false",
        default=None,
        help="draw shuffled negatives once instead of every epoch",
    )
    g.add_argument(
        "--valid-fraction", type=float, default=None, help="held back without --valid (default 0.1)"
    )
    g.add_argument(
        "--test-fraction",
        type=float,
        default=None,
        help="without --test: hold back this fraction of --train as the test set (default 0)",
    )
    g.add_argument(
        "--valid-chroms",
        nargs="+",
        default=None,
        help="BED inputs: validation chromosomes (default chr8)",
    )
    g.add_argument(
        "--test-chroms", nargs="+", default=None, help="BED inputs: test chromosomes (default chr9)"
    )
    g.add_argument(
        "--jitter",
        type=int,
        default=None,
        metavar="BP",
        help="BED inputs: shift each training window by up to BP bp, drawn anew every epoch "
        "(with --negatives flank, gc or none; default 0)",
    )


def default_threads() -> int:
    """``SEQCNN_THREADS`` or the cores this process may use, at most 4.

    Small models gain little from more threads, and on a shared machine extra threads that
    wait on each other can make training many times slower.
    """
    env = os.environ.get("SEQCNN_THREADS")
    if env:
        return max(1, int(env))
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


def _set_threads(args: argparse.Namespace) -> int:
    import torch

    threads = args.threads or default_threads()
    torch.set_num_threads(threads)
    return threads


def _given(args: argparse.Namespace, names) -> dict[str, Any]:
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def _data_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The data options given on the command line (those of ``DataOptions``)."""
    import dataclasses

    from seqcnn.inputs import DataOptions

    return _given(args, [f.name for f in dataclasses.fields(DataOptions)])


def _data_from_args(args: argparse.Namespace, base: dict[str, Any] | None = None):
    from seqcnn.inputs import DataOptions

    return DataOptions(**{**(base or {}), **_data_overrides(args)})


def _train_options(args: argparse.Namespace) -> dict[str, Any]:
    """Every option of ``seqcnn train``, checked: the resumed run's, then the option file's,
    then the command line's (each wins over the one before)."""
    from seqcnn.checkpoint import recorded_options
    from seqcnn.config import check_value, load_options, option_kinds
    from seqcnn.exceptions import ConfigError

    kinds = option_kinds()
    options = recorded_options(args.out) if args.resume else {}
    if args.config:
        options.update(load_options(args.config).values)
    for name in kinds:
        value = getattr(args, name, None)
        if value is None:
            continue
        try:
            options[name] = check_value(name, value, kinds)
        except ConfigError as err:
            raise ConfigError(f"--{name.replace('_', '-')}: {err}") from None
    if args.model is not None:
        options["model"] = args.model
    if args.model_args:
        options["model_args"] = {**options.get("model_args", {}), **args.model_args}
    return options


def cmd_train(args: argparse.Namespace) -> int:
    from seqcnn.config import option_kinds
    from seqcnn.exceptions import ConfigError
    from seqcnn.inputs import DataOptions
    from seqcnn.runs import train_run
    from seqcnn.train import TrainConfig

    options = _train_options(args)
    if not options.get("train"):
        raise ConfigError("no training data: give --train FILE (or train: in --config)")
    kinds = option_kinds()
    threads = _set_threads(args)
    train_opts = {k: v for k, v in options.items() if kinds.get(k, ("",))[0] == "training"}
    train_opts["threads"] = threads
    if args.quiet:
        train_opts["verbose"] = False
    config = TrainConfig(**train_opts)
    data = DataOptions(**{k: v for k, v in options.items() if kinds.get(k, ("",))[0] == "data"})
    model = options.get("model", "deepbind")
    metrics = train_run(
        options["train"],
        args.out,
        data,
        config,
        model=model,
        model_args=options.get("model_args", {}),
        valid=options.get("valid"),
        test=options.get("test"),
        force=args.force,
        resume=args.resume,
    )
    from seqcnn.train import is_main_process

    if not is_main_process():
        return 0
    _say(f"trained {model} in {metrics['seconds']:.0f} s (best epoch {metrics['best_epoch']})")
    for split in ("train", "valid", "test"):
        if split in metrics:
            _say(f"  {split:<5} " + _summary(metrics[split]))
    _say(f"run directory: {args.out} (config.json, model.safetensors, metrics.json, history.csv)")
    return 0


def _summary(metrics: dict[str, Any]) -> str:
    keys = ("auroc", "auprc", "pearson", "spearman", "accuracy", "loss")
    return "  ".join(f"{k} {metrics[k]:.4f}" for k in keys if isinstance(metrics.get(k), float))


def cmd_evaluate(args: argparse.Namespace) -> int:
    from seqcnn.runs import evaluate_run

    _set_threads(args)
    metrics = evaluate_run(
        args.run,
        args.data,
        args.out,
        batch_size=args.batch_size,
        device=args.device,
        **_data_overrides(args),
    )
    out = args.out or Path(args.run) / f"evaluate-{Path(args.data).name.split('.')[0]}"
    _say(f"{args.data}: n {metrics['n']}  " + _summary(metrics))
    _say(f"written: {out}/metrics.json and plots")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from seqcnn.runs import predict_run

    _set_threads(args)
    summary = predict_run(
        args.run,
        args.data,
        args.out,
        batch_size=args.batch_size,
        device=args.device,
        shard=args.shard,
        amp=args.amp,
        strict=args.strict,
        stride=args.stride,
        **_data_overrides(args),
    )
    skipped = summary["skipped"]
    note = ""
    if skipped:
        note = (
            f" ({sum(skipped.values())} skipped: "
            + ", ".join(f"{k} {v}" for k, v in sorted(skipped.items()))
            + "; see the status column)"
        )
    shard = f" (shard {summary['shard']})" if args.shard else ""
    _say(f"scored {summary['n']} records{shard}{note}: {args.out}")
    return 0


def cmd_merge_shards(args: argparse.Namespace) -> int:
    from seqcnn.runs import merge_shards

    rows = merge_shards(args.shards, args.out)
    _say(f"merged {len(args.shards)} shards, {rows} rows: {args.out}")
    return 0


def cmd_list_models(args: argparse.Namespace) -> int:
    from seqcnn.models import count_parameters, get_model_spec, list_models
    from seqcnn.models.registry import meta_model

    names = list_models(args.pattern)
    if not names:
        _say(f"no model matches {args.pattern!r}")
        return 0
    print(f"{'name':<16} {'dim':>3} {'parameters':>12} {'receptive field':>16}  description")
    for name in names:
        spec = get_model_spec(name)
        model = meta_model(name, n_outputs=1 if spec.dim == 1 else 10)  # shapes only
        rf = getattr(model, "receptive_field", None)
        field = "-" if not rf else f"{rf} bp" if spec.dim == 1 else str(rf)
        print(
            f"{name:<16} {spec.dim:>2}D {count_parameters(model):>12,} "
            f"{field:>16}  {spec.description.replace('``', '')}"
        )
    print("(parameters with one target for 1D models and 10 classes for 2D models)")
    return 0


def cmd_score_variants(args: argparse.Namespace) -> int:
    import shlex
    import warnings

    from seqcnn.runs import score_variants_run

    _set_threads(args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = score_variants_run(
            args.run,
            args.vcf,
            args.fasta,
            args.out,
            length=args.length,
            scale=args.scale,
            ref_policy=args.ref_policy,
            edge=args.edge,
            n_shuffles=args.significance,
            seed=args.seed,
            info_prefix=args.info_prefix,
            batch_size=args.batch_size,
            device=args.device,
            verbose=_progress(args),
            command=shlex.join(["seqcnn", *args.argv]),
            region=args.region,
        )
    for message in dict.fromkeys(str(w.message) for w in caught):
        _say(f"seqcnn score-variants: warning: {message}")
    _say(f"seqcnn score-variants: {summary.line()} -> {args.out}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from seqcnn.runs import report_run

    out = report_run(
        args.run,
        args.out,
        motifs=args.motifs,
        variants=args.variants,
        maps=args.maps,
        title=args.title,
        top=args.top,
        evaluations=args.evaluations,
        facts=args.json,
    )
    if not args.quiet:
        also = f" and {args.json}" if args.json else ""
        _say(f"seqcnn report: {out} ({out.stat().st_size / 1e6:.1f} MB, self-contained){also}")
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    from seqcnn.runs import summary_run

    frame = summary_run(args.facts, args.out, args.table)
    if not args.quiet:
        also = f" and {args.table}" if args.table else ""
        _say(f"seqcnn summary: {len(frame)} experiments -> {args.out}{also}")
    return 0


def cmd_mutation_map(args: argparse.Namespace) -> int:
    from seqcnn.runs import mutation_map_run

    _set_threads(args)
    summary = mutation_map_run(
        args.run,
        args.out,
        sequence=args.sequence,
        fasta=args.fasta,
        region=args.region,
        vcf=args.vcf,
        weighting=args.weighting,
        target=args.target,
        ref_policy=args.ref_policy,
        max_maps=args.max_maps,
        row_length=args.row_length,
        batch_size=args.batch_size,
        device=args.device,
        verbose=_progress(args),
    )
    shown = ", ".join(str(p) for p in summary.figures[:3])
    more = f" (+{len(summary.figures) - 3} more)" if len(summary.figures) > 3 else ""
    _say(f"seqcnn mutation-map: {summary.line()} -> {shown}{more}, {summary.table}")
    return 0


def cmd_attribute(args: argparse.Namespace) -> int:
    from seqcnn.runs import attribute_run

    _set_threads(args)
    result = attribute_run(
        args.run,
        args.data,
        args.out,
        method=args.method,
        baselines=args.baselines,
        target=args.target,
        n_shuffles=args.n_shuffles,
        n_steps=args.n_steps,
        n_logos=args.logos,
        seed=args.seed,
        batch_size=args.batch_size,
        device=args.device,
        verbose=_progress(args),
        **_data_overrides(args),
    )
    delta = result["max_abs_delta"]
    delta = "" if delta is None else f", largest |convergence delta| {delta:.2e}"
    _say(
        f"seqcnn attribute: {result['method']} for {result['n']} sequences "
        f"({result['target']}) in {result['seconds']:.1f} s{delta} -> {args.out} "
        f"+ {len(result['logos'])} logos"
    )
    return 0


def cmd_motifs(args: argparse.Namespace) -> int:
    from seqcnn.runs import motifs_run

    threads = _set_threads(args)
    result = motifs_run(
        args.run,
        args.data,
        args.out,
        method=args.method,
        threshold=args.threshold,
        database=args.database,
        release=args.release,
        n_best=args.n_best,
        min_ic=args.min_ic,
        pseudocount=args.pseudocount,
        influence=args.influence,
        overview_rows=args.overview,
        logo_format=args.format,
        seed=args.seed,
        threads=threads,
        batch_size=args.batch_size,
        device=args.device,
        verbose=_progress(args),
        **_data_overrides(args),
    )
    top = "; ".join(
        f"{t['filter']} "
        + (f"{t['target']} {t['target_name']}" if isinstance(t["target"], str) else "no match")
        + (" *" if t["significant"] else "")
        for t in result["top"]
    )
    _say(
        f"seqcnn motifs: {result['n_filters']} filters from {result['n_sequences']} sequences, "
        f"{result['n_significant']} with a significant match, in {result['seconds']:.0f} s; "
        f"most influential: {top} (* significant) -> {args.out}"
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from seqcnn.demo import run_demo

    _set_threads(args)
    run_demo(args.out, force=args.force)
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "train": cmd_train,
    "evaluate": cmd_evaluate,
    "predict": cmd_predict,
    "merge-shards": cmd_merge_shards,
    "score-variants": cmd_score_variants,
    "mutation-map": cmd_mutation_map,
    "attribute": cmd_attribute,
    "motifs": cmd_motifs,
    "report": cmd_report,
    "summary": cmd_summary,
    "list-models": cmd_list_models,
    "demo": cmd_demo,
}


def _progress(args: argparse.Namespace) -> bool:
    """Progress bars only on a terminal and without ``--quiet`` (logs and pipes stay clean)."""
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``seqcnn`` command; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "train" and not (args.train or args.config or args.resume):
        parser.error("the following arguments are required: --train (or --config, --resume)")
    args.argv = list(sys.argv[1:] if argv is None else argv)  # for headers that record it
    import warnings

    from seqcnn.utils import steady_heap

    steady_heap()  # memory stays at what is in use over long loops (see its docstring)

    from seqcnn.exceptions import MissingDependencyError, SeqcnnError

    shown: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        text = " ".join(str(message).split())
        if text not in shown:  # one line per kind of oddity
            shown.add(text)
            print(f"seqcnn {args.command}: warning: {text}", file=sys.stderr, flush=True)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            for module in ("torch", "matplotlib", "captum", "numba", "sklearn"):
                warnings.filterwarnings("ignore", module=module)
            for category in (DeprecationWarning, FutureWarning, RuntimeWarning):
                warnings.filterwarnings("ignore", category=category)  # not the user's to fix
            warnings.showwarning = show
            return COMMANDS[args.command](args)
    except (SeqcnnError, MissingDependencyError, FileNotFoundError, PermissionError) as err:
        if args.debug:
            raise
        print(f"seqcnn {args.command}: error: {_one_line(err)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"seqcnn {args.command}: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        if args.debug:
            raise
        print(
            f"seqcnn {args.command}: error: out of memory; use smaller inputs or --batch-size",
            file=sys.stderr,
        )
        return 1
    except Exception as err:  # noqa: BLE001 (a bug of seqcnn: one line, the traceback on --debug)
        if args.debug:
            raise
        print(
            f"seqcnn {args.command}: error: internal error ({type(err).__name__}: "
            f"{_one_line(err)}); rerun with --debug for the traceback and please report it",
            file=sys.stderr,
        )
        return 1


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


if __name__ == "__main__":
    sys.exit(main())
