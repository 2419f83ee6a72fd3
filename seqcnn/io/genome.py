"""Reference genomes: each contig read once into a ``uint8`` array, windows as index gathers.

Coordinates are **0-based, half-open**, as in BED: :meth:`Genome.fetch` takes ``start`` (the
first base) and ``end`` (one past the last).

How the bases are held
----------------------
- A **plain** FASTA is read through its ``.fai`` index (built when missing, beside the FASTA
  or, when that folder is read-only, in the cache): each contig is read once, on first use,
  into a ``uint8`` array of its bytes (as stored: soft-masked bases stay lower case). Genomes
  larger than ``memory_limit`` are instead packed once into a cache file (the contigs' bytes
  without line breaks) that is memory-mapped, so the operating system keeps only the pages in
  use.
- A **compressed** FASTA (bgzip or plain gzip) is decompressed once, in one streaming pass,
  into the same packed cache file, memory-mapped by every later process.
- Windows are gathers from these arrays (:meth:`Genome.window_codes`): no FASTA call and no
  Python code per window.

Verification
------------
- An index older than its FASTA is rebuilt, with a warning.
- An index that does not match its FASTA (contig lengths or offsets that point at line breaks,
  headers or past the end of the file) is detected when the contig is read; it is rebuilt
  with a warning when it can be, and otherwise an :class:`~seqcnn.exceptions.InputError`
  says which file to delete or how to rebuild it. No window is ever shorter than asked for.
- A truncated or corrupt gzip/BGZF file is an :class:`~seqcnn.exceptions.InputError` naming
  the file.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tempfile
import warnings
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from seqcnn.exceptions import InputError
from seqcnn.io.text import gzip_kind

__all__ = ["Genome", "GenomeRows", "GenomeWarning", "gzip_kind", "BGZF_EOF"]

#: The empty block that ends every complete BGZF file (SAM/BAM specification, 4.1.2).
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
_DEFAULT_MEMORY_LIMIT = 1 << 30  # bases; larger genomes are memory-mapped from a cache file
_CACHE_FORMAT = 1


class GenomeWarning(UserWarning):
    """Something about a genome's files was fixed on the fly (a stale or wrong index)."""


def _default_cache_dir() -> Path:
    env = os.environ.get("SEQCNN_CACHE_DIR")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "seqcnn"


def _writable(directory: Path) -> bool:
    # The mode bits count too: root passes os.access everywhere, yet a folder marked
    # read-only (shared reference data) should not get index files written into it.
    try:
        marked_writable = bool(directory.stat().st_mode & 0o222)
    except OSError:
        return False
    return marked_writable and os.access(directory, os.W_OK | os.X_OK)


# ---------------------------------------------------------------------------- the .fai index
@dataclass(frozen=True)
class _Entry:
    """One line of a ``.fai``: where a contig's bases lie in the (uncompressed) file."""

    name: str
    length: int
    offset: int  # byte offset of the first base
    linebases: int  # bases per full line
    linewidth: int  # bytes per full line, line break included


class _Mismatch(Exception):
    """The index does not describe the file (internal; becomes a rebuild or an InputError)."""


