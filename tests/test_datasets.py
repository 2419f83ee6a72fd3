"""Datasets, negatives (shuffle, flank, GC-matched) and chromosome splits."""

from __future__ import annotations

import collections
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from seqcnn.datasets import IntervalDataset, SequenceDataset, split_by_chrom
from seqcnn.exceptions import InputError
from seqcnn.io import Genome, SequenceTable, overlaps, read_bed, read_table, windows
from seqcnn.negatives import (
    flank_negatives,
    gc_matched_negatives,
    interval_examples,
    read_intervals,
    shuffled_negatives,
)
from seqcnn.sequence import decode, gc_content

GENOME_SLICE = "genome-slice/baskerville_hg38_chr1_first1Mb.fa.gz"


@pytest.fixture
def tiny(tmp_path, test_data):
    fa = shutil.copy(test_data / "tiny_genome.fa", tmp_path / "tiny_genome.fa")
    return Genome(fa), read_bed(test_data / "tiny_peaks.narrowPeak")


@pytest.fixture
def slice_genome(data_dir, tmp_path):
    return Genome(data_dir / GENOME_SLICE, cache_dir=tmp_path / "cache")


def slice_peaks(genome: Genome, n: int = 60, seed: int = 0) -> pd.DataFrame:
    """GC-rich 200-bp 'peaks' on the real slice: a GC distribution unlike the genome's."""
    rng = np.random.default_rng(seed)
    starts = np.sort(rng.choice(np.arange(20_000, 980_000, 400), size=600, replace=False))
    cand = pd.DataFrame({"chrom": "chr1", "start": starts, "end": starts + 200})
    gc = gc_content(genome.fetch_intervals(cand))
    top = cand.iloc[np.argsort(-np.nan_to_num(gc))[:n]].sort_values("start")
    bed = top.reset_index(drop=True)
    bed["name"] = [f"peak{i}" for i in range(len(bed))]
    bed["line"] = np.arange(1, len(bed) + 1)
    return bed


def doublets(s: str) -> collections.Counter:
    return collections.Counter(s[i : i + 2] for i in range(len(s) - 1))


def assert_valid_negatives(neg, genome, bed, length, positives_length):
    assert len(neg) > 0
    assert (neg["end"] - neg["start"]).eq(length).all()
    sizes = neg["chrom"].map(genome.chrom_sizes)
    assert sizes.notna().all() and (neg["start"] >= 0).all() and (neg["end"] <= sizes).all()
    pos_windows = windows(bed, positives_length)
    for ref in (bed, pos_windows):
        assert not overlaps(neg["chrom"], neg["start"], neg["end"], ref).any()
    # negatives do not overlap each other either
    s = neg.sort_values(["chrom", "start"])
    same = s["chrom"].to_numpy()[1:] == s["chrom"].to_numpy()[:-1]
    assert not (same & (s["start"].to_numpy()[1:] < s["end"].to_numpy()[:-1])).any()


# ------------------------------------------------------------------ SequenceDataset
def test_sequence_dataset_tensors():
    ds = SequenceDataset(["ACGT", "GGNA", "TT"], [1, 0, 1], ids=["a", "b", "c"])
    assert ds.x.shape == (3, 4, 4) and ds.x.dtype == torch.float32
    assert ds.y.shape == (3, 1) and ds.y[:, 0].tolist() == [1, 0, 1]
    x1, y1 = ds[1]
    assert decode(x1) == "GGNA" and y1.tolist() == [0.0]
    unlabelled = SequenceDataset(ds.x)
    assert unlabelled.y is None and torch.equal(unlabelled[2], ds.x[2])
    with pytest.raises(ValueError, match=r"labels must have shape \(3,\)"):
        SequenceDataset(ds.x, [1, 0])


def test_sequence_dataset_from_real_table(data_dir):
    table = read_table(data_dir / "encode-chipseq" / "REST_GM12878_NRSF_HudsonAlpha_B.seq.gz")
    ds = SequenceDataset.from_table(table)
    assert ds.x.shape == (1000, 4, 101) and ds.y.sum() == 500
    assert decode(ds.x[:3]) == table.sequences[:3]


