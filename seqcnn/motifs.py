"""Motifs learned by a model's first convolution: filters to PWMs, influence, matching.

A 1D model's first ``nn.Conv1d`` scans the one-hot sequence with one detector per output
channel. This module turns each detector into a position weight matrix, by one of two published
recipes, on both strands:

- ``deepbind`` (Alipanahi et al. 2015): for each sequence, the window where the filter's
  activation is largest (over positions and strands), if that activation is positive;
- ``basset`` (Kelley et al. 2016): every window whose activation exceeds ``threshold`` times the
  filter's largest activation over the whole data set.

The activation is the convolution's output (bias included), passed through a batch
normalisation when the model applies one directly to it (found by a probe forward pass, so the
same code serves every registered 1D model). Windows are mapped to sequence positions through
the convolution's padding and stride; padding and ``N`` (all-zero) columns add nothing to the
counts, so each column has its own number of observations. Letter probabilities are
``(counts + pseudocount * background) / (observations + pseudocount)``.

:func:`filter_influence` ranks filters by what silencing each one costs the model;
:func:`match_motifs` compares PWMs with a motif collection (JASPAR 2024 CORE vertebrates from
``pyjaspar`` by default, or a MEME file) with memelite's TomTom, and calls a match significant
only under the rule calibrated on null filters (:data:`SIGNIFICANCE`; see docs/motifs.md).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from seqcnn.exceptions import ConfigError, InputError, require
from seqcnn.sequence import CompactOneHot, reverse_complement_onehot

if TYPE_CHECKING:  # pragma: no cover
    import os

    import pandas as pd

    from seqcnn.io.meme import Motif

__all__ = [
    "information_content",
    "trim_bounds",
    "pwm_from_counts",
    "pwm_from_sites",
    "FirstConv",
    "find_first_conv",
    "filter_activations",
    "FilterPWMs",
    "filter_pwms",
    "filter_influence",
    "jaspar_motifs",
    "load_database",
    "tomtom",
    "match_motifs",
    "shuffle_columns",
    "is_significant",
    "shuffle_p_values",
    "MATCH_COLUMNS",
    "data_background",
    "Database",
    "SIGNIFICANCE",
    "METHODS",
]

#: The PWM recipes of :func:`filter_pwms`.
METHODS = ("deepbind", "basset")
#: The JASPAR release used unless another is asked for (pyjaspar's own default is newer).
JASPAR_RELEASE = "JASPAR2024"


def information_content(pwm, background=None) -> np.ndarray:
    """Information content of each column of a PWM, in bits.

    Parameters
    ----------
    pwm : np.ndarray, shape (4, L)
        Letter probabilities per column (normalised here if they are counts).
    background : np.ndarray, shape (4,), optional
        Background letter frequencies; uniform by default, which gives ``2 - H`` bits.

    Returns
    -------
    np.ndarray, shape (L,)
        The relative entropy of each column to the background (``0 log 0 = 0``).

    Examples
    --------
    >>> pwm = np.array([[1.0, 0.25, 0.5], [0, 0.25, 0.5], [0, 0.25, 0], [0, 0.25, 0]])
    >>> information_content(pwm)
    array([2., 0., 1.])
    """
    probs = np.asarray(pwm, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[0] != 4:
        raise InputError(f"pwm: expected shape (4, L), got {probs.shape}")
    if (probs < 0).any() or not np.isfinite(probs).all():
        raise InputError("pwm: expected finite, non-negative probabilities or counts")
    probs = probs / np.clip(probs.sum(axis=0, keepdims=True), 1e-300, None)
    bg = _background(background)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(probs > 0, probs * np.log2(probs / bg[:, None]), 0.0)
    return terms.sum(axis=0)


def _background(background) -> np.ndarray:
    bg = np.full(4, 0.25) if background is None else np.asarray(background, dtype=np.float64)
    if bg.shape != (4,) or not np.isfinite(bg).all() or (bg <= 0).any():
        raise InputError(f"background: expected 4 positive frequencies, got {np.ravel(bg)}")
    return bg / bg.sum()


def trim_bounds(pwm, min_ic: float = 0.5) -> tuple[int, int]:
    """The span ``[start, stop)`` from the first to the last column with ``min_ic`` bits or more.

    Inner columns below the threshold are kept; ``(0, 0)`` when no column reaches it.

    Examples
    --------
    >>> pwm = np.full((4, 5), 0.25); pwm[:, 1] = [1, 0, 0, 0]; pwm[:, 3] = [0, 0.5, 0.5, 0]
    >>> trim_bounds(pwm)
    (1, 4)
    """
    keep = np.flatnonzero(information_content(pwm) >= min_ic)
    if keep.size == 0:
        return 0, 0
    return int(keep[0]), int(keep[-1]) + 1


def pwm_from_counts(counts, pseudocount: float = 1.0, background=None) -> np.ndarray:
    """Letter probabilities ``(counts + pseudocount * background) / (column total + pseudocount)``.

    Parameters
    ----------
    counts : np.ndarray, shape (4, L) or (F, 4, L)
        Letter counts (columns may have different totals: padding and ``N`` add nothing).
    pseudocount : float
        Total pseudocount per column, spread by ``background``; a column without observations
        becomes the background.
    background : np.ndarray, shape (4,), optional
        Letter frequencies, uniform by default.

    Returns
    -------
    np.ndarray, the shape of ``counts``

    Examples
    --------
    >>> pwm_from_counts(np.array([[3.0], [0], [0], [0]]), pseudocount=1.0).ravel().tolist()
    [0.8125, 0.0625, 0.0625, 0.0625]
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim not in (2, 3) or counts.shape[-2] != 4:
        raise InputError(f"counts: expected shape (4, L) or (F, 4, L), got {counts.shape}")
    if pseudocount < 0:
        raise ConfigError(f"pseudocount: expected a number >= 0, got {pseudocount}")
    bg = _background(background)[:, None]
    total = counts.sum(axis=-2, keepdims=True)
    denom = total + pseudocount
    with np.errstate(invalid="ignore", divide="ignore"):
        pwm = np.where(denom > 0, (counts + pseudocount * bg) / np.where(denom > 0, denom, 1), bg)
    return pwm


