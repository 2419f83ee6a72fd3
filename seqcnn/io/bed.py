"""Genome intervals (BED, narrowPeak): reading, windows around summits, overlaps.

Coordinates
-----------
Everything here is **0-based, half-open**, as BED files are: ``start`` is the first base,
``end`` one past the last, so an interval covers ``end - start`` bases. A narrowPeak summit is
an offset from ``start`` (column 10; ``-1`` means none), so the summit base is
``start + summit``. :meth:`Genome.fetch` takes the same coordinates. No other module of seqcnn
shifts coordinates.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from seqcnn.exceptions import InputError
from seqcnn.io.text import read_text

__all__ = [
    "read_bed",
    "windows",
    "iter_tiles",
    "overlaps",
    "merge_intervals",
    "parse_region",
    "BED_COLUMNS",
]

#: Columns of the frame :func:`read_bed` returns (``summit`` and the narrowPeak scores only
#: for narrowPeak files; ``line`` is the 1-based line in the file).
BED_COLUMNS = ("chrom", "start", "end", "name", "score", "strand")
_SKIP_PREFIXES = ("track", "browser", "#")


def _int_column(values: pd.Series, what: str, path: Path, lines: np.ndarray) -> np.ndarray:
    ok = values.str.fullmatch(r"[+-]?\d+").to_numpy(dtype=bool)
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise InputError(
            f"{what} {values.iloc[i]!r} is not an integer", path=path, line=int(lines[i])
        )
    try:
        return values.astype(np.int64).to_numpy()
    except (OverflowError, ValueError):
        big = values.astype(object).map(lambda v: abs(int(v)) >= 2**63).to_numpy(dtype=bool)
        i = int(np.flatnonzero(big)[0]) if big.any() else 0
        raise InputError(
            f"{what} {values.iloc[i]!r} is too large for a genome coordinate",
            path=path,
            line=int(lines[i]),
        ) from None


def read_bed(path: str | os.PathLike, skip_invalid: bool = False) -> pd.DataFrame:
    """Read a BED or narrowPeak file (plain or gzipped).

    Parameters
    ----------
    path : str or os.PathLike
        Tab-separated (or, failing tabs, white-space separated) intervals; ``track``,
        ``browser`` and ``#`` lines and blank lines are skipped.
    skip_invalid : bool
        Instead of raising, mark zero-length intervals (``end == start``) and summits outside
        their peak in a ``status`` column (``zero_length``, ``summit_outside_peak``, else
        ``ok``; such summits become ``-1``), for callers that skip and count them.

    Returns
    -------
    pandas.DataFrame
        Columns ``chrom start end name score strand`` (0-based half-open ``int64`` start/end,
        as in the file; ``name`` defaults to ``chrom:start-end``, ``score`` to NaN, ``strand``
        to ``.``), ``line`` (1-based line number in the file) and, for narrowPeak files
        (``.narrowPeak`` extension, or exactly 10 columns), ``signal pvalue qvalue summit``
        (``summit``: offset of the peak from ``start``, ``-1`` where there is none).
        ``df.attrs["path"]`` is the file.

    Raises
    ------
    InputError
        Naming the file and line: missing or empty file, fewer than 3 columns, a start or end
        that is not an integer, a negative start, ``end <= start``, a summit outside its peak.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.bed"
    >>> _ = p.write_text("track name=x\\nchr1\\t10\\t20\\tpeak1\\nchr2\\t5\\t8\\n")
    >>> df = read_bed(p)
    >>> df[["chrom", "start", "end", "name", "line"]].values.tolist()
    [['chr1', 10, 20, 'peak1', 2], ['chr2', 5, 8, 'chr2:5-8', 3]]
    """
    p = Path(path)
    text = read_text(p, "BED")
    fast = _read_bed_fast(text, p)
    if fast is not None:
        if skip_invalid:
            fast["status"] = "ok"
        return fast
    return _read_bed_lines(text, p, skip_invalid)


def _line_table(text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """``(bytes, line starts, line ends, kept)`` of the text, found with numpy; ``None``
    when it is not plain tab-separated ASCII (the line-by-line reader handles that)."""
    try:
        data = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    except UnicodeEncodeError:
        return None
    if data.size == 0:
        return None
    ends = np.flatnonzero(data == 10)
    if not ends.size or ends[-1] != data.size - 1:
        ends = np.append(ends, data.size)
    starts = np.concatenate([[0], ends[:-1] + 1])
    empty = starts >= ends
    first = np.where(empty, 0, data[np.minimum(starts, data.size - 1)])
    kept = ~empty & (first != ord("#"))
    for prefix in ("track", "browser"):  # only lines starting with t or b are compared
        cand = np.flatnonzero(kept & (first == ord(prefix[0])))
        kept[[i for i in cand.tolist() if text.startswith(prefix, int(starts[i]))]] = False
    return data, starts, ends, kept


def _read_bed_fast(text: str, p: Path) -> pd.DataFrame | None:
    """Well-formed tab-separated files, parsed by pandas' C reader; ``None`` for anything
    else, which :func:`_read_bed_lines` then reads (and reports) line by line."""
    import csv
    import io

    table = _line_table(text)
    if table is None:
        return None
    data, starts, ends, kept = table
    if not kept.any():
        return None
    tabs = np.flatnonzero(data == 9)
    widths = np.searchsorted(tabs, ends) - np.searchsorted(tabs, starts) + 1
    widths = widths[kept]
    if widths.min() < 3 or widths.max() > 64:
        return None
    ncol = int(widths.max())
    if kept.all():
        body = text
    else:
        keep_bytes = np.repeat(kept, ends - starts + 1)[: data.size]
        body = data[keep_bytes].tobytes().decode("ascii")
    if any(c in body for c in " \r\x0b\x0c"):
        return None  # space-padded or space-separated fields, CRLF: the careful reader
    narrow = "narrowpeak" in p.name.lower() or bool((widths == 10).all())
    if narrow and widths.min() < 10:
        return None
    dtypes = {0: str, 1: np.int64, 2: np.int64}
    dtypes.update({j: str for j in range(3, ncol)})
    if ncol > 4:
        dtypes[4] = np.float64
    if narrow:
        dtypes.update({6: np.float64, 7: np.float64, 8: np.float64, 9: np.int64})
    try:
        table = pd.read_csv(
            io.StringIO(body),
            sep="\t",
            header=None,
            names=range(ncol),
            dtype=dtypes,
            na_values={4: ["."], 6: ["."], 7: ["."], 8: ["."]},
            keep_default_na=False,
            quoting=csv.QUOTE_NONE,
            engine="c",
        )
    except (ValueError, OverflowError, pd.errors.ParserError):
        return None  # a field that is not what it should be: the careful reader names it
    lines = np.flatnonzero(kept) + 1
    if len(table) != len(lines):
        return None
    start = table[1].to_numpy()
    end = table[2].to_numpy()
    if start.dtype != np.int64 or end.dtype != np.int64:
        return None
    if (start < 0).any() or (end <= start).any():
        return None
    chrom = table[0].astype(str)
    df = pd.DataFrame({"chrom": chrom, "start": start, "end": end})
    if ncol > 3:
        name = table[3].fillna("").astype(str)
        missing = (name == "").to_numpy()
    else:
        name, missing = None, np.ones(len(table), dtype=bool)
    if missing.any():
        sub = np.flatnonzero(missing)
        made = chrom.iloc[sub] + ":" + table[1].iloc[sub].astype(str)
        made = made + "-" + table[2].iloc[sub].astype(str)
        if name is None:
            name = made
        else:
            name = name.copy()
            name.iloc[sub] = made.to_numpy()
    df["name"] = name.to_numpy(dtype=object)
    df["score"] = table[4].to_numpy(dtype=np.float64) if ncol > 4 else np.nan
    if ncol > 5:
        strand = table[5].fillna("").astype(str)
        if not strand.isin(["+", "-", ".", ""]).all():
            return None
        df["strand"] = strand.where(strand != "", ".").to_numpy(dtype=object)
    else:
        df["strand"] = "."
    if narrow:
        for j, col in ((6, "signal"), (7, "pvalue"), (8, "qvalue")):
            df[col] = table[j].to_numpy(dtype=np.float64)
        summit = table[9].to_numpy()
        if summit.dtype != np.int64 or ((summit < -1) | (summit >= end - start)).any():
            return None
        df["summit"] = summit
    df["line"] = lines.astype(np.int64)
    df.attrs["path"] = str(p)
    return df


def _read_bed_lines(text: str, p: Path, skip_invalid: bool = False) -> pd.DataFrame:
    """The line-by-line reader: any layout pandas' reader refuses, with exact messages."""
    raw = text.split("\n")
    kept, numbers = [], []
    for number, line in enumerate(raw, start=1):
        s = line.rstrip("\r")
        if not s.strip() or s.lstrip().startswith(_SKIP_PREFIXES):
            continue
        kept.append(s)
        numbers.append(number)
    if not kept:
        raise InputError("no intervals in the file (empty, or only header lines)", path=p)
    lines = np.asarray(numbers, dtype=np.int64)
    fields = [s.split("\t") if "\t" in s else s.split() for s in kept]
    widths = np.fromiter(map(len, fields), dtype=np.int64, count=len(fields))
    short = np.flatnonzero(widths < 3)
    if short.size:
        i = int(short[0])
        raise InputError(
            f"expected at least 3 tab-separated columns (chrom, start, end), found {widths[i]}",
            path=p,
            line=int(lines[i]),
        )
    ncol = int(widths.max())
    table = pd.DataFrame([f + [""] * (ncol - len(f)) for f in fields], dtype=str)
    chrom = table[0].str.strip()
    start = _int_column(table[1].str.strip(), "start", p, lines)
    end = _int_column(table[2].str.strip(), "end", p, lines)
    neg = np.flatnonzero(start < 0)
    if neg.size:
        i = int(neg[0])
        raise InputError(f"negative start {start[i]}", path=p, line=int(lines[i]))
    status = np.full(len(start), "ok", dtype=object)
    if skip_invalid:  # zero-length intervals are skipped (and counted) by the caller
        status[end == start] = "zero_length"
    empty = np.flatnonzero(end < start if skip_invalid else end <= start)
    if empty.size:
        i = int(empty[0])
        raise InputError(
            f"end {end[i]} is not after start {start[i]} (BED is 0-based half-open)",
            path=p,
            line=int(lines[i]),
        )
    df = pd.DataFrame({"chrom": chrom, "start": start, "end": end})
    default_names = chrom + ":" + table[1].str.strip() + "-" + table[2].str.strip()
    if ncol > 3:
        name = table[3].str.strip()
        df["name"] = name.where(name != "", default_names)
    else:
        df["name"] = default_names
    if ncol > 4:
        score = table[4].str.strip()
        score = pd.to_numeric(score.where(score != ".", "nan"), errors="coerce")
        df["score"] = score.astype(np.float64)
    else:
        df["score"] = np.nan
    if ncol > 5:
        strand = table[5].str.strip()
        bad = ~strand.isin(["+", "-", ".", ""]).to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"strand {strand.iloc[i]!r} is not '+', '-' or '.'", path=p, line=int(lines[i])
            )
        df["strand"] = strand.where(strand != "", ".")
    else:
        df["strand"] = "."
    is_narrowpeak = "narrowpeak" in p.name.lower() or bool((widths == 10).all())
    if is_narrowpeak:
        if not (widths >= 10).all():
            i = int(np.flatnonzero(widths < 10)[0])
            raise InputError(
                f"a narrowPeak line needs 10 columns, found {widths[i]}", path=p, line=int(lines[i])
            )
        for j, col in ((6, "signal"), (7, "pvalue"), (8, "qvalue")):
            df[col] = pd.to_numeric(table[j].str.strip(), errors="coerce").astype(np.float64)
        summit = _int_column(table[9].str.strip(), "summit", p, lines)
        outside = np.flatnonzero((summit < -1) | ((summit >= end - start) & (end > start)))
        if skip_invalid and outside.size:
            status[outside] = np.where(
                status[outside] == "ok", "summit_outside_peak", status[outside]
            )
            summit = summit.copy()
            summit[outside] = -1
            outside = outside[:0]
        if outside.size:
            i = int(outside[0])
            raise InputError(
                f"summit offset {summit[i]} lies outside the peak [{start[i]}, {end[i]})",
                path=p,
                line=int(lines[i]),
            )
        df["summit"] = summit
    df["line"] = lines
    if skip_invalid:
        df["status"] = status.astype(str)
    df.attrs["path"] = str(p)
    return df


