"""Every registered architecture: shapes, gradients, DeepLIFT completeness, strand invariance,
published parameter counts, receptive fields and input checks."""

from __future__ import annotations

import json
import warnings

import pytest
import torch
from torch import nn

from seqcnn.exceptions import ConfigError, InputError, UnknownNameError
from seqcnn.models import (
    count_parameters,
    create_model,
    get_model_spec,
    list_models,
    model_arguments,
)
from seqcnn.sequence import reverse_complement_onehot

captum_attr = pytest.importorskip("captum.attr")

# Builder options and input shape (C, *S) that keep each test small; a model not listed here
# is tested at its defaults on (4, 101) sequences or (3, 32, 32) images.
SMALL: dict[str, tuple[dict, tuple[int, ...]]] = {
    "lenet5": ({"in_channels": 1, "input_size": 28}, (1, 28, 28)),
    "alexnet": ({"hidden": 32, "pool_size": 1}, (3, 64, 64)),
    "vgg11": ({"hidden": 32, "pool_size": 1}, (3, 32, 32)),
    "vgg11_bn": ({"hidden": 32, "pool_size": 1}, (3, 32, 32)),
    "vgg16": ({"hidden": 32, "pool_size": 1}, (3, 32, 32)),
    "vgg16_bn": ({"hidden": 32, "pool_size": 1}, (3, 32, 32)),
    "resnet34": ({"base_width": 16}, (3, 32, 32)),
    "resnet50": ({"base_width": 16}, (3, 32, 32)),
    "resnet18": ({"in_channels": 1, "small_input": True, "base_width": 16}, (1, 28, 28)),
    "fcn": ({"backbone": "vgg11", "backbone_args": {"hidden": 8}}, (3, 32, 40)),
    "fcn_resnet18": ({"base_width": 8, "small_input": True}, (3, 30, 27)),
}
N_OUT = 3


def small_case(name: str) -> tuple[nn.Module, torch.Tensor]:
    """A small instance of model ``name`` and a batch of 2 valid inputs for it."""
    kwargs, shape = SMALL.get(
        name, ({}, (4, 101) if get_model_spec(name).dim == 1 else (3, 32, 32))
    )
    torch.manual_seed(0)
    model = create_model(name, n_outputs=N_OUT, **kwargs)
    if len(shape) == 2:  # one-hot DNA
        x = torch.eye(shape[0])[torch.randint(shape[0], (2, shape[1]))].transpose(1, 2)
    else:
        x = torch.rand(2, *shape)
    return model, x


def expected_shape(name: str, x: torch.Tensor) -> tuple[int, ...]:
    return (2, N_OUT, *x.shape[2:]) if name.startswith("fcn") else (2, N_OUT)


def assert_close(actual: torch.Tensor, expected: torch.Tensor) -> None:
    """``torch.testing.assert_close`` without its seconds-long first import."""
    assert actual.shape == expected.shape
    assert torch.allclose(actual, expected, rtol=1e-5, atol=1e-6), (actual - expected).abs().max()


def first_weight(model: nn.Module) -> torch.Tensor:
    return next(p for p in model.parameters() if p.dim() > 1)


def randomise_norm_stats(model: nn.Module) -> None:
    """Make eval-mode batch norm a non-trivial affine map."""
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=g))
            m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g))