def _parse_fai(path: Path) -> list[_Entry]:
    entries, seen = [], set()
    with open(path, encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            parts = line.rstrip("\r\n").split("\t")
            try:
                length, offset, lb, lw = (int(v) for v in parts[1:5])
            except ValueError:
                raise _Mismatch(f"line {number} is not 'name length offset bases width'") from None
            if len(parts) < 5 or min(length, offset, lb, lw) < 0 or lw < lb:
                raise _Mismatch(f"line {number} is not a valid index line")
            if (length > 0 and lb == 0) or parts[0] in seen:
                raise _Mismatch(f"line {number} is not a valid index line")
            seen.add(parts[0])
            entries.append(_Entry(parts[0], length, offset, lb, lw))
    if not entries:
        raise _Mismatch("the index is empty")
    return entries


def _contig_name(header: bytes, seen: set[str], path: Path, line: int) -> str:
    """The contig name of a FASTA header line (its first word), checked new; added to ``seen``."""
    words = header[1:].split()
    if not words:
        raise InputError("a FASTA header without a name", path=path, line=line)
    name = words[0].decode("utf-8", errors="replace")
    if name in seen:
        raise InputError(
            f"contig {name!r} appears twice; contig names must be unique", path=path, line=line
        )
    seen.add(name)
    return name


def _scan_fasta(path: Path) -> list[_Entry]:
    """Index a plain FASTA in one pass, as ``samtools faidx`` does (and as strictly).

    Every line of a record but the last must have the same length; blank lines may only end
    a record. Raises :class:`InputError` naming the line otherwise.
    """
    entries: list[_Entry] = []
    seen: set[str] = set()
    name = None
    offset = 0
    seq_offset = length = lb = lw = 0
    closed = False  # a short (or blank) line was seen: the record's last line
    blank_at = 0

    def finish() -> None:
        if name is not None:
            entries.append(_Entry(name, length, seq_offset, lb, lw))

    with open(path, "rb") as fh:
        for number, line in enumerate(fh, start=1):
            n = len(line)
            if line[:1] == b">":
                finish()
                name = _contig_name(line, seen, path, number)
                seq_offset, length, lb, lw, closed, blank_at = offset + n, 0, 0, 0, False, 0
            else:
                bases = line.rstrip(b"\r\n")
                b = len(bases)
                if name is None:
                    if bases.strip():
                        raise InputError(
                            "sequence before the first '>' header; is this a FASTA file?",
                            path=path,
                            line=number,
                        )
                elif b == 0:
                    blank_at = blank_at or number
                else:
                    if blank_at or (closed and b > 0):
                        raise InputError(
                            f"record {name!r} has lines of different lengths (or a blank line "
                            f"inside it, line {blank_at or number}); an indexed FASTA needs "
                            "equal-length lines; rewrap it, e.g. `seqkit seq -w 60`",
                            path=path,
                            line=number,
                        )
                    if lb == 0:
                        lb, lw = b, n
                    elif b > lb or (b == lb and n != lw and n != b):
                        raise InputError(
                            f"record {name!r} has lines of different lengths ({lb} and {b} "
                            "bases); an indexed FASTA needs equal-length lines; rewrap it, "
                            "e.g. `seqkit seq -w 60`",
                            path=path,
                            line=number,
                        )
                    elif b < lb or n != lw:
                        closed = True  # a shorter line, or the last one without a newline
                    length += b
            offset += n
    finish()
    if not entries:
        raise InputError("no FASTA records (no '>' header line)", path=path)
    return entries


def _write_fai(entries: list[_Entry], path: Path) -> None:
    text = "".join(
        f"{e.name}\t{e.length}\t{e.offset}\t{e.linebases}\t{e.linewidth}\n" for e in entries
    )
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".part")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


_NOT_BASES = np.zeros(256, dtype=bool)
_NOT_BASES[[ord(">"), ord("\n"), ord("\r")]] = True


