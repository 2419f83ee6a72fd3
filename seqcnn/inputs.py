"""What ``--train``, ``--valid``, ``--test`` and ``--data`` accept, and how it is read.

- :func:`file_kind`: the format from the file name (tables, FASTA, BED, images);
- :class:`DataOptions`: how examples are read and completed with negatives, validated once;
  :meth:`DataOptions.for_run` rebuilds a run's options for new data, with overrides;
- :func:`read_examples`: one file -> a :class:`~seqcnn.io.SequenceTable` or an
  :class:`ImageSet`;
- the task implied by labels, training sets with negatives, and evaluation sets completed with
  shuffled negatives when they hold only positives;
- :func:`read_blocks`: an input read in blocks (streamed for FASTA and BED), for prediction in
  bounded memory and ``--shard i/n``; :class:`RecordOddities`: what is accepted but odd, counted
  for one warning per kind.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from seqcnn.datasets import GenomeWindows, JitteredWindows, ShuffledNegatives, Tensors
from seqcnn.exceptions import ConfigError, InputError
from seqcnn.io import (
    SequenceTable,
    check_both_classes,
    infer_task,
    iter_table,
    read_table,
    validate_binary,
)
from seqcnn.io.bed import iter_tiles, read_bed, windows
from seqcnn.io.fasta import iter_fasta_records, read_labelled_fasta
from seqcnn.io.genome import Genome, GenomeRows
from seqcnn.metrics import SIGMOID_TASKS, TABLE_TASKS
from seqcnn.negatives import NEGATIVE_KINDS, read_intervals
from seqcnn.sequence import CompactOneHot, sequence_bytes

__all__ = [
    "NEGATIVE_KINDS",
    "SHARD_BLOCK",
    "RecordOddities",
    "class_imbalance_message",
    "parse_shard",
    "read_blocks",
    "DataOptions",
    "ImageSet",
    "file_kind",
    "read_examples",
    "as_tensors",
    "sequence_training_set",
    "complete_eval_set",
    "check_targets",
    "held_back",
]

TABLE_SUFFIXES = (".tsv", ".csv", ".txt", ".seq")
FASTA_SUFFIXES = (".fa", ".fasta", ".fna", ".fas")
BED_SUFFIXES = (".bed", ".narrowpeak", ".broadpeak")
IMAGE_SUFFIXES = (".npz",)
IMAGE_NAMES = ("sklearn-digits",)


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
    jitter: int = 0  # BED training: shift each window by up to this many bp, anew each epoch

    def __post_init__(self) -> None:
        is_file = Path(self.negatives).suffix.lower() in FASTA_SUFFIXES + (".gz",)
        if self.negatives not in NEGATIVE_KINDS and not is_file:
            raise ConfigError(
                f"negatives {self.negatives!r} is not valid; choose one of: "
                f"{', '.join(NEGATIVE_KINDS)}, or give a FASTA file of negatives"
            )
        if self.task not in ("auto", *TABLE_TASKS):
            raise ConfigError(
                f"task {self.task!r} is not valid; choose one of: auto, {', '.join(TABLE_TASKS)}"
            )
        if self.negatives_per_positive < 1:
            raise ConfigError(
                f"negatives_per_positive must be at least 1, got {self.negatives_per_positive} "
                "(--negatives-per-positive)"
            )
        if self.length < 1:
            raise ConfigError(f"length must be at least 1 bp, got {self.length} (--length)")
        if self.jitter < 0:
            raise ConfigError(f"jitter must be 0 or more bp, got {self.jitter} (--jitter)")
        for name in ("valid_fraction", "test_fraction"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(f"{name} must be in [0, 1), got {getattr(self, name)}")

    @classmethod
    def for_run(cls, config: dict, **overrides: Any) -> DataOptions:
        """The options a run was trained with that also apply to new data, with overrides.

        Nothing is held back from data that a trained run evaluates or scores
        (``valid_fraction`` 0); ``overrides`` (e.g. ``genome=``, ``negatives=``) win.

        Examples
        --------
        >>> DataOptions.for_run({"data": {"negatives": "shuffle", "train": "x.tsv"}}).negatives
        'shuffle'
        """
        known = {f.name for f in dataclasses.fields(cls)}
        saved = {k: v for k, v in config.get("data", {}).items() if k in known}
        saved["valid_fraction"] = 0.0
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ConfigError(f"unknown data option(s) {', '.join(unknown)}")
        saved.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**saved)


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
    drawn = options.negatives if options.negatives in NEGATIVE_KINDS else "none"
    # shuffled negatives of windows are drawn per epoch by the training set, not here
    try:
        return read_intervals(
            path, options.genome, options.length, "none" if drawn == "shuffle" else drawn
        )
    except InputError as err:
        if "contig" not in err.message:
            raise
        raise InputError(  # say why training does not skip, as predict does
            f"{err.message}; training and evaluation use every interval (a set with silent "
            "holes is not the one asked for), so remove such lines or use a genome that has "
            "them (predict skips and counts them instead)",
            err.path,
            err.line,
            err.record,
        ) from None


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


def as_tensors(data: SequenceTable | ImageSet) -> Tensors:
    if isinstance(data, ImageSet):
        return Tensors(data.x, data.y)
    if isinstance(data.sequences, GenomeRows):  # windows read from the genome per batch
        x = GenomeWindows(data.sequences)
    else:
        x = CompactOneHot(sequence_bytes(data.sequences, names=data.ids))  # one byte per base
    return Tensors(x, torch.from_numpy(np.array(data.labels, dtype=np.float32)))


def with_shuffled_negatives(table: SequenceTable, per_positive: int, seed: int) -> SequenceTable:
    """``table`` plus fixed dinucleotide-shuffled negatives of its positives (for evaluation)."""
    return ShuffledNegatives(table, per_positive, seed=seed, fresh=False).table


def held_back(train: str | Path, data: DataOptions, split: str = "valid") -> str | None:
    """How a validation or test set without a file of its own was made."""
    if file_kind(train) == "bed":
        chroms = data.valid_chroms if split == "valid" else data.test_chroms
        return f"windows on {', '.join(chroms)} held back from train"
    fraction = data.valid_fraction if split == "valid" else data.test_fraction
    return f"{fraction:g} of train held back" if fraction else None


def sequence_training_set(
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
    if data.jitter and (data.negatives == "shuffle" or not isinstance(table.sequences, GenomeRows)):
        raise ConfigError(
            "--jitter shifts genome windows: it needs a BED training set with --negatives "
            "flank, gc or none (shuffled negatives and sequence files cannot be shifted)"
        )
    if data.negatives == "shuffle":
        if task != "binary":
            raise ConfigError("--negatives shuffle needs a single binary target")
        dataset = ShuffledNegatives(
            table, data.negatives_per_positive, seed=seed, fresh=data.fresh_negatives
        )
        check_both_classes(dataset.y.numpy(), path=table.path)
        return dataset, task, list(table.target_names)
    if task in SIGMOID_TASKS:
        check_both_classes(table)
    if data.jitter:
        labels = torch.from_numpy(np.array(table.labels, dtype=np.float32))
        dataset = JitteredWindows(table.sequences, labels, data.jitter, seed)
        return dataset, task, list(table.target_names)
    return as_tensors(table), task, list(table.target_names)


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
    if task in SIGMOID_TASKS:
        validate_binary(table)
    return task


def complete_eval_set(
    table: SequenceTable, data: DataOptions, task: str, seed: int
) -> SequenceTable:
    """Evaluation table, labels checked, with shuffled negatives if it has only positives."""
    if table.labels is None:
        if data.negatives != "shuffle":
            raise InputError("evaluation data has no labels", path=table.path)
        table = dataclasses.replace(
            table, labels=np.ones((len(table), 1), np.float32), target_names=["bound"]
        )
    if task in SIGMOID_TASKS:
        validate_binary(table)
        if data.negatives == "shuffle" and np.nanmin(table.labels) == 1:
            table = with_shuffled_negatives(table, data.negatives_per_positive, seed)
    return table


def check_targets(table: SequenceTable, targets: list[str], path) -> None:
    if table.labels is not None and table.labels.shape[1] != len(targets):
        raise InputError(
            f"has {table.labels.shape[1]} label columns ({', '.join(table.target_names)}) but "
            f"the model predicts {len(targets)} targets ({', '.join(targets)})",
            path=path,
        )


# ---------------------------------------------------------------------------- blocks
#: Records per block when predicting: blocks are read, scored and written one at a time (so
#: memory does not grow with the input), and ``shard="i/n"`` scores blocks i-1, i-1+n, ...
SHARD_BLOCK = 8192


def parse_shard(text: str | None) -> tuple[int, int]:
    """``"i/n"`` (1 <= i <= n) as ``(i - 1, n)``; ``None`` is ``(0, 1)``: everything.

    Examples
    --------
    >>> parse_shard("2/4"), parse_shard(None)
    ((1, 4), (0, 1))
    """
    if text is None:
        return 0, 1
    try:
        i, n = (int(v) for v in str(text).split("/"))
    except ValueError:
        i = n = 0
    if not 1 <= i <= n:
        raise ConfigError(f"shard {text!r} is not valid; use i/n with 1 <= i <= n, e.g. 1/4")
    return i - 1, n


_NOT_ACGT = str.maketrans("", "", "ACGTacgt")
_NOT_N = str.maketrans("", "", "Nn")


class RecordOddities:
    """Counts of records that are accepted but odd, for one warning per kind at the end.

    Kinds: IUPAC codes other than N (encoded as all-zero columns when the run's ``ambiguous``
    mode is ``"zero"``), records with no A, C, G or T at all (all N), records shorter than
    the model's input (padded with N), and ids seen before. Ids are remembered as 64-bit
    hashes, 8 bytes a record.
    """

    def __init__(self, input_length: int = 0, ambiguous: str = "zero") -> None:
        self.input_length, self.ambiguous = int(input_length or 0), ambiguous
        self.total = 0
        self.counts: dict[str, int] = {}
        self.first: dict[str, str] = {}
        self.seen = np.zeros(0, dtype=np.uint64)

    def _count(self, kind: str, flags: np.ndarray, ids: list[str]) -> None:
        n = int(flags.sum())
        if n:
            self.counts[kind] = self.counts.get(kind, 0) + n
            self.first.setdefault(kind, str(ids[int(np.flatnonzero(flags)[0])]))

    def add(self, ids: list[str], sequences: list[str]) -> None:
        """Count the oddities of a block of records."""
        n = len(ids)
        self.total += n
        rest = [s.translate(_NOT_ACGT) for s in sequences]  # what is not A, C, G or T
        if self.ambiguous == "zero":
            iupac = np.fromiter((bool(r.translate(_NOT_N)) for r in rest), bool, count=n)
            self._count("iupac", iupac, ids)
        no_base = np.fromiter(map(len, rest), np.int64, count=n) == np.fromiter(
            map(len, sequences), np.int64, count=n
        )
        self._count("all_n", no_base, ids)
        if self.input_length:
            lengths = np.fromiter(map(len, sequences), np.int64, count=len(sequences))
            self._count("short", lengths < self.input_length, ids)
        hashes = pd.util.hash_array(np.asarray(ids, dtype=object)).astype(np.uint64)
        pos = np.minimum(np.searchsorted(self.seen, hashes), max(len(self.seen) - 1, 0))
        before = self.seen[pos] == hashes if len(self.seen) else np.zeros(len(ids), bool)
        self._count("duplicate", pd.Series(hashes).duplicated().to_numpy() | before, ids)
        # two sorted runs: the stable sort merges them in linear time
        merged = np.concatenate([self.seen, np.sort(hashes)])
        merged.sort(kind="stable")
        self.seen = merged

    def add_table(self, table: SequenceTable) -> None:
        """Count the oddities of a whole table, block by block (its sequences may be read
        from the genome on demand: no list of them all is made)."""
        for a in range(0, len(table), SHARD_BLOCK):
            ids = table.ids[a : a + SHARD_BLOCK]
            self.add(list(ids), list(table.sequences[a : a + SHARD_BLOCK]))

    def messages(self, path: str | Path) -> list[str]:
        """One line per kind of oddity found, with its count and first record."""
        texts = {
            "iupac": "hold IUPAC ambiguity codes (R, Y, K, M, S, W, B, D, H, V), encoded as "
            "all-zero columns like N",
            "all_n": "are all N (no A, C, G or T): they are scored as no sequence at all",
            "short": f"are shorter than the model's input ({self.input_length} bp) and were "
            "padded on the right with N",
            "duplicate": "are duplicates of an id seen before (all rows are kept, in order)",
        }
        return [
            f"{path}: {self.counts[k]} of {self.total} records {texts[k]} "
            f"(first: {self.first[k]!r})"
            for k in texts
            if self.counts.get(k)
        ]


def class_imbalance_message(y: np.ndarray, targets: list[str], path) -> str | None:
    """A warning when a binary target's rarer class is under 2% of the labelled examples."""
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    worst = None
    for j, name in enumerate(targets[: y.shape[1]]):
        col = y[:, j][~np.isnan(y[:, j])]
        if not len(col):
            continue
        pos = int((col == 1).sum())
        rare = min(pos, len(col) - pos)
        if rare and rare / len(col) < 0.02 and (worst is None or rare / len(col) < worst[0]):
            worst = (rare / len(col), name, pos, len(col))
    if worst is None:
        return None
    _, name, pos, n = worst
    return (
        f"{path}: extreme class imbalance: target {name!r} has {pos} positives of {n} "
        f"({100 * pos / n:.1f}%); the model may learn to predict one class (consider "
        "--class-weight balanced and AUPRC)"
    )


