"""Scoring both DNA strands, as DeepBind does.

A one-hot sequence ``(N, 4, L)`` in ACGT order is reverse-complemented by flipping the channel
and length axes (:func:`seqcnn.sequence.reverse_complement_onehot`). :class:`BothStrands` runs
a network on a sequence and on its reverse complement in one batch and merges the two scores
with a pooling module (max or mean), so the result is the same for a sequence and its reverse
complement and stays captum-safe.
"""

from __future__ import annotations

import torch
from torch import nn

from seqcnn.exceptions import UnknownNameError
from seqcnn.sequence import reverse_complement_onehot

STRAND_MODES = ("max", "mean", "forward")


class StrandMerge(nn.Module):
    """Merge ``(2N, T)`` scores, strands interleaved (x0, rc0, x1, rc1, ...), into ``(N, T)``."""

    def __init__(self, mode: str = "max") -> None:
        super().__init__()
        if mode not in ("max", "mean"):
            raise UnknownNameError("strand mode", mode, ["max", "mean"])
        self.mode = mode
        self.pool = nn.MaxPool1d(2) if mode == "max" else nn.AvgPool1d(2)

    def forward(self, scores: torch.Tensor) -> torch.Tensor:
        paired = scores.reshape(scores.shape[0] // 2, 2, -1).transpose(1, 2)  # (N, T, 2)
        return self.pool(paired).squeeze(-1)


class BothStrands(nn.Module):
    """Mixin-style helper: ``forward`` scores both strands of ``x`` unless ``mode='forward'``.

    Subclasses define ``forward_features`` and ``forward_head``.
    """

    def _init_strands(self, mode: str) -> None:
        if mode not in STRAND_MODES:
            raise UnknownNameError("strand mode", mode, list(STRAND_MODES))
        self.strands = mode
        self.strand_merge = StrandMerge(mode) if mode != "forward" else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Scores ``(N, n_outputs)`` (logits) for one-hot sequences ``(N, 4, L)``."""
        if self.strand_merge is None:
            return self.forward_head(self.forward_features(x))
        # Interleaved, not concatenated: captum stacks [inputs; baselines] on the batch axis,
        # and each sequence must stay next to its own reverse complement for DeepLIFT.
        both = torch.stack([x, reverse_complement_onehot(x)], dim=1).flatten(0, 1)
        return self.strand_merge(self.forward_head(self.forward_features(both)))
