"""AlexNet (Krizhevsky et al. 2012), in torchvision's single-tower variant.

Five convolutions (11x11 stride 4, 5x5, then three 3x3) with three max pools, adaptive average
pooling to 6x6 and three dense layers with dropout; no local response normalisation. 61,100,840
parameters at 1000 classes. The input must be at least 63 pixels on each side.

Examples
--------
>>> model = alexnet(n_outputs=10, hidden=64)
>>> model(torch.zeros(2, 3, 64, 64)).shape
torch.Size([2, 10])
"""

from __future__ import annotations

import torch
from torch import nn

from seqcnn.models.layers import ConvNormAct, MLPHead, check_image_size, get_pool, pair
from seqcnn.models.registry import register_model

MIN_SIZE = 63  # three stride-2 3x3 max pools after a stride-4 11x11 convolution


class AlexNet(nn.Module):
    """AlexNet.

    Parameters
    ----------
    n_outputs : int
        Number of classes.
    in_channels : int
        Image channels.
    input_size : int or (int, int)
        Nominal image size (checked against the minimum of 63).
    hidden : int
        Units of the two hidden dense layers (4096 in the paper).
    pool_size : int
        Side of the adaptive average pooling before the dense layers (6 in the paper).
    dropout : float
        Dropout before each hidden dense layer.
    act : str
        Activation.

    Shapes: input ``(N, in_channels, H, W)`` with ``H, W >= 63``; output ``(N, n_outputs)``.
    """

    def __init__(
        self,
        n_outputs: int = 1000,
        in_channels: int = 3,
        input_size: int | tuple[int, int] = 224,
        hidden: int = 4096,
        pool_size: int = 6,
        dropout: float = 0.5,
        act: str = "relu",
    ) -> None:
        super().__init__()
        self.min_input_size = MIN_SIZE
        check_image_size(pair(input_size), MIN_SIZE, "alexnet", config=True)

        def conv(cin: int, cout: int, k: int, stride: int = 1) -> ConvNormAct:
            pad = 2 if k in (5, 11) else 1
            return ConvNormAct(2, cin, cout, k, stride, padding=pad, norm=None, act=act)

        self.features = nn.Sequential(
            conv(in_channels, 64, 11, stride=4),
            get_pool("max", 2, 3, stride=2),
            conv(64, 192, 5),
            get_pool("max", 2, 3, stride=2),
            conv(192, 384, 3),
            conv(384, 256, 3),
            conv(256, 256, 3),
            get_pool("max", 2, 3, stride=2),
        )
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(pool_size),
            nn.Flatten(),
            MLPHead(256 * pool_size**2, n_outputs, (hidden, hidden), dropout, act),
        )
        self.num_features = 256
        self.output_stride = 32
        self.receptive_field = None

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Feature maps ``(N, 256, h, w)``."""
        check_image_size(x.shape[-2:], MIN_SIZE, "alexnet")
        return self.features(x)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, n_outputs)`` from the feature maps."""
        return self.head(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, n_outputs)`` for images ``(N, in_channels, H, W)``."""
        return self.forward_head(self.forward_features(x))


@register_model(dim=2)
def alexnet(n_outputs: int = 1000, in_channels: int = 3, **kwargs) -> AlexNet:
    """AlexNet (torchvision variant): five convolutions, three dense layers (61.1M at 1000)."""
    return AlexNet(n_outputs=n_outputs, in_channels=in_channels, **kwargs)