def _read_contig(mm: np.ndarray, e: _Entry) -> np.ndarray:
    """The bases of one contig of a plain FASTA (``mm``: the file's bytes), verified.

    Raises :class:`_Mismatch` when the index does not match the file.
    """
    if e.length == 0:
        return np.zeros(0, dtype=np.uint8)
    size = mm.shape[0]
    nfull, rest = divmod(e.length, e.linebases)
    end = e.offset + nfull * e.linewidth + rest  # one past the last base (rest > 0)
    if rest == 0:
        end -= e.linewidth - e.linebases
    if end > size:
        raise _Mismatch(
            f"contig {e.name!r} ({e.length} bp from byte {e.offset}) runs past the end "
            f"of the file ({size} bytes)"
        )
    if e.offset > 0 and mm[e.offset - 1] != 10:
        raise _Mismatch(f"contig {e.name!r} does not start after a header line")
    block = mm[e.offset : e.offset + nfull * e.linewidth].reshape(nfull, e.linewidth)
    breaks = block[:, e.linebases :]
    if rest == 0 and nfull:
        # the last full line may end the file without a line break
        whole = breaks[:-1]
        last = mm[end : min(end + e.linewidth - e.linebases, size)]
    else:
        whole, last = breaks, mm[end : end + 1]
    eol = np.frombuffer(b"\r\n"[2 - (e.linewidth - e.linebases) :], dtype=np.uint8)
    if eol.size != breaks.shape[1] or (whole.size and not (whole == eol).all()):
        raise _Mismatch(f"contig {e.name!r}: its line breaks are not where the index says")
    if last.size and last[0] not in (10, 13):
        raise _Mismatch(f"contig {e.name!r} is longer in the file than its index says")
    tail = mm[e.offset + nfull * e.linewidth : end]
    bases = np.concatenate([block[:, : e.linebases].ravel(), tail])
    for i in range(0, bases.shape[0], 1 << 24):  # in chunks: no contig-sized temporaries
        if _NOT_BASES[bases[i : i + (1 << 24)]].any():
            raise _Mismatch(f"contig {e.name!r}: line breaks or headers where the index says bases")
    return bases


# ---------------------------------------------------------------------------- compressed files
def _check_bgzf_eof(path: Path) -> None:
    size = path.stat().st_size
    with open(path, "rb") as fh:
        fh.seek(max(0, size - len(BGZF_EOF)))
        tail = fh.read()
    if tail != BGZF_EOF:
        raise InputError(
            "the bgzip-compressed genome is truncated (its end-of-file block is missing); "
            "download it again, or recompress the FASTA with `bgzip`",
            path=path,
        )


def _pack_stream(src: Path, out, name_of_file: Path) -> list[_Entry]:
    """Decompress a gzip/BGZF FASTA into ``out`` (a binary file): the contigs' bases, one
    after the other, no line breaks. Returns the entries (``linebases = linewidth = 0``)."""
    entries: list[_Entry] = []
    seen: set[str] = set()
    name, start, written = None, 0, 0
    buf: list[bytes] = []
    buffered = 0
    number = 0
    try:
        with gzip.open(src, "rb") as fh:
            for number, line in enumerate(fh, start=1):  # noqa: B007 (used after the loop)
                if line[:1] == b">":
                    if name is not None:
                        entries.append(_Entry(name, written - start, start, 0, 0))
                    name = _contig_name(line, seen, src, number)
                    start = written
                    continue
                bases = line.rstrip(b"\r\n")
                if name is None:
                    if bases.strip():
                        raise InputError(
                            "sequence before the first '>' header; is this a FASTA file?",
                            path=src,
                            line=number,
                        )
                    continue
                buf.append(bases)
                buffered += len(bases)
                written += len(bases)
                if buffered >= 1 << 22:
                    out.write(b"".join(buf))
                    buf, buffered = [], 0
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise InputError(
            f"the compressed genome is truncated or corrupt ({err}) after line {number}; "
            "check it with `gzip -t`, download it again, or recompress it with `bgzip`",
            path=name_of_file,
        ) from err
    if name is None:
        raise InputError("no FASTA records (no '>' header line)", path=src)
    entries.append(_Entry(name, written - start, start, 0, 0))
    out.write(b"".join(buf))
    return entries


class Contig:
    """One contig of a :class:`Genome`: ``len()`` and 0-based slicing to a string."""

    def __init__(self, genome: Genome, name: str) -> None:
        self.genome, self.name = genome, name

    def __len__(self) -> int:
        return self.genome.chrom_sizes[self.name]

    def __getitem__(self, key: slice) -> str:
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError("a contig is sliced with [start:end]")
        start, stop, _ = key.indices(len(self))
        return self.genome.fetch(self.name, start, max(start, stop))

    def __repr__(self) -> str:
        return f"Contig({self.name!r}, {len(self)} bp)"


