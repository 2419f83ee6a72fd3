"""Genome intervals (BED, narrowPeak) and reference genomes (FASTA through pyfaidx).

Coordinates
-----------
Everything here is **0-based, half-open**, as BED files are: ``start`` is the first base,
``end`` one past the last, so an interval covers ``end - start`` bases. A narrowPeak summit is
an offset from ``start`` (column 10; ``-1`` means none), so the summit base is
``start + summit``. :meth:`Genome.fetch` takes the same coordinates. No other module of seqcnn
shifts coordinates.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from seqcnn.exceptions import InputError
from seqcnn.io.text import read_text
from seqcnn.sequence import reverse_complement

__all__ = ["read_bed", "windows", "overlaps", "merge_intervals", "Genome", "BED_COLUMNS"]

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
    return values.astype(np.int64).to_numpy()


def read_bed(path: str | os.PathLike) -> pd.DataFrame:
    """Read a BED or narrowPeak file (plain or gzipped).

    Parameters
    ----------
    path : str or os.PathLike
        Tab-separated (or, failing tabs, white-space separated) intervals; ``track``,
        ``browser`` and ``#`` lines and blank lines are skipped.

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
    raw = read_text(p, "BED").split("\n")
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
    empty = np.flatnonzero(end <= start)
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
        df["score"] = pd.to_numeric(score.where(score != ".", "nan"), errors="coerce")
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
            df[col] = pd.to_numeric(table[j].str.strip(), errors="coerce")
        summit = _int_column(table[9].str.strip(), "summit", p, lines)
        outside = np.flatnonzero((summit < -1) | (summit >= end - start))
        if outside.size:
            i = int(outside[0])
            raise InputError(
                f"summit offset {summit[i]} lies outside the peak [{start[i]}, {end[i]})",
                path=p,
                line=int(lines[i]),
            )
        df["summit"] = summit
    df["line"] = lines
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


def _default_cache_dir() -> Path:
    env = os.environ.get("SEQCNN_CACHE_DIR")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "seqcnn"


def _gzip_kind(path: Path) -> str | None:
    """``"bgzf"``, ``"gzip"`` or ``None`` (not compressed)."""
    with open(path, "rb") as fh:
        head = fh.read(18)
    if head[:2] != b"\x1f\x8b":
        return None
    bgzf = len(head) >= 16 and head[3] & 4 and head[12:14] == b"BC"
    return "bgzf" if bgzf else "gzip"


def _writable(directory: Path) -> bool:
    # The mode bits count too: root passes os.access everywhere, yet a folder marked
    # read-only (shared reference data) should not get index files written into it.
    try:
        marked_writable = bool(directory.stat().st_mode & 0o222)
    except OSError:
        return False
    return marked_writable and os.access(directory, os.W_OK | os.X_OK)


