"""ISM (fast and full-forward), captum attributions and the mutation-map weighting."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch import nn

from seqcnn.attribution import (
    attribute,
    fast_ism_support,
    ism,
    ism_outputs,
    mutation_map_scores,
    position_scores,
)
from seqcnn.exceptions import ConfigError, InputError, UnknownNameError
from seqcnn.models import create_model, get_model_spec, list_models
from seqcnn.sequence import one_hot_encode


def random_onehot(n: int, length: int, n_fraction: float = 0.0, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, 4, (n, length), generator=g)
    x = nn.functional.one_hot(idx, 4).permute(0, 2, 1).float()
    if n_fraction:
        unknown = torch.rand(n, length, generator=g) < n_fraction
        x = x.masked_fill(unknown[:, None, :], 0.0)
    return x


def reference_ism(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Every base written at every position, one full forward each (no shortcuts): (N, T, 4, L)."""
    model.eval()
    n, _, length = x.shape
    out = []
    with torch.no_grad():
        for i in range(n):
            copies = x[i].repeat(4 * length, 1, 1)  # row a * L + p writes base a at p
            rows = torch.arange(4 * length)
            copies[rows, :, rows % length] = 0
            copies[rows, rows // length, rows % length] = 1
            y = model(copies)  # (4L, T)
            ref = model(x[i : i + 1])
            out.append((y - ref).reshape(4, length, -1).permute(2, 0, 1))
    return torch.stack(out)


def randomise_norms(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give batch norms non-trivial running statistics and affine parameters (some negative)."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g))
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.randn(m.num_features, generator=g))
            m.bias.data.copy_(torch.randn(m.num_features, generator=g))
    return model


class LinearOnOneHot(nn.Module):
    """f(x) = sum(W * x) + b for each of T outputs: ISM effects are weight differences."""

    def __init__(self, length: int, n_outputs: int = 2, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.weight = nn.Parameter(torch.randn(n_outputs, 4, length, generator=g))
        self.bias = nn.Parameter(torch.randn(n_outputs, generator=g))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("ncl,tcl->nt", x, self.weight) + self.bias


# --------------------------------------------------------------------------------------------
# known answers


def test_ism_of_a_linear_model_is_weight_differences():
    x = one_hot_encode(["ACGTNACG", "TTGCAANC"])
    model = LinearOnOneHot(8)
    effect = ism(model, x, target=None)
    w = model.weight.detach()  # (T, 4, L)
    for n, seq in enumerate(["ACGTNACG", "TTGCAANC"]):
        for p, base in enumerate(seq):
            for a in range(4):
                # at an N column the unknown base contributes nothing: the effect is W[a]
                expected = w[:, a, p] - (0.0 if base == "N" else w[:, "ACGT".index(base), p])
                torch.testing.assert_close(effect[n, :, a, p], expected, atol=1e-5, rtol=0)
    ref_base = x.bool()
    assert (effect.permute(1, 0, 2, 3)[:, ref_base] == 0).all()  # exactly zero at the reference
    assert ism(model, x, target=1).shape == (2, 4, 8)
    torch.testing.assert_close(ism(model, x, target=1), effect[:, 1])


def test_fast_ism_of_a_linear_convolution_by_hand():
    # conv (one filter, no padding) -> average pooling: f(x) = b + mean_j sum_t W[:, t] x[j + t];
    # a base at position p is seen by the taps t with 0 <= p - t <= L - K, so the effect of
    # writing base a is (sum of those taps' W[a] - W[ref]) / (L - K + 1).
    k, length = 3, 7
    conv = nn.Conv1d(4, 1, k)
    model = nn.Sequential(conv, nn.AdaptiveAvgPool1d(1), nn.Flatten())
    assert fast_ism_support(model) == (True, "")
    seq = "ACGGTCA"
    x = one_hot_encode([seq])
    effect = ism(model, x, method="fast")[0]
    w = conv.weight.detach()[0]  # (4, K)
    l_out = length - k + 1
    for p, base in enumerate(seq):
        taps = [t for t in range(k) if 0 <= p - t <= length - k]
        for a in range(4):
            expected = sum(float(w[a, t] - w["ACGT".index(base), t]) for t in taps) / l_out
            assert float(effect[a, p]) == pytest.approx(expected, abs=1e-6)


def test_attributions_of_a_linear_model():
    x = one_hot_encode(["ACGTTGCA", "GGNNCATT"])
    model = LinearOnOneHot(8, n_outputs=1)
    w = model.weight.detach()[0]
    sal = attribute(model, x, method="saliency").values
    torch.testing.assert_close(sal, w.expand(2, 4, 8))
    ixg = attribute(model, x, method="input-x-gradient").values
    torch.testing.assert_close(ixg, w * x)
    ig = attribute(model, x, method="integrated-gradients", baselines="uniform")
    torch.testing.assert_close(ig.values, w * (x - 0.25), atol=1e-5, rtol=0)
    assert ig.delta.abs().max() < 1e-4
    dl = attribute(model, x, method="deeplift", baselines="zeros")
    torch.testing.assert_close(dl.values, w * x, atol=1e-6, rtol=0)
    # ISM logo values: the observed base carries minus the mean of its 3 substitutions' effects
    values = attribute(model, x, method="ism").values
    ref = (w * x).sum(1)  # (N, L): weight of the observed base (0 at N)
    expected = -(w.sum(0) - 4 * ref) / 3 * x.sum(1)
    torch.testing.assert_close(values.sum(1), expected, atol=1e-5, rtol=0)
    assert (values[1, :, 2:4] == 0).all()  # N columns carry nothing


def test_mutation_map_weighting_by_hand():
    # p_wt = 0.5; p_mut = 0.75 (gain) and 0.25 (loss)
    ref = 0.0
    mut = np.array([[np.log(3.0), -np.log(3.0)], [0.0, 0.0]])
    deepbind = mutation_map_scores(ref, mut)
    assert deepbind[0, 0] == pytest.approx((0.75 - 0.5) * 0.75)
    assert deepbind[0, 1] == pytest.approx((0.25 - 0.5) * 0.5)
    assert deepbind[1].tolist() == [0.0, 0.0]
    np.testing.assert_allclose(mutation_map_scores(ref, mut, weighting="delta"), mut)
    # batched: one reference per sequence
    batched = mutation_map_scores(np.array([0.0, np.log(3.0)]), np.zeros((2, 4, 3)))
    assert batched[0].max() == 0.0
    assert batched[1, 0, 0] == pytest.approx((0.5 - 0.75) * 0.75)
    with pytest.raises(UnknownNameError):
        mutation_map_scores(ref, mut, weighting="probability")


# --------------------------------------------------------------------------------------------
# fast ISM = naive ISM


@pytest.mark.parametrize("pooling", ["max", "avg", "maxavg"])
@pytest.mark.parametrize("strands", ["max", "mean", "forward"])
def test_fast_ism_equals_naive_deepbind(pooling, strands):
    worst = 0.0
    for batch_norm, hidden, k in itertools.product([False, True], [0, 8], [1, 5]):
        model = create_model(
            "deepbind",
            n_outputs=2,
            n_filters=6,
            filter_width=k,
            pooling=pooling,
            strands=strands,
            batch_norm=batch_norm,
            hidden=hidden,
        )
        randomise_norms(model, seed=k)
        for length in sorted({k, k + 1, 2 * k + 3, 40}):
            x = random_onehot(3, length, n_fraction=0.15, seed=length)
            fast = ism(model, x, target=None, method="fast")
            naive = ism(model, x, target=None, method="naive")
            assert fast.shape == (3, 2, 4, length)
            worst = max(worst, float((fast - naive).abs().max()))
    assert worst < 1e-5


def test_fast_ism_equals_reference_default_deepbind_long():
    model = create_model("deepbind")  # 64 filters of width 24
    x = random_onehot(1, 101, n_fraction=0.05, seed=1)
    fast = ism(model, x, target=None, method="fast")
    torch.testing.assert_close(fast, reference_ism(model, x), atol=1e-5, rtol=0)
    # one filter width to 1000 bp, with N
    small = create_model("deepbind", n_filters=4, filter_width=24, hidden=0, pooling="maxavg")
    for length in (24, 1000):
        x = random_onehot(1, length, n_fraction=0.05, seed=length)
        fast = ism(small, x, target=None, method="fast")
        torch.testing.assert_close(fast, reference_ism(small, x), atol=1e-5, rtol=0)


def test_ism_equals_reference_for_every_registered_1d_model():
    for name in list_models(dim=1):
        assert get_model_spec(name).dim == 1
        model = create_model(name, n_outputs=2)
        randomise_norms(model)
        length = max(getattr(model, "receptive_field", 1), 30)
        x = random_onehot(2, length, n_fraction=0.1, seed=3)
        auto = ism(model, x, target=None, batch_size=97)
        torch.testing.assert_close(auto, reference_ism(model, x), atol=1e-5, rtol=0, msg=name)
        supported, reason = fast_ism_support(model)
        assert supported == (name == "deepbind"), (name, reason)


@pytest.mark.parametrize(
    "layers",
    [
        # batch norm after the activation, negative scales: not foldable, not monotone
        lambda: [nn.Conv1d(4, 5, 4, padding=1), nn.ReLU(), nn.BatchNorm1d(5)],
        # GELU is not monotone: the window is activated before the max
        lambda: [nn.Conv1d(4, 5, 5, padding="same"), nn.GELU()],
        lambda: [nn.Conv1d(4, 5, 6, padding="valid"), nn.Tanh(), nn.Dropout(0.3)],
    ],
)
@pytest.mark.parametrize("pool", [nn.AdaptiveMaxPool1d, nn.AdaptiveAvgPool1d])
def test_fast_ism_equals_naive_sequential(layers, pool):
    model = nn.Sequential(*layers(), pool(1), nn.Flatten(), nn.Linear(5, 3))
    randomise_norms(model)
    assert fast_ism_support(model)[0]
    for length in (6, 7, 33):
        x = random_onehot(2, length, n_fraction=0.1, seed=length)
        fast = ism(model, x, target=None, method="fast")
        torch.testing.assert_close(fast, reference_ism(model, x), atol=1e-5, rtol=0)


def test_fast_path_falls_back_cleanly():
    circular = nn.Sequential(nn.Conv1d(4, 3, 3, padding=1, padding_mode="circular"),
                             nn.AdaptiveMaxPool1d(1), nn.Flatten())  # fmt: skip
    dilated = create_model("dilated", n_outputs=1)
    for model in (circular, dilated, LinearOnOneHot(30)):
        ok, reason = fast_ism_support(model)
        assert not ok and reason
        with pytest.raises(ConfigError, match="fast ISM does not apply"):
            ism(model, random_onehot(1, 90), method="fast")
    x = random_onehot(2, 30, seed=4)
    torch.testing.assert_close(
        ism(circular, x, target=None), reference_ism(circular, x), atol=1e-5, rtol=0
    )


@pytest.mark.parametrize(
    "layers, length",
    [
        # Basset-like: conv, batch norm, ReLU, max pool, twice, then a dense layer
        (lambda: [nn.Conv1d(4, 6, 5, padding=2), nn.BatchNorm1d(6), nn.ReLU(), nn.MaxPool1d(3),
                  nn.Conv1d(6, 5, 3, padding=1), nn.ReLU(), nn.MaxPool1d(2), nn.Flatten(),
                  nn.Linear(5 * 6, 2)], 36),
        # strides, overlapping average pool with padding, dilation, "same", global max pool
        (lambda: [nn.Conv1d(4, 6, 4, stride=2), nn.ELU(), nn.AvgPool1d(3, stride=2, padding=1),
                  nn.Conv1d(6, 5, 3, dilation=2, padding="same"), nn.GELU(),
                  nn.AdaptiveMaxPool1d(1), nn.Flatten(), nn.Linear(5, 1)], 37),
        # overlapping max pool with padding; ceil_mode where it adds no partial window
        (lambda: [nn.Conv1d(4, 6, 5, padding="same"), nn.ReLU(),
                  nn.MaxPool1d(4, stride=2, padding=1, ceil_mode=True), nn.Conv1d(6, 3, 3),
                  nn.Tanh(), nn.Flatten(), nn.Linear(3 * 16, 2)], 36),
        # a non-local layer (instance norm) starts the tail, which runs in full
        (lambda: [nn.Conv1d(4, 3, 3), nn.ReLU(), nn.InstanceNorm1d(3), nn.AdaptiveMaxPool1d(1),
                  nn.Flatten()], 20),
    ],
)  # fmt: skip
def test_local_path_equals_reference(layers, length):
    model = nn.Sequential(*layers())
    randomise_norms(model)
    assert fast_ism_support(model, length) == (True, "")
    x = random_onehot(2, length, n_fraction=0.1, seed=length)
    fast = ism(model, x, target=None, method="fast")
    torch.testing.assert_close(fast, reference_ism(model, x), atol=1e-5, rtol=0)
    window = ism(model, x, start=3, end=11, target=None, method="fast", batch_size=5)
    torch.testing.assert_close(window, fast[..., 3:11], atol=1e-6, rtol=0)


def test_ceil_mode_pool_with_a_partial_window_joins_the_tail():
    from seqcnn.attribution import _local_structure

    model = nn.Sequential(nn.Conv1d(4, 3, 3), nn.MaxPool1d(2, ceil_mode=True), nn.Flatten())
    kinds = {n: [layer.kind for layer in _local_structure(model, n)[0].layers] for n in (21, 22)}
    assert kinds == {21: ["conv"], 22: ["conv", "max"]}  # 19 positions leave a partial window
    for length in (21, 22):
        x = random_onehot(1, length, seed=2)
        fast = ism(model, x, target=None, method="fast")
        torch.testing.assert_close(fast, reference_ism(model, x), atol=1e-5, rtol=0)


def test_ism_window_mode_device_and_identity_edits():
    model = create_model("deepbind", n_filters=8, filter_width=6)
    model.train()
    x = random_onehot(3, 50, n_fraction=0.1, seed=5)
    full = ism(model, x)
    assert model.training  # mode restored
    window = ism(model, x, start=10, end=25)
    torch.testing.assert_close(window, full[:, :, 10:25])
    out = ism_outputs(model, x, start=10, end=25)
    assert out.reference.shape == (3, 1) and out.mutated.shape == (3, 1, 4, 15)
    identity = (x[:, :, 10:25] == 1)[:, None]
    assert torch.equal(
        out.mutated[identity], out.reference[:, :, None, None].expand_as(out.mutated)[identity]
    )
    # N columns: all four edits are real, each the change from the unknown base to that base
    unknown = (x.sum(1) == 0)[:, None, None, :].expand(3, 1, 4, 50)
    assert unknown.any()
    expected = reference_ism(model, x)
    torch.testing.assert_close(full[:, None][unknown], expected[unknown], atol=1e-5, rtol=0)
    scores = position_scores(full)
    assert scores.shape == (3, 50) and (scores >= 0).all()
    # batch size does not change the answer
    torch.testing.assert_close(
        ism(model, x, method="naive", batch_size=7),
        ism(model, x, method="naive"),
        atol=1e-6,
        rtol=0,
    )


def test_ism_bad_input():
    model = create_model("deepbind", filter_width=5)
    with pytest.raises(InputError, match=r"\(N, 4, L\)"):
        ism(model, torch.zeros(2, 5, 10))
    with pytest.raises(InputError, match="start"):
        ism(model, torch.zeros(1, 4, 10), start=5, end=3)
    with pytest.raises(UnknownNameError):
        ism(model, torch.zeros(1, 4, 10), method="quick")
    with pytest.raises(ConfigError, match="target"):
        ism(model, torch.zeros(1, 4, 10), target=3)
    with pytest.raises(UnknownNameError, match="integrated-gradients"):
        attribute(model, torch.zeros(1, 4, 10), method="ig")


# --------------------------------------------------------------------------------------------
# captum on DeepBind


def test_deeplift_complete_on_default_deepbind():
    model = create_model("deepbind").eval()
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.Linear):  # larger weights: a non-trivial output
            m.weight.data.normal_(0, 0.3, generator=g)
    x = random_onehot(6, 101, n_fraction=0.02, seed=6)
    out = attribute(model, x, method="deeplift")
    assert out.delta.abs().max() < 1e-5
    with torch.no_grad():
        expected = model(x)[:, 0] - model(torch.full_like(x, 0.25))[:, 0]
    assert (expected.abs() > 1e-3).any()
    torch.testing.assert_close(out.values.sum((1, 2)), expected, atol=1e-5, rtol=0)
    # DeepLIFT-SHAP: complete against the mean over seeded dinucleotide shuffles
    shap = attribute(model, x, method="deepliftshap", n_shuffles=4, seed=3)
    assert shap.delta.abs().max() < 1e-5
    again = attribute(model, x, method="deepliftshap", n_shuffles=4, seed=3)
    torch.testing.assert_close(shap.values, again.values)
    from seqcnn.attribution import _shuffled_baselines

    base = _shuffled_baselines(x, 4, seed=3)  # (N, 4 shuffles, 4, L)
    assert torch.equal(base.sum(-1), x.sum(-1)[:, None].expand_as(base.sum(-1)))  # composition
    with torch.no_grad():
        f_base = model(base.reshape(-1, 4, 101))[:, 0].reshape(6, 4).mean(1)
    torch.testing.assert_close(
        shap.values.sum((1, 2)), model(x)[:, 0].detach() - f_base, atol=1e-5, rtol=0
    )
    ig = attribute(model, x, method="integrated-gradients", n_steps=64)
    assert ig.delta.abs().max() < 0.05 * float(expected.abs().max()) + 1e-4


# --------------------------------------------------------------------------------------------
# known answer: the planted sites of the demo data


@pytest.fixture(scope="module")
def demo_model_and_sites():
    """A small DeepBind trained for 2 epochs on the demo data (~4 s), and the test positives
    that carry a planted site with their one-hot sequences."""
    import pandas as pd

    from seqcnn.data_files import demo_data_dir

    root = demo_data_dir()
    train = pd.read_csv(root / "train.tsv.gz", sep="\t")
    x = one_hot_encode(list(train["sequence"]))
    y = torch.tensor(train["bound"].to_numpy(), dtype=torch.float32)
    torch.manual_seed(0)
    model = create_model("deepbind", n_filters=16, filter_width=15, hidden=0, dropout=0.0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(2):
        order = torch.randperm(len(x))
        for i in range(0, len(x), 100):
            idx = order[i : i + 100]
            loss = nn.functional.binary_cross_entropy_with_logits(model(x[idx])[:, 0], y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    test = pd.read_csv(root / "test.tsv.gz", sep="\t").set_index("id")
    sites = pd.read_csv(root / "sites.tsv.gz", sep="\t")
    sites = sites[(sites["split"] == "test") & (sites["bound"] == 1) & (sites["kind"] == "site")]
    xs = one_hot_encode(list(test.loc[sites["id"], "sequence"]))
    return model, xs, sites


def _fraction_found(scores: torch.Tensor, sites) -> float:
    """Share of sequences with >= 7 of their 10 highest-scoring positions in the site +- 2 bp."""
    top = scores.argsort(dim=1, descending=True)[:, :10].numpy()
    lo = sites["start"].to_numpy()[:, None] - 2
    hi = sites["end"].to_numpy()[:, None] + 2
    return float((((top >= lo) & (top < hi)).sum(1) >= 7).mean())


def test_attributions_find_the_planted_sites(demo_model_and_sites):
    model, xs, sites = demo_model_and_sites
    assert len(sites) > 200
    found = {"ism": _fraction_found(position_scores(ism(model, xs)), sites)}
    for method in ("deeplift", "integrated-gradients"):
        values = attribute(model, xs, method=method, n_steps=20).values
        found[method] = _fraction_found(values.sum(1).abs(), sites)
    # a random ranking puts 7 of 10 inside a 19-bp window of 101 bp almost never
    shuffled = _fraction_found(torch.rand(xs.shape[0], xs.shape[2]), sites)
    assert shuffled < 0.05
    assert all(f >= 0.8 for f in found.values()), found
