"""Tests of seqcnn.plot. Text in an SVG made by matplotlib is kept in ``<!-- ... -->`` comments,
which lets the tests read legends and titles from the file itself."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from seqcnn.exceptions import InputError
from seqcnn.plot import plot_confusion, plot_history, plot_pr, plot_roc


def svg_text(path) -> list[str]:
    return re.findall(r"<!-- (.*?) -->", path.read_text())


@pytest.fixture
def binary():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=(200, 2)).astype(float)
    s = y + rng.normal(0, 1.0, size=y.shape)
    return y, s


@pytest.fixture
def history():
    return pd.DataFrame(
        {
            "epoch": [1, 2, 3, 4, 5],
            "train_loss": [0.7, 0.5, 0.4, 0.35, 0.3],
            "valid_loss": [0.6, 0.5, 0.42, 0.45, 0.5],
            "valid_auroc": [0.7, 0.8, 0.86, 0.85, 0.84],
            "lr": [1e-3] * 5,
            "best": [True, True, True, False, False],
            "seconds": [1.0] * 5,
        }
    )


@pytest.mark.parametrize(
    "suffix, magic", [(".png", b"\x89PNG"), (".pdf", b"%PDF"), (".svg", b"<?xml")]
)
def test_format_follows_suffix(tmp_path, binary, suffix, magic):
    out = plot_roc(*binary, tmp_path / f"roc{suffix}")
    assert out == tmp_path / f"roc{suffix}"
    assert out.read_bytes().startswith(magic)
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary file left


@pytest.mark.parametrize("fn", [plot_roc, plot_pr])
def test_legend_gives_each_targets_area(tmp_path, binary, fn):
    y, s = binary
    out = fn(y, s, tmp_path / "c.svg", target_names=["CTCF", "REST"])
    text = svg_text(out)
    score = roc_auc_score if fn is plot_roc else average_precision_score
    name = "AUROC" if fn is plot_roc else "AUPRC"
    for i, target in enumerate(["CTCF", "REST"]):
        assert f"{target} ({name} {score(y[:, i], s[:, i]):.3f})" in text


def test_one_dimensional_input_and_default_title(tmp_path, binary):
    y, s = binary
    text = svg_text(plot_roc(y[:, 0], s[:, 0], tmp_path / "roc.svg"))
    assert f"target (AUROC {roc_auc_score(y[:, 0], s[:, 0]):.3f})" in text
    assert "ROC curve" in text and "chance" in text
    text = svg_text(plot_pr(y[:, 0], s[:, 0], tmp_path / "pr.svg", title="Demo"))
    assert "Demo" in text and "positive rate (chance)" in text


@pytest.mark.parametrize("fn", [plot_roc, plot_pr])
def test_single_class_target_is_skipped_not_fatal(tmp_path, binary, fn):
    y, s = binary
    y = y.copy()
    y[:, 1] = 0
    text = svg_text(fn(y, s, tmp_path / "c.svg", target_names=["a", "b"]))
    assert "b: only negatives, skipped" in text
    assert any(t.startswith("a (AU") for t in text)


def test_missing_labels_are_left_out(tmp_path, binary):
    y, s = binary
    y = y.copy()
    y[:50, 0] = np.nan
    text = svg_text(plot_roc(y, s, tmp_path / "roc.svg"))
    assert f"target 0 (AUROC {roc_auc_score(y[50:, 0], s[50:, 0]):.3f})" in text


def test_many_targets_are_summarised(tmp_path):
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, size=(100, 30)).astype(float)
    s = y + rng.normal(0, 1, size=y.shape)
    y[:, 5] = 1
    aucs = [roc_auc_score(y[:, i], s[:, i]) for i in range(30) if i != 5]
    text = svg_text(plot_roc(y, s, tmp_path / "roc.svg"))
    assert f"30 targets: mean AUROC {np.mean(aucs):.3f}, median {np.median(aucs):.3f}" in text
    assert "1 skipped (a single class)" in text
    assert not any(t.startswith("target 0 (") for t in text)


def test_bad_inputs_name_the_argument(tmp_path, binary):
    y, s = binary
    with pytest.raises(InputError, match="same shape"):
        plot_roc(y, s[:, 0], tmp_path / "a.png")
    with pytest.raises(InputError, match=r"y_true: expected binary labels 0 or 1.*\[2\.0\]"):
        plot_pr(np.where(y == 1, 2, 0), s, tmp_path / "a.png")
    with pytest.raises(InputError, match="target_names: expected 2 names"):
        plot_roc(y, s, tmp_path / "a.png", target_names=["x"])
    with pytest.raises(InputError, match=r"y_true: expected a non-empty array"):
        plot_roc([], [], tmp_path / "a.png")
    with pytest.raises(InputError, match=r"y_score: .*got shape \(2, 1, 1\)"):
        plot_roc([0, 1], [[[0.1]], [[0.2]]], tmp_path / "a.png")
    with pytest.raises(InputError, match=r"\.png, \.svg, \.pdf"):
        plot_roc(y, s, tmp_path / "a.txt")
    assert list(tmp_path.iterdir()) == []


def test_svg_and_pdf_are_reproducible(tmp_path, binary, history):
    for suffix in (".svg", ".pdf"):
        a = plot_roc(*binary, tmp_path / f"a{suffix}").read_bytes()
        b = plot_roc(*binary, tmp_path / f"b{suffix}").read_bytes()
        assert a == b
        a = plot_history(history, tmp_path / f"ha{suffix}").read_bytes()
        b = plot_history(history, tmp_path / f"hb{suffix}").read_bytes()
        assert a == b


def test_failed_write_keeps_the_old_file(tmp_path, binary, monkeypatch):
    from matplotlib.figure import Figure

    out = tmp_path / "roc.png"
    out.write_bytes(b"old")

    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken)
    with pytest.raises(OSError, match="disk full"):
        plot_roc(*binary, out)
    assert out.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["roc.png"]


def test_no_global_matplotlib_state_changes(tmp_path, binary, history):
    import matplotlib

    before = dict(matplotlib.rcParams)
    backend = matplotlib.get_backend()
    plot_roc(*binary, tmp_path / "a.svg")
    plot_history(history, tmp_path / "b.svg")
    plot_confusion([0, 1], [1, 1], tmp_path / "c.svg")
    assert dict(matplotlib.rcParams) == before
    assert matplotlib.get_backend() == backend


def test_import_is_light_and_pyplot_never_loaded(tmp_path):
    code = (
        "import sys, seqcnn, seqcnn.plot\n"
        "assert 'matplotlib' not in sys.modules\n"
        f"seqcnn.plot.plot_roc([0, 1, 1], [0.2, 0.5, 0.9], {str(tmp_path / 'r.png')!r})\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert (tmp_path / "r.png").stat().st_size > 0


def test_history_marks_best_epoch_from_best_column(tmp_path, history):
    history = history.copy()
    history.loc[3, "best"] = True  # epoch 4 is the last improvement (monitoring auroc, say)
    text = svg_text(plot_history(history, tmp_path / "h.svg", title="run 1"))
    for expected in ("train_loss", "valid_loss", "valid_auroc", "best epoch (4)", "run 1"):
        assert expected in text
    assert "lr" not in text and "seconds" not in text and "Validation metrics" in text


def test_history_best_epoch_from_valid_loss_and_csv_round_trip(tmp_path, history):
    history.drop(columns="best").to_csv(tmp_path / "history.csv", index=False)
    text = svg_text(plot_history(pd.read_csv(tmp_path / "history.csv"), tmp_path / "h.svg"))
    assert "best epoch (3)" in text


def test_history_train_metric_beside_valid_metric(tmp_path, history):
    history["train_auroc"] = [0.7, 0.85, 0.9, 0.93, 0.95]
    text = svg_text(plot_history(history, tmp_path / "h.svg"))
    assert "train_auroc" in text and "valid_auroc" in text


def test_history_columns_decide_panels(tmp_path):
    loss_only = pd.DataFrame({"train_loss": [0.7, 0.6, 0.5]})
    text = svg_text(plot_history(loss_only, tmp_path / "a.svg"))
    assert "Loss" in text and "Validation metrics" not in text and "epoch" in text
    assert not any(t.startswith("best epoch") for t in text)
    metric_only = pd.DataFrame({"epoch": [1, 2], "valid_pearson": [0.3, 0.5]})
    text = svg_text(plot_history(metric_only, tmp_path / "b.svg"))
    assert "valid_pearson" in text and "Loss" not in text


def test_history_errors(tmp_path, history):
    with pytest.raises(InputError, match="no rows"):
        plot_history(history.iloc[:0], tmp_path / "h.png")
    with pytest.raises(InputError, match=r"nothing to draw.*'lr'"):
        plot_history(history[["epoch", "lr"]], tmp_path / "h.png")
    with pytest.raises(InputError, match="DataFrame"):
        plot_history(history.to_dict(), tmp_path / "h.png")


def test_confusion_counts_and_accuracy(tmp_path):
    y_true = [0, 0, 1, 1, 2, 2, 2, 2]
    y_pred = [0, 1, 1, 1, 2, 2, 0, 2]
    text = svg_text(plot_confusion(y_true, y_pred, tmp_path / "c.svg", class_names="abc"))
    assert "accuracy 0.750 (n=8)" in text
    assert text.count("3") >= 1 and "2" in text and "a" in text and "c" in text


def test_confusion_one_hot_and_scores_equal_indices(tmp_path):
    rng = np.random.default_rng(2)
    t = rng.integers(0, 4, 50)
    scores = rng.random((50, 4))
    a = plot_confusion(np.eye(4)[t], scores, tmp_path / "a.svg").read_bytes()
    b = plot_confusion(t, scores.argmax(1), tmp_path / "b.svg", class_names=list("0123"))
    assert a == b.read_bytes()


def test_confusion_errors(tmp_path):
    with pytest.raises(InputError, match="differ in length"):
        plot_confusion([0, 1], [0], tmp_path / "c.png")
    with pytest.raises(InputError, match="y_pred: expected non-negative integer"):
        plot_confusion([0, 1], [0, 0.5], tmp_path / "c.png")
    with pytest.raises(InputError, match="reach class 2"):
        plot_confusion([0, 2], [0, 1], tmp_path / "c.png", class_names=["a", "b"])
