"""Datasets and splits: what the trainer iterates over.

- :class:`TensorData` (what the trainer needs) and :class:`Tensors` (its simplest form);
- :class:`SequenceDataset`: one-hot sequences ``(N, 4, L)`` and labels ``(N, T)`` as tensors;
- :class:`IntervalDataset`: genome windows around BED intervals, with random shifts redrawn
  every epoch (:meth:`IntervalDataset.set_epoch`);
- :class:`ShuffledNegatives`: a training set whose shuffled negatives are redrawn every epoch;
- :func:`split_by_chrom`: held-out chromosomes for validation and test;
  :func:`holdout_split`: a random held-out fraction.

Negatives and examples from genome intervals are in :mod:`seqcnn.negatives`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from seqcnn.exceptions import InputError
from seqcnn.io.bed import windows
from seqcnn.io.genome import Genome, GenomeRows
from seqcnn.io.table import SequenceTable
from seqcnn.sequence import (
    CompactOneHot,
    check_bytes,
    dinucleotide_shuffle_bytes,
    dinucleotide_shuffle_many,
    one_hot_bytes,
    one_hot_encode,
    sequence_bytes,
)

__all__ = [
    "GenomeWindows",
    "JitteredWindows",
    "TensorData",
    "Tensors",
    "SequenceDataset",
    "IntervalDataset",
    "ShuffledNegatives",
    "split_by_chrom",
    "holdout_split",
]


class TensorData(Protocol):
    """What the trainer needs of a dataset: input and label tensors of equal length.

    A dataset may also have ``set_epoch(epoch)``; the trainer calls it before every epoch.
    """

    x: torch.Tensor
    y: torch.Tensor


@dataclass
class Tensors:
    """The simplest :class:`TensorData`: two tensors."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.x)


def _as_labels(y, n: int) -> torch.Tensor | None:
    if y is None:
        return None
    t = torch.as_tensor(np.asarray(y, dtype=np.float32))
    if t.ndim == 1:
        t = t[:, None]
    if t.ndim != 2 or t.shape[0] != n:
        raise ValueError(f"labels must have shape ({n},) or ({n}, T), got {tuple(t.shape)}")
    return t


class SequenceDataset(Dataset):
    """One-hot sequences with labels, held as two tensors.

    Parameters
    ----------
    x : torch.Tensor (N, 4, L) or sequence of str (N,)
        One-hot sequences, or strings to encode (padded on the right to the longest, or to
        ``length``).
    y : array-like (N,) or (N, T), optional
        Labels; stored as float32 ``(N, T)``.
    length : int, optional
        Encoding length when ``x`` is strings.
    ids : sequence of str (N,), optional

    Attributes
    ----------
    x : torch.Tensor (N, 4, L) float32
    y : torch.Tensor (N, T) float32 or None
    ids : list of str or None

    Examples
    --------
    >>> ds = SequenceDataset(["ACGT", "TTGA"], [1, 0])
    >>> len(ds), ds.x.shape, ds.y.shape, ds[1][1].tolist()
    (2, torch.Size([2, 4, 4]), torch.Size([2, 1]), [0.0])
    """

    def __init__(
        self,
        x: torch.Tensor | Sequence[str],
        y=None,
        length: int | None = None,
        ids: Sequence[str] | None = None,
    ) -> None:
        if not isinstance(x, torch.Tensor):
            x = one_hot_encode(list(x), length=length, names=ids)
        if x.ndim != 3 or x.shape[1] != 4:
            raise ValueError(f"x must have shape (N, 4, L), got {tuple(x.shape)}")
        self.x = x.float()
        self.y = _as_labels(y, x.shape[0])
        self.ids = None if ids is None else list(ids)

    @classmethod
    def from_table(cls, table, length: int | None = None) -> SequenceDataset:
        """From a :class:`seqcnn.io.SequenceTable` (sequences, labels, ids)."""
        return cls(table.encode(length=length), table.labels, ids=table.ids)

    def __len__(self) -> int:
        return self.x.shape[0]

    def __getitem__(self, i):
        return self.x[i] if self.y is None else (self.x[i], self.y[i])


