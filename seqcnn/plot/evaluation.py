"""Figures for evaluation and training: ROC and precision-recall curves, training history,
confusion matrices.

Every function draws on its own :class:`matplotlib.figure.Figure` (no pyplot, so no global
state, no backend switch and no figure left open), chooses the file format from the path's
suffix (``.png``, ``.svg``, ``.pdf``, ...), writes atomically (see
:func:`seqcnn.utils.atomic_output_path`) and returns the path it wrote. matplotlib is imported
inside the functions, so ``import seqcnn`` stays light. SVG and PDF output carry no date and
fixed element ids, so the same figure gives the same bytes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from seqcnn.exceptions import InputError
from seqcnn.plot.common import FIGURE_FORMATS, as_2d, new_figure, palette, save_figure

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["plot_roc", "plot_pr", "plot_history", "plot_confusion", "FIGURE_FORMATS"]


# With more targets than this, the legend summarises instead of naming every curve.
_MAX_LEGEND_TARGETS = 12


def _binary_inputs(
    y_true, y_score, target_names: Sequence[str] | None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    yt, ys = as_2d(y_true, "y_true"), as_2d(y_score, "y_score")
    if yt.shape != ys.shape:
        raise InputError(
            f"y_true and y_score must have the same shape, got {yt.shape} and {ys.shape}"
        )
    labels = yt[~np.isnan(yt)]
    if not np.isin(labels, (0.0, 1.0)).all():
        bad = np.unique(labels[~np.isin(labels, (0.0, 1.0))])[:5]
        raise InputError(f"y_true: expected binary labels 0 or 1 (or NaN), got {bad.tolist()}")
    n_targets = yt.shape[1]
    if target_names is None:
        names = ["target"] if n_targets == 1 else [f"target {i}" for i in range(n_targets)]
    else:
        names = [str(t) for t in target_names]
        if len(names) != n_targets:
            raise InputError(
                f"target_names: expected {n_targets} names (one per column of y_true), "
                f"got {len(names)}"
            )
    return yt, ys, names


def _curves(y_true, y_score, path, target_names, title, kind: str) -> Path:
    """Shared body of :func:`plot_roc` and :func:`plot_pr`."""
    from sklearn.metrics import (
        average_precision_score,
        precision_recall_curve,
        roc_auc_score,
        roc_curve,
    )

    yt, ys, names = _binary_inputs(y_true, y_score, target_names)
    n_targets = len(names)
    few = n_targets <= _MAX_LEGEND_TARGETS
    fig, (ax,) = new_figure(5.5, 5.0)
    colors = palette(n_targets)
    aucs, skipped = [], []
    for i, name in enumerate(names):
        keep = ~(np.isnan(yt[:, i]) | np.isnan(ys[:, i]))
        t, s = yt[keep, i], ys[keep, i]
        n_pos = int(t.sum())
        if n_pos == 0 or n_pos == len(t):
            skipped.append(name)
            if few:
                only = (
                    "no labels" if len(t) == 0 else f"only {'positives' if n_pos else 'negatives'}"
                )
                ax.plot([], [], " ", label=f"{name}: {only}, skipped")
            continue
        if kind == "roc":
            x, y, _ = roc_curve(t, s)
            auc = roc_auc_score(t, s)
            label = f"{name} (AUROC {auc:.3f})"
        else:
            y, x, _ = precision_recall_curve(t, s)
            auc = average_precision_score(t, s)
            label = f"{name} (AUPRC {auc:.3f})"
            rate = n_pos / len(t)
            ax.axhline(rate, color=colors[i], ls=":", lw=1, alpha=0.8 if few else 0.2)
        aucs.append(auc)
        ax.plot(
            x,
            y,
            drawstyle="default" if kind == "roc" else "steps-post",
            color=colors[i],
            lw=1.5 if few else 0.7,
            alpha=1.0 if few else 0.4,
            label=label if few else None,
        )
    metric = "AUROC" if kind == "roc" else "AUPRC"
    if kind == "roc":
        ax.plot([0, 1], [0, 1], color="0.6", ls="--", lw=1, label="chance")
        ax.set(xlabel="False positive rate", ylabel="True positive rate")
    else:
        ax.plot([], [], color="0.6", ls=":", lw=1, label="positive rate (chance)")
        ax.set(xlabel="Recall", ylabel="Precision")
    if not few:
        summary = f"{n_targets} targets"
        if aucs:
            summary += f": mean {metric} {np.mean(aucs):.3f}, median {np.median(aucs):.3f}"
        ax.plot([], [], " ", label=summary)
        if skipped:
            ax.plot([], [], " ", label=f"{len(skipped)} skipped (a single class)")
    ax.set(xlim=(-0.01, 1.01), ylim=(-0.01, 1.01), aspect="equal")
    ax.set_title(title or ("ROC curve" if kind == "roc" else "Precision-recall curve"))
    ax.legend(loc="lower right" if kind == "roc" else "lower left", fontsize="small")
    return save_figure(fig, path)


# ------------------------------------------------------------------------------- public API
def plot_roc(
    y_true,
    y_score,
    path: str | os.PathLike,
    target_names: Sequence[str] | None = None,
    title: str | None = None,
) -> Path:
    """Draw ROC curves, one per target, with each AUROC in the legend.

    Parameters
    ----------
    y_true : array-like, shape (N,) or (N, T)
        Binary labels, 0 or 1; NaN marks a missing label, which is left out of that target.
    y_score : array-like, shape (N,) or (N, T)
        Scores (probabilities or logits: only the order matters).
    path : str or os.PathLike
        Output file; its suffix picks the format (one of :data:`FIGURE_FORMATS`).
    target_names : sequence of str, optional
        One name per target; ``"target"`` / ``"target i"`` by default.
    title : str, optional
        Figure title; ``"ROC curve"`` by default.

    Returns
    -------
    pathlib.Path
        ``path``.

    Notes
    -----
    A target whose labels are all one class has no ROC curve; it is skipped and the legend says
    so. With more than 12 targets the legend gives the mean and median AUROC instead of naming
    every curve.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "roc.png"
    >>> plot_roc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], out).name
    'roc.png'
    """
    return _curves(y_true, y_score, path, target_names, title, "roc")


def plot_pr(
    y_true,
    y_score,
    path: str | os.PathLike,
    target_names: Sequence[str] | None = None,
    title: str | None = None,
) -> Path:
    """Draw precision-recall curves, one per target, with each AUPRC in the legend.

    AUPRC is the average precision (:func:`sklearn.metrics.average_precision_score`); a dotted
    horizontal line in each target's colour marks its positive rate, the precision of a random
    ranking.

    Parameters
    ----------
    y_true : array-like, shape (N,) or (N, T)
        Binary labels, 0 or 1; NaN marks a missing label, which is left out of that target.
    y_score : array-like, shape (N,) or (N, T)
        Scores (probabilities or logits: only the order matters).
    path : str or os.PathLike
        Output file; its suffix picks the format (one of :data:`FIGURE_FORMATS`).
    target_names : sequence of str, optional
        One name per target.
    title : str, optional
        Figure title; ``"Precision-recall curve"`` by default.

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "pr.svg"
    >>> y = [[0, 1], [1, 1], [1, 0], [0, 0]]
    >>> s = [[0.2, 0.9], [0.7, 0.6], [0.8, 0.1], [0.1, 0.3]]
    >>> plot_pr(y, s, out, target_names=["CTCF", "REST"]).suffix
    '.svg'
    """
    return _curves(y_true, y_score, path, target_names, title, "pr")


def plot_history(history: pd.DataFrame, path: str | os.PathLike, title: str | None = None) -> Path:
    """Draw a training curve: losses on the left, validation metrics on the right.

    The columns present decide what is drawn: every numeric column whose name ends in ``loss``
    (``train_loss``, ``valid_loss``, ...) goes on the loss panel; every other numeric
    ``valid_*`` column (``valid_auroc``, ``valid_pearson``, ...) on the metric panel, with its
    ``train_*`` counterpart dashed when there is one. The x axis is the ``epoch`` column, or
    1, 2, ... without one. The best epoch is marked with a vertical line: the last row whose
    ``best`` column is true (``best`` flags each improvement), else the row of lowest
    ``valid_loss``.

    Parameters
    ----------
    history : pandas.DataFrame
        One row per epoch, as in a run's ``history.csv``.
    path : str or os.PathLike
        Output file; its suffix picks the format (one of :data:`FIGURE_FORMATS`).
    title : str, optional
        Figure title.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    InputError
        When ``history`` has no rows, or no loss and no validation metric column.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> h = pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [0.7, 0.5, 0.4],
    ...                   "valid_loss": [0.6, 0.45, 0.5], "valid_auroc": [0.7, 0.85, 0.84]})
    >>> plot_history(h, pathlib.Path(tempfile.mkdtemp()) / "history.pdf").suffix
    '.pdf'
    """
    import pandas as pd
    from matplotlib.ticker import MaxNLocator

    if not isinstance(history, pd.DataFrame):
        raise InputError(f"history: expected a pandas DataFrame, got {type(history).__name__}")
    if len(history) == 0:
        raise InputError("history: no rows (no epoch has finished)")
    numeric = [c for c in history.columns if pd.api.types.is_numeric_dtype(history[c])]
    numeric = [c for c in numeric if not pd.api.types.is_bool_dtype(history[c])]
    losses = [c for c in numeric if str(c).endswith("loss")]
    metrics = [c for c in numeric if str(c).startswith("valid_") and c not in losses]
    if not losses and not metrics:
        raise InputError(
            "history: nothing to draw; expected columns ending in 'loss' (train_loss, "
            f"valid_loss) or validation metrics (valid_auroc, ...), got: {list(history.columns)}"
        )
    if "epoch" in history.columns:
        x = history["epoch"].to_numpy()
    else:
        x = np.arange(1, len(history) + 1)

    best = None
    if "best" in history.columns:
        flags = history["best"].astype(str).str.lower().isin(["true", "1", "1.0", "yes"])
        if flags.any():
            best = int(np.flatnonzero(flags.to_numpy())[-1])
    if best is None and "valid_loss" in numeric and history["valid_loss"].notna().any():
        best = int(np.nanargmin(history["valid_loss"].to_numpy(dtype=float)))

    panels = [p for p in (losses, metrics) if p]
    fig, axes = new_figure(5.0 * len(panels), 4.0, ncols=len(panels))
    colors = palette(10)
    for ax, columns in zip(axes, panels, strict=True):
        is_metric = columns is metrics
        for j, col in enumerate(columns):
            color = colors[j % 10]
            y = history[col].to_numpy(dtype=float)
            marker = "o" if len(x) <= 30 else None
            ax.plot(x, y, color=color, marker=marker, ms=3, label=col)
            twin = "train_" + col[len("valid_") :]
            if is_metric and twin in numeric:
                ax.plot(x, history[twin].to_numpy(dtype=float), color=color, ls="--", label=twin)
        if best is not None:
            ax.axvline(x[best], color="0.4", ls=":", lw=1, label=f"best epoch ({x[best]})")
        ax.set(xlabel="epoch", ylabel="metric" if is_metric else "loss")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize="small")
        ax.grid(alpha=0.3)
    axes[0].set_title("Loss" if losses else "Validation metrics")
    if len(axes) > 1:
        axes[1].set_title("Validation metrics")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def plot_confusion(
    y_true,
    y_pred,
    path: str | os.PathLike,
    class_names: Sequence[str] | None = None,
    title: str | None = None,
) -> Path:
    """Draw a confusion matrix: rows are true classes, columns predicted ones.

    Cells are coloured by the fraction of the true class (row-normalised, so a class's recall
    is its diagonal cell) and, up to 20 classes, labelled with their counts. The title gives
    the accuracy.

    Parameters
    ----------
    y_true : array-like, shape (N,) or (N, C)
        True class indices, or one-hot rows (argmax is taken).
    y_pred : array-like, shape (N,) or (N, C)
        Predicted class indices, or per-class scores (argmax is taken).
    path : str or os.PathLike
        Output file; its suffix picks the format (one of :data:`FIGURE_FORMATS`).
    class_names : sequence of str, optional
        Names of classes 0, 1, ...; the indices by default.
    title : str, optional
        Title; the accuracy is appended.

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "confusion.png"
    >>> plot_confusion([0, 1, 2, 2], [0, 2, 2, 2], out, class_names=["a", "b", "c"]).name
    'confusion.png'
    """
    from sklearn.metrics import confusion_matrix

    def indices(values, name: str) -> tuple[np.ndarray, int]:
        arr = np.asarray(values)
        if arr.ndim == 2:
            return arr.argmax(axis=1), arr.shape[1]
        if arr.ndim != 1 or arr.size == 0:
            raise InputError(
                f"{name}: expected class indices (N,) or scores (N, C), got shape {arr.shape}"
            )
        if not np.issubdtype(arr.dtype, np.number) or np.any(arr != np.round(arr)) or arr.min() < 0:
            raise InputError(f"{name}: expected non-negative integer class indices")
        return arr.astype(np.int64), int(arr.max()) + 1

    t, n_t = indices(y_true, "y_true")
    p, n_p = indices(y_pred, "y_pred")
    if len(t) != len(p):
        raise InputError(f"y_true and y_pred differ in length: {len(t)} and {len(p)}")
    n_classes = max(n_t, n_p)
    if class_names is not None:
        names = [str(c) for c in class_names]
        if len(names) < n_classes:
            raise InputError(
                f"class_names: {len(names)} names given, but the labels reach class {n_classes - 1}"
            )
        n_classes = len(names)
    else:
        names = [str(i) for i in range(n_classes)]
    cm = confusion_matrix(t, p, labels=np.arange(n_classes))
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = cm / cm.sum(axis=1, keepdims=True)
    frac = np.nan_to_num(frac)

    size = min(max(4.0, 0.45 * n_classes + 2.0), 16.0)
    fig, (ax,) = new_figure(size + 1.0, size)
    im = ax.imshow(frac, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(im, ax=ax, shrink=0.8, label="fraction of true class")
    if n_classes <= 20:
        for i in range(n_classes):
            for j in range(n_classes):
                if cm[i, j]:
                    color = "white" if frac[i, j] > 0.5 else "black"
                    ax.text(j, i, str(cm[i, j]), ha="center", va="center", color=color, fontsize=8)
    ticks = np.arange(n_classes)
    if max(map(len, names)) > 2:
        ax.set_xticks(ticks, names, rotation=45, ha="right", rotation_mode="anchor")
    else:
        ax.set_xticks(ticks, names)
    ax.set_yticks(ticks, names)
    ax.set(xlabel="predicted class", ylabel="true class")
    accuracy = float(np.trace(cm) / cm.sum())
    ax.set_title(f"{title + ': ' if title else ''}accuracy {accuracy:.3f} (n={int(cm.sum())})")
    return save_figure(fig, path)
