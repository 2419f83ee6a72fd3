"""Tests of seqcnn.io.vcf: streamed reading, skip reasons, contig aliases, annotated output."""

from __future__ import annotations

import gzip
import shutil
import subprocess

import pytest

from seqcnn.exceptions import InputError
from seqcnn.io.vcf import (
    AnnotatedVcfWriter,
    ContigMatcher,
    InfoField,
    VcfReader,
    info_key,
    read_vcf,
)

HEAD = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


@pytest.fixture
def mixed(test_data):
    return test_data / "variants_mixed.vcf"


def test_one_item_per_alt_with_zero_based_offsets(mixed):
    alleles = list(read_vcf(mixed))
    assert [(a.id, a.alt) for a in alleles] == [
        ("rs1", "G"),
        ("rs2", "A"),
        ("rs2", "T"),
        ("del1", "G"),
        ("ins1", "TCC"),
        ("mnv1", "GT"),
        ("sv1", "<DEL>"),
        ("star1", "T"),
        ("star1", "*"),
        ("miss1", "."),
        ("bnd1", "A]chr2:5]"),
    ]
    assert all(a.pos0 == a.pos - 1 for a in alleles)
    rs2 = [a for a in alleles if a.id == "rs2"]
    assert [(a.alt_index, a.n_alts, a.record) for a in rs2] == [(0, 2, 1), (1, 2, 1)]
    skips = {(a.id, a.alt): a.skip for a in alleles if a.skip}
    assert skips == {
        ("sv1", "<DEL>"): "symbolic_allele",
        ("star1", "*"): "spanning_deletion",
        ("miss1", "."): "missing_allele",
        ("bnd1", "A]chr2:5]"): "symbolic_allele",
    }
    # line numbers are those of the file (6 header lines)
    assert alleles[0].line == 7 and alleles[-1].line == 15


def test_records_keep_their_text_and_header(mixed):
    reader = VcfReader(mixed)
    records = list(reader)
    lines = [ln for ln in mixed.read_text().splitlines() if not ln.startswith("#")]
    assert [r.text for r in records] == lines
    assert reader.info_ids == {"COEF", "PVAL"}
    assert reader.columns[:5] == ["#CHROM", "POS", "ID", "REF", "ALT"]


def test_gzip_bgzip_and_region(mixed, tmp_path):
    pysam = pytest.importorskip("pysam")
    expected = [(a.chrom, a.pos0, a.ref, a.alt) for a in read_vcf(mixed)]
    gz = tmp_path / "v.vcf.gz"
    gz.write_bytes(gzip.compress(mixed.read_bytes()))
    assert [(a.chrom, a.pos0, a.ref, a.alt) for a in read_vcf(gz)] == expected
    bgz = tmp_path / "b.vcf.gz"
    pysam.tabix_compress(str(mixed), str(bgz))
    pysam.tabix_index(str(bgz), preset="vcf")
    assert [(a.chrom, a.pos0, a.ref, a.alt) for a in read_vcf(bgz)] == expected
    region = [(a.pos, a.alt) for a in read_vcf(bgz, region="chr1:20-40")]
    assert region == [(20, "A"), (20, "T"), (30, "G"), (40, "TCC")]
    with pytest.raises(InputError, match="tabix index"):
        list(read_vcf(gz, region="chr1:1-5"))


def test_not_a_vcf(test_data, tmp_path):
    with pytest.raises(InputError, match="not a VCF") as err:
        VcfReader(test_data / "tiny_genome.fa")
    assert "tiny_genome.fa" in str(err.value) and "line 1" in str(err.value)
    empty = tmp_path / "empty.vcf"
    empty.write_text("")
    with pytest.raises(InputError, match="not a VCF"):
        VcfReader(empty)
    with pytest.raises(InputError, match="not found"):
        VcfReader(tmp_path / "missing.vcf")


