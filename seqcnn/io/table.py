"""Tables of sequences and labels: ``.tsv``, ``.csv``, ``.txt`` and DeepBind ``.seq`` files.

A table has a header row, one sequence column and any number of label columns. DeepBind's
``.seq`` files (``FoldID EventID seq Bound``) are tables: ``seq`` holds the sequences,
``EventID`` the ids and ``Bound`` the label. Line numbers in error messages count the header as
line 1, so row ``i`` (0-based) of the data is on line ``i + 2``.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from seqcnn.exceptions import InputError
from seqcnn.io.text import MAX_SEQUENCE_LENGTH, open_text, too_long
from seqcnn.sequence import check_sequences, one_hot_encode

__all__ = [
    "iter_table",
    "iter_frames",
    "SequenceTable",
    "read_table",
    "infer_task",
    "validate_binary",
    "check_both_classes",
    "read_frame",
    "select_targets",
    "SEQUENCE_COLUMNS",
    "ID_COLUMNS",
]

#: Accepted names of the sequence column (any case).
SEQUENCE_COLUMNS = ("seq", "sequence", "sequences")
#: Accepted names of the id column (any case); the first one present wins.
ID_COLUMNS = ("id", "eventid", "name", "seq_id", "sequence_id", "seqid", "identifier")
#: Columns that are never targets (any case): cross-validation folds and such.
FOLD_COLUMNS = ("foldid", "fold", "split")
#: Columns that are always targets when present (any case), even if a value is not a number.
LABEL_COLUMNS = ("bound", "label", "labels", "y", "target", "class")
#: Label values read as missing (NaN).
MISSING = ("nan", "NaN", "NA", "na", "N/A")


@dataclass
class SequenceTable:
    """Sequences with optional labels, as read from a file.

    Attributes
    ----------
    ids : list of str (N,)
        One id per sequence (the id column, the FASTA record name, or ``row<k>``).
    sequences : list of str (N,)
    labels : numpy.ndarray (N, T) float32 or None
        One column per target; ``None`` for unlabelled data.
    target_names : list of str (T,)
    path : str or None
        Where the table came from (several files are joined with ``" + "``).
    lines : numpy.ndarray (N,) int64 or None
        1-based line number of each row in ``path`` (for error messages).
    columns : dict of str to list of str
        The other columns (folds, annotations), as text.
    """

    ids: list[str]
    sequences: list[str]
    labels: np.ndarray | None = None
    target_names: list[str] = field(default_factory=list)
    path: str | None = None
    lines: np.ndarray | None = None
    columns: dict[str, list[str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.sequences)

    def encode(self, length: int | None = None, ambiguous: str = "zero") -> torch.Tensor:
        """One-hot sequences ``(N, 4, L)``; see :func:`seqcnn.sequence.one_hot_encode`."""
        return one_hot_encode(self.sequences, length=length, ambiguous=ambiguous, names=self.ids)

    @property
    def task(self) -> str | None:
        """``"binary"``, ``"multilabel"`` or ``"regression"`` (see :func:`infer_task`)."""
        return None if self.labels is None else infer_task(self.labels)

    def subset(self, index: np.ndarray | list[int]) -> SequenceTable:
        """The rows ``index`` (integer positions or a boolean mask), as a new table."""
        idx = np.arange(len(self))[np.asarray(index)]
        pick = idx.tolist()
        return SequenceTable(
            ids=[self.ids[i] for i in pick],
            sequences=(
                self.sequences.subset(idx)  # rows read on demand stay so
                if hasattr(self.sequences, "subset")
                else [self.sequences[i] for i in pick]
            ),
            labels=None if self.labels is None else self.labels[idx],
            target_names=list(self.target_names),
            path=self.path,
            lines=None if self.lines is None else self.lines[idx],
            columns={k: [v[i] for i in pick] for k, v in self.columns.items()},
        )


def _separator(path: Path, first_line: str) -> str:
    """Tab for ``.tsv/.txt/.seq``, comma for ``.csv``; otherwise sniffed from the header."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    if ext in (".tsv", ".txt", ".seq", ".tab"):
        return "\t"
    if ext == ".csv":
        return ","
    counts = {sep: first_line.count(sep) for sep in ("\t", ",", ";")}
    best = max(counts, key=counts.get)
    return best if counts[best] else "\t"


