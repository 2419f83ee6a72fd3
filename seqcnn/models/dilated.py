"""Dilated residual network for sequences (Basenji / BPNet style).

A motif convolution followed by a tower of pre-activation residual units whose dilation doubles
at each layer (1, 2, 4, 8, ...), so that the receptive field grows exponentially with depth
while the length is kept; then global pooling and a dense head with one logit per target. The
receptive field is exact: ``filter_width + (kernel_size - 1) * (2 ** n_layers - 1)`` for the
default doubling, 81 bp at the defaults, which suit 101 bp ChIP-seq peaks.

Examples
--------
>>> import torch
>>> model = dilated(n_outputs=2)
>>> model.receptive_field
81
>>> model(torch.zeros(2, 4, 101)).shape
torch.Size([2, 2])
"""

from __future__ import annotations

import torch
from torch import nn

from seqcnn.models.layers import (
    ActLike,
    ConvNormAct,
    GlobalPool,
    MLPHead,
    NormLike,
    check_length,
    conv_receptive_field,
    get_activation,
    get_conv,
    get_norm,
)
from seqcnn.models.registry import register_model
from seqcnn.models.strand import BothStrands


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


class DilatedNet(BothStrands, nn.Module):
    """Motif convolution, tower of dilated residual units, global pooling, dense head.

    Parameters
    ----------
    n_outputs : int
        Number of targets (one logit each).
    in_channels : int
        Alphabet size (4 for DNA).
    channels : int
        Channels of the tower.
    filter_width : int
        Width of the first (motif) convolution.
    n_layers : int
        Residual units in the tower; unit ``i`` has dilation ``dilation_base ** i``.
    kernel_size : int
        Width of the dilated convolutions.
    dilation_base : int
        Growth factor of the dilation (2: doubling).
    global_pool : {"max", "avg", "maxavg"}
        Pooling over positions.
    hidden : int
        Units of the dense hidden layer; 0 for none.
    dropout : float
        Dropout in the dense head (none in the tower: batch norm regularises it).
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
        channels: int = 32,
        filter_width: int = 19,
        n_layers: int = 5,
        kernel_size: int = 3,
        dilation_base: int = 2,
        global_pool: str = "maxavg",
        hidden: int = 64,
        dropout: float = 0.2,
        norm: str = "batch",
        act: str = "relu",
        strands: str = "max",
    ) -> None:
        super().__init__()
        self._init_strands(strands)
        self.stem = ConvNormAct(1, in_channels, channels, filter_width, norm=None, act=None)
        self.tower = DilatedResidualStack(
            1, channels, n_layers, kernel_size, dilation_base, norm, act
        )
        # the units are pre-activation: normalise and activate once more before pooling
        self.final = nn.Sequential(get_norm(norm, 1, channels), get_activation(act))
        self.pool = GlobalPool(1, global_pool)
        self.head = MLPHead(
            channels * self.pool.multiplier,
            n_outputs,
            hidden=(hidden,) if hidden else (),
            dropout=dropout,
            act=act,
        )
        self.receptive_field = filter_width + self.tower.receptive_field - 1

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Feature map ``(N, channels, L)`` from one-hot sequences ``(N, in_channels, L)``."""
        check_length(x, self.receptive_field, "dilated")
        return self.final(self.tower(self.stem(x)))

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, n_outputs)`` from the feature map ``(N, channels, L)``."""
        return self.head(self.pool(features))


@register_model(dim=1)
def dilated(n_outputs: int = 1, in_channels: int = 4, **kwargs) -> DilatedNet:
    """Dilated residual tower (Basenji/BPNet style) with exact receptive field."""
    return DilatedNet(n_outputs=n_outputs, in_channels=in_channels, **kwargs)
