"""Exact REF and ALT scores of many SNVs at once, sharing the first convolution.

For a model read as ``head(pool(positionwise(conv(x))))`` with a global pooling (DeepBind, or
an ``nn.Sequential`` of that form: :func:`seqcnn.attribution.fast_ism_support`), the score of
an SNV's REF and ALT windows (length ``L``, the SNV at ``c = L // 2``) needs no forward pass
of either window:

1. The REF windows of a chunk are sorted; windows that overlap are laid on one stretch of a
   buffer, and the first convolution runs **once over the buffer** (valid positions only), with
   the reverse-complemented filters as more channels for the second strand.
2. A window's filter positions are its *interior* (``L - K + 1`` starts inside the window:
   read from the buffer, pooled by a sliding max or sum) and its two *borders* (starts that hang
   over the model's zero padding: recomputed per window from its first and last ``K - 1``
   bases).
3. The ALT window differs from the REF window only at the ``K`` starts that cover the SNV: they
   are recomputed from the ``2K - 1`` bases around it; the rest is shared with the REF window.

The position-wise layers (batch norm, ReLU) are applied before pooling, as the model does, so
the outputs equal the model's forward up to float rounding (tested to 1e-5 on every option).
Numbers: ``benchmarks/bench_all.py --only variants``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from seqcnn.sequence import one_hot_bytes, reverse_complement_onehot

__all__ = ["SnvShortcut"]

_BLOCK = 1 << 15  # buffer positions convolved together (bounds the temporaries)
_N = ord("N")


def _sliding_max(x: torch.Tensor, widths: list[int]) -> list[torch.Tensor]:
    """``out[s] = x[s : s + width].max(0)`` for every ``s``, for each width: maxima of widths
    1, 2, 4, ... by doubling (one elementwise maximum each, shared by the widths), then two
    overlapping blocks per width.

    Shapes: ``(n, C)`` to ``(n - width + 1, C)`` for each width.
    """
    levels = {1: x}
    span = 1
    while 2 * span <= max(widths):
        levels[2 * span] = torch.maximum(levels[span][:-span], levels[span][span:])
        span *= 2
    out = []
    for width in widths:
        span = 1 << (width.bit_length() - 1)
        top = levels[span]
        m = top.shape[0] - (width - span)
        out.append(top if span == width else torch.maximum(top[:m], top[width - span :]))
    return out


def _sliding_sum(x: torch.Tensor, width: int) -> torch.Tensor:
    """``out[s] = x[s : s + width].sum(0)``, in float64.

    Shapes: ``(n, C)`` to ``(n - width + 1, C)``.
    """
    total = torch.zeros(x.shape[0] + 1, x.shape[1], dtype=torch.float64, device=x.device)
    torch.cumsum(x.double(), 0, out=total[1:])
    return total[width:] - total[:-width]


class SnvShortcut:
    """Scores of SNV windows for one model and window length, without per-window forwards.

    Parameters
    ----------
    model : torch.nn.Module
        In eval mode; DeepBind or an ``nn.Sequential`` of conv, position-wise layers, global
        pooling, head.
    length : int
        Window length ``L``; the SNV sits at ``L // 2``.
    rc_average : bool
        Average the outputs of each window and its reverse complement (as
        :func:`seqcnn.predict.predict`).

    Use :meth:`reason` first: it says why a model or length does not fit (then score windows
    with the model itself).
    """

    def __init__(self, model: nn.Module, length: int, rc_average: bool = False) -> None:
        from seqcnn.attribution import _structure

        why = self.reason(model, length, rc_average)
        if why:
            raise ValueError(why)
        spec, _ = _structure(model)
        self.spec, self.length = spec, int(length)
        self.weight = self.bias = None
        conv = spec.conv
        self.k = conv.kernel_size[0]
        self.n_filters = conv.out_channels
        self.pad_left, self.pad_right = spec.pad_left, spec.pad_right
        # strands: the model's own merge, or rc_average's mean, or the forward strand only
        self.merge = spec.merge
        self.both = self.merge is not None or rc_average
        self.use_max = spec.pool_mode in ("max", "maxavg")
        self.use_avg = spec.pool_mode in ("avg", "maxavg")
        self.n_positions = length + self.pad_left + self.pad_right - self.k + 1

    @staticmethod
    def reason(model: nn.Module, length: int, rc_average: bool = False) -> str | None:
        """Why the shortcut cannot score ``model`` at ``length`` (``None``: it can)."""
        from seqcnn.attribution import _structure

        spec, why = _structure(model)
        if spec is None:
            return why
        if model.training:
            return "the model is in training mode"
        k, c = spec.conv.kernel_size[0], length // 2
        if spec.pad_left > k - 1 or spec.pad_right > k - 1:
            return "the first convolution pads by a filter width or more"
        if c < k - 1 or c > length - k:
            return f"windows of {length} bp are too short for filters of width {k}"
        both = spec.merge is not None or rc_average
        if both and spec.pad_left != spec.pad_right:
            return "the first convolution pads the two ends unequally"
        if rc_average and spec.merge is not None:
            return "rc_average on a model that merges both strands itself"
        return None

    # ------------------------------------------------------------------ the pieces
    def _prepare(self) -> None:
        """Filters (both strands: the reverse-complemented ones as more channels), the border
        matrices and the position-wise chain, from the model as it is now (its device, its
        statistics)."""
        from seqcnn.attribution import _channel_last_chain

        conv = self.spec.conv
        weight = conv.weight.detach()
        bias = conv.bias.detach() if conv.bias is not None else None
        if self.both:  # the filters read on the reverse strand: (F, 4, K) as one-hot
            weight = torch.cat([weight, reverse_complement_onehot(weight)])
            bias = torch.cat([bias, bias]) if bias is not None else None
        self.weight, self.bias = weight, bias
        self.chain, monotone = _channel_last_chain(self.spec.positionwise)
        # max pooling commutes with non-decreasing layers: pool first, activate the maxima
        self.premax = monotone and not self.use_avg
        k = self.k
        taps = weight.permute(2, 1, 0)  # (K, 4, S * F)
        u = torch.arange(k - 1, device=weight.device)[:, None]
        # left border: start q - pad_left reads window base u with tap u - q + pad_left
        self.border_left = self._border(
            taps, u - torch.arange(self.pad_left, device=u.device)[None] + self.pad_left
        )
        # right border: start L - K + 1 + q reads base L - K + 1 + u with tap u - q
        self.border_right = self._border(
            taps, u - torch.arange(self.pad_right, device=u.device)[None]
        )
        # an edit's change of the K starts that cover it: (4, K * S * F), start c - K + 1 + i
        # first (it reads the edited base with tap K - 1 - i)
        self.cover_taps = weight.flip(-1).permute(1, 2, 0).reshape(4, -1)

    def _border(self, taps: torch.Tensor, tap: torch.Tensor) -> torch.Tensor:
        """``(4 (K - 1), P * S * F)``: the K - 1 edge bases of a window (position-major) to the
        P border starts' convolutions (start-major, no bias), zero where a start misses a
        base."""
        k, _, channels = taps.shape
        tap = tap.to(taps.device)
        valid = (tap >= 0) & (tap < k)  # (K - 1, P)
        m = taps[tap.clamp(0, k - 1)] * valid[:, :, None, None]  # (K - 1, P, 4, S * F)
        return m.permute(0, 2, 1, 3).reshape(4 * (k - 1), tap.shape[1] * channels)

    def _act(self, pre: torch.Tensor) -> torch.Tensor:
        """Position-wise layers on channel-last ``(..., S * F)`` (S strands)."""
        shape = pre.shape
        return self.chain(pre.reshape(*shape[:-1], -1, self.n_filters)).reshape(shape)

    def _pool(self, parts: list[torch.Tensor], how: str) -> torch.Tensor:
        """Max, or float64 sum, over the pieces of a window (each ``(N, S * F)``)."""
        if how == "max":
            out = parts[0]
            for p in parts[1:]:
                out = torch.maximum(out, p)
            return out
        return sum(p.double() for p in parts)

    def _features(self, pooled: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        """Per strand, the global pooling's features ``(N, F')``, max before average."""
        strands = 2 if self.both else 1
        out = []
        for s in range(strands):
            cols = slice(s * self.n_filters, (s + 1) * self.n_filters)
            feats = []
            if self.use_max:
                feats.append(pooled["max"][:, cols])
            if self.use_avg:
                feats.append((pooled["sum"][:, cols] / self.n_positions).to(self.weight.dtype))
            out.append(feats[0] if len(feats) == 1 else torch.cat(feats, dim=1))
        return out

    def _head(self, strands: list[torch.Tensor]) -> torch.Tensor:
        spec = self.spec
        if self.merge is not None:
            both = torch.stack(strands, dim=1).flatten(0, 1)  # interleaved, as BothStrands
            return self.merge(spec.head(spec.pool_shape(both)))
        outs = [spec.head(spec.pool_shape(f)) for f in strands]
        return outs[0] if len(outs) == 1 else (outs[0] + outs[1]) / 2

    # ------------------------------------------------------------------ the scores
    def layout(
        self, windows: np.ndarray, contig: np.ndarray, start: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Lay REF windows on a buffer; overlapping windows share their bases.

        Parameters
        ----------
        windows : numpy.ndarray (N, L) uint8
            The REF windows' ASCII bytes.
        contig : numpy.ndarray (N,) int
            A contig number per window (windows on different contigs never share).
        start : numpy.ndarray (N,) int
            Each window's first position on its contig.

        Returns
        -------
        buffer : numpy.ndarray (B,) uint8
        offset : numpy.ndarray (U,) int64
            Where each distinct window starts in ``buffer``.
        inverse : numpy.ndarray (N,) int64
            The distinct window of each input window.
        consistent : numpy.ndarray (N,) bool
            Whether the buffer holds exactly the window's bytes (windows of one place that
            disagree, e.g. a REF taken from the VCF, are not; score those with the model).
        """
        n, length = windows.shape
        order = np.lexsort((start, contig))
        c_sorted, s_sorted = contig[order], start[order]
        first = np.ones(n, dtype=bool)
        first[1:] = (c_sorted[1:] != c_sorted[:-1]) | (s_sorted[1:] != s_sorted[:-1])
        inverse = np.empty(n, dtype=np.int64)
        inverse[order] = np.cumsum(first) - 1
        uc, us = c_sorted[first], s_sorted[first]
        u = uc.size
        new = np.ones(u, dtype=bool)
        new[1:] = (uc[1:] != uc[:-1]) | (us[1:] > us[:-1] + length)
        seg = np.cumsum(new) - 1
        seg_first = us[new][seg]
        piece = (us - seg_first) // _BLOCK  # split long runs: a buffer block stays bounded
        new[1:] |= piece[1:] != piece[:-1]
        seg = np.cumsum(new) - 1
        seg_first = us[new]
        seg_len = np.zeros(seg_first.size, dtype=np.int64)
        np.maximum.at(seg_len, seg, us - seg_first[seg] + length)
        # stretches are laid end to end: a filter position straddling two is computed but
        # never read (a window reads only the positions that lie inside it)
        seg_off = np.zeros(seg_first.size, dtype=np.int64)
        np.cumsum(seg_len[:-1], out=seg_off[1:])
        offset = seg_off[seg] + (us - seg_first[seg])
        buffer = np.full(int(seg_off[-1] + seg_len[-1]), _N, dtype=np.uint8)
        cols = np.arange(length)
        where = offset[inverse][:, None] + cols
        buffer[where] = windows
        consistent = (buffer[where] == windows).all(axis=1)
        return buffer, offset, inverse, consistent

    def scores(
        self, windows: np.ndarray, contig: np.ndarray, start: np.ndarray, alt: np.ndarray
    ) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
        """Model outputs of the REF windows and of their SNVs' ALT windows, computed where the
        model is (CPU or GPU).

        Parameters
        ----------
        windows, contig, start
            As :meth:`layout`.
        alt : numpy.ndarray (N,) uint8
            The ALT base (ASCII) put at ``L // 2``.

        Returns
        -------
        ref, alt : torch.Tensor (N, T)
            Outputs on the CPU, in the model's dtype; rows where ``consistent`` is False are
            NaN.
        consistent : numpy.ndarray (N,) bool
            As :meth:`layout`.
        """
        n, length = windows.shape
        if length != self.length:
            raise ValueError(f"windows of {length} bp for a shortcut built for {self.length}")
        buffer, offset, inverse, consistent = self.layout(windows, contig, start)
        device = self.spec.conv.weight.device
        self._prepare()
        alt_col = one_hot_bytes(np.array(alt, dtype=np.uint8)[None], device=device)[0].T  # (N, 4)
        ref_out: list[torch.Tensor] = []
        alt_out: list[torch.Tensor] = []
        rows: list[np.ndarray] = []
        # blocks of distinct windows whose stretch of the buffer is at most ~2 _BLOCK long
        block_of = offset // _BLOCK
        edges = np.flatnonzero(np.diff(block_of)) + 1
        for ids in np.split(np.arange(offset.size), edges):
            members = np.flatnonzero((inverse >= ids[0]) & (inverse <= ids[-1]) & consistent)
            if members.size == 0:
                continue
            lo, hi = int(offset[ids[0]]), int(offset[ids[-1]]) + length
            owner = inverse[members] - ids[0]
            r, a = self._block(buffer[lo:hi], offset[ids] - lo, owner, members, alt_col, device)
            ref_out.append(r)
            alt_out.append(a)
            rows.append(members)
        n_out = None
        if ref_out:
            n_out = ref_out[0].shape[1]
        ref = torch.full((n, n_out or 0), float("nan"), dtype=self.weight.dtype)
        alt_scores = ref.clone()
        for r, a, m in zip(ref_out, alt_out, rows, strict=True):
            idx = torch.from_numpy(m)
            ref[idx], alt_scores[idx] = r.cpu(), a.cpu()
        return ref, alt_scores, consistent

    def _block(
        self, raw: np.ndarray, local: np.ndarray, owner: np.ndarray, members: np.ndarray,
        alt_col: torch.Tensor, device: torch.device,
    ) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        """Outputs of one block: REF of its distinct windows at ``local`` in ``raw``, ALT of
        the input windows ``members`` (distinct window ``owner`` each, numbered in the block).

        Tensors are channel-last, ``C = S * F`` channels (S strands): reductions over
        positions then run over a leading or middle axis, which is several times faster.
        """
        length, k, c = self.length, self.k, self.length // 2
        dtype = self.weight.dtype
        x = one_hot_bytes(raw[None], dtype=dtype, device=device)  # (1, 4, B)
        pre = torch.nn.functional.conv1d(x, self.weight, self.bias)[0].T.contiguous()
        # (B - K + 1, C); what is pooled: activations, or (premax) convolutions that are
        # activated after pooling
        vals = pre if self.premax else self._act(pre)
        bases = x[0].T  # (B, 4)
        at = torch.from_numpy(local).to(device)
        own = torch.from_numpy(owner).to(device)
        distinct = len(own) == len(at) and bool((own == torch.arange(len(at), device=device)).all())
        parts_max: list[torch.Tensor] = []  # pieces of each window, pooled: (U, C) each
        parts_sum: list[torch.Tensor] = []
        # interior starts of each window, except the K that cover the SNV: two ranges
        ranges = [(o, w) for o, w in ((0, c - k + 1), (c + 1, length - k - c)) if w > 0]
        cover = c - k + 1  # the K starts from here on cover the SNV: pooled apart
        # sliding maxima cost ~log2(L) passes over the buffer; gathering each window's
        # positions and reducing them, ~3 passes over L positions per window (measured): the
        # first wins where windows overlap densely (sorted SNVs), the second for sparse ones
        dense = 3 * len(at) * (length - k + 1) > vals.shape[0] * (length.bit_length() + 2)
        if self.use_max and dense:
            *maxima, ref_max = _sliding_max(vals, [w for _, w in ranges] + [k])
            parts_max += [m[at + o] for m, (o, _) in zip(maxima, ranges, strict=True)]
            ref_max = ref_max[at + cover]
        elif self.use_max:
            for o, w in [*ranges, (cover, k)]:
                rows = (at[:, None] + torch.arange(o, o + w, device=device)).view(-1)
                parts_max.append(vals.index_select(0, rows).view(len(at), w, -1).amax(1))
            ref_max = parts_max.pop()
        if self.use_avg:
            parts_sum += [_sliding_sum(vals, w)[at + o] for o, w in ranges]
            ref_sum = _sliding_sum(vals, k)[at + cover]
        # borders: the starts that overlap the model's zero padding, from the edge bases
        edge = torch.arange(k - 1, device=device)
        for first, matrix, n_starts in (
            (0, self.border_left, self.pad_left),
            (length - k + 1, self.border_right, self.pad_right),
        ):
            if n_starts:
                edge_bases = bases[at[:, None] + first + edge].reshape(len(at), -1)
                border = (edge_bases @ matrix).view(len(at), n_starts, -1)  # (U, P, C)
                self._pool_piece(border, parts_max, parts_sum, bias=True)
        # the K starts that cover the SNV: REF from the buffer; ALT = REF + the edit's taps
        first = at if distinct else at[own]
        rows = (first[:, None] + torch.arange(cover, c + 1, device=device)).view(-1)
        alt_pre = pre.index_select(0, rows).view(len(own), -1)  # REF's K starts, (M, K * C)
        edit = alt_col[torch.from_numpy(members).to(device)].to(dtype) - bases[first + c]
        alt_pre.addmm_(edit, self.cover_taps)  # + the edit's change: ALT's K starts
        alt_max, alt_sum = self._pool_piece(alt_pre.view(len(own), k, -1), [], [])
        pooled_ref: dict[str, torch.Tensor] = {}
        pooled_alt: dict[str, torch.Tensor] = {}
        if self.use_max:
            r, a = ref_max, alt_max
            if parts_max:
                outside = self._pool(parts_max, "max")
                r, a = torch.maximum(outside, r), torch.maximum(outside[own], a)
            pooled_ref["max"], pooled_alt["max"] = r, a
            if self.premax:
                pooled_ref["max"], pooled_alt["max"] = self._act(r), self._act(a)
        if self.use_avg:
            r, a = ref_sum, alt_sum
            if parts_sum:
                outside = self._pool(parts_sum, "sum")
                r, a = outside + r, outside[own] + a
            pooled_ref["sum"], pooled_alt["sum"] = r, a
        ref = self._head(self._features(pooled_ref))[own]
        alt = self._head(self._features(pooled_alt))
        return ref, alt

    def _pool_piece(
        self, conv: torch.Tensor, parts_max: list, parts_sum: list, bias: bool = False
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Pool a piece of windows, convolutions ``(N, P, C)`` (plus the bias if ``bias``),
        over its P starts; appended to the lists and returned as ``(max, sum)``, ``(N, C)``
        each (``None`` for a pooling the model does not use)."""
        b = self.bias if bias else None
        if self.premax:  # max(f(z + b)) = f(max(z) + b): activated after the last pooling
            top = conv.amax(1)
            parts_max.append(top if b is None else top + b)
            return parts_max[-1], None
        act = self._act(conv if b is None else conv + b)
        top = act.amax(1) if self.use_max else None
        total = act.double().sum(1) if self.use_avg else None
        if top is not None:
            parts_max.append(top)
        if total is not None:
            parts_sum.append(total)
        return top, total
