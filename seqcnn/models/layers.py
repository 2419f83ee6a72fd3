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
>>> block = BasicBlock(1, 4, 8, kernel_size=5)
>>> block(torch.zeros(2, 4, 50)).shape
torch.Size([2, 8, 50])
>>> BasicBlock(2, 3, 8, stride=2)(torch.zeros(2, 3, 16, 16)).shape
torch.Size([2, 8, 8, 8])
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
    "BasicBlock",
    "Bottleneck",
    "ConvNormAct",
    "DilatedResidualBlock",
    "DilatedResidualStack",
    "DilatedResidualUnit",
    "GlobalPool",
    "Inception",
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


def _shortcut(dim: int, in_channels: int, out_channels: int, stride: int, norm: NormLike):
    """Identity, or a 1x1 projection (+ norm) when the shape changes."""
    if stride == 1 and in_channels == out_channels:
        return nn.Identity()
    return ConvNormAct(dim, in_channels, out_channels, 1, stride=stride, norm=norm, act=None)


class BasicBlock(nn.Module):
    """ResNet basic block: two convolutions around an identity or projection shortcut.

    ``act(norm(conv(act(norm(conv(x))))) + shortcut(x))``; the first convolution carries the
    stride, the shortcut is a 1x1 convolution + norm when stride or channels change.

    Parameters
    ----------
    dim : {1, 2}
        Dimension.
    in_channels, out_channels : int
        Channels in and out.
    stride : int
        Stride of the first convolution (and of the shortcut).
    kernel_size, dilation : int
        Of both convolutions.
    norm, act : str or callable
        Normalisation and activation.
    dropout : float
        Dropout between the two convolutions.

    Shapes: ``(N, in_channels, *S)`` to ``(N, out_channels, *S / stride)``.
    """

    expansion = 1

    def __init__(
        self,
        dim: int,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        kernel_size: int = 3,
        dilation: int = 1,
        norm: NormLike = "batch",
        act: ActLike = "relu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.body = nn.Sequential(
            ConvNormAct(
                dim,
                in_channels,
                out_channels,
                kernel_size,
                stride,
                dilation=dilation,
                norm=norm,
                act=act,
            ),
            nn.Dropout(dropout) if dropout else nn.Identity(),
            ConvNormAct(
                dim,
                out_channels,
                out_channels,
                kernel_size,
                dilation=dilation,
                norm=norm,
                act=None,
            ),
        )
        self.shortcut = _shortcut(dim, in_channels, out_channels, stride, norm)
        self.act = get_activation(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))


class Bottleneck(nn.Module):
    """ResNet bottleneck block: 1x1 reduce, 3x3 (with the stride), 1x1 expand, plus shortcut.

    The stride sits on the 3x3 convolution (ResNet v1.5, as torchvision).

    Parameters
    ----------
    dim : {1, 2}
        Dimension.
    in_channels : int
        Channels in.
    channels : int
        Width of the bottleneck; the block outputs ``channels * expansion`` channels.
    stride : int
        Stride of the 3x3 convolution.
    expansion : int
        Output channels per bottleneck channel (4 in ResNet-50).
    norm, act : str or callable
        Normalisation and activation.

    Shapes: ``(N, in_channels, *S)`` to ``(N, channels * expansion, *S / stride)``.
    """

    expansion = 4

    def __init__(
        self,
        dim: int,
        in_channels: int,
        channels: int,
        stride: int = 1,
        expansion: int = 4,
        norm: NormLike = "batch",
        act: ActLike = "relu",
    ) -> None:
        super().__init__()
        out_channels = channels * expansion
        self.body = nn.Sequential(
            ConvNormAct(dim, in_channels, channels, 1, norm=norm, act=act),
            ConvNormAct(dim, channels, channels, 3, stride, norm=norm, act=act),
            ConvNormAct(dim, channels, out_channels, 1, norm=norm, act=None),
        )
        self.shortcut = _shortcut(dim, in_channels, out_channels, stride, norm)
        self.act = get_activation(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))


