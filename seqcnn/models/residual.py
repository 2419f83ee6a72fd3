"""ResidualBind: DeepBind with a dilated residual block (after Koo et al. 2021).

A wide convolution scans for motifs, a residual block of dilated convolutions (dilation 1, 2,
4) looks at their neighbourhood, global pooling makes the score independent of the input
length, and a small dense head gives one logit per target. Both strands are scored and merged,
as DeepBind does. The defaults are sized for 101 bp ChIP-seq peaks on a CPU (~16k parameters).

Examples
--------
>>> import torch
>>> model = resbind(n_outputs=3)
>>> model(torch.zeros(2, 4, 101)).shape
torch.Size([2, 3])
>>> model.receptive_field
33
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from seqcnn.exceptions import ConfigError
from seqcnn.models.layers import (
    ActLike,
    ConvNormAct,
    GlobalPool,
    MLPHead,
    NormLike,
    check_length,
    conv_receptive_field,
    get_activation,
)
from seqcnn.models.registry import register_model
from seqcnn.models.strand import BothStrands


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


class ResidualBind(BothStrands, nn.Module):
    """Motif convolution, dilated residual block(s), global pooling, dense head.

    Parameters
    ----------
    n_outputs : int
        Number of targets (one logit each).
    in_channels : int
        Alphabet size (4 for DNA).
    n_filters : int
        Channels of every convolution.
    filter_width : int
        Width of the first (motif) convolution.
    kernel_size : int
        Width of the dilated convolutions.
    dilations : sequence of int
        Dilations of the convolutions inside each residual block.
    n_blocks : int
        Number of residual blocks.
    global_pool : {"max", "avg", "maxavg"}
        Pooling over positions; ``"maxavg"`` concatenates both.
    hidden : int
        Units of the dense hidden layer; 0 for none.
    dropout : float
        Dropout in the dense head (none in the convolutions: batch norm regularises them and
        dropout on whole feature maps costs ~10% of the training time).
    norm, act : str
        Normalisation and activation names (see :mod:`seqcnn.models.layers`).
    strands : {"max", "mean", "forward"}
        Score both strands and merge by max or mean, or the forward strand only.

    Notes
    -----
    Shapes: input ``(N, in_channels, L)`` with ``L >= receptive_field``; output
    ``(N, n_outputs)`` logits.
    """

    def __init__(
        self,
        n_outputs: int = 1,
        in_channels: int = 4,
        n_filters: int = 32,
        filter_width: int = 19,
        kernel_size: int = 3,
        dilations: Sequence[int] = (1, 2, 4),
        n_blocks: int = 1,
        global_pool: str = "maxavg",
        hidden: int = 64,
        dropout: float = 0.2,
        norm: str = "batch",
        act: str = "relu",
        strands: str = "max",
    ) -> None:
        super().__init__()
        self._init_strands(strands)
        self.stem = ConvNormAct(1, in_channels, n_filters, filter_width, norm=norm, act=act)
        self.blocks = nn.Sequential(
            *(
                DilatedResidualBlock(1, n_filters, kernel_size, dilations, norm, act)
                for _ in range(n_blocks)
            )
        )
        self.pool = GlobalPool(1, global_pool)
        self.head = MLPHead(
            n_filters * self.pool.multiplier,
            n_outputs,
            hidden=(hidden,) if hidden else (),
            dropout=dropout,
            act=act,
        )
        convs = [(filter_width, 1, 1)] + [(kernel_size, 1, d) for d in dilations] * n_blocks
        self.receptive_field = conv_receptive_field(convs)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Feature map ``(N, n_filters, L)`` from one-hot sequences ``(N, in_channels, L)``."""
        check_length(x, self.receptive_field, "resbind")
        return self.blocks(self.stem(x))

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, n_outputs)`` from the feature map ``(N, n_filters, L)``."""
        return self.head(self.pool(features))


@register_model(dim=1)
def resbind(n_outputs: int = 1, in_channels: int = 4, **kwargs) -> ResidualBind:
    """ResidualBind: motif convolution, dilated residual block, global pooling, dense head."""
    return ResidualBind(n_outputs=n_outputs, in_channels=in_channels, **kwargs)