def _tile_blocks(
    data_path: Path, genome: Genome, length: int, stride: int, strict: bool
) -> Iterator[dict[str, Any]]:
    """Blocks of the windows that tile each BED interval (a scan), status per window."""
    if stride < 1:
        raise ConfigError(f"--stride must be at least 1 bp, got {stride}")
    bed = read_bed(data_path, skip_invalid=True)
    # a summit outside its peak does not matter to a scan; a zero-length interval does
    reason = np.where(bed["status"].to_numpy() == "summit_outside_peak", "ok", bed["status"])
    bed = bed.assign(status=reason)
    for part in iter_tiles(bed, length, stride, SHARD_BLOCK):
        yield {
            "ids": part["name"].astype(str).tolist(),
            "windows": part,
            "status": _window_status(part, genome, data_path, strict),
            "genome": genome,
        }


def _window_status(win: pd.DataFrame, genome: Genome, data_path: Path, strict: bool) -> np.ndarray:
    """Per window, ``ok`` or why it cannot be scored (its interval's own reason first);
    with ``strict``, the first such window is an error."""
    status = genome.status(win["chrom"].to_numpy(), win["start"], win["end"])
    status = np.where(win["status"].to_numpy() != "ok", win["status"].to_numpy(), status)
    if strict and (status != "ok").any():
        i = int(np.flatnonzero(status != "ok")[0])
        raise InputError(
            f"interval {win['chrom'].iloc[i]}:{win['peak_start'].iloc[i]}-"
            f"{win['peak_end'].iloc[i]} (window {win['start'].iloc[i]}-{win['end'].iloc[i]}) "
            f"cannot be scored ({status[i]}); --strict refuses the file "
            f"({int((status != 'ok').sum())} such windows); without --strict they are skipped "
            "and counted",
            path=data_path,
            line=int(win["line"].iloc[i]),
        )
    return status


