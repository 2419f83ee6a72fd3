"""Building blocks shared by every architecture, written once for 1D and 2D.

A block takes ``dim`` (1: sequences ``(N, C, L)``; 2: images ``(N, C, H, W)``) and picks
``nn.Conv1d`` or ``nn.Conv2d``, ``nn.BatchNorm1d`` or ``nn.BatchNorm2d`` and so on from small
tables. Activation, normalisation and pooling are chosen by name (or by a callable) through
:func:`get_activation`, :func:`get_norm` and :func:`get_pool`; an unknown name raises
:class:`~seqcnn.exceptions.UnknownNameError` listing the valid ones.

Every block is captum-safe, so DeepLIFT's attributions sum to the output difference:

- each use of an activation is its own module instance, and nothing non-linear happens in a
  ``forward`` outside a module (residual additions and concatenations are linear);
- global max pooling goes through an ``nn.MaxPool`` module, which captum has a rule for
  (``nn.AdaptiveMaxPool`` has none);
- captum overwrites the gradient of the *input tensor* of every non-linear module with that
  module's multipliers. A tensor that also feeds another branch (a skip connection, the other
  paths of an Inception module) would lose that branch's gradient, and a tensor that is the
  output of another non-linear module (ReLU then max pool) would hand the first module an
  unscaled gradient. So max pools run on a private copy of their input, and so does the
  branch of the pre-activation residual unit;
- captum's max-pool rule scatters each window's contribution back to its winner and loses
  all but one when overlapping windows share a winner, so :class:`MaxPool` computes
  overlapping pools (AlexNet's and ResNet's 3x3 stride 2) as a max over shifted copies, one
  axis at a time, through a non-overlapping ``nn.MaxPool1d``.

Examples
--------
>>> import torch
>>> block = ConvNormAct(1, 4, 8, kernel_size=5, padding=2)
>>> block(torch.zeros(2, 4, 50)).shape
torch.Size([2, 8, 50])
>>> ConvNormAct(2, 3, 8, 3, stride=2, padding=1)(torch.zeros(2, 3, 16, 16)).shape
torch.Size([2, 8, 8, 8])

The blocks of one family live with it: ``BasicBlock``/``Bottleneck`` in
:mod:`seqcnn.models.resnet`, ``Inception`` in :mod:`seqcnn.models.googlenet`, the dilated
residual blocks in :mod:`seqcnn.models.residual` and :mod:`seqcnn.models.dilated`.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from seqcnn.exceptions import ConfigError, InputError, UnknownNameError

__all__ = [
    "ACTIVATIONS",
    "DEEPLIFT_ACTIVATIONS",
    "GLOBAL_POOLS",
    "NORMS",
    "POOLS",
    "ConvNormAct",
    "GlobalPool",
    "MaxPool",
    "MLPHead",
    "check_image_size",
    "check_length",
    "conv_receptive_field",
    "get_activation",
    "get_conv",
    "get_norm",
    "get_pool",
    "pair",
]

ActLike = str | Callable[[], nn.Module] | None
NormLike = str | Callable[[int], nn.Module] | None
PoolLike = str | Callable[..., nn.Module]

# name -> class; every call builds a new instance (one module per use).
ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "softplus": nn.Softplus,
    "identity": nn.Identity,
    "none": nn.Identity,
}
# The activations for which captum's DeepLIFT has a rule (GELU and SiLU would fall back to
# plain gradients and break completeness).
DEEPLIFT_ACTIVATIONS = ("relu", "leaky_relu", "elu", "tanh", "sigmoid", "softplus", "identity")

_CONVS: dict[int, type[nn.Module]] = {1: nn.Conv1d, 2: nn.Conv2d}
_MAX_POOLS: dict[int, type[nn.Module]] = {1: nn.MaxPool1d, 2: nn.MaxPool2d}


def _group_norm(channels: int) -> nn.Module:
    """GroupNorm with up to 32 groups of equal size."""
    return nn.GroupNorm(math.gcd(32, channels), channels)


# name -> {dim: factory(channels)}. Batch norm is affine in eval mode, so DeepLIFT stays
# exact; instance, group and layer norm divide by statistics of the input itself, so do not.
NORMS: dict[str, dict[int, Callable[[int], nn.Module]]] = {
    "batch": {1: nn.BatchNorm1d, 2: nn.BatchNorm2d},
    "instance": {
        1: lambda c: nn.InstanceNorm1d(c, affine=True),
        2: lambda c: nn.InstanceNorm2d(c, affine=True),
    },
    "group": {1: _group_norm, 2: _group_norm},
    "layer": {1: lambda c: nn.GroupNorm(1, c), 2: lambda c: nn.GroupNorm(1, c)},
    "none": {1: lambda c: nn.Identity(), 2: lambda c: nn.Identity()},
}

POOLS: dict[str, dict[int, Callable[..., nn.Module]]] = {
    "max": {1: lambda *a, **k: MaxPool(1, *a, **k), 2: lambda *a, **k: MaxPool(2, *a, **k)},
    "avg": {1: nn.AvgPool1d, 2: nn.AvgPool2d},
}
GLOBAL_POOLS = ("avg", "max", "maxavg")


def _check_dim(dim: int) -> int:
    if dim not in _CONVS:
        raise ConfigError(f"dim must be 1 (sequences) or 2 (images), got {dim!r}")
    return dim


def get_conv(dim: int) -> type[nn.Module]:
    """``nn.Conv1d`` or ``nn.Conv2d``."""
    return _CONVS[_check_dim(dim)]


def get_activation(act: ActLike = "relu") -> nn.Module:
    """A new activation module from a name in :data:`ACTIVATIONS` or a zero-argument callable.

    Parameters
    ----------
    act : str, callable or None
        A name (``"relu"``, ``"gelu"``, ...), a callable returning a module (``nn.ReLU``,
        ``functools.partial(nn.LeakyReLU, 0.2)``), or ``None`` for the identity.

    Returns
    -------
    nn.Module
        A fresh instance, never shared with another use.

    Examples
    --------
    >>> get_activation("relu")
    ReLU()
    >>> get_activation("relu") is get_activation("relu")
    False
    """
    if act is None:
        return nn.Identity()
    if isinstance(act, nn.Module):
        raise ConfigError(
            "pass an activation name or class (e.g. nn.ReLU), not a module instance: "
            "each use needs its own module for captum"
        )
    if isinstance(act, str):
        try:
            return ACTIVATIONS[act.lower()]()
        except KeyError:
            raise UnknownNameError("activation", act, list(ACTIVATIONS)) from None
    module = act()
    if not isinstance(module, nn.Module):
        raise ConfigError(f"activation callable {act!r} returned {type(module).__name__}")
    return module


def _is_none(name: object) -> bool:
    return name is None or (isinstance(name, str) and name.lower() in ("none", "identity"))


def get_norm(norm: NormLike, dim: int, channels: int) -> nn.Module:
    """A normalisation module for ``channels`` channels of a ``dim``-D feature map.

    Parameters
    ----------
    norm : str, callable or None
        A name in :data:`NORMS` (``"batch"``, ``"instance"``, ``"group"``, ``"layer"``,
        ``"none"``), a callable taking the number of channels (``nn.BatchNorm2d``), or ``None``.
    dim : {1, 2}
        1 for ``(N, C, L)``, 2 for ``(N, C, H, W)``.
    channels : int
        Number of channels ``C``.

    Examples
    --------
    >>> type(get_norm("batch", 1, 16)).__name__
    'BatchNorm1d'
    >>> type(get_norm("batch", 2, 16)).__name__
    'BatchNorm2d'
    """
    _check_dim(dim)
    if norm is None:
        return nn.Identity()
    if isinstance(norm, str):
        try:
            return NORMS[norm.lower()][dim](channels)
        except KeyError:
            raise UnknownNameError("normalisation", norm, list(NORMS)) from None
    return norm(channels)


def get_pool(
    pool: PoolLike,
    dim: int,
    kernel_size: int,
    stride: int | None = None,
    padding: int = 0,
    ceil_mode: bool = False,
) -> nn.Module:
    """A local pooling module: ``"max"`` (:class:`MaxPool`), ``"avg"``, or a callable.

    Examples
    --------
    >>> get_pool("avg", 1, 4)
    AvgPool1d(kernel_size=(4,), stride=(4,), padding=(0,))
    >>> get_pool("max", 2, 3, stride=2)  # doctest: +ELLIPSIS
    MaxPool(
      dim=2, kernel_size=3, stride=2, padding=0, ceil_mode=False
    ...
    """
    _check_dim(dim)
    if isinstance(pool, str):
        try:
            factory = POOLS[pool.lower()][dim]
        except KeyError:
            raise UnknownNameError("pooling", pool, list(POOLS)) from None
    else:
        factory = pool
    return factory(kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode)


class MaxPool(nn.Module):
    """Max pooling over ``dim`` axes that keeps DeepLIFT complete.

    Gives the same values and gradients as ``nn.MaxPool1d/2d``. Non-overlapping windows
    (``kernel_size <= stride``) go straight to ``nn.MaxPool1d/2d`` on a private copy of the
    input. Overlapping windows are computed one axis at a time: the ``kernel_size`` shifted,
    strided slices of the (padded) input are interleaved along that axis, so that each window
    is a contiguous run, and reduced by a non-overlapping ``nn.MaxPool1d/2d``, for which
    captum's rule is exact. Padding uses the dtype's lowest finite value, so that input and
    baseline agree there. That costs a few copies of the feature map and about three times
    the time of the native pool, so it is done only while hooks (captum's) are attached to
    the axis pools; otherwise the native kernel computes the same values.

    Parameters
    ----------
    dim : {1, 2}
        Number of pooled axes.
    kernel_size : int
        Window along every axis.
    stride : int or None
        Step (default: ``kernel_size``).
    padding : int
        Implicit padding on both sides of every axis (at most half the window).
    ceil_mode : bool
        Round the output length up, as ``nn.MaxPool``.

    Shapes: ``(N, C, *S)`` to ``(N, C, *S')`` with the sizes of ``nn.MaxPool1d/2d``.

    Examples
    --------
    >>> x = torch.randn(2, 3, 9, 10)
    >>> torch.equal(MaxPool(2, 3, 2, 1)(x), nn.MaxPool2d(3, 2, 1)(x))
    True
    """

    def __init__(
        self,
        dim: int,
        kernel_size: int,
        stride: int | None = None,
        padding: int = 0,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.dim = _check_dim(dim)
        self.kernel_size = kernel_size
        self.stride = stride or kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        if 2 * padding > kernel_size:
            raise ConfigError(f"max-pool padding {padding} is over half the window {kernel_size}")
        self.overlapping = kernel_size > self.stride
        if self.overlapping:  # one non-overlapping pool per axis, with a window along it only
            windows = [kernel_size] if dim == 1 else [(kernel_size, 1), (1, kernel_size)]
            self.axis_pools = nn.ModuleList(_MAX_POOLS[dim](w) for w in windows)
        else:
            self.pool = _MAX_POOLS[dim](kernel_size, self.stride, padding, ceil_mode=ceil_mode)

    def extra_repr(self) -> str:
        return (
            f"dim={self.dim}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}, ceil_mode={self.ceil_mode}"
        )

    def _out_length(self, length: int) -> int:
        k, s, p = self.kernel_size, self.stride, self.padding
        span = length + 2 * p - k
        out = (-(-span // s) if self.ceil_mode else span // s) + 1
        if self.ceil_mode and (out - 1) * s >= length + p:  # last window must start inside
            out -= 1
        return out

    def _pool_axis(self, x: torch.Tensor, axis: int, pool: nn.Module) -> torch.Tensor:
        k, s, p = self.kernel_size, self.stride, self.padding
        length = x.shape[axis]
        out = self._out_length(length)
        right = (out - 1) * s + k - length - p
        if p or right > 0:
            pads = [0, 0] * (x.dim() - 1 - axis % x.dim()) + [p, max(right, 0)]
            x = F.pad(x, pads, value=torch.finfo(x.dtype).min)
        index = [slice(None)] * x.dim()
        views = []
        for j in range(k):
            index[axis] = slice(j, j + (out - 1) * s + 1, s)
            views.append(x[tuple(index)])
        # each window's k values side by side along the axis, in a fresh tensor
        return pool(torch.stack(views, dim=axis).flatten(axis - 1, axis))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.overlapping:
            return self.pool(x.clone())
        first = self.axis_pools[0]
        if not (first._forward_hooks or first._forward_pre_hooks):
            # nobody (captum) is watching the axis pools: the native kernel, same values
            pool = F.max_pool1d if self.dim == 1 else F.max_pool2d
            return pool(x, self.kernel_size, self.stride, self.padding, ceil_mode=self.ceil_mode)
        for i, pool in enumerate(self.axis_pools):
            x = self._pool_axis(x, i - self.dim, pool)
        return x


def check_length(x: torch.Tensor, minimum: int, model: str) -> None:
    """Raise :class:`~seqcnn.exceptions.InputError` if ``x`` ``(N, C, L)`` is too short."""
    length = x.shape[-1]
    if length < minimum:
        raise InputError(
            f"input length {length} is shorter than the receptive field {minimum} of "
            f"{model!r}; give sequences of at least {minimum} bp or choose a smaller model"
        )


def pair(size: int | Sequence[int]) -> tuple[int, int]:
    """``(H, W)`` from an int or a pair (a list too: JSON turns tuples into lists)."""
    if isinstance(size, int):
        return size, size
    h, w = size
    return int(h), int(w)


def check_image_size(size: Sequence[int], minimum: int, model: str, config: bool = False) -> None:
    """Raise if an image side in ``size`` ``(H, W)`` is under ``minimum``.

    :class:`~seqcnn.exceptions.ConfigError` for a model option (``config=True``), else
    :class:`~seqcnn.exceptions.InputError` for an input.
    """
    h, w = (int(s) for s in size)
    if min(h, w) < minimum:
        error = ConfigError if config else InputError
        raise error(
            f"{h}x{w} images are too small for {model!r}: it needs at least "
            f"{minimum}x{minimum} (resize the images or choose a smaller model)"
        )


def conv_receptive_field(layers: Iterable[tuple[int, int, int]]) -> int:
    """Receptive field of a chain of layers given as ``(kernel_size, stride, dilation)``.

    Each layer widens the field by ``(kernel_size - 1) * dilation`` times the product of the
    strides before it.

    Examples
    --------
    >>> conv_receptive_field([(19, 1, 1), (3, 1, 1), (3, 1, 2), (3, 1, 4)])
    33
    """
    field, jump = 1, 1
    for kernel_size, stride, dilation in layers:
        field += (kernel_size - 1) * dilation * jump
        jump *= stride
    return field


class ConvNormAct(nn.Sequential):
    """Convolution, then normalisation, then activation (each optional but the convolution).

    Parameters
    ----------
    dim : {1, 2}
        Dimension of the convolution.
    in_channels, out_channels : int
        Channels in and out.
    kernel_size, stride, dilation, groups : int
        As in ``nn.Conv1d`` / ``nn.Conv2d``.
    padding : int, str or None
        ``None``: ``"same"`` at stride 1, else ``dilation * (kernel_size - 1) // 2``.
    norm, act : str, callable or None
        Chosen through :func:`get_norm` and :func:`get_activation`.
    bias : bool or None
        ``None``: a bias only when there is no normalisation.

    Shapes: ``(N, in_channels, *S)`` to ``(N, out_channels, *S')``.
    """

    def __init__(
        self,
        dim: int,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        padding: int | str | None = None,
        dilation: int = 1,
        groups: int = 1,
        norm: NormLike = "batch",
        act: ActLike = "relu",
        bias: bool | None = None,
    ) -> None:
        if padding is None:
            padding = "same" if stride == 1 else dilation * (kernel_size - 1) // 2
        if bias is None:
            bias = _is_none(norm)
        layers: OrderedDict[str, nn.Module] = OrderedDict(
            conv=get_conv(dim)(
                in_channels,
                out_channels,
                kernel_size,
                stride=stride,
                padding=padding,
                dilation=dilation,
                groups=groups,
                bias=bias,
            )
        )
        if not _is_none(norm):
            layers["norm"] = get_norm(norm, dim, out_channels)
        if not _is_none(act):
            layers["act"] = get_activation(act)
        super().__init__(layers)


class _GlobalMaxPool(nn.Module):
    """Max over all positions through an ``nn.MaxPool`` whose window is set to the input size.

    ``nn.AdaptiveMaxPool`` has no DeepLIFT rule in captum; ``nn.MaxPool1d/2d`` has one, so
    the window is resized to the whole feature map at each call. Without gradients (predicting)
    the maximum is taken directly: no copy, and several times faster on the CPU.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.pool = _MAX_POOLS[dim](1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.is_grad_enabled():  # inference: the same maxima, without a copy
            return x.amax(dim=tuple(range(2, x.ndim)), keepdim=True)
        size = tuple(x.shape[2:])
        self.pool.kernel_size = self.pool.stride = size if len(size) > 1 else size[0]
        return self.pool(x.clone())  # a private copy (see the module's docstring)


class GlobalPool(nn.Module):
    """Pool every channel over all positions: average, max, or both concatenated.

    Parameters
    ----------
    dim : {1, 2}
        Dimension.
    mode : {"avg", "max", "maxavg"}
        ``"maxavg"`` concatenates max then average, doubling the channels.
    flatten : bool
        Return ``(N, C')`` rather than ``(N, C', 1[, 1])``.

    Shapes: ``(N, C, *S)`` to ``(N, C * k)`` with ``k = 2`` for ``"maxavg"``, else 1.

    Examples
    --------
    >>> GlobalPool(1, "maxavg")(torch.ones(2, 3, 10)).shape
    torch.Size([2, 6])
    """

    def __init__(self, dim: int, mode: str = "avg", flatten: bool = True) -> None:
        super().__init__()
        _check_dim(dim)
        if mode not in GLOBAL_POOLS:
            raise UnknownNameError("global pooling", mode, list(GLOBAL_POOLS))
        self.mode = mode
        self.max = _GlobalMaxPool(dim) if mode in ("max", "maxavg") else None
        avg_cls = nn.AdaptiveAvgPool1d if dim == 1 else nn.AdaptiveAvgPool2d
        self.avg = avg_cls(1) if mode in ("avg", "maxavg") else None
        self.flatten = nn.Flatten() if flatten else nn.Identity()
        self.multiplier = 2 if mode == "maxavg" else 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = [p(x) for p in (self.max, self.avg) if p is not None]
        out = pooled[0] if len(pooled) == 1 else torch.cat(pooled, dim=1)
        return self.flatten(out)


class MLPHead(nn.Sequential):
    """Dense head: hidden ``linear, act`` layers, then a linear output, dropout before each.

    Parameters
    ----------
    in_features : int
        Features in.
    n_outputs : int
        Logits out.
    hidden : sequence of int
        Width of each hidden layer (empty for a linear head).
    dropout : float
        Dropout before every linear layer.
    act : str or callable
        Activation of the hidden layers.
    input_dropout : bool
        Dropout before the first linear layer too (torchvision's VGG has none there).

    Shapes: ``(N, in_features)`` to ``(N, n_outputs)``.
    """

    def __init__(
        self,
        in_features: int,
        n_outputs: int,
        hidden: Sequence[int] = (),
        dropout: float = 0.0,
        act: ActLike = "relu",
        input_dropout: bool = True,
    ) -> None:
        layers: list[nn.Module] = []
        width = in_features
        for i, h in enumerate(hidden):
            if dropout and (i > 0 or input_dropout):
                layers.append(nn.Dropout(dropout))
            layers += [nn.Linear(width, h), get_activation(act)]
            width = h
        if dropout and (hidden or input_dropout):
            layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(width, n_outputs))
        super().__init__(*layers)
