"""Sequence logos: signed letter stacks on a matplotlib Axes, information-content logos of PWMs.

:func:`draw_logo` draws one stack of letters per column of a ``(4, L)`` array (a PWM turned into
information, an attribution map, a mutation map's mean effects). Positive values stack upwards
from zero with the largest on top; negative values stack downwards, flipped, with the largest
magnitude at the bottom, as logomaker does. Short logos are drawn by logomaker itself; long ones
(hundreds of positions) by the same geometry with each letter's outline computed once and every
letter of the logo placed in a single :class:`~matplotlib.collections.PathCollection`, which
is about a hundred times faster than one patch per letter (logomaker takes about 14 s for
1,000 positions). :func:`plot_logo` saves a logo through :mod:`seqcnn.plot.common`, splitting
long logos into rows so that letters stay readable.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from seqcnn.exceptions import ConfigError, InputError, require
from seqcnn.motifs import information_content
from seqcnn.plot.common import new_figure, save_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = [
    "draw_logo",
    "plot_logo",
    "plot_motif_overview",
    "information_logo",
    "logo_reverse_complement",
    "COLORS",
]

#: Letter colours (logomaker's "classic" scheme); letters not listed are drawn grey.
COLORS = {
    "A": (0.0, 0.5, 0.0),
    "C": (0.0, 0.0, 1.0),
    "G": (1.0, 0.65, 0.0),
    "T": (1.0, 0.0, 0.0),
    "U": (1.0, 0.0, 0.0),
}

# With more positions than this, engine="auto" uses the fast renderer instead of logomaker.
_LOGOMAKER_MAX_POSITIONS = 60
# Glyph geometry, the same as logomaker's defaults: letters fill 95% of a column, are never
# stretched wider than an "E", and are drawn in a bold sans-serif font.
_WIDTH = 0.95
_FONT = "sans"
_WEIGHT = "bold"
_WIDEST = "E"
_COMPLEMENT = {"A": "T", "C": "G", "G": "C", "T": "A", "U": "A"}


def _check_values(values, alphabet: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != len(alphabet) or arr.shape[1] == 0:
        raise InputError(
            f"logo values: expected an array of shape ({len(alphabet)}, L), one row per letter "
            f"of {alphabet!r}, got shape {arr.shape}"
        )
    if not np.isfinite(arr).all():
        raise InputError("logo values: expected finite numbers, found NaN or infinity")
    return arr


def logo_reverse_complement(values, alphabet: str = "ACGT") -> np.ndarray:
    """The logo of the other strand: columns reversed, each letter's row swapped with its pair.

    Parameters
    ----------
    values : np.ndarray, shape (4, L)
        One row per letter of ``alphabet``.
    alphabet : str
        A DNA or RNA alphabet (``ACGT``, ``ACGU`` in any order).

    Returns
    -------
    np.ndarray, shape (4, L)

    Examples
    --------
    >>> logo_reverse_complement(np.eye(4)[:, :2]).astype(int).tolist()  # "AC" -> "GT"
    [[0, 0], [0, 0], [1, 0], [0, 1]]
    """
    arr = _check_values(values, alphabet)
    try:
        rows = [alphabet.index(_COMPLEMENT[c]) for c in alphabet]
    except (KeyError, ValueError):
        raise ConfigError(
            f"reverse complement needs a DNA or RNA alphabet (A, C, G, T/U), got {alphabet!r}"
        ) from None
    return arr[rows, ::-1].copy()


def information_logo(pwm, background=None) -> np.ndarray:
    """Letter heights of an information-content logo: probability times the column's information.

    Parameters
    ----------
    pwm : np.ndarray, shape (4, L)
        Letter probabilities (or counts) per column; each column is normalised to sum to one.
    background : np.ndarray, shape (4,), optional
        Background frequencies; uniform by default, which gives information ``2 - H`` bits.

    Returns
    -------
    np.ndarray, shape (4, L)
        Non-negative heights whose column sums are the information content (at most 2 bits).

    Examples
    --------
    >>> information_logo(np.array([[1.0, 0.25], [0, 0.25], [0, 0.25], [0, 0.25]])).tolist()
    [[2.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]
    """
    probs = np.asarray(pwm, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[0] != 4:
        raise InputError(f"pwm: expected shape (4, L), got {probs.shape}")
    probs = probs / np.clip(probs.sum(axis=0, keepdims=True), 1e-300, None)
    return probs * np.clip(information_content(probs, background), 0.0, None)[None, :]


@functools.lru_cache(maxsize=64)
def _glyph(char: str, flip: bool):
    """The outline of ``char`` (upside down when ``flip``), its bounding box moved to the origin.

    Returns ``(vertices, codes, width, height)``: the outline's vertices relative to the lower
    left corner of its bounding box, and the box's size (font size 1).
    """
    from matplotlib.font_manager import FontProperties
    from matplotlib.path import Path as MplPath
    from matplotlib.textpath import TextPath

    path = TextPath((0, 0), char, size=1, prop=FontProperties(family=_FONT, weight=_WEIGHT))
    if flip:
        path = MplPath(path.vertices * (1.0, -1.0), path.codes)
    ext = path.get_extents()
    verts = np.asarray(path.vertices, dtype=np.float64) - (ext.xmin, ext.ymin)
    return verts, np.asarray(path.codes), float(ext.width), float(ext.height)


def _stacks(arr: np.ndarray):
    """For each column, ``(row, floor, ceiling)`` of every non-zero letter, logomaker's order.

    Letters are sorted by value; the stack starts at the sum of the negative values, so that
    negative letters sit below zero (largest magnitude lowest) and positive ones above it
    (largest on top).
    """
    order = np.argsort(arr, axis=0, kind="stable")
    vals = np.take_along_axis(arr, order, axis=0)
    floor0 = np.where(vals < 0, vals, 0.0).sum(axis=0)
    tops = floor0[None, :] + np.cumsum(np.abs(vals), axis=0)
    bottoms = tops - np.abs(vals)
    return order, vals, bottoms, tops


def _draw_fast(ax: Axes, arr: np.ndarray, alphabet: str, colors, x0: float) -> None:
    from matplotlib.collections import PathCollection
    from matplotlib.path import Path as MplPath

    widest = _glyph(_WIDEST, False)[2]
    order, vals, bottoms, tops = _stacks(arr)
    paths, faces = [], []
    for k in range(arr.shape[0]):
        for j in np.flatnonzero(vals[k] != 0):
            char = alphabet[order[k, j]]
            verts, codes, w, h = _glyph(char, bool(vals[k, j] < 0))
            stretch = min(_WIDTH / w, _WIDTH / widest)
            shift = (_WIDTH - stretch * w) / 2.0
            height = tops[k, j] - bottoms[k, j]
            xy = np.empty_like(verts)
            xy[:, 0] = verts[:, 0] * stretch + (x0 + j - _WIDTH / 2.0 + shift)
            xy[:, 1] = verts[:, 1] * (height / h) + bottoms[k, j]
            paths.append(MplPath(xy, codes))
            faces.append(colors.get(char, (0.5, 0.5, 0.5)))
    if paths:
        ax.add_collection(
            PathCollection(paths, facecolors=faces, edgecolors="none", linewidths=0),
            autolim=False,
        )


def _draw_logomaker(ax: Axes, arr: np.ndarray, alphabet: str, colors, x0: float) -> None:
    import pandas as pd

    logomaker = require("logomaker", "motifs", "sequence logos")
    frame = pd.DataFrame(arr.T, columns=list(alphabet), index=np.arange(arr.shape[1]) + x0)
    color_scheme = {c: colors.get(c, (0.5, 0.5, 0.5)) for c in alphabet}
    logomaker.Logo(
        frame,
        ax=ax,
        color_scheme=color_scheme,
        font_name=_FONT,
        width=_WIDTH,
        flip_below=True,
        stack_order="big_on_top",
    )


def draw_logo(
    ax: Axes,
    values,
    alphabet: str = "ACGT",
    *,
    reverse_complement: bool = False,
    first_position: int = 1,
    colors: dict | None = None,
    ylabel: str | None = None,
    ylim: tuple[float, float] | None = None,
    engine: str = "auto",
) -> Axes:
    """Draw signed letter heights on ``ax``, one stack of letters per column.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    values : np.ndarray, shape (4, L)
        Letter heights, one row per letter of ``alphabet`` (may be negative: attributions).
    alphabet : str
        The letters of the rows, ``ACGT`` by default.
    reverse_complement : bool
        Draw the other strand (see :func:`logo_reverse_complement`).
    first_position : int
        The x coordinate of the first column (1 by default; a genomic start for attributions).
    colors : dict, optional
        Letter to colour; :data:`COLORS` by default.
    ylabel : str, optional
        The y-axis label.
    ylim : (float, float), optional
        The y-axis range; by default the extent of the stacks (at least ``[0, 1e-3]``).
    engine : {"auto", "logomaker", "fast"}
        ``logomaker`` draws one patch per letter with logomaker; ``fast`` draws the same letters
        in one collection; ``auto`` uses logomaker up to 60 positions and ``fast`` beyond.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``.

    Examples
    --------
    >>> from seqcnn.plot.common import new_figure
    >>> fig, (ax,) = new_figure(3, 1)
    >>> _ = draw_logo(ax, np.array([[1.0, -0.5], [0, 0], [0, 0.2], [0, 0]]))
    >>> [float(x) for x in ax.get_xlim()]
    [0.5, 2.5]
    """
    arr = _check_values(values, alphabet)
    if reverse_complement:
        arr = logo_reverse_complement(arr, alphabet)
    if engine not in ("auto", "logomaker", "fast"):
        raise ConfigError(f"engine: expected 'auto', 'logomaker' or 'fast', got {engine!r}")
    if engine == "auto":
        engine = "logomaker" if arr.shape[1] <= _LOGOMAKER_MAX_POSITIONS else "fast"
    colors = COLORS if colors is None else colors
    draw = _draw_logomaker if engine == "logomaker" else _draw_fast
    draw(ax, arr, alphabet, colors, float(first_position))
    n = arr.shape[1]
    ax.set_xlim(first_position - 0.5, first_position + n - 0.5)
    if ylim is None:
        low = min(0.0, float(np.where(arr < 0, arr, 0).sum(axis=0).min()))
        high = max(float(np.where(arr > 0, arr, 0).sum(axis=0).max()), low + 1e-3)
        ylim = (low, high)
    ax.set_ylim(*ylim)
    if ylim[0] < 0 < ylim[1]:
        ax.axhline(0.0, color="black", linewidth=0.5)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    ax.spines[["top", "right"]].set_visible(False)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(nbins=min(n, 20), integer=True))
    return ax


def plot_logo(
    values,
    path: str | os.PathLike,
    title: str | None = None,
    *,
    alphabet: str = "ACGT",
    reverse_complement: bool = False,
    information: bool = False,
    first_position: int = 1,
    ylabel: str | None = None,
    row_length: int = 100,
    width_per_position: float = 0.25,
    height: float = 1.8,
    highlight: tuple[int, int] | None = None,
    engine: str = "auto",
) -> Path:
    """Save a logo to ``path`` (PNG, SVG, PDF, ... by suffix), split into rows when long.

    Parameters
    ----------
    values : np.ndarray, shape (4, L)
        Letter heights, or a PWM when ``information`` is true.
    path : str or os.PathLike
        The output file; its suffix chooses the format.
    title : str, optional
        Drawn above the first row.
    alphabet : str
        The letters of the rows.
    reverse_complement : bool
        Draw the other strand.
    information : bool
        Treat ``values`` as a PWM and draw its information-content logo (bits, y from 0 to 2).
    first_position : int
        The x coordinate of the first column.
    ylabel : str, optional
        The y-axis label ("bits" for information logos by default).
    row_length : int
        At most this many positions per row; longer logos are split into rows that share a
        y range.
    width_per_position, height : float
        Figure size in inches: width per position (capped to 25 inches a row) and height a row.
    highlight : (int, int), optional
        Columns ``[start, stop)`` (0-based, of ``values`` as given) to shade, e.g. the trimmed
        part of a PWM.
    engine : {"auto", "logomaker", "fast"}
        See :func:`draw_logo`.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    arr = _check_values(values, alphabet)
    if row_length < 1:
        raise ConfigError(f"row_length: expected a positive integer, got {row_length}")
    if information:
        if len(alphabet) != 4:
            raise ConfigError(f"information logos need a 4-letter alphabet, got {alphabet!r}")
        if (arr < 0).any():
            raise InputError("information logo: a PWM cannot have negative entries")
        arr = information_logo(arr)
        ylim = (0.0, 2.0)
        ylabel = "bits" if ylabel is None else ylabel
    else:
        low = min(0.0, float(np.where(arr < 0, arr, 0).sum(axis=0).min()))
        high = max(float(np.where(arr > 0, arr, 0).sum(axis=0).max()), low + 1e-3)
        pad = 0.05 * (high - low)
        ylim = (low - pad if low < 0 else low, high + pad)
    if reverse_complement:
        arr = logo_reverse_complement(arr, alphabet)
    n = arr.shape[1]
    rows = -(-n // row_length)
    width = min(max(2.0, width_per_position * min(n, row_length) + 0.8), 25.0)
    fig, (ax,) = new_figure(width, height * rows + (0.3 if title else 0.0))
    axes = [ax]
    if rows > 1:
        ax.remove()
        axes = list(fig.subplots(rows, 1, squeeze=False)[:, 0])
    for r, row_ax in enumerate(axes):
        lo, hi = r * row_length, min(n, (r + 1) * row_length)
        draw_logo(
            row_ax,
            arr[:, lo:hi],
            alphabet,
            first_position=first_position + lo,
            ylabel=ylabel,
            ylim=ylim,
            engine=engine,
        )
        if rows > 1:  # rows share one x scale, so the last row is as wide per letter as the rest
            row_ax.set_xlim(first_position + lo - 0.5, first_position + lo + row_length - 0.5)
        if highlight is not None:
            a, b = max(highlight[0], lo), min(highlight[1], hi)
            if reverse_complement:
                a, b = max(n - highlight[1], lo), min(n - highlight[0], hi)
            if a < b:
                row_ax.axvspan(
                    first_position + a - 0.5,
                    first_position + b - 0.5,
                    color="0.92",
                    zorder=-1,
                    linewidth=0,
                )
    if title:
        axes[0].set_title(title)
    return save_figure(fig, path)


def plot_motif_overview(
    rows: list[dict],
    path: str | os.PathLike,
    title: str | None = None,
) -> Path:
    """Filters beside their best matches: one row per filter, two information logos a row.

    Parameters
    ----------
    rows : list of dict
        In the order to draw, each with ``pwm`` (np.ndarray (4, w): the filter's PWM), ``label``
        (str, drawn above it), and optionally ``match`` (np.ndarray (4, w): the matched PWM,
        already on the filter's strand), ``match_label`` (str) and ``offset`` (int: the column
        of ``match`` where the filter's first column aligns, TomTom's offset; negative when the
        filter starts before the match). With an offset the two logos share x coordinates
        (the match's columns, from 1), so aligned letters sit one above the other.
    path : str or os.PathLike
        The picture (PNG, SVG, PDF by suffix).
    title : str, optional
        Drawn above the figure.

    Returns
    -------
    pathlib.Path
    """
    if not rows:
        raise InputError("motif overview: no filters to draw")
    spans = []
    for row in rows:
        wq = row["pwm"].shape[1]
        match, offset = row.get("match"), row.get("offset")
        if match is None or offset is None:
            wm = 0 if match is None else match.shape[1]
            spans.append((1, 1, 1, max(wq, wm)))  # query start, match start, first x, width
        else:
            lo = min(1, 1 + offset)
            hi = max(match.shape[1], offset + wq)
            spans.append((1 + offset, 1, lo, hi - lo + 1))
    widest = max(span[3] for span in spans)
    width = min(2 * (0.22 * widest + 0.8), 25.0)
    fig, (ax,) = new_figure(width, 1.45 * len(rows) + (0.4 if title else 0.0))
    ax.remove()
    axes = fig.subplots(len(rows), 2, squeeze=False)
    for (left, right), row, (q0, m0, lo, _) in zip(axes, rows, spans, strict=True):
        for ax, pwm, label, start in (
            (left, row["pwm"], row["label"], q0),
            (right, row.get("match"), row.get("match_label", ""), m0),
        ):
            if pwm is None or pwm.shape[1] == 0:
                ax.axis("off")
                ax.text(0.5, 0.5, label or "no match", ha="center", va="center", fontsize=8)
                continue
            draw_logo(
                ax,
                information_logo(pwm),
                first_position=start,
                ylim=(0.0, 2.0),
                ylabel="bits",
                engine="fast",
            )
            ax.set_xlim(lo - 0.5, lo + widest - 0.5)
            ax.set_title(label, fontsize=8, loc="left")
            ax.tick_params(labelsize=7)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)
