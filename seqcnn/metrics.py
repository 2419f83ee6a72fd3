"""Evaluation metrics, per target and averaged (AUROC and AUPRC here, the others from
scikit-learn and scipy).

Tasks: ``binary`` and ``multilabel`` (AUROC, AUPRC on sigmoid scores), ``regression``
(Pearson, Spearman, MSE), ``multiclass`` (accuracy, balanced accuracy, per-class recall).
"""

from __future__ import annotations

import warnings

import numpy as np

#: The task names, once for the whole package.
TASKS = ("binary", "multilabel", "regression", "multiclass")
#: Tasks scored with one sigmoid per target (AUROC/AUPRC, probabilities in outputs).
SIGMOID_TASKS = ("binary", "multilabel")
#: Tasks that labels in a sequence table can define (multiclass comes from images).
TABLE_TASKS = ("binary", "multilabel", "regression")

# The metric that early stopping watches, and whether larger is better.
DEFAULT_MONITOR = {
    "binary": ("auroc", True),
    "multilabel": ("auroc", True),
    "regression": ("pearson", True),
    "multiclass": ("accuracy", True),
}


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function."""
    return np.exp(-np.logaddexp(0.0, -x))


def roc_auc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Area under the ROC curve of binary labels ``(N,)`` and scores ``(N,)``.

    The Mann-Whitney statistic with tied scores counted half, which is the trapezoidal area
    under the ROC curve: equal to ``sklearn.metrics.roc_auc_score`` (tested). Kept here
    because importing scikit-learn's metrics costs ~70 MB of memory in every training run.

    Examples
    --------
    >>> roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.75
    """
    y = np.asarray(y_true) == 1
    s = np.asarray(y_score, dtype=np.float64)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    order = np.argsort(s, kind="mergesort")
    s_sorted = s[order]
    # 1-based ranks, the mean rank over each run of tied scores
    starts = np.flatnonzero(np.r_[True, s_sorted[1:] != s_sorted[:-1]])
    ends = np.r_[starts[1:], s.size]
    ranks = np.empty(s.size, dtype=np.float64)
    ranks[order] = np.repeat((starts + ends + 1) / 2, ends - starts)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def average_precision(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Average precision (area under the precision-recall curve, step-wise) of binary labels
    ``(N,)`` and scores ``(N,)``: ``sum_k (R_k - R_{k-1}) P_k`` over the distinct scores from
    the highest, as ``sklearn.metrics.average_precision_score`` (tested).

    Examples
    --------
    >>> average_precision(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.8333333333333333
    """
    y = np.asarray(y_true) == 1
    s = np.asarray(y_score, dtype=np.float64)
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    last = np.r_[np.flatnonzero(s_sorted[1:] != s_sorted[:-1]), s.size - 1]  # each threshold
    tps = np.cumsum(y_sorted)[last]
    precision = tps / (last + 1)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def compute_metrics(
    y_true: np.ndarray, y_score: np.ndarray, task: str, target_names: list[str] | None = None
) -> dict[str, float]:
    """Metrics of predictions against labels.

    Parameters
    ----------
    y_true : numpy.ndarray, shape (N, T) or (N,)
        Labels (0/1 for binary/multilabel, real values for regression, class index for
        multiclass).
    y_score : numpy.ndarray, shape (N, T) or (N, K)
        Model outputs: logits for binary/multilabel (AUROC and AUPRC are rank-based, so
        logits and probabilities give the same values), predictions for regression, class
        logits for multiclass.
    task : {"binary", "multilabel", "regression", "multiclass"}
    target_names : list of str, optional
        Names for per-target entries (``auroc/<name>``) when there are several targets.

    Returns
    -------
    dict
        ``auroc``, ``auprc`` (means over targets) or ``pearson``, ``spearman``, ``mse`` or
        ``accuracy``, ``balanced_accuracy``; per-target values as ``<metric>/<target>``. A
        target with a single class gets NaN and a warning.

    Examples
    --------
    >>> compute_metrics(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]), "binary")["auroc"]
    0.75
    """
    if task == "multiclass":
        from sklearn import metrics as skm

        y = np.asarray(y_true).reshape(-1).astype(int)
        pred = np.asarray(y_score).argmax(axis=1)
        out = {
            "accuracy": float(skm.accuracy_score(y, pred)),
            "balanced_accuracy": float(skm.balanced_accuracy_score(y, pred)),
        }
        names = target_names or [str(k) for k in range(y_score.shape[1])]
        recall = skm.recall_score(y, pred, labels=range(len(names)), average=None, zero_division=0)
        out.update({f"recall/{n}": float(r) for n, r in zip(names, recall, strict=False)})
        return out

    y_true = np.asarray(y_true, dtype=np.float64)
    y_score = np.asarray(y_score, dtype=np.float64)
    if y_true.ndim == 1:
        y_true, y_score = y_true[:, None], y_score.reshape(len(y_score), -1)
    n_targets = y_true.shape[1]
    names = target_names or [str(t) for t in range(n_targets)]
    per: dict[str, list[float]] = {}
    for t in range(n_targets):
        yt, ys = y_true[:, t], y_score[:, t]
        keep = ~np.isnan(yt)
        yt, ys = yt[keep], ys[keep]
        if task == "regression":
            from scipy.stats import pearsonr, spearmanr

            ok = len(yt) > 1 and np.ptp(yt) > 0 and np.ptp(ys) > 0
            vals = {
                "pearson": float(pearsonr(yt, ys)[0]) if ok else np.nan,
                "spearman": float(spearmanr(yt, ys)[0]) if ok else np.nan,
                "mse": float(np.mean((yt - ys) ** 2)),
            }
        elif task in SIGMOID_TASKS:
            if len(np.unique(yt)) < 2:
                warnings.warn(
                    f"target {names[t]!r} has a single class: AUROC undefined", stacklevel=2
                )
                vals = {"auroc": np.nan, "auprc": np.nan}
            else:
                vals = {"auroc": roc_auc(yt, ys), "auprc": average_precision(yt, ys)}
        else:
            raise ValueError(f"unknown task {task!r}; choose one of: {', '.join(TASKS)}")
        for k, v in vals.items():
            per.setdefault(k, []).append(v)
    out: dict[str, float] = {}
    for k, vals in per.items():
        finite = [v for v in vals if np.isfinite(v)]
        out[k] = float(np.mean(finite)) if finite else float("nan")
        if n_targets > 1:
            out.update({f"{k}/{n}": v for n, v in zip(names, vals, strict=True)})
    return out
