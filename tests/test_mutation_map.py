"""DeepBind mutation maps: letter heights, binning, rendering (time, formats, variant box)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from seqcnn.attribution import mutation_map_scores, mutation_map_table
from seqcnn.exceptions import InputError
from seqcnn.plot.mutation_map import bin_columns, letter_heights, plot_mutation_map


def random_map(length: int, seed: int = 0) -> tuple[np.ndarray, str]:
    rng = np.random.default_rng(seed)
    seq = "".join(rng.choice(list("ACGT"), length))
    scores = rng.normal(0, 0.1, (4, length))
    for p, b in enumerate(seq):
        scores["ACGT".index(b), p] = 0.0
    return scores, seq


def test_letter_heights_are_the_largest_loss_on_the_reference_base():
    scores = np.array(
        [
            [0.0, 0.3, -0.1, 0.2],
            [-0.5, 0.0, -0.4, 0.1],
            [0.2, 0.1, 0.0, -0.2],
            [-0.1, 0.2, 0.1, 0.3],
        ]
    )
    heights = letter_heights(scores, "ACGN")
    expected = np.zeros((4, 4))
    expected[0, 0] = 0.5  # A: the worst mutation (to C) loses 0.5
    expected[1, 1] = 0.0  # C: no mutation loses anything
    expected[2, 2] = 0.4  # G: to C loses 0.4
    np.testing.assert_allclose(heights, expected)  # N: no letter


def test_bin_columns_keeps_the_largest_magnitude():
    values = np.array([[0.1, -0.5, 0.3, 0.2, -0.1], [1.0, 0.0, 0.0, 0.0, 2.0]])
    np.testing.assert_allclose(bin_columns(values, 2), [[-0.5, 0.3, -0.1], [1.0, 0.0, 2.0]])
    assert bin_columns(values, 1) is not None and bin_columns(values, 1).shape == (2, 5)


def test_table_holds_every_value():
    seq = "ACN"
    mutated = np.array([[0.0, 1.0, 2.0], [-1.0, 0.0, 0.5], [0.3, 0.2, 0.1], [0.0, 0.0, 0.0]])
    table = mutation_map_table(seq, 0.0, mutated, first_position=101, chrom="chr2")
    assert list(table.columns[:4]) == ["chrom", "pos", "ref", "alt"]
    assert len(table) == 12 and table["pos"].tolist()[:5] == [101] * 4 + [102]
    row = table[(table["pos"] == 102) & (table["alt"] == "A")].iloc[0]
    assert row["ref"] == "C" and row["delta"] == pytest.approx(1.0)
    assert row["score"] == pytest.approx(mutation_map_scores(0.0, 1.0))
    p = 1 / (1 + np.exp(-1.0))
    assert row["score"] == pytest.approx((p - 0.5) * p)
    assert (table[table["ref"] == table["alt"]]["delta"] == 0).all()


def test_render_101bp_fast_with_variant(tmp_path):
    scores, seq = random_map(101)
    start = time.perf_counter()
    out = plot_mutation_map(scores, seq, tmp_path / "map.png", variant=50, title="101 bp")
    elapsed = time.perf_counter() - start
    assert elapsed < 5.0, elapsed
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = plot_mutation_map(scores, seq, tmp_path / "map.svg", variant=(10, 13))
    text = svg.read_text()
    assert text.startswith("<?xml") and "<svg" in text
    assert plot_mutation_map(scores, seq, tmp_path / "map.pdf").read_bytes()[:4] == b"%PDF"


def test_long_maps_are_split_and_binned(tmp_path):
    scores, seq = random_map(2500, seed=1)
    from matplotlib.figure import Figure

    captured = {}
    original = Figure.savefig

    def spy(self, *args, **kwargs):
        captured["title"] = self._suptitle.get_text() if self._suptitle else ""
        captured["axes"] = len(self.axes)
        return original(self, *args, **kwargs)

    Figure.savefig = spy
    try:
        plot_mutation_map(scores, seq, tmp_path / "long.png", max_columns=500, row_length=100)
    finally:
        Figure.savefig = original
    assert "binned: 5 bp per column" in captured["title"]
    assert "5 rows" in captured["title"]
    assert captured["axes"] == 2 * 5 + 1  # letters + heatmap per row, one colour bar


def test_bad_input(tmp_path):
    scores, seq = random_map(20)
    with pytest.raises(InputError, match="shape"):
        plot_mutation_map(scores[:3], seq, tmp_path / "x.png")
    with pytest.raises(InputError, match="bases"):
        plot_mutation_map(scores, seq[:-1], tmp_path / "x.png")
    with pytest.raises(InputError, match="outside"):
        plot_mutation_map(scores, seq, tmp_path / "x.png", variant=20)
    with pytest.raises(InputError, match="suffix"):
        plot_mutation_map(scores, seq, tmp_path / "x.txt")
    assert not list(tmp_path.iterdir())  # nothing half-written
