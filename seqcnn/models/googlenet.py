"""GoogLeNet / Inception v1 (Szegedy et al. 2015), with batch normalisation as in torchvision.

A 7x7 stem, nine :class:`~seqcnn.models.layers.Inception` modules in three stages separated by
max pools, global average pooling, dropout and a linear classifier. The two auxiliary
classifiers of the paper (a training-time regulariser) are omitted, and so is local response
normalisation. The "5x5" paths use 5x5 kernels as in the paper (~7.0M parameters at 1000
classes); ``branch5_kernel=3`` gives torchvision's GoogLeNet (6,624,904 without aux heads).

Examples
--------
>>> model = googlenet(n_outputs=10)
>>> model(torch.zeros(2, 3, 32, 32)).shape
torch.Size([2, 10])
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
    get_pool,
)
from seqcnn.models.registry import register_model

# (in, 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool projection), Table 1 of the paper
INCEPTION_CFGS: dict[str, tuple[int, ...]] = {
    "3a": (192, 64, 96, 128, 16, 32, 32),
    "3b": (256, 128, 128, 192, 32, 96, 64),
    "4a": (480, 192, 96, 208, 16, 48, 64),
    "4b": (512, 160, 112, 224, 24, 64, 64),
    "4c": (512, 128, 128, 256, 24, 64, 64),
    "4d": (512, 112, 144, 288, 32, 64, 64),
    "4e": (528, 256, 160, 320, 32, 128, 128),
    "5a": (832, 256, 160, 320, 32, 128, 128),
    "5b": (832, 384, 192, 384, 48, 128, 128),
}


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


class GoogLeNet(nn.Module):
    """GoogLeNet (Inception v1) without auxiliary classifiers.

    Parameters
    ----------
    n_outputs : int
        Number of classes.
    in_channels : int
        Image channels.
    input_size : int or (int, int)
        Nominal image size (unused: any size from about 16 pixels works).
    dropout : float
        Dropout before the classifier (0.2 in torchvision, 0.4 in the paper).
    branch5_kernel : int
        Kernel of the "5x5" Inception paths (5 in the paper, 3 in torchvision).
    norm, act : str
        Normalisation and activation.

    Shapes: input ``(N, in_channels, H, W)``; output ``(N, n_outputs)`` logits.
    """

    def __init__(
        self,
        n_outputs: int = 1000,
        in_channels: int = 3,
        input_size: int | tuple[int, int] = 224,
        dropout: float = 0.2,
        branch5_kernel: int = 5,
        norm: str = "batch",
        act: str = "relu",
    ) -> None:
        super().__init__()

        def inception(name: str) -> Inception:
            return Inception(2, *INCEPTION_CFGS[name], branch5_kernel, norm, act)

        def maxpool(k: int = 3) -> nn.Module:
            return get_pool("max", 2, k, stride=2, ceil_mode=True)

        self.features = nn.Sequential(
            ConvNormAct(2, in_channels, 64, 7, stride=2, norm=norm, act=act),
            maxpool(),
            ConvNormAct(2, 64, 64, 1, norm=norm, act=act),
            ConvNormAct(2, 64, 192, 3, padding=1, norm=norm, act=act),
            maxpool(),
            inception("3a"),
            inception("3b"),
            maxpool(),
            *(inception(n) for n in ("4a", "4b", "4c", "4d", "4e")),
            maxpool(2),
            inception("5a"),
            inception("5b"),
        )
        self.head = nn.Sequential(GlobalPool(2, "avg"), MLPHead(1024, n_outputs, (), dropout))
        self.num_features = 1024
        self.output_stride = 32
        self.receptive_field = None

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Feature maps ``(N, 1024, H / 32, W / 32)``."""
        return self.features(x)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, n_outputs)`` from the feature maps."""
        return self.head(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, n_outputs)`` for images ``(N, in_channels, H, W)``."""
        return self.forward_head(self.forward_features(x))


@register_model(dim=2)
def googlenet(n_outputs: int = 1000, in_channels: int = 3, **kwargs) -> GoogLeNet:
    """GoogLeNet / Inception v1 with batch norm, no auxiliary heads (~7.0M at 1000 classes)."""
    return GoogLeNet(n_outputs=n_outputs, in_channels=in_channels, **kwargs)
