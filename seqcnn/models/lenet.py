"""LeNet-5 (LeCun et al. 1998): two convolution + subsampling stages and three dense layers.

The network expects 32x32 images; smaller ones (MNIST's 28x28) are zero-padded up to 32 by
the first convolution, as the original padded MNIST digits by 2. C5 is a 5x5 convolution over a
5x5 map, that is a dense layer on the flattened 16x5x5 features, and is written as one. With
``act="tanh", pool="avg"`` the network is the 1998 one (without the sparse C3 connection
table and the RBF output); the defaults (ReLU, max pooling) train faster. 61,706 parameters at
10 classes.

Examples
--------
>>> import torch
>>> model = lenet5(n_outputs=10, in_channels=1, input_size=28)
>>> model(torch.zeros(2, 1, 28, 28)).shape
torch.Size([2, 10])
"""

from __future__ import annotations

import torch
from torch import nn

from seqcnn.exceptions import ConfigError, InputError
from seqcnn.models.layers import ConvNormAct, get_activation, get_pool, pair
from seqcnn.models.registry import register_model


class LeNet5(nn.Module):
    """LeNet-5.

    Parameters
    ----------
    n_outputs : int
        Number of classes.
    in_channels : int
        Image channels.
    input_size : int or (int, int)
        Height and width of the images; sides under 32 are zero-padded to 32 in C1.
    act : str
        Activation (``"tanh"`` as in 1998, ``"relu"`` by default).
    pool : {"max", "avg"}
        Subsampling (``"avg"`` as in 1998).

    Shapes: input ``(N, in_channels, *input_size)``; output ``(N, n_outputs)`` logits.
    """

    def __init__(
        self,
        n_outputs: int = 10,
        in_channels: int = 1,
        input_size: int | tuple[int, int] = 32,
        act: str = "relu",
        pool: str = "max",
    ) -> None:
        super().__init__()
        self.input_size = pair(input_size)
        padding = tuple(max(0, (32 - s + 1) // 2) for s in self.input_size)
        h, w = (
            ((s + 2 * p - 4) // 2 - 4) // 2 for s, p in zip(self.input_size, padding, strict=True)
        )
        if h < 1 or w < 1:
            raise ConfigError(f"input_size {input_size} is too small for LeNet-5")
        self.features = nn.Sequential(
            ConvNormAct(2, in_channels, 6, 5, padding=padding, norm=None, act=act),  # C1
            get_pool(pool, 2, 2),  # S2
            ConvNormAct(2, 6, 16, 5, padding=0, norm=None, act=act),  # C3
            get_pool(pool, 2, 2),  # S4
        )
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * h * w, 120),  # C5
            get_activation(act),
            nn.Linear(120, 84),  # F6
            get_activation(act),
            nn.Linear(84, n_outputs),
        )
        self.num_features = 16
        self.output_stride = 4
        self.receptive_field = None

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Feature maps ``(N, 16, h, w)`` (5x5 for 28 or 32 pixel sides)."""
        if tuple(x.shape[-2:]) != self.input_size:
            raise InputError(
                f"lenet5 was built for {self.input_size[0]}x{self.input_size[1]} images "
                f"(input_size), got {x.shape[-2]}x{x.shape[-1]}"
            )
        return self.features(x)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, n_outputs)`` from the feature maps."""
        return self.head(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, n_outputs)`` for images ``(N, in_channels, H, W)``."""
        return self.forward_head(self.forward_features(x))


@register_model(dim=2)
def lenet5(
    n_outputs: int = 10, in_channels: int = 1, input_size: int | tuple[int, int] = 32, **kwargs
) -> LeNet5:
    """LeNet-5: two convolution + subsampling stages, three dense layers (~61.7k parameters)."""
    return LeNet5(n_outputs=n_outputs, in_channels=in_channels, input_size=input_size, **kwargs)
