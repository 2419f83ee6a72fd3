"""The SNV shortcut gives the model's own REF and ALT scores, for every model it accepts."""

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from seqcnn import snv_shortcut
from seqcnn.models import create_model
from seqcnn.models.layers import GlobalPool
from seqcnn.sequence import one_hot_encode
from seqcnn.snv_shortcut import SnvShortcut, _sliding_max, _sliding_sum
from seqcnn.variants import VariantScorer

BASES = np.frombuffer(b"ACGT", dtype=np.uint8)


def _genome(size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    g = BASES[rng.integers(0, 4, size)].copy()
    g[size // 3 : size // 3 + 30] = ord("N")  # a gap: all-zero columns
    g[size // 2 : size // 2 + 40] = np.frombuffer(b"acgt" * 10, np.uint8)  # soft-masked
    return g


def _snvs(genome: np.ndarray, n: int, length: int, seed: int, contigs: int = 1):
    rng = np.random.default_rng(seed)
    start = np.sort(rng.integers(-5, genome.size - length + 5, n))
    start[3:6] = start[2]  # several ALTs at one place
    contig = rng.integers(0, contigs, n)
    padded = np.concatenate(
        [np.full(5, ord("N"), np.uint8), genome, np.full(5, ord("N"), np.uint8)]
    )
    windows = padded[start[:, None] + 5 + np.arange(length)]
    alt = BASES[rng.integers(0, 4, n)]
    return windows, contig, start, alt


def _model_scores(model, windows: np.ndarray, alt: np.ndarray, rc_average: bool = False):
    c = windows.shape[1] // 2
    alt_windows = windows.copy()
    alt_windows[:, c] = alt
    out = []
    for w in (windows, alt_windows):
        x = one_hot_encode([r.tobytes().decode() for r in w])
        with torch.inference_mode():
            y = model(x)
            if rc_average:
                y = (y + model(x.flip(1, 2))) / 2
        out.append(y)
    return out


def _randomise_norm(model: nn.Module, negative: bool) -> None:
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d):
            m.running_mean.normal_(generator=g)
            m.running_var.uniform_(0.5, 2.0, generator=g)
            m.weight.data.normal_(generator=g)
            if not negative:
                m.weight.data.abs_()


DEEPBIND_OPTIONS = [
    {},
    {"pooling": "avg"},
    {"pooling": "maxavg", "batch_norm": True},
    {"batch_norm": True},  # batch norm with positive scales: max pooled before activating
    {"strands": "mean", "filter_width": 9},
    {"strands": "forward", "filter_width": 11, "n_outputs": 3},
    {"pooling": "maxavg", "strands": "forward", "hidden": 0},
]


@pytest.mark.parametrize("options", DEEPBIND_OPTIONS, ids=lambda o: str(o) or "default")
def test_shortcut_equals_the_model_for_deepbind(options, monkeypatch):
    monkeypatch.setattr(snv_shortcut, "_BLOCK", 512)  # many blocks and long runs split
    torch.manual_seed(0)
    model = create_model("deepbind", **options).eval()
    _randomise_norm(model, negative=options == {"pooling": "maxavg", "batch_norm": True})
    length = 61
    genome = _genome(4000, 0)
    windows, contig, start, alt = _snvs(genome, 700, length, 1, contigs=2)
    ref, alt_out, consistent = SnvShortcut(model, length).scores(windows, contig, start, alt)
    assert consistent.all()
    want_ref, want_alt = _model_scores(model, windows, alt)
    assert torch.allclose(ref, want_ref, atol=1e-5, rtol=0)
    assert torch.allclose(alt_out, want_alt, atol=1e-5, rtol=0)
    assert torch.allclose(alt_out - ref, want_alt - want_ref, atol=1e-5, rtol=0)


@pytest.mark.parametrize(
    "padding,width",
    [("valid", 7), ("same", 7), ("same", 8), (3, 7), (0, 5)],
)
@pytest.mark.parametrize("rc_average", [False, True])
def test_shortcut_equals_the_model_for_sequential(padding, width, rc_average):
    torch.manual_seed(2)
    model = nn.Sequential(
        nn.Conv1d(4, 6, width, padding=padding),
        nn.BatchNorm1d(6),
        nn.ReLU(),
        GlobalPool(1, "max"),
        nn.Linear(6, 2),
    ).eval()
    _randomise_norm(model, negative=True)
    length = 40
    reason = SnvShortcut.reason(model, length, rc_average)
    if rc_average and padding == "same" and width % 2 == 0:
        assert "unequally" in reason  # the two strands would see different borders
        return
    assert reason is None
    genome = _genome(1500, 3)
    windows, contig, start, alt = _snvs(genome, 300, length, 4)
    ref, alt_out, _ = SnvShortcut(model, length, rc_average).scores(windows, contig, start, alt)
    want_ref, want_alt = _model_scores(model, windows, alt, rc_average)
    assert torch.allclose(ref, want_ref, atol=1e-5, rtol=0)
    assert torch.allclose(alt_out, want_alt, atol=1e-5, rtol=0)


def test_known_answer_one_base_detector():
    # one filter of width 1 that fires on A: a window scores 1 if it holds an A, else 0
    conv = nn.Conv1d(4, 1, 1)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 0, 0] = 1.0
        conv.bias.zero_()
    model = nn.Sequential(conv, nn.ReLU(), GlobalPool(1, "max")).eval()
    windows = np.frombuffer(b"CCCACCCCCCCCCCACCACCC", np.uint8).reshape(3, 7)
    ref, alt, _ = SnvShortcut(model, 7).scores(
        windows, np.zeros(3, int), np.array([0, 100, 200]), np.frombuffer(b"GAG", np.uint8)
    )
    assert ref[:, 0].tolist() == [1.0, 0.0, 1.0]
    assert alt[:, 0].tolist() == [0.0, 1.0, 1.0]  # the only A lost; an A made; another A kept


def test_windows_that_disagree_are_left_to_the_model():
    model = create_model("deepbind", filter_width=5).eval()
    genome = _genome(300, 5)
    windows, contig, start, alt = _snvs(genome, 20, 21, 6)
    windows[7, 3] = ord("A") if windows[7, 3] != ord("A") else ord("C")  # another REF here
    ref, _, consistent = SnvShortcut(model, 21).scores(windows, contig, start, alt)
    assert not consistent[7] and torch.isnan(ref[7]).all()
    others = np.flatnonzero(consistent)
    want_ref, _ = _model_scores(model, windows[others], alt[others])
    assert torch.allclose(ref[others], want_ref, atol=1e-5)


def test_reasons():
    assert SnvShortcut.reason(create_model("deepbind").eval(), 101) is None
    assert "training" in SnvShortcut.reason(create_model("deepbind"), 101)
    assert "too short" in SnvShortcut.reason(create_model("deepbind").eval(), 40)
    assert SnvShortcut.reason(create_model("resbind").eval(), 101)
    with pytest.raises(ValueError, match="too short"):
        SnvShortcut(create_model("deepbind").eval(), 30)


def test_sliding_windows():
    x = torch.randn(50, 3)
    widths = list(range(1, 20))
    for width, got in zip(widths, _sliding_max(x, widths), strict=True):
        assert torch.equal(got, x.unfold(0, width, 1).amax(-1))
    for width in widths:
        got = _sliding_sum(x, width)
        assert torch.allclose(got, x.double().unfold(0, width, 1).sum(-1))


def test_variant_scorer_same_scores_with_and_without_the_shortcut(tmp_path):
    rng = np.random.default_rng(7)
    seq = BASES[rng.integers(0, 4, 3000)].tobytes().decode()
    (tmp_path / "g.fa").write_text(">chr1\n" + seq + "\n>chr2\n" + seq[::-1] + "\n")
    lines = []
    for chrom, s in (("chr1", seq), ("chr2", seq[::-1])):
        for pos0 in sorted(rng.choice(np.arange(0, 3000), 150, replace=False)):
            ref = s[pos0]
            alts = [b for b in "ACGT" if b != ref]
            alt = ",".join(alts[: 1 + int(pos0 % 3 == 0)])  # some records with 2 ALTs
            lines.append(f"{chrom}\t{pos0 + 1}\t.\t{ref}\t{alt}\t.\t.\t.")
        lines.append(f"{chrom}\t1001\t.\t{s[1000:1003]}\t{s[1000]}\t.\t.\t.")  # a deletion
        lines.append(f"{chrom}\t1501\t.\t{s[1500:1502]}\tNN\t.\t.\t.")  # an MNV
        bad = "A" if s[2000] != "A" else "C"
        lines.append(f"{chrom}\t2001\t.\t{bad}\tG\t.\t.\t.")  # REF differs: trusted
    head = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    vcf = tmp_path / "v.vcf"
    lines.sort(key=lambda t: (t.split()[0], int(t.split()[1])))
    vcf.write_text(head + "\n".join(lines) + "\n")
    torch.manual_seed(0)
    model = create_model("deepbind")
    frames = []
    for shortcut in (True, False):
        scorer = VariantScorer(
            model, tmp_path / "g.fa", 101, ref_policy="trust", n_shuffles=5, shortcut=shortcut
        )
        frames.append(pd.concat([f for _, f in scorer.chunks(vcf, chunk_alleles=64)]))
        assert scorer.summary.scored == len(frames[-1])
    fast, slow = frames
    assert (fast["status"] == "ok").all() and fast["flags"].tolist() == slow["flags"].tolist()
    assert {"padded", "ref_trusted"} <= set(",".join(fast["flags"]).split(","))
    for col in ("t0_ref", "t0_alt", "t0_delta"):
        assert np.allclose(fast[col], slow[col], atol=1e-5, rtol=0), col
    # z divides by the null's spread, which magnifies rounding: close, not equal
    assert np.allclose(fast["t0_z"], slow["t0_z"], atol=1e-3, rtol=1e-3, equal_nan=True)
    assert (fast["t0_pvalue"] == slow["t0_pvalue"]).mean() > 0.99  # the shuffles' null too
    assert model.training  # left in its mode


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_shortcut_on_cuda_matches_the_cpu():
    torch.manual_seed(0)
    model = create_model("deepbind", pooling="maxavg").eval()
    windows, contig, start, alt = _snvs(_genome(3000, 8), 400, 61, 9)
    ref, alt_out, _ = SnvShortcut(model, 61).scores(windows, contig, start, alt)
    model.to("cuda")
    ref_gpu, alt_gpu, _ = SnvShortcut(model, 61).scores(windows, contig, start, alt)
    assert ref_gpu.device.type == "cpu"
    # cuDNN convolutions may run in TF32 (10-bit mantissa) on recent GPUs: close, not equal
    assert torch.allclose(ref, ref_gpu, atol=1e-2) and torch.allclose(alt_out, alt_gpu, atol=1e-2)
