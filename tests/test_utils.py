"""Tests of seqcnn.utils: atomic writers leave either the old file or the new one, nothing else."""

from __future__ import annotations

import gzip
import os
import stat

import pytest

from seqcnn.utils import atomic_output_path, atomic_write


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_atomic_write_text_and_binary(tmp_path):
    with atomic_write(tmp_path / "a.txt") as fh:
        fh.write("héllo\n")
    with atomic_write(tmp_path / "b.bin", "wb") as fh:
        fh.write(b"\x00\x01")
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "héllo\n"
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert _names(tmp_path) == ["a.txt", "b.bin"]  # no temporary file left


def test_atomic_write_replaces_existing_file(tmp_path):
    out = tmp_path / "a.txt"
    out.write_text("old")
    with atomic_write(out) as fh:
        fh.write("new")
        assert out.read_text() == "old"  # nothing visible until the block ends
    assert out.read_text() == "new"


def test_atomic_write_error_keeps_old_file_and_cleans_up(tmp_path):
    out = tmp_path / "a.txt"
    out.write_text("old")
    with pytest.raises(RuntimeError, match="boom"), atomic_write(out) as fh:
        fh.write("half")
        raise RuntimeError("boom")
    assert out.read_text() == "old"
    assert _names(tmp_path) == ["a.txt"]


def test_atomic_write_error_creates_nothing(tmp_path):
    with pytest.raises(KeyboardInterrupt), atomic_write(tmp_path / "new.txt") as fh:
        fh.write("half")
        raise KeyboardInterrupt
    assert _names(tmp_path) == []


def test_atomic_write_exclusive_mode(tmp_path):
    out = tmp_path / "a.txt"
    with atomic_write(out, "x") as fh:
        fh.write("first")
    with pytest.raises(FileExistsError), atomic_write(out, "x") as fh:
        fh.write("second")
    assert out.read_text() == "first"
    assert _names(tmp_path) == ["a.txt"]


@pytest.mark.parametrize("mode", ["r", "a", "w+", "rb", "ab"])
def test_atomic_write_rejects_non_write_modes(tmp_path, mode):
    with pytest.raises(ValueError, match="mode"), atomic_write(tmp_path / "a.txt", mode):
        pass
    assert _names(tmp_path) == []


def test_atomic_write_passes_open_kwargs(tmp_path):
    with atomic_write(tmp_path / "a.csv", newline="\r\n") as fh:
        fh.write("a\n")
    assert (tmp_path / "a.csv").read_bytes() == b"a\r\n"


def test_new_file_permissions_follow_umask(tmp_path):
    mask = os.umask(0o027)
    try:
        import seqcnn.utils

        seqcnn.utils._umask.cache_clear()
        with atomic_write(tmp_path / "a.txt") as fh:
            fh.write("x")
    finally:
        os.umask(mask)
        seqcnn.utils._umask.cache_clear()
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o640


@pytest.mark.parametrize("name", ["plot.png", "plot.svg", "table.tsv.gz", "weights.safetensors"])
def test_atomic_output_path_keeps_suffix_and_folder(tmp_path, name):
    out = tmp_path / name
    with atomic_output_path(out) as tmp:
        assert tmp.parent == tmp_path
        assert tmp.name.endswith(out.suffix)
        assert tmp != out
        tmp.write_bytes(b"content")
        assert not out.exists()
    assert out.read_bytes() == b"content"
    assert _names(tmp_path) == [name]


def test_atomic_output_path_keeps_double_suffix_for_compression(tmp_path):
    out = tmp_path / "table.tsv.gz"
    with atomic_output_path(out) as tmp:
        assert tmp.name.endswith(".tsv.gz")
        with gzip.open(tmp, "wt") as fh:  # libraries infer compression from the suffix
            fh.write("a\tb\n")
    with gzip.open(out, "rt") as fh:
        assert fh.read() == "a\tb\n"


def test_atomic_output_path_writer_may_recreate_file(tmp_path):
    out = tmp_path / "a.txt"
    with atomic_output_path(out) as tmp:
        tmp.unlink()
        tmp.write_text("recreated")
    assert out.read_text() == "recreated"


def test_atomic_output_path_error_keeps_old_file(tmp_path):
    out = tmp_path / "a.png"
    out.write_bytes(b"old")
    with pytest.raises(OSError, match="disk full"), atomic_output_path(out) as tmp:
        tmp.write_bytes(b"partial")
        raise OSError("disk full")
    assert out.read_bytes() == b"old"
    assert _names(tmp_path) == ["a.png"]


def test_atomic_output_path_missing_output_is_an_error(tmp_path):
    out = tmp_path / "a.png"
    with pytest.raises(FileNotFoundError, match="did not leave"), atomic_output_path(out) as tmp:
        tmp.unlink()
    assert _names(tmp_path) == []


def test_missing_folder_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError), atomic_write(tmp_path / "no" / "a.txt"):
        pass
    with pytest.raises(FileNotFoundError), atomic_output_path(tmp_path / "no" / "a.png"):
        pass
