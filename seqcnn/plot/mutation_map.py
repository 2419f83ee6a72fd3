"""DeepBind mutation maps: the sequence as letters over a heatmap of every substitution.

The layout follows DeepBind's mutation maps (Alipanahi et al. 2015, Nat Biotechnol 33:831,
Fig. 5 and Supplementary Notes, "Mutation maps"):

- on top, the sequence, each letter as tall as the largest loss of score that a mutation of
  that base would cause (``max(0, -min over bases of the score)``); a base no mutation weakens
  has no height;
- below, a ``4 x L`` heatmap of every substitution's score (rows A, C, G, T), on a colour scale
  symmetric around zero (blue: loss, red: gain); the reference base's cell is 0 and carries a
  dot;
- the variant, when one is given, is boxed in both panels.

The score is either DeepBind's weighting ``(p_mut - p_wt) * max(0, p_wt, p_mut)`` or plain
``alt - ref`` logits (see :func:`seqcnn.attribution.mutation_map_scores`).

Long sequences stay readable: the map is split into rows of ``row_length`` positions (100 by
default); beyond ``max_columns`` positions (1,000 by default) consecutive positions are binned
so that at most ``max_columns`` columns are drawn, each showing the value of largest magnitude
in its bin, and the letters row becomes bars of the largest loss in each bin. The figure says
so in its title.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from seqcnn.exceptions import ConfigError, InputError
from seqcnn.plot.common import new_figure, save_figure
from seqcnn.plot.logo import draw_logo

__all__ = ["plot_mutation_map", "letter_heights", "bin_columns"]

ALPHABET = "ACGT"


def letter_heights(scores: np.ndarray, sequence: str) -> np.ndarray:
    """Letter heights of the top row: each reference base scaled by its largest loss.

    Parameters
    ----------
    scores : np.ndarray, shape (4, L)
        Score of every substitution (0 at the reference base).
    sequence : str
        The reference sequence (length L); ``N`` and other codes get no letter.

    Returns
    -------
    np.ndarray, shape (4, L)
        ``max(0, -min_a scores[a, p])`` in the reference base's row, 0 elsewhere.

    Examples
    --------
    >>> letter_heights(np.array([[0, 1], [-2, 0], [1, -0.5], [0, 0.0]]), "AC").tolist()
    [[2.0, 0.0], [0.0, 0.5], [0.0, 0.0], [0.0, 0.0]]
    """
    arr = np.asarray(scores, dtype=np.float64)
    loss = np.maximum(0.0, -arr.min(axis=0))
    out = np.zeros_like(arr)
    for p, base in enumerate(sequence.upper()):
        row = ALPHABET.find(base)
        if row >= 0:
            out[row, p] = loss[p]
    return out


def bin_columns(values: np.ndarray, factor: int) -> np.ndarray:
    """Merge every ``factor`` consecutive columns into one, keeping the largest-magnitude value.

    Parameters
    ----------
    values : np.ndarray, shape (R, L)
    factor : int

    Returns
    -------
    np.ndarray, shape (R, ceil(L / factor))

    Examples
    --------
    >>> bin_columns(np.array([[1.0, -3.0, 2.0]]), 2).tolist()
    [[-3.0, 2.0]]
    """
    arr = np.asarray(values, dtype=np.float64)
    if factor <= 1:
        return arr
    r, n = arr.shape
    m = -(-n // factor)
    padded = np.zeros((r, m * factor))
    padded[:, :n] = arr
    blocks = padded.reshape(r, m, factor)
    idx = np.abs(blocks).argmax(axis=-1)
    return np.take_along_axis(blocks, idx[..., None], axis=-1)[..., 0]


def _check(scores, sequence: str) -> np.ndarray:
    arr = np.asarray(scores, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != 4 or arr.shape[1] == 0:
        raise InputError(f"mutation map: expected scores of shape (4, L), got {arr.shape}")
    if len(sequence) != arr.shape[1]:
        raise InputError(
            f"mutation map: the sequence has {len(sequence)} bases but the scores have "
            f"{arr.shape[1]} columns"
        )
    if not np.isfinite(arr).all():
        raise InputError("mutation map: the scores contain NaN or infinite values")
    return arr


def plot_mutation_map(
    scores,
    sequence: str,
    path: str | os.PathLike,
    *,
    title: str | None = None,
    variant: int | Sequence[int] | None = None,
    first_position: int = 1,
    score_label: str = "score",
    row_length: int = 100,
    max_columns: int = 1000,
) -> Path:
    """Save a DeepBind mutation map of ``scores`` to ``path`` (PNG, SVG, PDF by suffix).

    Parameters
    ----------
    scores : np.ndarray, shape (4, L)
        Score of every substitution, rows in ``ACGT`` order, 0 at the reference base (for
        example :func:`seqcnn.attribution.mutation_map_scores`).
    sequence : str
        The reference sequence of length L.
    path : str or os.PathLike
        Output file; the suffix chooses the format.
    title : str, optional
        Drawn above the map.
    variant : int or (int, int), optional
        0-based position (or half-open range, for several bases) of a variant to box.
    first_position : int
        Coordinate of the first column on the x axis (1: positions in the sequence; a genomic
        1-based start for a region).
    score_label : str
        Colour-bar label (say which weighting).
    row_length : int
        Columns per row.
    max_columns : int
        Beyond this many positions, consecutive positions are binned (see the module's notes).

    Returns
    -------
    pathlib.Path
        The path written.
    """
    arr = _check(scores, sequence)
    if row_length < 1 or max_columns < 1:
        raise ConfigError(
            f"row_length and max_columns must be positive, got {row_length}, {max_columns}"
        )
    from matplotlib.colors import TwoSlopeNorm

    n = arr.shape[1]
    factor = max(1, -(-n // max_columns))
    heights = letter_heights(arr, sequence)
    if variant is None:
        span = None
    elif isinstance(variant, int | np.integer):
        span = (int(variant), int(variant) + 1)
    else:
        span = (int(variant[0]), int(variant[1]))
    if span is not None and not (0 <= span[0] < span[1] <= n):
        raise InputError(f"mutation map: variant at {span} is outside the sequence (0..{n})")
    heat = bin_columns(arr, factor)
    loss = bin_columns(heights.sum(axis=0, keepdims=True), factor)[0]
    cols = heat.shape[1]
    rows = max(1, round(cols / row_length))  # 101 bp: one row; 150: two of 75
    row_length = -(-cols // rows)
    per_row = row_length
    width = min(max(4.0, 0.16 * per_row + 1.6), 24.0)
    fig, (ax0,) = new_figure(width, 2.3 * rows + (0.35 if title else 0.0))
    ax0.remove()
    grid = fig.add_gridspec(2 * rows, 2, height_ratios=[1.0, 1.1] * rows, width_ratios=[1, 0.015])
    limit = float(np.abs(arr).max()) or 1e-12
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-limit, vmax=limit)
    ref_rows = np.array([ALPHABET.find(b) for b in sequence.upper()])
    image = None
    letter_top = float(loss.max()) * 1.05 or 1e-3
    for r in range(rows):
        lo, hi = r * row_length, min(cols, (r + 1) * row_length)
        ax_l = fig.add_subplot(grid[2 * r, 0])
        ax_h = fig.add_subplot(grid[2 * r + 1, 0], sharex=ax_l)
        x0 = lo  # column index of the row's first column
        if factor == 1:
            draw_logo(ax_l, heights[:, lo:hi], first_position=x0, ylim=(0.0, letter_top))
        else:
            ax_l.bar(np.arange(lo, hi), loss[lo:hi], width=1.0, color="0.35")
            ax_l.set_ylim(0.0, letter_top)
            ax_l.spines[["top", "right"]].set_visible(False)
        ax_l.set_ylabel("largest\nloss", fontsize=7)
        ax_l.tick_params(labelbottom=False, labelsize=7)
        image = ax_h.imshow(
            heat[:, lo:hi],
            cmap="RdBu_r",
            norm=norm,
            aspect="auto",
            interpolation="nearest",
            extent=(lo - 0.5, hi - 0.5, 3.5, -0.5),
        )
        if factor == 1:
            pos = np.arange(lo, hi)
            known = ref_rows[lo:hi] >= 0
            ax_h.scatter(pos[known], ref_rows[lo:hi][known], s=3, c="black", linewidths=0)
        ax_h.set_yticks(range(4), list(ALPHABET), fontsize=7)
        ax_h.set_xlim(lo - 0.5, lo + row_length - 0.5 if rows > 1 else hi - 0.5)
        ticks = ax_h.get_xticks()
        ticks = ticks[(ticks >= lo) & (ticks < hi)]
        ax_h.set_xticks(ticks, [str(int(first_position + t * factor)) for t in ticks], fontsize=7)
        if span is not None:
            a, b = span[0] // factor, (span[1] - 1) // factor + 1
            if a < hi and b > lo:
                from matplotlib.patches import Rectangle

                for ax, y0, h in ((ax_l, 0.0, letter_top), (ax_h, -0.5, 4.0)):
                    ax.add_patch(
                        Rectangle(
                            (a - 0.5, y0),
                            b - a,
                            h,
                            fill=False,
                            edgecolor="black",
                            linewidth=1.2,
                            zorder=5,
                            clip_on=False,
                        )
                    )
    cax = fig.add_subplot(grid[:, 1])
    fig.colorbar(image, cax=cax, label=score_label)
    label = title or ""
    if factor > 1:
        label += f"{'; ' if label else ''}binned: {factor} bp per column (largest |score| shown)"
    if rows > 1:
        label += f"{'; ' if label else ''}{rows} rows of {row_length} columns"
    if label:
        fig.suptitle(label, fontsize=9)
    return save_figure(fig, path)