class IntervalDataset(SequenceDataset):
    """Genome windows around intervals as one-hot tensors, with random shifts (jitter).

    The windows are fetched and encoded once, ``2 * jitter`` bp wider than ``length``;
    ``.x`` holds the ``length``-bp crops. :meth:`set_epoch` (called by the trainer before
    every epoch) draws a new shift in ``[-jitter, jitter]`` for every window, reproducibly
    from ``(seed, epoch)``; :meth:`resample` draws one from the dataset's own generator.
    Until then, and for evaluation, every crop is centred.

    Parameters
    ----------
    bed : pandas.DataFrame
        Intervals or windows (``chrom start end``; ``summit`` used when present), e.g. the
        ``meta`` of :func:`interval_examples` with ``center="middle"``.
    genome : Genome
    length : int
    labels : array-like (N,) or (N, T), optional
    center : {"summit", "middle"}
    jitter : int
    seed : int, optional
        Seed of the shifts.

    Attributes
    ----------
    x : CompactOneHot (N, 4, length)
        The current crops as bytes (redrawn in place by :meth:`set_epoch`); indexing gives
        float32 one-hot.
    y : torch.Tensor (N, T) or None
    meta : pandas.DataFrame
        The windows (without jitter).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "g.fa"
    >>> _ = p.write_text(">c\\n" + "ACGT" * 50 + "\\n")
    >>> bed = pd.DataFrame({"chrom": ["c", "c"], "start": [50, 120], "end": [60, 130]})
    >>> ds = IntervalDataset(bed, Genome(p), 8, labels=[1, 0], jitter=3, seed=0)
    >>> ds.x.shape, ds.resample().x.shape
    (torch.Size([2, 4, 8]), torch.Size([2, 4, 8]))
    """

    def __init__(
        self,
        bed: pd.DataFrame,
        genome: Genome,
        length: int,
        labels=None,
        center: str = "summit",
        jitter: int = 0,
        seed: int | None = None,
    ) -> None:
        if jitter < 0:
            raise InputError(f"jitter must be >= 0, got {jitter}")
        self.length, self.jitter = int(length), int(jitter)
        self.meta = windows(bed, length, center=center)
        wide = windows(bed, length + 2 * jitter, center=center)
        wide["start"] = self.meta["start"] - jitter  # same centre whatever the parity
        wide["end"] = self.meta["end"] + jitter
        # the wide windows' bytes, gathered from the genome's arrays (no strings), and the
        # current crops: two bytes per base in all, one-hot made per batch
        self._full = check_bytes(genome.interval_codes(wide))
        self._crops = np.ascontiguousarray(self._full[:, jitter : jitter + length])
        self._seed = 0 if seed is None else int(seed)
        self._rng = np.random.default_rng(seed)
        ids = self.meta["name"].astype(str).tolist() if "name" in self.meta.columns else None
        self.x = CompactOneHot(torch.from_numpy(self._crops))
        self.y = _as_labels(labels, len(self._crops))
        self.ids = ids

    def set_epoch(self, epoch: int) -> None:
        """Draw the shifts of ``epoch`` (the trainer calls this before every epoch).

        Epoch ``e`` uses the seed ``(seed, e)``, so a run is reproducible and a resumed run
        sees the same shifts; epoch 0 (and ``jitter=0``) gives the centred crops.
        """
        if self.jitter == 0:
            return
        if epoch == 0:
            self._crops[:] = self._full[:, self.jitter : self.jitter + self.length]
            return
        rng = np.random.default_rng([self._seed, epoch])
        self._shift(rng)

    def resample(self) -> IntervalDataset:
        """Draw a new random shift for every window and rebuild ``.x``; returns ``self``."""
        if self.jitter:
            self._shift(self._rng)
        return self

    def _shift(self, rng: np.random.Generator) -> None:
        n = self._full.shape[0]
        offset = rng.integers(0, 2 * self.jitter + 1, size=n)
        view = np.lib.stride_tricks.sliding_window_view(self._full, self.length, axis=1)
        for s in range(0, n, 1 << 16):  # in chunks: the copy's temporary stays small
            rows = np.arange(s, min(s + (1 << 16), n))
            self._crops[rows] = view[rows, offset[rows]]