def read_blocks(
    data_path: Path,
    options: DataOptions,
    config: dict,
    strict: bool = False,
    stride: int | None = None,
) -> Iterator[dict[str, Any]]:
    """The input in blocks of :data:`SHARD_BLOCK` records, not yet encoded.

    A block has ``ids`` and one of ``sequences`` (strings), ``windows`` (BED windows, with
    their ``status`` and the ``genome``) or ``images`` (a tensor). With ``stride``, each BED
    interval is tiled with windows every ``stride`` bp (:func:`seqcnn.io.bed.iter_tiles`: a
    scan) instead of one window at its summit.
    """
    kind = file_kind(data_path)
    if stride is not None and kind != "bed":
        raise ConfigError(
            f"--stride tiles BED intervals with windows; {data_path} is not a BED file"
        )
    if kind == "fasta" and options.labels is None:
        ids: list[str] = []
        seqs: list[str] = []
        for record in iter_fasta_records(data_path):
            ids.append(record.name)
            seqs.append(record.sequence)
            if len(ids) == SHARD_BLOCK:
                yield {"ids": ids, "sequences": seqs}
                ids, seqs = [], []
        if ids:
            yield {"ids": ids, "sequences": seqs}
        return
    if kind == "bed":
        if options.genome is None:
            raise ConfigError(
                f"{data_path}: a BED input needs the reference genome: add --fasta GENOME.fa"
            )
        length = options.length or config["input"].get("length")
        if not length:
            raise ConfigError(f"{data_path}: predicting over BED windows needs --length N")
        genome = Genome(options.genome)
        if stride is not None:
            yield from _tile_blocks(data_path, genome, int(length), stride, strict)
            return
        win = windows(read_bed(data_path, skip_invalid=True), int(length))
        status = _window_status(win, genome, data_path, strict)
        for s in range(0, len(win), SHARD_BLOCK):
            part = win.iloc[s : s + SHARD_BLOCK]
            yield {
                "ids": part["name"].astype(str).tolist(),
                "windows": part,
                "status": status[s : s + SHARD_BLOCK],
                "genome": genome,
            }
        return
    if kind == "table":  # streamed; labels are not needed to predict (and not read)
        for piece in iter_table(data_path, options.sequence_column, [], rows=SHARD_BLOCK):
            yield {"ids": piece.ids, "sequences": piece.sequences}
        return
    subset = read_examples(data_path, options)  # labelled FASTA, images: read whole
    if isinstance(subset, ImageSet):
        for s in range(0, len(subset), SHARD_BLOCK):
            x = subset.x[s : s + SHARD_BLOCK]
            yield {"ids": [str(i) for i in range(s, s + len(x))], "images": x}
        return
    for s in range(0, len(subset), SHARD_BLOCK):
        yield {
            "ids": subset.ids[s : s + SHARD_BLOCK],
            "sequences": subset.sequences[s : s + SHARD_BLOCK],
        }
