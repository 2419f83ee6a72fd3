"""Genome: contigs as uint8 arrays, windows as gathers, and an index that is always verified."""

from __future__ import annotations

import gzip
import os
import shutil
import stat
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqcnn.exceptions import InputError
from seqcnn.io.genome import BGZF_EOF, Genome, GenomeWarning
from seqcnn.sequence import reverse_complement

GENOME_SLICE = "genome-slice/baskerville_hg38_chr1_first1Mb.fa.gz"


def random_contigs(seed: int = 0) -> dict[str, str]:
    """Contigs with lower case, N runs and IUPAC codes, of awkward lengths."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, n in (("chr1", 1234), ("chr2", 60), ("chrM", 7), ("chrX", 601)):
        s = rng.choice(list("ACGTacgtNRY"), n, p=[0.17] * 4 + [0.04] * 4 + [0.1, 0.05, 0.01])
        out[name] = "".join(s)
    return out


def write_fasta(path, contigs: dict[str, str], width: int = 60, eol: str = "\n", final=True):
    lines = []
    for name, seq in contigs.items():
        lines.append(f">{name} some description")
        lines.extend(seq[i : i + width] for i in range(0, len(seq), width))
    text = eol.join(lines) + (eol if final else "")
    path.write_bytes(text.encode())
    return path


@pytest.fixture
def contigs():
    return random_contigs()


@pytest.fixture
def fasta(tmp_path, contigs):
    return write_fasta(tmp_path / "g.fa", contigs)


def windows_agree(g: Genome, contigs: dict[str, str], n: int = 200, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    for name, seq in contigs.items():
        for _ in range(n // len(contigs)):
            a = int(rng.integers(0, len(seq) + 1))
            b = int(rng.integers(a, len(seq) + 1))
            assert g.fetch(name, a, b) == seq[a:b]
        assert g.fetch(name, 0, len(seq)) == seq
        assert g.fetch(name, len(seq), len(seq)) == ""
    assert g.chrom_sizes == {k: len(v) for k, v in contigs.items()}


def test_plain_fasta_windows_equal_python_slicing(fasta, contigs):
    g = Genome(fasta)
    windows_agree(g, contigs)
    assert g.index_path == fasta.with_name("g.fa.fai")
    assert g["chrX"][590:] == contigs["chrX"][590:] and len(g["chr2"]) == 60
    assert Genome(fasta, upper=True).fetch("chr1", 0, 50) == contigs["chr1"][:50].upper()


@pytest.mark.parametrize(
    "width,eol,final",
    [(60, "\n", True), (7, "\r\n", True), (60, "\n", False), (10_000, "\n", True)],
)
def test_line_layouts(tmp_path, contigs, width, eol, final):
    """CRLF, a final line without line break, one line per contig."""
    g = Genome(write_fasta(tmp_path / "g.fa", contigs, width, eol, final))
    windows_agree(g, contigs)


def test_index_matches_samtools(fasta):
    pysam = pytest.importorskip("pysam")
    Genome(fasta)
    ours = fasta.with_name("g.fa.fai").read_text()
    ref = fasta.with_name("ref.fa")
    shutil.copy(fasta, ref)
    pysam.faidx(str(ref))
    assert ours == ref.with_name("ref.fa.fai").read_text()


def test_window_codes_gather_and_reverse_complement(fasta, contigs):
    g = Genome(fasta)
    rng = np.random.default_rng(3)
    names = rng.choice(["chr1", "chrX"], 50)
    start = np.array([rng.integers(0, len(contigs[c]) - 40 + 1) for c in names])
    rev = rng.random(50) < 0.5
    codes = g.window_codes(names, start, 40, reverse=rev)
    assert codes.shape == (50, 40) and codes.dtype == np.uint8
    for i, (c, s) in enumerate(zip(names, start, strict=True)):
        want = contigs[c][s : s + 40]
        want = reverse_complement(want) if rev[i] else want
        assert codes[i].tobytes().decode() == want
    buf = np.zeros((50, 40), dtype=np.uint8)
    assert g.window_codes(names, start, 40, reverse=rev, out=buf) is buf
    assert (buf == codes).all()
    with pytest.raises(InputError, match=r"runs off contig 'chrM' \(length 7\)"):
        g.window_codes(["chr1", "chrM"], [0, 0], 8)
    with pytest.raises(InputError, match="contig 'chrZ' is not in the genome"):
        g.window_codes(["chrZ"], [0], 8)


def test_fetch_intervals_equal_and_unequal_lengths(fasta, contigs):
    g = Genome(fasta)
    bed = pd.DataFrame(
        {"chrom": ["chr1", "chrX", "chr1"], "start": [5, 100, 1200], "end": [25, 120, 1220]}
    )
    bed["strand"] = ["+", "-", "."]
    want = [contigs["chr1"][5:25], reverse_complement(contigs["chrX"][100:120])]
    want.append(contigs["chr1"][1200:1220])
    assert g.fetch_intervals(bed, stranded=True) == want
    bed.loc[2, "end"] = 1234  # now of different lengths: the per-interval path
    want[2] = contigs["chr1"][1200:1234]
    assert g.fetch_intervals(bed, stranded=True) == want
    assert g.interval_codes(bed.iloc[:2], stranded=True).tobytes().decode() == "".join(want[:2])
    with pytest.raises(InputError, match="different lengths"):
        g.interval_codes(bed)


def test_status(fasta):
    g = Genome(fasta)
    st_ = g.status(["chr1", "chr1", "chr9", "chrM", "chrM"], [0, -1, 0, 0, 3], [1234, 5, 1, 7, 8])
    assert st_.tolist() == ["ok", "out_of_bounds", "unknown_contig", "ok", "out_of_bounds"]


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_windows_property(tmp_path_factory, data):
    """Random contigs, line widths and windows (edges included) agree with Python slicing."""
    seqs = data.draw(
        st.lists(st.text("ACGTNacgtn", min_size=1, max_size=150), min_size=1, max_size=4)
    )
    contigs = {f"c{i}": s for i, s in enumerate(seqs)}
    width = data.draw(st.integers(1, 80))
    path = write_fasta(tmp_path_factory.mktemp("g") / "g.fa", contigs, width)
    g = Genome(
        path, memory_limit=data.draw(st.sampled_from([0, 1 << 30])), cache_dir=path.parent / "cache"
    )
    name = data.draw(st.sampled_from(sorted(contigs)))
    seq = contigs[name]
    a = data.draw(st.integers(0, len(seq)))
    b = data.draw(st.integers(a, len(seq)))
    assert g.fetch(name, a, b) == seq[a:b]
    length = b - a
    assert g.window_codes([name], [a], length).tobytes().decode() == seq[a:b]


# ------------------------------------------------------------------ the index is verified
def write_fai(path, rows):
    path.write_text("".join("\t".join(map(str, r)) + "\n" for r in rows))


def test_stale_index_is_rebuilt_with_a_note(fasta, contigs):
    Genome(fasta)
    fai = fasta.with_name("g.fa.fai")
    new = dict(contigs, chr2=contigs["chr2"] + "ACGT" * 10)
    write_fasta(fasta, new)
    old = fai.stat().st_mtime_ns
    os.utime(fai, ns=(old - 10**9, old - 10**9))
    os.utime(fasta, ns=(old, old))
    with pytest.warns(GenomeWarning, match="older than the FASTA; rebuilding"):
        g = Genome(fasta)
    windows_agree(g, new)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Genome(fasta)  # rebuilt once: no second note


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda rows: rows[0].__setitem__(1, rows[0][1] - 10),  # contig shorter than the file's
        lambda rows: rows[0].__setitem__(1, rows[0][1] + 100),  # longer: runs into a header
        lambda rows: rows[1].__setitem__(2, rows[1][2] + 3),  # offset inside a line
        lambda rows: rows[3].__setitem__(1, 10**6),  # past the end of the file
        lambda rows: rows[2].__setitem__(3, 5),  # wrong line width
        lambda rows: rows.__setitem__(0, ["chr1", "x", 1, 60, 61]),  # not a number
    ],
)
def test_inconsistent_index_is_rebuilt(fasta, contigs, corrupt):
    Genome(fasta)
    fai = fasta.with_name("g.fa.fai")
    rows = [line.split("\t") for line in fai.read_text().splitlines()]
    rows = [[r[0], *map(int, r[1:])] for r in rows]
    corrupt(rows)
    write_fai(fai, rows)
    with pytest.warns(GenomeWarning, match="does not match the FASTA"):
        g = Genome(fasta)
        windows_agree(g, contigs)  # never a short or wrong window


def test_bad_index_in_read_only_folder_is_rebuilt_in_the_cache(tmp_path, contigs):
    folder = tmp_path / "ref"
    folder.mkdir()
    fasta = write_fasta(folder / "g.fa", contigs)
    Genome(fasta)
    fai = folder / "g.fa.fai"
    rows = [[r[0], *map(int, r[1:])] for r in (x.split("\t") for x in fai.read_text().splitlines())]
    rows[0][1] -= 1
    write_fai(fai, rows)
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.warns(GenomeWarning, match="does not match"):
            g = Genome(fasta, cache_dir=tmp_path / "cache")
            windows_agree(g, contigs)
        assert (tmp_path / "cache") in g.index_path.parents
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            windows_agree(Genome(fasta, cache_dir=tmp_path / "cache"), contigs)
    finally:
        folder.chmod(stat.S_IRWXU)


def test_irregular_fasta_is_an_error_naming_the_line(tmp_path):
    p = tmp_path / "bad.fa"
    p.write_text(">a\nACGTACGT\nACG\nACGTACGT\n>b\nAC\n")
    with pytest.raises(InputError, match=r"bad\.fa, line 4: record 'a' has lines of different"):
        Genome(p)
    p.write_text(">a\nACGT\n\nACGT\n")
    with pytest.raises(InputError, match=r"line 4: .*blank line inside it, line 3"):
        Genome(p)
    p.write_text("ACGT\n>a\nAC\n")
    with pytest.raises(InputError, match=r"line 1: sequence before the first '>'"):
        Genome(p)
    p.write_text(">a\nAC\n>a\nGG\n")
    with pytest.raises(InputError, match=r"line 3: contig 'a' appears twice"):
        Genome(p)


# ------------------------------------------------------------------ compressed and large genomes
def bgzip(src, dst):
    from Bio import bgzf

    with open(src, "rb") as fh, bgzf.BgzfWriter(str(dst), "wb") as out:
        out.write(fh.read())
    return dst


def test_bgzf_and_gzip_unpack_once_to_a_memory_mapped_cache(tmp_path, fasta, contigs):
    cache = tmp_path / "cache"
    for path in (bgzip(fasta, tmp_path / "g.fa.bgz"), tmp_path / "g.fa.gz"):
        if path.suffix == ".gz":
            path.write_bytes(gzip.compress(fasta.read_bytes()))
        g = Genome(path, cache_dir=cache)
        assert g.kind == ("bgzf" if path.suffix == ".bgz" else "gzip")
        windows_agree(g, contigs)
        assert cache in g.fasta_path.parents and isinstance(g.codes("chr1"), np.memmap)
        mtime = g.fasta_path.stat().st_mtime_ns
        windows_agree(Genome(path, cache_dir=cache), contigs)
        assert g.fasta_path.stat().st_mtime_ns == mtime  # reused, not rebuilt


def test_large_plain_genome_is_packed_and_memory_mapped(tmp_path, fasta, contigs):
    g = Genome(fasta, cache_dir=tmp_path / "cache", memory_limit=100)
    assert isinstance(g.codes("chrX"), np.memmap)
    assert g.fasta_path.stat().st_size == sum(map(len, contigs.values()))
    windows_agree(g, contigs)


def test_truncated_or_corrupt_bgzf_is_a_clear_error(tmp_path, fasta):
    whole = bgzip(fasta, tmp_path / "g.fa.gz").read_bytes()
    assert whole.endswith(BGZF_EOF)
    cut = tmp_path / "cut.fa.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InputError, match=r"cut\.fa\.gz: the bgzip-compressed genome is truncated"):
        Genome(cut, cache_dir=tmp_path / "cache")
    bad = bytearray(whole)
    bad[40:60] = bytes(20)  # inside the first block's deflate data; the end block stays
    flipped = tmp_path / "flipped.fa.gz"
    flipped.write_bytes(bytes(bad))
    with pytest.raises(InputError, match=r"flipped\.fa\.gz: the compressed genome is truncated or"):
        Genome(flipped, cache_dir=tmp_path / "cache")
    plain_gz = tmp_path / "p.fa.gz"
    plain_gz.write_bytes(gzip.compress(fasta.read_bytes())[:-30])
    with pytest.raises(InputError, match=r"p\.fa\.gz: the compressed genome is truncated"):
        Genome(plain_gz, cache_dir=tmp_path / "cache")
    assert not list((tmp_path / "cache").rglob("*.part"))  # nothing half-written left


def test_unwritable_cache_for_a_compressed_genome(tmp_path, fasta):
    gz = tmp_path / "g.fa.gz"
    gz.write_bytes(gzip.compress(fasta.read_bytes()))
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    with pytest.raises(InputError, match="cannot create the genome cache .*SEQCNN_CACHE_DIR"):
        Genome(gz, cache_dir=blocked / "cache")


def test_real_slice_agrees_with_pysam(data_dir, tmp_path):
    pysam = pytest.importorskip("pysam")
    g = Genome(data_dir / GENOME_SLICE, cache_dir=tmp_path / "cache")
    assert g.chrom_sizes == {"chr1": 1_000_000}
    ref = pysam.FastaFile(str(data_dir / GENOME_SLICE))
    rng = np.random.default_rng(0)
    start = rng.integers(0, 1_000_000 - 1000, 100)
    codes = g.window_codes(["chr1"] * 100, start, 1000)
    for s, row in zip(start.tolist(), codes, strict=True):
        assert row.tobytes().decode() == ref.fetch("chr1", s, s + 1000)
    assert g.fetch("chr1", 999_990, 1_000_000) == ref.fetch("chr1", 999_990, 1_000_000)
