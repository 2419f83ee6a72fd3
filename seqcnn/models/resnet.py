"""ResNet (He et al. 2016): residual stages of basic or bottleneck blocks.

A 7x7 stride-2 stem and a max pool, four stages (the first stride 1, the others stride 2) of
:class:`~seqcnn.models.layers.BasicBlock` (ResNet-18/34) or
:class:`~seqcnn.models.layers.Bottleneck` (ResNet-50, stride on the 3x3 as torchvision), global
average pooling and a linear classifier: 11,689,512 / 21,797,672 / 25,557,032 parameters at
1000 classes and the default width.

For small images (MNIST, CIFAR) ``small_input=True`` replaces the stem by a 3x3 stride-1
convolution without max pool, so a 28x28 image is downsampled to 4x4 rather than 1x1, and
``base_width`` (64 by default) sets the channels of the first stage (the others double it):
``base_width=16`` cuts the parameters and the compute about 16-fold.

Examples
--------
>>> model = resnet18(n_outputs=10, in_channels=1, small_input=True, base_width=16)
>>> model(torch.zeros(2, 1, 28, 28)).shape
torch.Size([2, 10])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from seqcnn.exceptions import UnknownNameError
from seqcnn.models.layers import (
    ActLike,
    ConvNormAct,
    GlobalPool,
    MLPHead,
    NormLike,
    get_activation,
    get_pool,
)
from seqcnn.models.registry import register_model


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


BLOCKS = {"basic": BasicBlock, "bottleneck": Bottleneck}


class ResNet(nn.Module):
    """ResNet.

    Parameters
    ----------
    block : {"basic", "bottleneck"}
        Residual block type.
    layers : sequence of int
        Blocks per stage (``(2, 2, 2, 2)`` for ResNet-18).
    n_outputs : int
        Number of classes.
    in_channels : int
        Image channels.
    input_size : int or (int, int)
        Nominal image size (unused: the global pooling accepts any size).
    small_input : bool
        3x3 stride-1 stem without max pool, for images of about 32 pixels or less.
    base_width : int
        Channels of the first stage; stage ``i`` has ``base_width * 2 ** i`` (times 4 at the
        output of bottleneck blocks).
    dropout : float
        Dropout before the classifier (none in the paper).
    zero_init_residual : bool
        Start the last normalisation of each block at zero, so each block starts as the
        identity (helps large batches).
    norm, act : str
        Normalisation and activation.

    Shapes: input ``(N, in_channels, H, W)``; output ``(N, n_outputs)`` logits.
    """

    def __init__(
        self,
        block: str,
        layers: Sequence[int],
        n_outputs: int = 1000,
        in_channels: int = 3,
        input_size: int | tuple[int, int] = 224,
        small_input: bool = False,
        base_width: int = 64,
        dropout: float = 0.0,
        zero_init_residual: bool = False,
        norm: str = "batch",
        act: str = "relu",
    ) -> None:
        super().__init__()
        if block not in BLOCKS:
            raise UnknownNameError("residual block", block, list(BLOCKS))
        block_cls = BLOCKS[block]
        if small_input:
            stem = [ConvNormAct(2, in_channels, base_width, 3, norm=norm, act=act)]
        else:
            stem = [
                ConvNormAct(2, in_channels, base_width, 7, stride=2, norm=norm, act=act),
                get_pool("max", 2, 3, stride=2, padding=1),
            ]
        self.stem = nn.Sequential(*stem)
        stages: list[nn.Module] = []
        channels = base_width
        for i, n_blocks in enumerate(layers):
            width = base_width * 2**i
            blocks = []
            for j in range(n_blocks):
                stride = 2 if i > 0 and j == 0 else 1
                blocks.append(block_cls(2, channels, width, stride, norm=norm, act=act))
                channels = width * block_cls.expansion
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.head = nn.Sequential(GlobalPool(2, "avg"), MLPHead(channels, n_outputs, (), dropout))
        self.num_features = channels
        self.output_stride = 2 ** (len(layers) - 1) * (1 if small_input else 4)
        self.receptive_field = None
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, block_cls):
                    nn.init.zeros_(m.body[-1].norm.weight)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Feature maps ``(N, num_features, H / output_stride, W / output_stride)``."""
        return self.stages(self.stem(x))

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, n_outputs)`` from the feature maps."""
        return self.head(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, n_outputs)`` for images ``(N, in_channels, H, W)``."""
        return self.forward_head(self.forward_features(x))


@register_model(dim=2)
def resnet18(n_outputs: int = 1000, in_channels: int = 3, **kwargs) -> ResNet:
    """ResNet-18: basic blocks (2, 2, 2, 2), 11.7M parameters at 1000 classes."""
    return ResNet("basic", (2, 2, 2, 2), n_outputs, in_channels, **kwargs)


@register_model(dim=2)
def resnet34(n_outputs: int = 1000, in_channels: int = 3, **kwargs) -> ResNet:
    """ResNet-34: basic blocks (3, 4, 6, 3), 21.8M parameters at 1000 classes."""
    return ResNet("basic", (3, 4, 6, 3), n_outputs, in_channels, **kwargs)


@register_model(dim=2)
def resnet50(n_outputs: int = 1000, in_channels: int = 3, **kwargs) -> ResNet:
    """ResNet-50: bottleneck blocks (3, 4, 6, 3), 25.6M parameters at 1000 classes."""
    return ResNet("bottleneck", (3, 4, 6, 3), n_outputs, in_channels, **kwargs)
