"""Metrics agree with their definitions and handle single-class targets."""

from __future__ import annotations

import numpy as np
import pytest

from seqcnn.metrics import compute_metrics, sigmoid


def test_auroc_is_the_probability_a_positive_outranks_a_negative():
    rng = np.random.default_rng(0)
    y = rng.random(200) < 0.3
    score = rng.normal(size=200) + y
    pairs = (score[y][:, None] > score[~y][None, :]).mean()
    assert compute_metrics(y, score, "binary")["auroc"] == pytest.approx(pairs)


def test_logits_and_probabilities_rank_the_same():
    rng = np.random.default_rng(1)
    y, logits = rng.random(100) < 0.5, rng.normal(size=100)
    a = compute_metrics(y, logits, "binary")
    b = compute_metrics(y, sigmoid(logits), "binary")
    assert a["auroc"] == pytest.approx(b["auroc"]) and a["auprc"] == pytest.approx(b["auprc"])


def test_multilabel_reports_each_target_and_skips_single_class_ones():
    y = np.array([[0, 1], [1, 1], [0, 1], [1, 1]], float)
    s = np.array([[0.1, 0.3], [0.9, 0.2], [0.2, 0.5], [0.8, 0.1]])
    with pytest.warns(UserWarning, match="single class"):
        m = compute_metrics(y, s, "multilabel", ["a", "b"])
    assert m["auroc/a"] == 1.0 and np.isnan(m["auroc/b"]) and m["auroc"] == 1.0


def test_missing_labels_are_ignored():
    y = np.array([[0.0], [np.nan], [1.0]])
    assert compute_metrics(y, np.array([[0.1], [5.0], [0.9]]), "binary")["auroc"] == 1.0


def test_regression_and_multiclass():
    x = np.linspace(0, 1, 50)
    m = compute_metrics(x, 2 * x + 1, "regression")
    assert m["pearson"] == pytest.approx(1.0) and m["spearman"] == pytest.approx(1.0)
    logits = np.eye(3)[[0, 1, 2, 2]]
    m = compute_metrics(np.array([0, 1, 2, 1]), logits, "multiclass", ["x", "y", "z"])
    assert m["accuracy"] == 0.75 and m["recall/y"] == 0.5


@pytest.mark.parametrize("ties", [False, True])
def test_auroc_and_average_precision_equal_scikit_learn(ties):
    from sklearn.metrics import average_precision_score, roc_auc_score

    from seqcnn.metrics import average_precision, roc_auc

    rng = np.random.default_rng(3)
    for _ in range(100):
        n = int(rng.integers(2, 300))
        y = rng.integers(0, 2, n)
        y[:2] = [0, 1]  # both classes
        s = rng.integers(0, 5, n).astype(float) if ties else rng.normal(size=n)
        assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
        assert average_precision(y, s) == pytest.approx(average_precision_score(y, s), abs=1e-12)


def test_training_metrics_do_not_import_scikit_learn():
    import subprocess
    import sys

    code = (
        "import sys, numpy as np; from seqcnn.metrics import compute_metrics; "
        "compute_metrics(np.array([0, 1, 1]), np.array([0.2, 0.1, 0.9]), 'binary'); "
        "print('sklearn' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