def pwm_from_sites(
    sites: Sequence[str] | np.ndarray | torch.Tensor, pseudocount: float = 0.0, background=None
) -> tuple[np.ndarray, int]:
    """A PWM from aligned binding sites of equal length.

    Parameters
    ----------
    sites : list of str, or np.ndarray / torch.Tensor of shape (n, 4, L)
        The aligned sites, as strings or one-hot; ``N`` adds nothing to its column.
    pseudocount, background
        As in :func:`pwm_from_counts`.

    Returns
    -------
    (np.ndarray of shape (4, L), int)
        The PWM and the number of sites.

    Examples
    --------
    >>> pwm, n = pwm_from_sites(["ACG", "ACT"])
    >>> pwm[:, 2].tolist(), n
    ([0.0, 0.0, 0.5, 0.5], 2)
    """
    if isinstance(sites, (np.ndarray, torch.Tensor)):
        onehot = np.asarray(sites, dtype=np.float64)
    else:
        from seqcnn.sequence import one_hot_encode

        sites = list(sites)
        lengths = {len(s) for s in sites}
        if len(lengths) != 1:
            raise InputError(f"sites: expected aligned sites of one length, got {sorted(lengths)}")
        onehot = np.asarray(one_hot_encode(sites), dtype=np.float64)
    if onehot.ndim != 3 or onehot.shape[1] != 4 or onehot.shape[0] == 0:
        raise InputError(f"sites: expected one-hot of shape (n, 4, L), got {onehot.shape}")
    return pwm_from_counts(onehot.sum(axis=0), pseudocount, background), int(onehot.shape[0])


# --------------------------------------------------------------------------------------------
# The first convolution and its activations


@dataclasses.dataclass
class FirstConv:
    """The motif layer of a model: its first ``nn.Conv1d`` and how windows map to positions.

    Attributes
    ----------
    conv : nn.Conv1d
        The first convolution applied to the input (found by a probe forward pass).
    norm : nn.Module or None
        A batch normalisation applied directly to the convolution's output, if any; the
        activation of a filter is taken after it.
    left_pad : int
        Zero columns the convolution adds before the sequence: window ``j`` starts at sequence
        position ``j * stride - left_pad``.
    """

    conv: nn.Conv1d
    norm: nn.Module | None
    left_pad: int

    @property
    def width(self) -> int:
        return int(self.conv.kernel_size[0])

    @property
    def stride(self) -> int:
        return int(self.conv.stride[0])

    @property
    def n_filters(self) -> int:
        return int(self.conv.out_channels)

    def weights(self) -> np.ndarray:
        """The filters ``(F, 4, width)`` as numpy (batch norm not folded in)."""
        return self.conv.weight.detach().float().cpu().numpy().copy()


def _left_padding(conv: nn.Conv1d) -> int:
    pad = conv.padding
    if isinstance(pad, str):
        if pad == "valid":
            return 0
        # PyTorch's "same": the total dilation * (k - 1) split with the smaller half first
        return conv.dilation[0] * (conv.kernel_size[0] - 1) // 2
    return int(pad[0])


def find_first_conv(model: nn.Module, x: torch.Tensor) -> FirstConv:
    """Find the first ``nn.Conv1d`` a forward pass of ``model`` on ``x`` calls.

    Parameters
    ----------
    model : nn.Module
        Any 1D model (deepbind, resbind, dilated, ...); left in its mode and on its device.
    x : torch.Tensor, shape (N, 4, L)
        A few input sequences for the probe.

    Returns
    -------
    FirstConv
    """
    if x.ndim != 3 or x.shape[1] != 4:
        raise InputError(f"sequences: expected one-hot of shape (N, 4, L), got {tuple(x.shape)}")
    calls: list[tuple[nn.Module, tuple, torch.Tensor]] = []

    def hook(module, inputs, output):
        calls.append((module, inputs, output))

    handles = [
        m.register_forward_hook(hook)
        for m in model.modules()
        if isinstance(m, (nn.Conv1d, nn.BatchNorm1d))
    ]
    was_training = model.training
    device = _model_device(model)
    try:
        model.eval()
        with torch.no_grad():
            model(x[:2].to(device))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    convs = [(m, out) for m, _, out in calls if isinstance(m, nn.Conv1d)]
    if not convs:
        raise ConfigError(
            f"{type(model).__name__} applies no nn.Conv1d to its input; motifs need a 1D "
            "convolutional model (seqcnn list-models shows the 1D ones)"
        )
    conv, out = convs[0]
    if conv.in_channels != 4 or conv.groups != 1 or conv.dilation[0] != 1:
        raise ConfigError(
            f"the first convolution of {type(model).__name__} ({conv}) is not a plain "
            "motif scanner (4 input channels, groups=1, dilation=1)"
        )
    if conv.padding_mode != "zeros":
        raise ConfigError(f"first convolution: padding_mode {conv.padding_mode!r} is not 'zeros'")
    # A batch norm is part of the motif layer when it normalises the convolution's output and
    # sits beside it in the same block (DeepBind's conv/norm, a ConvNormAct); one in another
    # block (the first unit of a residual tower reading the stem's output) is not.
    parents = {id(child): id(parent) for parent in model.modules() for child in parent.children()}
    norm = next(
        (
            m
            for m, inputs, _ in calls
            if isinstance(m, nn.BatchNorm1d)
            and inputs[0] is out
            and parents.get(id(m)) == parents.get(id(conv))
        ),
        None,
    )
    return FirstConv(conv=conv, norm=norm, left_pad=_left_padding(conv))