@pytest.mark.parametrize(
    "line, match",
    [
        ("chr1\t10\t.\tA\tG\t.\t.", "expected 8 tab-separated fields"),
        ("chr1 10 . A G . . .", "separated by tabs"),
        ("chr1\tten\t.\tA\tG\t.\t.\t.", "POS must be a whole number"),
        ("chr1\t-3\t.\tA\tG\t.\t.\t.", "POS must be 0 or more"),
        ("chr1\t10\t.\tA-\tG\t.\t.\t.", "REF must be bases"),
        ("chr1\t10\t.\tA\tG,X1\t.\t.\t.", "ALT allele 'X1'"),
        ("\t10\t.\tA\tG\t.\t.\t.", "empty CHROM"),
    ],
)
def test_malformed_lines_name_the_line(tmp_path, line, match):
    p = tmp_path / "bad.vcf"
    p.write_text(HEAD + "chr1\t5\t.\tA\tC\t.\t.\t.\n" + line + "\n")
    with pytest.raises(InputError, match=match) as err:
        list(read_vcf(p))
    assert "bad.vcf, line 4" in str(err.value)


def test_bad_header_and_data_before_header(tmp_path):
    p = tmp_path / "h.vcf"
    p.write_text("##fileformat=VCFv4.2\n#CHROM POS ID REF ALT\nchr1\t1\t.\tA\tC\t.\t.\t.\n")
    with pytest.raises(InputError, match="header line should be") as err:
        VcfReader(p)
    assert "line 2" in str(err.value)
    p.write_text("##fileformat=VCFv4.2\nchr1\t1\t.\tA\tC\t.\t.\t.\n")
    with pytest.raises(InputError, match="comes before"):
        VcfReader(p)


def test_truncated_gzip_is_an_input_error(mixed, tmp_path):
    data = gzip.compress((mixed.read_text() * 50).encode())
    p = tmp_path / "cut.vcf.gz"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="cut.vcf.gz"):
        list(read_vcf(p))


def test_contig_aliases():
    m = ContigMatcher(["chr1", "chr2", "chrM", "chrX"])
    assert [m(n) for n in ("chr1", "1", "2", "X", "M", "MT", "chrMT", "3")] == [
        "chr1", "chr1", "chr2", "chrX", "chrM", "chrM", "chrM", None,
    ]  # fmt: skip
    assert m.aliases == {
        "1": "chr1",
        "2": "chr2",
        "X": "chrX",
        "M": "chrM",
        "MT": "chrM",
        "chrMT": "chrM",
    }
    m = ContigMatcher(["1", "MT"])
    assert (m("chr1"), m("chrM"), m("M")) == ("1", "MT", "MT")
    # ambiguous: both spellings in the genome -> only exact names match
    m = ContigMatcher(["1", "chr1", "chrM", "MT"])
    assert (m("1"), m("chr1"), m("M"), m("chrMT")) == ("1", "chr1", None, None)


def test_info_key_is_valid():
    assert info_key("SEQCNN", "Bound", "DELTA") == "SEQCNN_Bound_DELTA"
    assert info_key("", "1st target", "Z") == "_1st_target_Z"
    assert info_key("S", "a-b/c", "P") == "S_a_b_c_P"


def _annotate(mixed, out, fields=None):
    reader = VcfReader(mixed)
    fields = fields or [
        InfoField("S_DELTA", "Float", 'an "effect"'),
        InfoField("S_ST", "String", "s"),
    ]
    with AnnotatedVcfWriter(out, reader, fields, ["##seqcnnCommand=seqcnn test"]) as writer:
        for rec in reader:
            n = len(rec.alleles)
            writer.write(rec, {"S_DELTA": [f"{0.5 * i}" for i in range(n)], "S_ST": ["ok"] * n})
    return writer