def deeplift_delta(model: nn.Module, x: torch.Tensor, name: str, flat: bool = False):
    """Largest |sum of attributions - (f(x) - f(baseline))|, and the largest |f(x) - f(b)|.

    The baseline is random (so max pools pick different winners in x and baseline) unless
    ``flat``, then all zeros.
    """
    model = model.double().eval()
    randomise_norm_stats(model)
    x = x.double()
    g = torch.Generator().manual_seed(2)
    baseline = torch.zeros_like(x) if flat else 0.5 * torch.rand(x.shape, generator=g).double()
    target = (0, x.shape[-2] // 2, x.shape[-1] // 3) if name.startswith("fcn") else 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        attr = captum_attr.DeepLift(model).attribute(x, baseline, target=target).detach()
    with torch.no_grad():
        diff = model(x) - model(baseline)
        diff = diff[(slice(None), *target)] if isinstance(target, tuple) else diff[:, target]
        total = attr.flatten(1).sum(1)
    return float((total - diff).abs().max()), float(diff.abs().max())


def forward_strand(name: str) -> nn.Module:
    """The small instance of a sequence model ``name`` scoring the forward strand only."""
    kwargs = SMALL.get(name, ({}, ()))[0]
    torch.manual_seed(0)
    return create_model(name, n_outputs=N_OUT, strands="forward", **kwargs)


@pytest.mark.parametrize("name", list_models())
def test_forward_and_gradient(name: str) -> None:
    model, x = small_case(name)
    model.train()
    out = model(x)
    assert out.shape == expected_shape(name, x)
    assert torch.isfinite(out).all()
    out.square().mean().backward()
    grad = first_weight(model).grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0


@pytest.mark.parametrize("name", list_models())
def test_forward_features_then_head_is_forward(name: str) -> None:
    model, x = small_case(name)
    if get_model_spec(name).dim == 1:
        model = forward_strand(name)
    model.eval()
    with torch.no_grad():
        features = model.forward_features(x)
        if name.startswith("fcn"):
            split = model.forward_head(features, tuple(x.shape[-2:]))
        else:
            split = model.forward_head(features)
        assert_close(split, model(x))
    assert hasattr(model, "receptive_field")


@pytest.mark.parametrize("name", list_models())
def test_deeplift_completeness(name: str) -> None:
    model, x = small_case(name)
    if get_model_spec(name).dim == 1:  # both strands: see test_deeplift_both_strands
        model = forward_strand(name)
    delta, scale = deeplift_delta(model, x[:1], name)
    assert scale > 0
    assert delta <= 1e-6 * scale


@pytest.mark.parametrize("name", list_models(dim=1))
def test_deeplift_completeness_zero_baseline(name: str) -> None:
    _, x = small_case(name)
    delta, scale = deeplift_delta(forward_strand(name), x, name, flat=True)
    assert scale > 0
    assert delta <= 1e-6 * scale


@pytest.mark.parametrize("name", list_models(dim=1))
@pytest.mark.parametrize("strands", ["max", "mean"])
def test_deeplift_both_strands(name: str, strands: str) -> None:
    _, x = small_case(name)
    kwargs = SMALL.get(name, ({}, ()))[0]
    torch.manual_seed(0)
    model = create_model(name, n_outputs=N_OUT, strands=strands, **kwargs)
    delta, scale = deeplift_delta(model, x, name, flat=True)
    assert delta <= 1e-6 * scale


@pytest.mark.parametrize("name", list_models(dim=1))
@pytest.mark.parametrize("strands", ["max", "mean"])
def test_strand_invariance(name: str, strands: str) -> None:
    _, x = small_case(name)
    model = create_model(name, n_outputs=N_OUT, strands=strands).eval()
    randomise_norm_stats(model)
    with torch.no_grad():
        assert_close(model(x), model(reverse_complement_onehot(x)))


@pytest.mark.parametrize("name", list_models(dim=1))
def test_sequence_models_accept_longer_inputs(name: str) -> None:
    model = create_model(name, n_outputs=2).eval()
    with torch.no_grad():
        assert model(torch.rand(1, 4, 301)).shape == (1, 2)


@pytest.mark.parametrize(
    ("name", "kwargs", "expected"),
    [
        ("lenet5", {"n_outputs": 10, "in_channels": 1, "input_size": 32}, 61_706),
        ("lenet5", {"n_outputs": 10, "in_channels": 1, "input_size": 28}, 61_706),
        ("alexnet", {"n_outputs": 1000}, 61_100_840),
        ("vgg11", {"n_outputs": 1000}, 132_863_336),
        ("vgg11_bn", {"n_outputs": 1000}, 132_868_840),
        ("vgg16", {"n_outputs": 1000}, 138_357_544),
        ("vgg16_bn", {"n_outputs": 1000}, 138_365_992),
        ("googlenet", {"n_outputs": 1000, "branch5_kernel": 3}, 6_624_904),
        ("resnet18", {"n_outputs": 1000}, 11_689_512),
        ("resnet34", {"n_outputs": 1000}, 21_797_672),
        ("resnet50", {"n_outputs": 1000}, 25_557_032),
    ],
)
def test_published_parameter_counts(
    name: str, kwargs: dict, expected: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # on the meta device: no memory; without the normal initialisers, which on meta tensors
    # import half of torch's compiler stack (seconds) for nothing
    for init in ("normal_", "kaiming_normal_"):
        monkeypatch.setattr(nn.init, init, lambda tensor, *args, **kwargs: tensor)
    with torch.device("meta"):
        model = create_model(name, **kwargs)
    assert count_parameters(model) == expected


@pytest.mark.parametrize("name", list_models(dim=1))
def test_sequence_models_are_small_by_default(name: str) -> None:
    assert count_parameters(create_model(name)) <= 200_000


@pytest.mark.parametrize("name", list_models())
def test_stored_arguments_rebuild_the_model(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run stores every constructor argument as JSON and rebuilds the model from them."""
    for init in ("normal_", "kaiming_normal_"):
        monkeypatch.setattr(nn.init, init, lambda tensor, *args, **kwargs: tensor)
    kwargs = {"n_outputs": N_OUT, **SMALL.get(name, ({}, ()))[0]}
    with torch.device("meta"):
        stored = json.loads(json.dumps(model_arguments(name, **kwargs)))
        rebuilt, original = create_model(name, **stored), create_model(name, **kwargs)
    assert [p.shape for p in rebuilt.parameters()] == [p.shape for p in original.parameters()]


def test_unknown_model_lists_choices() -> None:
    with pytest.raises(UnknownNameError, match="resnet18") as err:
        create_model("resnet19")
    assert "dilated" in str(err.value)


@pytest.mark.parametrize(
    ("name", "kwargs", "listed"),
    [
        ("resbind", {"act": "swish2"}, "relu"),
        ("dilated", {"norm": "batchy"}, "batch"),
        ("dilated", {"global_pool": "median"}, "maxavg"),
        ("dilated", {"strands": "both"}, "mean"),
        ("lenet5", {"pool": "l2"}, "avg"),
        ("resnet18", {"norm": "weird"}, "group"),
    ],
)
def test_unknown_option_names_list_choices(name: str, kwargs: dict, listed: str) -> None:
    with pytest.raises(UnknownNameError, match=listed):
        create_model(name, **kwargs)


def empirical_receptive_field(model: nn.Module, length: int) -> int:
    """Span of input positions with a non-zero gradient for the middle output position."""
    x = torch.rand(1, 4, length, dtype=torch.float64, requires_grad=True)
    features = model.double().eval().forward_features(x)
    features[0, :, features.shape[-1] // 2].sum().backward()
    hit = (x.grad[0].abs().sum(0) > 0).nonzero().flatten()
    return int(hit[-1] - hit[0] + 1)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize(
    ("name", "kwargs", "expected"),
    [
        ("dilated", {}, 81),
        ("dilated", {"n_layers": 3, "kernel_size": 5, "dilation_base": 3, "filter_width": 8}, 60),
        ("dilated", {"n_layers": 7, "filter_width": 5}, 259),
        ("resbind", {}, 33),
        ("resbind", {"dilations": [1, 3], "n_blocks": 2, "filter_width": 10}, 26),
    ],
)
def test_receptive_field_matches_gradients(name: str, kwargs: dict, expected: int) -> None:
    model = create_model(name, strands="forward", act="leaky_relu", **kwargs)
    assert model.receptive_field == expected
    assert empirical_receptive_field(model, 2 * expected + 31) == expected


@pytest.mark.parametrize("name", ["dilated", "resbind"])
def test_too_short_input_says_so(name: str) -> None:
    model = create_model(name)
    rf = model.receptive_field
    with pytest.raises(
        InputError, match=f"input length 10 is shorter than the receptive field {rf} of '{name}'"
    ):
        model(torch.zeros(1, 4, 10))
    with pytest.raises(ValueError):  # InputError is a ValueError
        model(torch.zeros(1, 4, rf - 1))
    assert model.eval()(torch.zeros(1, 4, rf)).shape == (1, 1)


def test_images_too_small() -> None:
    with pytest.raises(ConfigError, match="at least 63x63"):
        create_model("alexnet", input_size=32)
    with pytest.raises(InputError, match="too small for 'alexnet'"):
        create_model("alexnet", hidden=8)(torch.zeros(1, 3, 32, 32))
    with pytest.raises(InputError, match="built for 28x28"):
        create_model("lenet5", input_size=28)(torch.zeros(1, 1, 32, 32))


def test_options_survive_json() -> None:
    """Checkpoints store builder options as JSON: tuples come back as lists."""
    kwargs = json.loads(json.dumps({"input_size": (28, 28), "n_outputs": 10}))
    assert create_model("lenet5", **kwargs)(torch.zeros(1, 1, 28, 28)).shape == (1, 10)
    kwargs = json.loads(json.dumps({"dilations": (1, 2), "n_outputs": 2}))
    assert create_model("resbind", **kwargs).receptive_field == 19 + 2 + 4


def test_lenet5_pads_small_images_to_32() -> None:
    for size, padding in ((28, 2), (32, 0), (8, 12)):
        model = create_model("lenet5", input_size=size)
        assert model.features[0].conv.padding == (padding, padding)
        assert model(torch.zeros(1, 1, size, size)).shape == (1, 10)


def test_resnet_small_input_keeps_resolution() -> None:
    wide = create_model("resnet18", n_outputs=10, in_channels=1, input_size=28)
    small = create_model("resnet18", n_outputs=10, in_channels=1, small_input=True, base_width=16)
    x = torch.zeros(2, 1, 28, 28)
    assert wide.forward_features(x).shape == (2, 512, 1, 1)
    assert small.forward_features(x).shape == (2, 128, 4, 4)
    assert count_parameters(small) < count_parameters(wide) / 10


def test_resnet_zero_init_residual_starts_as_identity() -> None:
    model = create_model("resnet18", base_width=8, zero_init_residual=True).eval()
    block = model.stages[0][0]
    x = torch.rand(1, 8, 5, 5)
    assert_close(block(x), x)  # relu(0 + x) with x >= 0


def test_fcn_on_any_backbone_recovers_input_size() -> None:
    cases = [
        ("alexnet", {"hidden": 8}, (64, 70)),  # upsampled map smaller than the input: padded
        ("lenet5", {"input_size": 28}, (28, 28)),
        ("googlenet", {}, (33, 35)),
    ]
    for backbone, args, size in cases:
        in_channels = 1 if backbone == "lenet5" else 3
        model = create_model(
            "fcn", n_outputs=2, in_channels=in_channels, backbone=backbone, backbone_args=args
        ).eval()
        assert isinstance(model.backbone.head, nn.Identity)
        with torch.no_grad():
            assert model(torch.rand(1, in_channels, *size)).shape == (1, 2, *size)
    with pytest.raises(ConfigError, match="2D classifier"):
        create_model("fcn", backbone="dilated")


def test_fcn_upsampling_starts_bilinear() -> None:
    model = create_model("fcn_resnet18", n_outputs=2, base_width=8)
    coarse = torch.ones(1, 2, 4, 4)
    up = model.upsample(coarse)
    assert up.shape == (1, 2, 128, 128)
    s = model.output_stride
    assert_close(up[..., s:-s, s:-s], torch.ones_like(up[..., s:-s, s:-s]))


def test_meta_models_count_parameters_without_initialising_weights():
    """list-models builds every model on the meta device: same counts, and none of the
    reference initialisers (which import torch._dynamo, a second of start-up) run."""
    import subprocess
    import sys

    from seqcnn.models import count_parameters, meta_model

    for name in ("deepbind", "resbind", "lenet5"):
        assert count_parameters(meta_model(name)) == count_parameters(create_model(name))
    code = (
        "import sys; from seqcnn.models import list_models, meta_model\n"
        "[meta_model(n, n_outputs=10) for n in list_models()]\n"
        "print('torch._dynamo' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