def _check_file(path: str | os.PathLike) -> tuple[Path, str]:
    """Existing, non-empty file: returns the path and its first line."""
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", path=p)
    if p.is_dir():
        raise InputError("expected a file, found a directory", path=p)
    try:
        with open_text(p, newline="") as fh:
            first = fh.readline()
    except (OSError, EOFError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read the file: {err}", path=p) from err
    if not first.strip():
        raise InputError("empty file (expected a header line, then one row per sequence)", path=p)
    return p, first


def _find_column(columns: list[str], accepted: tuple[str, ...]) -> str | None:
    lower = {c.strip().lower(): c for c in columns}
    for name in accepted:
        if name in lower:
            return lower[name]
    return None


def parse_labels(df: pd.DataFrame, names: list[str], path: Path, lines: np.ndarray) -> np.ndarray:
    """Columns ``names`` of a text table as float32 (N, T); ``NA``/``nan`` become NaN.

    Raises :class:`InputError` naming the line of the first value that is not a number.

    Examples
    --------
    >>> df = pd.DataFrame({"y": ["1", "0.5", "NA"]})
    >>> parse_labels(df, ["y"], Path("t.tsv"), np.array([2, 3, 4])).ravel().tolist()
    [1.0, 0.5, nan]
    """
    out = np.empty((len(df), len(names)), dtype=np.float32)
    for j, name in enumerate(names):
        text = df[name].str.strip()
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
        bad = np.isnan(values) & ~text.isin(MISSING).to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            what = "missing label" if text.iloc[i] == "" else f"label {text.iloc[i]!r}"
            raise InputError(
                f"{what} in column {name!r} is not a number (missing values must be NA)",
                path=path,
                line=int(lines[i]),
            )
        out[:, j] = values
    return out


def _read_csv(fh, sep: str, rows: int | None = None):
    """Every field of a delimited text stream as a string (C parser); with ``rows``, an
    iterator of frames of that many rows."""
    return pd.read_csv(
        fh,
        sep=sep,
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        skip_blank_lines=False,
        quoting=csv.QUOTE_NONE if sep == "\t" else csv.QUOTE_MINIMAL,
        engine="c",
        chunksize=rows,
    )


def iter_frames(
    path: str | os.PathLike, rows: int | None = None
) -> Iterator[tuple[Path, pd.DataFrame, np.ndarray]]:
    """:func:`read_frame` in pieces of at most ``rows`` rows (all at once: ``None``), so that
    a large table is never held whole. Blank lines are dropped and line numbers kept."""
    p, first = _check_file(path)
    sep = _separator(p, first)

    def fail(err: Exception) -> InputError:
        if isinstance(err, pd.errors.ParserError):
            m = re.search(r"line (\d+)", str(err))
            return InputError(
                f"cannot parse the table ({str(err).strip()}); "
                f"expected {'tab' if sep == chr(9) else repr(sep)}-separated fields",
                path=p,
                line=int(m.group(1)) if m else None,
            )
        return InputError(f"cannot read the file: {err}", path=p)

    errors = (pd.errors.ParserError, OSError, EOFError, UnicodeDecodeError)
    next_line, seen = 2, 0
    with open_text(p, newline="") as fh:  # bounded decompression (see seqcnn.io.text)
        try:
            frames = iter([_read_csv(fh, sep)]) if rows is None else iter(_read_csv(fh, sep, rows))
        except errors as err:
            raise fail(err) from err
        while True:
            try:  # only the reading is guarded: errors of the caller pass through
                df = next(frames)
            except StopIteration:
                break
            except errors as err:
                raise fail(err) from err
            columns = [str(c) for c in df.columns]
            df.columns = columns
            lines = np.arange(next_line, next_line + len(df), dtype=np.int64)
            next_line += len(df)
            # blank lines: kept by the parser so that line numbers stay right, dropped here
            blank = (df == "").all(axis=1).to_numpy() if len(columns) else np.zeros(len(df), bool)
            if blank.any():
                df = df.loc[~blank].reset_index(drop=True)
                lines = lines[~blank]
            if len(df):
                seen += len(df)
                yield p, df, lines
    if seen == 0:
        raise InputError("the table has a header but no rows", path=p, line=1)


def read_frame(path: str | os.PathLike) -> tuple[Path, pd.DataFrame, np.ndarray]:
    """Read a delimited text file with a header as strings, keeping track of line numbers.

    Parameters
    ----------
    path : str or os.PathLike
        ``.tsv``, ``.txt``, ``.seq``, ``.csv`` (optionally ``.gz``), or sniffed.

    Returns
    -------
    tuple of (pathlib.Path, pandas.DataFrame, numpy.ndarray (N,) int64)
        The path, the rows as text (blank lines dropped) and the 1-based line number of each
        row (the header is line 1).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("id,y\\na,1\\n\\nb,0\\n")
    >>> _, df, lines = read_frame(p)
    >>> df["id"].tolist(), lines.tolist()
    (['a', 'b'], [2, 4])
    """
    return next(iter_frames(path))


def select_targets(
    df: pd.DataFrame,
    path: Path,
    label_columns: list[str] | tuple[str, ...] | str | None = None,
    exclude: tuple[str | None, ...] = (),
) -> list[str]:
    """The label columns of a table read by :func:`read_frame`.

    ``label_columns`` when given (each must exist); otherwise every column named like a label
    (:data:`LABEL_COLUMNS`) and every other column that is mostly numbers, leaving out
    ``exclude`` and fold columns (:data:`FOLD_COLUMNS`).

    Examples
    --------
    >>> df = pd.DataFrame({"id": ["a", "b"], "fold": ["1", "2"], "y": ["0", "1"], "x": ["u", "v"]})
    >>> select_targets(df, Path("t.tsv"), exclude=("id",))
    ['y']
    """
    columns = list(df.columns)
    fold_cols = {c for c in columns if c.strip().lower() in FOLD_COLUMNS}
    if isinstance(label_columns, str):
        label_columns = [c.strip() for c in label_columns.split(",") if c.strip()]
    if label_columns is not None:
        missing = [c for c in label_columns if c not in columns]
        if missing:
            raise InputError(
                f"no label column {', '.join(map(repr, missing))}: found columns {columns}",
                path=path,
                line=1,
            )
        targets = list(label_columns)
    else:
        targets = []
        for c in columns:
            if c in exclude or c in fold_cols:
                continue
            if c.strip().lower() in LABEL_COLUMNS:
                targets.append(c)
                continue
            text = df[c].str.strip()
            numeric = pd.to_numeric(text, errors="coerce").notna() | text.isin(MISSING)
            if float(numeric.mean()) > 0.5:
                targets.append(c)

    return targets


def read_table(
    path: str | os.PathLike,
    sequence_column: str | None = None,
    label_columns: list[str] | tuple[str, ...] | str | None = None,
    id_column: str | None = None,
) -> SequenceTable:
    """Read a table of sequences and labels.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.tsv``, ``.txt``, ``.seq`` (tab-separated) or ``.csv`` file, optionally ``.gz``;
        with another extension the separator (tab, comma or semicolon) is sniffed from the
        header. The first line is the header.
    sequence_column : str, optional
        The sequence column; by default the column named ``seq``, ``sequence`` or
        ``sequences`` (any case).
    label_columns : list of str or str, optional
        The label columns (a string may list several, separated by commas). By default:
        every column named like a label (``Bound``, ``label``, ``y``, ``target``, ``class``),
        and every other column whose values are mostly numbers, except the id and fold
        columns (``FoldID``, ``fold``, ``split``).
        Pass ``[]`` to read no labels.
    id_column : str, optional
        The id column; by default ``id``, ``EventID``, ``name`` ... (any case), or else
        ``row<k>`` with ``k`` the 1-based row number.

    Returns
    -------
    SequenceTable
        ``labels`` is ``(N, T)`` float32 (``NA``/``nan`` read as NaN), or ``None`` when the
        table has no label columns.

    Raises
    ------
    InputError
        With the file name and the 1-based line number (the header is line 1): missing or
        empty file, no sequence column (the message lists the columns found and the accepted
        names), a row with the wrong number of fields, an empty sequence, a character that is
        not an IUPAC nucleotide code, or a label that is not a number.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "toy.tsv"
    >>> rows = ["FoldID\\tEventID\\tseq\\tBound", "A\\tp1\\tACGT\\t1", "A\\tn1\\tTTGA\\t0"]
    >>> _ = p.write_text("\\n".join(rows) + "\\n")
    >>> t = read_table(p)
    >>> t.ids, t.sequences, t.labels.ravel().tolist(), t.target_names
    (['p1', 'n1'], ['ACGT', 'TTGA'], [1.0, 0.0], ['Bound'])
    """
    return next(iter_table(path, sequence_column, label_columns, id_column))


def iter_table(
    path: str | os.PathLike,
    sequence_column: str | None = None,
    label_columns: list[str] | tuple[str, ...] | str | None = None,
    id_column: str | None = None,
    rows: int | None = None,
) -> Iterator[SequenceTable]:
    """:func:`read_table` in pieces of at most ``rows`` rows (``None``: one piece), checked as
    they are read; the columns are chosen from the first piece.

    Yields
    ------
    SequenceTable
        ``ids`` default to ``row<k>`` numbered over the whole file; ``lines`` are the file's.
    """
    frames = iter_frames(path, rows)
    p, df, lines = next(frames)
    columns = list(df.columns)
    seq_col = sequence_column or _find_column(columns, SEQUENCE_COLUMNS)
    if seq_col is None or seq_col not in columns:
        wanted = repr(sequence_column) if sequence_column else " / ".join(SEQUENCE_COLUMNS)
        raise InputError(
            f"no sequence column: found columns {columns}; expected a column named {wanted}"
            " (any case), or name it with sequence_column / --sequence-column",
            path=p,
            line=1,
        )
    id_col = id_column or _find_column(columns, ID_COLUMNS)
    if id_col is not None and id_col not in columns:
        raise InputError(f"no id column {id_col!r}: found columns {columns}", path=p, line=1)
    targets = select_targets(df, p, label_columns, exclude=(seq_col, id_col))
    row = 0
    while df is not None:
        yield _table_piece(p, df, lines, seq_col, id_col, targets, row)
        row += len(df)
        p, df, lines = next(frames, (p, None, None))


def _table_piece(
    p: Path, df: pd.DataFrame, lines: np.ndarray, seq_col: str, id_col: str | None,
    targets: list[str], row: int,
) -> SequenceTable:  # fmt: skip
    """One piece of a table read by :func:`iter_frames` (``row`` rows before it)."""
    columns = list(df.columns)
    sequences = df[seq_col].str.strip()
    long = np.flatnonzero(sequences.str.len().to_numpy() > MAX_SEQUENCE_LENGTH)
    if long.size:
        i = int(long[0])
        record = str(df[id_col].iloc[i]).strip() if id_col is not None else None
        raise too_long(p, int(lines[i]), record)
    seq_list = sequences.tolist()
    check_sequences(seq_list, path=p, lines=lines)
    ids = (
        df[id_col].str.strip().tolist()
        if id_col is not None
        else [f"row{k}" for k in range(row + 1, row + len(df) + 1)]
    )
    labels = parse_labels(df, targets, p, lines) if targets else None
    others = {c: df[c].tolist() for c in columns if c not in targets and c not in (seq_col, id_col)}
    return SequenceTable(
        ids=ids,
        sequences=seq_list,
        labels=labels,
        target_names=targets,
        path=str(p),
        lines=lines,
        columns=others,
    )


def infer_task(labels: np.ndarray) -> str:
    """Task implied by a label matrix: ``"binary"``, ``"multilabel"`` or ``"regression"``.

    Labels that are all 0 or 1 (NaN ignored) make a ``"binary"`` task with one target and a
    ``"multilabel"`` task with several; anything else is ``"regression"``.

    Parameters
    ----------
    labels : numpy.ndarray (N,) or (N, T)

    Returns
    -------
    str

    Examples
    --------
    >>> infer_task(np.array([[0.0], [1.0]])), infer_task(np.array([[0.5], [1.0]]))
    ('binary', 'regression')
    >>> infer_task(np.array([[0, 1], [1, 1]]))
    'multilabel'
    """
    y = np.asarray(labels, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    known = y[~np.isnan(y)]
    if known.size and np.isin(known, (0.0, 1.0)).all():
        return "binary" if y.shape[1] == 1 else "multilabel"
    return "regression"


def _describe(table: SequenceTable | np.ndarray, path) -> tuple[np.ndarray, str | None, list]:
    if isinstance(table, SequenceTable):
        return table.labels, path or table.path, table.target_names
    y = np.asarray(table)
    return y, path, [f"target {j}" for j in range(1 if y.ndim == 1 else y.shape[1])]


def validate_binary(
    table: SequenceTable | np.ndarray,
    path: str | os.PathLike | None = None,
    lines: np.ndarray | None = None,
) -> None:
    """Raise :class:`InputError` unless every label is 0 or 1 (NaN allowed).

    Parameters
    ----------
    table : SequenceTable or numpy.ndarray (N,) or (N, T)
        A table (its path and line numbers are used) or a label array.
    path : str or os.PathLike, optional
        The file, for the message (defaults to ``table.path``).
    lines : numpy.ndarray (N,), optional
        1-based line numbers (defaults to ``table.lines``, else the row number is reported).

    Examples
    --------
    >>> validate_binary(np.array([0, 1, 1]))
    >>> y = np.array([0, 2])
    >>> validate_binary(y, path="y.tsv", lines=np.array([2, 3]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    seqcnn.exceptions.InputError: y.tsv, line 3: label 2 in target 0 is not 0 or 1...
    """
    y, where, names = _describe(table, path)
    if y is None:
        raise InputError("the data has no labels; a binary task needs 0/1 labels", path=where)
    if lines is None and isinstance(table, SequenceTable):
        lines = table.lines
    y2 = y.reshape(len(y), -1)
    bad = ~(np.isin(y2, (0.0, 1.0)) | np.isnan(y2))
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        value = y2[i, j]
        shown = int(value) if float(value).is_integer() else float(value)
        msg = (
            f"label {shown} in {names[j]} is not 0 or 1, as a binary task needs "
            "(use a regression task for other values)"
        )
        if lines is None:
            raise InputError(f"row {i + 1}: {msg}", path=where)
        raise InputError(msg, path=where, line=int(lines[i]))


def check_both_classes(
    table: SequenceTable | np.ndarray,
    path: str | os.PathLike | None = None,
    target_names: list[str] | None = None,
) -> None:
    """Raise :class:`InputError` if a binary target has only one class (all 0 or all 1).

    Training a classifier needs positives and negatives; the message suggests drawing
    negatives (``--negatives shuffle``) when only positives are present.

    Parameters
    ----------
    table : SequenceTable or numpy.ndarray (N,) or (N, T)
    path : str or os.PathLike, optional
        The file, for the message (defaults to ``table.path``).
    target_names : list of str, optional
        Names of the label columns of an array, for the message.

    Examples
    --------
    >>> check_both_classes(np.array([0, 1, 1]))
    >>> check_both_classes(np.array([1, 1]), path="pos.tsv")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    seqcnn.exceptions.InputError: pos.tsv: only one class (1) in target 0: need ...
    """
    y, where, names = _describe(table, path)
    names = target_names or names
    if y is None:
        raise InputError("the data has no labels", path=where)
    y2 = y.reshape(len(y), -1)
    for j in range(y2.shape[1]):
        col = y2[:, j]
        classes = np.unique(col[~np.isnan(col)])
        if classes.size < 2:
            shown = ", ".join(str(int(c)) for c in classes) or "none"
            raise InputError(
                f"only one class ({shown}) in {names[j]}: need positives and negatives, "
                "or use --negatives shuffle to draw dinucleotide-shuffled negatives",
                path=where,
            )