def windows(bed: pd.DataFrame, length: int, center: str = "summit") -> pd.DataFrame:
    """Fixed-length windows centred on each interval's summit or middle.

    Parameters
    ----------
    bed : pandas.DataFrame
        From :func:`read_bed` (needs ``chrom start end``; ``summit`` is used when present).
    length : int
        Window length in bp.
    center : {"summit", "middle"}
        ``"summit"``: the narrowPeak summit (``start + summit``) where there is one, else the
        middle; ``"middle"``: ``(start + end) // 2``.

    Returns
    -------
    pandas.DataFrame
        A copy of ``bed`` with ``start``/``end`` replaced by the window (0-based half-open:
        ``start = centre - length // 2``, ``end = start + length``, so the centre base is at
        index ``length // 2``), the original interval in ``peak_start``/``peak_end``, and the
        centre base in ``center``. Windows may run off a contig: :meth:`Genome.check` and
        :meth:`Genome.fetch_intervals` report them with the BED line.

    Examples
    --------
    >>> bed = pd.DataFrame({"chrom": ["chr1"], "start": [100], "end": [200]})
    >>> windows(bed, 11)[["start", "end", "center"]].values.tolist()
    [[145, 156, 150]]
    """
    if center not in ("summit", "middle"):
        raise ValueError(f"center must be 'summit' or 'middle', got {center!r}")
    if length < 1:
        raise ValueError(f"length must be >= 1, got {length}")
    out = bed.copy()
    start = bed["start"].to_numpy(dtype=np.int64)
    end = bed["end"].to_numpy(dtype=np.int64)
    mid = (start + end) // 2
    if center == "summit" and "summit" in bed.columns:
        summit = bed["summit"].to_numpy(dtype=np.int64)
        mid = np.where(summit >= 0, start + summit, mid)
    out["peak_start"] = start
    out["peak_end"] = end
    out["center"] = mid
    out["start"] = mid - length // 2
    out["end"] = out["start"] + length
    out.attrs = dict(bed.attrs)
    return out


