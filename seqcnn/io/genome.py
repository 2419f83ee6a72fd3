"""Reference genomes: a dict-like view of a FASTA file through :mod:`pyfaidx`.

Coordinates are **0-based, half-open**, as in BED: :meth:`Genome.fetch` takes ``start`` (the
first base) and ``end`` (one past the last). Plain, bgzip-compressed and plain-gzipped FASTA
files are read; index files go beside the FASTA, or into a cache when its folder is read-only.
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
from seqcnn.sequence import reverse_complement

__all__ = ["Genome", "gzip_kind"]


def _default_cache_dir() -> Path:
    env = os.environ.get("SEQCNN_CACHE_DIR")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "seqcnn"


def gzip_kind(path: Path) -> str | None:
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
        kind = gzip_kind(self.path)
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
