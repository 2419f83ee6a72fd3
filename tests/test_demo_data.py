"""Tests of seqcnn.demo_data: the shipped demo dataset is what its generator makes, it contains
the planted motif where it says, and the registry of real datasets matches the local copies."""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from seqcnn import demo_data
from seqcnn.demo_data import (
    BASE_FREQS,
    DEMO_FILES,
    DEMO_MOTIF,
    DEMO_SEED,
    background_model,
    demo_data_dir,
    find_dataset,
    make_demo_dataset,
    read_registry,
)
from seqcnn.exceptions import InputError, UnknownNameError

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
    """The documented command, run again: ``python -m seqcnn.demo_data DIR``."""
    pytest.importorskip("pyjaspar")
    out = tmp_path_factory.mktemp("demo")
    subprocess.run([sys.executable, "-m", "seqcnn.demo_data", str(out)], check=True, cwd=REPO)
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
    assert "python -m seqcnn.demo_data data/demo" in text


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


# --- locating data -------------------------------------------------------------------------
def test_demo_data_dir_finds_the_checkout_copy():
    assert demo_data_dir() == SHIPPED


def test_demo_data_dir_missing_says_where_it_looked(tmp_path, monkeypatch):
    roots = [tmp_path / "checkout", tmp_path / "share"]
    monkeypatch.setattr(demo_data, "_package_data_roots", lambda: roots)
    with pytest.raises(InputError, match="demo dataset is missing") as err:
        demo_data_dir()
    for root in roots:
        assert str(root / "demo") in str(err.value)
    assert "python -m seqcnn.demo_data" in str(err.value)
    (roots[1] / "demo").mkdir(parents=True)
    for split in ("train", "valid", "test"):
        (roots[1] / "demo" / f"{split}.tsv.gz").write_bytes(b"")
    assert demo_data_dir() == roots[1] / "demo"


@pytest.fixture
def fake_data(tmp_path):
    """A data folder with one file, and a registry that describes it."""
    folder = tmp_path / "data"
    (folder / "set").mkdir(parents=True)
    content = b"ACGT\n" * 10
    (folder / "set" / "a.fa").write_bytes(content)
    registry = pd.DataFrame(
        {
            "name": ["set/a"],
            "path": ["set/a.fa"],
            "sha256": [hashlib.sha256(content).hexdigest()],
            "bytes": [len(content)],
            "source": ["a test"],
            "license": ["CC0"],
            "citation": ["none"],
        }
    )
    return folder, registry


def test_find_dataset_by_path_or_name(fake_data):
    folder, registry = fake_data
    expected = folder / "set" / "a.fa"
    assert find_dataset("set/a.fa", data_dir=folder, registry=registry) == expected
    assert find_dataset("set/a", data_dir=folder, registry=registry, check_sha256=True) == expected
    native = os.path.join("set", "a.fa")
    assert find_dataset(native, data_dir=folder, registry=registry) == expected


def test_find_dataset_uses_environment_variable(fake_data, monkeypatch):
    folder, registry = fake_data
    monkeypatch.setenv("SEQCNN_DATA_DIR", str(folder))
    assert find_dataset("set/a", registry=registry) == folder / "set" / "a.fa"
    monkeypatch.setenv("SEQCNN_DATA_DIR", str(folder.parent / "elsewhere"))
    with pytest.raises(InputError, match=r"\$SEQCNN_DATA_DIR") as err:
        find_dataset("set/a", registry=registry)
    assert str(folder.parent / "elsewhere" / "set" / "a.fa") in str(err.value)


def test_find_dataset_missing_file_explains_how_to_fix(fake_data, tmp_path):
    _, registry = fake_data
    with pytest.raises(InputError) as err:
        find_dataset("set/a", data_dir=tmp_path / "empty", registry=registry)
    message = str(err.value)
    assert "not found" in message and str(tmp_path / "empty" / "set" / "a.fa") in message
    assert "export SEQCNN_DATA_DIR=" in message and "a test" in message


def test_find_dataset_default_location_is_beside_the_checkout(fake_data, monkeypatch):
    _, registry = fake_data
    monkeypatch.delenv("SEQCNN_DATA_DIR", raising=False)
    with pytest.raises(InputError, match="is not set") as err:
        find_dataset("set/a", registry=registry)
    assert str(REPO.parent / "shared" / "data" / "set" / "a.fa") in str(err.value)


def test_find_dataset_checks_size_and_checksum(fake_data):
    folder, registry = fake_data
    path = folder / "set" / "a.fa"
    path.write_bytes(b"ACGT\n" * 9)
    with pytest.raises(InputError, match="size 45 bytes, but the registry says 50"):
        find_dataset("set/a", data_dir=folder, registry=registry)
    path.write_bytes(b"ACGA\n" * 10)  # same size, other content
    assert find_dataset("set/a", data_dir=folder, registry=registry) == path
    with pytest.raises(InputError, match="SHA-256"):
        find_dataset("set/a", data_dir=folder, registry=registry, check_sha256=True)


def test_find_dataset_unknown_name_lists_registered(fake_data):
    folder, registry = fake_data
    with pytest.raises(UnknownNameError, match="unknown dataset 'set/b'; choose one of: set/a"):
        find_dataset("set/b", data_dir=folder, registry=registry)
    with pytest.raises(KeyError):  # UnknownNameError is a KeyError too
        find_dataset("set/b", data_dir=folder, registry=registry)


# --- the registry --------------------------------------------------------------------------
def test_registry_is_well_formed():
    reg = read_registry()
    assert list(reg.columns) == ["name", "path", "sha256", "bytes", "source", "license", "citation"]
    assert reg["name"].is_unique and reg["path"].is_unique
    assert reg["sha256"].str.fullmatch("[0-9a-f]{64}").all()
    assert (reg["bytes"] > 0).all()
    for column in ("source", "license", "citation"):
        assert (reg[column].str.len() > 0).all(), column
    groups = reg["path"].str.split("/").str[0].value_counts()
    assert groups["encode-chipseq"] == 20
    assert {"satmut-mpra", "motifs", "genome-slice", "gwas-variants", "images"} <= set(groups.index)


def test_read_registry_rejects_other_tables(tmp_path):
    bad = tmp_path / "reg.tsv"
    bad.write_text("name\tpath\nx\ty\n")
    with pytest.raises(InputError, match="missing columns"):
        read_registry(bad)
    with pytest.raises(InputError, match="no such file"):
        read_registry(tmp_path / "none.tsv")


def test_registry_matches_the_local_copies(data_dir):
    """Every registered file is present with its size and checksum, and nothing is left out
    (indexes that tools such as pyfaidx write beside a FASTA, .fai and .gzi, are not data)."""
    reg = read_registry()
    for path in reg["path"]:
        assert find_dataset(path, data_dir=data_dir, check_sha256=True).is_file()
    local = {
        p.relative_to(data_dir).as_posix()
        for p in data_dir.rglob("*")
        if p.is_file() and p.name != "README.md" and p.suffix not in (".fai", ".gzi")
    }
    assert local == set(reg["path"])
