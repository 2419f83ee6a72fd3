"""Evaluation metrics (scikit-learn / scipy), per target and averaged.

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
    from scipy.stats import pearsonr, spearmanr
    from sklearn import metrics as skm

    if task == "multiclass":
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
                vals = {
                    "auroc": float(skm.roc_auc_score(yt, ys)),
                    "auprc": float(skm.average_precision_score(yt, ys)),
                }
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
