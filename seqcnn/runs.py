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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from seqcnn import __version__, checkpoint
from seqcnn.datasets import ShuffledNegatives, holdout_split, read_intervals, split_table_by_chrom
from seqcnn.exceptions import ConfigError, InputError
from seqcnn.io import SequenceTable, check_both_classes, infer_task, read_table, validate_binary
from seqcnn.io.fasta import read_labelled_fasta
from seqcnn.metrics import compute_metrics, sigmoid
from seqcnn.models import create_model, get_model_spec, model_arguments
from seqcnn.predict import predict
from seqcnn.train import Tensors, TrainConfig, Trainer, is_main_process
from seqcnn.utils import atomic_write

TABLE_SUFFIXES = (".tsv", ".csv", ".txt", ".seq")
FASTA_SUFFIXES = (".fa", ".fasta", ".fna", ".fas")
BED_SUFFIXES = (".bed", ".narrowpeak", ".broadpeak")
IMAGE_SUFFIXES = (".npz",)
IMAGE_NAMES = ("sklearn-digits",)
NEGATIVE_STRATEGIES = ("none", "shuffle", "flank", "gc")


def file_kind(path: str | Path) -> str:
    """``"table"``, ``"fasta"``, ``"bed"`` or ``"images"``, from the file name (``.gz`` allowed)."""
    name = str(path)
    if name in IMAGE_NAMES:
        return "images"
    suffixes = [s.lower() for s in Path(name).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    for kind, known in (
        ("table", TABLE_SUFFIXES),
        ("fasta", FASTA_SUFFIXES),
        ("bed", BED_SUFFIXES),
        ("images", IMAGE_SUFFIXES),
    ):
        if last in known:
            return kind
    raise InputError(
        "cannot tell the format from the file name; expected a table "
        f"({', '.join(TABLE_SUFFIXES)}), FASTA ({', '.join(FASTA_SUFFIXES)}), BED "
        f"({', '.join(BED_SUFFIXES)}), optionally .gz, or images (.npz, sklearn-digits)",
        path=name,
    )


@dataclass
class DataOptions:
    """How training, validation and test examples are read and completed with negatives."""

    task: str = "auto"  # auto | binary | multilabel | regression (auto: from the labels)
    negatives: str = "none"  # none | shuffle | flank | gc, or a FASTA file of negatives
    negatives_per_positive: int = 1  # drawn negatives per positive
    fresh_negatives: bool = True  # draw new shuffled negatives every epoch (training set only)
    valid_fraction: float = 0.1  # held back from training when no validation file is given
    test_fraction: float = 0.0  # held back from training as the test set when no test file
    sequence_column: str | None = None  # table column with the sequences (default: auto)
    label_columns: list[str] | None = None  # table columns with labels (default: auto)
    labels: str | None = None  # table labelling the records of FASTA inputs by name
    genome: str | None = None  # reference FASTA for BED inputs
    length: int = 101  # window length for BED inputs (DeepBind's 101 bp)
    valid_chroms: list[str] = field(default_factory=lambda: ["chr8"])  # held out (BED inputs)
    test_chroms: list[str] = field(default_factory=lambda: ["chr9"])  # held out (BED inputs)

    def __post_init__(self) -> None:
        is_file = Path(self.negatives).suffix.lower() in FASTA_SUFFIXES + (".gz",)
        if self.negatives not in NEGATIVE_STRATEGIES and not is_file:
            raise ConfigError(
                f"negatives {self.negatives!r} is not valid; choose one of: "
                f"{', '.join(NEGATIVE_STRATEGIES)}, or give a FASTA file of negatives"
            )
        if self.task not in ("auto", "binary", "multilabel", "regression"):
            raise ConfigError(
                f"task {self.task!r} is not valid; choose one of: auto, binary, multilabel, "
                "regression"
            )
        for name in ("valid_fraction", "test_fraction"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(f"{name} must be in [0, 1), got {getattr(self, name)}")


# ---------------------------------------------------------------------------- reading
def read_examples(path: str | Path, options: DataOptions, negatives: str | None = None) -> Any:
    """Labelled (or unlabelled) examples from one input file.

    Returns a :class:`~seqcnn.io.SequenceTable` for tables, FASTA and BED inputs, and an
    :class:`ImageSet` for images.
    """
    kind = file_kind(path)
    if kind == "images":
        from seqcnn.io.images import load_images

        X, y, names = load_images(path)
        return ImageSet(torch.from_numpy(X), torch.from_numpy(y), names, str(path))
    if kind == "table":
        return read_table(path, options.sequence_column, options.label_columns)
    if kind == "fasta":
        return read_labelled_fasta(path, negatives, labels_table=options.labels)
    if options.genome is None:
        raise ConfigError(f"{path}: a BED input needs the reference genome: add --fasta GENOME.fa")
    drawn = options.negatives if options.negatives in NEGATIVE_STRATEGIES else "none"
    # shuffled negatives of windows are drawn per epoch by the training set, not here
    return read_intervals(
        path, options.genome, options.length, "none" if drawn == "shuffle" else drawn
    )


@dataclass
class ImageSet:
    """Images ``x`` (N, C, H, W) float32 in [0, 1] and class indices ``y`` (N,) int64."""

    x: torch.Tensor
    y: torch.Tensor
    class_names: list[str]
    path: str

    def __len__(self) -> int:
        return len(self.x)

    def subset(self, index: np.ndarray) -> ImageSet:
        idx = torch.as_tensor(index)
        return ImageSet(self.x[idx], self.y[idx], self.class_names, self.path)


def _as_tensors(data: SequenceTable | ImageSet) -> Tensors:
    if isinstance(data, ImageSet):
        return Tensors(data.x, data.y)
    return Tensors(data.encode(), torch.from_numpy(np.array(data.labels, dtype=np.float32)))


def _with_shuffled_negatives(table: SequenceTable, per_positive: int, seed: int) -> SequenceTable:
    """``table`` plus fixed dinucleotide-shuffled negatives of its positives (for evaluation)."""
    return ShuffledNegatives(table, per_positive, seed=seed, fresh=False).table


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
    negatives_file = None if data.negatives in NEGATIVE_STRATEGIES else data.negatives

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
        train_set, valid_set, by_chrom = split_table_by_chrom(
            train_set, data.valid_chroms, held_test
        )
        test_set = by_chrom if test is None else test_set
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
        train_data, task, targets = _sequence_training_set(train_set, data, config.seed)
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
            eval_sets[name] = _complete_eval_set(subset, data, task, config.seed + 1)

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
            "valid": str(valid) if valid else _held_back(train, data),
            "test": str(test) if test else _held_back(train, data, "test"),
            **{k: v for k, v in dataclasses.asdict(data).items()},
        },
        "training": config.to_dict(),
    }
    if main:
        checkpoint.write_json(run_config, run_dir / checkpoint.CONFIG)
    valid_data = _as_tensors(eval_sets["valid"]) if eval_sets["valid"] is not None else None
    trainer = Trainer(net, config, task=task, target_names=targets)
    trainer.fit(train_data, valid_data, run_dir=run_dir, resume=resume)

    metrics: dict[str, dict[str, float]] = {}
    fixed_train = train_data
    if hasattr(train_data, "fixed"):
        fixed_train = train_data.fixed()
    metrics["train"] = trainer.evaluate(fixed_train)
    for name, subset in eval_sets.items():
        if subset is not None:
            metrics[name] = trainer.evaluate(_as_tensors(subset))
            given = valid if name == "valid" else test
            metrics[name]["file"] = str(given) if given else _held_back(train, data, name)
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


