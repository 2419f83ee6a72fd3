"""In-silico mutagenesis (exact, fast for a first convolution) and captum attributions.

:func:`ism` scores every single-base substitution of every sequence: the model's output on the
mutated sequence minus its output on the sequence itself. It is exact for every model. By
default it runs batched full forward passes of the mutated sequences (skipping the identity
edits, whose effect is zero by definition). For models whose first layer is a convolution
followed only by position-wise modules and a global pooling (DeepBind:
convolution -> (batch norm) -> ReLU -> global max/avg pooling -> dense head, on both strands) it
takes a shortcut that gives the same numbers far faster:

- a point mutation at position ``p`` changes the first convolution's output only at the
  ``filter_width`` positions whose window covers ``p``, and there by a known amount: the
  filter's weights for the new base minus its weights for the old one. The new convolution
  output over that window is the old one plus that difference (no convolution is recomputed);
- batch norm in eval mode and the activation act on each position alone, so they are applied
  to that window only;
- global max pooling of the mutated sequence is the largest of (the window's new values, the
  maximum of the unchanged positions to its left, the maximum to its right): prefix and
  suffix maxima of the reference activations give the last two for every ``p`` at once; global
  average pooling updates the reference sum by the window's change;
- the reverse strand is the same computation on the reverse complement, where the edit
  ``(base a, position p)`` is ``(complement of a, L - 1 - p)``;
- the rest of the network (the model's own ``forward_head`` and strand merge) runs on the
  pooled features of every edit.

An ``nn.Sequential`` that starts with a stack of local layers (convolutions with any stride,
dilation or zero padding; max and average pooling; batch norm in eval mode; element-wise
activations; dropout), as Basset does, takes a second shortcut (fastISM, Nair et al. 2022): each
edit carries only the positions it changes through the stack, every layer computes only the
outputs that read them (from the reference activations with those positions written in), and
the rest of the network (``Flatten`` and dense layers, or anything else) runs on the reference
output with the last window written in.

Any other structure (residual or dilated towers, models with their own ``forward`` other than
DeepBind's) uses the full forward passes; ``method="fast"`` raises instead, naming what does
not fit.

:func:`attribute` computes saliency, input x gradient, integrated gradients, DeepLIFT and
DeepLIFT-SHAP through captum, with DNA baselines (uniform 0.25 columns or seeded dinucleotide
shuffles), and ISM in the same shape.

Conventions
-----------
- Sequences are one-hot ``(N, 4, L)`` float32 in ``ACGT`` order; ``N`` is an all-zero column.
- An edit writes a one-hot column for base ``a`` at position ``p``. At an ``A/C/G/T`` column the
  edit to the base already there is the identity: its effect is exactly 0. At an ``N`` column
  (or any column that is not a single 1, such as IUPAC fractions) there is no reference base:
  all four effects are real edits, each the change from the column as it is (unknown base) to
  that base, and none is zero in general.
- Effects are on the model's output scale: logits for classification models.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import torch
from torch import nn

from seqcnn.exceptions import ConfigError, InputError, UnknownNameError, require
from seqcnn.sequence import reverse_complement_onehot

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "ISM_METHODS",
    "ATTRIBUTION_METHODS",
    "ISMResult",
    "Attributions",
    "ism",
    "ism_outputs",
    "fast_ism_support",
    "attribute",
    "position_scores",
    "mutation_map_scores",
    "mutation_map_table",
    "MUTATION_MAP_WEIGHTINGS",
]

ISM_METHODS = ("auto", "fast", "naive")
ATTRIBUTION_METHODS = (
    "ism",
    "saliency",
    "input-x-gradient",
    "integrated-gradients",
    "deeplift",
    "deepliftshap",
)
MUTATION_MAP_WEIGHTINGS = ("deepbind", "delta")

# Elementwise modules the fast path may apply to a window of positions.
_POSITIONWISE = (
    nn.Identity,
    nn.ReLU,
    nn.LeakyReLU,
    nn.ELU,
    nn.GELU,
    nn.SiLU,
    nn.Tanh,
    nn.Sigmoid,
    nn.Softplus,
    nn.Dropout,  # identity in eval mode, where ISM runs
)
# Of those, the ones that are non-decreasing (max pooling commutes with them).
_MONOTONE = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.Tanh, nn.Sigmoid, nn.Softplus)
# Elements of the largest temporary tensor of one block of the fast path (~32 MB of float32).
_FAST_BLOCK_ELEMENTS = 1 << 23


# --------------------------------------------------------------------------------------------
# validation and small helpers


def _device_of(model: nn.Module, device) -> torch.device:
    if device is not None:
        return torch.device(device)
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def _dtype_of(model: nn.Module) -> torch.dtype:
    param = next(model.parameters(), None)
    return param.dtype if param is not None else torch.float32


def _check_X(X, name: str = "X") -> torch.Tensor:
    if isinstance(X, np.ndarray):
        X = torch.from_numpy(X)
    if not isinstance(X, torch.Tensor):
        raise InputError(f"{name}: expected a tensor of shape (N, 4, L), got {type(X).__name__}")
    if X.ndim != 3 or X.shape[1] != 4:
        raise InputError(
            f"{name}: expected one-hot sequences of shape (N, 4, L), got {tuple(X.shape)}"
        )
    if X.shape[2] == 0:
        raise InputError(f"{name}: sequences of length 0 have nothing to mutate")
    return X


def _check_span(start: int | None, end: int | None, length: int) -> tuple[int, int]:
    start = 0 if start is None else int(start)
    end = length if end is None else int(end)
    if not 0 <= start < end <= length:
        raise InputError(
            f"start/end: expected 0 <= start < end <= L = {length}, got start={start}, end={end}"
        )
    return start, end


def _check_batch_size(batch_size: int) -> int:
    if int(batch_size) < 1:
        raise ConfigError(f"batch_size: expected a positive integer, got {batch_size}")
    return int(batch_size)


def _progress(total: int, verbose: bool, unit: str, desc: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not verbose, unit=unit, desc=desc, unit_scale=True)


def _identity_mask(x: torch.Tensor) -> torch.Tensor:
    """``(N, 4, L)`` bool: the edits that rewrite the base already there (clean one-hot columns)."""
    return (x == 1) & (x.sum(dim=1, keepdim=True) == 1)


# --------------------------------------------------------------------------------------------
# the structure the fast path needs


@dataclass
class _ConvPool:
    """A model read as ``head(pool(positionwise(conv(x))))``, on one or both strands."""

    conv: nn.Conv1d
    positionwise: list[nn.Module]
    pool_mode: str  # "max", "avg" or "maxavg" (max features first, as GlobalPool)
    pool_shape: Callable[[torch.Tensor], torch.Tensor]  # (M, F') -> what the pool returns
    head: Callable[[torch.Tensor], torch.Tensor]
    merge: nn.Module | None  # StrandMerge over interleaved strands, or None: forward only
    pad_left: int
    pad_right: int


def _positionwise_reason(module: nn.Module) -> str | None:
    if isinstance(module, _POSITIONWISE):
        return None
    if isinstance(module, nn.BatchNorm1d):
        if not module.track_running_stats or module.running_mean is None:
            return "a batch norm without running statistics normalises by the batch"
        return None
    return f"{type(module).__name__} after the first convolution is not position-wise"


def _conv_reason(conv: nn.Module) -> str | None:
    if not isinstance(conv, nn.Conv1d):
        return f"the first layer is {type(conv).__name__}, not nn.Conv1d"
    if conv.stride != (1,) or conv.dilation != (1,) or conv.groups != 1:
        return "the first convolution has a stride, a dilation or groups"
    if conv.padding_mode != "zeros":
        return f"the first convolution pads with {conv.padding_mode!r}, not zeros"
    if conv.in_channels != 4:
        return f"the first convolution takes {conv.in_channels} channels, not 4"
    return None


def _pads(conv: nn.Conv1d) -> tuple[int, int]:
    k = conv.kernel_size[0]
    if conv.padding == "valid":
        return 0, 0
    if conv.padding == "same":
        total = k - 1
        return total // 2, total - total // 2  # PyTorch puts the odd one on the right
    p = int(conv.padding[0])
    return p, p


def _global_pool_mode(module: nn.Module) -> tuple[str, Callable] | None:
    from seqcnn.models.layers import GlobalPool

    if isinstance(module, GlobalPool) and (
        isinstance(module.flatten, nn.Flatten) or isinstance(module.flatten, nn.Identity)
    ):
        flat = isinstance(module.flatten, nn.Flatten)
        return module.mode, (lambda f: f) if flat else (lambda f: f[:, :, None])
    if isinstance(module, nn.AdaptiveMaxPool1d) and module.output_size in (1, (1,)):
        if not module.return_indices:
            return "max", lambda f: f[:, :, None]
    if isinstance(module, nn.AdaptiveAvgPool1d) and module.output_size in (1, (1,)):
        return "avg", lambda f: f[:, :, None]
    return None


def _structure(model: nn.Module) -> tuple[_ConvPool | None, str]:
    """The fast path's reading of ``model``, or ``None`` and the reason it does not fit."""
    from seqcnn.models.deepbind import DeepBind
    from seqcnn.models.strand import BothStrands

    if isinstance(model, DeepBind):
        cls = type(model)
        if (
            cls.forward is not BothStrands.forward
            or cls.forward_features is not DeepBind.forward_features
        ):
            return None, f"{cls.__name__} overrides DeepBind's forward"
        reason = _conv_reason(model.conv)
        if reason:
            return None, reason
        for m in (model.norm, model.act):
            reason = _positionwise_reason(m)
            if reason:
                return None, reason
        pool = _global_pool_mode(model.pool)
        if pool is None:
            return None, f"DeepBind's pooling is {type(model.pool).__name__}"
        left, right = _pads(model.conv)
        return _ConvPool(
            model.conv,
            [model.norm, model.act],
            pool[0],
            pool[1],
            model.forward_head,
            model.strand_merge,
            left,
            right,
        ), ""
    if type(model) is nn.Sequential and len(model) >= 2:
        layers = list(model)
        reason = _conv_reason(layers[0])
        if reason:
            return None, reason
        i = 1
        while i < len(layers) and _global_pool_mode(layers[i]) is None:
            reason = _positionwise_reason(layers[i])
            if reason:
                return None, reason
            i += 1
        if i == len(layers):
            return None, "no global pooling after the first convolution"
        mode, shape = _global_pool_mode(layers[i])
        head = nn.Sequential(*layers[i + 1 :])
        left, right = _pads(layers[0])
        return _ConvPool(layers[0], layers[1:i], mode, shape, head, None, left, right), ""
    return None, (
        f"{type(model).__name__} is not a first convolution followed by position-wise layers "
        "and a global pooling (DeepBind or an nn.Sequential of that form)"
    )


