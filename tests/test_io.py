"""Readers: tables, FASTA, BED/narrowPeak, genomes; and every bad input they must name."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest

from seqcnn.exceptions import InputError
from seqcnn.io import (
    Genome,
    check_both_classes,
    infer_task,
    overlaps,
    read_bed,
    read_fasta,
    read_fasta_records,
    read_labelled_fasta,
    read_table,
    validate_binary,
    windows,
)

REST_B = "encode-chipseq/REST_GM12878_NRSF_HudsonAlpha_B.seq.gz"
GENOME_SLICE = "genome-slice/baskerville_hg38_chr1_first1Mb.fa.gz"


def write(path, text):
    path.write_text(text)
    return path


@pytest.fixture
def genome_fa(tmp_path, test_data):
    """The tiny two-contig genome, copied so that its index is written outside the repo."""
    return shutil.copy(test_data / "tiny_genome.fa", tmp_path / "tiny_genome.fa")


# ------------------------------------------------------------------ tables
def test_real_deepbind_seq_file(data_dir):
    t = read_table(data_dir / REST_B)
    assert len(t) == 1000 and t.labels.shape == (1000, 1)
    assert t.labels.dtype == np.float32 and t.labels.sum() == 500
    assert t.target_names == ["Bound"] and t.ids[0] == "seq_00002_peak"
    assert set(map(len, t.sequences)) == {101}
    assert t.columns["FoldID"][0] == "A"
    assert infer_task(t.labels) == "binary"
    validate_binary(t)
    check_both_classes(t)
    assert t.encode().shape == (1000, 4, 101)


def test_toy_table_and_encoding(test_data):
    t = read_table(test_data / "toy_table.tsv")
    assert t.ids == ["p1", "p2", "n1", "n2"]
    assert t.labels.ravel().tolist() == [1, 1, 0, 0]
    assert t.lines.tolist() == [2, 3, 4, 5]
    assert t.subset([1, 3]).ids == ["p2", "n2"]


def test_csv_gz_with_several_targets_and_named_columns(tmp_path):
    p = tmp_path / "multi.csv.gz"
    with gzip.open(p, "wt") as fh:
        fh.write("name,Sequence,chrom,ctcf,rest\na,ACGT,chr1,1,0\nb,GGCC,chr2,0,1\n")
    t = read_table(p)
    assert t.ids == ["a", "b"] and t.sequences == ["ACGT", "GGCC"]
    assert t.target_names == ["ctcf", "rest"] and infer_task(t.labels) == "multilabel"
    assert t.columns["chrom"] == ["chr1", "chr2"]
    t2 = read_table(p, label_columns=["rest"])
    assert t2.labels.ravel().tolist() == [0, 1]


def test_regression_labels_and_sniffed_separator(tmp_path):
    p = write(tmp_path / "expr.dat", "seq;value\nACGT;0.25\nTTTT;-1.5\nGG;NA\n")
    t = read_table(p)
    assert infer_task(t.labels) == "regression"
    assert t.labels[:2].ravel().tolist() == [0.25, -1.5] and np.isnan(t.labels[2, 0])


def test_blank_lines_keep_line_numbers(tmp_path):
    p = write(tmp_path / "gaps.tsv", "seq\tBound\nACGT\t1\n\nACXT\t0\n")
    with pytest.raises(InputError, match=r"gaps\.tsv, line 4: invalid character 'X'"):
        read_table(p)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"nope\.tsv: file not found"):
        read_table(tmp_path / "nope.tsv")
    with pytest.raises(InputError, match="file not found"):
        read_fasta(tmp_path / "nope.fa")
    with pytest.raises(InputError, match="file not found"):
        read_bed(tmp_path / "nope.bed")
    with pytest.raises(InputError, match="not found"):
        Genome(tmp_path / "nope.fa")


def test_empty_files(tmp_path):
    for name, reader in (("e.tsv", read_table), ("e.fa", read_fasta), ("e.bed", read_bed)):
        p = write(tmp_path / name, "")
        with pytest.raises(InputError, match=rf"e\.{name[2:]}: .*(empty|no intervals)"):
            reader(p)
    with pytest.raises(InputError, match=r"h\.tsv, line 1: the table has a header but no rows"):
        read_table(write(tmp_path / "h.tsv", "seq\tBound\n"))


def test_table_without_sequence_column(tmp_path):
    p = write(tmp_path / "noseq.tsv", "id\tdna\tBound\na\tACGT\t1\n")
    with pytest.raises(InputError) as err:
        read_table(p)
    msg = str(err.value)
    assert "noseq.tsv, line 1" in msg and "'dna'" in msg and "seq / sequence / sequences" in msg
    assert read_table(p, sequence_column="dna").sequences == ["ACGT"]


def test_empty_sequence_and_bad_characters_name_the_line(tmp_path):
    p = write(tmp_path / "bad.tsv", "seq\tBound\nACGT\t1\n\t0\n")
    with pytest.raises(InputError, match=r"bad\.tsv, line 3: empty sequence"):
        read_table(p)
    p = write(tmp_path / "rna.tsv", "seq\tBound\nACGT\t1\nACGU\t0\n")
    with pytest.raises(InputError, match=r"rna\.tsv, line 3: invalid character 'U' at position 4"):
        read_table(p)


def test_non_numeric_label_names_the_line(tmp_path):
    p = write(tmp_path / "lab.tsv", "seq\tBound\nACGT\t1\nACGT\tyes\n")
    with pytest.raises(InputError, match=r"lab\.tsv, line 3: label 'yes' in column 'Bound'"):
        read_table(p)


def test_ragged_row_names_the_line(tmp_path):
    p = write(tmp_path / "ragged.tsv", "seq\tBound\nACGT\t1\nACGT\t0\textra\n")
    with pytest.raises(InputError, match=r"ragged\.tsv, line 3"):
        read_table(p)


def test_labels_not_binary_for_binary_task(tmp_path):
    t = read_table(write(tmp_path / "y.tsv", "seq\tBound\nACGT\t1\nACGT\t0\nAAAA\t2\n"))
    assert infer_task(t.labels) == "regression"
    with pytest.raises(InputError, match=r"y\.tsv, line 4: label 2 in Bound is not 0 or 1"):
        validate_binary(t)


def test_single_class_training_set(tmp_path, data_dir):
    t = read_table(write(tmp_path / "pos.tsv", "seq\tBound\nACGT\t1\nGGGG\t1\n"))
    with pytest.raises(InputError, match=r"pos\.tsv: only one class \(1\).*--negatives shuffle"):
        check_both_classes(t)
    ac = read_table(data_dir / "encode-chipseq" / "REST_GM12878_NRSF_HudsonAlpha_AC.seq.gz")
    with pytest.raises(InputError, match=r"REST_GM12878_NRSF_HudsonAlpha_AC\.seq\.gz: only one"):
        check_both_classes(ac)


# ------------------------------------------------------------------ FASTA
def test_read_fasta(test_data, tmp_path):
    recs = read_fasta_records(test_data / "toy_pos.fa")
    assert [(r.name, r.description, r.sequence, r.line) for r in recs] == [
        ("p1", "bound site", "ACGTACGTAA", 1),
        ("p2", "", "acgtnnACGT", 4),
    ]
    gz = tmp_path / "toy.fa.gz"
    gz.write_bytes(gzip.compress((test_data / "toy_pos.fa").read_bytes()))
    assert read_fasta(gz) == [("p1", "ACGTACGTAA"), ("p2", "acgtnnACGT")]


def test_real_fasta(data_dir):
    recs = read_fasta(data_dir / "motifs" / "ecoli_CRP_binding_sites.fa")
    assert len(recs) == 358


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("ACGT\n>a\nACGT\n", r"line 1: expected a FASTA header"),
        (">a\nACGT\n>b\n>c\nAC\n", r"line 3: record 'b' has no sequence"),
        (">a\nACGT\n>\nAC\n", r"line 3: header line without a record name"),
        (">a\nACGT\n>b\nAC\nAC-T\n", r"line 5: record 'b': invalid character '-' at column 3"),
    ],
)
def test_bad_fasta_names_file_and_line(tmp_path, text, pattern):
    p = write(tmp_path / "bad.fa", text)
    with pytest.raises(InputError, match=r"bad\.fa, " + pattern):
        read_fasta(p)


def test_labelled_fasta_pair(test_data):
    t = read_labelled_fasta(test_data / "toy_pos.fa", test_data / "toy_neg.fa")
    assert t.ids == ["p1", "p2", "n1", "n2"] and t.labels.ravel().tolist() == [1, 1, 0, 0]
    check_both_classes(t)
    only_pos = read_labelled_fasta(test_data / "toy_pos.fa")
    with pytest.raises(InputError, match="only one class"):
        check_both_classes(only_pos)


def test_labelled_fasta_with_table(test_data, tmp_path):
    t = read_labelled_fasta(
        test_data / "toy_pos.fa",
        test_data / "toy_neg.fa",
        labels_table=test_data / "toy_labels.csv",
    )
    assert t.target_names == ["ctcf", "rest"]
    assert t.labels.tolist() == [[1, 0], [1, 1], [0, 0], [0, 1]]
    partial = write(tmp_path / "partial.csv", "id,ctcf\np1,1\np2,0\n")
    with pytest.raises(InputError) as err:
        read_labelled_fasta(test_data / "toy_pos.fa", test_data / "toy_neg.fa", partial)
    msg = str(err.value)
    assert "toy_neg.fa, line 1" in msg and "'n1'" in msg and "partial.csv" in msg
    assert "2 of 4 records unmatched" in msg


# ------------------------------------------------------------------ BED / narrowPeak
def test_read_narrowpeak(test_data):
    bed = read_bed(test_data / "tiny_peaks.narrowPeak")
    assert bed["chrom"].tolist() == ["chrA", "chrA", "chrB"]
    assert bed["start"].tolist() == [100, 300, 150] and bed["end"].tolist() == [160, 340, 200]
    assert bed["summit"].tolist() == [25, -1, 10] and bed["line"].tolist() == [2, 3, 4]
    assert bed["signal"].tolist() == [12.5, 10.0, 9.0]


def test_windows_centre_on_summit_or_middle(test_data):
    bed = read_bed(test_data / "tiny_peaks.narrowPeak")
    w = windows(bed, 21)
    assert w["center"].tolist() == [125, 320, 160]  # summit, middle (no summit), summit
    assert (w["end"] - w["start"]).eq(21).all()
    assert (w["center"] - w["start"]).eq(10).all()
    assert windows(bed, 20, center="middle")["start"].tolist() == [120, 310, 165]


@pytest.mark.parametrize(
    ("line", "pattern"),
    [
        ("chr1\t10\n", "expected at least 3 tab-separated columns"),
        ("chr1\t1x\t20\n", "start '1x' is not an integer"),
        ("chr1\t10\t2.5\n", "end '2.5' is not an integer"),
        ("chr1\t-5\t20\n", "negative start -5"),
        ("chr1\t20\t20\n", "end 20 is not after start 20"),
        ("chr1\t10\t20\tn\t0\t*\n", "strand '\\*'"),
    ],
)
def test_bad_bed_lines(tmp_path, line, pattern):
    p = write(tmp_path / "bad.bed", "# comment\nchr1\t0\t5\n" + line)
    with pytest.raises(InputError, match=r"bad\.bed, line 3: " + pattern):
        read_bed(p)


def test_overlaps_half_open():
    import pandas as pd

    ref = pd.DataFrame({"chrom": ["c", "c"], "start": [10, 40], "end": [20, 50]})
    hit = overlaps(["c"] * 5, np.array([0, 0, 20, 35, 49]), np.array([10, 11, 40, 41, 60]), ref)
    assert hit.tolist() == [False, True, False, True, True]


# ------------------------------------------------------------------ genomes
def test_genome_fetch_and_sizes(genome_fa):
    g = Genome(genome_fa)
    assert g.chrom_sizes == {"chrA": 600, "chrB": 300}
    assert "chrA" in g and "chrC" not in g and list(g) == ["chrA", "chrB"]
    text = "".join(genome_fa.read_text().split("\n>chrB")[0].split("\n")[1:])
    assert g.fetch("chrA", 55, 130) == text[55:130]  # 0-based half-open across line breaks
    assert g["chrA"][0:5] == text[0:5]
    assert g.fetch("chrB", 0, 50) == "N" * 50


def test_genome_errors_name_contig_and_bed_line(genome_fa, tmp_path):
    g = Genome(genome_fa)
    with pytest.raises(InputError, match=r"contig 'chrC' is not in the genome .*chrA, chrB"):
        g.fetch("chrC", 0, 10)
    with pytest.raises(InputError, match=r"outside contig 'chrB' \(0-300"):
        g.fetch("chrB", 290, 310)
    bed = read_bed(write(tmp_path / "peaks.bed", "chrA\t10\t20\nchrC\t5\t15\n"))
    with pytest.raises(InputError, match=r"peaks\.bed, line 2: contig 'chrC' is not in the genome"):
        g.fetch_intervals(bed)
    bed = read_bed(write(tmp_path / "edge.bed", "chrA\t30\t40\nchrB\t280\t300\n"))
    g.fetch_intervals(bed)  # ends exactly at the contig end: fine
    with pytest.raises(InputError, match=r"edge\.bed, line 2: window chrB:270-311 runs off"):
        g.fetch_intervals(windows(bed, 41))


def test_genome_slice_plain_gzip_and_bgzip(data_dir, tmp_path):
    """The real slice is bgzip; a plain-gzipped copy must work too (decompressed to cache)."""
    bgz = Genome(data_dir / GENOME_SLICE, cache_dir=tmp_path / "cache")
    assert bgz.chrom_sizes == {"chr1": 1_000_000}
    plain = tmp_path / "slice.fa.gz"
    with gzip.open(data_dir / GENOME_SLICE, "rb") as src, gzip.open(plain, "wb") as dst:
        shutil.copyfileobj(src, dst)
    g = Genome(plain, cache_dir=tmp_path / "cache")
    assert g.fasta_path.parent.parent.parent == tmp_path / "cache"
    assert g.fetch("chr1", 10_000, 10_012).upper() == "TAACCCTAACCC"
    assert g.fetch("chr1", 500_000, 500_101) == bgz.fetch("chr1", 500_000, 500_101)
    bed = read_bed(write(tmp_path / "far.bed", "chr1\t999990\t1000010\n"))
    with pytest.raises(InputError, match=r"far\.bed, line 1: .*runs off contig 'chr1'"):
        g.check(bed)
    bed = read_bed(write(tmp_path / "chr2.bed", "chr1\t100\t200\nchr2\t100\t200\n"))
    with pytest.raises(InputError, match=r"chr2\.bed, line 2: contig 'chr2' is not in the genome"):
        g.check(bed)


def test_real_satmut_bed(data_dir):
    bed = read_bed(data_dir / "satmut-mpra" / "elements.GRCh38.bed")
    assert len(bed) > 10 and (bed["end"] > bed["start"]).all()
    assert "summit" not in bed.columns


@pytest.mark.parametrize(
    "text,name",
    [
        (
            "track x\nchr1\t10\t20\tp1\t5\t+\n#c\nchr2\t0\t8\t\t.\t-\nchr1\t3\t4\tp3\t1e3\t.\n",
            "a.bed",
        ),
        ("chr1\t10\t20\nchr2\t5\t8\n", "b.bed"),
        ("chr1\t10\t20\tp\nchr1\t30\t40\n", "ragged.bed"),
        ("c\t10\t100\tp\t0\t.\t2.5\t-1\t.\t40\nc\t5\t9\tq\t0\t+\t1\t2\t3\t-1\n", "x.narrowPeak"),
        ("browser hide\nchr1\t10\t20\tp\tnot-a-number\t+\n", "score.bed"),
        ("chr1 10 20 p\nchr1 30 40 q\n", "spaces.bed"),
        ("chr1\t10\t20\r\nchr1\t30\t40\r\n", "crlf.bed"),
    ],
)
def test_read_bed_fast_path_equals_line_reader(tmp_path, text, name):
    """The vectorised reader (pandas' C parser) gives the frame the line reader gives."""
    import pandas as pd

    from seqcnn.io.bed import _read_bed_fast, _read_bed_lines

    p = write(tmp_path / name, text)
    if name in ("a.bed", "b.bed", "ragged.bed", "x.narrowPeak"):
        assert _read_bed_fast(text, p) is not None  # these take the vectorised path
    fast = read_bed(p)
    slow = _read_bed_lines(text, p)
    pd.testing.assert_frame_equal(fast, slow)
    assert fast.attrs == slow.attrs


def test_read_bed_huge_coordinate_is_an_input_error(tmp_path):
    p = write(tmp_path / "huge.bed", "chr1\t10\t20\nchr1\t5\t99999999999999999999\n")
    with pytest.raises(InputError, match=r"huge\.bed, line 2: end .* too large"):
        read_bed(p)


@pytest.mark.parametrize(
    "text",
    [
        ">s1 first one\nACGT\nAC\n\n# note\n>s2\nGGG\n",
        ">a\nACGT\n>b\n",
        "ACGT\n",
        ">a\nAC-T\n",
        ">\nACGT\n",
        "\n\n",
    ],
)
def test_iter_fasta_records_equals_read_fasta_records(tmp_path, text):
    """The streaming reader gives the same records, or the same error, as the list reader."""
    from seqcnn.io.fasta import iter_fasta_records, read_fasta_records

    p = write(tmp_path / "x.fa.gz", "")
    p.write_bytes(gzip.compress(text.encode()))
    try:
        want = read_fasta_records(p)
    except InputError as err:
        with pytest.raises(InputError) as got:
            list(iter_fasta_records(p))
        assert str(got.value) == str(err)
    else:
        assert list(iter_fasta_records(p)) == want


def test_iter_table_pieces_equal_the_whole_table(tmp_path):
    from seqcnn.io import iter_table, read_table

    rows = ["seq\ty\tnote"] + [f"{'ACGT'[i % 4] * (5 + i % 3)}\t{i % 2}\tn{i}" for i in range(11)]
    rows.insert(5, "")  # a blank line inside a piece
    rows.insert(8, "")
    path = tmp_path / "t.tsv"
    path.write_text("\n".join(rows) + "\n")
    whole = read_table(path)
    pieces = list(iter_table(path, rows=3))
    assert len(pieces) > 3
    assert sum((p.ids for p in pieces), []) == whole.ids  # row<k> numbered over the file
    assert sum((p.sequences for p in pieces), []) == whole.sequences
    assert np.concatenate([p.lines for p in pieces]).tolist() == whole.lines.tolist()
    assert np.array_equal(np.concatenate([p.labels for p in pieces]), whole.labels)
    assert all(p.target_names == ["y"] for p in pieces)


def test_iter_table_names_the_line_of_a_bad_row_in_a_later_piece(tmp_path):
    from seqcnn.io import iter_table

    path = tmp_path / "t.tsv"
    path.write_text("seq\n" + "ACGT\n" * 7 + "ACXT\n")
    pieces = iter_table(path, rows=2)
    assert len(next(pieces)) == 2
    with pytest.raises(InputError, match=r"t\.tsv.*line 9"):
        list(pieces)
    (tmp_path / "h.tsv").write_text("seq\n\n")
    with pytest.raises(InputError, match="header but no rows"):
        list(iter_table(tmp_path / "h.tsv", rows=2))


def test_iter_tiles_cover_every_base_in_fixed_windows():
    import pandas as pd

    from seqcnn.io.bed import iter_tiles

    rng = np.random.default_rng(4)
    start = rng.integers(0, 1000, 60)
    bed = pd.DataFrame(
        {"chrom": "c", "start": start, "end": start + rng.integers(0, 300, 60), "name": "r"}
    )
    bed["name"] = [f"r{i}" for i in range(len(bed))]
    for length, stride in ((50, 50), (50, 17), (31, 1)):
        tiles = pd.concat(list(iter_tiles(bed, length, stride, block=37)), ignore_index=True)
        whole = next(iter_tiles(bed, length, stride, block=10**6))
        assert tiles.equals(whole)
        assert (tiles["end"] - tiles["start"] == length).all()
        assert tiles["name"].is_unique
        for _, group in tiles.groupby(tiles["name"].str.split(":").str[0]):
            s, e = int(group["peak_start"].iloc[0]), int(group["peak_end"].iloc[0])
            if e - s < length:  # one window, centred
                assert len(group) == 1 and group["start"].iloc[0] == (s + e) // 2 - length // 2
                continue
            covered = np.zeros(e - s, bool)
            for a in group["start"]:
                assert s <= a and a + length <= e
                covered[a - s : a - s + length] = True
            assert covered.all()
            assert np.diff(group["start"]).max(initial=0) <= stride