_COMPLEMENT_BYTES = bytes.maketrans(
    b"ACGTRYSWKMBDHVNacgtryswkmbdhvn", b"TGCAYRSWMKVHDBNtgcayrswmkvhdbn"
)
_COMPLEMENT_LUT = np.frombuffer(_COMPLEMENT_BYTES, dtype=np.uint8)
_UPPER_LUT = np.frombuffer(bytes(range(256)).upper(), dtype=np.uint8)


class Genome:
    """A reference genome: its contigs as ``uint8`` arrays, read once, windows as gathers.

    Parameters
    ----------
    path : str or os.PathLike
        FASTA, plain, bgzip-compressed or plain-gzipped.
    cache_dir : str or os.PathLike, optional
        Where to put what cannot go beside the FASTA: the ``.fai`` index when the FASTA's
        folder is read-only, and the packed bases of compressed or large genomes. Default:
        ``$SEQCNN_CACHE_DIR``, else ``~/.cache/seqcnn``. Cached files are named after the
        FASTA's path, size and time of modification, so an edited FASTA gets fresh ones.
    upper : bool
        Return upper-case sequences from :meth:`fetch`. By default sequences come back as
        stored (soft-masked repeats in lower case); encoding treats both alike.
    memory_limit : int, optional
        Plain genomes with more bases than this are packed into a memory-mapped cache file
        instead of being read into memory (default ``$SEQCNN_GENOME_MEMORY`` or 2**30).

    Notes
    -----
    Coordinates are 0-based half-open, as in BED: ``genome.fetch("chr1", 0, 10)`` is the
    first ten bases; ``genome["chr1"][0:10]`` is the same.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "g.fa"
    >>> _ = p.write_text(">chrA\\nACGTACGTAC\\nGG\\n>chrB\\nTTTT\\n")
    >>> g = Genome(p)
    >>> g.fetch("chrA", 8, 12), g.chrom_sizes, "chrB" in g
    ('ACGG', {'chrA': 12, 'chrB': 4}, True)
    >>> g.window_codes(["chrA", "chrB"], [0, 1], 3).tobytes()
    b'ACGTTT'
    """

    def __init__(
        self,
        path: str | os.PathLike,
        cache_dir: str | os.PathLike | None = None,
        upper: bool = False,
        memory_limit: int | None = None,
    ) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise InputError("genome FASTA not found", path=self.path)
        if self.path.is_dir():
            raise InputError("expected a genome FASTA file, found a directory", path=self.path)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else _default_cache_dir()
        self.upper = upper
        if memory_limit is None:
            memory_limit = int(os.environ.get("SEQCNN_GENOME_MEMORY", _DEFAULT_MEMORY_LIMIT))
        self.memory_limit = int(memory_limit)
        self._arrays: dict[str, np.ndarray] = {}
        self._mm: np.ndarray | None = None
        self.kind = gzip_kind(self.path)
        try:
            if self.kind is None:
                self._open_plain()
            else:
                if self.kind == "bgzf":
                    _check_bgzf_eof(self.path)
                self._open_packed()
        except PermissionError as err:
            raise InputError(f"cannot read the genome FASTA: {err}", path=self.path) from err
        self.chrom_sizes: dict[str, int] = {e.name: e.length for e in self._entries.values()}

    # ------------------------------------------------------------------ opening
    def _cache_subdir(self) -> Path:
        st = self.path.stat()
        key = f"{self.path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()
        d = self.cache_dir / "genomes" / hashlib.sha1(key).hexdigest()[:16]
        d.mkdir(parents=True, exist_ok=True)
        return d

    def _open_plain(self) -> None:
        self.fasta_path = self.path
        beside = Path(str(self.path) + ".fai")
        self.index_path = beside
        if not beside.exists() and not _writable(self.path.parent):
            self.index_path = self._cache_subdir() / (self.path.name + ".fai")
        entries = None
        if self.index_path == beside and beside.exists() and not _writable(self.path.parent):
            # a bad index beside a read-only FASTA is rebuilt into the cache: use that one
            cached = self._cache_subdir() / (self.path.name + ".fai")
            if (
                cached.exists()
                and self._usable(cached)
                and cached.stat().st_mtime_ns >= beside.stat().st_mtime_ns
            ):
                self.index_path = cached
        if self.index_path.exists():
            if self.index_path.stat().st_mtime_ns < self.path.stat().st_mtime_ns:
                self._note(f"the index {self.index_path} is older than the FASTA")
            else:
                try:
                    entries = _parse_fai(self.index_path)
                    self._check_extent(entries)
                except _Mismatch as err:
                    self._note(f"the index {self.index_path} does not match the FASTA ({err})")
        self._index_checked = entries is None
        if entries is None:
            entries = self._rebuild_index()
        self._entries = {e.name: e for e in entries}
        self._fasta_bytes = np.memmap(self.path, dtype=np.uint8, mode="r")
        total = sum(e.length for e in entries)
        if total > self.memory_limit:
            self._open_packed(from_plain=True)

    def _usable(self, index: Path) -> bool:
        try:
            fresh = index.stat().st_mtime_ns >= self.path.stat().st_mtime_ns
            self._check_extent(_parse_fai(index))
        except (_Mismatch, OSError):
            return False
        return fresh

    def _check_extent(self, entries: list[_Entry]) -> None:
        size = self.path.stat().st_size
        for e in entries:
            if e.offset > size:
                raise _Mismatch(f"contig {e.name!r} starts past the end of the file")

    def _note(self, what: str) -> None:
        warnings.warn(f"{what}; rebuilding it", GenomeWarning, stacklevel=4)

    def _rebuild_index(self) -> list[_Entry]:
        """Index the FASTA afresh and write the ``.fai`` where it can go."""
        entries = _scan_fasta(self.path)
        target = self.index_path
        if not _writable(target.parent):
            target = self._cache_subdir() / (self.path.name + ".fai")
        try:
            _write_fai(entries, target)
            self.index_path = target
        except OSError:
            pass  # an index in memory only: correct, just not kept for the next run
        self._index_checked = True
        return entries

    def _open_packed(self, from_plain: bool = False) -> None:
        """Memory-map the packed bases (building them once): compressed or large genomes."""
        try:
            d = self._cache_subdir()
        except OSError as err:
            raise InputError(
                f"cannot create the genome cache in {self.cache_dir} ({err}); a compressed or "
                "large genome is unpacked there once: set SEQCNN_CACHE_DIR to a writable folder",
                path=self.path,
            ) from err
        data, meta = d / "bases.u8", d / "bases.json"
        if not (data.exists() and meta.exists()):
            fd, tmp = tempfile.mkstemp(dir=d, suffix=".part")
            try:
                with os.fdopen(fd, "wb") as out:
                    if from_plain:
                        entries, start = [], 0
                        for e in self._entries.values():
                            bases = self._plain_contig(e.name)
                            out.write(bases.tobytes())
                            entries.append(_Entry(e.name, e.length, start, 0, 0))
                            start += e.length
                            self._arrays.pop(e.name, None)
                    else:
                        entries = _pack_stream(self.path, out, self.path)
                os.replace(tmp, data)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            info = {
                "format": _CACHE_FORMAT,
                "source": str(self.path.resolve()),
                "contigs": [[e.name, e.length, e.offset] for e in entries],
            }
            fd, tmp = tempfile.mkstemp(dir=d, suffix=".part")
            with os.fdopen(fd, "w") as fh:
                json.dump(info, fh)
            os.replace(tmp, meta)
        try:
            info = json.loads(meta.read_text())
            entries = [_Entry(n, int(length), int(o), 0, 0) for n, length, o in info["contigs"]]
            size = data.stat().st_size
            if info.get("format") != _CACHE_FORMAT or sum(e.length for e in entries) != size:
                raise ValueError("inconsistent")
        except (ValueError, KeyError, TypeError) as err:
            data.unlink(missing_ok=True)
            meta.unlink(missing_ok=True)
            raise InputError(
                f"the genome cache {d} was inconsistent and has been removed; run again",
                path=self.path,
            ) from err
        self._entries = {e.name: e for e in entries}
        self._mm = (
            np.memmap(data, dtype=np.uint8, mode="r") if size else np.zeros(0, dtype=np.uint8)
        )
        self.fasta_path = data

    # ------------------------------------------------------------------ contigs
    def _plain_contig(self, chrom: str) -> np.ndarray:
        e = self._entries[chrom]
        try:
            return _read_contig(self._fasta_bytes, e)
        except _Mismatch as err:
            if self._index_checked:
                raise InputError(
                    f"the FASTA does not match the index built from it ({err})", path=self.path
                ) from None
            where = self.index_path
            self._note(f"the index {where} does not match the FASTA ({err})")
            self._entries = {x.name: x for x in self._rebuild_index()}
            self.chrom_sizes = {x.name: x.length for x in self._entries.values()}
            if chrom not in self._entries:
                raise InputError(
                    f"contig {chrom!r} is not in the FASTA (its old index {where} listed it)",
                    path=self.path,
                ) from None
            self._arrays.clear()
            return _read_contig(self._fasta_bytes, self._entries[chrom])

    def codes(self, chrom: str) -> np.ndarray:
        """The bytes of a whole contig, as stored (``uint8`` ASCII, no line breaks).

        Read once and kept (a memory-mapped view for packed genomes).

        Returns
        -------
        numpy.ndarray (length,) uint8
        """
        self._check_chrom(chrom)
        arr = self._arrays.get(chrom)
        if arr is None:
            if self._mm is not None:
                e = self._entries[chrom]
                arr = self._mm[e.offset : e.offset + e.length]
            else:
                arr = self._plain_contig(chrom)
            size = self.chrom_sizes.get(chrom)
            if arr.shape[0] != size:  # never a short contig, whatever the index said
                raise InputError(
                    f"contig {chrom!r} has {arr.shape[0]} bases but the index says {size}; "
                    f"delete {getattr(self, 'index_path', self.fasta_path)} to rebuild it",
                    path=self.path,
                )
            self._arrays[chrom] = arr
        return arr

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

    def __getitem__(self, chrom: str) -> Contig:
        """The contig ``chrom`` (0-based slicing to str); :class:`InputError` if absent."""
        self._check_chrom(chrom)
        return Contig(self, chrom)

    def __repr__(self) -> str:
        return f"Genome({str(self.path)!r}, {len(self)} contigs)"

    def close(self) -> None:
        """Drop the contig arrays and memory maps."""
        self._arrays.clear()
        self._mm = None
        self._fasta_bytes = None

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

    def _text(self, arr: np.ndarray) -> str:
        if self.upper:
            arr = _UPPER_LUT[arr]
        return arr.tobytes().decode("latin-1")

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
        return self._text(self.codes(chrom)[start:end])

    def status(self, chrom, start, end) -> np.ndarray:
        """Why each interval cannot be fetched: ``ok``, ``unknown_contig`` or ``out_of_bounds``.

        Parameters
        ----------
        chrom, start, end : array-like (N,)
            Intervals, 0-based half-open.

        Returns
        -------
        numpy.ndarray (N,) of str

        Examples
        --------
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "g.fa"
        >>> _ = p.write_text(">c\\nACGTAC\\n")
        >>> Genome(p).status(["c", "c", "d"], [0, 2, 0], [6, 7, 1]).tolist()
        ['ok', 'out_of_bounds', 'unknown_contig']
        """
        chrom = pd.Series(np.asarray(chrom, dtype=object))
        start = np.asarray(start, dtype=np.int64)
        end = np.asarray(end, dtype=np.int64)
        size = chrom.map(self.chrom_sizes).to_numpy(dtype=np.float64)
        out = np.full(len(chrom), "ok", dtype=object)
        out[(start < 0) | (end > size) | (end < start)] = "out_of_bounds"
        out[np.isnan(size)] = "unknown_contig"
        return out.astype(str)

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

    def window_codes(
        self,
        chrom,
        start,
        length: int,
        reverse=None,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """The bytes of many windows of one length: a gather per contig, no loop per window.

        Parameters
        ----------
        chrom : array-like of str (N,)
        start : array-like of int (N,)
            0-based first base of each window; every window must lie on its contig (see
            :meth:`check` and :meth:`status`).
        length : int
        reverse : array-like of bool (N,), optional
            Reverse-complement these windows (IUPAC-aware, case kept).
        out : numpy.ndarray (N, length) uint8, optional
            Write into this array (e.g. a slice of a preallocated dataset buffer).

        Returns
        -------
        numpy.ndarray (N, length) uint8
            ASCII bytes as stored; :func:`seqcnn.sequence.encode_codes` encodes them.

        Raises
        ------
        InputError
            A window on an unknown contig or running off its contig.
        """
        chrom = np.asarray(chrom, dtype=object)
        start = np.asarray(start, dtype=np.int64)
        n = len(chrom)
        if out is None:
            out = np.empty((n, length), dtype=np.uint8)
        elif out.shape != (n, length) or out.dtype != np.uint8:
            raise ValueError(f"out must be uint8 of shape {(n, length)}, got {out.shape}")
        if n == 0:
            return out
        bad = self.status(chrom, start, start + length) != "ok"
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            self._check_chrom(str(chrom[i]))
            raise InputError(
                f"window {chrom[i]}:{start[i]}-{start[i] + length} runs off contig "
                f"{chrom[i]!r} (length {self.chrom_sizes[chrom[i]]}) of the genome "
                f"{self.path.name}; {int(bad.sum())} window(s) do"
            )
        names, inverse = np.unique(chrom.astype(str), return_inverse=True)
        for k, c in enumerate(names):
            arr = self.codes(str(c))
            if length == 0:
                continue
            # fancy indexing of the windows view copies rows directly (np.take along an
            # axis of this view is element by element: thousands of times slower)
            view = np.lib.stride_tricks.sliding_window_view(np.asarray(arr), length)
            if names.size == 1:
                out[:] = view[start]
            else:
                sel = np.flatnonzero(inverse == k)
                out[sel] = view[start[sel]]
        if reverse is not None:
            rev = np.flatnonzero(np.asarray(reverse, dtype=bool))
            if rev.size:
                out[rev] = _COMPLEMENT_LUT[out[rev, ::-1]]
        return out

    def interval_codes(
        self,
        bed: pd.DataFrame,
        stranded: bool = False,
        path: str | os.PathLike | None = None,
    ) -> np.ndarray:
        """The bytes of intervals that all have one length (``chrom start end``).

        Returns
        -------
        numpy.ndarray (N, L) uint8

        Raises
        ------
        InputError
            See :meth:`check`; intervals of different lengths.
        """
        self.check(bed, path=path)
        start = bed["start"].to_numpy(dtype=np.int64)
        lengths = bed["end"].to_numpy(dtype=np.int64) - start
        if len(bed) and (lengths != lengths[0]).any():
            raise InputError(
                "intervals of different lengths; make windows of one length first "
                "(seqcnn.io.windows)",
                path=path if path is not None else bed.attrs.get("path"),
            )
        reverse = None
        if stranded and "strand" in bed.columns:
            reverse = bed["strand"].to_numpy() == "-"
        length = int(lengths[0]) if len(bed) else 0
        return self.window_codes(bed["chrom"].to_numpy(), start, length, reverse=reverse)

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
        if not len(bed):
            return []
        start = bed["start"].to_numpy(dtype=np.int64)
        lengths = bed["end"].to_numpy(dtype=np.int64) - start
        if (lengths == lengths[0]).all():
            width = int(lengths[0])
            if width == 0:
                return [""] * len(bed)
            # in pieces of ~16 MB of bases: the codes, their text and no 4-byte-per-base
            # unicode array are temporaries of that size only
            out: list[str] = []
            step = max(1, (1 << 24) // width)
            for a in range(0, len(bed), step):
                codes = self.interval_codes(bed.iloc[a : a + step], stranded=stranded, path=path)
                if self.upper:
                    codes = _UPPER_LUT[codes]
                text = np.ascontiguousarray(codes).tobytes().decode("latin-1")
                out.extend(text[i : i + width] for i in range(0, len(text), width))
            return out
        chrom = bed["chrom"].astype(str).tolist()
        arrays = {c: self.codes(c) for c in set(chrom)}
        seqs = [
            self._text(arrays[c][s:e])
            for c, s, e in zip(chrom, start.tolist(), (start + lengths).tolist(), strict=True)
        ]
        if stranded and "strand" in bed.columns:
            for i in np.flatnonzero(bed["strand"].to_numpy() == "-"):
                rc = seqs[i].encode("latin-1").translate(_COMPLEMENT_BYTES)[::-1]
                seqs[i] = rc.decode("latin-1")
        return seqs

    def contig(self, chrom: str) -> str:
        """The whole sequence of a contig as a string."""
        self._check_chrom(chrom)
        return self._text(self.codes(chrom))


class GenomeRows(Sequence):
    """The sequences of genome windows of one length, read on demand: a table of windows
    that holds their coordinates only (~16 bytes a window, not a string of each).

    ``rows[i]`` is the window's text (as :meth:`Genome.fetch`); :meth:`fill_bytes` writes
    many windows' bytes at once (what :func:`seqcnn.sequence.sequence_bytes` uses).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "g.fa"
    >>> _ = p.write_text(">c\\nACGTACGTAA\\n")
    >>> rows = GenomeRows(Genome(p), np.array(["c", "c"]), np.array([0, 6]), 4)
    >>> list(rows), rows.subset([1])[0]
    (['ACGT', 'GTAA'], 'GTAA')
    """

    def __init__(self, genome: Genome, chrom: np.ndarray, start: np.ndarray, length: int):
        self.genome, self.length = genome, int(length)
        self.chrom = np.asarray(chrom).astype(str)
        self.start = np.asarray(start, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.start)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        s = int(self.start[i])
        return self.genome.fetch(str(self.chrom[i]), s, s + self.length)

    def subset(self, index) -> GenomeRows:
        return GenomeRows(self.genome, self.chrom[index], self.start[index], self.length)

    def codes(self, index=slice(None)) -> np.ndarray:
        """The bytes ``(n, L)`` of rows ``index``, gathered from the genome's arrays."""
        return self.genome.window_codes(self.chrom[index], self.start[index], self.length)

    def fill_bytes(self, out: np.ndarray) -> None:
        """Write every row's bytes into ``out`` ``(N, L)``, ~16 MB at a time."""
        for a, b in self._pieces():
            self.genome.window_codes(self.chrom[a:b], self.start[a:b], self.length, out=out[a:b])

    def check(self, names=None) -> None:
        """Raise :class:`InputError` at the first byte of a row that is no nucleotide code,
        naming its genome position (and the row's name from ``names``), as reading the rows
        as strings would; ~16 MB at a time."""
        from seqcnn.sequence import first_invalid_byte, invalid_character_message

        for a, b in self._pieces():
            codes = self.codes(slice(a, b))
            bad = first_invalid_byte(codes)
            if bad >= 0:
                i, pos = divmod(bad, self.length)
                where = f"{self.chrom[a + i]}:{self.start[a + i] + pos + 1}"  # 1-based
                name = f", window {names[a + i]}" if names is not None else ""
                message = invalid_character_message(chr(codes.flat[bad]), pos)
                raise InputError(f"{message} (genome {where}{name})", path=self.genome.path)

    def _pieces(self) -> Iterator[tuple[int, int]]:
        step = max(1, (1 << 24) // max(self.length, 1))
        for a in range(0, len(self), step):
            yield a, min(a + step, len(self))
