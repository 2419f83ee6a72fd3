"""VCF files: streamed reading of variant alleles, contig matching, annotated VCF output.

This is the one place where VCF's **1-based** ``POS`` becomes a **0-based** offset
(:attr:`VariantAllele.pos0` = ``POS - 1``, the first base of ``REF``). Everything downstream
(:mod:`seqcnn.variants`) works on 0-based offsets and writes the file's own ``POS`` back out.

Reading is a text parser over the eight fixed columns (plain or gzip/bgzip-compressed, detected
by the magic bytes; with ``region=`` through a tabix index and :mod:`pysam`), one record in
memory at a time. The records are kept as the exact text of their line: an annotated VCF
(:class:`AnnotatedVcfWriter`) copies each input line byte for byte and only appends INFO fields.
Going through htslib (cyvcf2, ``pysam.VariantFile``) would not: it stores INFO floats as float32
and writes them back with ``%g``, so a ``PVAL=8.612e-236`` of the saturation-mutagenesis data
would come back as ``PVAL=0``. Output ``.vcf.gz`` files are bgzipped and tabix-indexed through
:func:`pysam.tabix_index`.

Each record yields one :class:`VariantAllele` per ALT allele (``ALT=A,T`` gives two). ALT alleles
that cannot be scored as sequence carry a skip reason: ``symbolic_allele`` (``<DEL>``, breakends),
``spanning_deletion`` (``*``), ``missing_allele`` (``.``), and ``out_of_bounds`` for ``POS`` 0.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from seqcnn.exceptions import InputError, require
from seqcnn.utils import atomic_output_path

__all__ = [
    "SKIP_REASONS",
    "VariantAllele",
    "VcfRecord",
    "VcfReader",
    "read_vcf",
    "ContigMatcher",
    "InfoField",
    "AnnotatedVcfWriter",
    "info_key",
]

#: Why an ALT allele can be skipped, in the order they are checked.
SKIP_REASONS = (
    "symbolic_allele",  # <DEL>, <INS>, <*>, breakends such as G]17:198982]
    "spanning_deletion",  # the * allele
    "missing_allele",  # ALT "."
    "unknown_contig",  # CHROM not in the genome, nor one unambiguous alias of it
    "out_of_bounds",  # REF past the contig end, POS 0, or windows off the end with edge="skip"
    "ref_mismatch",  # REF differs from the genome (ref_policy="skip")
    "allele_too_long",  # REF or ALT longer than the half window that holds it
)

_BASES = re.compile(r"^[ACGTNacgtn]+$")
_INFO_KEY = re.compile(r"^([A-Za-z_][0-9A-Za-z_.]*|1000G)$")
_HEADER_FIELDS = ("#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO")


@dataclass(frozen=True)
class VariantAllele:
    """One ALT allele of one VCF record.

    Attributes
    ----------
    record : int
        0-based index of the record among the file's records.
    line : int or None
        1-based line number in the file (``None`` when read through an index).
    chrom, id, ref, alt : str
        As written in the file (``id`` is ``"."`` when missing).
    pos : int
        The file's 1-based ``POS``.
    pos0 : int
        0-based offset of the first ``REF`` base: ``pos - 1``.
    alt_index, n_alts : int
        Which ALT of the record this is (0-based) and how many the record has.
    skip : str or None
        A reason from :data:`SKIP_REASONS` known from the record alone, else ``None``.
    """

    record: int
    line: int | None
    chrom: str
    pos: int
    pos0: int
    id: str
    ref: str
    alt: str
    alt_index: int
    n_alts: int
    skip: str | None = None

    @property
    def name(self) -> str:
        """``chrom:pos:ref>alt`` (1-based), for messages."""
        return f"{self.chrom}:{self.pos}:{self.ref}>{self.alt}"


@dataclass
class VcfRecord:
    """One data line of a VCF: its text (without the newline) and its ALT alleles."""

    index: int
    line: int | None
    text: str
    chrom: str
    pos: int
    alleles: list[VariantAllele] = field(default_factory=list)


def _allele_skip(alt: str) -> str | None:
    if alt == "*":
        return "spanning_deletion"
    if alt == "." or alt == "":
        return "missing_allele"
    if alt.startswith("<") or "[" in alt or "]" in alt or alt.startswith(".") or alt.endswith("."):
        return "symbolic_allele"
    return None


def _open_text(path: Path) -> IO[str]:
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    if gz:
        return gzip.open(path, "rt", encoding="utf-8", errors="replace", newline=None)
    return open(path, encoding="utf-8", errors="replace", newline=None)


class VcfReader:
    """Stream the records of a VCF file, one ALT allele at a time if asked.

    Parameters
    ----------
    path : str or os.PathLike
        VCF, plain or compressed with gzip or bgzip; an index (``.tbi``/``.csi``) is not needed.
    region : str, optional
        ``chrom``, ``chrom:start-end`` (1-based inclusive, as tabix): read only the records
        there, through the file's tabix index (needs :mod:`pysam` and a bgzipped, indexed file).

    Attributes
    ----------
    meta_lines : list of str
        The ``##`` header lines, in order.
    columns : list of str
        The fields of the ``#CHROM`` line.
    info_ids : set of str
        INFO keys declared in the header.

    Raises
    ------
    InputError
        The file is missing, not a VCF, or has a malformed line (the message names the line).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "v.vcf"
    >>> head = "##fileformat=VCFv4.2\\n#CHROM\\tPOS\\tID\\tREF\\tALT\\tQUAL\\tFILTER\\tINFO\\n"
    >>> _ = p.write_text(head + "chr1\\t10\\trs1\\tA\\tG,<DEL>\\t.\\t.\\t.\\n")
    >>> [(a.pos, a.pos0, a.alt, a.skip) for a in VcfReader(p).alleles()]
    [(10, 9, 'G', None), (10, 9, '<DEL>', 'symbolic_allele')]
    """

    def __init__(self, path: str | os.PathLike, region: str | None = None) -> None:
        self.path = Path(path)
        self.region = region
        if not self.path.exists():
            raise InputError("VCF file not found", path=self.path)
        if self.path.is_dir():
            raise InputError("expected a VCF file, found a directory", path=self.path)
        self.meta_lines: list[str] = []
        self.columns: list[str] = []
        self.info_ids: set[str] = set()
        self._lines: Iterator[tuple[int | None, str]]
        self._handle = None
        self._line_no = 0
        try:
            self._open()
        except (OSError, EOFError, UnicodeDecodeError) as err:
            self.close()
            raise InputError(f"cannot read the VCF: {err}", path=self.path) from err

    # ---- opening and the header
    def _numbered(self, handle: IO[str]) -> Iterator[tuple[int | None, str]]:
        for line in handle:
            self._line_no += 1
            yield self._line_no, line.rstrip("\r\n")

    def _open(self) -> None:
        self._handle = _open_text(self.path)
        lines = self._numbered(self._handle)
        first = True
        for number, line in lines:
            if first:
                first = False
                if not (line.startswith("##fileformat=VCF") or line.startswith("#CHROM")):
                    shown = line[:40] + ("..." if len(line) > 40 else "")
                    raise InputError(
                        f"not a VCF file: line 1 should be '##fileformat=VCFv4.x' (or the "
                        f"'#CHROM POS ID REF ALT ...' line), found {shown!r}",
                        path=self.path,
                        line=number,
                    )
            if line.startswith("##"):
                self.meta_lines.append(line)
                if line.startswith("##INFO=<"):
                    m = re.search(r"ID=([^,>]+)", line)
                    if m:
                        self.info_ids.add(m.group(1))
                continue
            if line.startswith("#"):
                self._set_columns(line, number)
                break
            raise InputError(
                "a data line comes before the '#CHROM POS ID REF ALT QUAL FILTER INFO' header "
                "line; add the header line",
                path=self.path,
                line=number,
            )
        else:
            raise InputError(
                "no '#CHROM POS ID REF ALT QUAL FILTER INFO' header line: not a VCF file",
                path=self.path,
            )
        if self.region is None:
            self._lines = lines
        else:
            self._handle.close()
            self._handle = None
            self._lines = self._fetch_region(self.region)

    def _set_columns(self, line: str, number: int) -> None:
        cols = line.split("\t")
        if tuple(cols[:8]) != _HEADER_FIELDS:
            raise InputError(
                "the header line should be the tab-separated fields "
                f"'{' '.join(_HEADER_FIELDS)}' (then FORMAT and samples), found {line[:80]!r}",
                path=self.path,
                line=number,
            )
        self.columns = cols

    def _fetch_region(self, region: str) -> Iterator[tuple[int | None, str]]:
        pysam = require("pysam", "variants", "reading a region of an indexed VCF")
        try:
            tabix = pysam.TabixFile(str(self.path))
        except (OSError, ValueError) as err:
            raise InputError(
                f"region {region!r} needs a bgzipped VCF with a tabix index "
                f"(bgzip + tabix -p vcf): {err}",
                path=self.path,
            ) from err
        try:
            try:
                rows = tabix.fetch(region=region)
            except ValueError as err:
                raise InputError(f"cannot read region {region!r}: {err}", path=self.path) from err
            for row in rows:
                yield None, row
        finally:
            tabix.close()

    # ---- records
    @property
    def samples(self) -> list[str]:
        """The sample names of the ``#CHROM`` line."""
        return self.columns[9:]

    def _parse(self, index: int, number: int | None, line: str) -> VcfRecord:
        cols = line.split("\t")

        def bad(message: str) -> InputError:
            return InputError(
                message,
                path=self.path,
                line=number,
                record=None
                if number is not None
                else f"{cols[0]}:{cols[1] if len(cols) > 1 else '?'}",
            )

        if len(cols) < 8 or len(cols) != len(self.columns):
            hint = " (fields must be separated by tabs)" if len(cols) < 8 and " " in line else ""
            raise bad(
                f"expected {len(self.columns)} tab-separated fields as the #CHROM line, "
                f"found {len(cols)}{hint}"
            )
        chrom, pos_text, vid, ref, alt_text = cols[:5]
        if not chrom:
            raise bad("empty CHROM")
        try:
            pos = int(pos_text)
        except ValueError:
            raise bad(f"POS must be a whole number, found {pos_text!r}") from None
        if pos < 0:
            raise bad(f"POS must be 0 or more, found {pos}")
        if not _BASES.match(ref):
            raise bad(f"REF must be bases A, C, G, T or N, found {ref!r}")
        alts = alt_text.split(",")
        record = VcfRecord(index=index, line=number, text=line, chrom=chrom, pos=pos)
        for i, alt in enumerate(alts):
            skip = _allele_skip(alt)
            if skip is None and not _BASES.match(alt):
                raise bad(
                    f"ALT allele {alt!r} is not bases (A, C, G, T, N), '*', '.', a symbolic "
                    "allele <...> or a breakend"
                )
            if skip is None and pos == 0:
                skip = "out_of_bounds"
            record.alleles.append(
                VariantAllele(
                    record=index,
                    line=number,
                    chrom=chrom,
                    pos=pos,
                    pos0=pos - 1,  # the one 1-based -> 0-based conversion of seqcnn
                    id=vid,
                    ref=ref,
                    alt=alt,
                    alt_index=i,
                    n_alts=len(alts),
                    skip=skip,
                )
            )
        return record

    def __iter__(self) -> Iterator[VcfRecord]:
        """The records, in file order (blank lines are skipped)."""
        index = 0
        try:
            for number, line in self._lines:
                if not line.strip():
                    continue
                if line.startswith("#"):
                    raise InputError(
                        "a header line ('#...') after the data lines started",
                        path=self.path,
                        line=number,
                    )
                yield self._parse(index, number, line)
                index += 1
        except (OSError, EOFError) as err:
            raise InputError(
                f"cannot read the VCF (truncated or corrupt compressed file?): {err}",
                path=self.path,
                line=self._line_no + 1 if self.region is None else None,
            ) from err
        finally:
            self.close()

    def alleles(self) -> Iterator[VariantAllele]:
        """One :class:`VariantAllele` per (record, ALT), in file order."""
        for record in self:
            yield from record.alleles

    def close(self) -> None:
        """Close the file (iteration closes it at the end too)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> VcfReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_vcf(path: str | os.PathLike, region: str | None = None) -> Iterator[VariantAllele]:
    """Stream the ALT alleles of a VCF: one :class:`VariantAllele` per (record, ALT).

    Parameters
    ----------
    path : str or os.PathLike
        Plain, gzipped or bgzipped VCF (indexed or not).
    region : str, optional
        Only records in ``chrom[:start-end]`` (needs a tabix index).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "v.vcf"
    >>> head = "##fileformat=VCFv4.2\\n#CHROM\\tPOS\\tID\\tREF\\tALT\\tQUAL\\tFILTER\\tINFO\\n"
    >>> _ = p.write_text(head + "1\\t5\\t.\\tAC\\tA,*\\t.\\t.\\t.\\n")
    >>> [(a.chrom, a.pos0, a.ref, a.alt, a.skip) for a in read_vcf(p)]
    [('1', 4, 'AC', 'A', None), ('1', 4, 'AC', '*', 'spanning_deletion')]
    """
    return VcfReader(path, region=region).alleles()


def _contig_key(name: str) -> str:
    """``chr1``/``1`` -> ``1``; ``chrM``/``M``/``MT``/``chrMT`` -> ``MT``."""
    key = name[3:] if name[:3].lower() == "chr" else name
    return "MT" if key.upper() in ("M", "MT") else key


class ContigMatcher:
    """Match VCF contig names to the genome's: exactly, else through one unambiguous alias.

    ``1`` matches ``chr1`` and the reverse; ``M``, ``MT``, ``chrM`` and ``chrMT`` match each
    other. When a name matches no genome contig, or several (a genome with both ``1`` and
    ``chr1``, or both ``chrM`` and ``chrMT``), it is unknown (``None``).

    Parameters
    ----------
    contigs : iterable of str
        The genome's contig names.

    Examples
    --------
    >>> m = ContigMatcher(["chr1", "chr2", "chrM"])
    >>> m("1"), m("chr2"), m("MT"), m("3")
    ('chr1', 'chr2', 'chrM', None)
    >>> ContigMatcher(["1", "chr1"])("chr1"), ContigMatcher(["1", "chr1"])("01")
    ('chr1', None)
    """

    def __init__(self, contigs: Iterable[str]) -> None:
        self.contigs = list(contigs)
        self._exact = set(self.contigs)
        self._by_key: dict[str, list[str]] = {}
        for name in self.contigs:
            self._by_key.setdefault(_contig_key(name), []).append(name)
        self._cache: dict[str, str | None] = {}
        #: VCF name -> genome name, for the names that matched through an alias.
        self.aliases: dict[str, str] = {}

    def __call__(self, name: str) -> str | None:
        """The genome's name for ``name``, or ``None`` when unknown or ambiguous."""
        if name in self._exact:
            return name
        if name not in self._cache:
            found = self._by_key.get(_contig_key(name), [])
            self._cache[name] = found[0] if len(found) == 1 else None
            if len(found) == 1:
                self.aliases[name] = found[0]
        return self._cache[name]


