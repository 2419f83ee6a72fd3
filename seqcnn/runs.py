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
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from seqcnn import __version__, checkpoint
from seqcnn.datasets import Tensors, holdout_split, split_by_chrom
from seqcnn.exceptions import ConfigError
from seqcnn.inputs import (
    NEGATIVE_KINDS,
    DataOptions,
    ImageSet,
    as_tensors,
    check_targets,
    complete_eval_set,
    file_kind,
    held_back,
    read_examples,
    sequence_training_set,
)
from seqcnn.io import check_both_classes
from seqcnn.metrics import SIGMOID_TASKS, compute_metrics, sigmoid
from seqcnn.models import create_model, get_model_spec, model_arguments
from seqcnn.predict import predict
from seqcnn.train import TrainConfig, Trainer, is_main_process
from seqcnn.utils import atomic_write

__all__ = ["train_run", "evaluate_run", "predict_run", "score_variants_run"]


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
        train_set, valid_set = parts["train"], parts["valid"]
        test_set = parts.get("test") if test is None else test_set
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
        checkpoint.write_json(run_config, run_dir / checkpoint.CONFIG)
    valid_data = as_tensors(eval_sets["valid"]) if eval_sets["valid"] is not None else None
    trainer = Trainer(net, config, task=task, target_names=targets)
    trainer.fit(train_data, valid_data, run_dir=run_dir, resume=resume)

    metrics: dict[str, dict[str, float]] = {}
    fixed_train = train_data
    if hasattr(train_data, "fixed"):
        fixed_train = train_data.fixed()
    metrics["train"] = trainer.evaluate(fixed_train)
    for name, subset in eval_sets.items():
        if subset is not None:
            metrics[name] = trainer.evaluate(as_tensors(subset))
            given = valid if name == "valid" else test
            metrics[name]["file"] = str(given) if given else held_back(train, data, name)
    metrics["best_epoch"] = trainer.best_epoch_
    metrics["seconds"] = round(time.perf_counter() - t_start, 1)
    if main:
        checkpoint.write_json(metrics, run_dir / checkpoint.METRICS)
        run_config["best_epoch"] = trainer.best_epoch_
        checkpoint.write_json(run_config, run_dir / checkpoint.CONFIG)
        _plots(run_dir, trainer, eval_sets, task, targets)
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


def _plots(run_dir: Path, trainer: Trainer, eval_sets: dict, task: str, targets: list[str]) -> None:
    from seqcnn import plot

    plot.plot_history(trainer.history_, run_dir / "training_curve.png")
    name, subset = next(
        ((n, s) for n, s in reversed(eval_sets.items()) if s is not None), (None, None)
    )
    if subset is None:
        return
    tensors = as_tensors(subset)
    scores = predict(trainer.model, tensors.x, batch_size=512).numpy()
    _evaluation_plots(run_dir, tensors.y.numpy(), scores, task, targets, f" ({name})")


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
    **overrides: Any,
) -> dict[str, float]:
    """Metrics of a trained run on labelled data; writes ``metrics.json`` and ROC/PR plots.

    ``out_dir`` defaults to ``RUN/evaluate-<file stem>``. The data are read as in training
    (:meth:`DataOptions.for_run`), with ``overrides`` (e.g. ``genome=``, ``negatives=``),
    unless ``data`` gives every option.
    """
    model, config = checkpoint.load_run(run_dir)
    data = data or DataOptions.for_run(config, **overrides)
    negatives_file = None if data.negatives in NEGATIVE_KINDS else data.negatives
    subset = read_examples(data_path, data, negatives_file)
    task, targets = config["task"], config["targets"]
    if isinstance(subset, ImageSet):
        tensors = as_tensors(subset)
    else:
        subset = complete_eval_set(subset, data, task, seed=1)
        check_targets(subset, targets, data_path)
        if task in SIGMOID_TASKS:
            check_both_classes(subset, path=data_path)
        tensors = as_tensors(subset)
    scores = predict(model, tensors.x, batch_size=512)
    metrics = compute_metrics(tensors.y.numpy(), scores.numpy(), task, targets)
    metrics = {"file": str(data_path), "n": len(tensors.y), **metrics}
    stem = Path(str(data_path)).name.split(".")[0]
    out_dir = Path(out_dir) if out_dir else Path(run_dir) / f"evaluate-{stem}"
    out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint.write_json(metrics, out_dir / checkpoint.METRICS)
    _evaluation_plots(out_dir, tensors.y.numpy(), scores.numpy(), task, targets, f" ({stem})")
    return metrics


def predict_run(
    run_dir: str | Path,
    data_path: str | Path,
    out: str | Path,
    data: DataOptions | None = None,
    batch_size: int = 512,
    **overrides: Any,
) -> pd.DataFrame:
    """Score sequences (table, FASTA, BED windows) or images with a run; writes a TSV.

    Columns: ``id`` then one column per target: the probability for binary and multilabel
    tasks, the prediction for regression; for multiclass tasks ``predicted`` and one
    probability column per class. Data options as in :func:`evaluate_run`.
    """
    model, config = checkpoint.load_run(run_dir)
    options = data or DataOptions.for_run(config, **overrides)
    options = dataclasses.replace(options, negatives="none")
    subset = read_examples(data_path, options)
    task, targets = config["task"], config["targets"]
    if isinstance(subset, ImageSet):
        x, ids = subset.x, [str(i) for i in range(len(subset))]
    else:
        x, ids = subset.encode(), subset.ids
    scores = predict(model, x, batch_size=batch_size).numpy()
    frame = pd.DataFrame({"id": ids})
    if task == "multiclass":
        probs = torch.softmax(torch.from_numpy(scores), 1).numpy()
        frame["predicted"] = [targets[i] for i in probs.argmax(1)]
        for j, name in enumerate(targets):
            frame[f"p_{name}"] = probs[:, j]
    else:
        values = sigmoid(scores) if task in SIGMOID_TASKS else scores
        for j, name in enumerate(targets):
            frame[name] = values[:, j]
    with atomic_write(out, newline="") as fh:
        frame.to_csv(fh, sep="\t", index=False, float_format="%.6g")
    return frame


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
):
    """Score every ALT allele of a VCF with a run; writes a TSV or an annotated VCF (by suffix).

    The window length is the run's input length (``config.json``) unless ``length`` is given,
    which only models that accept any length (global pooling, as DeepBind) allow. See
    :mod:`seqcnn.variants` for the window rule, the statuses and the significance null.

    Returns
    -------
    seqcnn.variants.VariantSummary
        Records, ALT alleles, scored, skipped by reason, flags, warnings.
    """
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
    return write_variant_scores(
        scorer, vcf, out, command=command, info_prefix=info_prefix, header=header
    )
