"""Training sets with drawn negatives, and hold-out splits (to be merged into datasets.py)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch

from seqcnn.io import SequenceTable
from seqcnn.sequence import dinucleotide_shuffle_many, one_hot_encode


class ShuffledNegatives:
    """Labelled sequences plus dinucleotide-shuffled negatives of the positives.

    DeepBind drew one shuffled negative per positive, once. With ``fresh=True`` a new set of
    shuffles is drawn every epoch (through :meth:`set_epoch`, called by the trainer), so the
    model never sees the same negative twice and cannot learn the quirks of one draw.

    Parameters
    ----------
    table : SequenceTable
        A single binary target; rows labelled 1 are the positives that get shuffled, rows
        labelled 0 are kept as they are.
    per_positive : int
        Shuffled negatives per positive.
    seed : int
        Draws are reproducible: epoch ``e`` uses the seed ``(seed, e)``.
    fresh : bool
        Draw new negatives every epoch (True) or keep the first draw (False).

    Attributes
    ----------
    x : torch.Tensor, shape (N + P * per_positive, 4, L)
    y : torch.Tensor, shape (N + P * per_positive, 1)
    """

    def __init__(
        self, table: SequenceTable, per_positive: int = 1, seed: int = 0, fresh: bool = True
    ) -> None:
        if per_positive < 1:
            raise ValueError(f"per_positive must be at least 1, got {per_positive}")
        self.base = table
        self.per_positive, self.seed, self.fresh = per_positive, seed, fresh
        self._x = table.encode()
        self._y = torch.from_numpy(np.asarray(table.labels, dtype=np.float32))
        self._pos = np.flatnonzero(table.labels[:, 0] == 1)
        self._drawn_for: int | None = None
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        """Draw the negatives of ``epoch`` (epoch 1 reuses the draw made at construction)."""
        draw = epoch if self.fresh and epoch > 1 else 0
        if draw == self._drawn_for:
            return
        rng = np.random.default_rng([self.seed, draw])
        positives = [self.base.sequences[i] for i in self._pos]
        self._negatives = dinucleotide_shuffle_many(positives, self.per_positive, seed=rng)
        neg_x = one_hot_encode(self._negatives, length=self._x.shape[-1])
        self.x = torch.cat([self._x, neg_x])
        self.y = torch.cat([self._y, torch.zeros(len(self._negatives), 1)])
        self._drawn_for = draw

    def __len__(self) -> int:
        return len(self.y)

    @property
    def table(self) -> SequenceTable:
        """The current examples as a table; negatives are named ``<id>_shuffle<k>``."""
        ids = [
            f"{self.base.ids[i]}_shuffle{k}" for i in self._pos for k in range(self.per_positive)
        ]
        return SequenceTable(
            ids=list(self.base.ids) + ids,
            sequences=list(self.base.sequences) + list(self._negatives),
            labels=self.y.numpy().copy(),
            target_names=list(self.base.target_names),
            path=self.base.path,
        )

    def fixed(self) -> Any:
        """The current draw as plain tensors (for evaluation after training)."""
        from seqcnn.train import Tensors

        return Tensors(self.x, self.y)


def holdout_split(data: Any, fraction: float, rng: np.random.Generator) -> tuple[Any, Any]:
    """Split a table or image set at random into ``(1 - fraction, fraction)`` parts.

    Works on anything with ``__len__`` and ``subset(index)``.
    """
    n = len(data)
    n_valid = int(round(n * fraction))
    if n_valid < 1 or n_valid >= n:
        raise ValueError(
            f"cannot hold back {fraction:g} of {n} examples for validation; give --valid FILE"
        )
    order = rng.permutation(n)
    return data.subset(np.sort(order[n_valid:])), data.subset(np.sort(order[:n_valid]))
