"""Motif files: MEME minimal format (read and write) and JASPAR count matrices (read and write).

A :class:`Motif` holds letter probabilities ``(4, w)`` in ACGT order and what the files say
about them (name, alternative name, number of sites, E-value). :func:`write_meme` writes numbers
in their shortest exact form unless ``decimals`` is given, so that :func:`read_meme` gives back
exactly what was written; Biopython's ``Bio.motifs.parse(handle, "minimal")`` reads the files
too. The background line is the base composition given (for seqcnn's filters, the data's).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from seqcnn.exceptions import InputError
from seqcnn.io.text import read_text
from seqcnn.utils import atomic_write

__all__ = ["Motif", "MemeFile", "read_meme", "write_meme", "format_meme", "read_jaspar"]
__all__ += ["write_jaspar", "format_jaspar", "read_motifs"]

ALPHABET = "ACGT"


@dataclasses.dataclass(eq=False)
class Motif:
    """One motif: letter probabilities and what its file says about it.

    Attributes
    ----------
    name : str
        The identifier (``MA0139.2``, ``filter3``); no white space.
    pwm : np.ndarray, shape (4, w)
        Letter probabilities per column, ACGT order.
    alt_name : str, optional
        The second word of the ``MOTIF`` line (a TF name for JASPAR).
    nsites : int, optional
        The number of sites the matrix was built from.
    evalue : float, optional
        The E-value on the ``letter-probability matrix`` line.
    url : str, optional
        The ``URL`` line.
    counts : np.ndarray, shape (4, w), optional
        Letter counts when the file has them (JASPAR).
    """

    name: str
    pwm: np.ndarray
    alt_name: str | None = None
    nsites: int | None = None
    evalue: float | None = None
    url: str | None = None
    counts: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.pwm = np.asarray(self.pwm, dtype=np.float64)
        if self.pwm.ndim != 2 or self.pwm.shape[0] != 4 or self.pwm.shape[1] == 0:
            raise InputError(
                f"expected a (4, w) matrix, got shape {self.pwm.shape}", record=self.name
            )
        if not self.name or any(c.isspace() for c in self.name):
            raise InputError("a motif name must be non-empty without white space", record=self.name)
        if self.alt_name is not None and (
            not self.alt_name or any(c.isspace() for c in self.alt_name)
        ):
            raise InputError(
                f"alternative name {self.alt_name!r} must be one word", record=self.name
            )

    @property
    def width(self) -> int:
        return int(self.pwm.shape[1])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Motif):
            return NotImplemented
        same_counts = (self.counts is None and other.counts is None) or (
            self.counts is not None
            and other.counts is not None
            and np.array_equal(self.counts, other.counts)
        )
        return (
            (self.name, self.alt_name, self.nsites, self.evalue, self.url)
            == (other.name, other.alt_name, other.nsites, other.evalue, other.url)
            and self.pwm.shape == other.pwm.shape
            and np.array_equal(self.pwm, other.pwm)
            and same_counts
        )


@dataclasses.dataclass(eq=False)
class MemeFile:
    """The contents of a MEME minimal-format file.

    Attributes
    ----------
    motifs : list of Motif
    background : np.ndarray, shape (4,)
        The ``Background letter frequencies`` (uniform when the file has none).
    strands : str
        The ``strands:`` line (``"+ -"`` or ``"+"``).
    version : str
        The ``MEME version`` number.
    """

    motifs: list[Motif]
    background: np.ndarray = dataclasses.field(default_factory=lambda: np.full(4, 0.25))
    strands: str = "+ -"
    version: str = "4"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MemeFile):
            return NotImplemented
        return (
            self.motifs == other.motifs
            and np.array_equal(self.background, other.background)
            and (self.strands, self.version) == (other.strands, other.version)
        )


def _num(x: float, decimals: int | None = None) -> str:
    """``x`` in its shortest exact decimal form (``1`` for 1.0), or with ``decimals`` digits."""
    x = float(x)
    if decimals is not None:
        return f"{x:.{decimals}f}"
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


def _check_background(background) -> np.ndarray:
    bg = np.asarray(background, dtype=np.float64)
    if bg.shape != (4,) or not np.isfinite(bg).all() or (bg < 0).any() or bg.sum() <= 0:
        raise InputError(f"background: expected 4 non-negative frequencies, got {bg.ravel()}")
    return bg


def format_meme(
    motifs: Iterable[Motif] | MemeFile,
    background=None,
    strands: str = "+ -",
    decimals: int | None = None,
) -> str:
    """The text of a MEME minimal-format file (see :func:`write_meme`).

    Examples
    --------
    >>> print(format_meme([Motif("m1", np.eye(4)[:, :2], nsites=3)]), end="")
    MEME version 4
    <BLANKLINE>
    ALPHABET= ACGT
    <BLANKLINE>
    strands: + -
    <BLANKLINE>
    Background letter frequencies
    A 0.25 C 0.25 G 0.25 T 0.25
    <BLANKLINE>
    MOTIF m1
    letter-probability matrix: alength= 4 w= 2 nsites= 3
    1 0 0 0
    0 1 0 0
    """
    version = "4"
    if isinstance(motifs, MemeFile):
        background = motifs.background if background is None else background
        strands, version, motifs = motifs.strands, motifs.version, motifs.motifs
    motifs = list(motifs)
    if strands not in ("+ -", "+"):
        raise InputError(f"strands: expected '+ -' or '+', got {strands!r}")
    bg = _check_background(np.full(4, 0.25) if background is None else background)
    lines = [
        f"MEME version {version}",
        "",
        f"ALPHABET= {ALPHABET}",
        "",
        f"strands: {strands}",
        "",
        "Background letter frequencies",
        " ".join(f"{b} {_num(f)}" for b, f in zip(ALPHABET, bg, strict=True)),
    ]
    names = set()
    for m in motifs:
        if m.name in names:
            raise InputError(
                "two motifs have this name; MEME files need unique names", record=m.name
            )
        names.add(m.name)
        if not np.isfinite(m.pwm).all() or (m.pwm < 0).any():
            raise InputError("the matrix has negative or non-finite entries", record=m.name)
        stats = f"letter-probability matrix: alength= 4 w= {m.width}"
        if m.nsites is not None:
            stats += f" nsites= {int(m.nsites)}"
        if m.evalue is not None:
            stats += f" E= {_num(m.evalue)}"
        lines += ["", f"MOTIF {m.name}" + (f" {m.alt_name}" if m.alt_name else ""), stats]
        lines += [" ".join(_num(v, decimals) for v in col) for col in m.pwm.T]
        if m.url is not None:
            lines.append(f"URL {m.url}")
    return "\n".join(lines) + "\n"


def write_meme(
    path: str | os.PathLike,
    motifs: Iterable[Motif] | MemeFile,
    background=None,
    strands: str = "+ -",
    decimals: int | None = None,
) -> Path:
    """Write motifs to a MEME minimal-format file, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        The output file.
    motifs : list of Motif, or MemeFile
        The motifs (a :class:`MemeFile` brings its background and strands).
    background : np.ndarray, shape (4,), optional
        Letter frequencies for the background line (uniform by default).
    strands : {"+ -", "+"}
        The ``strands:`` line.
    decimals : int, optional
        Write probabilities with this many decimals (MEME writes 6); by default the shortest
        form that reads back exactly.

    Returns
    -------
    pathlib.Path
    """
    text = format_meme(motifs, background, strands, decimals)
    with atomic_write(path) as fh:
        fh.write(text)
    return Path(path)


_KEY_VALUE = re.compile(r"(\w+)=\s*(\S+)")


def _parse_meme(lines: Sequence[str], path) -> MemeFile:
    version, strands, background, motifs = None, "+ -", None, []
    i, n = 0, len(lines)

    def fail(message: str, line: int) -> InputError:
        return InputError(message, path=path, line=line + 1)

    while i < n:
        text = lines[i].strip()
        if text.startswith("MEME version"):
            version = text.split()[2] if len(text.split()) > 2 else "4"
        elif text.startswith("ALPHABET"):
            alphabet = text.split("=", 1)[1].strip() if "=" in text else ""
            if alphabet != ALPHABET:
                raise fail(f"expected the DNA alphabet ALPHABET= ACGT, got {alphabet!r}", i)
        elif text.startswith("strands:"):
            strands = " ".join(text.split()[1:])
        elif text.startswith("Background letter frequencies"):
            values, j = {}, i + 1
            while j < n and lines[j].strip():
                words = lines[j].split()
                if len(words) % 2:
                    raise fail("expected letter/frequency pairs (A 0.25 C 0.25 ...)", j)
                try:
                    values.update(
                        {a: float(f) for a, f in zip(words[::2], words[1::2], strict=True)}
                    )
                except ValueError:
                    raise fail(f"a background frequency is not a number: {lines[j]!r}", j) from None
                j += 1
                if all(b in values for b in ALPHABET):
                    break
            if sorted(values) != sorted(ALPHABET):
                raise fail(f"expected background frequencies of A, C, G, T, got {values}", i)
            background = np.array([values[b] for b in ALPHABET])
            i = j - 1
        elif text.startswith("MOTIF"):
            words = text.split()
            if len(words) < 2:
                raise fail("a MOTIF line needs a name: MOTIF <id> [<alternative name>]", i)
            name, alt = words[1], (words[2] if len(words) > 2 else None)
            start = i
            i += 1
            while i < n and not lines[i].strip().startswith("letter-probability matrix"):
                if lines[i].strip().startswith("MOTIF"):
                    break
                i += 1
            if i >= n or not lines[i].strip().startswith("letter-probability matrix"):
                raise fail(f"motif {name!r} has no 'letter-probability matrix:' line", start)
            stats = dict(_KEY_VALUE.findall(lines[i].split(":", 1)[1]))
            try:
                width = int(stats["w"]) if "w" in stats else None
                nsites = int(float(stats["nsites"])) if "nsites" in stats else None
                evalue = float(stats["E"]) if "E" in stats else None
            except ValueError:
                raise fail(f"bad value in {lines[i].strip()!r}", i) from None
            rows, i = [], i + 1
            while i < n and (width is None or len(rows) < width):
                row = lines[i].split()
                if not row:
                    if width is None and rows:
                        break
                    i += 1
                    continue
                try:
                    values = [float(v) for v in row]
                except ValueError:
                    if width is None and rows:
                        break
                    raise fail(f"expected 4 probabilities, got {lines[i].strip()!r}", i) from None
                if len(values) != 4:
                    raise fail(f"expected 4 probabilities (A C G T), got {len(values)}", i)
                rows.append(values)
                i += 1
            if not rows or (width is not None and len(rows) != width):
                raise fail(f"motif {name!r}: expected w= {width} rows, got {len(rows)}", start)
            url = None
            while i < n and not lines[i].strip():
                i += 1
            if i < n and lines[i].strip().startswith("URL"):
                url = lines[i].strip()[3:].strip()
                i += 1
            pwm = np.array(rows).T
            if (pwm < 0).any() or not np.isfinite(pwm).all():
                raise fail(f"motif {name!r}: probabilities must be finite and >= 0", start)
            motifs.append(Motif(name, pwm, alt, nsites, evalue, url))
            continue
        i += 1
    if version is None:
        raise InputError("not a MEME file: no 'MEME version' line", path=path)
    bg = np.full(4, 0.25) if background is None else background
    return MemeFile(motifs=motifs, background=bg, strands=strands, version=version)


def read_meme(path: str | os.PathLike) -> MemeFile:
    """Read a MEME minimal-format file (``.meme``, optionally gzipped).

    Returns
    -------
    MemeFile
        Its motifs, background, strands and version.

    Examples
    --------
    >>> import tempfile, os
    >>> m = Motif("m1", [[0.5, 1], [0.5, 0], [0, 0], [0, 0]], alt_name="X", nsites=2)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = write_meme(os.path.join(d, "m.meme"), [m])
    ...     read_meme(os.path.join(d, "m.meme")).motifs == [m]
    True
    """
    return _parse_meme(read_text(Path(path), "MEME").splitlines(), path)


def format_jaspar(motifs: Iterable[Motif]) -> str:
    """JASPAR count-matrix text: ``>ID<TAB>name`` then one ``A  [ ... ]`` row per letter.

    Motifs without counts are written as probabilities times ``nsites`` (or 100).

    Examples
    --------
    >>> m = Motif("MA1", np.eye(4)[:, :2], alt_name="X", counts=np.eye(4)[:, :2] * 10)
    >>> text = format_jaspar([m])
    >>> text.splitlines()[0]
    '>MA1\\tX'
    >>> print(text[text.index("\\nA") + 1 :], end="")
    A  [ 10  0 ]
    C  [  0 10 ]
    G  [  0  0 ]
    T  [  0  0 ]
    """
    lines = []
    for m in motifs:
        counts = m.counts if m.counts is not None else m.pwm * (m.nsites or 100)
        width = max(len(f"{v:g}") for v in counts.ravel())
        lines.append(f">{m.name}\t{m.alt_name or m.name}")
        for b, row in zip(ALPHABET, counts, strict=True):
            lines.append(f"{b}  [ " + " ".join(f"{v:>{width}g}" for v in row) + " ]")
    return "\n".join(lines) + "\n"


def write_jaspar(path: str | os.PathLike, motifs: Iterable[Motif]) -> Path:
    """Write motifs as JASPAR count matrices (see :func:`format_jaspar`), atomically."""
    text = format_jaspar(motifs)
    with atomic_write(path) as fh:
        fh.write(text)
    return Path(path)


_JASPAR_ROW = re.compile(r"^\s*([ACGT])\s*\[?([^\]]*)\]?\s*$")


def read_jaspar(path: str | os.PathLike) -> list[Motif]:
    """Read JASPAR-format count matrices (``>ID name`` headers, rows ``A [ ... ]``).

    Each motif keeps its counts; ``pwm`` is the counts normalised per column and ``nsites``
    the first column's total (rounded), as in JASPAR's own MEME files.
    """
    lines = read_text(Path(path), "JASPAR").splitlines()
    motifs: list[Motif] = []
    i = 0
    while i < len(lines):
        text = lines[i].strip()
        if not text:
            i += 1
            continue
        if not text.startswith(">"):
            raise InputError(f"expected a '>ID name' header, got {text[:40]!r}", path, i + 1)
        words = text[1:].split(None, 1)
        if not words:
            raise InputError("the header has no matrix ID", path, i + 1)
        name = words[0]
        alt = words[1].split()[0] if len(words) > 1 and words[1].split() else None
        rows: dict[str, list[float]] = {}
        for j in range(i + 1, i + 5):
            match = _JASPAR_ROW.match(lines[j]) if j < len(lines) else None
            if match is None:
                raise InputError(
                    "expected 4 rows 'A [ counts ]', 'C [ ... ]', 'G [ ... ]', 'T [ ... ]'",
                    path,
                    j + 1,
                    record=name,
                )
            try:
                rows[match.group(1)] = [float(v) for v in match.group(2).split()]
            except ValueError:
                raise InputError("a count is not a number", path, j + 1, record=name) from None
        if sorted(rows) != sorted(ALPHABET) or len({len(r) for r in rows.values()}) != 1:
            raise InputError("expected one row per letter, all of one length", path, i + 1, name)
        counts = np.array([rows[b] for b in ALPHABET])
        totals = counts.sum(axis=0)
        if (counts < 0).any() or (totals <= 0).any() or counts.shape[1] == 0:
            raise InputError("counts must be >= 0 with a positive total per column", path, i + 1)
        motifs.append(Motif(name, counts / totals, alt, int(round(totals[0])), counts=counts))
        i += 5
    return motifs


def read_motifs(path: str | os.PathLike) -> list[Motif]:
    """Motifs from a MEME or JASPAR file, told apart by content (``MEME version`` or ``>``)."""
    text = read_text(Path(path), "motif")
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if first.startswith(">"):
        return read_jaspar(path)
    if "MEME version" in text[:4096]:
        return _parse_meme(text.splitlines(), path).motifs
    raise InputError(
        "not a motif file: expected MEME minimal format ('MEME version 4' ...) or JASPAR "
        "count matrices ('>MA0139.2 CTCF' ...)",
        path=path,
    )
