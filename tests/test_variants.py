"""Tests of seqcnn.variants: windows, indels, policies, scores, significance, outputs."""

from __future__ import annotations

import gzip
import os
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from seqcnn.exceptions import ConfigError, InputError
from seqcnn.io.genome import Genome
from seqcnn.io.vcf import VariantAllele, read_vcf
from seqcnn.sequence import one_hot_encode
from seqcnn.variants import (
    VariantScorer,
    accepts_length,
    normalize_allele,
    read_variant_scores,
    score_variants,
    variant_window,
    write_variant_scores,
)

HEAD = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
BASES = "ACGT"


class LinearOneHot(nn.Module):
    """Output ``t`` = sum over positions of ``weight[t, base, position]`` + ``bias[t]``."""

    def __init__(self, length: int, n_outputs: int = 2, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.weight = nn.Parameter(torch.randn(n_outputs, 4, length, generator=g))
        self.bias = nn.Parameter(torch.randn(n_outputs, generator=g))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("nal,tal->nt", x, self.weight) + self.bias


class SmallConv(nn.Module):
    """A non-linear toy (convolution, tanh, average pooling): SNV effects depend on context."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.conv = nn.Conv1d(4, 8, 5)
        self.act = nn.Tanh()
        self.out = nn.Linear(8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.act(self.conv(x) * 2).mean(-1))


def random_seq(n: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    return "".join(rng.choice(list(BASES), n))


@pytest.fixture
def seq() -> str:
    """chr1: random bases with a few known stretches (a run of A, a CA repeat)."""
    s = list(random_seq(400, 1))
    s[100:105] = "CGATC"  # a deletion GAT>G at POS 102 stays put (G before AT ends in T? no: G)
    s[140:143] = "GTA"  # insertion T>TCC at POS 142 stays put (T then A)
    s[200:207] = "GCAAAAT"  # a run of A: 1-bp deletions anywhere in it are the same variant
    s[250:258] = "TCACACAG"  # a CA repeat: 2-bp deletions
    return "".join(s)


@pytest.fixture
def genome(tmp_path, seq) -> Genome:
    fa = tmp_path / "g.fa"
    fa.write_text(">chr1\n" + seq + "\n>chr2\n" + random_seq(60, 2) + "\n")
    return Genome(fa)


def write_vcf(path, rows) -> str:
    lines = [
        "\t".join(str(v) for v in (*row, ".", ".", row[5] if len(row) > 5 else "."))
        for row in (r[:5] for r in rows)
    ]
    path.write_text(HEAD + "".join(line + "\n" for line in lines))
    return path


def allele(chrom: str, pos: int, ref: str, alt: str) -> VariantAllele:
    return VariantAllele(0, None, chrom, pos, pos - 1, ".", ref, alt, 0, 1)


# ---------------------------------------------------------------- windows
@pytest.mark.parametrize("length", [7, 8, 41, 100, 101])
def test_snv_sits_at_half_the_length(genome, seq, length):
    c = length // 2
    for pos0 in (150, 151, 299):
        ref = seq[pos0]
        alt = "A" if ref != "A" else "G"
        w = variant_window(allele("chr1", pos0 + 1, ref, alt), genome, length)
        assert w.status == "ok" and w.start == pos0 - c
        assert w.ref_seq == seq[pos0 - c : pos0 - c + length]
        assert len(w.alt_seq) == length and w.alt_seq[c] == alt and w.ref_seq[c] == ref
        assert [i for i in range(length) if w.ref_seq[i] != w.alt_seq[i]] == [c]


def test_mnv_placed_as_written(genome, seq):
    w = variant_window(allele("chr1", 161, seq[160:163], "AAA"), genome, 21)
    assert w.ref_seq == seq[150:171] and w.alt_seq == seq[150:160] + "AAA" + seq[163:171]


def test_deletion_and_insertion_windows(genome, seq):
    L, c = 21, 10
    # GAT>G at POS 102: the A at 0-based 102 is the first deleted base, at index c
    w = variant_window(allele("chr1", 102, "GAT", "G"), genome, L)
    assert (w.status, w.ref, w.alt, w.start) == ("ok", "AT", "", 102 - c)
    assert w.ref_seq == seq[92:113]
    assert w.alt_seq == seq[92:102] + seq[104 : 104 + L - c]
    # T>TCC at POS 142: CC inserted before 0-based 142, which sits at index c
    w = variant_window(allele("chr1", 142, "T", "TCC"), genome, L)
    assert (w.status, w.ref, w.alt, w.start) == ("ok", "", "CC", 142 - c)
    assert w.ref_seq == seq[132:153]
    assert w.alt_seq == seq[132:142] + "CC" + seq[142 : 142 + L - c - 2]
    assert len(w.alt_seq) == len(w.ref_seq) == L


def test_normalize_allele_cases():
    ref_seq = "TTGCAAAATCC"
    get = lambda a, b: ref_seq[a:b]  # noqa: E731
    # every spelling of "one A fewer" in the run becomes the leftmost A
    for pos0, ref, alt in ((3, "CA", "C"), (4, "AA", "A"), (6, "AAT", "AT"), (7, "AT", "T")):
        assert normalize_allele(pos0, ref, alt, get) == (4, "A", "")
    # insertions of an A into the run
    for pos0, ref, alt in ((3, "C", "CA"), (7, "A", "AA"), (8, "T", "AT")):
        assert normalize_allele(pos0, ref, alt, get) == (4, "", "A")
    # SNVs and MNVs are never moved; complex indels are trimmed only
    assert normalize_allele(5, "AA", "GT", get) == (5, "AA", "GT")
    assert normalize_allele(3, "CAAA", "CGG", get) == (4, "AAA", "GG")


def test_deletion_left_aligned_or_not_gives_the_same_score(genome, seq, tmp_path):
    assert seq[200:207] == "GCAAAAT" and seq[250:258] == "TCACACAG"
    rows = [
        ("chr1", 202, "d1", "CA", "C"),  # left-aligned, anchored on the C
        ("chr1", 203, "d2", "AA", "A"),
        ("chr1", 205, "d3", "AA", "A"),  # right-aligned
        ("chr1", 206, "d4", "AT", "T"),  # anchored on the right
        ("chr1", 251, "c1", "TCA", "T"),  # CA repeat, left-aligned
        ("chr1", 255, "c2", "ACA", "A"),  # the same deletion, written further right
        ("chr1", 202, "i1", "C", "CA"),  # insertions of an A into the run
        ("chr1", 205, "i2", "A", "AA"),
    ]
    vcf = write_vcf(tmp_path / "d.vcf", rows)
    model = SmallConv()
    frame = score_variants(model, vcf, genome, length=31)
    assert (frame["status"] == "ok").all()
    d = frame.set_index("id")["t0_delta"]
    assert d["d1"] == d["d2"] == d["d3"] == d["d4"]
    assert d["c1"] == d["c2"] and d["i1"] == d["i2"]
    assert d["d1"] != d["c1"]  # different variants do differ
    w = variant_window(allele("chr1", 205, "AA", "A"), genome, 31)
    assert w.start == 202 - 15 and w.ref == "A" and w.ref_seq[15] == "A" and w.ref_seq[14] == "C"


# ---------------------------------------------------------------- scores
def test_linear_model_effects_by_hand(genome, seq, tmp_path):
    L, c = 25, 12
    model = LinearOneHot(L, n_outputs=2)
    W = model.weight.detach().double().numpy()
    rows = []
    for i, pos0 in enumerate((60, 90, 91, 180)):
        ref = seq[pos0]
        alts = [b for b in BASES if b != ref]
        rows.append(("chr1", pos0 + 1, f"v{i}", ref, ",".join(alts)))  # three ALTs each
    vcf = write_vcf(tmp_path / "s.vcf", rows)
    frame = score_variants(model, vcf, genome, length=L, targets=["a", "b"])
    assert len(frame) == 12 and (frame["status"] == "ok").all()
    for _, row in frame.iterrows():
        pos0 = row["pos"] - 1
        window = seq[pos0 - c : pos0 - c + L]
        x = one_hot_encode(window).double().numpy()
        for t, name in enumerate(["a", "b"]):
            expected = W[t, BASES.index(row["alt"]), c] - W[t, BASES.index(row["ref"]), c]
            assert row[f"{name}_delta"] == pytest.approx(expected, abs=1e-5)
            ref_score = (W[t] * x).sum() + model.bias[t].item()
            assert row[f"{name}_ref"] == pytest.approx(ref_score, abs=1e-4)


def test_multiallelic_rows_and_accounting(genome, seq, tmp_path):
    vcf = write_vcf(tmp_path / "m.vcf", [("chr1", 121, "m", seq[120], "A,C,G,T,*")])
    frame = score_variants(LinearOneHot(15, 1), vcf, genome, length=15)
    s = frame.attrs["summary"]
    assert list(frame["alt"]) == ["A", "C", "G", "T", "*"]
    assert (s.records, s.alleles, s.scored + s.n_skipped) == (1, 5, 5)
    same = frame["alt"] == seq[120]
    assert frame.loc[same, "t0_delta"].iloc[0] == 0.0  # ALT equal to REF: no change
    assert frame["status"].iloc[-1] == "spanning_deletion"


def test_equal_to_predict_on_the_windows(genome, seq, tmp_path):
    from seqcnn.models import create_model
    from seqcnn.predict import predict

    torch.manual_seed(0)
    model = create_model("deepbind", n_filters=8, filter_width=9, hidden=4)
    rows = [
        ("chr1", p, f"v{p}", seq[p - 1], "A" if seq[p - 1] != "A" else "C")
        for p in range(5, 395, 13)
    ]
    rows += [("chr1", 102, "del", "GAT", "G"), ("chr1", 142, "ins", "T", "TCC")]
    vcf = write_vcf(tmp_path / "p.vcf", rows)
    frame = score_variants(model, vcf, genome, length=41, batch_size=7)
    windows = [variant_window(a, genome, 41) for a in read_vcf(vcf)]
    ref = predict(model, one_hot_encode([w.ref_seq for w in windows])).numpy()[:, 0]
    alt = predict(model, one_hot_encode([w.alt_seq for w in windows])).numpy()[:, 0]
    np.testing.assert_allclose(frame["t0_ref"], ref, atol=1e-5)
    np.testing.assert_allclose(frame["t0_delta"], alt - ref, atol=1e-5)
    model.train()
    score_variants(model, vcf, genome, length=41)
    assert model.training  # left in its mode
    prob = score_variants(model.eval(), vcf, genome, length=41, scale="probability")
    np.testing.assert_allclose(prob["t0_ref"], 1 / (1 + np.exp(-ref)), atol=1e-6)


def test_accepts_length_and_length_option(genome, seq, tmp_path):
    from seqcnn.models import create_model

    assert accepts_length(create_model("deepbind"), 57)
    assert not accepts_length(LinearOneHot(21), 31)
    assert accepts_length(LinearOneHot(21), 21)


def test_chunks_and_batches_do_not_change_results(genome, seq, tmp_path):
    rows = [
        ("chr1", p, f"v{p}", seq[p - 1], "G" if seq[p - 1] != "G" else "T")
        for p in range(30, 370, 17)
    ]
    vcf = write_vcf(tmp_path / "c.vcf", rows)
    a = VariantScorer(SmallConv(), genome, 21, n_shuffles=9, seed=3)
    b = VariantScorer(SmallConv(), genome, 21, n_shuffles=9, seed=3, batch_size=5)
    chunks_a = list(a.chunks(vcf))
    chunks_b = list(b.chunks(vcf, chunk_alleles=3))
    assert len(chunks_a) == 1 and len(chunks_b) == 7
    fa = chunks_a[0][1]
    fb = __import__("pandas").concat([f for _, f in chunks_b], ignore_index=True)
    np.testing.assert_allclose(fa["t0_delta"], fb["t0_delta"], atol=1e-6)
    np.testing.assert_array_equal(fa["t0_pvalue"], fb["t0_pvalue"])


# ---------------------------------------------------------------- statuses and policies
def test_every_skip_reason(genome, seq, tmp_path):
    L = 21
    rows = [
        ("chr1", 50, "ok", seq[49], "A" if seq[49] != "A" else "C"),
        ("chr1", 60, "sym", seq[59], "<DEL>"),
        ("chr1", 61, "star", seq[60], "*"),
        ("chr1", 62, "miss", seq[61], "."),
        ("chr1", 63, "bnd", seq[62], f"{seq[62]}[chr2:5["),
        ("chr9", 10, "contig", "A", "C"),
        ("chr1", 400, "past_end", seq[399] + "A", "A"),
        ("chr1", 0, "pos0", "A", "C"),
        ("chr1", 70, "mismatch", "A" if seq[69] != "A" else "C", "G"),
        (
            "chr1",
            80,
            "too_long",
            seq[79 : 79 + 12],
            seq[79],
        ),  # 11 bases deleted > L - c = 11? no: = 11
        ("chr1", 90, "too_long2", seq[89 : 89 + 13], seq[89]),  # 12 bases deleted > 11
        ("chr1", 3, "edge", seq[2], "A" if seq[2] != "A" else "C"),
    ]
    vcf = write_vcf(tmp_path / "k.vcf", rows)
    model = LinearOneHot(L, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pad = score_variants(model, vcf, genome, length=L).set_index("id")
        skip = score_variants(model, vcf, genome, length=L, edge="skip").set_index("id")
    expected = {
        "ok": "ok",
        "sym": "symbolic_allele",
        "star": "spanning_deletion",
        "miss": "missing_allele",
        "bnd": "symbolic_allele",
        "contig": "unknown_contig",
        "past_end": "out_of_bounds",
        "pos0": "out_of_bounds",
        "mismatch": "ref_mismatch",
        "too_long": "ok",
        "too_long2": "allele_too_long",
        "edge": "ok",
    }
    assert pad["status"].to_dict() == expected
    assert skip["status"].to_dict() == {**expected, "edge": "out_of_bounds"}
    assert pad.loc["edge", "flags"] == "padded" and pad.loc["ok", "flags"] == "."
    assert np.isnan(pad.loc["sym", "t0_delta"]) and np.isfinite(pad.loc["edge", "t0_delta"])
    s = pad.attrs["summary"]
    assert s.scored + s.n_skipped == s.alleles == len(rows)
    assert s.skipped["symbolic_allele"] == 2 and s.flagged["padded"] == 1
    assert "12 records, 12 ALT alleles: 3 scored (padded 1), 9 skipped" in s.line()


def test_padded_window_is_n_padded(genome, seq):
    w = variant_window(allele("chr1", 3, seq[2], "A"), genome, 21)
    assert w.flags == ("padded",) and w.ref_seq == "N" * 8 + seq[:13]
    assert w.alt_seq[10] == "A"
    w = variant_window(allele("chr1", 399, seq[398], "A"), genome, 21)
    assert w.ref_seq == seq[388:] + "N" * 9


def test_ref_policies(genome, seq, tmp_path):
    L, c = 21, 10
    wrong = "A" if seq[69] != "A" else "C"
    vcf = write_vcf(
        tmp_path / "r.vcf", [("chr1", 70, "bad", wrong, "G"), ("chr1", 80, "good", seq[79], "T")]
    )
    model = LinearOneHot(L, 1)
    W = model.weight.detach().double().numpy()[0]
    with pytest.warns(UserWarning, match="genome build"):
        skipped = score_variants(model, vcf, genome, length=L)
    assert list(skipped["status"]) == ["ref_mismatch", "ok"]
    with pytest.warns(UserWarning, match="genome build"):
        trusted = score_variants(model, vcf, genome, length=L, ref_policy="trust")
    assert list(trusted["status"]) == ["ok", "ok"] and trusted["flags"].iloc[0] == "ref_trusted"
    expected = W[BASES.index("G"), c] - W[BASES.index(wrong), c]
    assert trusted["t0_delta"].iloc[0] == pytest.approx(expected, abs=1e-5)
    w = variant_window(allele("chr1", 70, wrong, "G"), genome, L, ref_policy="trust")
    assert w.ref_seq == seq[59:69] + wrong + seq[70:80]
    assert trusted.attrs["summary"].flagged["ref_trusted"] == 1
    with pytest.raises(InputError, match="REF 'A'|REF 'C'") as err:
        score_variants(model, vcf, genome, length=L, ref_policy="fail")
    assert "r.vcf, line 3" in str(err.value) and "--ref-policy" in str(err.value)
    with pytest.raises(ConfigError, match="ref_policy"):
        VariantScorer(model, genome, L, ref_policy="ignore")


def test_mismatch_warning_only_above_five_percent(genome, seq, tmp_path):
    rows = [("chr1", p, ".", seq[p - 1], "N") for p in range(20, 380, 10)]  # 36 good
    rows.append(("chr1", 15, ".", "A" if seq[14] != "A" else "C", "G"))  # 1 of 37 = 2.7%
    vcf = write_vcf(tmp_path / "w.vcf", rows)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = score_variants(LinearOneHot(11, 1), vcf, genome, length=11)
    assert not frame.attrs["summary"].warnings
    rows += [("chr1", 16, ".", "A" if seq[15] != "A" else "C", "G")] * 2  # 3 of 39 = 7.7%
    vcf = write_vcf(tmp_path / "w.vcf", rows)
    with pytest.warns(UserWarning, match=r"3 of 39 records \(8%\)"):
        frame = score_variants(LinearOneHot(11, 1), vcf, genome, length=11)


def test_contig_aliases_end_to_end(genome, seq, tmp_path):
    vcf = write_vcf(
        tmp_path / "a.vcf",
        [("1", 50, "x", seq[49], "T" if seq[49] != "T" else "A"), ("chrUn", 5, "y", "A", "C")],
    )
    frame = score_variants(LinearOneHot(11, 1), vcf, genome, length=11)
    assert list(frame["status"]) == ["ok", "unknown_contig"]
    assert list(frame["chrom"]) == ["1", "chrUn"]  # written as in the VCF
    assert frame.attrs["summary"].aliases == {"1": "chr1"}


# ---------------------------------------------------------------- significance
def test_pvalues_are_uniform_under_the_null(tmp_path):
    from scipy.stats import kstest

    L, gap, M = 31, 40, 300
    chrom = random_seq(M * gap + gap, 7)
    fa = tmp_path / "bg.fa"
    fa.write_text(">bg\n" + chrom + "\n")
    rng = np.random.default_rng(8)
    rows = []
    for i in range(M):
        pos0 = gap + i * gap
        ref = chrom[pos0]
        rows.append(("bg", pos0 + 1, f"r{i}", ref, rng.choice([b for b in BASES if b != ref])))
    vcf = write_vcf(tmp_path / "null.vcf", rows)
    frame = score_variants(SmallConv(seed=1), vcf, fa, length=L, n_shuffles=99, seed=0)
    p = frame["t0_pvalue"].to_numpy()
    assert np.isfinite(p).all() and (p >= 0.01).all() and (p <= 1).all()
    assert kstest(p, "uniform").pvalue > 0.01
    z = frame["t0_z"].to_numpy()
    assert abs(np.mean(z)) < 0.25 and 0.75 < np.std(z) < 1.25


def test_pvalue_small_for_an_edit_that_breaks_a_motif(tmp_path):
    """A model that detects GGCC scores the loss of the site as extreme against shuffles.

    The background has no G or C, so a shuffle rebuilds the site only when the split of the
    shuffled flanks falls just after their one G (about 1 in 100 for L = 101).
    """
    rng = np.random.default_rng(5)
    left, right = ("".join(rng.choice(list("AT"), 60)) for _ in range(2))
    fa = tmp_path / "m.fa"
    fa.write_text(">m\n" + left + "GGCC" + right + "\n")

    class Motif(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv1d(4, 1, 4, bias=False)
            w = torch.full((1, 4, 4), -1.0)
            for k, base in enumerate("GGCC"):
                w[0, BASES.index(base), k] = 1.0
            self.conv.weight.data = w
            self.act = nn.ReLU()

        def forward(self, x):
            site = self.act(self.conv(x) - 3).amax(-1)
            return site + 0.01 * x[:, 2].sum(-1, keepdim=True)

    vcf = write_vcf(tmp_path / "m.vcf", [("m", len(left) + 2, "k", "G", "A")])
    frame = score_variants(Motif(), vcf, fa, length=101, n_shuffles=199)
    assert frame["t0_delta"].iloc[0] == pytest.approx(-1.01, abs=1e-5)
    assert frame["t0_pvalue"].iloc[0] <= 0.05
    assert frame["t0_z"].iloc[0] < -3


# ---------------------------------------------------------------- outputs
def test_tsv_and_vcf_outputs_agree_and_parse_back(genome, seq, tmp_path):
    pysam = pytest.importorskip("pysam")
    rows = [
        ("chr1", 50, "a", seq[49], ",".join(b for b in BASES if b != seq[49])),
        ("chr1", 60, "b", seq[59], "<DEL>"),
        ("chr1", 102, "d", "GAT", "G"),
        ("chr9", 5, "c", "A", "T"),
    ]
    vcf = write_vcf(tmp_path / "in.vcf", rows)
    vcf.write_text(vcf.read_text().replace("\t.\n", "\tKEEP=1.5e-300\n", 1))
    results = {}
    for name in ("o.tsv", "o.vcf", "o.vcf.gz"):
        scorer = VariantScorer(SmallConv(), genome, 21, targets=["Bound"], n_shuffles=5)
        command = "seqcnn score-variants RUN"
        results[name] = write_variant_scores(scorer, vcf, tmp_path / name, command=command)
        if name.endswith(".gz"):
            assert scorer.vcf_indexed
    tsv = read_variant_scores(tmp_path / "o.tsv")
    assert any(
        h.startswith("seqcnnNull=the same edit in 5 dinucleotide-shuffled")
        for h in tsv.attrs["header"]
    )
    assert list(tsv.columns) == [
        "chrom",
        "pos",
        "id",
        "ref",
        "alt",
        "Bound_ref",
        "Bound_alt",
        "Bound_delta",
        "Bound_z",
        "Bound_pvalue",
        "status",
        "flags",
    ]
    assert list(tsv["status"]) == ["ok"] * 3 + ["symbolic_allele", "ok", "unknown_contig"]
    s = results["o.tsv"]
    assert s.scored + s.n_skipped == s.alleles == 6
    for name in ("o.vcf", "o.vcf.gz"):
        text = (
            gzip.open(tmp_path / name, "rt") if name.endswith("gz") else open(tmp_path / name)
        ).read()
        assert "##seqcnnCommand=seqcnn score-variants RUN" in text and "KEEP=1.5e-300;" in text
        with pysam.VariantFile(str(tmp_path / name)) as vf:
            info = vf.header.info
            assert info["SEQCNN_Bound_DELTA"].number == "A" and info["SEQCNN_STATUS"].number == "A"
            recs = list(vf)
        assert [r.id for r in recs] == ["a", "b", "d", "c"]
        deltas = [v for r in recs for v in r.info["SEQCNN_Bound_DELTA"]]
        status = [v for r in recs for v in r.info["SEQCNN_STATUS"]]
        assert status == list(tsv["status"])
        for got, want in zip(deltas, tsv["Bound_delta"], strict=True):
            assert (got is None and np.isnan(want)) or got == pytest.approx(
                want, rel=1e-5, abs=1e-6
            )


def test_bad_output_extension(genome, tmp_path):
    vcf = write_vcf(tmp_path / "x.vcf", [("chr1", 50, "a", "A", "C")])
    scorer = VariantScorer(LinearOneHot(11, 1), genome, 11)
    with pytest.raises(ConfigError, match=r"\.tsv"):
        write_variant_scores(scorer, vcf, tmp_path / "x.parquet")


def test_output_may_not_overwrite_the_input(genome, tmp_path):
    vcf = write_vcf(tmp_path / "x.vcf", [("chr1", 50, "a", "A", "C")])
    scorer = VariantScorer(LinearOneHot(11, 1), genome, 11)
    with pytest.raises(ConfigError, match="overwrite the input"):
        write_variant_scores(scorer, vcf, vcf)
    assert vcf.read_text().startswith("##fileformat")


def test_probability_scale_needs_a_classifier(genome):
    with pytest.raises(ConfigError, match="classification"):
        VariantScorer(LinearOneHot(11, 1), genome, 11, task="regression", scale="probability")


# ---------------------------------------------------------------- real data
def test_genome_slice_eqtls_and_gwas_variants(data_dir, tmp_path):
    from seqcnn.models import create_model

    torch.manual_seed(0)
    model = create_model("deepbind", n_filters=8, filter_width=9, hidden=0)
    fasta = data_dir / "genome-slice" / "baskerville_hg38_chr1_first1Mb.fa.gz"
    eqtl = score_variants(model, data_dir / "genome-slice" / "eqtl_chr1.hg38.std.vcf", fasta, 101)
    assert len(eqtl) == 8 and (eqtl["status"] == "ok").all()  # REF agrees with the slice
    assert not eqtl.attrs["summary"].warnings
    gwas = score_variants(
        model, data_dir / "gwas-variants" / "regulatory_validated.hg19.std.vcf", fasta, 101
    )
    s = gwas.attrs["summary"]
    assert (s.records, s.alleles, s.scored) == (16, 16, 0)
    assert set(gwas["status"]) == {"unknown_contig", "out_of_bounds"}
    assert s.skipped["out_of_bounds"] == 3  # the chr1 variants lie past the first 1 Mb


def test_saturation_mutagenesis_every_record_accounted_for(data_dir, tmp_path):
    from seqcnn.models import create_model

    pysam = pytest.importorskip("pysam")
    torch.manual_seed(0)
    model = create_model("deepbind", n_filters=4, filter_width=9, hidden=0)
    d = data_dir / "satmut-mpra"
    vcf = d / "satmut_variants.elements.vcf.gz"
    scorer = VariantScorer(model, d / "elements.GRCh38.fa", 101, targets=["b"], batch_size=1024)
    summary = write_variant_scores(scorer, vcf, tmp_path / "e.vcf.gz", command="test")
    with pysam.VariantFile(str(vcf)) as vf:
        n_alts = sum(len(r.alts or (".",)) for r in vf)
    assert summary.alleles == n_alts and summary.scored + summary.n_skipped == n_alts
    with gzip.open(vcf, "rt") as a, gzip.open(tmp_path / "e.vcf.gz", "rt") as b:
        old = [ln.rstrip("\n") for ln in a if not ln.startswith("#")]
        new = [ln.rstrip("\n") for ln in b if not ln.startswith("#")]
    assert len(old) == len(new)
    assert all(n.startswith(o + ";SEQCNN_b_REF=") for o, n in zip(old, new, strict=True))


def test_one_region_of_an_indexed_vcf(genome, seq, tmp_path):
    pysam = pytest.importorskip("pysam")
    from seqcnn.io.vcf import VcfReader

    rows = [("chr1", p, f"v{p}", seq[p - 1], "N") for p in (20, 60, 100, 140)]
    plain = write_vcf(tmp_path / "r.vcf", rows)
    bgz = tmp_path / "r.vcf.gz"
    pysam.tabix_compress(str(plain), str(bgz))
    pysam.tabix_index(str(bgz), preset="vcf")
    frame = score_variants(LinearOneHot(11, 1), VcfReader(bgz, region="chr1:50-120"), genome, 11)
    assert list(frame["id"]) == ["v60", "v100"] and (frame["status"] == "ok").all()


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
def test_score_variants_memory_stays_flat_at_ten_times_the_records(tmp_path, peak_memory_kib):
    """Streaming: a VCF with 10x the records, the same peak memory within 20% (issue 10)."""
    from seqcnn.inputs import DataOptions
    from seqcnn.runs import train_run
    from seqcnn.train import TrainConfig

    rng = np.random.default_rng(0)
    rows = ["".join(rng.choice(list("ACGT"), 101)) + f"\t{i % 2}" for i in range(64)]
    (tmp_path / "t.tsv").write_text("sequence\tlabel\n" + "\n".join(rows) + "\n")
    config = TrainConfig(epochs=1, verbose=False, device="cpu")
    run = tmp_path / "run"
    train_run(tmp_path / "t.tsv", run, DataOptions(), config, model_args={"n_filters": 4})
    contig = random_seq(400_000, seed=1)
    (tmp_path / "g.fa").write_text(">chr1\n" + contig + "\n")
    peaks = []
    for n in (2_000, 20_000):
        pos = np.sort(rng.choice(np.arange(200, 399_800), size=n, replace=False))
        records = [
            ("chr1", p + 1, f"v{i}", contig[p], "ACGT"[("ACGT".index(contig[p]) + 1) % 4])
            for i, p in enumerate(pos.tolist())
        ]
        vcf = write_vcf(tmp_path / f"v{n}.vcf", records)
        out = tmp_path / f"e{n}.tsv"
        peaks.append(
            peak_memory_kib(
                "score-variants", run, "--vcf", vcf, "--fasta", tmp_path / "g.fa", "-o", out,
                "--threads", "1", "--quiet",
            )
        )  # fmt: skip
        assert sum(1 for line in open(out) if not line.startswith("#")) == n + 1
    assert peaks[1] <= 1.2 * peaks[0], peaks


def test_null_shuffles_keep_padding_at_the_window_ends(genome, seq, tmp_path):
    """A window padded off its contig: its shuffles keep the N run where it is; a window
    without N at its ends is shuffled whole, as before."""
    from seqcnn.sequence import dinucleotide_shuffle_many

    L = 41
    rows = [(c, p, f"v{p}", seq[p - 1], "A" if seq[p - 1] != "A" else "C") for c, p in
            (("chr1", 5), ("chr1", 300))]  # fmt: skip
    vcf = write_vcf(tmp_path / "p.vcf", rows)
    scorer = VariantScorer(SmallConv(), genome, L, n_shuffles=7, seed=1)
    windows = [variant_window(a, genome, L) for a in read_vcf(vcf)]
    edge, middle = windows
    assert "padded" in edge.flags and edge.left.startswith("N" * 16)
    for s in scorer._null_windows(edge):
        assert s.startswith("N" * 16) and "N" not in s[16:]
        assert len(s) == L
    # no N at the ends: the joined flanks are shuffled whole, with the allele's seed
    rng = np.random.default_rng([1, middle.allele.record, middle.allele.alt_index])
    want = dinucleotide_shuffle_many([middle.left + middle.right], n=7, seed=rng)
    c = len(middle.left)
    assert scorer._null_windows(middle)[:7] == [(s[:c] + middle.ref + s[c:])[:L] for s in want]