@pytest.mark.parametrize("name", ["out.vcf", "out.vcf.gz"])
def test_annotated_vcf_keeps_records_and_parses_back(mixed, tmp_path, name):
    pysam = pytest.importorskip("pysam")
    out = tmp_path / name
    writer = _annotate(mixed, out)
    if name.endswith(".gz"):
        assert writer.indexed and (tmp_path / (name + ".tbi")).is_file()
        text = gzip.open(out, "rt").read()
    else:
        text = out.read_text()
    assert "##seqcnnCommand=seqcnn test" in text
    body = [ln for ln in text.splitlines() if not ln.startswith("#")]
    original = [ln for ln in mixed.read_text().splitlines() if not ln.startswith("#")]
    for new, old in zip(body, original, strict=True):
        new_cols, old_cols = new.split("\t"), old.split("\t")
        assert new_cols[:7] == old_cols[:7]
        assert new_cols[7].startswith(old_cols[7] + ";") or old_cols[7] == "."
    assert "PVAL=8.612e-236" in body[0]  # untouched, although float32 cannot hold it
    with pysam.VariantFile(str(out)) as vf:
        assert vf.header.info["S_DELTA"].number == "A"
        recs = list(vf)
    assert len(recs) == len(original)
    assert recs[1].info["S_DELTA"] == (0.0, 0.5) and recs[1].info["COEF"] == 0.25
    assert recs[1].id == "rs2"
    if name.endswith(".gz"):
        with pysam.VariantFile(str(out)) as vf:
            assert [r.id for r in vf.fetch("chr1", 15, 35)] == ["rs2", "del1"]


def test_annotated_vcf_readable_by_bcftools(mixed, tmp_path):
    bcftools = shutil.which("bcftools")
    if bcftools is None:
        pytest.skip("bcftools is not installed")
    out = tmp_path / "o.vcf.gz"
    _annotate(mixed, out)
    view = subprocess.run([bcftools, "view", "-H", str(out)], capture_output=True, text=True)
    assert view.returncode == 0, view.stderr
    assert len(view.stdout.splitlines()) == 9
    query = subprocess.run(
        [bcftools, "query", "-r", "chr1:20", "-f", "%ID %S_DELTA\n", str(out)],
        capture_output=True,
        text=True,
    )
    assert query.returncode == 0, query.stderr
    assert query.stdout.split() == ["rs2", "0,0.5"]


def test_annotated_vcf_refuses_existing_keys_and_bad_keys(mixed, tmp_path):
    with pytest.raises(InputError, match="already has an INFO field 'COEF'"):
        _annotate(mixed, tmp_path / "o.vcf", [InfoField("COEF", "Float", "x")])
    with pytest.raises(InputError, match="not valid"):
        _annotate(mixed, tmp_path / "o.vcf", [InfoField("1bad", "Float", "x")])
    assert not (tmp_path / "o.vcf").exists()
    assert list(tmp_path.iterdir()) == []


def test_unsorted_vcf_gz_is_bgzipped_without_index(tmp_path):
    pysam = pytest.importorskip("pysam")
    p = tmp_path / "u.vcf"
    p.write_text(HEAD + "c\t9\t.\tA\tC\t.\t.\t.\nc\t3\t.\tA\tG\t.\t.\t.\n")
    reader = VcfReader(p)
    out = tmp_path / "u.out.vcf.gz"
    with AnnotatedVcfWriter(out, reader, [InfoField("K", "Float", "k")]) as writer:
        for rec in reader:
            writer.write(rec, {"K": ["1"]})
    assert not writer.indexed and not (tmp_path / "u.out.vcf.gz.tbi").exists()
    with pysam.VariantFile(str(out)) as vf:
        assert [r.pos for r in vf] == [9, 3]


def test_failed_write_leaves_nothing(mixed, tmp_path):
    reader = VcfReader(mixed)
    out = tmp_path / "o.vcf.gz"
    with pytest.raises(RuntimeError):
        with AnnotatedVcfWriter(out, reader, [InfoField("K", "Float", "k")]) as writer:
            writer.write(next(iter(reader)), {"K": ["1"]})
            raise RuntimeError("stop")
    assert list(tmp_path.iterdir()) == []
