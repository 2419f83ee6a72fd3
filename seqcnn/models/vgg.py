"""VGG (Simonyan & Zisserman 2015): stacks of 3x3 convolutions written as a list of layer sizes.

An architecture is a list in :data:`CFGS`: an int is a 3x3 convolution with that many
channels, ``"M"`` a 2x2 max pool. Adaptive average pooling to 7x7 and three dense layers
follow, as in torchvision (VGG-11 132,863,336 and VGG-16 138,357,544 parameters at 1000
classes). For small images, ``pool_size=1`` and a narrow ``hidden`` make a far smaller head.
Inputs must be at least 32 pixels on each side (five 2x2 pools).

Examples
--------
>>> model = vgg11(n_outputs=10, hidden=64, pool_size=1)
>>> model(torch.zeros(2, 3, 32, 32)).shape
torch.Size([2, 10])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from seqcnn.exceptions import UnknownNameError
from seqcnn.models.layers import ConvNormAct, MLPHead, check_image_size, get_pool, pair
from seqcnn.models.registry import register_model

CFGS: dict[str, list[int | str]] = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
              512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"],
}  # fmt: skip


class VGG(nn.Module):
    """VGG network from a list of layer sizes.

    Parameters
    ----------
    cfg : str or sequence of int and "M"
        A name in :data:`CFGS` or the list itself.
    n_outputs : int
        Number of classes.
    in_channels : int
        Image channels.
    batch_norm : bool
        Batch normalisation after every convolution (the ``_bn`` variants).
    input_size : int or (int, int)
        Nominal image size (checked against the minimum, ``2 ** number of pools``).
    hidden : int
        Units of the two hidden dense layers (4096 in the paper).
    pool_size : int
        Side of the adaptive average pooling before the dense layers (7 in torchvision).
    dropout : float
        Dropout after each hidden dense layer.
    act : str
        Activation.

    Shapes: input ``(N, in_channels, H, W)``; output ``(N, n_outputs)`` logits.
    """

    # No defaults for what the builders set: a run's config.json stores the class defaults
    # beside the builder's arguments, and must not name cfg or batch_norm twice.
    def __init__(
        self,
        cfg: str | Sequence[int | str],
        n_outputs: int,
        in_channels: int,
        batch_norm: bool,
        input_size: int | tuple[int, int] = 224,
        hidden: int = 4096,
        pool_size: int = 7,
        dropout: float = 0.5,
        act: str = "relu",
    ) -> None:
        super().__init__()
        if isinstance(cfg, str):
            if cfg not in CFGS:
                raise UnknownNameError("VGG configuration", cfg, list(CFGS))
            cfg = CFGS[cfg]
        layers: list[nn.Module] = []
        channels = in_channels
        for v in cfg:
            if v == "M":
                layers.append(get_pool("max", 2, 2))
            else:
                norm = "batch" if batch_norm else None
                layers.append(ConvNormAct(2, channels, int(v), 3, padding=1, norm=norm, act=act,
                                          bias=True))  # fmt: skip
                channels = int(v)
        self.features = nn.Sequential(*layers)
        self.min_input_size = 2 ** sum(v == "M" for v in cfg)
        check_image_size(pair(input_size), self.min_input_size, "vgg", config=True)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(pool_size),
            nn.Flatten(),
            MLPHead(
                channels * pool_size**2,
                n_outputs,
                (hidden, hidden),
                dropout,
                act,
                input_dropout=False,
            ),  # fmt: skip
        )
        self.num_features = channels
        self.output_stride = self.min_input_size
        self.receptive_field = None
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Feature maps ``(N, 512, H / 32, W / 32)``."""
        check_image_size(x.shape[-2:], self.min_input_size, "vgg")
        return self.features(x)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, n_outputs)`` from the feature maps."""
        return self.head(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, n_outputs)`` for images ``(N, in_channels, H, W)``."""
        return self.forward_head(self.forward_features(x))


@register_model(dim=2)
def vgg11(n_outputs: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-11 (configuration A), 132.9M parameters at 1000 classes."""
    return VGG("vgg11", n_outputs, in_channels, batch_norm=False, **kwargs)


@register_model(dim=2)
def vgg11_bn(n_outputs: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-11 with batch normalisation."""
    return VGG("vgg11", n_outputs, in_channels, batch_norm=True, **kwargs)


@register_model(dim=2)
def vgg16(n_outputs: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-16 (configuration D), 138.4M parameters at 1000 classes."""
    return VGG("vgg16", n_outputs, in_channels, batch_norm=False, **kwargs)


@register_model(dim=2)
def vgg16_bn(n_outputs: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-16 with batch normalisation."""
    return VGG("vgg16", n_outputs, in_channels, batch_norm=True, **kwargs)