def _model_device(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def _as_onehot(X) -> torch.Tensor | CompactOneHot:
    """One-hot ``(N, 4, L)``: a tensor, or sequences kept as bytes (one-hot per batch)."""
    if not isinstance(X, CompactOneHot):
        X = torch.as_tensor(X)
    if len(X.shape) != 3 or X.shape[1] != 4 or X.shape[0] == 0:
        raise InputError(
            f"sequences: expected one-hot of shape (N, 4, L) with N >= 1, got {tuple(X.shape)}"
        )
    return X


def _strand_list(model: nn.Module, strands: str) -> int:
    """Number of strands to scan: 2 (sequence and reverse complement) or 1."""
    if strands == "auto":
        return 1 if getattr(model, "strands", "max") == "forward" else 2
    if strands not in ("both", "forward"):
        raise ConfigError(f"strands: expected 'auto', 'both' or 'forward', got {strands!r}")
    return 2 if strands == "both" else 1


def _batches(
    first: FirstConv,
    X: torch.Tensor,
    n_strands: int,
    batch_size: int,
    device: torch.device,
    verbose: bool,
    desc: str,
):
    """Yield ``(windows, activations)`` per batch, both on ``device``.

    ``windows``: (B, S, 4, n_windows, width) one-hot of each window (zeros where it hangs over
    an end); ``activations``: (B, S, F, n_windows). ``S`` strands: the sequence, then its
    reverse complement.
    """
    from tqdm.auto import tqdm

    k, stride, left = first.width, first.stride, first.left_pad
    if batch_size < 1:
        raise ConfigError(f"batch_size: expected a positive integer, got {batch_size}")
    with torch.no_grad():
        for start in tqdm(
            range(0, len(X), batch_size), disable=not verbose, unit="batch", desc=desc
        ):
            x = X[start : start + batch_size].to(device, torch.float32)
            if n_strands == 2:
                x = torch.stack([x, reverse_complement_onehot(x)], dim=1)
            else:
                x = x[:, None]
            b, s, _, length = x.shape
            flat = x.reshape(b * s, 4, length)
            act = first.conv(flat)
            if first.norm is not None:
                act = first.norm(act)
            n_win = act.shape[-1]
            right = max(0, (n_win - 1) * stride + k - left - length)
            padded = nn.functional.pad(flat, (left, right))
            windows = padded.unfold(-1, k, stride)[:, :, :n_win]  # (B*S, 4, n_win, k)
            yield (
                windows.reshape(b, s, 4, n_win, k),
                act.reshape(b, s, act.shape[1], n_win),
            )


def _drop_empty(windows: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
    """Activations with windows that hold no base (padding, ``N``) set to minus infinity."""
    real = windows.sum(dim=(2, 4)) > 0  # (B, S, W)
    return act.masked_fill(~real[:, :, None, :], -torch.inf)


class _Session:
    """Model in eval mode on the analysis device for a ``with`` block, then as it was."""

    def __init__(self, model: nn.Module, device) -> None:
        self.model = model
        self.device = torch.device(device) if device is not None else _model_device(model)

    def __enter__(self) -> torch.device:
        self.training, self.original = self.model.training, _model_device(self.model)
        self.model.eval().to(self.device)
        return self.device

    def __exit__(self, *exc) -> None:
        self.model.train(self.training).to(self.original)


def filter_activations(
    model: nn.Module,
    X,
    strands: str = "auto",
    batch_size: int = 256,
    device: str | torch.device | None = None,
    verbose: bool = False,
) -> torch.Tensor:
    """Activations of every first-layer filter at every window, on both strands.

    Parameters
    ----------
    model : nn.Module
        A 1D model; left on its device and in its mode.
    X : torch.Tensor, shape (N, 4, L)
        One-hot sequences.
    strands : {"auto", "both", "forward"}
        ``both`` scans the sequence and its reverse complement; ``auto`` does so unless the
        model scores the forward strand only.
    batch_size, device, verbose
        As in :func:`seqcnn.predict.predict`.

    Returns
    -------
    torch.Tensor, shape (N, S, F, W)
        On the CPU; ``S`` is 2 (sequence, reverse complement) or 1; window ``j`` of strand ``s``
        covers positions ``j * stride - left_pad`` onwards of that strand's sequence.

    Examples
    --------
    >>> from seqcnn.models import create_model
    >>> filter_activations(create_model("deepbind", n_filters=3), torch.zeros(2, 4, 30)).shape
    torch.Size([2, 2, 3, 53])
    """
    X = _as_onehot(X)
    n_strands = _strand_list(model, strands)
    with _Session(model, device) as dev:
        first = find_first_conv(model, X[:2])
        out = [
            act.cpu()
            for _, act in _batches(first, X, n_strands, batch_size, dev, verbose, "filters")
        ]
    return torch.cat(out)


# --------------------------------------------------------------------------------------------
# PWMs


@dataclasses.dataclass
class FilterPWMs:
    """PWMs of a model's first-layer filters.

    Attributes
    ----------
    counts : np.ndarray, shape (F, 4, width)
        Letter counts of the supporting windows.
    pwms : np.ndarray, shape (F, 4, width)
        Letter probabilities (see :func:`pwm_from_counts`).
    sites : np.ndarray, shape (F,)
        Supporting windows per filter.
    background : np.ndarray, shape (4,)
        The data's base composition (see :func:`data_background`), used for pseudocounts.
    bounds : np.ndarray, shape (F, 2)
        The trimmed span ``[start, stop)`` of each PWM (see :func:`trim_bounds`).
    max_activation : np.ndarray, shape (F,)
        Each filter's largest activation over the data set.
    method : str
        ``deepbind`` or ``basset``.
    threshold : float
        Basset's fraction of the maximum (0 for DeepBind's positive-activation rule).
    min_ic : float
        The trimming threshold, in bits.
    """

    counts: np.ndarray
    pwms: np.ndarray
    sites: np.ndarray
    background: np.ndarray
    bounds: np.ndarray
    max_activation: np.ndarray
    method: str
    threshold: float
    min_ic: float

    def __len__(self) -> int:
        return len(self.pwms)

    @property
    def names(self) -> list[str]:
        return [f"filter{i}" for i in range(len(self))]

    def trimmed(self, i: int) -> np.ndarray:
        """The trimmed PWM of filter ``i``, shape (4, stop - start) (may be empty)."""
        start, stop = self.bounds[i]
        return self.pwms[i][:, start:stop]

    def information(self, i: int | None = None) -> np.ndarray:
        """Total information (bits) of the trimmed PWM of filter ``i``, or of every filter."""
        if i is None:
            return np.array([self.information(j) for j in range(len(self))])
        trimmed = self.trimmed(i)
        return float(information_content(trimmed).sum()) if trimmed.shape[1] else 0.0

    def motifs(self) -> list[Motif]:
        """The PWMs as :class:`seqcnn.io.meme.Motif` records (full width, ``nsites`` = sites)."""
        from seqcnn.io.meme import Motif

        return [
            Motif(name=name, pwm=self.pwms[i], nsites=int(self.sites[i]))
            for i, name in enumerate(self.names)
        ]


def data_background(X) -> np.ndarray:
    """Base composition ``(4,)`` of one-hot sequences, ``N`` columns ignored.

    One pseudo-observation per letter keeps every frequency positive.

    Examples
    --------
    >>> data_background(torch.tensor([[[1.0, 1, 0, 0], [0, 0, 1, 0], [0] * 4, [0, 0, 0, 1]]]))
    array([0.375, 0.25 , 0.125, 0.25 ])
    """
    X = _as_onehot(X)
    counts = np.ones(4)  # in blocks: no float64 copy of the whole set
    for a in range(0, len(X), 4096):
        counts += X[a : a + 4096].sum(dim=(0, 2), dtype=torch.float64).cpu().numpy()
    return counts / counts.sum()


def filter_pwms(
    model: nn.Module,
    X,
    method: str = "deepbind",
    threshold: float = 0.5,
    pseudocount: float = 1.0,
    min_ic: float = 0.5,
    strands: str = "auto",
    batch_size: int = 256,
    device: str | torch.device | None = None,
    verbose: bool = False,
) -> FilterPWMs:
    """PWMs of the first-layer filters by DeepBind's or Basset's recipe.

    Parameters
    ----------
    model : nn.Module
        A 1D model; left on its device and in its mode.
    X : torch.Tensor, shape (N, 4, L)
        One-hot sequences (typically the bound ones, or all of a labelled set).
    method : {"deepbind", "basset"}
        ``deepbind``: per sequence, the window of maximal activation over positions and strands,
        when that activation is positive. ``basset``: every window (both strands) whose
        activation exceeds ``threshold`` times the filter's maximum over ``X``.
    threshold : float
        Basset's fraction of the maximum, in (0, 1].
    pseudocount : float
        Total pseudocount per column, spread by the data's base composition.
    min_ic : float
        Edge columns with less information (bits) are trimmed (see :func:`trim_bounds`).
    strands : {"auto", "both", "forward"}
        See :func:`filter_activations`.
    batch_size, device, verbose
        As in :func:`seqcnn.predict.predict`; ``verbose`` shows a progress bar.

    Returns
    -------
    FilterPWMs

    Examples
    --------
    >>> from seqcnn.models import create_model
    >>> _ = torch.manual_seed(0)
    >>> x = torch.eye(4)[torch.randint(0, 4, (20, 40))].transpose(1, 2)
    >>> res = filter_pwms(create_model("deepbind", n_filters=3, filter_width=8), x)
    >>> res.pwms.shape, res.sites.shape
    ((3, 4, 8), (3,))
    """
    if method not in METHODS:
        raise ConfigError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
    if method == "basset" and not 0 < threshold <= 1:
        raise ConfigError(f"threshold: expected a fraction in (0, 1], got {threshold}")
    X = _as_onehot(X)
    n_strands = _strand_list(model, strands)
    background = data_background(X)
    with _Session(model, device) as dev:
        first = find_first_conv(model, X[:2])
        n_f, k = first.n_filters, first.width
        counts = torch.zeros(n_f, 4, k, dtype=torch.float64, device=dev)
        sites = torch.zeros(n_f, dtype=torch.int64, device=dev)
        top = torch.full((n_f,), -torch.inf, dtype=torch.float64, device=dev)
        batches = _batches(first, X, n_strands, batch_size, dev, verbose, "activations")
        for windows, act in batches:
            act = _drop_empty(windows, act)
            b, s, _, n_win = act.shape
            per_seq = act.permute(0, 2, 1, 3).reshape(b, n_f, s * n_win)  # (B, F, S*W)
            best, where = per_seq.max(dim=-1)
            top = torch.maximum(top, best.max(dim=0).values.double())
            if method == "deepbind":
                mask = torch.zeros_like(per_seq)
                mask.scatter_(-1, where[..., None], (best > 0).to(mask.dtype)[..., None])
                mask = mask.reshape(b, n_f, s, n_win).permute(0, 2, 1, 3)
                counts += torch.einsum("bsfj,bscjk->fck", mask, windows).double()
                sites += mask.sum(dim=(0, 1, 3)).long()
        if method == "basset":
            cut = (threshold * top).clamp(min=0.0).float()
            batches = _batches(first, X, n_strands, batch_size, dev, verbose, "windows")
            for windows, act in batches:
                act = _drop_empty(windows, act)
                mask = (act > cut[None, None, :, None]).to(windows.dtype)
                counts += torch.einsum("bsfj,bscjk->fck", mask, windows).double()
                sites += mask.sum(dim=(0, 1, 3)).long()
    counts_np = counts.cpu().numpy()
    pwms = pwm_from_counts(counts_np, pseudocount, background)
    bounds = np.array([trim_bounds(p, min_ic) for p in pwms], dtype=np.int64).reshape(-1, 2)
    return FilterPWMs(
        counts=counts_np,
        pwms=pwms,
        sites=sites.cpu().numpy(),
        background=background,
        bounds=bounds,
        max_activation=top.cpu().numpy(),
        method=method,
        threshold=float(threshold) if method == "basset" else 0.0,
        min_ic=float(min_ic),
    )


# --------------------------------------------------------------------------------------------
# Influence


def filter_influence(
    model: nn.Module,
    X,
    y=None,
    filters: Sequence[int] | None = None,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    verbose: bool = False,
) -> np.ndarray:
    """What silencing each first-layer filter costs the model.

    The filter's activation (its channel of the first convolution's output, after a batch
    normalisation applied directly to it) is set to zero by a forward hook while the whole model
    scores ``X``.

    Parameters
    ----------
    model : nn.Module
        A 1D model; left on its device, in its mode and without hooks.
    X : torch.Tensor, shape (N, 4, L)
        One-hot sequences.
    y : array-like, shape (N,) or (N, T), optional
        Binary labels (NaN for missing). With both classes present, the influence is the drop
        in AUROC (mean over targets); without labels, the drop in the mean model output
        (logits for classifiers).
    filters : sequence of int, optional
        The filters to silence (all by default).
    batch_size, device, verbose
        As in :func:`seqcnn.predict.predict`.

    Returns
    -------
    np.ndarray, shape (len(filters),)
        Baseline metric minus the metric with the filter silenced (positive: the model needs it).
    """
    from tqdm.auto import tqdm

    from seqcnn.predict import predict

    X = _as_onehot(X)
    labels = None
    if y is not None:
        labels = np.asarray(y, dtype=np.float64)
        labels = labels[:, None] if labels.ndim == 1 else labels
        if labels.shape[0] != len(X):
            raise InputError(f"y: expected {len(X)} labels (one per sequence), got {len(labels)}")
        observed = labels[~np.isnan(labels)]
        if not np.isin(observed, (0.0, 1.0)).all():
            raise InputError("y: filter influence by AUROC needs binary labels (0/1, NaN)")

    def score(out: np.ndarray) -> float:
        if labels is None:
            return float(out.mean())
        from seqcnn.metrics import roc_auc

        values = []
        for t in range(labels.shape[1]):
            ok = ~np.isnan(labels[:, t])
            if len(np.unique(labels[ok, t])) == 2:
                values.append(roc_auc(labels[ok, t], out[ok, t]))
        return float(np.mean(values)) if values else float(out.mean())

    if labels is not None and not any(
        len(np.unique(labels[~np.isnan(labels[:, t]), t])) == 2 for t in range(labels.shape[1])
    ):
        labels = None  # one class only: fall back to the mean output
    with _Session(model, device) as dev:
        first = find_first_conv(model, X[:2])
        target = first.norm if first.norm is not None else first.conv
        chosen = list(range(first.n_filters)) if filters is None else [int(f) for f in filters]
        bad = [f for f in chosen if not 0 <= f < first.n_filters]
        if bad:
            raise InputError(f"filters: {bad} out of range; the model has {first.n_filters}")
        base = score(predict(model, X, batch_size=batch_size, device=dev).numpy())
        silenced: list[int] = []

        def silence(module, inputs, output):
            output = output.clone()
            output[:, silenced] = 0.0
            return output

        handle = target.register_forward_hook(silence)
        drops = []
        try:
            for f in tqdm(chosen, disable=not verbose, unit="filter", desc="influence"):
                silenced[:] = [f]
                out = predict(model, X, batch_size=batch_size, device=dev).numpy()
                drops.append(base - score(out))
        finally:
            handle.remove()
    return np.array(drops, dtype=np.float64)


# --------------------------------------------------------------------------------------------
# Matching against known motifs

#: When a best match is called significant. TomTom's p-values (memelite) are far too optimistic
#: for the weak, wide matrices that filters give: on null filters (untrained models,
#: column-shuffled trained filters) most best matches have q < 1e-4. So each PWM is also
#: compared with ``n_shuffles`` copies of itself with its columns shuffled (same columns, same
#: information, no order) and trimmed the same way, matched against the same targets:
#: ``shuffle_p`` is the fraction of copies (counting the PWM itself) whose best match is at
#: least as good (see :func:`shuffle_p_values`). A best match is significant when
#: ``shuffle_p <= max_shuffle_p``, its q-value is below ``max_q``, and the trimmed PWM has at
#: least ``min_width`` columns holding at least ``min_mean_information`` bits per column on
#: average (the null filters that pass the shuffle test are weak, wide matrices that align with
#: the weak flanks of long JASPAR matrices). docs/motifs.md gives the null rates.
SIGNIFICANCE = {
    "n_shuffles": 99,
    "max_shuffle_p": 0.01,
    "max_q": 0.05,
    "min_width": 5,
    "min_mean_information": 0.5,
}

_JASPAR_ID = re.compile(r"^MA\d{4}\.\d+$")


@dataclasses.dataclass
class Database:
    """A motif collection to match against.

    Attributes
    ----------
    motifs : list of Motif
        The matrices (``name`` is the matrix ID, ``alt_name`` the TF name).
    families : list of str
        The TF family of each matrix where known (JASPAR), else ``""``.
    source : str
        Where the collection came from (a path, or ``pyjaspar JASPAR2024 CORE vertebrates``).
    """

    motifs: list[Motif]
    families: list[str]
    source: str

    def __len__(self) -> int:
        return len(self.motifs)


def _pyjaspar_records(release: str, collection: str, tax_group: str | None):
    pyjaspar = require("pyjaspar", "motifs", "JASPAR motifs")
    db = pyjaspar.jaspardb(release=release)
    kwargs = {"collection": collection}
    if tax_group:
        kwargs["tax_group"] = [tax_group]
    return sorted(db.fetch_motifs(**kwargs), key=lambda m: m.matrix_id)


def _family(record) -> str:
    return "; ".join(record.tf_family or []) if record.tf_family else ""


def jaspar_motifs(
    release: str = JASPAR_RELEASE, collection: str = "CORE", tax_group: str | None = "vertebrates"
) -> Database:
    """JASPAR matrices from the sqlite that ``pyjaspar`` ships (offline), latest versions only.

    Parameters
    ----------
    release : str
        Always explicit: pyjaspar's default is a newer release than JASPAR 2024.
    collection : str
        ``CORE``, ``UNVALIDATED``, ...
    tax_group : str, optional
        ``vertebrates``, ``plants``, ... (``None`` for all).

    Returns
    -------
    Database
    """
    from seqcnn.io.meme import Motif

    motifs, families = [], []
    for rec in _pyjaspar_records(release, collection, tax_group):
        counts = np.array([rec.counts[b] for b in "ACGT"], dtype=np.float64)
        totals = counts.sum(axis=0)
        name = "".join(rec.name.split()) or None
        motifs.append(
            Motif(rec.matrix_id, counts / totals, name, int(round(totals[0])), counts=counts)
        )
        families.append(_family(rec))
    where = f"pyjaspar {release} {collection}" + (f" {tax_group}" if tax_group else "")
    return Database(motifs=motifs, families=families, source=where)


def load_database(path: str | os.PathLike | None = None, release: str = JASPAR_RELEASE) -> Database:
    """A motif collection: a MEME or JASPAR file, or JASPAR CORE vertebrates from pyjaspar.

    For files whose IDs are JASPAR matrix IDs, TF families are looked up in pyjaspar's
    ``release`` when pyjaspar is installed.
    """
    if path is None:
        return jaspar_motifs(release)
    from seqcnn.io.meme import read_motifs

    motifs = read_motifs(path)
    if not motifs:
        raise InputError("the motif file holds no motifs", path=path)
    families = [""] * len(motifs)
    if all(_JASPAR_ID.match(m.name) for m in motifs):
        try:
            known = {r.matrix_id: _family(r) for r in _pyjaspar_records(release, "CORE", None)}
        except ImportError:
            known = {}
        families = [known.get(m.name, "") for m in motifs]
    return Database(motifs=motifs, families=families, source=str(path))


def tomtom(queries: Sequence[np.ndarray], targets: Sequence[np.ndarray], threads: int = 1) -> dict:
    """memelite's TomTom of every query against every target (both strands of the targets).

    Parameters
    ----------
    queries : list of np.ndarray, each of shape (4, w)
        Query PWMs (letter probabilities); empty queries get p-value 1.
    targets : list of np.ndarray, each of shape (4, w)
        Target PWMs; 25 or more, since the background is built from their columns.
    threads : int
        numba threads.

    Returns
    -------
    dict of np.ndarray, each of shape (Q, T)
        ``p_value``, ``score``, ``offset``, ``overlap`` and ``strand`` (0: the target as given,
        1: its reverse complement), as memelite returns them.
    """
    memelite = require("memelite", "motifs", "motif matching (TomTom)")
    n_q, n_t = len(queries), len(targets)
    out = {k: np.full((n_q, n_t), np.nan) for k in ("score", "offset", "overlap", "strand")}
    out["p_value"] = np.ones((n_q, n_t))
    keep = [i for i, q in enumerate(queries) if np.asarray(q).shape[-1] > 0]
    if not keep or not n_t:
        return out
    qs = [np.asarray(queries[i], dtype=np.float64) for i in keep]
    ts = [np.ascontiguousarray(t, dtype=np.float64) for t in targets]
    p, score, offset, overlap, strand = memelite.tomtom(qs, ts, n_jobs=threads)
    for key, values in zip(
        ("p_value", "score", "offset", "overlap", "strand"),
        (p, score, offset, overlap, strand),
        strict=True,
    ):
        out[key][keep] = values
    out["p_value"] = np.clip(out["p_value"], 0.0, 1.0)
    return out


def _bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values along the last axis."""
    n = p.shape[-1]
    order = np.argsort(p, axis=-1, kind="stable")
    ranked = np.take_along_axis(p, order, axis=-1) * n / np.arange(1, n + 1)
    ranked = np.minimum.accumulate(ranked[..., ::-1], axis=-1)[..., ::-1]
    q = np.empty_like(p)
    np.put_along_axis(q, order, np.clip(ranked, 0, 1), axis=-1)
    return q


def is_significant(q_value, shuffle_p, width, information, rule: dict | None = None) -> np.ndarray:
    """The significance rule (:data:`SIGNIFICANCE`, or ``rule``) applied elementwise.

    Parameters
    ----------
    q_value, shuffle_p : array-like
        The best match's q-value and the PWM's ``shuffle_p``.
    width, information : array-like
        Columns and total information (bits) of the trimmed PWM.
    rule : dict, optional
        The keys of :data:`SIGNIFICANCE`.

    Examples
    --------
    >>> is_significant([1e-5, 1e-5, 0.2, 1e-5], [0.01, 0.2, 0.01, 0.01], [8] * 4, [8, 8, 8, 3])
    array([ True, False, False, False])
    """
    rule = SIGNIFICANCE if rule is None else {**SIGNIFICANCE, **rule}
    width = np.asarray(width, dtype=np.float64)
    information = np.asarray(information, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_information = np.where(width > 0, information / np.where(width > 0, width, 1), 0.0)
    return (
        (np.asarray(q_value, dtype=np.float64) < rule["max_q"])
        & (np.asarray(shuffle_p, dtype=np.float64) <= rule["max_shuffle_p"])
        & (width >= rule["min_width"])
        & (mean_information >= rule["min_mean_information"])
    )


def shuffle_columns(pwm, rng: int | np.random.Generator | None = None) -> np.ndarray:
    """The PWM with its columns in a random order (a null that keeps each column's content).

    Examples
    --------
    >>> pwm = np.eye(4)
    >>> sorted(map(tuple, shuffle_columns(pwm, 0).T)) == sorted(map(tuple, pwm.T))
    True
    """
    pwm = np.asarray(pwm)
    rng = np.random.default_rng(rng)
    return pwm[:, rng.permutation(pwm.shape[1])]


def shuffle_p_values(
    pwms: Sequence[np.ndarray],
    targets: Sequence[np.ndarray],
    best_p: np.ndarray,
    min_ic: float = 0.5,
    n_shuffles: int = 99,
    seed: int = 0,
    threads: int = 1,
) -> np.ndarray:
    """How often column-shuffled copies of each PWM match the targets at least as well.

    Each copy is the untrimmed PWM with its columns in a random order, trimmed like the PWM
    itself (:func:`trim_bounds` with ``min_ic``), so that a null PWM and its copies are
    exchangeable: shuffling only the trimmed PWM would move its weak inner columns to the
    edges, and the copies would then match worse than any trimmed PWM does.

    Parameters
    ----------
    pwms : list of np.ndarray, each of shape (4, w)
        The untrimmed PWMs.
    targets : list of np.ndarray, each of shape (4, w)
        The target PWMs.
    best_p : np.ndarray, shape (Q,)
        Each trimmed PWM's best TomTom p-value over the targets (1 when nothing is left).
    min_ic : float
        The trimming threshold the PWMs were trimmed with.
    n_shuffles : int
        Shuffled copies per PWM.
    seed : int
        Seed of the shuffles (the same PWMs give the same answer).
    threads : int
        numba threads.

    Returns
    -------
    np.ndarray, shape (Q,)
        ``(1 + #copies whose best p-value <= best_p) / (n_shuffles + 1)``; 1 for PWMs with
        nothing left after trimming.
    """
    best_p = np.asarray(best_p, dtype=np.float64)
    out = np.ones(len(pwms))
    if n_shuffles < 1:
        return out
    rng = np.random.default_rng(seed)
    keep = [i for i, p in enumerate(pwms) if best_p[i] < 1 and np.asarray(p).shape[-1] > 0]
    if not keep:
        return out
    copies = []
    for i in keep:
        for _ in range(n_shuffles):
            copy = shuffle_columns(pwms[i], rng)
            start, stop = trim_bounds(copy, min_ic)
            copies.append(copy[:, start:stop])
    null = tomtom(copies, targets, threads=threads)["p_value"].min(axis=1)
    null = null.reshape(len(keep), n_shuffles)
    out[keep] = (1 + (null <= best_p[keep, None]).sum(axis=1)) / (n_shuffles + 1)
    return out


def match_motifs(
    pwms: FilterPWMs | Sequence[Motif] | Sequence[np.ndarray],
    database: Database | None = None,
    n_best: int = 3,
    min_ic: float | None = None,
    names: Sequence[str] | None = None,
    threads: int = 1,
    rule: dict | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Best TomTom matches of each PWM in a motif collection, with calibrated significance.

    Parameters
    ----------
    pwms : FilterPWMs, list of Motif or list of np.ndarray of shape (4, w)
        The queries. For :class:`FilterPWMs` the trimmed PWMs are matched; other PWMs are
        trimmed with ``min_ic`` first (0.5 bits when not given; 0 keeps them whole).
    database : Database, optional
        JASPAR 2024 CORE vertebrates from pyjaspar by default (see :func:`load_database`).
    n_best : int
        Matches reported per query.
    min_ic : float, optional
        Trimming threshold for queries that are not :class:`FilterPWMs`.
    names : list of str, optional
        Query names (default: the motif names, or ``filter0``, ``filter1``, ...).
    threads : int
        numba threads for TomTom.
    rule : dict, optional
        A significance rule other than :data:`SIGNIFICANCE` (same keys).
    seed : int
        Seed of the column shuffles of the significance rule.

    Returns
    -------
    pandas.DataFrame
        One row per query and rank (a query without any column left after trimming gets one
        row with no target): ``query, query_start, query_width, query_information, rank,
        target, target_name, target_family, p_value, e_value, q_value, shuffle_p, offset,
        overlap, strand, significant``. ``e_value`` is ``p_value`` times the number of targets,
        ``q_value`` the Benjamini-Hochberg q-value among the query's matches to all targets,
        ``shuffle_p`` the query's calibration (see :data:`SIGNIFICANCE`), ``strand`` ``+`` when
        the target matches as given and ``-`` when its reverse complement does, ``offset`` and
        ``overlap`` as memelite reports them. ``significant`` applies the rule to the best match
        only; later ranks are never called significant.
    """
    import pandas as pd

    rule = SIGNIFICANCE if rule is None else {**SIGNIFICANCE, **rule}
    if n_best < 1:
        raise ConfigError(f"n_best: expected a positive integer, got {n_best}")
    database = jaspar_motifs() if database is None else database
    if isinstance(pwms, FilterPWMs):
        full, threshold = list(pwms.pwms), pwms.min_ic
        queries = [pwms.trimmed(i) for i in range(len(pwms))]
        starts = [int(b[0]) for b in pwms.bounds]
        default_names = pwms.names
    else:
        full = [m.pwm if hasattr(m, "pwm") else np.asarray(m, dtype=np.float64) for m in pwms]
        threshold = 0.5 if min_ic is None else min_ic
        bounds = [trim_bounds(p, threshold) for p in full]
        queries = [p[:, a:b] for p, (a, b) in zip(full, bounds, strict=True)]
        starts = [a for a, _ in bounds]
        default_names = [getattr(m, "name", f"filter{i}") for i, m in enumerate(pwms)]
    names = list(default_names if names is None else names)
    if len(names) != len(queries):
        raise InputError(f"names: expected {len(queries)}, got {len(names)}")
    targets = [m.pwm for m in database.motifs]
    n_t = len(targets)
    res = tomtom(queries, targets, threads=threads)
    q_all = _bh(res["p_value"]) if n_t else res["p_value"]
    best = res["p_value"].min(axis=1) if n_t else np.ones(len(queries))
    shuffle_p = shuffle_p_values(
        full, targets, best, threshold, int(rule["n_shuffles"]), seed, threads
    )
    rows = []
    for i, query in enumerate(queries):
        width = query.shape[1]
        info = float(information_content(query).sum()) if width else 0.0
        base = {
            "query": names[i],
            "query_start": starts[i],
            "query_width": width,
            "query_information": round(info, 4),
        }
        if width == 0 or n_t == 0:
            rows.append({**base, "rank": 1, "shuffle_p": 1.0, "significant": False})
            continue
        order = np.argsort(res["p_value"][i], kind="stable")[:n_best]
        for rank, j in enumerate(order, start=1):
            target = database.motifs[j]
            p, q = float(res["p_value"][i, j]), float(q_all[i, j])
            rows.append(
                {
                    **base,
                    "rank": rank,
                    "target": target.name,
                    "target_name": target.alt_name or "",
                    "target_family": database.families[j],
                    "p_value": p,
                    "e_value": p * n_t,
                    "q_value": q,
                    "shuffle_p": float(shuffle_p[i]),
                    "offset": int(res["offset"][i, j]),
                    "overlap": int(res["overlap"][i, j]),
                    "strand": "-" if res["strand"][i, j] == 1 else "+",
                    "significant": bool(
                        rank == 1 and is_significant(q, shuffle_p[i], width, info, rule)
                    ),
                }
            )
    return pd.DataFrame(rows, columns=MATCH_COLUMNS)


#: The columns of :func:`match_motifs`' table.
MATCH_COLUMNS = [
    "query",
    "query_start",
    "query_width",
    "query_information",
    "rank",
    "target",
    "target_name",
    "target_family",
    "p_value",
    "e_value",
    "q_value",
    "shuffle_p",
    "offset",
    "overlap",
    "strand",
    "significant",
]
