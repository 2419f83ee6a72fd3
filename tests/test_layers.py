"""Shared 1D/2D building blocks: name tables, shapes, receptive fields, captum safety."""

from __future__ import annotations

import functools
import itertools
import warnings

import pytest
import torch
from torch import nn

from seqcnn.exceptions import ConfigError, InputError, UnknownNameError
from seqcnn.models.dilated import DilatedResidualStack
from seqcnn.models.googlenet import Inception
from seqcnn.models.layers import (
    ACTIVATIONS,
    DEEPLIFT_ACTIVATIONS,
    ConvNormAct,
    GlobalPool,
    MaxPool,
    MLPHead,
    check_length,
    conv_receptive_field,
    get_activation,
    get_norm,
    get_pool,
)
from seqcnn.models.residual import DilatedResidualBlock
from seqcnn.models.resnet import BasicBlock, Bottleneck

SHAPES = {1: (2, 4, 37), 2: (2, 4, 11, 13)}


def test_activation_by_name_is_a_fresh_module() -> None:
    a, b = get_activation("relu"), get_activation("ReLU")
    assert isinstance(a, nn.ReLU) and a is not b
    assert isinstance(get_activation(None), nn.Identity)
    assert set(DEEPLIFT_ACTIVATIONS) <= set(ACTIVATIONS)


def test_activation_by_callable() -> None:
    act = get_activation(functools.partial(nn.LeakyReLU, 0.2))
    assert isinstance(act, nn.LeakyReLU) and act.negative_slope == 0.2
    with pytest.raises(ConfigError, match="not a module instance"):
        get_activation(nn.ReLU())  # would be shared between uses


@pytest.mark.parametrize(
    ("call", "listed"),
    [
        (lambda: get_activation("swish2"), ["relu", "gelu", "tanh"]),
        (lambda: get_norm("batchy", 1, 8), ["batch", "group", "instance", "layer", "none"]),
        (lambda: get_pool("median", 2, 2), ["avg", "max"]),
        (lambda: GlobalPool(1, "sum"), ["avg", "max", "maxavg"]),
    ],
)
def test_unknown_names_list_the_valid_ones(call, listed: list[str]) -> None:
    with pytest.raises(UnknownNameError) as err:
        call()
    for name in listed:
        assert name in str(err.value)
    assert isinstance(err.value, KeyError)


@pytest.mark.parametrize("dim", [1, 2])
def test_norms_by_dimension(dim: int) -> None:
    assert type(get_norm("batch", dim, 8)) is (nn.BatchNorm1d if dim == 1 else nn.BatchNorm2d)
    assert type(get_norm("instance", dim, 8)).__name__ == f"InstanceNorm{dim}d"
    assert get_norm("group", dim, 48).num_groups == 16
    assert get_norm("layer", dim, 8).num_groups == 1
    assert isinstance(get_norm("none", dim, 8), nn.Identity)
    assert isinstance(get_norm(nn.LazyBatchNorm1d, dim, 8), nn.LazyBatchNorm1d)
    x = torch.randn(*SHAPES[dim][:1], 8, *SHAPES[dim][2:])
    for name in ("batch", "instance", "group", "layer", "none"):
        assert get_norm(name, dim, 8)(x).shape == x.shape


def test_bad_dim() -> None:
    with pytest.raises(ConfigError, match="dim must be 1"):
        ConvNormAct(3, 4, 8)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("dim", [1, 2])