class DilatedResidualBlock(nn.Module):
    """A chain of dilated convolutions inside one residual connection (ResidualBind).

    ``act(x + norm(conv_dK(... act(norm(conv_d1(x))) ...)))``: one convolution per entry of
    ``dilations``, each followed by norm, activation and dropout except the last, which is
    added to the input before the final activation. Length and channels are kept.

    Parameters
    ----------
    dim : {1, 2}
        Dimension.
    channels : int
        Channels in and out.
    kernel_size : int
        Width of every convolution.
    dilations : sequence of int
        Dilation of each convolution in turn.
    norm, act : str or callable
        Normalisation and activation.
    dropout : float
        Dropout after each inner activation.

    Shapes: ``(N, channels, *S)`` to the same.
    """

    def __init__(
        self,
        dim: int,
        channels: int,
        kernel_size: int = 3,
        dilations: Sequence[int] = (1, 2, 4),
        norm: NormLike = "batch",
        act: ActLike = "relu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if not dilations:
            raise ConfigError("dilations must name at least one convolution")
        layers: list[nn.Module] = []
        for i, d in enumerate(dilations):
            last = i == len(dilations) - 1
            layers.append(
                ConvNormAct(
                    dim,
                    channels,
                    channels,
                    kernel_size,
                    dilation=d,
                    norm=norm,
                    act=None if last else act,
                )
            )
            if dropout and not last:
                layers.append(nn.Dropout(dropout))
        self.body = nn.Sequential(*layers)
        self.act = get_activation(act)
        self.receptive_field = conv_receptive_field((kernel_size, 1, d) for d in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.body(x))


class DilatedResidualUnit(nn.Module):
    """Pre-activation dilated residual unit (BPNet / Basenji): ``x + conv_d(act(norm(x)))``.

    Parameters
    ----------
    dim : {1, 2}
        Dimension.
    channels : int
        Channels in and out.
    kernel_size, dilation : int
        Of the dilated convolution.
    norm, act : str or callable
        Normalisation and activation.
    dropout : float
        Dropout on the residual branch.

    Shapes: ``(N, channels, *S)`` to the same.
    """

    def __init__(
        self,
        dim: int,
        channels: int,
        kernel_size: int = 3,
        dilation: int = 1,
        norm: NormLike = "batch",
        act: ActLike = "relu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.body = nn.Sequential(
            get_norm(norm, dim, channels),
            get_activation(act),
            get_conv(dim)(channels, channels, kernel_size, padding="same", dilation=dilation),
            nn.Dropout(dropout) if dropout else nn.Identity(),
        )
        self.receptive_field = (kernel_size - 1) * dilation + 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # a copy for the branch: without a norm, its activation would read x itself (see top)
        return x + self.body(x.clone())


class DilatedResidualStack(nn.Sequential):
    """A tower of :class:`DilatedResidualUnit` whose dilation grows geometrically.

    Unit ``i`` has dilation ``dilation_base ** i`` (1, 2, 4, 8, ... by default), so the
    receptive field grows exponentially with depth while the length is kept:
    ``1 + (kernel_size - 1) * sum(dilation_base ** i)``.

    Parameters
    ----------
    dim : {1, 2}
        Dimension.
    channels : int
        Channels in and out.
    n_layers : int
        Number of units.
    kernel_size : int
        Width of the dilated convolutions.
    dilation_base : int
        Growth factor of the dilation.
    norm, act : str or callable
        Normalisation and activation.
    dropout : float
        Dropout on each residual branch.

    Shapes: ``(N, channels, *S)`` to the same.

    Examples
    --------
    >>> DilatedResidualStack(1, 8, n_layers=4).receptive_field
    31
    """

    def __init__(
        self,
        dim: int,
        channels: int,
        n_layers: int = 5,
        kernel_size: int = 3,
        dilation_base: int = 2,
        norm: NormLike = "batch",
        act: ActLike = "relu",
        dropout: float = 0.0,
    ) -> None:
        dilations = [dilation_base**i for i in range(n_layers)]
        super().__init__(
            *(
                DilatedResidualUnit(dim, channels, kernel_size, d, norm, act, dropout)
                for d in dilations
            )
        )
        self.dilations = dilations
        self.receptive_field = conv_receptive_field((kernel_size, 1, d) for d in dilations)


class Inception(nn.Module):
    """Inception v1 module: parallel 1x1, 3x3, 5x5 and pooling paths, concatenated.

    The 3x3 and 5x5 paths start with a 1x1 reduction; the pooling path is a stride-1 3x3
    max pool followed by a 1x1 projection. Every convolution is :class:`ConvNormAct`.

    Parameters
    ----------
    dim : {1, 2}
        Dimension.
    in_channels : int
        Channels in.
    ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj : int
        Channels of each path, as in Table 1 of Szegedy et al. (2015).
    branch5_kernel : int
        Kernel of the "5x5" path: 5 as in the paper; torchvision's GoogLeNet uses 3.
    norm, act : str or callable
        Normalisation and activation.

    Shapes: ``(N, in_channels, *S)`` to ``(N, ch1x1 + ch3x3 + ch5x5 + pool_proj, *S)``.
    """

    def __init__(
        self,
        dim: int,
        in_channels: int,
        ch1x1: int,
        ch3x3red: int,
        ch3x3: int,
        ch5x5red: int,
        ch5x5: int,
        pool_proj: int,
        branch5_kernel: int = 5,
        norm: NormLike = "batch",
        act: ActLike = "relu",
    ) -> None:
        super().__init__()

        def cna(cin: int, cout: int, k: int) -> ConvNormAct:
            return ConvNormAct(dim, cin, cout, k, padding=k // 2, norm=norm, act=act)

        self.branch1 = cna(in_channels, ch1x1, 1)
        self.branch2 = nn.Sequential(cna(in_channels, ch3x3red, 1), cna(ch3x3red, ch3x3, 3))
        self.branch3 = nn.Sequential(
            cna(in_channels, ch5x5red, 1), cna(ch5x5red, ch5x5, branch5_kernel)
        )
        self.branch4 = nn.Sequential(
            get_pool("max", dim, 3, stride=1, padding=1, ceil_mode=True),
            cna(in_channels, pool_proj, 1),
        )
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = (self.branch1, self.branch2, self.branch3, self.branch4)
        return torch.cat([b(x) for b in branches], dim=1)


class _GlobalMaxPool(nn.Module):
    """Max over all positions through an ``nn.MaxPool`` whose window is set to the input size.

    ``nn.AdaptiveMaxPool`` has no DeepLIFT rule in captum; ``nn.MaxPool1d/2d`` has one, so
    the window is resized to the whole feature map at each call.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.pool = _MAX_POOLS[dim](1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
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