class GenomeWindows:
    """Model inputs ``(N, 4, L)`` read from the genome batch by batch (training from BED
    windows in bounded memory: the genome's arrays plus ~16 bytes a window).

    ``x[index]`` and :meth:`batch` gather the windows' bytes and one-hot encode them, as
    :class:`~seqcnn.sequence.CompactOneHot` does for bytes held in memory.
    """

    def __init__(self, rows: GenomeRows) -> None:
        self.rows = rows

    @property
    def shape(self) -> torch.Size:
        return torch.Size([len(self.rows), 4, self.rows.length])

    @property
    def nbytes(self) -> int:
        return int(self.rows.start.nbytes + self.rows.chrom.nbytes)

    def __len__(self) -> int:
        return len(self.rows)

    def size(self, dim: int | None = None):
        return self.shape if dim is None else self.shape[dim]

    def _index(self, index) -> np.ndarray | slice:
        if isinstance(index, torch.Tensor):
            return index.cpu().numpy()
        return index

    def __getitem__(self, index) -> torch.Tensor:
        return one_hot_bytes(self.rows.codes(self._index(index)))

    def batch(
        self, index, device: str | torch.device | None = None, dtype: torch.dtype = torch.float32
    ) -> torch.Tensor:
        """One-hot of rows ``index``, made on ``device`` (bytes cross to a GPU)."""
        part = torch.from_numpy(self.rows.codes(self._index(index)))
        if device is not None and torch.device(device).type == "cuda":
            part = part.pin_memory()
        return one_hot_bytes(part, dtype=dtype, device=device)


class JitteredWindows:
    """Genome windows that move by up to ``jitter`` bp, anew each epoch (augmentation).

    :meth:`set_epoch` (called by the trainer) draws every window's shift in
    ``[-jitter, jitter]`` from ``(seed, epoch)``, kept on its contig; epoch 0 and
    :meth:`fixed` give the windows as read. Batches are gathered from the genome
    (:class:`GenomeWindows`), so nothing but the coordinates is held.

    Attributes
    ----------
    x : GenomeWindows (N, 4, L)
    y : torch.Tensor (N, T)
    """

    def __init__(self, rows: GenomeRows, y: torch.Tensor, jitter: int, seed: int = 0) -> None:
        if jitter < 0:
            raise InputError(f"jitter must be >= 0, got {jitter}")
        self._rows0 = rows
        self._rows = rows.subset(slice(None))
        self._rows.start = rows.start.copy()
        self.x, self.y = GenomeWindows(self._rows), y
        self.jitter, self.seed = int(jitter), int(seed)
        sizes = np.array([rows.genome.chrom_sizes[c] for c in rows.chrom], dtype=np.int64)
        self._low = np.maximum(-self.jitter, -rows.start)  # stay on the contig
        self._high = np.minimum(self.jitter, sizes - rows.start - rows.length)
        self._low = np.minimum(self._low, 0)
        self._high = np.maximum(self._high, 0)

    def __len__(self) -> int:
        return len(self.y)

    def set_epoch(self, epoch: int) -> None:
        """Draw the shifts of ``epoch`` (0: none)."""
        if epoch == 0 or self.jitter == 0:
            self._rows.start[:] = self._rows0.start
            return
        rng = np.random.default_rng([self.seed, epoch])
        self._rows.start[:] = self._rows0.start + rng.integers(self._low, self._high + 1)
        self._rows.check()  # shifted windows reach bases no window read before

    def fixed(self) -> Tensors:
        """The windows as read (unshifted), for evaluation after training."""
        return Tensors(GenomeWindows(self._rows0), self.y)