def iter_tiles(
    bed: pd.DataFrame, length: int, stride: int, block: int = 8192
) -> Iterator[pd.DataFrame]:
    """Windows of ``length`` bp every ``stride`` bp across each interval, in blocks of at most
    ``block`` windows (a whole chromosome is never tiled at once).

    Each interval ``[s, e)`` gets windows starting at ``s, s + stride, ...`` while they fit,
    then one ending at ``e`` if the last did not reach it, so that every base is covered; an
    interval shorter than ``length`` gets one window centred on it (which may run off the
    contig: :meth:`Genome.status` reports it).

    Returns
    -------
    iterator of pandas.DataFrame
        Columns ``chrom start end name`` (``name``: the interval's name, ``:k`` for its k-th
        window), ``peak_start peak_end`` (the interval) and the interval's other columns.

    Examples
    --------
    >>> bed = pd.DataFrame({"chrom": ["c", "c"], "start": [0, 100], "end": [25, 104],
    ...                     "name": ["a", "b"]})
    >>> next(iter_tiles(bed, 10, 8))[["name", "start", "end"]].values.tolist()
    [['a:0', 0, 10], ['a:1', 8, 18], ['a:2', 15, 25], ['b:0', 97, 107]]
    """
    if length < 1 or stride < 1:
        raise ValueError(f"length and stride must be >= 1, got {length} and {stride}")
    start = bed["start"].to_numpy(dtype=np.int64)
    end = bed["end"].to_numpy(dtype=np.int64)
    span = end - start
    regular = np.where(span >= length, (span - length) // stride + 1, 0)
    tail = (span >= length) & ((regular - 1) * stride + length < span)
    count = np.maximum(regular + tail, 1)  # windows per interval
    first = np.zeros(len(bed) + 1, dtype=np.int64)
    np.cumsum(count, out=first[1:])  # global index of each interval's first window
    names = bed["name"].astype(str).to_numpy() if "name" in bed.columns else None
    for lo in range(0, int(first[-1]), block):
        hi = min(lo + block, int(first[-1]))
        idx = np.arange(lo, hi)
        row = np.searchsorted(first, idx, side="right") - 1  # the interval of each window
        k = idx - first[row]
        w_start = start[row] + k * stride
        w_start = np.where(tail[row] & (k == regular[row]), end[row] - length, w_start)
        w_start = np.where(span[row] < length, (start[row] + end[row]) // 2 - length // 2, w_start)
        out = bed.iloc[row].reset_index(drop=True)
        out["peak_start"], out["peak_end"] = start[row], end[row]
        out["start"], out["end"] = w_start, w_start + length
        if names is not None:
            out["name"] = np.char.add(np.char.add(names[row], ":"), k.astype(str))
        out.attrs = dict(bed.attrs)
        yield out


def merge_intervals(bed: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per contig, the sorted union of the intervals as ``(starts, ends)``.

    Touching intervals (``end == next start``) are merged too.

    Examples
    --------
    >>> bed = pd.DataFrame({"chrom": ["c", "c", "c"], "start": [5, 0, 20], "end": [12, 8, 30]})
    >>> [a.tolist() for a in merge_intervals(bed)["c"]]
    [[0, 20], [12, 30]]
    """
    merged = {}
    for chrom, group in bed.groupby("chrom", sort=False):
        s = group["start"].to_numpy(dtype=np.int64)
        e = group["end"].to_numpy(dtype=np.int64)
        order = np.argsort(s, kind="stable")
        s, e = s[order], e[order]
        run_end = np.maximum.accumulate(e)
        new = np.ones(len(s), dtype=bool)
        new[1:] = s[1:] > run_end[:-1]
        idx = np.flatnonzero(new)
        ends = np.maximum.reduceat(e, idx)
        merged[str(chrom)] = (s[idx], ends)
    return merged


def overlaps(
    chrom: np.ndarray | list[str] | pd.Series,
    start: np.ndarray,
    end: np.ndarray,
    reference: pd.DataFrame | dict[str, tuple[np.ndarray, np.ndarray]],
) -> np.ndarray:
    """Whether each interval ``[start, end)`` overlaps any interval of ``reference``.

    Parameters
    ----------
    chrom, start, end : array-like (N,)
        Query intervals, 0-based half-open.
    reference : pandas.DataFrame or dict
        Intervals (``chrom start end``), or :func:`merge_intervals` of them.

    Returns
    -------
    numpy.ndarray (N,) bool

    Examples
    --------
    >>> ref = pd.DataFrame({"chrom": ["c"], "start": [10], "end": [20]})
    >>> overlaps(["c", "c", "c", "d"], np.array([0, 19, 20, 10]), np.array([10, 25, 30, 20]), ref)
    array([False,  True, False, False])
    """
    merged = merge_intervals(reference) if isinstance(reference, pd.DataFrame) else reference
    chrom = np.asarray(chrom, dtype=object)
    start = np.asarray(start, dtype=np.int64)
    end = np.asarray(end, dtype=np.int64)
    hit = np.zeros(len(chrom), dtype=bool)
    for c, (rs, re) in merged.items():
        sel = np.flatnonzero(chrom == c)
        if not sel.size:
            continue
        j = np.searchsorted(rs, end[sel], side="left") - 1  # last reference starting before end
        ok = j >= 0
        hit[sel[ok]] = re[j[ok]] > start[sel[ok]]
    return hit


def parse_region(text: str) -> tuple[str, int, int]:
    """A region written ``chrom:start-end`` (1-based, inclusive, as samtools and tabix).

    Parameters
    ----------
    text : str
        ``chr1:1001-1100`` (thousands separators allowed: ``chr1:1,001-1,100``); the last
        ``:`` separates the contig name, which may contain ``:`` itself.

    Returns
    -------
    (str, int, int)
        The contig and the **0-based, half-open** ``start, end`` (``chr1:1001-1100`` is
        ``("chr1", 1000, 1100)``, 100 bases).

    Examples
    --------
    >>> parse_region("chr1:1,001-1,100")
    ('chr1', 1000, 1100)
    """
    chrom, sep, span = str(text).strip().rpartition(":")
    first, dash, last = span.replace(",", "").partition("-")
    if not sep or not chrom or not dash or not first.isdigit() or not last.isdigit():
        raise InputError(
            f"region {text!r}: expected chrom:start-end, 1-based and inclusive (chr1:1001-1100)"
        )
    start, end = int(first), int(last)
    if start < 1 or end < start:
        raise InputError(
            f"region {text!r}: expected 1 <= start <= end (1-based, inclusive coordinates)"
        )
    return chrom, start - 1, end
