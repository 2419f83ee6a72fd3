"""Trainer: reproducibility, early stopping, class weights, run directory, resume."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from seqcnn import checkpoint
from seqcnn.datasets import Tensors
from seqcnn.exceptions import ConfigError, InputError
from seqcnn.models import create_model
from seqcnn.predict import predict
from seqcnn.train import TrainConfig, Trainer, resolve_device

MOTIF = "TGACGTCA"  # a palindromic CRE site


def planted(n: int, length: int = 40, seed: int = 0) -> Tensors:
    """Random sequences; half carry MOTIF at a random position (label 1)."""
    rng = np.random.default_rng(seed)
    x = torch.zeros(n, 4, length)
    idx = torch.from_numpy(rng.integers(0, 4, (n, length)))
    x.scatter_(1, idx[:, None, :], 1.0)
    y = torch.from_numpy((rng.random(n) < 0.5).astype(np.float32))[:, None]
    motif = torch.nn.functional.one_hot(torch.tensor(["ACGT".index(b) for b in MOTIF]), 4).T
    for i in np.flatnonzero(y[:, 0].numpy()):
        p = rng.integers(0, length - len(MOTIF))
        x[i, :, p : p + len(MOTIF)] = motif
    return Tensors(x, y)


def fit(data, valid, run_dir=None, **overrides) -> Trainer:
    torch.manual_seed(0)
    model = create_model("deepbind", n_filters=8, filter_width=8, hidden=8)
    options = dict(epochs=4, verbose=False, lr=3e-3, seed=3)
    options.update(overrides)
    return Trainer(model, TrainConfig(**options)).fit(data, valid, run_dir=run_dir)


def test_same_seed_gives_identical_weights():
    data, valid = planted(256), planted(64, seed=1)
    a = fit(data, valid).model.state_dict()
    b = fit(data, valid).model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    c = fit(data, valid, seed=4).model.state_dict()
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_learns_a_planted_motif():
    trainer = fit(planted(800), planted(200, seed=1), epochs=15)
    assert trainer.evaluate(planted(200, seed=2))["auroc"] > 0.9
    assert trainer.history_["best"].any()


def test_early_stopping_stops_after_patience_epochs_without_improvement():
    # labels unrelated to the inputs: validation AUROC cannot keep improving
    rng = np.random.default_rng(5)
    train, valid = planted(128), planted(128, seed=1)
    train.y, valid.y = (torch.from_numpy(rng.random((2, 128, 1)) < 0.5).float()).unbind(0)
    trainer = fit(train, valid, epochs=50, patience=2)
    assert len(trainer.history_) < 50
    last_best = trainer.history_.index[trainer.history_["best"]].max()
    assert len(trainer.history_) - 1 - last_best == 2


def test_run_directory_reloads_and_predicts_the_same(tmp_path):
    data, valid = planted(256), planted(64, seed=1)
    trainer = fit(data, valid, run_dir=tmp_path)
    config = {"model": {"name": "deepbind", "args": dict(n_filters=8, filter_width=8, hidden=8)}}
    checkpoint.write_json(config, tmp_path / checkpoint.CONFIG)
    model, loaded = checkpoint.load_run(tmp_path)
    assert loaded == config
    assert torch.equal(predict(model, valid.x), predict(trainer.model, valid.x))
    history = pd.read_csv(tmp_path / checkpoint.HISTORY)
    assert list(history["epoch"]) == [1, 2, 3, 4]


def test_resume_continues_to_the_same_weights(tmp_path):
    data, valid = planted(256), planted(64, seed=1)
    full = fit(data, valid, run_dir=tmp_path / "full", epochs=4, lr_schedule="none")
    fit(data, valid, run_dir=tmp_path / "part", epochs=2, lr_schedule="none")
    torch.manual_seed(0)
    model = create_model("deepbind", n_filters=8, filter_width=8, hidden=8)
    config = TrainConfig(epochs=4, verbose=False, lr=3e-3, seed=3, lr_schedule="none")
    resumed = Trainer(model, config).fit(data, valid, run_dir=tmp_path / "part", resume=True)
    assert list(resumed.history_["epoch"]) == [1, 2, 3, 4]
    a, b = full.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_balanced_class_weight_changes_training_on_imbalanced_data():
    data = planted(256)
    data.y[:200] = 0  # few positives
    plain = fit(data, data, epochs=2).model.state_dict()
    weighted = fit(data, data, epochs=2, class_weight="balanced").model.state_dict()
    assert not all(torch.equal(plain[k], weighted[k]) for k in plain)


def test_config_errors_list_valid_choices():
    with pytest.raises(ConfigError, match="adam, adamw, sgd"):
        TrainConfig(optimizer="rmsprop")
    with pytest.raises(ConfigError, match="batch_size must be at least 1"):
        TrainConfig(batch_size=0)
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA is not available"):
            resolve_device("cuda")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_mismatched_data_is_an_input_error():
    data = planted(16)
    with pytest.raises(InputError, match="16 inputs but 3 labels"):
        fit(Tensors(data.x, data.y[:3]), None)


def test_multiclass_and_regression_tasks_train():
    torch.manual_seed(0)
    x = torch.randn(120, 1, 8, 8)
    y = (x.mean((1, 2, 3)) > 0).long()
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 2))
    t = Trainer(model, TrainConfig(epochs=40, verbose=False, lr=3e-2), task="multiclass")
    assert t.fit(Tensors(x, y), Tensors(x, y)).evaluate(Tensors(x, y))["accuracy"] > 0.9
    target = x.sum((1, 2, 3))[:, None]
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 1))
    t = Trainer(model, TrainConfig(epochs=20, verbose=False, lr=3e-2), task="regression")
    data = Tensors(x, target)
    assert t.fit(data, data).evaluate(data)["pearson"] > 0.9


def test_evaluate_before_fit_uses_the_configured_device():
    x, y = torch.zeros(8, 4, 20), torch.tensor([[0.0], [1.0]] * 4)
    trainer = Trainer(create_model("deepbind"), TrainConfig(device="cpu", verbose=False))
    metrics = trainer.evaluate(Tensors(x, y))
    assert metrics["n"] == 8 and metrics["auroc"] == 0.5  # constant scores: chance


def test_compact_training_data_gives_the_same_weights_as_float_one_hot():
    """Bytes that become one-hot per batch train exactly like a float32 one-hot tensor."""
    from seqcnn.datasets import Tensors
    from seqcnn.models import create_model
    from seqcnn.sequence import CompactOneHot, one_hot_encode, sequence_bytes
    from seqcnn.train import TrainConfig, Trainer

    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGTN"), 40)) for _ in range(96)]
    y = torch.from_numpy((rng.random((96, 1)) > 0.5).astype(np.float32))
    weights = []
    for x in (one_hot_encode(seqs), CompactOneHot(sequence_bytes(seqs))):
        torch.manual_seed(0)
        model = create_model("deepbind", n_filters=4, hidden=4)
        config = TrainConfig(epochs=2, batch_size=16, verbose=False, device="cpu")
        Trainer(model, config).fit(Tensors(x, y), Tensors(x, y))
        weights.append(model.state_dict())
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_training_keeps_compact_data_on_the_device():
    from seqcnn.datasets import Tensors
    from seqcnn.models import create_model
    from seqcnn.sequence import CompactOneHot, sequence_bytes
    from seqcnn.train import TrainConfig, Trainer

    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGT"), 60)) for _ in range(256)]
    data = Tensors(CompactOneHot(sequence_bytes(seqs)), torch.ones(256, 1).bernoulli_(0.5))
    trainer = Trainer(create_model("deepbind"), TrainConfig(epochs=1, verbose=False, device="cuda"))
    trainer.device_ = torch.device("cuda")
    xs, ys = trainer._on_device(data)
    assert xs.device.type == "cuda" and ys.device.type == "cuda"
    trainer.fit(data, data)
    assert np.isfinite(trainer.history_["train_loss"]).all()


def test_compile_option_trains_the_compiled_module_and_saves_plain_weights(tmp_path, monkeypatch):
    """torch.compile's "eager" backend here (inductor takes minutes on a CPU): the compiled
    wrapper does the training, the run directory gets the plain model's parameter names."""
    from safetensors.torch import load_file

    from seqcnn.datasets import Tensors
    from seqcnn.models import create_model
    from seqcnn.train import TrainConfig, Trainer

    calls = []
    real = torch.compile

    def spy(model, **kwargs):
        calls.append(model)
        return real(model, backend="eager")

    monkeypatch.setattr(torch, "compile", spy)
    torch.manual_seed(0)
    x = torch.zeros(64, 4, 30)
    x[:, 0] = 1
    y = torch.ones(64, 1)
    y[:32] = 0
    x[:32, 0], x[:32, 1] = 0, 1
    model = create_model("deepbind", n_filters=4, hidden=4)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    config = TrainConfig(epochs=2, verbose=False, device="cpu", compile=True)
    Trainer(model, config).fit(Tensors(x, y), run_dir=tmp_path / "run")
    assert calls == [model]
    saved = load_file(tmp_path / "run" / "model.safetensors")
    assert set(saved) == set(before)  # no "_orig_mod." prefixes
    assert any(not torch.equal(before[k], model.state_dict()[k]) for k in before)


@pytest.mark.parametrize("compact", [False, True])
def test_prefetched_batches_train_the_same_weights(compact, monkeypatch):
    """The GPU's background batch path, run on the CPU: the same weights and losses."""
    from seqcnn.sequence import CompactOneHot, sequence_bytes

    data, valid = planted(256), planted(64, seed=1)
    if compact:
        seqs = ["".join("ACGT"[i] for i in row.argmax(0).tolist()) for row in data.x]
        data = Tensors(CompactOneHot(sequence_bytes(seqs)), data.y)
    plain = fit(data, valid)
    monkeypatch.setattr(Trainer, "_prefetching", lambda self: True)
    ahead = fit(data, valid)
    a, b = plain.model.state_dict(), ahead.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert plain.history_["train_loss"].tolist() == ahead.history_["train_loss"].tolist()
