"""Fully convolutional dense prediction (Long et al. 2015, FCN-32s) on any 2D backbone.

The backbone's feature maps (``forward_features``) go through a convolutional classifier
(an optional 3x3 convolution, dropout, then a 1x1 convolution to one channel per class) and are
upsampled back to the input size by a transposed convolution of stride ``output_stride``,
initialised to bilinear interpolation and learned. When the backbone's border arithmetic makes
the upsampled map larger than the input it is centre-cropped, when smaller it is padded by
replicating its border. Every step is linear or a module, so DeepLIFT stays complete per pixel.

Examples
--------
>>> model = fcn_resnet18(n_outputs=3, in_channels=1, small_input=True, base_width=8)
>>> model(torch.zeros(2, 1, 28, 28)).shape
torch.Size([2, 3, 28, 28])
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seqcnn.exceptions import ConfigError
from seqcnn.models.layers import ConvNormAct
from seqcnn.models.registry import create_model, get_model_spec, register_model


def bilinear_kernel(channels: int, kernel_size: int) -> torch.Tensor:
    """Weights ``(channels, 1, k, k)`` of a depthwise transposed convolution that upsamples
    bilinearly."""
    factor = (kernel_size + 1) // 2
    center = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    og = torch.arange(kernel_size, dtype=torch.float32)
    filt = 1 - (og - center).abs() / factor
    return (filt[:, None] * filt[None, :]).expand(channels, 1, kernel_size, kernel_size).clone()


def _fit(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Centre-crop or replicate-pad the last two axes of ``x`` to ``size``."""
    pads: list[int] = []
    for axis, target in ((-1, size[1]), (-2, size[0])):
        extra = x.shape[axis] - target
        if extra > 0:
            x = x.narrow(axis, extra // 2, target)
            pads += [0, 0]
        else:
            pads += [-extra // 2, -extra - (-extra // 2)]
    if any(pads):
        x = F.pad(x, pads, mode="replicate")
    return x


class FCN(nn.Module):
    """Dense prediction head on a backbone's feature maps.

    Parameters
    ----------
    backbone : nn.Module
        A 2D model with ``forward_features``, ``num_features`` (channels of the feature maps)
        and ``output_stride``; its classifier ``head``, if any, is removed.
    n_outputs : int
        Number of classes (one score map each).
    hidden : int
        Channels of a 3x3 convolution + norm + activation before the classifier; 0 for none.
    dropout : float
        Dropout before the 1x1 classifier.

    Shapes: input ``(N, C, H, W)``; output ``(N, n_outputs, H, W)`` logits.
    """

    def __init__(
        self, backbone: nn.Module, n_outputs: int, hidden: int = 0, dropout: float = 0.1
    ) -> None:
        super().__init__()
        missing = [
            a for a in ("forward_features", "num_features", "output_stride")
            if not hasattr(backbone, a)
        ]  # fmt: skip
        if missing:
            raise ConfigError(f"an FCN backbone needs {', '.join(missing)}")
        if hasattr(backbone, "head"):
            backbone.head = nn.Identity()
        self.backbone = backbone
        layers: list[nn.Module] = []
        channels = backbone.num_features
        if hidden:
            layers.append(ConvNormAct(2, channels, hidden, 3))
            channels = hidden
        if dropout:
            layers.append(nn.Dropout(dropout))
        layers.append(nn.Conv2d(channels, n_outputs, 1))
        self.classifier = nn.Sequential(*layers)
        s = int(backbone.output_stride)
        self.output_stride = s
        self.upsample = nn.ConvTranspose2d(
            n_outputs, n_outputs, 2 * s, stride=s, padding=s // 2, groups=n_outputs, bias=False
        )
        if not self.upsample.weight.is_meta:  # a meta model (list-models) needs shapes only
            with torch.no_grad():
                self.upsample.weight.copy_(bilinear_kernel(n_outputs, 2 * s))
        self.num_features = backbone.num_features
        self.receptive_field = None

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The backbone's feature maps ``(N, num_features, h, w)``."""
        return self.backbone.forward_features(x)

    def forward_head(
        self, features: torch.Tensor, output_size: tuple[int, int] | None = None
    ) -> torch.Tensor:
        """Score maps ``(N, n_outputs, *output_size)`` (default ``h * s, w * s``)."""
        scores = self.upsample(self.classifier(features))
        return scores if output_size is None else _fit(scores, tuple(output_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Score maps ``(N, n_outputs, H, W)`` for images ``(N, C, H, W)``."""
        return self.forward_head(self.forward_features(x), tuple(x.shape[-2:]))


@register_model(dim=2)
def fcn(
    n_outputs: int = 21,
    in_channels: int = 3,
    backbone: str = "resnet18",
    backbone_args: dict | None = None,
    hidden: int = 0,
    dropout: float = 0.1,
) -> FCN:
    """FCN-32s dense prediction on any registered 2D backbone (options backbone, backbone_args).

    ``backbone_args`` are the backbone builder's options; its classifier head is dropped.
    """
    spec = get_model_spec(backbone)
    if spec.dim != 2 or backbone.startswith("fcn"):
        raise ConfigError(f"an FCN backbone must be a 2D classifier, got {backbone!r}")
    net = create_model(backbone, n_outputs=1, in_channels=in_channels, **(backbone_args or {}))
    return FCN(net, n_outputs, hidden=hidden, dropout=dropout)


@register_model(dim=2)
def fcn_resnet18(
    n_outputs: int = 21, in_channels: int = 3, hidden: int = 0, dropout: float = 0.1, **kwargs
) -> FCN:
    """FCN-32s on ResNet-18; other options go to the backbone (e.g. small_input=True)."""
    return fcn(n_outputs, in_channels, "resnet18", kwargs, hidden, dropout)
