"""Tests of seqcnn.plot.logo: letter geometry (fast renderer = logomaker), information logos,
reverse complements, formats and the speed of long logos."""

from __future__ import annotations

import time

import numpy as np
import pytest

from seqcnn.exceptions import ConfigError, InputError
from seqcnn.plot.common import new_figure
from seqcnn.plot.logo import draw_logo, information_logo, logo_reverse_complement, plot_logo


def _boxes(paths) -> np.ndarray:
    boxes = np.round([p.get_extents().bounds for p in paths], 9)
    return boxes[np.lexsort(boxes.T[::-1])]


def test_fast_letters_match_logomaker():
    values = np.random.default_rng(1).normal(size=(4, 9))
    values[2, 3] = 0.0  # zero-height letters are not drawn
    fig, (ax1, ax2) = new_figure(6, 2, ncols=2)
    draw_logo(ax1, values, engine="logomaker")
    draw_logo(ax2, values, engine="fast")
    lm = _boxes(p.get_path() for p in ax1.patches)
    (collection,) = ax2.collections
    fast = _boxes(collection.get_paths())
    assert lm.shape == fast.shape == (35, 4)
    np.testing.assert_allclose(fast, lm, atol=1e-9)
    assert ax1.get_ylim() == ax2.get_ylim()


def test_stacks_follow_signs():
    # column 0: A=+1, G=+0.5 (A on top); column 1: C=-2 below zero, T=+0.25 above it
    values = np.array([[1.0, 0.0], [0.0, -2.0], [0.5, 0.0], [0.0, 0.25]])
    fig, (ax,) = new_figure(3, 2)
    draw_logo(ax, values, engine="fast")
    boxes = _boxes(ax.collections[0].get_paths())  # (x, y, width, height) sorted by x
    col0, col1 = boxes[boxes[:, 0] < 1.5], boxes[boxes[:, 0] > 1.5]
    np.testing.assert_allclose(sorted(col0[:, 1]), [0.0, 0.5])  # G from 0, A from 0.5
    np.testing.assert_allclose(sorted(col0[:, 3]), [0.5, 1.0])
    np.testing.assert_allclose(sorted(col1[:, 1]), [-2.0, 0.0])
    np.testing.assert_allclose(ax.get_ylim(), (-2.0, 1.5))


def test_information_logo_known_columns():
    pwm = np.array(
        [[1.0, 0.25, 0.5, 0.7], [0.0, 0.25, 0.5, 0.1], [0.0, 0.25, 0.0, 0.1], [0.0, 0.25, 0.0, 0.1]]
    )
    heights = information_logo(pwm)
    h4 = -(0.7 * np.log2(0.7) + 3 * 0.1 * np.log2(0.1))
    np.testing.assert_allclose(heights.sum(axis=0), [2.0, 0.0, 1.0, 2.0 - h4])
    np.testing.assert_allclose(heights[:, 3] / heights[:, 3].sum(), pwm[:, 3])
    # counts are normalised; every column stays within [0, 2] bits
    counts = np.random.default_rng(0).integers(0, 50, size=(4, 30)).astype(float) + 1
    h = information_logo(counts)
    assert (h >= 0).all() and (h.sum(axis=0) <= 2.0 + 1e-12).all()


def test_reverse_complement():
    values = np.random.default_rng(2).normal(size=(4, 7))
    np.testing.assert_array_equal(logo_reverse_complement(logo_reverse_complement(values)), values)
    onehot = np.eye(4)[:, [0, 0, 2]]  # "AAG" -> "CTT"
    np.testing.assert_array_equal(logo_reverse_complement(onehot), np.eye(4)[:, [1, 3, 3]])
    # another alphabet order: rows follow its letters
    np.testing.assert_array_equal(
        logo_reverse_complement(np.eye(4)[:, [0]], alphabet="TGCA"), np.eye(4)[:, [3]]
    )
    with pytest.raises(ConfigError):
        logo_reverse_complement(values, alphabet="ABCD")


@pytest.mark.parametrize(
    "suffix, magic", [(".png", b"\x89PNG"), (".pdf", b"%PDF"), (".svg", b"<?xml")]
)
def test_formats(tmp_path, suffix, magic):
    pwm = np.random.default_rng(3).dirichlet([0.5] * 4, size=10).T
    out = plot_logo(pwm, tmp_path / f"logo{suffix}", title="a filter", information=True)
    assert out.read_bytes().startswith(magic)


def test_bad_values():
    fig, (ax,) = new_figure(3, 2)
    with pytest.raises(InputError, match=r"shape \(4, L\)"):
        draw_logo(ax, np.zeros((5, 3)))
    with pytest.raises(InputError, match="finite"):
        draw_logo(ax, np.full((4, 3), np.nan))
    with pytest.raises(InputError, match="negative"):
        plot_logo(-np.ones((4, 3)), "x.png", information=True)
    with pytest.raises(ConfigError):
        draw_logo(ax, np.zeros((4, 3)), engine="nope")


def test_long_logo_is_fast(tmp_path):
    values = np.random.default_rng(4).normal(size=(4, 1000))
    fig, (ax,) = new_figure(20, 2)
    start = time.perf_counter()
    draw_logo(ax, values)  # auto: one collection, not 4,000 patches
    elapsed = time.perf_counter() - start
    assert len(ax.collections[0].get_paths()) == 4000 and not ax.patches
    assert elapsed < 5.0  # logomaker needs about 14 s for this on the same machine
    out = plot_logo(values, tmp_path / "long.png", row_length=250)
    assert out.stat().st_size > 0


def test_overview_aligns_filter_and_match(tmp_path, monkeypatch):
    from seqcnn.plot import logo

    match = np.eye(4)[:, [0, 1, 2, 3, 0, 1]]
    query = match[:, 2:5]  # aligned at the match's third column: TomTom offset 2
    drawn = []
    save = logo.save_figure
    monkeypatch.setattr(logo, "save_figure", lambda fig, path: drawn.append(fig) or save(fig, path))
    out = logo.plot_motif_overview(
        [{"pwm": query, "label": "f", "match": match, "match_label": "m", "offset": 2}],
        tmp_path / "overview.svg",
    )
    assert out.read_bytes().startswith(b"<?xml")
    left, right = drawn[0].axes
    assert left.get_xlim() == right.get_xlim()
    q_x = sorted(p.get_extents().x0 for p in left.collections[0].get_paths())
    m_x = sorted(p.get_extents().x0 for p in right.collections[0].get_paths())
    np.testing.assert_allclose(q_x, m_x[2:5])  # the filter's letters sit on columns 3 to 5
    with pytest.raises(InputError):
        logo.plot_motif_overview([], tmp_path / "x.png")