class _BufferRows(Sequence):
    """The first ``n`` rows of a ``(M, L)`` byte buffer, read as strings (a table's sequences
    kept once, as bytes)."""

    def __init__(self, buffer: np.ndarray, n: int) -> None:
        self._buffer, self._n = buffer, n

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._n))]
        if not -self._n <= i < self._n:
            raise IndexError(i)
        return self._buffer[i % self._n].tobytes().decode("ascii")


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
    x : CompactOneHot, shape (N + P * per_positive, 4, L)
        One buffer of ASCII bytes (one byte per base): the table's rows, then the negatives,
        redrawn in place; indexing gives float32 one-hot batches.
    y : torch.Tensor, shape (N + P * per_positive, 1)

    Examples
    --------
    >>> from seqcnn.io import SequenceTable
    >>> t = SequenceTable(ids=["a", "b"], sequences=["ACGTTGCA", "GGATCCAA"],
    ...                   labels=np.ones((2, 1), np.float32), target_names=["bound"])
    >>> ds = ShuffledNegatives(t, seed=0)
    >>> ds.x.shape, ds.y[:, 0].tolist(), ds.x.nbytes
    (torch.Size([4, 4, 8]), [1.0, 1.0, 0.0, 0.0], 32)
    """

    def __init__(
        self, table: SequenceTable, per_positive: int = 1, seed: int = 0, fresh: bool = True
    ) -> None:
        if per_positive < 1:
            raise InputError(
                f"negatives per positive must be at least 1, got {per_positive}; "
                "set --negatives-per-positive 1 or more"
            )
        self.base = table
        self.per_positive, self.seed, self.fresh = per_positive, seed, fresh
        self._pos = np.flatnonzero(table.labels[:, 0] == 1)
        n, k = len(table), len(self._pos) * per_positive
        lengths = np.fromiter(map(len, table.sequences), dtype=np.int64, count=n)
        self._equal = bool(n) and bool((lengths == lengths[0]).all())
        width = int(lengths.max()) if n else 0
        # one buffer: the table's bytes, then room for the negatives (redrawn in place)
        self._buffer = np.empty((n + k, width), dtype=np.uint8)
        sequence_bytes(table.sequences, length=width, names=table.ids, out=self._buffer[:n])
        self.x = CompactOneHot(torch.from_numpy(self._buffer))
        if self._equal:  # the strings are no longer needed: read them back from the buffer
            self.base = dataclasses.replace(table, sequences=_BufferRows(self._buffer, n))
        self.y = torch.zeros(n + k, 1)
        self.y[:n] = torch.from_numpy(np.asarray(table.labels, dtype=np.float32))
        self._drawn_for: int | None = None
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        """Draw the negatives of ``epoch`` (epoch 1 reuses the draw made at construction)."""
        draw = epoch if self.fresh and epoch > 1 else 0
        if draw == self._drawn_for:
            return
        rng = np.random.default_rng([self.seed, draw])
        n = len(self.base)
        negatives = self._buffer[n:]
        if self._equal:  # the same draws as the string shuffle, made in the buffer
            dinucleotide_shuffle_bytes(
                self._buffer[:n], self.per_positive, seed=rng, out=negatives, rows=self._pos
            )
        else:  # unequal lengths: shuffle the strings, then write their bytes
            positives = [self.base.sequences[i] for i in self._pos]
            drawn = dinucleotide_shuffle_many(positives, self.per_positive, seed=rng)
            sequence_bytes(drawn, length=negatives.shape[1], out=negatives)
        self._drawn_for = draw

    @property
    def _negatives(self) -> list[str]:
        """The current negatives as strings (padding dropped)."""
        n = len(self.base)
        if self._equal:
            return [r.tobytes().decode("ascii") for r in self._buffer[n:]]
        lengths = np.repeat([len(self.base.sequences[i]) for i in self._pos], self.per_positive)
        rows = self._buffer[n:]
        return [
            r[:m].tobytes().decode("ascii") for r, m in zip(rows, lengths.tolist(), strict=True)
        ]

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

    def fixed(self) -> Tensors:
        """The current draw as plain tensors (for evaluation after training).

        They share this dataset's buffer (no copy): the next :meth:`set_epoch` that draws
        changes them too.
        """
        return Tensors(self.x, self.y)


def holdout_split(data: Any, fraction: float, rng: np.random.Generator) -> tuple[Any, Any]:
    """Split a table or image set at random into ``(1 - fraction, fraction)`` parts.

    Works on anything with ``__len__`` and ``subset(index)``.
    """
    n = len(data)
    n_valid = int(round(n * fraction))
    if n_valid < 1 or n_valid >= n:
        raise InputError(
            f"cannot hold back a fraction {fraction:g} of {n} examples (that leaves "
            f"{n_valid} held back and {n - n_valid} to train on): give a larger file, another "
            "fraction, or the held-out set as a file (--valid FILE / --test FILE)",
            path=getattr(data, "path", None),
        )
    order = rng.permutation(n)
    return data.subset(np.sort(order[n_valid:])), data.subset(np.sort(order[:n_valid]))


Split = TypeVar("Split", pd.DataFrame, SequenceTable)


def split_by_chrom(
    data: Split,
    valid_chroms: Sequence[str] | None = ("chr8",),
    test_chroms: Sequence[str] | None = ("chr9",),
) -> dict[str, Split]:
    """Split rows by chromosome: held-out contigs for validation and test, the rest train.

    Parameters
    ----------
    data : pandas.DataFrame or SequenceTable
        Rows with a ``chrom`` column: intervals, windows, the meta of
        :func:`seqcnn.negatives.interval_examples`, or the table of
        :func:`seqcnn.negatives.read_intervals`.
    valid_chroms, test_chroms : sequence of str or None
        Contigs of the validation and test sets; ``None`` or empty leaves that split out.

    Returns
    -------
    dict of str to the type of ``data``
        ``"train"`` and, when requested, ``"valid"`` and ``"test"`` (frames keep their
        original index, so ``df.index`` positions select matching sequences and labels).

    Raises
    ------
    InputError
        A contig in both held-out sets, or a split (train included) that would be empty;
        the message lists the contigs present and the options that choose others.

    Examples
    --------
    >>> df = pd.DataFrame({"chrom": ["chr1", "chr8", "chr9", "chr2"]})
    >>> {k: v["chrom"].tolist() for k, v in split_by_chrom(df).items()}
    {'train': ['chr1', 'chr2'], 'valid': ['chr8'], 'test': ['chr9']}
    """
    valid = [str(c) for c in (valid_chroms or ())]
    test = [str(c) for c in (test_chroms or ())]
    both = sorted(set(valid) & set(test))
    if both:
        raise InputError(f"contigs {both} are in both the validation and the test split")
    is_table = isinstance(data, SequenceTable)
    if is_table:
        chrom, where = np.asarray(data.columns["chrom"], dtype=str), data.path
    else:
        chrom, where = data["chrom"].astype(str).to_numpy(), data.attrs.get("path")
    masks = {"train": ~np.isin(chrom, valid + test)}
    if valid:
        masks["valid"] = np.isin(chrom, valid)
    if test:
        masks["test"] = np.isin(chrom, test)
    for name, mask in masks.items():
        if not mask.any():
            present = sorted(set(chrom.tolist()))
            wanted = {"valid": valid, "test": test}.get(name)
            what = f"contigs {wanted}" if wanted else "the remaining contigs"
            raise InputError(
                f"the {name} split is empty: no rows on {what}; contigs present: "
                f"{', '.join(present[:30])}"
                + (" ..." if len(present) > 30 else "")
                + "; choose others with --valid-chroms / --test-chroms",
                path=where,
            )
    if is_table:
        return {name: data.subset(np.flatnonzero(mask)) for name, mask in masks.items()}
    return {name: data.loc[mask] for name, mask in masks.items()}
