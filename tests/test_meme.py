"""Tests of seqcnn.io.meme: exact MEME round trips, Biopython reads what we write, JASPAR files,
and errors that name the file and line."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from seqcnn.exceptions import InputError
from seqcnn.io.meme import (
    MemeFile,
    Motif,
    format_jaspar,
    format_meme,
    read_jaspar,
    read_meme,
    read_motifs,
    write_jaspar,
    write_meme,
)


@pytest.fixture
def motifs():
    rng = np.random.default_rng(0)
    return [
        Motif("filter0", rng.dirichlet([0.5] * 4, size=7).T, nsites=123),
        Motif("MA0139.2", rng.dirichlet([1.0] * 4, size=3).T, alt_name="CTCF", evalue=2.5e-9),
        Motif("m2", np.eye(4)[:, [0, 3]], url="http://example.org/m2"),
    ]


def test_round_trip_is_exact(tmp_path, motifs):
    background = np.array([0.3, 0.2, 0.2, 0.3]) + np.array([1e-7, -1e-7, 0, 0])
    path = write_meme(tmp_path / "m.meme", motifs, background=background)
    back = read_meme(path)
    assert back.motifs == motifs  # every float, name, nsites, E-value and URL
    np.testing.assert_array_equal(back.background, background)
    # and writing what was read gives the same bytes
    again = write_meme(tmp_path / "again.meme", back)
    assert again.read_bytes() == path.read_bytes()


def test_fixed_decimals_match_meme_layout(motifs):
    text = format_meme(motifs[:1], decimals=6)
    rows = text.splitlines()[-7:]
    assert all(len(v.split(".")[1]) == 6 for row in rows for v in row.split())
    assert "letter-probability matrix: alength= 4 w= 7 nsites= 123" in text


def test_biopython_reads_what_we_write(tmp_path, motifs):
    from Bio import motifs as bio_motifs

    background = np.array([0.295, 0.205, 0.205, 0.295])
    path = write_meme(tmp_path / "m.meme", motifs, background=background)
    with open(path) as fh:
        record = bio_motifs.parse(fh, "minimal")
    assert [m.name for m in record] == ["filter0", "MA0139.2", "m2"]
    for ours, theirs in zip(motifs, record, strict=True):
        pwm = np.array([theirs.pwm[b] for b in "ACGT"])
        # Biopython keeps counts: probability times nsites (20 when absent), rounded
        n = ours.nsites or 20
        np.testing.assert_allclose(pwm, ours.pwm / ours.pwm.sum(axis=0), atol=1.0 / n)
    assert record[0].num_occurrences == 123
    assert record[1].evalue == pytest.approx(2.5e-9)
    assert record.background == pytest.approx(dict(zip("ACGT", background, strict=True)))


def test_reads_meme_suite_files_and_gzip(tmp_path):
    text = (
        "MEME version 5.5.0\n\nALPHABET= ACGT\n\nstrands: +\n\n"
        "Background letter frequencies (from uniform background):\n"
        "A 0.30000 C 0.20000\nG 0.20000 T 0.30000\n\n"
        "MOTIF 1 ALX1\n\nletter-probability matrix: alength= 4 w= 2 nsites= 4 E= 1.2e-003\n"
        " 0.500000  0.500000  0.000000  0.000000\n"
        " 0.250000  0.250000  0.250000  0.250000\n\nURL http://x\n\n"
        "MOTIF 2\nletter-probability matrix: alength= 4 w= 1\n1 0 0 0\n"
    )
    path = tmp_path / "suite.meme.gz"
    path.write_bytes(gzip.compress(text.encode()))
    f = read_meme(path)
    assert f.version == "5.5.0" and f.strands == "+"
    np.testing.assert_allclose(f.background, [0.3, 0.2, 0.2, 0.3])
    first, second = f.motifs
    assert (first.name, first.alt_name, first.nsites, first.url) == ("1", "ALX1", 4, "http://x")
    assert first.evalue == pytest.approx(1.2e-3) and first.width == 2
    assert second.nsites is None and second.evalue is None and second.width == 1


@pytest.mark.parametrize(
    "text, message, line",
    [
        ("hello\n", "no 'MEME version'", None),
        ("MEME version 4\nALPHABET= ACGU\n", "ALPHABET= ACGT", 2),
        ("MEME version 4\nMOTIF a\nletter-probability matrix: w= 2\n0.5 0.5 0 0\n", "w= 2", 2),
        ("MEME version 4\nMOTIF a\nletter-probability matrix: w= 1\n0.5 0.5 0\n", "4 prob", 4),
        ("MEME version 4\nMOTIF a\nletter-probability matrix: w= 1\n0.5 x 0 0\n", "4 prob", 4),
        ("MEME version 4\nMOTIF a\n1 0 0 0\n", "no 'letter-probability", 2),
    ],
)
def test_bad_meme_files(tmp_path, text, message, line):
    path = tmp_path / "bad.meme"
    path.write_text(text)
    with pytest.raises(InputError, match=message) as err:
        read_meme(path)
    assert err.value.path == str(path) and err.value.line == line


def test_writer_rejects_bad_motifs(tmp_path):
    with pytest.raises(InputError, match="shape"):
        Motif("a", np.ones((3, 2)))
    with pytest.raises(InputError, match="white space"):
        Motif("a b", np.ones((4, 2)) / 4)
    with pytest.raises(InputError, match="unique"):
        format_meme([Motif("a", np.ones((4, 1)) / 4)] * 2)


def test_jaspar_round_trip_and_shared_file(tmp_path, data_dir):
    shared = data_dir / "motifs"
    jaspar = read_jaspar(shared / "JASPAR2024_CORE_vertebrates_nonredundant.jaspar")
    meme = read_meme(shared / "JASPAR2024_CORE_vertebrates_nonredundant.meme")
    assert len(jaspar) == len(meme.motifs) == 879
    by_id = {m.name: m for m in meme.motifs}
    for m in jaspar:
        assert by_id[m.name].alt_name == m.alt_name
        np.testing.assert_allclose(m.pwm, by_id[m.name].pwm, atol=2e-3)  # export pseudocounts
        totals = m.counts.sum(axis=0)  # nsites: the first column's total, as JASPAR's export
        assert m.nsites == round(totals[0])
        assert totals.min() <= by_id[m.name].nsites <= totals.max()
    path = write_jaspar(tmp_path / "x.jaspar", jaspar[:20])
    assert read_jaspar(path) == jaspar[:20]
    assert read_motifs(path) == jaspar[:20]


def test_demo_files_are_what_the_writers_write():
    from seqcnn.data_files import demo_data_dir

    meme_path = demo_data_dir() / "planted_motif.meme"
    jaspar_path = demo_data_dir() / "planted_motif.jaspar"
    meme = read_meme(meme_path)
    assert format_meme(meme, decimals=6) == meme_path.read_text()
    assert format_jaspar(read_jaspar(jaspar_path)) == jaspar_path.read_text()


def test_bad_jaspar(tmp_path):
    path = tmp_path / "bad.jaspar"
    path.write_text(">MA1 X\nA [ 1 2 ]\nC [ 1 2 ]\nG [ 1 ]\nT [ 1 2 ]\n")
    with pytest.raises(InputError, match="one row per letter"):
        read_jaspar(path)
    path.write_text(">MA1 X\nA [ 1 2 ]\nC [ 1 2 ]\n")
    with pytest.raises(InputError, match="4 rows") as err:
        read_jaspar(path)
    assert err.value.line == 4
    path.write_text("nothing here\n")
    with pytest.raises(InputError, match="not a motif file"):
        read_motifs(path)


def test_meme_file_equality():
    a = MemeFile([Motif("a", np.ones((4, 1)) / 4)])
    assert a == MemeFile([Motif("a", np.ones((4, 1)) / 4)])
    assert a != MemeFile([Motif("a", np.ones((4, 1)) / 4, nsites=3)])
