"""Tests of seqcnn.simulate: the shipped demo dataset is what its generator makes, and it contains
the planted motif where it says."""

from __future__ import annotations

import gzip
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from seqcnn.exceptions import InputError
from seqcnn.simulate import (
    BASE_FREQS,
    DEMO_FILES,
    DEMO_MOTIF,
    DEMO_SEED,
    background_model,
    make_demo_dataset,
)

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "data" / "demo"


def read_meme_matrix(path: Path) -> np.ndarray:
    """The (w, 4) probabilities of the single motif in a MEME file."""
    lines = path.read_text().split("letter-probability matrix")[1].splitlines()[1:]
    return np.array([[float(v) for v in line.split()] for line in lines if line.strip()])


def best_log_odds(sequences, probs: np.ndarray, background=BASE_FREQS) -> np.ndarray:
    """Best log-odds score over positions and both strands; written here, independent of
    the generator's own scan."""
    log_odds = np.log2((probs + 0.01) / np.asarray(background))
    rc = log_odds[::-1, ::-1]
    lookup = np.full(256, -1)
    lookup[np.frombuffer(b"ACGT", np.uint8)] = np.arange(4)
    scores = []
    for seq in sequences:
        codes = lookup[np.frombuffer(seq.encode(), np.uint8)]
        w = len(log_odds)
        win = codes[np.arange(len(codes) - w + 1)[:, None] + np.arange(w)]
        fwd = log_odds[np.arange(w), win].sum(axis=1)
        rev = rc[np.arange(w), win].sum(axis=1)
        scores.append(max(fwd.max(), rev.max()))
    return np.array(scores)


def read_table(name: str, folder: Path = SHIPPED) -> pd.DataFrame:
    return pd.read_csv(folder / name, sep="\t")


# --- the shipped files ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    """The documented command, run again: ``python -m seqcnn.simulate DIR``."""
    pytest.importorskip("pyjaspar")
    out = tmp_path_factory.mktemp("demo")
    subprocess.run([sys.executable, "-m", "seqcnn.simulate", str(out)], check=True, cwd=REPO)
    return out


def test_shipped_folder_has_exactly_the_generated_files():
    assert sorted(p.name for p in SHIPPED.iterdir()) == sorted(DEMO_FILES)


def test_regenerating_with_documented_seed_reproduces_shipped_files(regenerated):
    for name in DEMO_FILES:
        new, old = (regenerated / name).read_bytes(), (SHIPPED / name).read_bytes()
        if name.endswith(".gz"):
            new, old = gzip.decompress(new), gzip.decompress(old)
        assert new == old, f"{name} differs from what the generator makes"


def test_readme_says_simulated_and_names_seed_and_matrix():
    text = (SHIPPED / "README.md").read_text()
    assert "simulated" in text.lower()
    assert DEMO_MOTIF in text and f"--seed {DEMO_SEED}" in text
    assert "python -m seqcnn.simulate data/demo" in text


def test_demo_is_small():
    assert sum(p.stat().st_size for p in SHIPPED.iterdir()) < 300_000


def test_tables_shape_labels_and_alphabet():
    ids = []
    for split, n in (("train", 3000), ("valid", 500), ("test", 500)):
        table = read_table(f"{split}.tsv.gz")
        assert list(table.columns) == ["id", "sequence", "bound"]
        assert len(table) == n and table["bound"].sum() == n // 2
        assert set(table["bound"]) == {0, 1}
        assert (table["sequence"].str.len() == 101).all()
        assert table["sequence"].str.fullmatch("[ACGT]+").all()
        ids += list(table["id"])
    assert len(set(ids)) == len(ids)


def test_positives_carry_strong_matches_to_planted_motif_more_often():
    probs = read_meme_matrix(SHIPPED / "planted_motif.meme")
    best_possible = np.log2((probs + 0.01) / np.asarray(BASE_FREQS)).max(axis=1).sum()
    table = read_table("train.tsv.gz")
    strong = best_log_odds(table["sequence"], probs) >= 0.6 * best_possible
    pos, neg = strong[table["bound"] == 1].mean(), strong[table["bound"] == 0].mean()
    assert pos > 0.6 and neg < 0.05, (pos, neg)


def test_true_motif_scan_separates_test_set_well_but_not_perfectly():
    probs = read_meme_matrix(SHIPPED / "planted_motif.meme")
    table = read_table("test.tsv.gz")
    auroc = roc_auc_score(table["bound"], best_log_odds(table["sequence"], probs))
    assert 0.88 < auroc < 0.98
    # the README reports the generator's own scan (pseudocount 0.001 rather than 0.01)
    reported = re.search(r"AUROC \*\*([0-9.]+)\*\*", (SHIPPED / "README.md").read_text())
    assert abs(float(reported[1]) - auroc) < 0.005


def test_sites_table_is_the_truth():
    sites = read_table("sites.tsv.gz")
    assert list(sites.columns) == [
        "id",
        "split",
        "bound",
        "kind",
        "start",
        "end",
        "strand",
        "site",
    ]
    sequences = pd.concat(read_table(f"{s}.tsv.gz") for s in ("train", "valid", "test"))
    merged = sites.merge(sequences, on="id", suffixes=("", "_table"))
    assert len(merged) == len(sites)
    assert (merged["bound"] == merged["bound_table"]).all()
    assert ((merged["kind"] == "site") == (merged["bound"] == 1)).all()
    assert (merged["end"] - merged["start"] == 15).all()
    assert all(row.sequence[row.start : row.end] == row.site for row in merged.itertuples())
    assert set(merged["strand"]) == {"+", "-"}
    # about 88% of positives and 8% of negatives carry a site
    n_pos = (sequences["bound"] == 1).sum()
    assert 0.84 < (sites["kind"] == "site").sum() / n_pos < 0.92
    assert 0.05 < (sites["kind"] == "weak_site").sum() / (len(sequences) - n_pos) < 0.11