def info_key(*parts: str) -> str:
    """A valid VCF INFO key from parts: other characters become ``_`` (VCF 4.3, 1.6.1).

    Examples
    --------
    >>> info_key("SEQCNN", "GABPA (GM12878)", "DELTA")
    'SEQCNN_GABPA_GM12878_DELTA'
    """
    text = "_".join(re.sub(r"[^0-9A-Za-z_.]+", "_", p).strip("_") for p in parts if p)
    text = re.sub(r"_+", "_", text)
    if not text or not re.match(r"[A-Za-z_]", text[0]):
        text = "_" + text
    return text


@dataclass(frozen=True)
class InfoField:
    """A ``Number=A`` INFO field that :class:`AnnotatedVcfWriter` adds to every record."""

    key: str
    type: str  # "Float", "Integer", "String"
    description: str

    def header(self) -> str:
        desc = self.description.replace("\\", "\\\\").replace('"', '\\"')
        return f'##INFO=<ID={self.key},Number=A,Type={self.type},Description="{desc}">'


class AnnotatedVcfWriter:
    """Copy a VCF's records unchanged, appending ``Number=A`` INFO fields to each.

    Written atomically; ``.vcf.gz`` is bgzipped and tabix-indexed (``.tbi`` beside it) when the
    records are sorted (contigs in blocks, positions non-decreasing), else bgzipped only and
    :attr:`indexed` is False.

    Parameters
    ----------
    path : str or os.PathLike
        ``.vcf`` or ``.vcf.gz`` (``.vcf.bgz``).
    reader : VcfReader
        The input, for its header lines.
    fields : sequence of InfoField
        The fields to add (their keys must be valid and new to the input).
    extra_header : sequence of str
        More ``##key=value`` lines (the command line, the null of significance).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> head = "##fileformat=VCFv4.2\\n#CHROM\\tPOS\\tID\\tREF\\tALT\\tQUAL\\tFILTER\\tINFO\\n"
    >>> _ = (d / "v.vcf").write_text(head + "c\\t2\\t.\\tA\\tG,T\\t.\\t.\\tX=1\\n")
    >>> reader = VcfReader(d / "v.vcf")
    >>> with AnnotatedVcfWriter(d / "o.vcf", reader, [InfoField("S", "Float", "s")]) as w:
    ...     for rec in reader:
    ...         w.write(rec, {"S": ["0.5", "."]})
    >>> (d / "o.vcf").read_text().splitlines()[-1]
    'c\\t2\\t.\\tA\\tG,T\\t.\\t.\\tX=1;S=0.5,.'
    """

    def __init__(
        self,
        path: str | os.PathLike,
        reader: VcfReader,
        fields: Sequence[InfoField],
        extra_header: Sequence[str] = (),
    ) -> None:
        self.path = Path(path)
        name = self.path.name.lower()
        self.compressed = name.endswith(".gz") or name.endswith(".bgz")
        self.fields = list(fields)
        for f in self.fields:
            if not _INFO_KEY.match(f.key):
                raise InputError(
                    f"INFO key {f.key!r} is not valid in VCF ([A-Za-z_][0-9A-Za-z_.]*)"
                )
            if f.key in reader.info_ids:
                raise InputError(
                    f"the VCF already has an INFO field {f.key!r}; choose another prefix "
                    "(--info-prefix)",
                    path=reader.path,
                )
        self.indexed = False
        self._stack = contextlib.ExitStack()
        self._tmp = self._stack.enter_context(atomic_output_path(self.path))
        plain = self._tmp.with_name(self._tmp.name + ".plain") if self.compressed else self._tmp
        self._plain = plain
        self._fh = open(plain, "w", encoding="utf-8", newline="\n")
        self._sorted = True
        self._last: tuple[str, int] | None = None
        self._seen_contigs: set[str] = set()
        header = list(reader.meta_lines)
        if not header or not header[0].startswith("##fileformat="):
            header.insert(0, "##fileformat=VCFv4.2")
        header += [f.header() for f in self.fields]
        header += list(extra_header)
        for line in header:
            self._fh.write(line + "\n")
        self._fh.write("\t".join(reader.columns) + "\n")

    def write(self, record: VcfRecord, values: dict[str, Sequence[str]]) -> None:
        """Write ``record``'s line with ``key=v1,v2,...`` (one value per ALT) appended to INFO."""
        cols = record.text.split("\t")
        added = ";".join(f"{f.key}={','.join(values[f.key])}" for f in self.fields)
        cols[7] = added if cols[7] in (".", "") else f"{cols[7]};{added}"
        self._fh.write("\t".join(cols) + "\n")
        key = (record.chrom, record.pos)
        if self._last is not None and self._sorted:
            if key[0] != self._last[0]:
                self._seen_contigs.add(self._last[0])
                self._sorted = key[0] not in self._seen_contigs
            elif key[1] < self._last[1]:
                self._sorted = False
        self._last = key

    def close(self) -> None:
        """Finish the file: bgzip and index a ``.vcf.gz``, then move it into place."""
        if self._fh.closed:
            return
        try:
            self._fh.close()
            if self.compressed:
                pysam = require("pysam", "variants", "writing .vcf.gz")
                if self._sorted:
                    made = pysam.tabix_index(
                        str(self._plain), preset="vcf", force=True, keep_original=False
                    )
                    Path(made).replace(self._tmp)
                    tbi = Path(made + ".tbi")
                    with atomic_output_path(Path(str(self.path) + ".tbi")) as tmp_tbi:
                        tbi.replace(tmp_tbi)
                        self._stack.close()
                    self.indexed = True
                else:
                    pysam.tabix_compress(str(self._plain), str(self._tmp), force=True)
                    self._plain.unlink()
                    stale = Path(str(self.path) + ".tbi")
                    self._stack.close()
                    stale.unlink(missing_ok=True)
            else:
                self._stack.close()
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Remove what was written; the destination is left as it was."""
        if not self._fh.closed:
            self._fh.close()
        if self.compressed:
            for p in (
                self._plain,
                Path(str(self._plain) + ".gz"),
                Path(str(self._plain) + ".gz.tbi"),
            ):
                p.unlink(missing_ok=True)
        with contextlib.suppress(BaseException):
            self._stack.__exit__(RuntimeError, RuntimeError("aborted"), None)

    def __enter__(self) -> AnnotatedVcfWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