def _held_back(train: str | Path, data: DataOptions, split: str = "valid") -> str | None:
    """How a validation or test set without a file of its own was made."""
    if file_kind(train) == "bed":
        chroms = data.valid_chroms if split == "valid" else data.test_chroms
        return f"windows on {', '.join(chroms)} held back from train"
    fraction = data.valid_fraction if split == "valid" else data.test_fraction
    return f"{fraction:g} of train held back" if fraction else None


def _sequence_training_set(
    table: SequenceTable, data: DataOptions, seed: int
) -> tuple[Any, str, list[str]]:
    """Training tensors (with negatives when asked) and the task they define."""
    if table.labels is None:
        if data.negatives != "shuffle":
            raise InputError(
                "the training data has no labels; add a label column, or draw negatives "
                "from the sequences as positives with --negatives shuffle",
                path=table.path,
            )
        table = dataclasses.replace(
            table, labels=np.ones((len(table), 1), np.float32), target_names=["bound"]
        )
    task = _task(table, data)
    if data.negatives == "shuffle":
        if task != "binary":
            raise ConfigError("--negatives shuffle needs a single binary target")
        dataset = ShuffledNegatives(
            table, data.negatives_per_positive, seed=seed, fresh=data.fresh_negatives
        )
        check_both_classes(dataset.y.numpy(), path=table.path)
        return dataset, task, list(table.target_names)
    if task in ("binary", "multilabel"):
        check_both_classes(table)
    return _as_tensors(table), task, list(table.target_names)


def _task(table: SequenceTable, data: DataOptions) -> str:
    """The task asked for, or implied by the labels; binary labels are checked to be 0/1.

    With ``task="auto"``, 0/1 labels make a binary (one target) or multilabel task, and other
    values a regression, except two distinct whole numbers other than 0 and 1 (``1``/``2``,
    say): those look like a mislabelled binary task and are reported at their first line.
    """
    task = data.task
    if task == "auto":
        task = infer_task(table.labels)
        values = np.unique(table.labels[~np.isnan(table.labels)])
        whole = np.all(values == np.round(values))
        if task == "regression" and (data.negatives == "shuffle" or (whole and len(values) <= 2)):
            task = "binary" if table.labels.shape[1] == 1 else "multilabel"
    if task in ("binary", "multilabel"):
        validate_binary(table)
    return task


