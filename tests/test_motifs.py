"""Tests of seqcnn.motifs: the PWM recipes on hand-built filters and planted sites (every
registered 1D model), information content and trimming, influence of toy filters, TomTom
self-matching of JASPAR, and the null control of the significance rule."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from seqcnn import motifs as M
from seqcnn.exceptions import ConfigError, InputError
from seqcnn.models import create_model, list_models
from seqcnn.sequence import one_hot_encode, reverse_complement

RNG_SEED = 0


def random_seqs(n: int, length: int, rng: np.random.Generator) -> list[str]:
    return ["".join(rng.choice(list("ACGT"), size=length)) for _ in range(n)]


def plant(seqs, motif, rng, both_strands=True, per_seq=1):
    """Plant ``motif`` (or its reverse complement) at random, non-overlapping places."""
    out, starts = [], []
    k = len(motif)
    for s in seqs:
        s = list(s)
        room = len(s) // per_seq
        here = []
        for j in range(per_seq):
            start = int(rng.integers(j * room, (j + 1) * room - k + 1))
            site = reverse_complement(motif) if both_strands and rng.random() < 0.5 else motif
            s[start : start + k] = site
            here.append(start)
        out.append("".join(s))
        starts.append(here)
    return out, starts


def set_detector(model: nn.Module, motif: str, filter_index: int = 0) -> M.FirstConv:
    """Make filter ``filter_index`` of the first convolution an exact detector of ``motif``:
    weights the one-hot of the motif, bias -(k - 0.5), so only a perfect match is positive."""
    x = one_hot_encode(["A" * 128])
    first = M.find_first_conv(model, x)
    k = first.width
    assert len(motif) == k
    with torch.no_grad():
        first.conv.weight[filter_index] = one_hot_encode([motif])[0]
        if first.conv.bias is not None:
            first.conv.bias[filter_index] = -(k - 0.5)
        else:  # a batch norm follows (running mean 0, variance 1): its shift is the threshold
            first.norm.bias[filter_index] = -(k - 0.5)
    return first


@pytest.mark.parametrize("name", list_models(dim=1))
def test_windows_map_to_sequence_positions(name):
    """Activations equal W . window + b with windows cut from the padded sequence."""
    torch.manual_seed(0)
    model = create_model(name)
    x = torch.from_numpy(np.random.default_rng(1).random((3, 4, 128)).astype(np.float32))
    first = M.find_first_conv(model, x)
    act = M.filter_activations(model, x, strands="both")
    w = first.conv.weight.detach().numpy()
    b = first.conv.bias.detach().numpy() if first.conv.bias is not None else np.zeros(len(w))
    k = first.width
    for strand, seq in enumerate([x.numpy(), x.flip(1, 2).numpy()]):
        for j in (0, 5, act.shape[-1] - 1):
            start = j * first.stride - first.left_pad
            window = np.zeros((3, 4, k), dtype=np.float32)
            lo, hi = max(start, 0), min(start + k, 128)
            window[:, :, lo - start : hi - start] = seq[:, :, lo:hi]
            expect = np.einsum("fck,nck->nf", w, window) + b
            if first.norm is not None:
                bn = first.norm
                expect = (expect - bn.running_mean.numpy()) / np.sqrt(
                    bn.running_var.numpy() + bn.eps
                ) * bn.weight.detach().numpy() + bn.bias.detach().numpy()
            np.testing.assert_allclose(act[:, strand, :, j].numpy(), expect, atol=1e-4)


@pytest.mark.parametrize("name", list_models(dim=1))
@pytest.mark.parametrize("method", M.METHODS)
def test_recipes_recover_a_planted_site(name, method):
    """A hand-built exact detector gives exactly the planted motif, whatever strand it is on."""
    rng = np.random.default_rng(RNG_SEED)
    torch.manual_seed(0)
    model = create_model(name)
    k = M.find_first_conv(model, one_hot_encode(["A" * 128])).width
    motif = "".join(rng.choice(list("ACGT"), size=k))
    set_detector(model, motif)
    seqs, _ = plant(random_seqs(30, 100, rng), motif, rng)
    x = one_hot_encode(seqs + random_seqs(10, 100, rng))
    model.train()
    before = {n: p.detach().clone() for n, p in model.state_dict().items()}
    res = M.filter_pwms(model, x, method=method, pseudocount=0.0, batch_size=7)
    assert model.training  # left in its mode, unchanged
    assert all(torch.equal(before[n], p) for n, p in model.state_dict().items())
    assert res.sites[0] == 30
    np.testing.assert_array_equal(res.counts[0], 30 * one_hot_encode([motif])[0].numpy())
    np.testing.assert_array_equal(res.pwms[0], one_hot_encode([motif])[0].numpy())
    assert tuple(res.bounds[0]) == (0, k) and res.information(0) == pytest.approx(2.0 * k)
    np.testing.assert_allclose(res.background, M.data_background(x))


def test_deepbind_counts_one_site_per_sequence_basset_all():
    rng = np.random.default_rng(2)
    model = create_model("deepbind", n_filters=2, filter_width=8)
    motif = "GATTACAG"
    set_detector(model, motif)
    seqs, _ = plant(random_seqs(20, 80, rng), motif, rng, per_seq=2)
    x = one_hot_encode(seqs)
    assert M.filter_pwms(model, x, "deepbind").sites[0] == 20
    assert M.filter_pwms(model, x, "basset", threshold=0.5).sites[0] == 40


def test_padding_and_n_add_nothing():
    """A site hanging over the sequence end is seen by a lenient filter, but padding adds no
    letters to its counts; N (all-zero) columns add none either."""
    model = create_model("deepbind", n_filters=1, filter_width=6, strands="forward")
    with torch.no_grad():
        model.conv.weight[0] = one_hot_encode(["TTTTTT"])[0]
        model.conv.bias[0] = -2.5  # three T's are enough
    x = one_hot_encode(["TTTGCGCGCGCGCGC", "GCGCGCGNNTTTTGC"])  # T's at the start; T's after N
    res = M.filter_pwms(model, x, "deepbind", pseudocount=0.0)
    assert res.sites[0] == 2
    # sequence 1: the best window hangs 2 (or more) columns over the start: those columns are
    # padding; sequence 2: the best window holds NN then TTTT
    counts = res.counts[0]
    assert counts.sum() < 12 and counts[3].sum() >= 7
    assert counts.sum(axis=0).min() < 2  # some columns saw fewer than two letters
    pwm = res.pwms[0]
    np.testing.assert_allclose(pwm.sum(axis=0), 1.0)
    # a filter that is positive everywhere (bias only) still needs a base in its window:
    # an all-N sequence supports nothing, whatever the recipe
    with torch.no_grad():
        model.conv.weight[0] = 0.0
        model.conv.bias[0] = 1.0
    x = one_hot_encode(["ACGTACGTAC", "NNNNNNNNNN"])
    assert M.filter_pwms(model, x, "deepbind").sites[0] == 1
    assert M.filter_pwms(model, x, "basset").sites[0] == 15  # windows with at least one base


def test_information_content_and_trimming():
    pwm = np.array(
        [[0.25, 1.0, 0.5, 0.25, 0.97], [0.25, 0, 0.5, 0.25, 0.01], [0.25, 0, 0, 0.25, 0.01]]
        + [[0.25, 0, 0, 0.25, 0.01]]
    )
    ic = M.information_content(pwm)
    np.testing.assert_allclose(ic[:4], [0.0, 2.0, 1.0, 0.0])
    assert ic[4] == pytest.approx(2 + 0.97 * np.log2(0.97) + 3 * 0.01 * np.log2(0.01))
    assert M.trim_bounds(pwm, 0.5) == (1, 5)
    assert M.trim_bounds(pwm, 1.5) == (1, 5)
    assert M.trim_bounds(pwm, 3.0) == (0, 0)
    # against a background: a column equal to the background has no information
    bg = np.array([0.3, 0.2, 0.2, 0.3])
    assert M.information_content(bg[:, None], bg)[0] == pytest.approx(0.0)
    with pytest.raises(InputError):
        M.information_content(np.ones((3, 2)))


def test_pseudocounts_follow_the_background():
    counts = np.array([[8.0, 0.0], [0, 0], [0, 0], [0, 0]])
    bg = np.array([0.3, 0.2, 0.2, 0.3])
    pwm = M.pwm_from_counts(counts, pseudocount=2.0, background=bg)
    np.testing.assert_allclose(pwm[:, 0], (counts[:, 0] + 2 * bg) / 10)
    np.testing.assert_allclose(pwm[:, 1], bg)  # no observations: the background
    with pytest.raises(ConfigError):
        M.pwm_from_counts(counts, pseudocount=-1)


def test_crp_sites_show_the_consensus(data_dir):
    from seqcnn.io import read_fasta

    records = read_fasta(data_dir / "motifs" / "ecoli_CRP_binding_sites.fa")
    pwm, n = M.pwm_from_sites([s.upper() for _, s in records], pseudocount=1.0)
    assert n == len(records) > 300
    consensus = "".join("ACGT"[i] for i in pwm.argmax(axis=0))
    left, right = consensus.find("TGTGA"), consensus.find("TCACA")
    assert 0 <= left < right and right - left == 11, consensus  # TGTGA N6 TCACA
    ic = M.information_content(pwm)
    assert ic[left : left + 5].mean() > 0.5 and ic[right : right + 5].mean() > 0.5


def toy_influence_model() -> nn.Module:
    """Filter 0 detects GATTACAG, filter 1 detects CCCCCCCC; the output reads filter 0 only."""
    model = create_model("deepbind", n_filters=2, filter_width=8, hidden=0, dropout=0.0)
    set_detector(model, "GATTACAG", 0)
    set_detector(model, "CCCCCCCC", 1)
    with torch.no_grad():
        model.head[-1].weight[:] = torch.tensor([[1.0, 0.0]])
        model.head[-1].bias[:] = 0.0
    return model


def test_influence_by_auroc_and_by_mean_output():
    rng = np.random.default_rng(3)
    pos, _ = plant(random_seqs(20, 50, rng), "GATTACAG", rng)
    x = one_hot_encode(pos + random_seqs(20, 50, rng))
    y = np.r_[np.ones(20), np.zeros(20)]
    model = toy_influence_model().train()
    drop = M.filter_influence(model, x, y)
    assert drop[0] == pytest.approx(0.5) and drop[1] == pytest.approx(0.0)
    assert model.training and not model.conv._forward_hooks
    # unlabelled: the drop of the mean output is filter 0's mean pooled activation (0.5 for
    # each of the 20 sequences with the site, 0 elsewhere), for filter 1 nothing
    drop = M.filter_influence(model, x)
    assert drop[0] == pytest.approx(0.25) and drop[1] == pytest.approx(0.0)
    assert M.filter_influence(model, x, filters=[1]).tolist() == [0.0]
    with pytest.raises(InputError, match="out of range"):
        M.filter_influence(model, x, filters=[5])


def test_bad_arguments():
    model = create_model("deepbind", n_filters=2, filter_width=8)
    x = one_hot_encode(["ACGT" * 10])
    with pytest.raises(ConfigError):
        M.filter_pwms(model, x, method="nope")
    with pytest.raises(ConfigError):
        M.filter_pwms(model, x, method="basset", threshold=0)
    with pytest.raises(InputError, match=r"\(N, 4, L\)"):
        M.filter_pwms(model, torch.zeros(3, 5, 10))
    with pytest.raises(ConfigError, match="Conv1d"):
        M.find_first_conv(nn.Sequential(nn.Flatten(), nn.Linear(160, 1)), x)


def test_motifs_carry_real_site_counts(tmp_path):
    from seqcnn.io.meme import read_meme, write_meme

    rng = np.random.default_rng(4)
    model = create_model("deepbind", n_filters=3, filter_width=8)
    set_detector(model, "GATTACAG")
    seqs, _ = plant(random_seqs(12, 40, rng), "GATTACAG", rng)
    res = M.filter_pwms(model, one_hot_encode(seqs))
    path = write_meme(tmp_path / "f.meme", res.motifs(), background=res.background)
    back = read_meme(path)
    assert [m.nsites for m in back.motifs] == res.sites.tolist() and back.motifs[0].nsites == 12
    np.testing.assert_array_equal(back.background, res.background)


# --------------------------------------------------------------------------------------------
# Matching (memelite compiles with numba on first use: one database and one warm-up per session)


@pytest.fixture(scope="session")
def jaspar():
    pytest.importorskip("memelite")
    pytest.importorskip("pyjaspar")
    db = M.jaspar_motifs("JASPAR2024")
    M.tomtom([db.motifs[0].pwm], [m.pwm for m in db.motifs])  # compile once
    return db


def test_jaspar_database(jaspar):
    assert len(jaspar) == 879 and jaspar.source.startswith("pyjaspar JASPAR2024")
    ctcf = [m for m in jaspar.motifs if m.name == "MA0139.2"][0]
    assert ctcf.alt_name == "CTCF" and ctcf.nsites > 0
    assert "C2H2" in jaspar.families[jaspar.motifs.index(ctcf)] or jaspar.families.count("") < 50


def test_ctcf_matches_itself_on_both_strands(jaspar):
    ctcf = [m for m in jaspar.motifs if m.name == "MA0139.2"][0].pwm
    rc = ctcf[::-1, ::-1]
    table = M.match_motifs([ctcf, rc], jaspar, n_best=3, min_ic=0.0, names=["fwd", "rc"])
    best = table[table["rank"] == 1].set_index("query")
    assert best.loc["fwd", "target"] == "MA0139.2" and best.loc["fwd", "strand"] == "+"
    assert best.loc["rc", "target"] == "MA0139.2" and best.loc["rc", "strand"] == "-"
    assert best["significant"].all() and (best["shuffle_p"] == 0.01).all()
    assert (best["e_value"] == best["p_value"] * 879).all()


def test_every_jaspar_matrix_finds_itself(jaspar):
    pwms = [m.pwm for m in jaspar.motifs]
    res = M.tomtom(pwms, pwms)
    hits = res["p_value"].argmin(axis=1) == np.arange(len(pwms))
    assert hits.mean() > 0.99, [jaspar.motifs[i].name for i in np.flatnonzero(~hits)]


@pytest.mark.slow  # ~10-30 s: 9,600 shuffled copies through TomTom
def test_null_control(jaspar, data_dir):
    """Filters of an untrained model, and column-shuffled copies of known motifs turned into
    filters, get significant matches at most 5% of the time under the shipped rule; the same
    filters unshuffled are significant."""
    import gzip

    with gzip.open(next((data_dir / "encode-chipseq").glob("CTCFL_*_B.seq.gz")), "rt") as fh:
        rows = [line.split("\t") for line in fh.read().splitlines()[1:]]
    seqs = [r[2] for r in rows if r[3] == "1"]
    x = one_hot_encode(seqs)
    torch.manual_seed(0)
    untrained = M.filter_pwms(create_model("deepbind", n_filters=32), x)
    table = M.match_motifs(untrained, jaspar, n_best=1)
    untrained_rate = table["significant"].mean()
    rng = np.random.default_rng(5)
    known = [m.pwm for m in rng.choice(np.array(jaspar.motifs, dtype=object), 32, replace=False)]
    shuffled = [M.shuffle_columns(p, rng) for p in known]
    shuffled_rate = M.match_motifs(shuffled, jaspar, n_best=1)["significant"].mean()
    power = M.match_motifs(known, jaspar, n_best=1)["significant"].mean()
    assert untrained_rate <= 0.05 and shuffled_rate <= 0.05, (untrained_rate, shuffled_rate)
    assert power >= 0.9, power


def write_toy_run(run_dir, jaspar_pwm: np.ndarray, length: int = 60):
    """A run whose filter 0 scans for ``jaspar_pwm`` (log-odds) and alone drives the output."""
    from seqcnn import checkpoint

    width = jaspar_pwm.shape[1] + 4
    args = {"n_filters": 4, "filter_width": width, "hidden": 0, "dropout": 0.0}
    torch.manual_seed(0)
    model = create_model("deepbind", **args)
    log_odds = np.log2((jaspar_pwm + 0.01) / 0.25)
    with torch.no_grad():
        model.conv.weight[0] = 0.0
        model.conv.weight[0, :, 2:-2] = torch.from_numpy(log_odds).float()
        model.conv.bias[0] = -0.6 * float(log_odds.max(axis=0).sum())
        model.conv.weight[1:] *= 0.1
        model.head[-1].weight[:] = torch.tensor([[1.0, 0.0, 0.0, 0.0]])
    run_dir.mkdir()
    checkpoint.write_config(
        {
            "model": {"name": "deepbind", "args": args},
            "task": "binary",
            "targets": ["bound"],
            "input": {"kind": "sequence", "length": length, "alphabet": "ACGT"},
            "data": {},
        },
        run_dir,
    )
    checkpoint.save_weights(model, run_dir / checkpoint.WEIGHTS)


@pytest.mark.slow  # ~15 s: the whole verb, logos included
def test_motifs_verb_end_to_end(tmp_path, jaspar):
    """A run built to detect CTCF: its filter is the most influential, matches a CTCF matrix
    significantly, and every output is written."""
    import pandas as pd

    from seqcnn.cli import main
    from seqcnn.io.meme import read_meme

    ctcf = [m for m in jaspar.motifs if m.name == "MA0139.2"][0].pwm
    write_toy_run(tmp_path / "run", ctcf)
    rng = np.random.default_rng(6)
    sites = ["".join("ACGT"[rng.choice(4, p=col / col.sum())] for col in ctcf.T) for _ in range(40)]
    sites = [s if rng.random() < 0.5 else reverse_complement(s) for s in sites]
    pos = []
    for seq, site in zip(random_seqs(40, 60, rng), sites, strict=True):
        start = int(rng.integers(0, 60 - len(site)))
        pos.append(seq[:start] + site + seq[start + len(site) :])
    rows = [f"p{i}\t{s}\t1" for i, s in enumerate(pos)]
    rows += [f"n{i}\t{s}\t0" for i, s in enumerate(random_seqs(40, 60, rng))]
    data = tmp_path / "data.tsv"
    data.write_text("id\tseq\tbound\n" + "\n".join(rows) + "\n")
    out = tmp_path / "motifs"
    code = main(["motifs", str(tmp_path / "run"), "--data", str(data), "-o", str(out), "-q"])
    assert code == 0
    table = pd.read_csv(out / "matches.tsv", sep="\t")
    best = table[table["rank"] == 1]
    assert len(best) == 4 and len(table) <= 12
    first = best.iloc[0]
    assert first["filter"] == "filter0" and first["influence_rank"] == 1
    assert first["influence"] == pytest.approx(best["influence"].max()) and first["influence"] > 0.2
    assert first["target_name"] == "CTCF" and first["significant"]
    assert 20 <= first["sites"] <= 40  # at most one window per bound sequence
    meme = read_meme(out / "motifs.meme")
    assert [m.name for m in meme.motifs] == [f"filter{i}" for i in range(4)]
    assert meme.motifs[0].nsites == first["sites"]
    assert abs(meme.background.sum() - 1) < 1e-12
    assert sorted(p.name for p in (out / "logos").iterdir()) == [f"filter{i}.png" for i in range(4)]
    assert (out / "overview.png").read_bytes().startswith(b"\x89PNG")


def test_database_from_a_file(data_dir, tmp_path):
    pytest.importorskip("pyjaspar")
    path = data_dir / "motifs" / "JASPAR2024_CORE_vertebrates_nonredundant.meme"
    db = M.load_database(path)
    assert len(db) == 879 and db.source == str(path)
    ctcf = [m.name for m in db.motifs].index("MA0139.2")
    assert db.motifs[ctcf].alt_name == "CTCF" and "zinc finger" in db.families[ctcf]
    other = tmp_path / "mine.meme"
    other.write_text("MEME version 4\n\nMOTIF m1\nletter-probability matrix: w= 1\n1 0 0 0\n")
    mine = M.load_database(other)
    assert [m.name for m in mine.motifs] == ["m1"] and mine.families == [""]
    other.write_text("MEME version 4\n")
    with pytest.raises(InputError, match="no motifs"):
        M.load_database(other)


def test_sequences_kept_as_bytes_give_the_same_pwms_background_and_influence():
    """The motifs verb holds its sequences as bytes (one-hot per batch): the same results."""
    from seqcnn.sequence import CompactOneHot, sequence_bytes

    rng = np.random.default_rng(5)
    torch.manual_seed(0)
    model = create_model("deepbind", n_filters=6, filter_width=8)
    seqs = [s.lower() if i % 3 == 0 else s for i, s in enumerate(random_seqs(40, 60, rng))]
    seqs[4] = seqs[4][:20] + "N" * 10 + seqs[4][30:]
    x, compact = one_hot_encode(seqs), CompactOneHot(sequence_bytes(seqs))
    np.testing.assert_array_equal(M.data_background(x), M.data_background(compact))
    a, b = M.filter_pwms(model, x, batch_size=16), M.filter_pwms(model, compact, batch_size=16)
    np.testing.assert_array_equal(a.counts, b.counts)
    labels = (rng.random((40, 1)) < 0.5).astype(np.float32)
    np.testing.assert_array_equal(
        M.filter_influence(model, x, labels, batch_size=16),
        M.filter_influence(model, compact, labels, batch_size=16),
    )