class Genome:
    """A reference genome: a dict-like view of a FASTA file through :mod:`pyfaidx`.

    Parameters
    ----------
    path : str or os.PathLike
        FASTA, plain, bgzip-compressed or plain-gzipped.
    cache_dir : str or os.PathLike, optional
        Where to put what cannot go beside the FASTA: the ``.fai``/``.gzi`` index when the
        FASTA's folder is read-only, and the decompressed copy of a plain-gzipped FASTA
        (pyfaidx reads only plain and bgzip files). Default: ``$SEQCNN_CACHE_DIR``, else
        ``~/.cache/seqcnn``. Cached files are named after the FASTA's path, size and time of
        modification, so an edited FASTA gets a fresh copy.
    upper : bool
        Return upper-case sequences. By default sequences come back as stored (soft-masked
        repeats in lower case); :func:`seqcnn.sequence.one_hot_encode` treats both alike.

    Notes
    -----
    Coordinates are 0-based half-open, as in BED: ``genome.fetch("chr1", 0, 10)`` is the
    first ten bases; ``genome["chr1"][0:10]`` (a pyfaidx record) is the same.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "g.fa"
    >>> _ = p.write_text(">chrA\\nACGTACGTAC\\nGG\\n>chrB\\nTTTT\\n")
    >>> g = Genome(p)
    >>> g.fetch("chrA", 8, 12), g.chrom_sizes, "chrB" in g
    ('ACGG', {'chrA': 12, 'chrB': 4}, True)
    """

    def __init__(
        self,
        path: str | os.PathLike,
        cache_dir: str | os.PathLike | None = None,
        upper: bool = False,
    ) -> None:
        import pyfaidx

        self.path = Path(path)
        if not self.path.exists():
            raise InputError("genome FASTA not found", path=self.path)
        if self.path.is_dir():
            raise InputError("expected a genome FASTA file, found a directory", path=self.path)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else _default_cache_dir()
        self.upper = upper
        kind = _gzip_kind(self.path)
        fasta_path = self.path
        if kind == "gzip":
            fasta_path = self._decompressed()
        index_dir = fasta_path.parent
        fai = Path(str(fasta_path) + ".fai")
        gzi = Path(str(fasta_path) + ".gzi")
        have_index = fai.exists() and (kind != "bgzf" or gzi.exists())
        if not have_index and not _writable(index_dir):
            index_dir = self._cache_subdir()
            fai = index_dir / (fasta_path.name + ".fai")
            gzi = index_dir / (fasta_path.name + ".gzi")
        try:
            self._fasta = pyfaidx.Fasta(
                str(fasta_path),
                indexname=str(fai),
                gzi_indexname=str(gzi) if kind == "bgzf" else None,
                as_raw=True,
                sequence_always_upper=upper,
                rebuild=_writable(index_dir),
            )
        except pyfaidx.FastaIndexingError as err:
            raise InputError(f"cannot index the genome FASTA: {err}", path=self.path) from err
        except (OSError, ValueError, RuntimeError) as err:
            raise InputError(f"cannot read the genome FASTA: {err}", path=self.path) from err
        self.fasta_path = fasta_path
        self.chrom_sizes: dict[str, int] = {k: len(v) for k, v in self._fasta.records.items()}

    def _cache_subdir(self) -> Path:
        st = self.path.stat()
        key = f"{self.path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()
        d = self.cache_dir / "genomes" / hashlib.sha1(key).hexdigest()[:16]
        d.mkdir(parents=True, exist_ok=True)
        return d

    def _decompressed(self) -> Path:
        """A plain copy of a plain-gzipped FASTA in the cache (made once, atomically)."""
        d = self._cache_subdir()
        name = self.path.name[:-3] if self.path.name.endswith(".gz") else self.path.name + ".fa"
        target = d / name
        if not target.exists():
            fd, tmp = tempfile.mkstemp(dir=d, suffix=".part")
            try:
                with os.fdopen(fd, "wb") as out, gzip.open(self.path, "rb") as src:
                    shutil.copyfileobj(src, out, length=1 << 22)
                os.replace(tmp, target)
            except (OSError, EOFError) as err:
                Path(tmp).unlink(missing_ok=True)
                raise InputError(f"cannot decompress the genome: {err}", path=self.path) from err
        return target

    # dict-like access
    def __contains__(self, chrom: object) -> bool:
        return chrom in self.chrom_sizes

    def __iter__(self) -> Iterator[str]:
        return iter(self.chrom_sizes)

    def __len__(self) -> int:
        return len(self.chrom_sizes)

    def keys(self):
        """Contig names, in file order."""
        return self.chrom_sizes.keys()

    def __getitem__(self, chrom: str):
        """The pyfaidx record of ``chrom`` (0-based slicing); :class:`InputError` if absent."""
        self._check_chrom(chrom)
        return self._fasta[chrom]

    def __repr__(self) -> str:
        return f"Genome({str(self.path)!r}, {len(self)} contigs)"

    def close(self) -> None:
        """Close the FASTA file."""
        self._fasta.close()

    def __enter__(self) -> Genome:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _check_chrom(self, chrom: str, path=None, line=None, record=None) -> None:
        if chrom not in self.chrom_sizes:
            names = list(self.chrom_sizes)
            shown = ", ".join(names[:10]) + (" ..." if len(names) > 10 else "")
            raise InputError(
                f"contig {chrom!r} is not in the genome {self.path.name} (contigs: {shown})",
                path=path,
                line=line,
                record=record,
            )

    def fetch(self, chrom: str, start: int, end: int) -> str:
        """The sequence of ``chrom`` from ``start`` to ``end`` (0-based half-open).

        Raises
        ------
        InputError
            Unknown contig, ``start < 0``, ``end`` past the contig end, or ``end < start``.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "g.fa"
        >>> _ = p.write_text(">c\\nACGTAC\\n")
        >>> Genome(p).fetch("c", 1, 4)
        'CGT'
        """
        self._check_chrom(chrom)
        size = self.chrom_sizes[chrom]
        if start < 0 or end > size or end < start:
            raise InputError(
                f"window {chrom}:{start}-{end} is outside contig {chrom!r} "
                f"(0-{size}, 0-based half-open) of the genome {self.path.name}"
            )
        return self._fasta[chrom][start:end]

    def check(self, bed: pd.DataFrame, path: str | os.PathLike | None = None) -> None:
        """Raise :class:`InputError` for the first interval on an unknown contig or off its end.

        The message names the contig, the genome and the BED file and line (from the
        ``line`` column and ``bed.attrs["path"]``, or ``path``), else the interval's name.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "g.fa"
        >>> _ = p.write_text(">c\\nACGTAC\\n")
        >>> Genome(p).check(pd.DataFrame({"chrom": ["c"], "start": [0], "end": [6]}))
        """
        where = path if path is not None else bed.attrs.get("path")
        chrom = bed["chrom"].astype(str).to_numpy()
        start = bed["start"].to_numpy(dtype=np.int64)
        end = bed["end"].to_numpy(dtype=np.int64)
        sizes = pd.Series(self.chrom_sizes, dtype=np.int64)
        size = pd.Series(chrom).map(sizes).to_numpy(dtype=np.float64)

        def loc(i: int) -> dict:
            if "line" in bed.columns:
                return {"path": where, "line": int(bed["line"].iloc[i])}
            name = bed["name"].iloc[i] if "name" in bed.columns else f"row {i + 1}"
            return {"path": where, "record": str(name)}

        unknown = np.flatnonzero(np.isnan(size))
        if unknown.size:
            i = int(unknown[0])
            self._check_chrom(chrom[i], **loc(i))
        off = np.flatnonzero((start < 0) | (end > size))
        if off.size:
            i = int(off[0])
            raise InputError(
                f"window {chrom[i]}:{start[i]}-{end[i]} runs off contig {chrom[i]!r} "
                f"(length {int(size[i])}) of the genome {self.path.name}; "
                f"{off.size} interval(s) do",
                **loc(i),
            )

    def fetch_intervals(
        self,
        bed: pd.DataFrame,
        stranded: bool = False,
        path: str | os.PathLike | None = None,
    ) -> list[str]:
        """The sequences of many intervals (``chrom start end``, 0-based half-open).

        Parameters
        ----------
        bed : pandas.DataFrame
            Intervals, e.g. from :func:`read_bed` or :func:`windows`.
        stranded : bool
            Reverse-complement intervals whose ``strand`` is ``-``.
        path : str or os.PathLike, optional
            The BED file, for messages (default ``bed.attrs["path"]``).

        Returns
        -------
        list of str (N,)

        Raises
        ------
        InputError
            See :meth:`check`: the first interval on an unknown contig or off its end.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "g.fa"
        >>> _ = p.write_text(">c\\nAACCGGTT\\n")
        >>> bed = pd.DataFrame({"chrom": ["c", "c"], "start": [0, 4], "end": [3, 8],
        ...                     "strand": ["+", "-"]})
        >>> Genome(p).fetch_intervals(bed, stranded=True)
        ['AAC', 'AACC']
        """
        self.check(bed, path=path)
        chrom = bed["chrom"].astype(str).tolist()
        start = bed["start"].to_numpy(dtype=np.int64).tolist()
        end = bed["end"].to_numpy(dtype=np.int64).tolist()
        records = {c: self._fasta[c] for c in set(chrom)}
        seqs = [records[c][s:e] for c, s, e in zip(chrom, start, end, strict=True)]
        if stranded and "strand" in bed.columns:
            minus = np.flatnonzero(bed["strand"].to_numpy() == "-")
            for i, rc in zip(minus, reverse_complement([seqs[i] for i in minus]), strict=True):
                seqs[i] = rc
        return seqs

    def contig(self, chrom: str) -> str:
        """The whole sequence of a contig (read once; for many random windows on it)."""
        self._check_chrom(chrom)
        return self._fasta[chrom][:]