def test_shuffled_negatives_keep_dinucleotides():
    pos = ["ACGTTGCAACGTAGGC", "TTTTACGAGAGCGCAT"]
    neg = shuffled_negatives(pos, n_per_positive=3, seed=1)
    assert len(neg) == 6
    for i, s in enumerate(neg):
        src = pos[i // 3]
        assert doublets(s) == doublets(src)
    assert neg == shuffled_negatives(pos, n_per_positive=3, seed=1)


# ------------------------------------------------------------------ flank negatives
def test_flank_negatives_tiny(tiny):
    genome, bed = tiny
    neg = flank_negatives(bed, genome, 40, distance=100)
    assert_valid_negatives(neg, genome, bed, 40, 40)
    # peak1 (summit 125, window 105-145): flanks 5-45 and 205-245;
    # peak2 (middle 320, window 300-340): flanks 200-240 and 400-440; 200-240 overlaps 205-245,
    # and of two overlapping negatives the one that starts first stays;
    # peak3 on chrB (summit 160): flank 40-80 holds N (chrB starts with 50 N), 240-280 is kept
    got = sorted(zip(neg["chrom"], neg["start"], neg["side"], strict=True))
    assert got == [
        ("chrA", 5, "left"),
        ("chrA", 200, "left"),
        ("chrA", 400, "right"),
        ("chrB", 240, "right"),
    ]


def test_flank_negatives_on_real_genome(slice_genome):
    bed = slice_peaks(slice_genome)
    neg = flank_negatives(bed, slice_genome, 101)
    assert_valid_negatives(neg, slice_genome, bed, 101, 101)
    assert len(neg) > len(bed)  # most flanks survive
    seqs = slice_genome.fetch_intervals(neg)
    assert max(s.upper().count("N") for s in seqs) <= 1


# ------------------------------------------------------------------ GC-matched negatives
def test_gc_matched_negatives_follow_positive_gc(slice_genome):
    bed = slice_peaks(slice_genome, n=80)
    length = 200
    neg = gc_matched_negatives(bed, slice_genome, length, n=160, seed=0, bins=10)
    assert len(neg) == 160
    assert_valid_negatives(neg, slice_genome, bed, length, length)
    pos_gc = gc_content(slice_genome.fetch_intervals(windows(bed, length)))
    neg_gc = gc_content(slice_genome.fetch_intervals(neg))
    assert np.allclose(neg_gc, neg["gc"])
    # the positives are GC-rich; random windows are not, matched ones must be
    rng = np.random.default_rng(1)
    starts = rng.integers(20_000, 990_000, 300)
    rand_gc = gc_content(
        slice_genome.fetch_intervals(
            pd.DataFrame({"chrom": "chr1", "start": starts, "end": starts + length})
        )
    )
    assert np.nanmean(pos_gc) - np.nanmean(rand_gc) > 0.1
    assert abs(np.mean(neg_gc) - np.mean(pos_gc)) < 0.02
    hist = lambda v: np.histogram(v, bins=10, range=(0, 1))[0] / len(v)  # noqa: E731
    assert np.abs(hist(neg_gc) - hist(pos_gc)).sum() < 0.15


def test_gc_matched_negatives_seeded(tiny):
    genome, bed = tiny
    a = gc_matched_negatives(bed, genome, 20, n=5, seed=3)
    b = gc_matched_negatives(bed, genome, 20, n=5, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert_valid_negatives(a, genome, bed, 20, 20)


# ------------------------------------------------------------------ splits
def test_split_by_chrom():
    df = pd.DataFrame({"chrom": ["chr1", "chr8", "chr9", "chr2", "chr8"], "v": range(5)})
    parts = split_by_chrom(df)
    assert parts["train"]["v"].tolist() == [0, 3]
    assert parts["valid"]["v"].tolist() == [1, 4] and parts["test"]["v"].tolist() == [2]
    assert sum(len(p) for p in parts.values()) == len(df)
    only_valid = split_by_chrom(df, valid_chroms=["chr2"], test_chroms=None)
    assert set(only_valid) == {"train", "valid"}


def test_split_by_chrom_empty_split_is_an_error():
    df = pd.DataFrame({"chrom": ["chr1", "chr2"]})
    with pytest.raises(InputError, match=r"the valid split is empty.*'chr8'.*chr1, chr2"):
        split_by_chrom(df)
    with pytest.raises(InputError, match="both the validation and the test"):
        split_by_chrom(df, valid_chroms=["chr1"], test_chroms=["chr1"])
    with pytest.raises(InputError, match="the train split is empty"):
        split_by_chrom(df, valid_chroms=["chr1"], test_chroms=["chr2"])


# ------------------------------------------------------------------ interval examples
def test_interval_examples(tiny):
    genome, bed = tiny
    seqs, y, meta = interval_examples(bed, genome, 30, negatives="flank", distance=100)
    assert len(seqs) == len(y) == len(meta) and set(map(len, seqs)) == {30}
    assert y[:3, 0].tolist() == [1, 1, 1] and (y[3:] == 0).all()
    assert meta["kind"].tolist()[:3] == ["positive"] * 3
    for s, (_, row) in zip(seqs, meta.iterrows(), strict=True):
        assert s == genome.fetch(row["chrom"], row["start"], row["end"])
    assert seqs[0] == genome.fetch("chrA", 110, 140)  # centred on the summit 100 + 25

    seqs, y, meta = interval_examples(bed, genome, 30, negatives="shuffle", n_negatives=2, seed=0)
    assert len(seqs) == 9 and y.sum() == 3 and meta["line"].tolist()[3:5] == [2, 2]
    seqs_none, y_none, _ = interval_examples(bed, genome, 30, negatives="none")
    assert len(seqs_none) == 3 and (y_none == 1).all()
    _, y_sig, _ = interval_examples(bed, genome, 30, negatives="none", label_column="signal")
    assert y_sig.ravel().tolist() == [12.5, 10.0, 9.0]
    with pytest.raises(InputError, match="choose one of: flank, gc, shuffle, none"):
        interval_examples(bed, genome, 30, negatives="random")


def test_interval_examples_off_contig_names_bed_line(tiny, tmp_path):
    genome, _ = tiny
    p = tmp_path / "edge.bed"
    p.write_text("chrA\t100\t120\nchrB\t290\t300\n")
    with pytest.raises(InputError, match=r"edge\.bed, line 2: window chrB:.* runs off contig"):
        interval_examples(read_bed(p), genome, 50)


def test_read_intervals_gives_a_table(tiny, test_data):
    genome, _ = tiny
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # coarse GC bins: the tiny genome fills every one
        t = read_intervals(
            test_data / "tiny_peaks.narrowPeak", genome, 30, negatives="gc", seed=0, bins=4
        )
    assert t.labels.sum() == 3 and len(t) == 6
    assert t.lines.tolist()[:3] == [2, 3, 4] and t.columns["kind"][3] == "gc"
    assert t.encode().shape == (6, 4, 30)


def test_interval_dataset_jitter_crops_real_genome_windows(tiny):
    genome, bed = tiny
    ds = IntervalDataset(bed, genome, 20, labels=[1, 1, 0], jitter=5, seed=0)
    centred = [
        genome.fetch(c, s, e) for c, s, e in windows(bed, 20)[["chrom", "start", "end"]].values
    ]
    assert decode(ds.x) == centred
    shifts = collections.Counter()
    for _ in range(20):
        ds.resample()
        for i, (c, s, _) in enumerate(windows(bed, 20)[["chrom", "start", "end"]].values):
            found = [
                d for d in range(-5, 6) if genome.fetch(c, s + d, s + d + 20) == decode(ds.x[i])
            ]
            assert found, "a jittered window is not the genome shifted by at most 5 bp"
            shifts[found[0]] += 1
    assert len(shifts) > 5  # shifts really vary


def test_interval_dataset_set_epoch_redraws_shifts_reproducibly(tiny):
    genome, bed = tiny
    ds = IntervalDataset(bed, genome, 20, labels=[1, 1, 0], jitter=5, seed=3)
    centred = ds.x.clone()
    draws = []
    for epoch in (1, 2, 3):
        ds.set_epoch(epoch)
        draws.append(ds.x.clone())
    assert any(not torch.equal(a, b) for a, b in zip(draws, draws[1:], strict=False))  # redrawn
    again = IntervalDataset(bed, genome, 20, labels=[1, 1, 0], jitter=5, seed=3)
    again.set_epoch(2)
    assert torch.equal(again.x, draws[1])  # (seed, epoch) fixes the draw
    ds.set_epoch(0)
    assert torch.equal(ds.x, centred)
    assert ds.y.ravel().tolist() == [1, 1, 0] and len(ds) == 3


def test_gc_matched_negatives_warn_when_bins_cannot_be_filled(tiny):
    genome, bed = tiny
    with pytest.warns(UserWarning, match="nearest bins"):
        neg = gc_matched_negatives(bed, genome, 30, n=3, seed=0, bins=50, max_rounds=1)
    assert len(neg) == 3


# ---------------------------------------------------------------------------- training sets
def _positives(n=30, length=25, seed=0) -> SequenceTable:
    rng = np.random.default_rng(seed)
    seqs = ["".join(rng.choice(list("ACGT"), length)) for _ in range(n)]
    return SequenceTable(
        ids=[f"s{i}" for i in range(n)],
        sequences=seqs,
        labels=np.ones((n, 1), np.float32),
        target_names=["bound"],
    )


def test_shuffled_negatives_are_fresh_each_epoch_and_reproducible():
    from seqcnn.datasets import ShuffledNegatives

    table = _positives()
    data = ShuffledNegatives(table, per_positive=2, seed=1)
    assert data.x.shape == (90, 4, 25) and data.y.sum() == 30
    first = data.x.clone()
    data.set_epoch(1)  # epoch 1 keeps the draw made at construction
    assert torch.equal(data.x, first)
    data.set_epoch(2)
    assert not torch.equal(data.x[30:], first[30:])
    assert torch.equal(data.x[:30], first[:30])  # positives never change
    again = ShuffledNegatives(table, per_positive=2, seed=1)
    again.set_epoch(2)
    assert torch.equal(again.x, data.x)
    negs = data.table.sequences[30:]
    for k, neg in enumerate(negs):  # each negative keeps its positive's dinucleotides
        pos = table.sequences[k // 2]
        assert sorted(pos[i : i + 2] for i in range(len(pos) - 1)) == sorted(
            neg[i : i + 2] for i in range(len(neg) - 1)
        )


def test_fixed_negatives_stay_the_same():
    from seqcnn.datasets import ShuffledNegatives

    data = ShuffledNegatives(_positives(), seed=1, fresh=False)
    first = data.x.clone()
    data.set_epoch(5)
    assert torch.equal(data.x, first)


def test_holdout_split_is_disjoint_and_complete():
    from seqcnn.datasets import holdout_split

    table = _positives(50)
    train, valid = holdout_split(table, 0.1, np.random.default_rng(0))
    assert len(train) == 45 and len(valid) == 5
    assert sorted(train.ids + valid.ids) == sorted(table.ids)
    with pytest.raises(ValueError, match="--valid"):
        holdout_split(_positives(3), 0.1, np.random.default_rng(0))


def test_split_by_chrom_of_a_table_names_missing_chromosomes():
    table = _positives(6)
    table.columns["chrom"] = ["chr1", "chr1", "chr8", "chr9", "chr2", "chr8"]
    parts = split_by_chrom(table, ["chr8"], ["chr9"])
    assert [len(parts[k]) for k in ("train", "valid", "test")] == [3, 2, 1]
    assert parts["valid"].columns["chrom"] == ["chr8", "chr8"]
    with pytest.raises(InputError, match="the valid split is empty.*chr1, chr2, chr8, chr9"):
        split_by_chrom(table, ["chrX"], [])


def test_shuffled_negatives_are_compact_and_the_same_draws_as_strings():
    """One byte per base in one buffer; the negatives are those of the string shuffle."""
    from seqcnn.datasets import ShuffledNegatives
    from seqcnn.sequence import CompactOneHot, dinucleotide_shuffle_many, one_hot_encode

    table = _positives()
    data = ShuffledNegatives(table, per_positive=2, seed=3)
    assert isinstance(data.x, CompactOneHot) and data.x.nbytes == 90 * 25
    for epoch, draw in ((1, 0), (2, 2), (3, 3)):
        data.set_epoch(epoch)
        want = dinucleotide_shuffle_many(table.sequences, 2, seed=np.random.default_rng([3, draw]))
        assert data.table.sequences[30:] == want
        assert torch.equal(data.x[:], one_hot_encode(list(table.sequences) + want))
    # the table's strings are not kept: they are read back from the buffer, unchanged
    assert data.base.sequences is not table.sequences
    assert list(data.base.sequences) == list(table.sequences)
    assert (
        data.base.sequences[-1] == table.sequences[-1]
        and data.base.sequences[:2] == table.sequences[:2]
    )


def test_shuffled_negatives_unequal_lengths():
    from seqcnn.datasets import ShuffledNegatives
    from seqcnn.io import SequenceTable
    from seqcnn.sequence import dinucleotide_shuffle_many, one_hot_encode

    seqs = ["ACGTTGCAAC", "GGATCC", "ACGTACGTACGTAA"]
    table = SequenceTable(
        ids=["a", "b", "c"],
        sequences=seqs,
        labels=np.array([[1], [0], [1]], np.float32),
        target_names=["bound"],
    )
    data = ShuffledNegatives(table, seed=0)
    want = dinucleotide_shuffle_many([seqs[0], seqs[2]], 1, seed=np.random.default_rng([0, 0]))
    assert data.table.sequences[3:] == want
    assert torch.equal(data.x[:], one_hot_encode(seqs + want))
    assert data.y[:, 0].tolist() == [1, 0, 1, 0, 0]


def test_interval_dataset_is_compact(tiny):
    """Bytes gathered from the genome's arrays: one byte per base for the crops (and one for
    the wider windows the shifts come from), never float32 one-hot."""
    from seqcnn.sequence import CompactOneHot

    genome, bed = tiny
    ds = IntervalDataset(bed, genome, 20, labels=[1, 1, 0], jitter=5, seed=3)
    assert isinstance(ds.x, CompactOneHot) and ds.x.nbytes == 3 * 20
    assert ds._full.nbytes == 3 * 30
    ds.set_epoch(4)
    assert np.asarray(ds.x).shape == (3, 4, 20) and ds.x[0].sum() <= 20


def test_genome_windows_are_the_windows_strings_one_hot(tmp_path):
    """BED windows read from the genome per batch: the same inputs as their strings."""
    from seqcnn.datasets import GenomeWindows, Tensors
    from seqcnn.inputs import as_tensors
    from seqcnn.io import Genome
    from seqcnn.io.genome import GenomeRows
    from seqcnn.negatives import read_intervals
    from seqcnn.sequence import one_hot_encode, sequence_bytes, to_batch

    rng = np.random.default_rng(0)
    seq = "".join(rng.choice(list("ACGTacgtN"), 5000))
    (tmp_path / "g.fa").write_text(">c1\n" + seq + "\n>c2\n" + seq[::-1] + "\n")
    (tmp_path / "p.bed").write_text(
        "".join(f"c{1 + i % 2}\t{500 + 300 * i}\t{540 + 300 * i}\tp{i}\n" for i in range(12))
    )
    table = read_intervals(tmp_path / "p.bed", tmp_path / "g.fa", 60, negatives="flank")
    assert isinstance(table.sequences, GenomeRows)  # coordinates only, no strings kept
    strings = list(table.sequences)
    genome = Genome(tmp_path / "g.fa")
    for i, s in enumerate(strings):
        chrom, start = table.columns["chrom"][i], int(table.columns["start"][i])
        assert s == genome.fetch(chrom, start, start + 60)
    data = as_tensors(table)
    assert isinstance(data.x, GenomeWindows) and data.x.shape == (len(strings), 4, 60)
    want = one_hot_encode(strings)
    assert torch.equal(data.x[:], want)
    idx = torch.tensor([5, 0, 7])
    assert torch.equal(to_batch(data.x, idx), want[idx])
    assert np.array_equal(sequence_bytes(table.sequences), sequence_bytes(strings))
    part = table.subset(np.array([2, 3]))
    assert isinstance(part.sequences, GenomeRows) and list(part.sequences) == strings[2:4]
    # training on them gives the same weights as training on the same windows as bytes
    from seqcnn.models import create_model
    from seqcnn.sequence import CompactOneHot
    from seqcnn.train import TrainConfig, Trainer

    weights = []
    for x in (data.x, CompactOneHot(sequence_bytes(strings))):
        torch.manual_seed(0)
        model = create_model("deepbind", n_filters=4, filter_width=5, hidden=4)
        config = TrainConfig(epochs=2, verbose=False, batch_size=8, seed=1)
        weights.append(Trainer(model, config).fit(Tensors(x, data.y)).model.state_dict())
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


def test_jittered_windows_move_every_epoch_and_stay_on_their_contig(tmp_path):
    from seqcnn.datasets import JitteredWindows
    from seqcnn.io import Genome
    from seqcnn.io.genome import GenomeRows
    from seqcnn.sequence import one_hot_encode

    rng = np.random.default_rng(1)
    seq = "".join(rng.choice(list("ACGT"), 400))
    (tmp_path / "g.fa").write_text(">c\n" + seq + "\n")
    genome = Genome(tmp_path / "g.fa")
    start = np.array([0, 100, 200, 370])  # the first and last sit at the contig's ends
    rows = GenomeRows(genome, np.array(["c"] * 4), start, 30)
    data = JitteredWindows(rows, torch.ones(4, 1), jitter=5, seed=2)
    draws = []
    for epoch in (1, 2, 1):
        data.set_epoch(epoch)
        s = data._rows.start.copy()
        assert (np.abs(s - start) <= 5).all() and (s >= 0).all() and (s + 30 <= 400).all()
        assert torch.equal(data.x[:], one_hot_encode([seq[a : a + 30] for a in s]))
        draws.append(s)
    assert not np.array_equal(draws[0], draws[1])  # redrawn each epoch
    assert np.array_equal(draws[0], draws[2])  # reproducibly from (seed, epoch)
    data.set_epoch(0)
    assert np.array_equal(data._rows.start, start)
    assert torch.equal(data.fixed().x[:], one_hot_encode([seq[a : a + 30] for a in start]))


def test_bed_training_with_jitter_through_the_cli(tmp_path):
    from seqcnn.cli import main

    rng = np.random.default_rng(3)
    chroms = {c: "".join(rng.choice(list("ACGT"), 6000)) for c in ("chr1", "chr8", "chr9")}
    (tmp_path / "g.fa").write_text("".join(f">{c}\n{s}\n" for c, s in chroms.items()))
    lines = [f"{c}\t{p}\t{p + 20}\n" for c in chroms for p in range(300, 5600, 400)]
    (tmp_path / "p.bed").write_text("".join(lines))
    base = ["train", "--train", str(tmp_path / "p.bed"), "--fasta", str(tmp_path / "g.fa")]
    base += ["--length", "50", "--negatives", "flank", "--epochs", "2", "--quiet"]
    base += ["--model-arg", "n_filters=4", "hidden=4", "--threads", "1"]
    assert main([*base, "--jitter", "10", "--out", str(tmp_path / "run")]) == 0
    import json

    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["data"]["jitter"] == 10
    shuffled = [*base[:7], "--negatives", "shuffle", "--jitter", "5", "--quiet"]
    assert main([*shuffled, "--out", str(tmp_path / "bad")]) == 1  # an error, said in one line


def test_genome_windows_refuse_a_base_that_is_no_nucleotide_code(tmp_path):
    """Windows kept as coordinates are checked as their strings were: the error names the
    genome position and the window."""
    from seqcnn.exceptions import InputError
    from seqcnn.negatives import read_intervals

    (tmp_path / "g.fa").write_text(">c\n" + "ACGT" * 50 + "AC*T" + "ACGT" * 50 + "\n")
    (tmp_path / "p.bed").write_text("c\t20\t40\tfine\nc\t190\t210\tpk\n")
    with pytest.raises(InputError, match=r"'\*'.*genome c:203, window pk"):
        read_intervals(tmp_path / "p.bed", tmp_path / "g.fa", 30, negatives="none")
