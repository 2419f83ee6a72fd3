"""Run directories from files: the Python API behind ``seqcnn train``, ``evaluate`` and ``predict``.

Each function takes file names and options, reads the data with :mod:`seqcnn.io`, and reads or
writes a run directory (see :mod:`seqcnn.checkpoint`). The command line is a thin layer over
these functions.

Examples
--------
>>> metrics = train_run("train.tsv", "RUN", DataOptions(negatives="shuffle"))  # doctest: +SKIP
>>> scores = predict_run("RUN", "new.fa", "scores.tsv")  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import itertools
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from seqcnn import __version__, checkpoint, inputs
from seqcnn.datasets import Tensors, holdout_split, split_by_chrom
from seqcnn.exceptions import ConfigError, InputError
from seqcnn.inputs import (
    NEGATIVE_KINDS,
    DataOptions,
    ImageSet,
    RecordOddities,
    as_tensors,
    check_targets,
    class_imbalance_message,
    complete_eval_set,
    file_kind,
    held_back,
    parse_shard,
    read_blocks,
    read_examples,
    sequence_training_set,
)
from seqcnn.io import check_both_classes, iter_table
from seqcnn.metrics import SIGMOID_TASKS, compute_metrics, sigmoid
from seqcnn.models import create_model, get_model_spec, model_arguments
from seqcnn.predict import predict
from seqcnn.sequence import CompactOneHot, check_bytes, sequence_bytes
from seqcnn.train import TrainConfig, Trainer, is_main_process, resolve_device
from seqcnn.utils import atomic_write

__all__ = [
    "train_run",
    "evaluate_run",
    "predict_run",
    "merge_shards",
    "score_variants_run",
    "report_run",
    "summary_run",
    "mutation_map_run",
    "attribute_run",
]


# ---------------------------------------------------------------------------- train
def train_run(
    train: str | Path,
    out: str | Path,
    data: DataOptions | None = None,
    config: TrainConfig | None = None,
    model: str = "deepbind",
    model_args: dict[str, Any] | None = None,
    valid: str | Path | None = None,
    test: str | Path | None = None,
    force: bool = False,
    resume: bool = False,
) -> dict[str, dict[str, float]]:
    """Train a model on files and write a run directory; returns the metrics.

    Parameters
    ----------
    train, valid, test : str or pathlib.Path
        Input files (see :func:`file_kind`). Without ``valid``, a ``data.valid_fraction`` of
        the training examples is held back (for BED inputs: the ``valid_chroms``).
    out : str or pathlib.Path
        The run directory; an existing non-empty one needs ``force`` (or ``resume``).
    data : DataOptions
    config : TrainConfig
    model : str
        A registered model name (``seqcnn list-models``).
    model_args : dict
        Constructor arguments of the model (JSON values).

    Returns
    -------
    dict
        ``{"train": {...}, "valid": {...}, "test": {...}}``, as written to ``metrics.json``.
    """
    data = data or DataOptions()
    config = config or TrainConfig()
    model_args = dict(model_args or {})
    spec = get_model_spec(model)
    t_start = time.perf_counter()
    main = is_main_process()  # under torchrun only rank 0 writes
    run_dir = checkpoint.prepare_run_dir(out, force=force, resume=resume) if main else Path(out)
    negatives_file = None if data.negatives in NEGATIVE_KINDS else data.negatives

    train_set = read_examples(train, data, negatives_file)
    images = isinstance(train_set, ImageSet)
    if images != (spec.dim == 2):
        kind = "images" if images else "sequences"
        raise ConfigError(
            f"model {model!r} is a {spec.dim}D model but {train} holds {kind}; choose a "
            f"{'2' if images else '1'}D model (seqcnn list-models)"
        )
    rng = np.random.default_rng(config.seed)
    test_set = read_examples(test, data) if test is not None else None
    if test_set is None and data.test_fraction > 0:
        train_set, test_set = holdout_split(train_set, data.test_fraction, rng)
    if valid is not None:
        valid_set = read_examples(valid, data)
    elif file_kind(train) == "bed":
        held_test = data.test_chroms if test is None else []
        parts = split_by_chrom(train_set, data.valid_chroms, held_test)
        train_set, valid_set = parts.pop("train"), parts.pop("valid")
        test_set = parts.pop("test", None) if test is None else test_set
    elif data.valid_fraction > 0:
        train_set, valid_set = holdout_split(train_set, data.valid_fraction, rng)
    else:
        valid_set = None

    if images:
        task, targets = "multiclass", train_set.class_names
        train_data = Tensors(train_set.x, train_set.y)
        n_outputs = len(targets)
        input_desc = {"kind": "image", "shape": list(train_set.x.shape[1:])}
    else:
        train_data, task, targets = sequence_training_set(train_set, data, config.seed)
        n_outputs = len(targets)
        oddities = RecordOddities(int(train_data.x.shape[-1]))  # padded to the longest
        oddities.add_table(train_set)
        for message in oddities.messages(train):
            warnings.warn(message, stacklevel=2)
        if task in SIGMOID_TASKS:
            message = class_imbalance_message(train_data.y.numpy(), targets, train)
            if message:
                warnings.warn(message, stacklevel=2)
        input_desc = {
            "kind": "sequence",
            "length": int(train_data.x.shape[-1]),
            "alphabet": "ACGT",
            "ambiguous": "zero",
        }
    eval_sets = {"valid": valid_set, "test": test_set}
    for name, subset in eval_sets.items():
        if subset is not None and not images:
            eval_sets[name] = complete_eval_set(subset, data, task, config.seed + 1)

    if images:
        model_args = {**_image_shape_args(spec.builder, train_set.x.shape[1:]), **model_args}
    # The training table is in train_data now (as bytes): its strings are freed before training.
    del train_set
    model_args = model_arguments(model, **{"n_outputs": n_outputs, **model_args})
    torch.manual_seed(config.seed)
    net = create_model(model, **model_args)
    run_config = {
        "seqcnn_version": __version__,
        "model": {"name": model, "args": model_args},
        "task": task,
        "targets": targets,
        "input": input_desc,
        "data": {
            "train": str(train),
            "valid": str(valid) if valid else held_back(train, data),
            "test": str(test) if test else held_back(train, data, "test"),
            **{k: v for k, v in dataclasses.asdict(data).items()},
        },
        "training": config.to_dict(),
    }
    if main:
        if resume and (run_dir / checkpoint.CONFIG).is_file():
            recorded = checkpoint.read_config(run_dir)
            checkpoint.check_resume_options(recorded, run_config, run_dir / checkpoint.CONFIG)
            run_config["resumed"] = int(recorded.get("resumed", 0)) + 1
        elif resume and checkpoint.has_training_state(run_dir):
            raise InputError(
                "has a checkpoint but no config.json to check the options against; start a "
                "new run (--force)",
                path=run_dir,
            )
        checkpoint.write_config(run_config, run_dir)
    valid_data = as_tensors(eval_sets["valid"]) if eval_sets["valid"] is not None else None
    trainer = Trainer(net, config, task=task, target_names=targets)
    trainer.fit(train_data, valid_data, run_dir=run_dir, resume=resume)

    metrics: dict[str, dict[str, float]] = {}
    fixed_train = train_data
    if hasattr(train_data, "fixed"):
        fixed_train = train_data.fixed()
    metrics["train"] = trainer.evaluate(fixed_train)
    # The training examples are not needed past this point: freed, the evaluation and the
    # plots (matplotlib and its figures) do not add their memory on top of them.
    del fixed_train, train_data
    plotted = None  # the last evaluation set's labels and scores, for the plots
    for name, subset in eval_sets.items():
        if subset is not None:
            tensors = as_tensors(subset)
            metrics[name], scores = trainer.evaluate_scores(tensors)
            plotted = (name, tensors.y.numpy(), scores.numpy())
            given = valid if name == "valid" else test
            metrics[name]["file"] = str(given) if given else held_back(train, data, name)
            del tensors
    metrics["best_epoch"] = trainer.best_epoch_
    metrics["seconds"] = round(time.perf_counter() - t_start, 1)
    if main:
        checkpoint.write_json(metrics, run_dir / checkpoint.METRICS)
        run_config["best_epoch"] = trainer.best_epoch_
        checkpoint.write_config(run_config, run_dir)
        _plots(run_dir, trainer, plotted, task, targets)
    return metrics


def _image_shape_args(builder, shape: tuple[int, ...]) -> dict[str, Any]:
    """``in_channels`` and ``input_size`` of images ``(C, H, W)``, for builders that take them."""
    import inspect

    params = inspect.signature(builder).parameters
    takes_all = any(p.kind is p.VAR_KEYWORD for p in params.values())
    found = {"in_channels": int(shape[0]), "input_size": int(shape[1])}
    if shape[1] != shape[2]:
        found["input_size"] = [int(shape[1]), int(shape[2])]
    return {k: v for k, v in found.items() if k in params or takes_all}


def _plots(
    run_dir: Path, trainer: Trainer, evaluated: tuple | None, task: str, targets: list[str]
) -> None:
    """The training curve, and ROC/PR (or confusion) plots of ``evaluated`` = ``(name, y,
    scores)``, the last evaluation set (test if there is one, else valid)."""
    from seqcnn import plot

    plot.plot_history(trainer.history_, run_dir / "training_curve.png")
    if evaluated is None:
        return
    name, y, scores = evaluated
    _evaluation_plots(run_dir, y, scores, task, targets, f" ({name})")


def _evaluation_plots(
    out_dir: Path, y, scores, task: str, targets: list[str], suffix: str
) -> list[Path]:
    from seqcnn import plot

    if task in SIGMOID_TASKS:
        return [
            plot.plot_roc(y, scores, out_dir / "roc.png", targets, title=f"ROC{suffix}"),
            plot.plot_pr(y, scores, out_dir / "pr.png", targets, title=f"Precision-recall{suffix}"),
        ]
    if task == "multiclass":
        return [plot.plot_confusion(y, scores.argmax(1), out_dir / "confusion.png", targets)]
    return []


# ---------------------------------------------------------------------------- use a run
def evaluate_run(
    run_dir: str | Path,
    data_path: str | Path,
    out_dir: str | Path | None = None,
    data: DataOptions | None = None,
    batch_size: int = 512,
    device: str = "auto",
    **overrides: Any,
) -> dict[str, float]:
    """Metrics of a trained run on labelled data; writes ``metrics.json`` and ROC/PR plots.

    ``out_dir`` defaults to ``RUN/evaluate-<file stem>``. The data are read as in training
    (:meth:`DataOptions.for_run`), with ``overrides`` (e.g. ``genome=``, ``negatives=``),
    unless ``data`` gives every option.
    """
    model, config = checkpoint.load_run(run_dir)
    data = data or DataOptions.for_run(config, **overrides)
    task, targets = config["task"], config["targets"]
    dev = resolve_device(device)
    given = config.get("input", {})
    oddities = RecordOddities(given.get("length", 0), given.get("ambiguous", "zero"))
    labels, scores = [], []
    for piece in _evaluation_pieces(data_path, data):
        if isinstance(piece, ImageSet):
            tensors = as_tensors(piece)
        else:
            oddities.add_table(piece)
            piece = complete_eval_set(piece, data, task, seed=1)
            check_targets(piece, targets, data_path)
            tensors = as_tensors(piece)
        labels.append(tensors.y.numpy())
        scores.append(predict(model, tensors.x, batch_size=batch_size, device=dev).numpy())
        del piece, tensors
    for message in oddities.messages(data_path):
        warnings.warn(message, stacklevel=2)
    y, scores = np.concatenate(labels), np.concatenate(scores)
    if task in SIGMOID_TASKS:
        check_both_classes(y, path=data_path, target_names=targets)
    metrics = compute_metrics(y, scores, task, targets)
    metrics = {"file": str(data_path), "n": len(y), **metrics}
    stem = Path(str(data_path)).name.split(".")[0]
    out_dir = Path(out_dir) if out_dir else Path(run_dir) / f"evaluate-{stem}"
    out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint.write_json(metrics, out_dir / checkpoint.METRICS)
    _evaluation_plots(out_dir, y, scores, task, targets, f" ({stem})")
    return metrics


def _evaluation_pieces(data_path: str | Path, data: DataOptions) -> Iterator[Any]:
    """The labelled examples to evaluate on, in pieces of :data:`SHARD_BLOCK` rows for tables
    (memory then grows only by the scores); whole for other inputs, and when shuffled
    negatives of all-positive data must be drawn (the same draws as before: from the whole
    set)."""
    if file_kind(data_path) == "table" and data.negatives != "shuffle":
        yield from iter_table(
            data_path, data.sequence_column, data.label_columns, rows=inputs.SHARD_BLOCK
        )
        return
    negatives_file = None if data.negatives in NEGATIVE_KINDS else data.negatives
    yield read_examples(data_path, data, negatives_file)


def _score_block(block, model, config, batch_size, device, amp) -> tuple[np.ndarray, np.ndarray]:
    """``(scores (n, T) float32, NaN for skipped records; status (n,))`` of one block."""
    n = len(block["ids"])
    ambiguous = config["input"].get("ambiguous", "zero")
    if "images" in block:
        scores = predict(model, block["images"], batch_size, device, amp=amp).numpy()
        return scores, np.full(n, "ok")
    scores = np.full((n, len(config["targets"])), np.nan, dtype=np.float32)
    if "windows" in block:
        status = np.asarray(block["status"])
        ok = np.flatnonzero(status == "ok")
        if ok.size:
            win = block["windows"]
            start = win["start"].to_numpy()[ok]
            width = int(win["end"].iloc[0] - win["start"].iloc[0])
            raw = block["genome"].window_codes(win["chrom"].to_numpy()[ok], start, width)
            check_bytes(raw, names=[block["ids"][i] for i in ok])
            x = CompactOneHot(raw, ambiguous)
            scores[ok] = predict(model, x, batch_size, device, amp=amp).numpy()
        return scores, status
    seqs, ids = block["sequences"], block["ids"]
    lengths = np.fromiter(map(len, seqs), dtype=np.int64, count=n)
    # each record is padded to the model's input length (or kept, if longer), so that its
    # score never depends on the other records of its block
    input_length = int(config["input"].get("length") or 0)
    target = np.maximum(lengths, input_length)
    for width in np.unique(target).tolist():
        idx = np.flatnonzero(target == width)
        if width > input_length and not _takes_length(model, width):
            i = int(idx[0])
            raise InputError(
                f"{lengths[i]} bp is longer than the {input_length} bp this model takes (its "
                "input length is fixed); cut the sequences to that length first",
                record=str(ids[i]),
            )
        raw = sequence_bytes([seqs[i] for i in idx], length=width, names=[ids[i] for i in idx])
        x = CompactOneHot(raw, ambiguous)
        scores[idx] = predict(model, x, batch_size, device, amp=amp).numpy()
    return scores, np.full(n, "ok")


def _takes_length(model, width: int) -> bool:
    """Whether ``model`` scores inputs of ``width`` (remembered per model and width)."""
    from seqcnn.variants import accepts_length

    cache = model.__dict__.setdefault("_seqcnn_lengths", {})
    if width not in cache:
        cache[width] = accepts_length(model, width)
    return cache[width]


def _prediction_frame(block, scores, status, task: str, targets: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame({"id": block["ids"]})
    if "windows" in block:
        for c in ("chrom", "start", "end"):
            frame[c] = block["windows"][c].to_numpy()
    if task == "multiclass":
        probs = torch.softmax(torch.from_numpy(scores), 1).numpy()
        frame["predicted"] = [targets[i] for i in probs.argmax(1)]
        for j, name in enumerate(targets):
            frame[f"p_{name}"] = probs[:, j]
    else:
        with np.errstate(invalid="ignore"):  # skipped records: NaN stays NaN (empty cells)
            values = sigmoid(scores) if task in SIGMOID_TASKS else scores
        for j, name in enumerate(targets):
            frame[name] = values[:, j]
    if "windows" in block:
        frame["status"] = status
    return frame


def predict_run(
    run_dir: str | Path,
    data_path: str | Path,
    out: str | Path,
    data: DataOptions | None = None,
    batch_size: int = 512,
    device: str = "auto",
    shard: str | tuple[int, int] | None = None,
    amp: bool = False,
    strict: bool = False,
    stride: int | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """Score sequences (table, FASTA, BED windows) or images with a run; writes a TSV.

    Columns: ``id`` then one column per target: the probability for binary and multilabel
    tasks, the prediction for regression; for multiclass tasks ``predicted`` and one
    probability column per class. BED inputs add ``chrom start end`` (the window scored)
    and a ``status`` column: ``ok``, or why the window was skipped (``unknown_contig``,
    ``out_of_bounds``: its scores are empty). Data options as in :func:`evaluate_run`.

    The input is read, scored and written in blocks of :data:`seqcnn.inputs.SHARD_BLOCK`
    records, so that memory does not grow with the number of records (FASTA, table and BED
    inputs are streamed; labelled FASTA and images are read whole, as text or arrays, then
    scored block by block).
    Sequences shorter than the model's input length are padded to it with all-zero columns.

    Parameters
    ----------
    batch_size : int
    device : {"auto", "cpu", "cuda", "cuda:N"}
    shard : str or (int, int), optional
        ``"i/n"``: score only this process's share of the blocks (i-1, i-1+n, ...);
        :func:`merge_shards` of the n outputs equals the unsharded output byte for byte.
    amp : bool
        bf16 autocast on CUDA (see :func:`seqcnn.predict.predict`).
    strict : bool
        Refuse the file at the first BED record that would be skipped (unknown contig, window
        off the contig, summit outside its peak, zero-length interval) instead.
    stride : int, optional
        BED inputs: scan each interval with windows of the run's length every ``stride`` bp
        (:func:`seqcnn.io.bed.iter_tiles`; ids ``<name>:<k>``) instead of one window at its
        summit.

    Returns
    -------
    dict
        ``n`` (rows written), ``skipped`` (records per reason), ``shard`` (``"i/n"``).
    """
    model, config = checkpoint.load_run(run_dir)
    options = data or DataOptions.for_run(config, **overrides)
    options = dataclasses.replace(options, negatives="none")
    index, n_shards = shard if isinstance(shard, tuple) else parse_shard(shard)
    dev = resolve_device(device)
    task, targets = config["task"], config["targets"]
    written, skipped, header = 0, {}, True
    oddities = RecordOddities(
        config.get("input", {}).get("length", 0), config.get("input", {}).get("ambiguous", "zero")
    )
    with atomic_write(out, newline="") as fh:
        first = None
        blocks = read_blocks(Path(data_path), options, config, strict, stride)
        for k, block in enumerate(blocks):
            first = block if first is None else first
            if k % n_shards != index:
                continue
            if "sequences" in block:
                oddities.add(block["ids"], block["sequences"])
            try:
                scores, status = _score_block(block, model, config, batch_size, dev, amp)
            except InputError as err:
                if err.path is not None:
                    raise
                raise InputError(err.message, data_path, err.line, err.record) from None
            frame = _prediction_frame(block, scores, status, task, targets)
            frame.to_csv(fh, sep="\t", index=False, header=header, float_format="%.6g")
            header = False
            written += len(frame)
            reasons, counts = np.unique(status[status != "ok"], return_counts=True)
            for reason, count in zip(reasons.tolist(), counts.tolist(), strict=True):
                skipped[reason] = skipped.get(reason, 0) + count
        if header and first is not None:  # a shard without blocks still writes the header
            empty = {key: v[:0] if key != "genome" else v for key, v in first.items()}
            none = np.zeros((0, len(targets)), np.float32)
            status = empty.get("status", np.zeros(0, str))
            frame = _prediction_frame(empty, none, status, task, targets)
            frame.to_csv(fh, sep="\t", index=False, header=True)
    for message in oddities.messages(data_path):
        warnings.warn(message, stacklevel=2)
    return {"n": written, "skipped": skipped, "shard": f"{index + 1}/{n_shards}"}


def merge_shards(paths: list[str | Path], out: str | Path) -> int:
    """Join the outputs of ``predict_run(..., shard="i/n")``, given in shard order (1 .. n).

    The result equals the unsharded output byte for byte. Returns the rows written.

    Raises
    ------
    InputError
        Headers that differ, or shards whose lengths do not fit one run of n shards (one
        missing, repeated, out of order or truncated).
    """
    if not paths:
        raise ConfigError("merge needs the shard files, in shard order")
    files = []
    try:
        for p in paths:
            try:
                files.append(open(p, newline=""))
            except OSError as err:
                raise InputError(f"cannot read the shard: {err}", path=p) from err
        headers = [f.readline() for f in files]
        for p, h in zip(paths, headers, strict=True):
            if h != headers[0] or not h:
                raise InputError(
                    "its header differs from the first shard's; shards of one run share it",
                    path=p,
                )
        rows = 0
        with atomic_write(out, newline="") as dst:
            dst.write(headers[0])
            k = 0
            while True:
                lines = list(itertools.islice(files[k % len(files)], inputs.SHARD_BLOCK))
                dst.writelines(lines)
                rows += len(lines)
                if len(lines) < inputs.SHARD_BLOCK:
                    break
                k += 1
            for i, f in enumerate(files):
                if f.readline():
                    raise InputError(
                        f"has rows beyond where shard {k % len(files) + 1} of {len(files)} "
                        "ended; give every shard of one run, in order (1/n first)",
                        path=paths[i],
                    )
    finally:
        for f in files:
            f.close()
    return rows


# ---------------------------------------------------------------------------- score-variants
def score_variants_run(
    run_dir: str | Path,
    vcf: str | Path,
    fasta: str | Path,
    out: str | Path,
    length: int | None = None,
    scale: str = "logit",
    ref_policy: str = "skip",
    edge: str = "pad",
    n_shuffles: int = 0,
    seed: int = 0,
    info_prefix: str = "SEQCNN",
    batch_size: int = 512,
    device: str = "auto",
    verbose: bool = False,
    command: str | None = None,
    region: str | None = None,
):
    """Score every ALT allele of a VCF with a run; writes a TSV or an annotated VCF (by suffix).

    The window length is the run's input length (``config.json``) unless ``length`` is given,
    which only models that accept any length (global pooling, as DeepBind) allow. See
    :mod:`seqcnn.variants` for the window rule, the statuses and the significance null.
    ``region`` (``chrom[:start-end]``, 1-based inclusive) reads only that part of a bgzipped,
    tabix-indexed VCF.

    Returns
    -------
    seqcnn.variants.VariantSummary
        Records, ALT alleles, scored, skipped by reason, flags, warnings.
    """
    from seqcnn.io.vcf import VcfReader
    from seqcnn.train import resolve_device
    from seqcnn.variants import VariantScorer, accepts_length, write_variant_scores

    model, config = checkpoint.load_run(run_dir)
    described = config.get("input", {})
    if described.get("kind", "sequence") != "sequence" or "length" not in described:
        raise ConfigError(
            f"score-variants needs a DNA sequence model; {run_dir} was trained on "
            f"{described.get('kind', 'unknown')} inputs"
        )
    trained = int(described["length"])
    targets = list(config["targets"])
    if length is not None and length != trained:
        if not accepts_length(model, length, len(targets)):
            raise ConfigError(
                f"--length {length}: the model of {run_dir} ({config['model']['name']}) only "
                f"takes windows of its training length {trained}; --length works for models "
                "with global pooling (deepbind), or leave it out"
            )
    model = model.to(resolve_device(device))
    scorer = VariantScorer(
        model,
        fasta,
        length or trained,
        targets=targets,
        task=config["task"],
        scale=scale,
        ref_policy=ref_policy,
        edge=edge,
        n_shuffles=n_shuffles,
        seed=seed,
        batch_size=batch_size,
        verbose=verbose,
    )
    header = [f"seqcnnRun={Path(run_dir).resolve()}", f"seqcnnWindow={length or trained}"]
    if region is not None:
        header.append(f"seqcnnRegion={region}")
    reader = VcfReader(vcf, region=region)
    return write_variant_scores(
        scorer, reader, out, command=command, info_prefix=info_prefix, header=header
    )


# ---------------------------------------------------------------------------- report
def report_run(
    run_dir: str | Path,
    out: str | Path | None = None,
    motifs: str | Path | None = None,
    variants: list[str | Path] | None = None,
    maps: list[str | Path] | None = None,
    title: str | None = None,
    top: int = 15,
    evaluations: list[str | Path] | None = None,
    facts: str | Path | None = None,
) -> Path:
    """Write one self-contained HTML page about a run (every picture embedded); returns its path.

    ``out`` defaults to ``RUN/report.html``. Without ``motifs``, ``variants`` or ``maps`` the
    conventional places inside the run are used (``RUN/motifs/``, ``RUN/variants.tsv``,
    ``RUN/mutation_maps/``; see :mod:`seqcnn.report`). ``facts``: also write the key numbers
    as JSON (what :func:`summary_run` reads), with the page's path relative to it.
    """
    import json
    import os

    from seqcnn.report import find_report_inputs, render_report, report_facts

    inputs = find_report_inputs(
        run_dir, motifs=motifs, variants=variants, maps=maps, evaluations=evaluations
    )
    page = render_report(inputs, title=title, top=top)
    out = Path(out) if out is not None else Path(run_dir) / "report.html"
    if facts is not None:
        found = report_facts(inputs, title=title)
        found["report"] = os.path.relpath(out, Path(facts).parent)
        with atomic_write(facts) as fh:
            json.dump(found, fh, indent=1)
            fh.write("\n")
    with atomic_write(out) as fh:
        fh.write(page)
    return out


def summary_run(
    facts: list[str | Path], out: str | Path, table: str | Path | None = None
) -> pd.DataFrame:
    """One HTML page (and optionally a TSV) across experiments from ``report --json`` files.

    Each experiment's name links to its report, by a path relative to ``out``. Returns the
    table (:func:`seqcnn.report.summary_table`).
    """
    import json
    import os

    from seqcnn.exceptions import InputError
    from seqcnn.report import render_summary, summary_table

    loaded, links = [], []
    for path in facts:
        path = Path(path)
        try:
            found = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise InputError(f"not a `seqcnn report --json` file: {err}", path=path) from None
        if not isinstance(found, dict) or "name" not in found:
            raise InputError("not a `seqcnn report --json` file (no name)", path=path)
        loaded.append(found)
        page = found.get("report")
        links.append(os.path.relpath(path.parent / page, Path(out).parent) if page else None)
    if not loaded:
        raise InputError("no report facts given (seqcnn report --json FILE)")
    frame = summary_table(loaded)
    with atomic_write(out) as fh:
        fh.write(render_summary(loaded, links))
    if table is not None:
        with atomic_write(table, newline="") as fh:
            frame.to_csv(fh, sep="\t", index=False, float_format="%.6g")
    return frame


# ---------------------------------------------------------------------------- mutation-map
@dataclasses.dataclass
class MutationMapSummary:
    """What :func:`mutation_map_run` did: the maps drawn and the alleles not drawn, by reason."""

    figures: list[Path] = dataclasses.field(default_factory=list)
    table: Path | None = None
    alleles: int = 0
    skipped: dict[str, int] = dataclasses.field(default_factory=dict)
    seconds: float = 0.0

    def line(self) -> str:
        text = f"{len(self.figures)} mutation map(s)"
        if self.alleles:
            skipped = ", ".join(f"{k} {v}" for k, v in sorted(self.skipped.items())) or "none"
            text += f" for {self.alleles} ALT alleles ({skipped} not drawn)"
        return text + f" in {self.seconds:.1f} s"


def _sequence_model(run_dir: str | Path, device: str, verb: str):
    """Model (on ``device``, eval mode), config, input length and targets of a sequence run."""
    from seqcnn.train import resolve_device

    model, config = checkpoint.load_run(run_dir)
    described = config.get("input", {})
    if described.get("kind", "sequence") != "sequence" or "length" not in described:
        raise ConfigError(
            f"{verb} needs a DNA sequence model; {run_dir} was trained on "
            f"{described.get('kind', 'unknown')} inputs"
        )
    model = model.to(resolve_device(device)).eval()
    return model, config, int(described["length"]), list(config["targets"])


def _target_index(targets: list[str], target: str | int | None) -> int:
    if target is None:
        return 0
    if isinstance(target, int) or str(target).lstrip("-").isdigit():
        i = int(target)
        if not 0 <= i < len(targets):
            raise ConfigError(f"--target {target}: the run has {len(targets)} target(s)")
        return i
    if target not in targets:
        raise ConfigError(f"--target {target!r}: choose one of {', '.join(targets)}")
    return targets.index(target)


def _check_window_length(model, length: int, trained: int, n_targets: int, run_dir, what: str):
    from seqcnn.variants import accepts_length

    if length != trained and not accepts_length(model, length, n_targets):
        raise ConfigError(
            f"{what} is {length} bp, but the model of {run_dir} only takes its training length "
            f"{trained} bp; give a {trained}-bp sequence (or region), or use a model with global "
            "pooling (deepbind), which takes any length"
        )


def _map_paths(out: Path, n: int) -> list[Path]:
    """``OUT.png`` for one map; ``OUT_1.png``, ``OUT_2.png``, ... for several."""
    if n == 1:
        return [out]
    return [out.with_name(f"{out.stem}_{i + 1}{out.suffix}") for i in range(n)]


def mutation_map_run(
    run_dir: str | Path,
    out: str | Path,
    sequence: str | None = None,
    fasta: str | Path | None = None,
    region: str | None = None,
    vcf: str | Path | None = None,
    weighting: str | None = None,
    target: str | int | None = None,
    ref_policy: str = "skip",
    max_maps: int = 20,
    row_length: int = 100,
    batch_size: int = 256,
    device: str = "auto",
    verbose: bool = False,
) -> MutationMapSummary:
    """DeepBind mutation map(s) of a sequence, a genome region or the variants of a VCF.

    Exactly one input: ``sequence``; ``fasta`` + ``region`` (``chrom:start-end``, 1-based
    inclusive, as samtools); or ``vcf`` + ``fasta``, one map per ALT allele of the REF window,
    placed as :func:`seqcnn.variants.variant_window` places it for ``score-variants`` (first
    REF base at index ``L // 2``), with the variant boxed. Writes ``out`` (``.png``, ``.svg``,
    ``.pdf``; ``OUT_1.png``, ``OUT_2.png``, ... for several alleles) and ``OUT.tsv`` beside it
    with every value (see :func:`seqcnn.attribution.mutation_map_table`).

    Parameters
    ----------
    weighting : {"deepbind", "delta"}, optional
        Default ``deepbind`` for binary and multilabel runs, ``delta`` (the only one that
        applies) for regression.
    target : str or int, optional
        Target name or index (default: the first).
    max_maps : int
        At most this many maps from a VCF; further alleles are counted as ``max_maps``.

    Returns
    -------
    MutationMapSummary
    """
    from seqcnn.attribution import ism_outputs, mutation_map_table
    from seqcnn.io.bed import parse_region
    from seqcnn.io.genome import Genome
    from seqcnn.plot.common import figure_format
    from seqcnn.plot.mutation_map import plot_mutation_map
    from seqcnn.sequence import check_sequences, one_hot_encode

    begin = time.perf_counter()
    given = [
        name
        for name, v in (("--sequence", sequence), ("--region", region), ("--vcf", vcf))
        if v is not None
    ]
    if len(given) != 1:
        raise ConfigError(
            "give exactly one of --sequence S, --fasta G --region chr:start-end, or "
            f"--vcf V --fasta G (got {', '.join(given) or 'none'})"
        )
    if (region is not None or vcf is not None) and fasta is None:
        raise ConfigError(f"{given[0]} needs the reference genome: add --fasta GENOME.fa")
    out = Path(out)
    figure_format(out)  # a bad suffix fails before any work
    model, config, trained, targets = _sequence_model(run_dir, device, "mutation-map")
    t = _target_index(targets, target)
    task = config["task"]
    if weighting is None:
        weighting = "deepbind" if task in SIGMOID_TASKS else "delta"
    if weighting == "deepbind" and task not in SIGMOID_TASKS:
        raise ConfigError(
            f"--weighting deepbind uses probabilities; the {task} run {run_dir} has none: "
            "use --weighting delta"
        )
    labels = {"deepbind": "DeepBind-weighted change", "delta": "alt - ref (logit)"}
    label = labels.get(weighting, weighting) if task in SIGMOID_TASKS else "alt - ref"
    formula = {"deepbind": "(p_mut - p_wt) * max(0, p_wt, p_mut), p = sigmoid probability"}
    summary = MutationMapSummary()
    # (sequence, first position, chrom, title, variant span, extra columns)
    jobs: list[tuple[str, int, str | None, str, tuple[int, int] | None, dict]] = []
    if sequence is not None:
        seq = "".join(str(sequence).split()).upper()
        check_sequences([seq], names=["--sequence"])
        _check_window_length(model, len(seq), trained, len(targets), run_dir, "--sequence")
        jobs.append((seq, 1, None, f"sequence ({len(seq)} bp)", None, {}))
    elif region is not None:
        chrom, start, end = parse_region(region)
        genome = Genome(fasta)
        if chrom not in genome:
            from seqcnn.io.vcf import ContigMatcher

            alias = ContigMatcher(genome.keys())(chrom)
            if alias is None:
                raise ConfigError(
                    f"--region {region}: contig {chrom!r} is not in {fasta} "
                    f"(it has {', '.join(list(genome.keys())[:5])}...)"
                )
            chrom = alias
        size = genome.chrom_sizes[chrom]
        if end > size:
            raise ConfigError(f"--region {region}: {chrom} has only {size:,} bases")
        seq = genome.fetch(chrom, start, end).upper()
        _check_window_length(model, len(seq), trained, len(targets), run_dir, f"--region {region}")
        jobs.append((seq, start + 1, chrom, f"{chrom}:{start + 1:,}-{end:,}", None, {}))
    else:
        from seqcnn.io.vcf import ContigMatcher, VcfReader
        from seqcnn.variants import variant_window

        genome = Genome(fasta)
        contigs = ContigMatcher(genome.keys())
        reader = VcfReader(vcf)
        try:
            for allele in reader.alleles():
                summary.alleles += 1
                w = variant_window(allele, genome, trained, contigs, ref_policy, path=vcf)
                if w.status != "ok":
                    summary.skipped[w.status] = summary.skipped.get(w.status, 0) + 1
                    continue
                if len(jobs) >= max_maps:
                    summary.skipped["max_maps"] = summary.skipped.get("max_maps", 0) + 1
                    continue
                c = len(w.left)
                span = (c, c + max(1, len(w.ref)))
                chrom = contigs(allele.chrom)
                extra = {"variant": allele.name, "variant_id": allele.id}
                name = allele.id if allele.id != "." else allele.name
                extra["_alt_seq"] = w.alt_seq
                jobs.append(
                    (
                        w.ref_seq,
                        w.start + 1,
                        chrom,
                        f"{name} {allele.ref}>{allele.alt}",
                        span,
                        extra,
                    )
                )
        finally:
            reader.close()
    paths = _map_paths(out, len(jobs))
    tables = []
    for (seq, first, chrom, title, span, extra), path in zip(jobs, paths, strict=True):
        x = one_hot_encode([seq])
        result = ism_outputs(model, x, batch_size=batch_size, verbose=verbose)
        ref_logit = float(result.reference[0, t])
        mutated = result.mutated[0, t].numpy()
        table = mutation_map_table(seq, ref_logit, mutated, weighting, first, chrom)
        alt_seq = extra.pop("_alt_seq", None)
        if alt_seq is not None:
            alt_logit = float(predict(model, one_hot_encode([alt_seq]))[0, t])
            if task in SIGMOID_TASKS:
                p0, p1 = sigmoid(np.array([ref_logit, alt_logit]))
                title += f": alt - ref {alt_logit - ref_logit:+.3f} logit (p {p0:.3f} -> {p1:.3f})"
            else:
                title += f": alt - ref {alt_logit - ref_logit:+.3f}"
        for key, value in reversed(list(extra.items())):
            table.insert(0, key, value)
        table.insert(0, "map", path.name)
        tables.append(table)
        scores = table["score"].to_numpy().reshape(len(seq), 4).T
        plot_mutation_map(
            scores,
            seq,
            path,
            title=f"{Path(run_dir).name} {targets[t]}: {title}",
            variant=span,
            first_position=first,
            score_label=label,
            row_length=row_length,
        )
        summary.figures.append(path)
    table_path = out.with_suffix(".tsv")
    frame = pd.concat(tables) if tables else pd.DataFrame(columns=["map", "pos", "ref", "alt"])
    with atomic_write(table_path, newline="") as fh:
        fh.write(f"# seqcnn mutation map; score = {formula.get(weighting, label)}; pos 1-based\n")
        frame.to_csv(fh, sep="\t", index=False, float_format="%.6g")
    summary.table = table_path
    summary.seconds = time.perf_counter() - begin
    return summary


# ---------------------------------------------------------------------------- attribute
def _baseline_name(method: str, baselines: str | None) -> str:
    if method in ("ism", "saliency", "input-x-gradient"):
        return ""
    if baselines is not None:
        return baselines
    return "shuffle" if method == "deepliftshap" else "uniform"


def attribute_run(
    run_dir: str | Path,
    data_path: str | Path,
    out: str | Path,
    method: str = "deeplift",
    baselines: str | None = None,
    target: str | int | None = None,
    n_shuffles: int = 20,
    n_steps: int = 50,
    n_logos: int = 5,
    seed: int = 0,
    batch_size: int = 64,
    device: str = "auto",
    verbose: bool = False,
    **overrides: Any,
) -> dict[str, Any]:
    """Attributions of a run's output to every base of the sequences in ``data_path``.

    Writes ``out`` (``.npz``): ``attributions`` ``(N, 4, L)`` float32, ``onehot`` ``(N, 4, L)``
    uint8, ``ids``, ``delta`` ``(N,)`` (completeness error, for DeepLIFT and integrated
    gradients), ``method``, ``target``, ``baselines``; and, for the first ``n_logos``
    sequences, ``OUT_<i>_<id>.png`` beside it: a logo of each position's attribution on its
    observed base (the sum over the four channels, which is what sums to the output
    difference; for saliency, the gradient of the observed base). Data options as in
    :func:`predict_run`.

    Returns
    -------
    dict
        ``n``, ``method``, ``target``, ``max_abs_delta``, ``logos`` (paths), ``seconds``.
    """
    import re

    from seqcnn.attribution import attribute
    from seqcnn.plot.logo import plot_logo
    from seqcnn.utils import atomic_output_path

    begin = time.perf_counter()
    out = Path(out)
    if out.suffix != ".npz":
        raise ConfigError(f"-o {out}: attributions are written as .npz (e.g. -o attr.npz)")
    model, config, _, targets = _sequence_model(run_dir, device, "attribute")
    t = _target_index(targets, target)
    options = dataclasses.replace(DataOptions.for_run(config, **overrides), negatives="none")
    subset = read_examples(data_path, options)
    x, ids = subset.encode(), list(subset.ids)
    result = attribute(
        model,
        x,
        method=method,
        baselines=baselines,
        target=t,
        n_shuffles=n_shuffles,
        n_steps=n_steps,
        batch_size=batch_size,
        seed=seed,
        verbose=verbose,
    )
    values = result.values.numpy()
    onehot = x.numpy()
    arrays = {
        "attributions": values.astype(np.float32),
        "onehot": (onehot > 0).astype(np.uint8),
        "ids": np.array(ids, dtype=str),
        "method": np.array(method),
        "target": np.array(targets[t]),
        "baselines": np.array(_baseline_name(method, baselines)),
    }
    if result.delta is not None:
        arrays["delta"] = result.delta.numpy()
    with atomic_output_path(out) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    logos = []
    per_position = values if method == "saliency" else values.sum(axis=1, keepdims=True)
    for i in range(min(n_logos, len(ids))):
        heights = onehot[i] * per_position[i]
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", ids[i])[:60]
        path = out.with_name(f"{out.stem}_{i + 1}_{safe}.png")
        length = heights.shape[1]
        rows = max(1, round(length / 100))  # 101 bp: one row
        plot_logo(
            heights,
            path,
            title=f"{ids[i]}: {method}, {targets[t]}",
            ylabel="attribution",
            row_length=-(-length // rows),
        )
        logos.append(path)
    return {
        "n": len(ids),
        "method": method,
        "target": targets[t],
        "max_abs_delta": None if result.delta is None else float(result.delta.abs().max()),
        "logos": logos,
        "seconds": time.perf_counter() - begin,
    }


# ---------------------------------------------------------------------------- motifs
def motifs_run(
    run_dir: str | Path,
    data_path: str | Path,
    out_dir: str | Path,
    method: str = "deepbind",
    threshold: float = 0.5,
    database: str | Path | None = None,
    release: str = "JASPAR2024",
    n_best: int = 3,
    min_ic: float = 0.5,
    pseudocount: float = 1.0,
    influence: bool = True,
    overview_rows: int = 12,
    logo_format: str = "png",
    seed: int = 0,
    threads: int = 1,
    batch_size: int = 256,
    device: str = "auto",
    verbose: bool = False,
    **overrides: Any,
) -> dict[str, Any]:
    """Filters of a run's first convolution as PWMs, logos, a MEME file and JASPAR matches.

    The PWMs come from the bound sequences of ``data_path`` (all of them when it has no binary
    labels); influence is the drop in AUROC when each filter is silenced (labelled data, with
    shuffled negatives added as in evaluation when the run was trained with them), else the drop
    in the mean output. Writes into ``out_dir``:

    - ``motifs.meme``: every filter's PWM (full width, ``nsites`` the supporting windows,
      background the data's base composition);
    - ``matches.tsv``: one row per filter and match rank, filters by decreasing influence:
      ``filter influence influence_rank sites max_activation`` then the columns of
      :func:`seqcnn.motifs.match_motifs` (``query_start``/``query_width``: the trimmed part);
    - ``logos/filter<i>.<fmt>``: information logos, the trimmed part shaded;
    - ``overview.<fmt>``: the ``overview_rows`` most influential filters, each beside the logo
      of its best match (on the filter's strand).

    Returns
    -------
    dict
        ``n_filters``, ``n_sequences`` (for the PWMs), ``n_significant``, ``influence_by``
        (``auroc`` or ``mean output``), ``top`` (the three most influential filters' best
        matches as dicts), ``files``, ``seconds``.
    """
    from seqcnn import motifs as M
    from seqcnn.io.meme import write_meme
    from seqcnn.plot.common import figure_format
    from seqcnn.plot.logo import logo_reverse_complement, plot_logo, plot_motif_overview

    begin = time.perf_counter()
    figure_format(Path(f"x.{logo_format}"))  # fails early on an unknown format
    database_set = M.load_database(database, release=release)  # fails early on a bad file
    model, config, length, targets = _sequence_model(run_dir, device, "motifs")
    options = DataOptions.for_run(config, **overrides)
    negatives_file = None if options.negatives in NEGATIVE_KINDS else options.negatives
    table = read_examples(data_path, options, negatives_file)
    if isinstance(table, ImageSet):
        raise ConfigError(f"{data_path}: motifs need DNA sequences, not images")
    labels = table.labels
    binary = (
        labels is not None
        and config["task"] in SIGMOID_TASKS
        and np.isin(labels[~np.isnan(labels)], (0.0, 1.0)).all()
    )
    bound = np.nanmax(labels, axis=1) == 1 if binary else np.ones(len(table), dtype=bool)
    if not bound.any():
        raise InputError("no bound sequence (label 1) to build PWMs from", path=data_path)
    x_all = CompactOneHot(sequence_bytes(table.sequences, names=table.ids))  # 1 byte a base
    x_pwm = CompactOneHot(x_all.data[torch.from_numpy(bound)]) if binary else x_all
    pwms = M.filter_pwms(
        model,
        x_pwm,
        method=method,
        threshold=threshold,
        pseudocount=pseudocount,
        min_ic=min_ic,
        batch_size=batch_size,
        verbose=verbose,
    )
    n_filters = len(pwms)
    influence_by = "not computed"
    drops = np.full(n_filters, np.nan)
    if influence:
        x_eval, y_eval = x_all, None
        if binary:
            completed = complete_eval_set(table, options, config["task"], seed=1)
            x_eval = CompactOneHot(sequence_bytes(completed.sequences, names=completed.ids))
            y_eval = completed.labels
        drops = M.filter_influence(model, x_eval, y_eval, batch_size=batch_size, verbose=verbose)
        has_both = y_eval is not None and len(np.unique(y_eval[~np.isnan(y_eval)])) == 2
        influence_by = "auroc" if has_both else "mean output"
    matches = M.match_motifs(pwms, database_set, n_best=n_best, threads=threads, seed=seed)
    order = np.argsort(-np.nan_to_num(drops, nan=-np.inf), kind="stable")
    rank = np.empty(n_filters, dtype=int)
    rank[order] = np.arange(1, n_filters + 1)
    index = matches["query"].map({name: i for i, name in enumerate(pwms.names)})
    per_filter = pd.DataFrame(
        {
            "filter": matches["query"],
            "influence": drops[index],
            "influence_rank": rank[index],
            "sites": pwms.sites[index],
            "max_activation": pwms.max_activation[index],
        }
    )
    out_table = pd.concat([per_filter, matches.drop(columns="query")], axis=1)
    out_table = out_table.sort_values(["influence_rank", "rank"], kind="stable")
    out_dir = Path(out_dir)
    (out_dir / "logos").mkdir(parents=True, exist_ok=True)
    files = {"meme": out_dir / "motifs.meme", "matches": out_dir / "matches.tsv"}
    write_meme(files["meme"], pwms.motifs(), background=pwms.background)
    with atomic_write(files["matches"]) as fh:
        out_table.to_csv(fh, sep="\t", index=False, float_format="%.6g")
    best = out_table[out_table["rank"] == 1].set_index("filter")
    by_name = {m.name: m for m in database_set.motifs}

    def describe(name: str) -> str:
        row = best.loc[name]
        if not isinstance(row["target"], str):
            return "no informative columns"
        flag = "significant" if row["significant"] else "not significant"
        return f"{row['target']} {row['target_name']} (q {row['q_value']:.2g}, {flag})"

    for i, name in enumerate(pwms.names):
        row = best.loc[name]
        head = f"{name}: {int(pwms.sites[i])} sites"
        if influence:
            head += f", influence {drops[i]:.3g} (#{rank[i]})"
        plot_logo(
            pwms.pwms[i],
            out_dir / "logos" / f"{name}.{logo_format}",
            title=f"{head}\nbest match {describe(name)}",
            information=True,
            highlight=tuple(pwms.bounds[i]),
            engine="fast",  # logomaker's letters, drawn in one collection: ~3x faster here
        )
    overview = []
    for i in order[:overview_rows]:
        name = pwms.names[i]
        row = best.loc[name]
        target = by_name.get(row["target"]) if isinstance(row["target"], str) else None
        match, flipped = None, ""
        if target is not None:
            match = target.pwm if row["strand"] == "+" else logo_reverse_complement(target.pwm)
            flipped = " [reverse complement]" if row["strand"] == "-" else ""
        inf = f", influence {drops[i]:.3g}" if influence else ""
        overview.append(
            {
                "pwm": pwms.trimmed(i),
                "label": f"#{rank[i]} {name} ({int(pwms.sites[i])} sites{inf})",
                "match": match,
                "match_label": describe(name) + flipped,
                "offset": None if match is None else int(row["offset"]),
            }
        )
    files["overview"] = plot_motif_overview(
        overview,
        out_dir / f"overview.{logo_format}",
        title=f"{Path(run_dir).name}: filters by influence ({influence_by}), best matches in "
        f"{database_set.source}",
    )
    top = [best.loc[pwms.names[i]].to_dict() | {"filter": pwms.names[i]} for i in order[:3]]
    return {
        "n_filters": n_filters,
        "n_sequences": len(x_pwm),
        "n_significant": int(best["significant"].sum()),
        "influence_by": influence_by,
        "top": top,
        "files": files,
        "seconds": time.perf_counter() - begin,
    }