def fast_ism_support(model: nn.Module, length: int | None = None) -> tuple[bool, str]:
    """Whether :func:`ism` can take a fast exact path for ``model``, and why not.

    Parameters
    ----------
    model : torch.nn.Module
    length : int, optional
        The sequence length (pooling with ``ceil_mode`` is local only for some lengths).

    Returns
    -------
    (bool, str)
        ``(True, "")``, or ``(False, reason)``.

    Examples
    --------
    >>> from seqcnn.models import create_model
    >>> fast_ism_support(create_model("deepbind"))
    (True, '')
    >>> fast_ism_support(create_model("resbind"))[0]
    False
    """
    spec, reason = _structure(model)
    if spec is None and _local_structure(model, length)[0] is not None:
        return True, ""
    return spec is not None, reason


# --------------------------------------------------------------------------------------------
# fast path


def _affine(z: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    return torch.addcmul(shift, z, scale)


def _channel_last_chain(modules: list[nn.Module]) -> tuple[Callable, bool]:
    """The position-wise modules as one function on ``(..., F)`` tensors, and whether it is
    non-decreasing in every channel (then max pooling commutes with it).

    Batch norm in eval mode is ``x * scale + shift`` per channel, computed as PyTorch does.
    """
    steps: list[Callable] = []
    monotone = True
    for m in modules:
        if isinstance(m, nn.BatchNorm1d):
            scale = m.running_var.add(m.eps).rsqrt()
            if m.weight is not None:
                scale = scale * m.weight
            shift = -m.running_mean * scale
            if m.bias is not None:
                shift = shift + m.bias
            steps.append(functools.partial(_affine, scale=scale.detach(), shift=shift.detach()))
            monotone = monotone and bool((scale >= 0).all())
        elif isinstance(m, (nn.Identity, nn.Dropout)):
            continue
        else:
            steps.append(m)
            monotone = monotone and isinstance(m, _MONOTONE)

    def chain(z: torch.Tensor) -> torch.Tensor:
        for step in steps:
            z = step(z)
        return z

    return chain, monotone


def _fast_features(
    spec: _ConvPool, x: torch.Tensor, start: int, end: int, block: int
) -> torch.Tensor:
    """Pooled features of every edit of ``x[:, :, start:end]``.

    Parameters
    ----------
    x : torch.Tensor, shape (B, 4, L)
    start, end : int
        The edited positions.
    block : int
        Positions per block (bounds the temporaries).

    Returns
    -------
    torch.Tensor, shape (B, 4, end - start, F')
        Features for the edit (base a, position p) at ``[:, a, p - start]``.
    """
    conv = spec.conv
    weight = conv.weight  # (F, 4, K)
    n_filters, _, k = weight.shape
    b = x.shape[0]
    chain, monotone = _channel_last_chain(spec.positionwise)
    ref_conv = conv(x)  # (B, F, Lout), exactly as the model computes it
    l_out = ref_conv.shape[-1]
    ref_act = chain(ref_conv.transpose(1, 2)).transpose(1, 2)  # (B, F, Lout)
    use_max = spec.pool_mode in ("max", "maxavg")
    use_avg = spec.pool_mode in ("avg", "maxavg")
    premax = monotone and not use_avg  # max over the window before the activation
    # Output position j = p + pad_left - (K-1) + t (t = 0..K-1) reads kernel tap K-1-t.
    taps = weight.flip(-1).permute(2, 1, 0).contiguous()  # (K, 4, F): [t] for tap K-1-t
    zeros = ref_conv.new_zeros(b, n_filters, k - 1)
    conv_win = torch.cat([zeros, ref_conv, zeros], dim=-1).unfold(-1, k, 1)  # (B, F, ., K)
    if use_avg:
        act_win = torch.cat([zeros, ref_act, zeros], dim=-1).unfold(-1, k, 1)
        total = ref_act.sum(dim=-1)  # (B, F)
    if use_max:
        prefix = torch.cummax(ref_act, dim=-1).values  # (B, F, Lout)
        suffix = torch.cummax(ref_act.flip(-1), dim=-1).values.flip(-1)
    neg_inf = float("-inf")
    out = []
    for s in range(start, end, block):
        e = min(end, s + block)
        q = torch.arange(s, e, device=x.device) + spec.pad_left  # window index in conv_win
        j = q[:, None] - (k - 1) + torch.arange(k, device=x.device)[None, :]  # (W, K)
        valid = (j >= 0) & (j < l_out)
        # the window's convolution without the edited column's contribution, tap-major
        cwin = conv_win[:, :, q, :].permute(3, 0, 2, 1)  # (K, B, W, F)
        current = torch.einsum("tcf,bcw->tbwf", taps, x[:, :, s:e])
        base = (cwin - current).contiguous()
        acc_max = acc_sum = None
        for t in range(k):
            z = base[t][:, None] + taps[t][None, :, None, :]  # (B, 4, W, F)
            v = z if premax else chain(z)
            all_valid = bool(valid[:, t].all())
            if use_max:
                vm = v if all_valid else v.masked_fill(~valid[None, None, :, t, None], neg_inf)
                acc_max = vm if acc_max is None else torch.maximum(acc_max, vm, out=acc_max)
            if use_avg:
                vs = v if all_valid else v.masked_fill(~valid[None, None, :, t, None], 0.0)
                acc_sum = vs.clone() if acc_sum is None else acc_sum.add_(vs)
        feats = []
        if use_max:
            inside = chain(acc_max) if premax else acc_max
            lo, hi = j[:, 0] - 1, j[:, -1] + 1  # nearest output positions outside the window
            left_max = prefix[:, :, lo.clamp(0, l_out - 1)].masked_fill(~(lo >= 0), neg_inf)
            right_max = suffix[:, :, hi.clamp(0, l_out - 1)].masked_fill(~(hi < l_out), neg_inf)
            outside = torch.maximum(left_max, right_max).transpose(1, 2)  # (B, W, F)
            feats.append(torch.maximum(inside, outside[:, None]))
        if use_avg:
            awin = act_win[:, :, q, :]  # (B, F, W, K)
            old_sum = awin.masked_fill(~valid[None, None], 0.0).sum(dim=-1).transpose(1, 2)
            feats.append((total[:, None, None, :] - old_sum[:, None] + acc_sum) / l_out)
        out.append(feats[0] if len(feats) == 1 else torch.cat(feats, dim=-1))
    return torch.cat(out, dim=2)


def _fast_outputs(spec: _ConvPool, x: torch.Tensor, start: int, end: int) -> torch.Tensor:
    """Model outputs for every edit: ``(B, 4, end - start, T)``."""
    b, _, length = x.shape
    f = spec.conv.out_channels * (2 if spec.pool_mode == "maxavg" else 1)
    per_position = b * 4 * f * spec.conv.kernel_size[0] * 3
    block = max(1, _FAST_BLOCK_ELEMENTS // max(per_position, 1))
    fwd = _fast_features(spec, x, start, end, block)  # (B, 4, W, F')
    w = end - start
    if spec.merge is None:
        flat = spec.pool_shape(fwd.reshape(-1, fwd.shape[-1]))
        out = spec.head(flat)
    else:
        xr = reverse_complement_onehot(x)
        rev = _fast_features(spec, xr, length - end, length - start, block)
        rev = rev.flip(1, 2)  # (complement base, mirrored position) -> forward's (a, p)
        both = torch.stack([fwd, rev], dim=3).reshape(-1, fwd.shape[-1])  # interleaved
        out = spec.merge(spec.head(spec.pool_shape(both)))
    return out.reshape(b, 4, w, -1)


# --------------------------------------------------------------------------------------------
# fast path 2: a stack of local layers (fastISM), then anything


@dataclass
class _LocalLayer:
    """One layer of the local stack, as the window arithmetic sees it."""

    module: nn.Module
    kind: str  # "conv", "max", "avg" (windowed) or "pointwise"
    kernel: int = 1
    stride: int = 1
    dilation: int = 1
    padding: int = 0


@dataclass
class _LocalStack:
    """``tail(local layers(x))``: every output position of a local layer reads a window."""

    layers: list[_LocalLayer]
    tail: nn.Module


def _int1(value) -> int:
    return int(value[0]) if isinstance(value, tuple | list) else int(value)


def _local_layer(module: nn.Module, length: int | None) -> _LocalLayer | None:
    """The window description of ``module``, or ``None`` if it is not local."""
    if _positionwise_reason(module) is None:
        return _LocalLayer(module, "pointwise")
    if isinstance(module, nn.Conv1d):
        k, d = _int1(module.kernel_size), _int1(module.dilation)
        if module.padding_mode != "zeros":
            return None
        if module.padding == "same":
            if (d * (k - 1)) % 2:
                return None  # PyTorch pads one more on the right
            pad = d * (k - 1) // 2
        else:
            pad = 0 if module.padding == "valid" else _int1(module.padding)
        return _LocalLayer(module, "conv", k, _int1(module.stride), d, pad)
    if isinstance(module, nn.MaxPool1d | nn.AvgPool1d):
        if getattr(module, "return_indices", False):
            return None
        k, s, p = _int1(module.kernel_size), _int1(module.stride), _int1(module.padding)
        d = _int1(getattr(module, "dilation", 1))
        if isinstance(module, nn.AvgPool1d) and p and not module.count_include_pad:
            return None
        if module.ceil_mode and (length is None or (length + 2 * p - d * (k - 1) - 1) % s):
            return None  # ceil_mode would add a partial window at the end
        return _LocalLayer(module, "max" if isinstance(module, nn.MaxPool1d) else "avg", k, s, d, p)
    return None


def _local_structure(model: nn.Module, length: int | None) -> tuple[_LocalStack | None, str]:
    """An ``nn.Sequential`` that starts with a convolution, read as local layers + a tail."""
    if type(model) is not nn.Sequential or not len(model):
        return None, f"{type(model).__name__} is not an nn.Sequential"
    layers = list(model)
    first = layers[0]
    if not isinstance(first, nn.Conv1d) or first.in_channels != 4:
        return None, "the first layer is not a convolution over the 4 bases"
    local: list[_LocalLayer] = []
    current = length
    for module in layers:
        layer = _local_layer(module, current)
        if layer is None:
            break
        local.append(layer)
        if layer.kind != "pointwise" and current is not None:
            span = layer.dilation * (layer.kernel - 1) + 1
            current = (current + 2 * layer.padding - span) // layer.stride + 1
            if current < 1:
                return None, "a local layer leaves no positions"
    if not local:
        return None, "the first convolution is not local (its padding mode)"
    return _LocalStack(local, nn.Sequential(*layers[len(local) :])), ""


def _local_block(spec: _LocalStack, length: int) -> int:
    """Edits per block, so that the largest window tensor stays near ``_FAST_BLOCK_ELEMENTS``."""
    largest, n_in, size, channels = 4, 1, length, 4
    for layer in spec.layers:
        if layer.kind == "pointwise":
            continue
        span = layer.dilation * (layer.kernel - 1) + 1
        out_size = (size + 2 * layer.padding - span) // layer.stride + 1
        n_out = min(out_size, (n_in - 1 + span - 1) // layer.stride + 1)
        largest = max(largest, channels * ((n_out - 1) * layer.stride + span))
        if layer.kind == "conv":
            channels = layer.module.out_channels
        n_in, size = n_out, out_size
    largest = max(largest, channels * size)  # the spliced input of the tail
    return max(1, _FAST_BLOCK_ELEMENTS // (4 * largest))


def _scatter_columns(window: torch.Tensor, values: torch.Tensor, cols: torch.Tensor) -> None:
    """``window[e, :, cols[e, i]] = values[e, :, i]`` where ``0 <= cols < width``, in place."""
    m, c, width = window.shape
    ok = (cols >= 0) & (cols < width)
    rows = torch.arange(m, device=window.device)[:, None].expand_as(cols)
    window.permute(0, 2, 1)[rows[ok], cols[ok]] = values.permute(0, 2, 1)[ok]


def _local_outputs(
    spec: _LocalStack, x: torch.Tensor, start: int, end: int, block: int
) -> torch.Tensor:
    """Model outputs for every edit of ``x[:, :, start:end]``: ``(B, 4, W, T)``.

    Each edit carries the values of the positions it changes (a window that grows through the
    stack) and their offset; every layer computes only the outputs whose inputs changed, from
    the reference activations with that window written in. The tail runs in full on the
    reference output with the last window written in.
    """
    b, _, length = x.shape
    w = end - start
    refs = []  # input of every layer for the batch, padded as the layer pads it
    h = x
    for layer in spec.layers:
        if layer.kind == "pointwise":
            refs.append(None)
        else:
            fill = float("-inf") if layer.kind == "max" else 0.0
            refs.append(
                (nn.functional.pad(h, (layer.padding, layer.padding), value=fill), h.shape[-1])
            )
        h = layer.module(h)
    final = h
    edits_b, edits_a, edits_p = torch.meshgrid(
        torch.arange(b), torch.arange(4), torch.arange(start, end), indexing="ij"
    )
    edits_b, edits_a, edits_p = (t.reshape(-1).to(x.device) for t in (edits_b, edits_a, edits_p))
    eye = torch.eye(4, dtype=x.dtype, device=x.device)
    outs = []
    for s in range(0, len(edits_b), block):
        eb, ea, ep = edits_b[s : s + block], edits_a[s : s + block], edits_p[s : s + block]
        values = eye[ea][:, :, None]  # (M, 4, 1): the new column
        offset = ep.clone()  # position of values[..., 0] in the layer's input
        for layer, ref in zip(spec.layers, refs, strict=True):
            if layer.kind == "pointwise":
                values = layer.module(values)
                continue
            k, st, d, pad = layer.kernel, layer.stride, layer.dilation, layer.padding
            padded, l_in = ref
            span = d * (k - 1) + 1
            l_out = (l_in + 2 * pad - span) // st + 1
            n_in = values.shape[-1]
            n_out = min(l_out, (n_in - 1 + span - 1) // st + 1)
            lo = torch.div(offset + pad - (span - 1) + st - 1, st, rounding_mode="floor")
            j0 = lo.clamp(0, l_out - n_out)
            width = (n_out - 1) * st + span
            cols = j0[:, None] * st + torch.arange(width, device=x.device)[None, :]  # (M, width)
            window = padded[eb[:, None], :, cols].permute(0, 2, 1).contiguous()  # (M, C, width)
            target = (
                offset[:, None]
                + pad
                - j0[:, None] * st
                + torch.arange(n_in, device=x.device)[None, :]
            )
            _scatter_columns(window, values, target)
            m = layer.module
            if layer.kind == "conv":
                values = nn.functional.conv1d(
                    window, m.weight, m.bias, stride=st, dilation=d, groups=m.groups
                )
            elif layer.kind == "max":
                values = nn.functional.max_pool1d(window, k, st, 0, d)
            else:
                values = nn.functional.avg_pool1d(window, k, st, 0)
            offset = j0
        spliced = final[eb].clone()
        target = offset[:, None] + torch.arange(values.shape[-1], device=x.device)[None, :]
        _scatter_columns(spliced, values, target)
        outs.append(spec.tail(spliced).reshape(len(eb), -1))
    return torch.cat(outs).reshape(b, 4, w, -1)


# --------------------------------------------------------------------------------------------
# naive path


def _naive_outputs(
    model: nn.Module,
    X: torch.Tensor,
    ref: torch.Tensor,
    start: int,
    end: int,
    batch_size: int,
    device: torch.device,
    dtype: torch.dtype,
    progress,
) -> torch.Tensor:
    """Full forward passes of every non-identity edit; identity edits take ``ref``."""
    n, _, length = X.shape
    w = end - start
    n_out = ref.shape[1]
    out = ref[:, None, None, :].repeat(1, 4, w, 1)  # (N, 4, W, T), identity edits filled
    identity = _identity_mask(X[:, :, start:end])  # (N, 4, W)
    seq_idx, base_idx, pos_idx = torch.nonzero(~identity, as_tuple=True)
    values = torch.empty(len(seq_idx), n_out, dtype=out.dtype)
    for s in range(0, len(seq_idx), batch_size):
        si, bi, pi = (t[s : s + batch_size] for t in (seq_idx, base_idx, pos_idx))
        xb = X[si].to(device=device, dtype=dtype)
        rows = torch.arange(len(si), device=device)
        col = pi.to(device) + start
        xb[rows, :, col] = 0
        xb[rows, bi.to(device), col] = 1
        values[s : s + len(si)] = model(xb).reshape(len(si), -1).float().cpu()
        progress.update(len(si))
    out[seq_idx, base_idx, pos_idx] = values
    return out


# --------------------------------------------------------------------------------------------
# public ISM


class ISMResult(NamedTuple):
    """Outputs of :func:`ism_outputs`."""

    #: torch.Tensor, shape (N, T): the model's outputs on the sequences themselves.
    reference: torch.Tensor
    #: torch.Tensor, shape (N, T, 4, W): outputs with base ``a`` written at ``start + i``.
    mutated: torch.Tensor


def ism_outputs(
    model: nn.Module,
    X: torch.Tensor,
    start: int | None = None,
    end: int | None = None,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    verbose: bool = False,
    method: str = "auto",
) -> ISMResult:
    """Model outputs on every single-base substitution of every sequence.

    Parameters
    ----------
    model : torch.nn.Module
        Any model taking ``(N, 4, L)``; run in eval mode without gradients, then left on its
        device and in its mode.
    X : torch.Tensor, shape (N, 4, L)
        One-hot sequences (``N`` = all-zero column).
    start, end : int, optional
        Mutate the positions ``start <= p < end`` only (0-based, half-open); all by default.
    batch_size : int
        Mutated sequences per forward pass on the full-forward path (the fast path sizes its
        own blocks).
    device : str or torch.device, optional
        Where to compute; default: where the model is.
    verbose : bool
        Progress bar (edits per second).
    method : {"auto", "fast", "naive"}
        ``auto``: the fast exact path when the model has the structure it needs (see
        :func:`fast_ism_support`), else full forwards. ``fast``: the fast path or a
        :class:`~seqcnn.exceptions.ConfigError` naming what does not fit. ``naive``: full
        forwards always.

    Returns
    -------
    ISMResult
        ``reference`` ``(N, T)`` and ``mutated`` ``(N, T, 4, end - start)``, float32 on the
        CPU. Identity edits (the base already there) are exactly ``reference``.
    """
    X = _check_X(X).detach().cpu()  # results are gathered on the CPU; batches go to device
    start, end = _check_span(start, end, X.shape[2])
    batch_size = _check_batch_size(batch_size)
    if method not in ISM_METHODS:
        raise UnknownNameError("ISM method", method, list(ISM_METHODS))
    spec = local = None
    if method != "naive":
        spec, reason = _structure(model)
        if spec is None:
            local, local_reason = _local_structure(model, X.shape[2])
            if local is None and method == "fast":
                raise ConfigError(f"fast ISM does not apply to this model: {reason}")
    device = _device_of(model, device)
    dtype = _dtype_of(model)
    was_training = model.training
    param = next(model.parameters(), None)
    original = None if param is None else param.device
    model.eval().to(device)
    n = X.shape[0]
    w = end - start
    try:
        with torch.inference_mode():
            refs = []
            for i in range(0, n, batch_size):
                xb = X[i : i + batch_size].to(device=device, dtype=dtype)
                refs.append(model(xb).reshape(xb.shape[0], -1).float().cpu())  # (B, T)
            ref = torch.cat(refs)
            if spec is None and local is None:
                n_edits = int((~_identity_mask(X[:, :, start:end])).sum())
                with _progress(n_edits, verbose, "edit", "ISM (full forwards)") as bar:
                    mutated = _naive_outputs(
                        model, X, ref, start, end, batch_size, device, dtype, bar
                    )
            else:
                # sequences per block: about 4 * W edits each through the head
                per_seq = max(1, 4 * w)
                seqs = max(1, min(n, 4096 // per_seq + 1))
                parts = []
                if local is not None:
                    seqs = 1  # the local path batches edits, not sequences
                    block = _local_block(local, X.shape[2])
                with _progress(n * 4 * w, verbose, "edit", "ISM (fast)") as bar:
                    for i in range(0, n, seqs):
                        xb = X[i : i + seqs].to(device=device, dtype=dtype)
                        if local is None:
                            out = _fast_outputs(spec, xb, start, end)
                        else:
                            out = _local_outputs(local, xb, start, end, block)
                        parts.append(out.float().cpu())
                        bar.update(xb.shape[0] * 4 * w)
                mutated = torch.cat(parts)  # (N, 4, W, T)
                identity = _identity_mask(X[:, :, start:end])
                mutated = torch.where(identity[..., None], ref[:, None, None, :], mutated)
    finally:
        model.train(was_training)
        if original is not None:
            model.to(original)
    return ISMResult(ref, mutated.permute(0, 3, 1, 2).contiguous())


def ism(
    model: nn.Module,
    X: torch.Tensor,
    start: int | None = None,
    end: int | None = None,
    target: int | None = 0,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    verbose: bool = False,
    method: str = "auto",
) -> torch.Tensor:
    """In-silico mutagenesis: the effect (alt - ref) of every single-base substitution.

    Parameters
    ----------
    model : torch.nn.Module
        Any model taking ``(N, 4, L)`` (see :func:`ism_outputs`).
    X : torch.Tensor, shape (N, 4, L)
        One-hot sequences in ``ACGT`` order; ``N`` is an all-zero column.
    start, end : int, optional
        Mutate ``start <= p < end`` only (0-based, half-open); the whole sequence by default.
    target : int or None
        The output to report; ``None`` for all of them.
    batch_size : int
        Mutated sequences per forward pass on the full-forward path.
    device : str or torch.device, optional
        Where to compute; default: where the model is.
    verbose : bool
        Progress bar.
    method : {"auto", "fast", "naive"}
        See :func:`ism_outputs`; all three give the same numbers (within float rounding).

    Returns
    -------
    torch.Tensor, shape (N, 4, end - start), or (N, T, 4, end - start) with ``target=None``
        ``effect[n, a, i]`` = output with base ``a`` at position ``start + i`` minus the output
        on ``X[n]``: exactly 0 at the reference base; at an ``N`` column all four bases are
        real edits (replacing the unknown base by ``a``).

    Examples
    --------
    >>> from seqcnn.models import create_model
    >>> from seqcnn.sequence import one_hot_encode
    >>> x = one_hot_encode(["ACGTACGTACGTACGTACGTACGTAC"])
    >>> effect = ism(create_model("deepbind", filter_width=8), x)
    >>> effect.shape, float(effect[0, 0, 0])  # A at position 0 is the reference base
    (torch.Size([1, 4, 26]), 0.0)
    """
    result = ism_outputs(model, X, start, end, batch_size, device, verbose, method)
    effect = result.mutated - result.reference[:, :, None, None]
    if target is None:
        return effect
    n_out = effect.shape[1]
    if not -n_out <= int(target) < n_out:
        raise ConfigError(f"target: the model has {n_out} outputs, got target={target}")
    return effect[:, int(target)]


def position_scores(effect: torch.Tensor) -> torch.Tensor:
    """Per-position importance of ISM effects: the largest ``|effect|`` over the four bases.

    Parameters
    ----------
    effect : torch.Tensor, shape (N, 4, L)

    Returns
    -------
    torch.Tensor, shape (N, L)
    """
    return effect.abs().amax(dim=-2)


# --------------------------------------------------------------------------------------------
# mutation-map weighting (DeepBind)


def mutation_map_scores(
    reference: np.ndarray | torch.Tensor,
    mutated: np.ndarray | torch.Tensor,
    weighting: str = "deepbind",
) -> np.ndarray:
    """Scores of a mutation map from logits of the reference and of every substitution.

    Parameters
    ----------
    reference : array, shape () or (N,)
        Logit of the wild-type sequence(s).
    mutated : array, shape (4, L) or (N, 4, L)
        Logit with each base at each position.
    weighting : {"deepbind", "delta"}
        ``deepbind``: ``(p_mut - p_wt) * max(0, p_wt, p_mut)`` with ``p`` the sigmoid
        probability, as in DeepBind's mutation maps (Alipanahi et al. 2015, Nat Biotechnol
        33:831, Supplementary Notes, "Mutation maps"): a change matters more where the
        sequence is bound before or after it. ``delta``: plain ``mutated - reference`` logits.

    Returns
    -------
    numpy.ndarray, float64, the shape of ``mutated``

    Examples
    --------
    >>> s = mutation_map_scores(0.0, np.array([[0.0], [np.log(3.0)]]))
    >>> s.round(4).tolist()  # p_wt = 0.5, p_mut = 0.75: (0.75 - 0.5) * 0.75
    [[0.0], [0.1875]]
    """
    ref = np.asarray(reference, dtype=np.float64)
    mut = np.asarray(mutated, dtype=np.float64)
    if ref.ndim:
        ref = ref.reshape(ref.shape + (1,) * (mut.ndim - ref.ndim))
    if weighting == "delta":
        return mut - ref
    if weighting != "deepbind":
        raise UnknownNameError("mutation-map weighting", weighting, list(MUTATION_MAP_WEIGHTINGS))
    p_wt = 1.0 / (1.0 + np.exp(-ref))
    p_mut = 1.0 / (1.0 + np.exp(-mut))
    return (p_mut - p_wt) * np.maximum(0.0, np.maximum(p_wt, p_mut))


def mutation_map_table(
    sequence: str,
    reference: float,
    mutated: np.ndarray | torch.Tensor,
    weighting: str = "deepbind",
    first_position: int = 1,
    chrom: str | None = None,
) -> pd.DataFrame:
    """Every value of a mutation map, one row per (position, base).

    Parameters
    ----------
    sequence : str
        The reference sequence (length L).
    reference : float
        Logit of the reference sequence.
    mutated : array, shape (4, L)
        Logit with each base at each position (:func:`ism_outputs`).
    weighting : {"deepbind", "delta"}
        The ``score`` column (see :func:`mutation_map_scores`).
    first_position : int
        Coordinate of the first base in the ``pos`` column (1-based: 1 for a sequence, the
        region's start for a genomic region).
    chrom : str, optional
        Adds a ``chrom`` column.

    Returns
    -------
    pandas.DataFrame
        Columns ``[chrom] pos ref alt ref_logit alt_logit delta p_ref p_alt score``, 4 rows a
        position (the reference base's row has ``delta`` 0); ``N`` columns have ``ref`` N.

    Examples
    --------
    >>> t = mutation_map_table("AC", 0.0, np.zeros((4, 2)), weighting="delta")
    >>> t.shape, list(t["alt"][:4])
    ((8, 9), ['A', 'C', 'G', 'T'])
    """
    import pandas as pd

    mut = np.asarray(mutated, dtype=np.float64)
    length = len(sequence)
    if mut.shape != (4, length):
        raise InputError(f"mutated: expected shape (4, {length}), got {mut.shape}")
    ref = float(reference)
    scores = mutation_map_scores(ref, mut, weighting)
    table = {
        "pos": np.repeat(np.arange(length) + int(first_position), 4),
        "ref": np.repeat(np.array(list(sequence.upper())), 4),
        "alt": np.tile(np.array(list("ACGT")), length),
        "ref_logit": ref,
        "alt_logit": mut.T.ravel(),
        "delta": (mut - ref).T.ravel(),
        "p_ref": 1.0 / (1.0 + np.exp(-ref)),
        "p_alt": 1.0 / (1.0 + np.exp(-mut.T.ravel())),
        "score": scores.T.ravel(),
    }
    frame = pd.DataFrame(table)
    if chrom is not None:
        frame.insert(0, "chrom", chrom)
    return frame


# --------------------------------------------------------------------------------------------
# captum attributions


class Attributions(NamedTuple):
    """Outputs of :func:`attribute`."""

    #: torch.Tensor, shape (N, 4, L): the attribution of each input value.
    values: torch.Tensor
    #: torch.Tensor (N,) or None: completeness error of DeepLIFT / integrated gradients,
    #: sum(attributions) - (f(x) - f(baseline)) (the largest over baselines for shuffles).
    delta: torch.Tensor | None


def _shuffled_baselines(x: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """``(N, n, 4, L)`` dinucleotide shuffles of each one-hot sequence."""
    from seqcnn.sequence import decode, dinucleotide_shuffle_many, one_hot_encode

    strings = decode(x)
    shuffled = dinucleotide_shuffle_many(strings, n=n, seed=seed)
    return one_hot_encode(shuffled, length=x.shape[2]).reshape(x.shape[0], n, 4, x.shape[2])


def _baselines(baselines, x: torch.Tensor, method: str, n_shuffles: int, seed: int) -> torch.Tensor:
    """Baselines ``(N, S, 4, L)`` for ``x (N, 4, L)``."""
    n, _, length = x.shape
    if baselines is None:
        baselines = "shuffle" if method == "deepliftshap" else "uniform"
    if isinstance(baselines, str):
        if baselines == "uniform":
            return torch.full((n, 1, 4, length), 0.25)
        if baselines == "zeros":
            return torch.zeros((n, 1, 4, length))
        if baselines == "shuffle":
            if n_shuffles < 1:
                raise ConfigError(f"n_shuffles: expected a positive integer, got {n_shuffles}")
            return _shuffled_baselines(x, n_shuffles, seed)
        raise UnknownNameError("baseline", baselines, ["uniform", "zeros", "shuffle"])
    b = torch.as_tensor(baselines, dtype=torch.float32)
    if b.ndim == 2:
        b = b[None, None].expand(n, 1, 4, length)
    elif b.ndim == 3:
        if b.shape[0] != n:
            raise InputError(
                f"baselines: expected (N, 4, L) with N = {n} like X, got {tuple(b.shape)}"
            )
        b = b[:, None]
    if b.ndim != 4 or b.shape[0] != n or tuple(b.shape[2:]) != (4, length):
        raise InputError(
            f"baselines: expected shape (4, L), (N, 4, L) or (N, S, 4, L) for X of shape "
            f"{tuple(x.shape)}, got {tuple(b.shape)}"
        )
    return b


def _ism_attributions(effect: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The observed base carries minus the mean effect of its three substitutions."""
    identity = _identity_mask(x)
    loss = -(effect.sum(dim=1, keepdim=True) / 3.0)  # reference effect is 0
    return torch.where(identity, loss, torch.zeros_like(effect))


def attribute(
    model: nn.Module,
    X: torch.Tensor,
    method: str = "ism",
    baselines: str | torch.Tensor | None = None,
    target: int = 0,
    n_shuffles: int = 20,
    n_steps: int = 50,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    verbose: bool = False,
    seed: int = 0,
) -> Attributions:
    """Attribution of a model's output to every input value, through captum (or ISM).

    Parameters
    ----------
    model : torch.nn.Module
        A captum-safe model (all of seqcnn's are: one activation module per use). Run in eval
        mode, then left on its device and in its mode.
    X : torch.Tensor, shape (N, 4, L)
        One-hot sequences.
    method : {"ism", "saliency", "input-x-gradient", "integrated-gradients", "deeplift", \
"deepliftshap"}
        - ``ism``: at each position the observed base carries minus the mean effect of its
          three substitutions (:func:`ism`), the binding a mutation there loses on average;
          other channels (and ``N`` columns) are 0;
        - ``saliency``: the gradient of the output (signed, every channel);
        - ``input-x-gradient``: gradient times input (only observed bases are non-zero);
        - ``integrated-gradients``: path integral from the baseline (``n_steps`` steps);
        - ``deeplift``: DeepLIFT's rescale rule against the baseline;
        - ``deepliftshap``: DeepLIFT averaged over ``n_shuffles`` baselines per sequence.
    baselines : {"uniform", "zeros", "shuffle"} or torch.Tensor, optional
        The reference input of integrated gradients and DeepLIFT: ``uniform`` (0.25 for every
        base; the default for ``integrated-gradients`` and ``deeplift``), ``shuffle``
        (``n_shuffles`` seeded dinucleotide shuffles of each sequence, the attributions
        averaged over them; the default for ``deepliftshap``), ``zeros``, or a tensor
        ``(4, L)``, ``(N, 4, L)`` or ``(N, S, 4, L)``.
    target : int
        The output to explain.
    n_shuffles : int
        Shuffled baselines per sequence.
    n_steps : int
        Integration steps of integrated gradients.
    batch_size : int
        Sequences (times baselines) per backward pass.
    device : str or torch.device, optional
        Where to compute; default: where the model is.
    verbose : bool
        Progress bar.
    seed : int
        Seed of the shuffles.

    Returns
    -------
    Attributions
        ``values`` ``(N, 4, L)`` float32 on the CPU and, for ``integrated-gradients``,
        ``deeplift`` and ``deepliftshap``, ``delta`` ``(N,)``: the completeness error
        ``sum(values) - (f(x) - f(baseline))`` (for several baselines, the one of largest
        magnitude). ``sum(values[n])`` is then ``f(x) - mean f(baseline)``.

    Examples
    --------
    >>> from seqcnn.models import create_model
    >>> from seqcnn.sequence import one_hot_encode
    >>> x = one_hot_encode(["ACGTTGCAACGTAGCTAGCTAGGATC"])
    >>> out = attribute(create_model("deepbind", filter_width=8), x, method="deeplift")
    >>> out.values.shape, bool(out.delta.abs().max() < 1e-5)
    (torch.Size([1, 4, 26]), True)
    """
    X = _check_X(X)
    if method not in ATTRIBUTION_METHODS:
        raise UnknownNameError("attribution method", method, list(ATTRIBUTION_METHODS))
    batch_size = _check_batch_size(batch_size)
    if method == "ism":
        effect = ism(
            model, X, target=target, batch_size=max(batch_size, 256), device=device, verbose=verbose
        )
        return Attributions(_ism_attributions(effect, X), None)
    captum_attr = require("captum.attr", "attribution", f"attribution method {method!r}")
    device = _device_of(model, device)
    dtype = _dtype_of(model)
    n, _, length = X.shape
    uses_baseline = method in ("integrated-gradients", "deeplift", "deepliftshap")
    base = _baselines(baselines, X, method, n_shuffles, seed) if uses_baseline else None
    explainer = {
        "saliency": captum_attr.Saliency,
        "input-x-gradient": captum_attr.InputXGradient,
        "integrated-gradients": captum_attr.IntegratedGradients,
        "deeplift": captum_attr.DeepLift,
        "deepliftshap": captum_attr.DeepLift,  # DeepLIFT per (input, baseline) pair, averaged
    }[method](model)
    values = torch.empty(n, 4, length)
    deltas = torch.empty(n) if uses_baseline else None
    was_training = model.training
    original = next(model.parameters()).device
    model.eval().to(device)
    n_base = 1 if base is None else base.shape[1]
    seqs = max(1, batch_size // n_base)
    if method == "integrated-gradients":
        seqs = max(1, batch_size // max(1, n_base * n_steps // 8))
    try:
        with (
            warnings.catch_warnings(),
            _progress(n, verbose, "seq", f"attribution ({method})") as bar,
        ):
            # captum warns that it hooks the activations; seqcnn's models are built for that
            warnings.filterwarnings("ignore", message=".*hooks.*", category=UserWarning)
            for i in range(0, n, seqs):
                xb = X[i : i + seqs].to(device=device, dtype=dtype)
                m = xb.shape[0]
                if base is None:
                    inp = xb.clone().requires_grad_(True)
                    if method == "saliency":
                        attr = explainer.attribute(inp, target=target, abs=False)
                    else:
                        attr = explainer.attribute(inp, target=target)
                    values[i : i + m] = attr.detach().float().cpu()
                else:
                    bb = base[i : i + m].to(device=device, dtype=dtype)  # (m, S, 4, L)
                    s = bb.shape[1]
                    inp = xb[:, None].expand(m, s, 4, length).reshape(m * s, 4, length)
                    inp = inp.clone().requires_grad_(True)
                    ref = bb.reshape(m * s, 4, length)
                    kwargs = {"n_steps": n_steps} if method == "integrated-gradients" else {}
                    attr, delta = explainer.attribute(
                        inp,
                        baselines=ref,
                        target=target,
                        return_convergence_delta=True,
                        **kwargs,
                    )
                    attr = attr.detach().float().cpu().reshape(m, s, 4, length)
                    delta = delta.detach().float().cpu().reshape(m, s)
                    values[i : i + m] = attr.mean(dim=1)
                    worst = delta.abs().argmax(dim=1)
                    deltas[i : i + m] = delta[torch.arange(m), worst]
                bar.update(m)
    finally:
        model.train(was_training).to(original)
    return Attributions(values, deltas)
