"""FASTA files of sequences, and labelled sets made of FASTA files.

The parser is a small streaming one of our own (rather than Biopython's) so that every error
names the file and the line: a file that does not start with a ``>`` header, an empty file, a
record without sequence, a character that is not an IUPAC nucleotide code. Plain and gzipped
(``.gz``) files are read alike. A record's name is the first word of its header line; the rest
is its description. Blank lines and comment lines (starting with ``#`` or ``;``) are skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np

from seqcnn.exceptions import InputError
from seqcnn.io.table import (
    ID_COLUMNS,
    SequenceTable,
    _find_column,
    parse_labels,
    read_frame,
    select_targets,
)
from seqcnn.io.text import MAX_SEQUENCE_LENGTH, open_text, too_long
from seqcnn.sequence import find_invalid

__all__ = [
    "FastaRecord",
    "iter_fasta_records",
    "read_fasta",
    "read_fasta_records",
    "read_labelled_fasta",
]


class FastaRecord(NamedTuple):
    """One FASTA record: ``name`` (first word of the header), the rest of the header as
    ``description``, the ``sequence`` (lines joined), and the 1-based ``line`` of the header."""

    name: str
    description: str
    sequence: str
    line: int


def read_fasta_records(path: str | os.PathLike, check: bool = True) -> list[FastaRecord]:
    """Read every record of a FASTA file, with descriptions and line numbers.

    The records of :func:`iter_fasta_records`, as a list.

    Parameters
    ----------
    path : str or os.PathLike
        Plain or gzipped FASTA (gzip is detected from the content, not the name).
    check : bool
        Check that sequences hold only IUPAC nucleotide codes (any case).

    Returns
    -------
    list of FastaRecord

    Raises
    ------
    InputError
        Missing or empty file, text before the first ``>`` header, a header without a name, a
        record without sequence, or (with ``check``) an invalid character; each names the
        file and the line.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.fa"
    >>> _ = p.write_text(">s1 first one\\nACGT\\nAC\\n>s2\\nGGG\\n")
    >>> [tuple(r) for r in read_fasta_records(p)]
    [('s1', 'first one', 'ACGTAC', 1), ('s2', '', 'GGG', 4)]
    """
    return list(iter_fasta_records(path, check=check))


def iter_fasta_records(path: str | os.PathLike, check: bool = True) -> Iterator[FastaRecord]:
    """The records of a FASTA file one by one, read as a stream (memory stays flat).

    :func:`read_fasta_records` is this, as a list. An error is raised when the reader reaches
    the bad line.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.fa"
    >>> _ = p.write_text(">s1 first one\\nACGT\\nAC\\n>s2\\nGGG\\n")
    >>> [r.name for r in iter_fasta_records(p)]
    ['s1', 's2']
    """
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", path=p)
    if p.is_dir():
        raise InputError("expected a FASTA file, found a directory", path=p)
    name = description = None
    header_line = 0
    chunks: list[str] = []
    numbers: list[int] = []
    seen_any = False
    total = 0

    def record() -> FastaRecord:
        if not chunks:
            raise InputError(f"record {name!r} has no sequence", path=p, line=header_line)
        if check:
            bad = find_invalid(chunks)
            if bad is not None:
                i, pos, ch = bad
                hint = "; RNA (U) must be converted to DNA (T) first" if ch in "Uu" else ""
                raise InputError(
                    f"record {name!r}: invalid character {ch!r} at column {pos + 1}; "
                    "expected A C G T, N or another IUPAC code (R Y S W K M B D H V), in "
                    f"either case{hint}",
                    path=p,
                    line=numbers[i],
                )
        return FastaRecord(name, description, "".join(chunks), header_line)

    try:
        with open_text(p) as fh:
            for number, raw in enumerate(fh, start=1):
                line = raw.strip()
                if not line or line[0] in "#;":
                    continue
                seen_any = True
                if line[0] == ">":
                    if name is not None:
                        yield record()
                    head = line[1:].strip()
                    if not head:
                        raise InputError("header line without a record name", path=p, line=number)
                    parts = head.split(None, 1)
                    name, description = parts[0], parts[1] if len(parts) > 1 else ""
                    header_line, chunks, numbers, total = number, [], [], 0
                elif name is None:
                    raise InputError(
                        f"expected a FASTA header line starting with '>', found {line[:20]!r}",
                        path=p,
                        line=number,
                    )
                else:
                    chunks.append(line)
                    numbers.append(number)
                    total += len(line)
                    if total > MAX_SEQUENCE_LENGTH:
                        raise too_long(p, header_line, name)
    except (OSError, EOFError) as err:
        raise InputError(f"cannot read the file: {err}", path=p) from err
    if not seen_any:
        raise InputError("empty file (expected FASTA records: '>name' lines, then sequence)", p)
    if name is not None:
        yield record()


def read_fasta(path: str | os.PathLike) -> list[tuple[str, str]]:
    """Read a FASTA file as ``(name, sequence)`` pairs.

    The name is the first word of the header line. See :func:`read_fasta_records` for the
    descriptions and line numbers, and for the errors raised.

    Parameters
    ----------
    path : str or os.PathLike
        Plain or gzipped FASTA.

    Returns
    -------
    list of tuple of (str, str)

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.fa"
    >>> _ = p.write_text(">a desc\\nACGT\\n>b\\nnnac\\n")
    >>> read_fasta(p)
    [('a', 'ACGT'), ('b', 'nnac')]
    """
    return [(r.name, r.sequence) for r in read_fasta_records(path)]


def read_labelled_fasta(
    positives: str | os.PathLike,
    negatives: str | os.PathLike | None = None,
    labels_table: str | os.PathLike | None = None,
    id_column: str | None = None,
    label_columns: list[str] | None = None,
) -> SequenceTable:
    """A labelled set from FASTA files: a positive/negative pair, or labels from a table.

    Parameters
    ----------
    positives : str or os.PathLike
        FASTA of the sequences (the positives, when ``negatives`` is given).
    negatives : str or os.PathLike, optional
        FASTA of the negatives. With a pair and no ``labels_table`` the labels are 1 for
        ``positives`` and 0 for ``negatives``, in one target named ``label``. With
        ``positives`` alone every label is 1 (draw negatives, e.g. by shuffling).
    labels_table : str or os.PathLike, optional
        A table (see :func:`seqcnn.io.read_table` for the formats) with an id column matching
        the record names and one or more label columns; it labels the records of both files.
    id_column : str, optional
        The id column of ``labels_table`` (default: ``id``, ``name``, ``EventID`` ... or the
        first column).
    label_columns : list of str, optional
        The label columns of ``labels_table`` (default: the numeric ones).

    Returns
    -------
    SequenceTable
        Ids are record names; ``columns["file"]`` says which file each record came from.

    Raises
    ------
    InputError
        Any FASTA error; a record name missing from ``labels_table`` (the message names it
        and counts the others); duplicate ids in ``labels_table``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "pos.fa").write_text(">p1\\nACGT\\n")
    >>> _ = (d / "neg.fa").write_text(">n1\\nTTTT\\n>n2\\nGGCC\\n")
    >>> t = read_labelled_fasta(d / "pos.fa", d / "neg.fa")
    >>> t.ids, t.labels.ravel().tolist()
    (['p1', 'n1', 'n2'], [1.0, 0.0, 0.0])
    """
    files = [Path(positives)] + ([Path(negatives)] if negatives is not None else [])
    per_file = [read_fasta_records(f) for f in files]
    records = [r for recs in per_file for r in recs]
    ids = [r.name for r in records]
    sequences = [r.sequence for r in records]
    source = [str(f) for f, recs in zip(files, per_file, strict=True) for _ in recs]
    header_lines = np.array([r.line for r in records], dtype=np.int64)
    if labels_table is None:
        labels = np.concatenate(
            [np.full(len(recs), 1.0 - k, dtype=np.float32) for k, recs in enumerate(per_file)]
        )[:, None]
        targets = ["label"]
    else:
        tp, df, lines = read_frame(labels_table)
        columns = list(df.columns)
        id_col = id_column or _find_column(columns, ID_COLUMNS) or columns[0]
        if id_col not in columns:
            raise InputError(f"no id column {id_col!r}: found columns {columns}", tp, line=1)
        targets = select_targets(df, tp, label_columns, exclude=(id_col,))
        if not targets:
            raise InputError(
                f"no label columns: found columns {columns}; name them with label_columns",
                tp,
                line=1,
            )
        table_ids = df[id_col].str.strip()
        dup = table_ids.duplicated().to_numpy()
        if dup.any():
            i = int(np.flatnonzero(dup)[0])
            raise InputError(f"duplicate id {table_ids.iloc[i]!r}", tp, line=int(lines[i]))
        values = parse_labels(df, targets, tp, lines)
        row_of = {name: i for i, name in enumerate(table_ids.tolist())}
        rows = np.array([row_of.get(name, -1) for name in ids], dtype=np.int64)
        if (rows < 0).any():
            missing = np.flatnonzero(rows < 0)
            i = int(missing[0])
            raise InputError(
                f"record {ids[i]!r} (line {header_lines[i]} of {source[i]}) has no row in the "
                f"labels table {tp} ({missing.size} of {len(ids)} records unmatched; ids are "
                f"matched to column {id_col!r})",
                path=source[i],
                line=int(header_lines[i]),
            )
        labels = values[rows]
    return SequenceTable(
        ids=ids,
        sequences=sequences,
        labels=labels,
        target_names=list(targets),
        path=" + ".join(str(f) for f in files),
        lines=None,
        columns={"file": source},
    )
