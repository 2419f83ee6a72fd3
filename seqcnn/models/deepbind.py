"""DeepBind (Alipanahi et al. 2015, Nat Biotechnol 33:831).

Convolution as a motif scanner, rectification with a learned threshold (the convolution's
bias), global max and (optionally) average pooling, an optional hidden layer, dropout and a
linear output; both strands are scored and merged by max or mean.
"""

from __future__ import annotations

import torch
from torch import nn

from seqcnn.exceptions import ConfigError, UnknownNameError
from seqcnn.models.layers import GlobalPool
from seqcnn.models.registry import register_model
from seqcnn.models.strand import BothStrands

POOLINGS = ("max", "avg", "maxavg")


class DeepBind(BothStrands, nn.Module):
    """DeepBind network.

    Parameters
    ----------
    n_outputs : int
        Number of targets (one logit each).
    in_channels : int
        Alphabet size (4 for DNA).
    n_filters, filter_width : int
        Number and width of the motif detectors. The paper used 16 of width 24; 64 scored
        better on held-back ENCODE peaks (see the README's ENCODE table).
    pooling : {"max", "avg", "maxavg"}
        Global pooling of each detector over the sequence; "maxavg" concatenates both.
    hidden : int
        Units of the hidden layer; 0 for none.
    dropout : float
        Dropout before the output layer (as DeepBind).
    input_dropout : float
        Dropout of the pooled features before the hidden layer; 0 by default, since it
        slowed training markedly without improving validation AUROC.
    strands : {"max", "mean", "forward"}
        Score both strands and merge by max or mean, or the forward strand only.
    batch_norm : bool
        Batch normalisation of the detector outputs before rectification (faster training).

    Shapes: input ``(N, in_channels, L)`` with any ``L >= 1``; output ``(N, n_outputs)`` logits.
    """

    def __init__(
        self,
        n_outputs: int = 1,
        in_channels: int = 4,
        n_filters: int = 64,
        filter_width: int = 24,
        pooling: str = "max",
        hidden: int = 32,
        dropout: float = 0.5,
        input_dropout: float = 0.0,
        strands: str = "max",
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        for name, value in (("n_filters", n_filters), ("filter_width", filter_width)):
            if value < 1:
                raise ConfigError(f"deepbind: {name} must be at least 1, got {value}")
        if not 0 <= dropout < 1 or not 0 <= input_dropout < 1:
            raise ConfigError(f"deepbind: dropout must be in [0, 1), got {dropout}/{input_dropout}")
        if pooling not in POOLINGS:
            raise UnknownNameError("pooling", pooling, list(POOLINGS))
        self._init_strands(strands)
        # Padding of width-1 on both sides lets a motif hanging over either end still count,
        # as DeepBind's padding with uninformative columns did.
        self.conv = nn.Conv1d(in_channels, n_filters, filter_width, padding=filter_width - 1)
        self.norm = nn.BatchNorm1d(n_filters) if batch_norm else nn.Identity()
        self.act = nn.ReLU()
        self.pool = GlobalPool(1, pooling)  # has an exact DeepLIFT rule, unlike AdaptiveMaxPool
        n_pooled = n_filters * (2 if pooling == "maxavg" else 1)
        head: list[nn.Module] = [nn.Flatten()]
        if hidden:
            head += [nn.Dropout(input_dropout), nn.Linear(n_pooled, hidden), nn.ReLU()]
            n_pooled = hidden
        head += [nn.Dropout(dropout), nn.Linear(n_pooled, n_outputs)]
        self.head = nn.Sequential(*head)
        self.receptive_field = filter_width

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled detector activations ``(N, n_filters * k)``, k = 2 for "maxavg"."""
        return self.pool(self.act(self.norm(self.conv(x))))

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, n_outputs)`` from pooled features."""
        return self.head(features)


@register_model(dim=1)
def deepbind(n_outputs: int = 1, in_channels: int = 4, **kwargs) -> DeepBind:
    """DeepBind: one convolutional motif layer, global pooling, small dense head."""
    return DeepBind(n_outputs=n_outputs, in_channels=in_channels, **kwargs)
