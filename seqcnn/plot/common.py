"""Shared figure plumbing: a figure without pyplot, formats by suffix, atomic saving.

Every function of :mod:`seqcnn.plot` draws on its own :class:`matplotlib.figure.Figure` (no
pyplot, so no global state, no backend switch and no figure left open), chooses the file format
from the path's suffix (``.png``, ``.svg``, ``.pdf``, ...), writes atomically (see
:func:`seqcnn.utils.atomic_output_path`) and returns the path it wrote. SVG and PDF output
carry no date and fixed element ids, so the same figure gives the same bytes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from seqcnn.exceptions import InputError
from seqcnn.utils import atomic_output_path

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: File suffixes the writers accept (the formats matplotlib's Agg, SVG and PDF canvases write).
FIGURE_FORMATS = ("png", "svg", "pdf", "jpg", "jpeg", "tif", "tiff", "eps", "ps", "webp")


def new_figure(width: float, height: float, ncols: int = 1) -> tuple[Figure, list[Axes]]:
    from matplotlib.figure import Figure  # a core dependency; imported here to keep import light

    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)


def figure_format(path: Path) -> str:
    fmt = path.suffix[1:].lower()
    if fmt not in FIGURE_FORMATS:
        raise InputError(
            f"cannot tell the figure format from the suffix {path.suffix!r}; "
            f"use one of: {', '.join('.' + f for f in FIGURE_FORMATS)}",
            path=path,
        )
    return fmt


def save_figure(fig: Figure, path: str | os.PathLike) -> Path:
    """Write ``fig`` to ``path`` atomically, in the format its suffix names."""
    import matplotlib

    path = Path(path)
    fmt = figure_format(path)
    metadata = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}.get(fmt)
    with (
        matplotlib.rc_context({"svg.hashsalt": "seqcnn"}),
        atomic_output_path(path) as tmp,
    ):
        fig.savefig(tmp, format=fmt, dpi=150, metadata=metadata)
    return path


def palette(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "viridis"]
    return [cmap(i) if n <= 10 else cmap(i / max(n - 1, 1)) for i in range(n)]


def as_2d(values, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise InputError(
            f"{name}: expected a non-empty array of shape (N,) or (N, T), got shape {arr.shape}"
        )
    return arr
