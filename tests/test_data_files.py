"""Tests of seqcnn.data_files: finding the demo data and the registered public datasets."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd
import pytest

from seqcnn import data_files
from seqcnn.data_files import data_root, demo_data_dir, find_dataset, read_registry
from seqcnn.exceptions import InputError, UnknownNameError

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "data" / "demo"


# --- locating data -------------------------------------------------------------------------
def test_demo_data_dir_finds_the_checkout_copy():
    assert demo_data_dir() == SHIPPED


def test_demo_data_dir_missing_says_where_it_looked(tmp_path, monkeypatch):
    roots = [tmp_path / "checkout", tmp_path / "share"]
    monkeypatch.setattr(data_files, "_package_data_roots", lambda: roots)
    with pytest.raises(InputError, match="demo dataset is missing") as err:
        demo_data_dir()
    for root in roots:
        assert str(root / "demo") in str(err.value)
    assert "python -m seqcnn.simulate" in str(err.value)
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


def test_find_dataset_has_no_default_location(fake_data, monkeypatch):
    """An installed package knows no checkout: without data_dir or $SEQCNN_DATA_DIR, say how."""
    _, registry = fake_data
    monkeypatch.delenv("SEQCNN_DATA_DIR", raising=False)
    with pytest.raises(InputError, match=r"SEQCNN_DATA_DIR is not set.*export SEQCNN_DATA_DIR="):
        find_dataset("set/a", registry=registry)


def test_data_root_checks_the_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQCNN_DATA_DIR", str(tmp_path / "absent"))
    with pytest.raises(InputError, match=r"from \$SEQCNN_DATA_DIR\) does not exist"):
        data_root()
    assert data_root(tmp_path) == tmp_path


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