def test_planted_site_is_where_the_motif_scores_best():
    probs = read_meme_matrix(SHIPPED / "planted_motif.meme")
    log_odds = np.log2((probs + 0.01) / np.asarray(BASE_FREQS))
    sites = read_table("sites.tsv.gz")
    sites = sites[sites["kind"] == "site"].head(200)
    lookup = {b: i for i, b in enumerate("ACGT")}
    for row in sites.itertuples():
        codes = [lookup[b] for b in row.site]
        if row.strand == "-":
            codes = [3 - c for c in reversed(codes)]
        planted = log_odds[np.arange(15), codes].sum()
        # a site sampled from the matrix scores well above a random 15-mer's expectation (< 0)
        assert planted > -5
    mean = np.mean(
        [
            log_odds[np.arange(15), [lookup[b] for b in s]].sum()
            for s, strand in zip(sites["site"], sites["strand"], strict=True)
            if strand == "+"
        ]
    )
    assert mean > 10


def test_planted_motif_files_hold_the_jaspar_matrix():
    pyjaspar = pytest.importorskip("pyjaspar")
    motif = pyjaspar.jaspardb(release="JASPAR2024").fetch_motif_by_id(DEMO_MOTIF)
    counts = np.array([motif.counts[b] for b in "ACGT"]).T
    probs = read_meme_matrix(SHIPPED / "planted_motif.meme")
    np.testing.assert_allclose(probs, counts / counts.sum(axis=1, keepdims=True), atol=1e-6)
    jaspar = (SHIPPED / "planted_motif.jaspar").read_text().splitlines()
    assert jaspar[0] == f">{DEMO_MOTIF}\tCTCF"
    parsed = np.array(
        [[float(v) for v in line.split("[")[1].rstrip(" ]").split()] for line in jaspar[1:]]
    )
    np.testing.assert_array_equal(parsed.T, counts)


def test_background_is_human_like():
    """Sequences without a site: 41% GC, CpG depleted, strand-symmetric."""
    table = pd.concat(read_table(f"{s}.tsv.gz") for s in ("train", "valid", "test"))
    planted = set(read_table("sites.tsv.gz")["id"])
    text = "".join(table.loc[~table["id"].isin(planted), "sequence"])
    freq = {b: text.count(b) / len(text) for b in "ACGT"}
    assert abs(freq["G"] + freq["C"] - 0.41) < 0.01
    cpg = sum(1 for i in range(len(text) - 1) if text[i : i + 2] == "CG") / (len(text) - 1)
    assert 0.15 < cpg / (freq["C"] * freq["G"]) < 0.35
    assert abs(freq["A"] - freq["T"]) < 0.01


# --- the generator -------------------------------------------------------------------------
def test_background_model_is_consistent():
    start, transition = background_model()
    np.testing.assert_allclose(transition.sum(axis=1), 1.0, atol=1e-5)
    # the base frequencies are the chain's stationary distribution
    np.testing.assert_allclose(start @ transition, start, atol=1e-5)
    joint = start[:, None] * transition
    odds = joint / np.outer(start, start)
    np.testing.assert_allclose(odds[1, 2], 0.25, atol=0.01)  # CpG
    np.testing.assert_allclose(joint, joint[::-1, ::-1].T, atol=1e-5)  # strand symmetric


def test_generator_is_deterministic_and_seed_matters(tmp_path):
    pytest.importorskip("pyjaspar")
    sizes = {"n_train": 40, "n_valid": 10, "n_test": 10}
    a = make_demo_dataset(tmp_path / "a", seed=1, **sizes)
    b = make_demo_dataset(tmp_path / "b", seed=1, **sizes)
    c = make_demo_dataset(tmp_path / "c", seed=2, **sizes)
    assert list(a) == list(DEMO_FILES)
    for name in DEMO_FILES:
        assert a[name].read_bytes() == b[name].read_bytes()  # byte for byte, gzip included
    assert a["train.tsv.gz"].read_bytes() != c["train.tsv.gz"].read_bytes()
    small = read_table("train.tsv.gz", tmp_path / "a")
    assert len(small) == 40 and small["bound"].sum() == 20


def test_splits_do_not_depend_on_each_others_sizes(tmp_path):
    pytest.importorskip("pyjaspar")
    a = make_demo_dataset(tmp_path / "a", n_train=30, n_valid=10, n_test=12)
    b = make_demo_dataset(tmp_path / "b", n_train=50, n_valid=10, n_test=12)
    assert a["test.tsv.gz"].read_bytes() == b["test.tsv.gz"].read_bytes()


def test_generator_rejects_bad_sizes(tmp_path):
    pytest.importorskip("pyjaspar")
    with pytest.raises(InputError, match="n_valid: expected at least 2"):
        make_demo_dataset(tmp_path, n_valid=1)
    with pytest.raises(InputError, match="length: expected at least 15"):
        make_demo_dataset(tmp_path, length=10)