def test_conv_norm_act(dim: int) -> None:
    x = torch.randn(*SHAPES[dim])
    block = ConvNormAct(dim, 4, 8, 5)
    assert block(x).shape == (x.shape[0], 8, *x.shape[2:])  # "same" at stride 1
    assert block.conv.bias is None and isinstance(block.norm, nn.modules.batchnorm._BatchNorm)
    plain = ConvNormAct(dim, 4, 8, 4, norm=None, act=None)  # even kernel, still "same"
    assert plain.conv.bias is not None and list(dict(plain.named_children())) == ["conv"]
    assert plain(x).shape == (x.shape[0], 8, *x.shape[2:])
    strided = ConvNormAct(dim, 4, 8, 3, stride=2)
    assert strided(x).shape[2:] == tuple((s + 1) // 2 for s in x.shape[2:])


@pytest.mark.parametrize("dim", [1, 2])
@pytest.mark.parametrize("stride", [1, 2])
def test_residual_blocks(dim: int, stride: int) -> None:
    x = torch.randn(*SHAPES[dim])
    out_size = tuple((s + stride - 1) // stride for s in x.shape[2:])
    basic = BasicBlock(dim, 4, 8, stride)
    assert basic(x).shape == (2, 8, *out_size)
    assert isinstance(basic.shortcut, ConvNormAct)  # projection: channels change
    assert isinstance(BasicBlock(dim, 4, 4).shortcut, nn.Identity)
    bottleneck = Bottleneck(dim, 4, 2, stride)
    assert bottleneck(x).shape == (2, 8, *out_size)


@pytest.mark.parametrize("dim", [1, 2])
def test_dilated_blocks_keep_shape(dim: int) -> None:
    x = torch.randn(2, 8, *SHAPES[dim][2:])
    assert DilatedResidualBlock(dim, 8, 3, (1, 2, 4))(x).shape == x.shape
    stack = DilatedResidualStack(dim, 8, n_layers=3, norm="none")
    assert stack(x).shape == x.shape
    assert stack.dilations == [1, 2, 4]


def test_receptive_fields() -> None:
    assert conv_receptive_field([]) == 1
    assert conv_receptive_field([(5, 1, 1)]) == 5
    assert conv_receptive_field([(3, 2, 1), (3, 1, 1)]) == 7  # the stride doubles the step
    assert DilatedResidualBlock(1, 4, 3, (1, 2, 4)).receptive_field == 15
    assert DilatedResidualStack(1, 4, n_layers=5).receptive_field == 63
    assert (
        DilatedResidualStack(1, 4, n_layers=3, kernel_size=5, dilation_base=3).receptive_field == 53
    )


def test_check_length() -> None:
    check_length(torch.zeros(1, 4, 20), 20, "m")
    with pytest.raises(
        InputError, match="input length 19 is shorter than the receptive field 20 of 'm'"
    ):
        check_length(torch.zeros(1, 4, 19), 20, "m")


@pytest.mark.parametrize("dim", [1, 2])
def test_inception(dim: int) -> None:
    x = torch.randn(2, 16, *SHAPES[dim][2:])
    block = Inception(dim, 16, 4, 3, 6, 2, 5, 7)
    assert block.out_channels == 22
    assert block(x).shape == (2, 22, *x.shape[2:])
    assert block.branch3[1].conv.kernel_size == (5,) * dim
    assert (
        Inception(dim, 16, 4, 3, 6, 2, 5, 7, branch5_kernel=3).branch3[1].conv.kernel_size
        == (3,) * dim
    )


@pytest.mark.parametrize("dim", [1, 2])
def test_global_pool(dim: int) -> None:
    x = torch.randn(*SHAPES[dim])
    flat = x.flatten(2)
    assert torch.equal(GlobalPool(dim, "max")(x), flat.amax(-1))
    assert torch.allclose(GlobalPool(dim, "avg")(x), flat.mean(-1))
    both = GlobalPool(dim, "maxavg")
    assert both.multiplier == 2
    assert torch.allclose(both(x), torch.cat([flat.amax(-1), flat.mean(-1)], 1))
    assert GlobalPool(dim, "max", flatten=False)(x).shape == (*x.shape[:2], *(1,) * dim)
    assert GlobalPool(dim, "max")(x[..., :5]).shape == (2, 4)  # any size, call after call
    # without gradients (predicting) the maximum is taken directly: the same values
    grad = GlobalPool(dim, "maxavg")(x.requires_grad_())
    with torch.no_grad():
        assert torch.equal(GlobalPool(dim, "maxavg")(x), grad.detach())


def test_mlp_head_puts_dropout_before_linear_layers() -> None:
    head = MLPHead(10, 2, (8, 4), dropout=0.5)
    kinds = [type(m).__name__ for m in head]
    assert kinds == ["Dropout", "Linear", "ReLU", "Dropout", "Linear", "ReLU", "Dropout", "Linear"]
    vgg_like = MLPHead(10, 2, (8,), dropout=0.5, input_dropout=False)
    assert [type(m).__name__ for m in vgg_like] == ["Linear", "ReLU", "Dropout", "Linear"]
    assert [type(m).__name__ for m in MLPHead(10, 2)] == ["Linear"]
    assert head(torch.randn(3, 10)).shape == (3, 2)


def _force_captum_path(pool: MaxPool) -> None:
    """A no-op hook on the axis pools, as captum attaches, selects the decomposed path."""
    for p in getattr(pool, "axis_pools", []):
        p.register_forward_hook(lambda *args: None)


@pytest.mark.parametrize(
    ("dim", "k", "s", "p", "ceil"),
    [
        (d, k, s, p, c)
        for d, k, s, p, c in itertools.product([1, 2], [2, 3, 5], [1, 2, 3], [0, 1], [False, True])
        if 2 * p <= k
    ],
)
def test_max_pool_matches_torch(dim: int, k: int, s: int, p: int, ceil: bool) -> None:
    reference = (nn.MaxPool1d if dim == 1 else nn.MaxPool2d)(k, s, p, ceil_mode=ceil)
    fast, exact = MaxPool(dim, k, s, p, ceil), MaxPool(dim, k, s, p, ceil)
    _force_captum_path(exact)
    for size in (7, 10):
        x = torch.randn(2, 3, *(size, size + 1)[:dim], dtype=torch.float64, requires_grad=True)
        expected = reference(x)
        grad = torch.randn_like(expected)
        (want,) = torch.autograd.grad(expected, x, grad)
        for pool in (fast, exact):
            out = pool(x)
            assert torch.equal(out, expected)
            assert torch.allclose(torch.autograd.grad(out, x, grad)[0], want)


def test_max_pool_checks_padding() -> None:
    with pytest.raises(ConfigError, match="over half"):
        MaxPool(2, 2, padding=2)


def _deeplift_delta(model: nn.Module, x: torch.Tensor, baseline: torch.Tensor) -> float:
    captum_attr = pytest.importorskip("captum.attr")
    model = model.double().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        attr = captum_attr.DeepLift(model).attribute(x.double(), baseline.double(), target=0)
    attr = attr.detach()
    with torch.no_grad():
        diff = model(x.double())[:, 0] - model(baseline.double())[:, 0]
    return float((attr.flatten(1).sum(1) - diff).abs().max() / diff.abs().max())


@pytest.mark.parametrize(
    "block",
    [
        lambda: nn.Sequential(ConvNormAct(2, 3, 4, 3), get_pool("max", 2, 3, stride=2)),
        lambda: nn.Sequential(ConvNormAct(2, 3, 4, 3), get_pool("max", 2, 2)),
        lambda: Inception(2, 3, 2, 2, 2, 2, 2, 2),
        lambda: BasicBlock(2, 3, 3),
        lambda: DilatedResidualStack(2, 3, n_layers=2, norm="none"),
    ],
    ids=["relu-overlapping-maxpool", "relu-maxpool", "inception", "basic", "preact-no-norm"],
)
@pytest.mark.parametrize("pool", ["max", "maxavg"])
def test_blocks_keep_deeplift_complete(block, pool: str) -> None:
    """The captum pitfalls in the module docstring, each with a non-flat baseline."""
    torch.manual_seed(0)
    model = nn.Sequential(block(), GlobalPool(2, pool), nn.LazyLinear(2))
    x, baseline = torch.rand(2, 3, 9, 9), 0.5 * torch.rand(2, 3, 9, 9)
    model(x)  # materialise the lazy layer
    assert _deeplift_delta(model, x, baseline) < 1e-9


def test_captum_pitfall_is_real() -> None:
    """Without the private copy, a ReLU feeding a max pool breaks completeness: the reason
    for :class:`MaxPool`'s copy."""

    class Naive(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.act, self.pool = nn.Conv2d(3, 4, 3), nn.ReLU(), nn.MaxPool2d(2)
            self.fc = nn.Linear(64, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(self.pool(self.act(self.conv(x))).flatten(1))

    torch.manual_seed(0)
    x, baseline = torch.rand(2, 3, 10, 10), 0.5 * torch.rand(2, 3, 10, 10)
    assert _deeplift_delta(Naive(), x, baseline) > 1e-3
