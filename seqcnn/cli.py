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
        example:
          seqcnn predict runs/ctcf --data sequences.fa -o scores.tsv
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
        "--train", required=True, metavar="FILE", help="training data (table, FASTA, BED, .npz)"
    )
    p.add_argument(
        "--valid", metavar="FILE", help="validation data (default: hold back --valid-fraction)"
    )
    p.add_argument("--test", metavar="FILE", help="test data, evaluated once with the best weights")
    p.add_argument("--out", "-o", required=True, metavar="RUN", help="run directory to write")
    p.add_argument("--force", action="store_true", help="overwrite an existing run directory")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in RUN")
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
    _threads(g)
    g.add_argument("--quiet", "-q", action="store_true", help="no progress output")

    # ------------------------------------------------------------------ evaluate / predict
    p = command("evaluate", "metrics of a trained run on labelled data")
    p.add_argument("run", metavar="RUN")
    p.add_argument("--data", required=True, metavar="FILE")
    p.add_argument("--out", "-o", metavar="DIR", help="output folder (default RUN/evaluate-<name>)")
    _data_options(p, training=False)
    _threads(p)

    p = command("predict", "score sequences, genome windows or images with a trained run")
    p.add_argument("run", metavar="RUN")
    p.add_argument("--data", required=True, metavar="FILE")
    p.add_argument("--out", "-o", required=True, metavar="OUT.tsv")
    p.add_argument("--batch-size", type=int, default=512)
    _data_options(p, training=False)
    _threads(p)

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
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")

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


def _load_yaml(path: str) -> dict[str, Any]:
    import yaml

    from seqcnn.exceptions import InputError

    if not Path(path).is_file():
        raise InputError("config file not found", path=path)
    try:
        loaded = yaml.safe_load(Path(path).read_text()) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise InputError(
            f"not valid YAML: {err}", path=path, line=mark.line + 1 if mark else None
        ) from None
    if not isinstance(loaded, dict):
        raise InputError("expected a mapping of option: value", path=path)
    return {k.replace("-", "_"): v for k, v in loaded.items()}


def cmd_train(args: argparse.Namespace) -> int:
    import dataclasses

    from seqcnn.exceptions import ConfigError
    from seqcnn.inputs import DataOptions
    from seqcnn.runs import train_run
    from seqcnn.train import TrainConfig

    file_opts = _load_yaml(args.config) if args.config else {}
    train_names = {f.name for f in dataclasses.fields(TrainConfig)}
    data_names = {f.name for f in dataclasses.fields(DataOptions)}
    other = {"model", "model_args", "train", "valid", "test"}
    unknown = set(file_opts) - train_names - data_names - other
    if unknown:
        valid = ", ".join(sorted(train_names | data_names | other))
        raise ConfigError(
            f"{args.config}: unknown option(s) {', '.join(sorted(unknown))}; valid: {valid}"
        )
    threads = _set_threads(args)
    train_opts = {k: v for k, v in file_opts.items() if k in train_names}
    train_opts.update(_given(args, train_names))
    train_opts["threads"] = threads
    if args.quiet:
        train_opts["verbose"] = False
    config = TrainConfig(**train_opts)
    data = _data_from_args(args, {k: v for k, v in file_opts.items() if k in data_names})
    model = args.model or file_opts.get("model", "deepbind")
    model_args = {**file_opts.get("model_args", {}), **(args.model_args or {})}
    metrics = train_run(
        args.train,
        args.out,
        data,
        config,
        model=model,
        model_args=model_args,
        valid=args.valid or file_opts.get("valid"),
        test=args.test or file_opts.get("test"),
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
    metrics = evaluate_run(args.run, args.data, args.out, **_data_overrides(args))
    out = args.out or Path(args.run) / f"evaluate-{Path(args.data).name.split('.')[0]}"
    _say(f"{args.data}: n {metrics['n']}  " + _summary(metrics))
    _say(f"written: {out}/metrics.json and plots")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from seqcnn.runs import predict_run

    _set_threads(args)
    frame = predict_run(
        args.run, args.data, args.out, batch_size=args.batch_size, **_data_overrides(args)
    )
    _say(f"scored {len(frame)} records: {args.out}")
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
            verbose=not args.quiet,
            command=shlex.join(["seqcnn", *args.argv]),
        )
    for message in dict.fromkeys(str(w.message) for w in caught):
        _say(f"seqcnn score-variants: warning: {message}")
    _say(f"seqcnn score-variants: {summary.line()} -> {args.out}")
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
    "score-variants": cmd_score_variants,
    "list-models": cmd_list_models,
    "demo": cmd_demo,
}


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``seqcnn`` command; returns the exit code."""
    args = _parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # for headers that record it
    from seqcnn.exceptions import MissingDependencyError, SeqcnnError

    try:
        return COMMANDS[args.command](args)
    except (SeqcnnError, MissingDependencyError, FileNotFoundError, PermissionError) as err:
        if args.debug:
            raise
        print(f"seqcnn {args.command}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"seqcnn {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
