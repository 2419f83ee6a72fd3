"""Batched prediction: batch size does not matter, model state is left as it was."""

from __future__ import annotations

import torch

from seqcnn.models import create_model
from seqcnn.predict import predict
from seqcnn.sequence import one_hot_encode


def test_batch_size_does_not_change_predictions():
    torch.manual_seed(0)
    model = create_model("deepbind", n_filters=8)
    x = one_hot_encode(["ACGTTGCA" * 12, "GGGCCCAA" * 12, "ATATATAT" * 12] * 5)
    a = predict(model, x, batch_size=1)
    b = predict(model, x, batch_size=64)
    assert a.shape == (15, 1) and torch.allclose(a, b, atol=1e-6)


def test_prediction_leaves_mode_and_is_deterministic_with_dropout():
    model = create_model("deepbind", n_filters=8).train()
    x = one_hot_encode(["ACGT" * 10] * 4)
    assert torch.equal(predict(model, x), predict(model, x))  # eval mode inside: no dropout
    assert model.training


def test_rc_average_of_a_strand_symmetric_model_changes_nothing():
    torch.manual_seed(1)
    model = create_model("deepbind", n_filters=8, strands="max")
    x = one_hot_encode(["ACGTTGCAAGG" * 5, "TTTACGGACAC" * 5])
    assert torch.allclose(predict(model, x), predict(model, x, rc_average=True), atol=1e-6)
    fwd = create_model("deepbind", n_filters=8, strands="forward")
    assert not torch.allclose(predict(fwd, x), predict(fwd, x.flip(-2, -1)))


def test_a_model_without_parameters_predicts_on_the_cpu():
    """Toy models with known answers (attribution tests) have no parameters at all."""
    x = torch.rand(5, 4, 12)
    out = predict(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Identity()), x, batch_size=2)
    assert torch.equal(out, x.flatten(1))