def _complete_eval_set(
    table: SequenceTable, data: DataOptions, task: str, seed: int
) -> SequenceTable:
    """Evaluation table, labels checked, with shuffled negatives if it has only positives."""
    if table.labels is None:
        if data.negatives != "shuffle":
            raise InputError("evaluation data has no labels", path=table.path)
        table = dataclasses.replace(
            table, labels=np.ones((len(table), 1), np.float32), target_names=["bound"]
        )
    if task in ("binary", "multilabel"):
        validate_binary(table)
        if data.negatives == "shuffle" and np.nanmin(table.labels) == 1:
            table = _with_shuffled_negatives(table, data.negatives_per_positive, seed)
    return table


def _plots(run_dir: Path, trainer: Trainer, eval_sets: dict, task: str, targets: list[str]) -> None:
    from seqcnn import plot

    plot.plot_history(trainer.history_, run_dir / "training_curve.png")
    name, subset = next(
        ((n, s) for n, s in reversed(eval_sets.items()) if s is not None), (None, None)
    )
    if subset is None:
        return
    tensors = _as_tensors(subset)
    scores = predict(trainer.model, tensors.x, batch_size=512).numpy()
    _evaluation_plots(run_dir, tensors.y.numpy(), scores, task, targets, f" ({name})")


def _evaluation_plots(
    out_dir: Path, y, scores, task: str, targets: list[str], suffix: str
) -> list[Path]:
    from seqcnn import plot

    if task in ("binary", "multilabel"):
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
) -> dict[str, float]:
    """Metrics of a trained run on labelled data; writes ``metrics.json`` and ROC/PR plots.

    ``out_dir`` defaults to ``RUN/evaluate-<file stem>``.
    """
    model, config = checkpoint.load_run(run_dir)
    data = data or DataOptions(**run_data_options(config))
    negatives_file = None if data.negatives in NEGATIVE_STRATEGIES else data.negatives
    subset = read_examples(data_path, data, negatives_file)
    task, targets = config["task"], config["targets"]
    if isinstance(subset, ImageSet):
        tensors = _as_tensors(subset)
    else:
        subset = _complete_eval_set(subset, data, task, seed=1)
        _check_targets(subset, targets, data_path)
        if task in ("binary", "multilabel"):
            check_both_classes(subset, path=data_path)
        tensors = _as_tensors(subset)
    scores = predict(model, tensors.x, batch_size=512)
    metrics = compute_metrics(tensors.y.numpy(), scores.numpy(), task, targets)
    metrics = {"file": str(data_path), "n": len(tensors.y), **metrics}
    stem = Path(str(data_path)).name.split(".")[0]
    out_dir = Path(out_dir) if out_dir else Path(run_dir) / f"evaluate-{stem}"
    out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint.write_json(metrics, out_dir / checkpoint.METRICS)
    _evaluation_plots(out_dir, tensors.y.numpy(), scores.numpy(), task, targets, f" ({stem})")
    return metrics


def _check_targets(table: SequenceTable, targets: list[str], path) -> None:
    if table.labels is not None and table.labels.shape[1] != len(targets):
        raise InputError(
            f"has {table.labels.shape[1]} label columns ({', '.join(table.target_names)}) but "
            f"the model predicts {len(targets)} targets ({', '.join(targets)})",
            path=path,
        )


def run_data_options(config: dict) -> dict[str, Any]:
    """The data options of a run that also apply when reading new data with it."""
    known = {f.name for f in dataclasses.fields(DataOptions)}
    saved = {k: v for k, v in config.get("data", {}).items() if k in known}
    saved["valid_fraction"] = 0.0
    return saved


def predict_run(
    run_dir: str | Path,
    data_path: str | Path,
    out: str | Path,
    data: DataOptions | None = None,
    batch_size: int = 512,
) -> pd.DataFrame:
    """Score sequences (table, FASTA, BED windows) or images with a run; writes a TSV.

    Columns: ``id`` then one column per target: the probability for binary and multilabel
    tasks, the prediction for regression; for multiclass tasks ``predicted`` and one
    probability column per class.
    """
    model, config = checkpoint.load_run(run_dir)
    options = data or DataOptions(**run_data_options(config))
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
        values = sigmoid(scores) if task in ("binary", "multilabel") else scores
        for j, name in enumerate(targets):
            frame[name] = values[:, j]
    with atomic_write(out, newline="") as fh:
        frame.to_csv(fh, sep="\t", index=False, float_format="%.6g")
    return frame
