"""DNA sequences as tensors: one-hot encoding, decoding, reverse complement, shuffles.

Everything here works on whole batches at once: the strings are joined into one byte buffer
and looked up in 256-entry tables, so no Python code runs per base.

Conventions
-----------
- One-hot sequences are ``(N, 4, L)`` float32 in ``ACGT`` order (:data:`ALPHABET`).
- Lowercase (soft-masked) bases encode like uppercase ones.
- ``N`` is an all-zero column. The other IUPAC ambiguity codes (``R Y S W K M B D H V``) are
  all-zero columns too by default, or their base fractions with ``ambiguous="iupac"``
  (``R`` = A and G at 0.5 each, ``N`` = 0.25 each, ...).
- Anything else (``U``, gaps ``-`` and ``.``, digits, spaces) is an error that names the
  sequence, the character and its position.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch

from seqcnn.exceptions import InputError

__all__ = [
    "ALPHABET",
    "IUPAC",
    "one_hot_encode",
    "decode",
    "reverse_complement",
    "reverse_complement_onehot",
    "dinucleotide_shuffle",
    "dinucleotide_shuffle_many",
    "gc_content",
    "find_invalid",
    "check_sequences",
    "sequence_bytes",
    "check_bytes",
    "first_invalid_byte",
    "one_hot_bytes",
    "CompactOneHot",
    "to_batch",
    "dinucleotide_shuffle_bytes",
]

ALPHABET = "ACGT"

#: The bases that each IUPAC nucleotide code stands for.
IUPAC: dict[str, str] = {
    "A": "A",
    "C": "C",
    "G": "G",
    "T": "T",
    "R": "AG",
    "Y": "CT",
    "S": "CG",
    "W": "AT",
    "K": "GT",
    "M": "AC",
    "B": "CGT",
    "D": "AGT",
    "H": "ACT",
    "V": "ACG",
    "N": "ACGT",
}

_COMPLEMENT = {
    "A": "T",
    "C": "G",
    "G": "C",
    "T": "A",
    "R": "Y",
    "Y": "R",
    "S": "S",
    "W": "W",
    "K": "M",
    "M": "K",
    "B": "V",
    "V": "B",
    "D": "H",
    "H": "D",
    "N": "N",
}
_COMPLEMENT.update({k.lower(): v.lower() for k, v in list(_COMPLEMENT.items())})
_REVCOMP_TABLE = str.maketrans(_COMPLEMENT)

AMBIGUOUS_MODES = ("zero", "iupac")


def _build_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """256-row lookup tables: valid byte, one-hot (zero mode), IUPAC fractions (iupac mode)."""
    valid = np.zeros(256, dtype=bool)
    zero = np.zeros((256, 4), dtype=np.float32)
    frac = np.zeros((256, 4), dtype=np.float32)
    for code, bases in IUPAC.items():
        for ch in (code, code.lower()):
            b = ord(ch)
            valid[b] = True
            for base in bases:
                frac[b, ALPHABET.index(base)] = 1.0 / len(bases)
            if len(bases) == 1:
                zero[b, ALPHABET.index(bases)] = 1.0
    return valid, zero, frac


_VALID, _ONEHOT_ZERO, _ONEHOT_IUPAC = _build_tables()
_ONEHOT_IUPAC_T = np.ascontiguousarray(_ONEHOT_IUPAC.T)  # (4, 256): one row per channel
_BASE_INDEX = np.where(_ONEHOT_ZERO.any(1), _ONEHOT_ZERO.argmax(1), 4).astype(np.uint8)
_CHANNELS = np.arange(4, dtype=np.uint8)
# The same tables as bytes, for bytes.translate, which runs in C over the whole buffer.
_VALID_BYTES = bytes(np.flatnonzero(_VALID).tolist())
_BASE_INDEX_BYTES = bytes(_BASE_INDEX.tolist())


def _as_list(seqs: str | Sequence[str] | np.ndarray) -> tuple[list[str], bool]:
    """``(list of strings, was_single)``; numpy arrays and pandas Series are accepted."""
    if isinstance(seqs, str):
        return [seqs], True
    if isinstance(seqs, np.ndarray):
        return [str(s) for s in seqs.ravel().tolist()], False
    if hasattr(seqs, "tolist") and not isinstance(seqs, list):  # pandas Series / Index
        seqs = seqs.tolist()
    seqs = list(seqs)
    for i, s in enumerate(seqs[:1]):
        if not isinstance(s, str):
            raise TypeError(f"sequences must be strings; item {i} is {type(s).__name__}")
    return seqs, False


def _offsets(seqs: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(lengths, starts)`` of the strings in their concatenation."""
    lengths = np.fromiter(map(len, seqs), dtype=np.int64, count=len(seqs))
    starts = np.zeros(len(seqs), dtype=np.int64)
    if len(seqs) > 1:
        np.cumsum(lengths[:-1], out=starts[1:])
    return lengths, starts


def _locate(starts: np.ndarray, lengths: np.ndarray, flat_pos: int) -> tuple[int, int]:
    """``(sequence index, position in it)`` of position ``flat_pos`` of the concatenation."""
    i = int(np.searchsorted(starts + lengths, flat_pos, side="right"))
    return i, flat_pos - int(starts[i])


def find_invalid(seqs: str | Sequence[str] | np.ndarray) -> tuple[int, int, str] | None:
    """The first character that is not an IUPAC nucleotide code, or ``None``.

    Valid characters are ``A C G T N`` and ``R Y S W K M B D H V``, in either case. RNA ``U``,
    gaps (``-``, ``.``), digits and white space are invalid.

    Parameters
    ----------
    seqs : str or sequence of str (N,)

    Returns
    -------
    tuple of (int, int, str) or None
        ``(sequence index, 0-based position, character)`` of the first invalid character.

    Examples
    --------
    >>> find_invalid(["ACGT", "ACUG"])
    (1, 2, 'U')
    >>> find_invalid("acgtnRY") is None
    True
    """
    items, _ = _as_list(seqs)
    return _scan(items)[3] if items else None


def _scan(
    items: list[str],
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray, tuple[int, int, str] | None]:
    """``(codes, lengths, starts, first_invalid)`` of the joined strings (codes: uint8)."""
    lengths, starts = _offsets(items)
    joined = "".join(items)
    try:
        raw = joined.encode("ascii")
    except UnicodeEncodeError as err:
        codes, flat = None, err.start
    else:
        codes = np.frombuffer(raw, dtype=np.uint8)
        if not raw.translate(None, _VALID_BYTES):  # nothing left once valid bytes are deleted
            return codes, lengths, starts, None
        bad = np.flatnonzero(~_VALID[codes])
        if not bad.size:
            return codes, lengths, starts, None
        flat = int(bad[0])
    i, pos = _locate(starts, lengths, flat)
    return codes, lengths, starts, (i, pos, items[i][pos])


def invalid_character_message(ch: str, pos: int) -> str:
    """The error text for an invalid character ``ch`` at 0-based position ``pos``."""
    return (
        f"invalid character {ch!r} at position {pos + 1} of the sequence; expected A C G T, N "
        "or another IUPAC code (R Y S W K M B D H V), in either case"
        + ("; RNA (U) must be converted to DNA (T) first" if ch in "Uu" else "")
    )


def check_sequences(
    seqs: Sequence[str],
    path: str | os.PathLike | None = None,
    lines: Sequence[int] | np.ndarray | None = None,
    names: Sequence[str] | None = None,
    allow_empty: bool = False,
) -> None:
    """Raise :class:`InputError` for the first empty or invalid sequence, naming where it is.

    Parameters
    ----------
    seqs : sequence of str (N,)
    path : str or os.PathLike, optional
        The file the sequences come from.
    lines : sequence of int (N,), optional
        1-based line number of each sequence in ``path``.
    names : sequence of str (N,), optional
        Record names, used when there are no line numbers.
    allow_empty : bool
        Accept zero-length sequences.

    Examples
    --------
    >>> check_sequences(["ACGT", "NNAC"])
    >>> check_sequences(["ACGT", "AC-T"], path="x.tsv", lines=[2, 3])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    seqcnn.exceptions.InputError: x.tsv, line 3: invalid character '-' at position 3 ...
    """
    items, _ = _as_list(seqs)

    def where(i: int) -> dict:
        return {
            "path": path,
            "line": None if lines is None else int(lines[i]),
            "record": None if names is None or lines is not None else str(names[i]),
        }

    if not allow_empty:
        lengths = np.fromiter(map(len, items), dtype=np.int64, count=len(items))
        empty = np.flatnonzero(lengths == 0)
        if empty.size:
            i = int(empty[0])
            label = "" if lines is not None or names is not None else f"sequence {i}: "
            raise InputError(f"{label}empty sequence", **where(i))
    bad = find_invalid(items)
    if bad is not None:
        i, pos, ch = bad
        label = "" if lines is not None or names is not None else f"sequence {i}: "
        raise InputError(label + invalid_character_message(ch, pos), **where(i))


def one_hot_encode(
    seqs: str | Sequence[str] | np.ndarray,
    length: int | None = None,
    ambiguous: str = "zero",
    names: Sequence[str] | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """One-hot encode DNA sequences in ``ACGT`` order.

    Parameters
    ----------
    seqs : str or sequence of str (N,)
        One sequence, or a list / tuple / numpy array / pandas Series of sequences. Case is
        ignored (soft-masked lowercase encodes like uppercase).
    length : int, optional
        Pad every sequence to this length. By default the longest sequence sets the length.
    ambiguous : {"zero", "iupac"}
        How IUPAC ambiguity codes other than ``N`` are encoded: ``"zero"`` (default) gives an
        all-zero column like ``N``; ``"iupac"`` gives the fractions of the bases the code
        stands for (``R`` = 0.5 A + 0.5 G, ``B`` = 1/3 each of C G T, ``N`` = 0.25 each).
    names : sequence of str (N,), optional
        Record names, used in error messages instead of the bare index.
    dtype : torch.dtype
        ``torch.float32`` (default, what models take), another float type, or ``torch.int8``
        / ``torch.uint8`` / ``torch.bool`` (a quarter of the bytes; zero mode only).

    Returns
    -------
    torch.Tensor (4, L) or (N, 4, L), dtype
        ``(4, L)`` for a single string, ``(N, 4, L)`` otherwise.

    Raises
    ------
    InputError
        A character that is not an IUPAC nucleotide code (this includes RNA ``U``, gaps ``-``
        and ``.``, digits and white space; the message names the sequence index, or its name,
        the character and its 1-based position), or a sequence longer than ``length``.

    Notes
    -----
    Padding policy: sequences shorter than the output length are padded **on the right** with
    all-zero columns (the encoding of ``N``), to the longest sequence or to ``length``. A
    sequence longer than ``length`` is an error, never silently cut.

    Examples
    --------
    >>> one_hot_encode("ACgN").int().tolist()
    [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]]
    >>> one_hot_encode(["ACGT", "AC"]).shape
    torch.Size([2, 4, 4])
    >>> one_hot_encode("R", ambiguous="iupac")[:, 0].tolist()
    [0.5, 0.0, 0.5, 0.0]
    >>> one_hot_encode(["AC"], dtype=torch.int8).dtype
    torch.int8
    """
    if ambiguous not in AMBIGUOUS_MODES:
        raise ValueError(f"ambiguous must be one of {AMBIGUOUS_MODES}, got {ambiguous!r}")
    integer = dtype in _INT_DTYPES
    if integer and ambiguous != "zero":
        raise ValueError(f"ambiguous='iupac' gives fractions; dtype {dtype} cannot hold them")
    items, single = _as_list(seqs)
    if names is not None and len(names) != len(items):
        raise ValueError(f"names has {len(names)} items but there are {len(items)} sequences")
    n = len(items)
    if n == 0:
        return torch.zeros((0, 4, length or 0), dtype=dtype)
    if ambiguous == "zero":
        # one translate pass maps bases to 0-3 (4: no base) and invalid bytes to 255
        lengths, starts = _offsets(items)
        try:
            coded = "".join(items).encode("ascii").translate(_CODE_BYTES)
        except UnicodeEncodeError as err:
            coded, flat = b"", err.start
        else:
            flat = coded.find(b"\xff")
        bad = None if flat < 0 else (*_locate(starts, lengths, flat),)
        codes = np.frombuffer(coded, dtype=np.uint8)
    else:
        codes, lengths, starts, bad = _scan(items)
    if bad is not None:
        i, pos = bad[0], bad[1]
        ch = items[i][pos]
        record = None if names is None else str(names[i])
        raise InputError(f"sequence {i}: {invalid_character_message(ch, pos)}", record=record)
    longest = int(lengths.max())
    if length is None:
        out_len = longest
    else:
        if length < 0:
            raise ValueError(f"length must be >= 0, got {length}")
        if longest > length:
            i = int(np.argmax(lengths))
            record = None if names is None else str(names[i])
            raise InputError(
                f"sequence {i} is {longest} bp long, longer than the requested length {length}",
                record=record,
            )
        out_len = length
    fill = 4 if ambiguous == "zero" else 0  # byte 0: an all-zero row of the IUPAC table
    if out_len == longest and bool((lengths == longest).all()):
        grid = codes.reshape(n, out_len)
    else:
        grid = np.full((n, out_len), fill, dtype=np.uint8)
        # row-major boolean mask: the first lengths[i] cells of row i, in order
        grid[np.arange(out_len) < lengths[:, None]] = codes
    if ambiguous == "zero":
        # one broadcast comparison writes the whole tensor
        np_dtype = np.float32 if dtype is torch.float32 else np.bool_
        out = np.empty((n, 4, out_len), dtype=np_dtype)
        np.equal(grid[:, None, :], _CHANNELS[None, :, None], out=out, casting="unsafe")
        x = torch.from_numpy(out)
        if dtype in (torch.int8, torch.uint8):
            x = x.view(dtype)  # bool bytes are 0/1: a view, no copy
        elif dtype is not torch.float32:
            x = x.to(dtype)
    else:
        out = np.empty((n, 4, out_len), dtype=np.float32)
        for c in range(4):
            np.take(_ONEHOT_IUPAC_T[c], grid, out=out[:, c, :])
        x = torch.from_numpy(out).to(dtype)
    return x[0] if single else x


_DECODE_IUPAC = np.array(list("NACMGRSVTWYHKDBN"), dtype="S1")  # index: bit mask A=1 C=2 G=4 T=8


def decode(
    x: torch.Tensor | np.ndarray,
    lengths: Sequence[int] | np.ndarray | None = None,
    iupac: bool = False,
) -> str | list[str]:
    """Turn one-hot (or soft) encodings back into strings.

    Parameters
    ----------
    x : torch.Tensor or numpy.ndarray (4, L) or (N, 4, L)
        Encodings in ``ACGT`` order.
    lengths : sequence of int (N,), optional
        True lengths, to drop the right padding added by :func:`one_hot_encode`. Without it,
        padding comes back as trailing ``N``.
    iupac : bool
        With ``True``, a column whose non-zero entries are all equal decodes to the IUPAC code
        of those bases (``[0.5, 0, 0.5, 0]`` -> ``R``), which inverts
        ``one_hot_encode(..., ambiguous="iupac")``.

    Returns
    -------
    str or list of str
        A string for a ``(4, L)`` input, a list of ``N`` strings otherwise.

    Notes
    -----
    A column decodes to the base with the largest value. All-zero columns, and columns whose
    largest value is shared by several bases (an ambiguous column, such as IUPAC fractions),
    decode to ``N`` (or to the IUPAC code, with ``iupac=True``).

    Examples
    --------
    >>> decode(one_hot_encode("ACGTN"))
    'ACGTN'
    >>> decode(one_hot_encode(["ACGT", "AC"]), lengths=[4, 2])
    ['ACGT', 'AC']
    >>> decode(one_hot_encode("ARN", ambiguous="iupac"), iupac=True)
    'ARN'
    """
    arr = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    single = arr.ndim == 2
    if single:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1] != 4:
        raise ValueError(f"expected shape (4, L) or (N, 4, L), got {tuple(arr.shape)}")
    n, _, length = arr.shape
    top = arr.max(axis=1, keepdims=True)  # (N, 1, L)
    at_top = (arr == top) & (top > 0)
    mask = (at_top * np.array([1, 2, 4, 8], dtype=np.uint8)[None, :, None]).sum(axis=1)
    if iupac:
        nonzero = arr != 0
        flat = np.where(nonzero, arr, top).min(axis=1) == top[:, 0]  # all non-zero equal
        bits = (nonzero * np.array([1, 2, 4, 8], dtype=np.uint8)[None, :, None]).sum(axis=1)
        mask = np.where(flat, bits, mask)
        chars = _DECODE_IUPAC[mask.astype(np.intp)]
    else:
        lut = np.full(16, b"N", dtype="S1")
        lut[[1, 2, 4, 8]] = [b"A", b"C", b"G", b"T"]
        chars = lut[mask.astype(np.intp)]
    if length == 0:
        strings = [""] * n
    else:
        strings = np.ascontiguousarray(chars).view(f"S{length}").ravel().astype(str).tolist()
    if lengths is not None:
        lengths = np.asarray(lengths, dtype=np.int64)
        if lengths.shape != (n,):
            raise ValueError(f"lengths must have {n} items, got shape {lengths.shape}")
        strings = [s[:k] for s, k in zip(strings, lengths.tolist(), strict=True)]
    return strings[0] if single else strings


def reverse_complement(seq: str | Sequence[str]) -> str | list[str]:
    """Reverse complement of one sequence or of each sequence in a list.

    IUPAC-aware (``R``<->``Y``, ``K``<->``M``, ``B``<->``V``, ``D``<->``H``; ``S``, ``W``,
    ``N`` are their own complements) and case-preserving. Characters outside the IUPAC codes
    (gaps, ``U``) are kept as they are, only moved.

    Parameters
    ----------
    seq : str or sequence of str (N,)

    Returns
    -------
    str or list of str

    Examples
    --------
    >>> reverse_complement("AACgtR")
    'YacGTT'
    >>> reverse_complement(["AC", "GGN"])
    ['GT', 'NCC']
    """
    if isinstance(seq, str):
        return seq.translate(_REVCOMP_TABLE)[::-1]
    return [s.translate(_REVCOMP_TABLE)[::-1] for s in seq]


def reverse_complement_onehot(x: torch.Tensor) -> torch.Tensor:
    """Reverse complement of one-hot DNA ``(..., 4, L)`` in ACGT order: both axes flipped.

    Complementing is reversing the ACGT channel order (A<->T, C<->G), so IUPAC fractions and
    all-zero N columns come out right too.

    Examples
    --------
    >>> decode(reverse_complement_onehot(one_hot_encode(["AACGN"])))
    ['NCGTT']
    """
    return x.flip(-2, -1)


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


_SHUFFLE_BASES = 1 << 21  # bases walked together; bounds memory for long inputs
_SHUFFLE_ROWS = 16384  # and at most this many sequences


def _random_group_order(src: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Per row, edge indices sorted by source symbol, in random order within each symbol."""
    rows, n_edges = src.shape
    src_bits = int(k).bit_length()  # symbols 0..k (k is the padding vertex)
    rand_bits = 32 - src_bits
    if rand_bits >= 20 and n_edges * n_edges < (1 << rand_bits) // 1000:
        # 32-bit keys sort fast; ties (which would not be random) are then rarer than 1e-3
        key = src.astype(np.uint32) << np.uint32(rand_bits)
        key |= rng.integers(0, 1 << rand_bits, size=src.shape, dtype=np.uint32)
    else:
        key = src.astype(np.uint64) << np.uint64(64 - src_bits)
        key |= rng.integers(0, 1 << (64 - src_bits), size=src.shape, dtype=np.uint64)
    return np.argsort(key, axis=1)


def _is_arborescence(
    exit_to: np.ndarray, has_out: np.ndarray, last: np.ndarray, k: int
) -> np.ndarray:
    """(B,) whether, in each row, following exits from every symbol with out-edges reaches
    ``last`` (exit_to, has_out: (B, k); last: (B,))."""
    reach = np.zeros(has_out.shape, dtype=bool)
    reach[np.arange(has_out.shape[0]), last] = True
    for _ in range(k):
        reach |= has_out & np.take_along_axis(reach, exit_to, axis=1)
    return np.all(reach | ~has_out, axis=1)


def _shuffle_chunk(
    ids: np.ndarray, lengths: np.ndarray, k: int, rng: np.random.Generator
) -> np.ndarray:
    """Altschul-Erickson shuffle of each row of ``ids`` (B, Lmax); row b is lengths[b] long.

    Symbols are ``0..k-1``; what lies past a row's length is ignored. Returns (B, Lmax).

    Each row is an Euler path of its doublet graph. The out-edges of every symbol are put in
    random order; then one out-edge per symbol is drawn to be its last exit, and the draw is
    kept when these exits form a tree into the final symbol (redrawn otherwise: a uniform
    random arborescence). The walk then follows the edges in order, exits last. All rows are
    walked together, one position per step.
    """
    b, lmax = ids.shape
    n_edges = lmax - 1
    rows = np.arange(b)
    real = np.arange(n_edges)[None, :] < (lengths - 1)[:, None]
    src = np.where(real, ids[:, :-1], k)  # padding edges leave from a dummy vertex k
    last = ids[rows, lengths - 1]  # where every walk must end
    counts = np.bincount((rows[:, None] * (k + 1) + src).ravel(), minlength=b * (k + 1))
    counts = counts.reshape(b, k + 1)
    start = np.zeros_like(counts)
    np.cumsum(counts[:, :-1], axis=1, out=start[:, 1:])
    counts, start = counts[:, :k], start[:, :k] + rows[:, None] * n_edges  # flat slots
    order = _random_group_order(src, k, rng)
    walk_dst = np.take_along_axis(ids[:, 1:], order, axis=1).ravel()  # target of each slot
    has_out = counts > 0
    hi = b * n_edges - 1
    # the group's last slot (a random edge); clipped for symbols without out-edges
    exit_slot = np.minimum(start + np.maximum(counts, 1) - 1, hi)
    todo = np.flatnonzero(~_is_arborescence(walk_dst[exit_slot], has_out, last, k))
    while todo.size:
        # redraw the exit of each symbol of the failed rows, uniformly within its group
        draw = (rng.random((todo.size, k)) * counts[todo]).astype(np.int64)
        draw = np.minimum(draw, np.maximum(counts[todo], 1) - 1)
        exit_slot[todo] = np.minimum(start[todo] + draw, hi)
        ok = _is_arborescence(walk_dst[exit_slot[todo]], has_out[todo], last[todo], k)
        todo = todo[~ok]
    # swap each exit into its group's last slot: the other edges stay in random order
    end_slot = (start + np.maximum(counts, 1) - 1)[has_out]
    ex = exit_slot[has_out]
    walk_dst[ex], walk_dst[end_slot] = walk_dst[end_slot], walk_dst[ex]
    ptr = start.ravel()
    np.minimum(ptr, hi, out=ptr)  # symbols without out-edges: never read for live rows
    if b == 1:  # one (long) sequence: a plain loop beats numpy calls per step
        ptr_l, dst_l = ptr.tolist(), walk_dst.tolist()
        cur_i = int(ids[0, 0])
        path = [cur_i]
        for _ in range(int(lengths[0]) - 1):
            s = ptr_l[cur_i]
            ptr_l[cur_i] = s + 1
            cur_i = dst_l[s]
            path.append(cur_i)
        res = ids.copy()
        res[0, : len(path)] = path
        return res
    out = np.empty((lmax, b), dtype=ids.dtype)
    cur = ids[:, 0].copy()
    out[0] = cur
    base = rows * k
    for t in range(1, lmax):
        v = base + cur
        s = ptr[v]
        ptr[v] = np.minimum(s + 1, hi)  # finished rows keep stepping; stay in bounds
        cur = walk_dst[s]
        out[t] = cur
    return out.T


def dinucleotide_shuffle_many(
    seqs: Sequence[str] | np.ndarray,
    n: int = 1,
    seed: int | np.random.Generator | None = None,
) -> list[str]:
    """Dinucleotide shuffles of many sequences, ``n`` per input (Altschul & Erickson 1985).

    Each shuffle is drawn uniformly among the sequences with exactly the same dinucleotide
    (doublet) counts, hence the same base composition, first and last character. This is
    how DeepBind drew its negatives. The shuffle treats every character as its own symbol:
    ``N``, other codes and lowercase letters are shuffled along, and ``a`` differs from ``A``.

    Parameters
    ----------
    seqs : sequence of str (M,)
    n : int
        Shuffles per input sequence.
    seed : int or numpy.random.Generator, optional
        Seed (or generator) for reproducible shuffles.

    Returns
    -------
    list of str (M * n,)
        All ``n`` shuffles of ``seqs[0]``, then all ``n`` of ``seqs[1]``, and so on. Sequences
        of length 0 to 2 have a single arrangement and come back unchanged.

    Notes
    -----
    The algorithm draws, for each sequence, a random "last exit" edge out of each symbol so
    that these edges form a tree into the final symbol (rejection sampling), orders the other
    out-edges at random, and walks the resulting Euler path. All sequences are walked together
    with numpy (one step per position), so the cost per sequence is small.

    Examples
    --------
    >>> out = dinucleotide_shuffle_many(["ACGTTGCAAC", "GGGCCC"], n=2, seed=0)
    >>> len(out), sorted(out[0]) == sorted("ACGTTGCAAC"), out[0][0], out[0][-1]
    (4, True, 'A', 'C')
    """
    items, single = _as_list(seqs)
    if single:
        raise TypeError(
            "dinucleotide_shuffle_many takes a list of sequences; see dinucleotide_shuffle"
        )
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = _rng(seed)
    if n == 0 or not items:
        return []
    if n > 1:
        items = [s for s in items for _ in range(n)]
    total = len(items)
    lengths, starts = _offsets(items)
    joined = "".join(items)
    try:
        codes = np.frombuffer(joined.encode("latin-1"), dtype=np.uint8)
        symbols = np.flatnonzero(np.bincount(codes, minlength=256))
        small = symbols.size < 255  # ids and the padding vertex fit in a byte
        to_id = np.zeros(256, dtype=np.uint8 if small else np.intp)
        to_id[symbols] = np.arange(symbols.size)
        ids_flat = to_id[codes]
    except UnicodeEncodeError:
        wide = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
        symbols, ids_flat = np.unique(wide, return_inverse=True)
    k = int(symbols.size)
    out_flat = ids_flat.copy()
    todo = np.flatnonzero(lengths > 2)
    if todo.size == total and bool((lengths == lengths[0]).all()):
        # one length (the usual case): rows of a matrix, no gathering
        width = int(lengths[0])
        grid = ids_flat.reshape(total, width)
        rows = max(1, min(_SHUFFLE_ROWS, _SHUFFLE_BASES // width))
        out_grid = out_flat.reshape(total, width)
        for c in range(0, total, rows):
            lens = lengths[c : c + rows]
            out_grid[c : c + rows] = _shuffle_chunk(grid[c : c + rows], lens, k, rng)
        todo = todo[:0]
    todo = todo[np.argsort(lengths[todo], kind="stable")]  # similar lengths share a chunk
    c = 0
    while c < todo.size:
        # a chunk of similar lengths: at most _SHUFFLE_ROWS rows and _SHUFFLE_BASES bases
        rows = max(1, min(_SHUFFLE_ROWS, _SHUFFLE_BASES // int(lengths[todo[c]])))
        idx = todo[c : c + rows]
        while idx.size > 1 and idx.size * int(lengths[idx[-1]]) > _SHUFFLE_BASES:
            idx = idx[: idx.size // 2]
        c += idx.size
        lens = lengths[idx]
        lmax = int(lens.max())
        col = np.arange(lmax)
        inside = col[None, :] < lens[:, None]
        gather = np.where(inside, starts[idx][:, None] + col[None, :], 0)
        shuffled = _shuffle_chunk(ids_flat[gather], lens, k, rng)
        out_flat[gather[inside]] = shuffled[inside]
    if symbols.dtype == np.uint32:
        text = symbols.astype(np.uint32)[out_flat].tobytes().decode("utf-32-le")
    else:
        text = symbols.astype(np.uint8)[out_flat].tobytes().decode("latin-1")
    ends = (starts + lengths).tolist()
    return [text[s:e] for s, e in zip(starts.tolist(), ends, strict=True)]


def dinucleotide_shuffle(seq: str, rng: int | np.random.Generator | None = None) -> str:
    """Dinucleotide shuffle of one sequence (Altschul & Erickson 1985).

    The result has exactly the dinucleotide counts of ``seq`` (so the same composition, first
    and last character) and is drawn uniformly among all such sequences. See
    :func:`dinucleotide_shuffle_many` for batches, which is much faster per sequence.

    Parameters
    ----------
    seq : str
    rng : int or numpy.random.Generator, optional
        Seed or generator.

    Returns
    -------
    str

    Examples
    --------
    >>> s = dinucleotide_shuffle("ACGTACGGTTAC", rng=1)
    >>> len(s), s[0], s[-1], sorted(s) == sorted("ACGTACGGTTAC")
    (12, 'A', 'C', True)
    """
    if not isinstance(seq, str):
        raise TypeError(f"seq must be a str, got {type(seq).__name__}")
    return dinucleotide_shuffle_many([seq], n=1, seed=_rng(rng))[0]


_GC = np.zeros(256, dtype=np.int64)
_ACGT = np.zeros(256, dtype=np.int64)
for _ch in "GCgc":
    _GC[ord(_ch)] = 1
for _ch in "ACGTacgt":
    _ACGT[ord(_ch)] = 1


def gc_content(seqs: str | Sequence[str] | np.ndarray) -> float | np.ndarray:
    """Fraction of G and C among the A, C, G, T bases of each sequence (any case).

    Ambiguous codes (``N``, ``R``, ...) count neither way. A sequence with no A/C/G/T base
    gets ``nan``.

    Parameters
    ----------
    seqs : str or sequence of str (N,)

    Returns
    -------
    float or numpy.ndarray (N,) float64

    Examples
    --------
    >>> gc_content("GGCAnn")
    0.75
    >>> gc_content(["GC", "AT"]).tolist()
    [1.0, 0.0]
    """
    items, single = _as_list(seqs)
    if not items:
        return np.zeros(0, dtype=np.float64)
    lengths, starts = _offsets(items)
    codes = np.frombuffer("".join(items).encode("ascii", errors="replace"), dtype=np.uint8)
    ends = starts + lengths
    gc = np.concatenate([[0], np.cumsum(_GC[codes])])
    acgt = np.concatenate([[0], np.cumsum(_ACGT[codes])])
    n_gc = gc[ends] - gc[starts]
    n_acgt = acgt[ends] - acgt[starts]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(n_acgt > 0, n_gc / np.maximum(n_acgt, 1), np.nan)
    return float(frac[0]) if single else frac


# ---------------------------------------------------------------------------- compact storage
# Sequences are held as their ASCII bytes (one byte per base, the text as read: soft-masked
# lower case and IUPAC codes kept), and become one-hot per batch, on the batch's device,
# through a 256-entry table. One ``bytes.translate`` pass both validates and looks up: bytes
# that are no nucleotide code map to 255, found afterwards with one ``memchr``.
PAD_BYTE = 0  # padding: an all-zero column in both ambiguous modes (N is 0.25s in "iupac")
_INVALID = 255
_CODE_BYTES = bytes(int(_BASE_INDEX[b]) if _VALID[b] else _INVALID for b in range(256))
_INT_DTYPES = (torch.int8, torch.uint8, torch.int16, torch.int32, torch.int64, torch.bool)
_LUT_CACHE: dict[tuple, torch.Tensor] = {}


def _first_invalid(raw: bytes) -> int:
    """Position of the first byte that is no nucleotide code, or -1 (one pass, in C)."""
    if not raw.translate(None, _VALID_BYTES):
        return -1
    return raw.translate(_CODE_BYTES).find(b"\xff")


def _check_length(length: int, lengths: np.ndarray, names) -> int:
    if length < 0:
        raise ValueError(f"length must be >= 0, got {length}")
    longest = int(lengths.max())
    if longest > length:
        i = int(np.argmax(lengths))
        record = None if names is None else str(names[i])
        raise InputError(
            f"sequence {i} is {longest} bp long, longer than the requested length {length}",
            record=record,
        )
    return length


def sequence_bytes(
    seqs: str | Sequence[str] | np.ndarray,
    length: int | None = None,
    names: Sequence[str] | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Sequences as a ``(N, L)`` grid of their ASCII bytes, validated: the compact form.

    Parameters
    ----------
    seqs : str or sequence of str (N,)
    length : int, optional
        Pad on the right to this length (with byte 0, an all-zero column, as
        :func:`one_hot_encode` pads); by default the longest sets it.
    names : sequence of str (N,), optional
        Record names for error messages.
    out : numpy.ndarray (N, L) uint8, optional
        Write into this array (e.g. rows of a training buffer) instead of a new one.

    Returns
    -------
    numpy.ndarray (N, L) uint8
        One byte per base; :func:`one_hot_bytes` and :class:`CompactOneHot` turn them into
        one-hot ``(N, 4, L)``, identical to :func:`one_hot_encode` of the strings.

    Raises
    ------
    InputError
        As :func:`one_hot_encode`.

    Examples
    --------
    >>> sequence_bytes(["ACgt", "TR"]).tobytes()
    b'ACgtTR\\x00\\x00'
    """
    fill = getattr(seqs, "fill_bytes", None)  # rows that write their own bytes (genome windows)
    if fill is not None and length in (None, seqs.length):
        if out is None:
            out = np.empty((len(seqs), seqs.length), dtype=np.uint8)
        fill(out)
        return out
    items, _ = _as_list(seqs)
    if names is not None and len(names) != len(items):
        raise ValueError(f"names has {len(names)} items but there are {len(items)} sequences")
    if not items:
        return np.zeros((0, length or 0), dtype=np.uint8)
    lengths, starts = _offsets(items)
    longest = int(lengths.max())
    out_len = longest if length is None else _check_length(length, lengths, names)
    if out is None:
        out = np.empty((len(items), out_len), dtype=np.uint8)
    elif out.shape != (len(items), out_len) or out.dtype != np.uint8:
        raise ValueError(f"out must be uint8 of shape {(len(items), out_len)}, got {out.shape}")
    equal = out_len == longest and bool((lengths == longest).all())
    if not equal:
        out[:] = PAD_BYTE
    # in pieces of ~16 MB: the joined text and its bytes are temporaries of that size only
    step = max(1, (1 << 24) // max(longest, 1))
    for a in range(0, len(items), step):
        b = min(a + step, len(items))
        try:
            raw = "".join(items[a:b]).encode("ascii")
        except UnicodeEncodeError as err:
            raw, bad = b"", err.start
        else:
            bad = _first_invalid(raw)
        if bad >= 0:
            i, pos = _locate(starts[a:b] - starts[a], lengths[a:b], bad)
            i += a
            record = None if names is None else str(names[i])
            raise InputError(
                f"sequence {i}: {invalid_character_message(items[i][pos], pos)}", record=record
            )
        flat = np.frombuffer(raw, dtype=np.uint8)
        if equal:
            out[a:b] = flat.reshape(b - a, out_len)
        else:  # row-major: row i's first cells
            out[a:b][np.arange(out_len) < lengths[a:b, None]] = flat
    return out


def first_invalid_byte(raw: np.ndarray) -> int:
    """Flat index of the first byte of ``raw`` that is no nucleotide code, or -1.

    Examples
    --------
    >>> first_invalid_byte(np.frombuffer(b"ACGT-A", dtype=np.uint8))
    4
    """
    return _first_invalid(np.ascontiguousarray(raw, dtype=np.uint8).tobytes())


def check_bytes(raw: np.ndarray, names: Sequence[str] | None = None) -> np.ndarray:
    """Raise :class:`InputError` for the first byte of ``raw`` (N, L) that is no nucleotide
    code (e.g. in genome windows from :meth:`Genome.window_codes`); returns ``raw``.

    Examples
    --------
    >>> check_bytes(np.frombuffer(b"ACGTNa", dtype=np.uint8)).tobytes()
    b'ACGTNa'
    """
    arr = np.ascontiguousarray(raw, dtype=np.uint8)
    bad = first_invalid_byte(arr)
    if bad >= 0:
        width = arr.shape[-1] if arr.ndim > 1 else arr.size
        i, pos = divmod(bad, max(width, 1))
        record = None if names is None else str(names[i])
        label = "" if arr.ndim == 1 else f"sequence {i}: "
        ch = chr(arr.reshape(-1)[bad])
        raise InputError(label + invalid_character_message(ch, pos), record=record)
    return raw


def _lut(ambiguous: str, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """(256, 4) one-hot rows per byte, on ``device``."""
    key = (ambiguous, dtype, str(device))
    lut = _LUT_CACHE.get(key)
    if lut is None:
        table = _ONEHOT_ZERO if ambiguous == "zero" else _ONEHOT_IUPAC
        lut = torch.from_numpy(table).to(device=device, dtype=dtype)
        _LUT_CACHE[key] = lut
    return lut


def one_hot_bytes(
    raw: torch.Tensor | np.ndarray,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device | None = None,
    ambiguous: str = "zero",
) -> torch.Tensor:
    """One-hot ``(N, 4, L)`` of ASCII bytes ``(N, L)``, made where the bytes are.

    On a GPU the batch crosses the bus as one byte per base and becomes one-hot there.

    Parameters
    ----------
    raw : torch.Tensor or numpy.ndarray (N, L) or (L,) uint8
        From :func:`sequence_bytes` or :meth:`Genome.window_codes` (already validated).
    dtype : torch.dtype
    device : str or torch.device, optional
        Move the bytes there first (default: where they are).
    ambiguous : {"zero", "iupac"}
        As in :func:`one_hot_encode`.

    Returns
    -------
    torch.Tensor (N, 4, L) or (4, L)

    Examples
    --------
    >>> one_hot_bytes(sequence_bytes("ACN"))[0].int().tolist()
    [[1, 0, 0], [0, 1, 0], [0, 0, 0], [0, 0, 0]]
    """
    t = torch.as_tensor(raw)
    if device is not None:
        t = t.to(device, non_blocking=True)
    if ambiguous == "zero" and t.device.type == "cpu" and t.ndim >= 1:
        # bytes.translate to base indices (4: no base), then one broadcast comparison
        arr = np.ascontiguousarray(t.numpy())
        codes = np.frombuffer(arr.tobytes().translate(_BASE_INDEX_BYTES), dtype=np.uint8)
        codes = codes.reshape(arr.shape)
        np_dtype = np.float32 if dtype is torch.float32 else np.bool_
        out = np.empty((*arr.shape[:-1], 4, arr.shape[-1]), dtype=np_dtype)
        np.equal(codes[..., None, :], _CHANNELS[:, None], out=out, casting="unsafe")
        x = torch.from_numpy(out)
        if dtype in (torch.int8, torch.uint8):
            return x.view(dtype)
        return x if dtype in (torch.float32, torch.bool) else x.to(dtype)
    if ambiguous == "zero":
        index = _lut_index(t.device)[t.long()]
        return (index.unsqueeze(-2) == torch.arange(4, device=t.device).view(4, 1)).to(dtype)
    lut = _lut(ambiguous, dtype, t.device)
    return lut[t.long()].transpose(-1, -2).contiguous()


def _lut_index(device: torch.device) -> torch.Tensor:
    """(256,) base index per byte (4: no base), on ``device``."""
    key = ("index", str(device))
    lut = _LUT_CACHE.get(key)
    if lut is None:
        lut = torch.from_numpy(_BASE_INDEX.astype(np.int64)).to(device)
        _LUT_CACHE[key] = lut
    return lut


class CompactOneHot:
    """ASCII bytes ``(N, L)`` that index like a ``(N, 4, L)`` float32 one-hot tensor.

    What datasets hold instead of float32 one-hot: one byte per base instead of sixteen.
    Indexing (``x[i]``, ``x[a:b]``, ``x[index_tensor]``) returns float32 one-hot of those
    rows, on the CPU; :meth:`batch` makes the one-hot on a device from the bytes moved there
    (pinned memory and a non-blocking copy from the CPU to CUDA).

    Parameters
    ----------
    data : torch.Tensor or numpy.ndarray (N, L) uint8
        Validated ASCII bytes (:func:`sequence_bytes`, :func:`check_bytes`).
    ambiguous : {"zero", "iupac"}

    Examples
    --------
    >>> x = CompactOneHot(sequence_bytes(["ACGT", "TTGA"]))
    >>> x.shape, x[1].shape, x[torch.tensor([1, 0])].shape, x.nbytes
    (torch.Size([2, 4, 4]), torch.Size([4, 4]), torch.Size([2, 4, 4]), 8)
    >>> torch.equal(x[:], one_hot_encode(["ACGT", "TTGA"]))
    True
    >>> torch.equal(x, one_hot_encode(["ACGT", "TTGA"]))  # torch functions see the one-hot
    True
    """

    dtype = torch.float32
    ndim = 3

    def __init__(self, data: torch.Tensor | np.ndarray, ambiguous: str = "zero") -> None:
        t = torch.as_tensor(data)
        if t.dtype != torch.uint8 or t.ndim != 2:
            raise ValueError(f"data must be uint8 (N, L), got {t.dtype} {tuple(t.shape)}")
        if ambiguous not in AMBIGUOUS_MODES:
            raise ValueError(f"ambiguous must be one of {AMBIGUOUS_MODES}, got {ambiguous!r}")
        self.data, self.ambiguous = t, ambiguous

    @property
    def shape(self) -> torch.Size:
        n, length = self.data.shape
        return torch.Size([n, 4, length])

    @property
    def device(self) -> torch.device:
        return self.data.device

    @property
    def nbytes(self) -> int:
        return self.data.numel()

    def size(self, dim: int | None = None):
        return self.shape if dim is None else self.shape[dim]

    def __len__(self) -> int:
        return self.data.shape[0]

    def __getitem__(self, index) -> torch.Tensor:
        return one_hot_bytes(self.data[index], ambiguous=self.ambiguous)

    def batch(
        self,
        index,
        device: str | torch.device | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> torch.Tensor:
        """One-hot of rows ``index`` made on ``device``."""
        part = self.data[index]
        if device is not None and torch.device(device).type == "cuda" and not part.is_cuda:
            part = part.pin_memory()
        return one_hot_bytes(part, dtype=dtype, device=device, ambiguous=self.ambiguous)

    def to(self, device: str | torch.device) -> CompactOneHot:
        """The same bytes on ``device`` (one byte per base there)."""
        return CompactOneHot(self.data.to(device), self.ambiguous)

    def float(self) -> torch.Tensor:
        """The whole one-hot tensor (16 bytes per base: for small sets only)."""
        return one_hot_bytes(self.data, ambiguous=self.ambiguous)

    def clone(self) -> CompactOneHot:
        """A copy of the bytes."""
        return CompactOneHot(self.data.clone(), self.ambiguous)

    def cpu(self) -> CompactOneHot:
        return self.to("cpu")

    def numpy(self) -> np.ndarray:
        """The whole one-hot array (float32), as ``Tensor.numpy``."""
        return self.float().numpy()

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = self.numpy()
        return out if dtype is None else out.astype(dtype)

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        # torch functions (torch.equal, torch.cat, ...) see the one-hot tensor
        def dense(a):
            if isinstance(a, CompactOneHot):
                return a.float()
            if isinstance(a, (list, tuple)):
                return type(a)(dense(b) for b in a)
            return a

        return func(*dense(args), **{k: dense(v) for k, v in (kwargs or {}).items()})

    def __repr__(self) -> str:
        return f"CompactOneHot({len(self)} x {self.data.shape[1]} bp, uint8)"


def to_batch(
    x: torch.Tensor | CompactOneHot, index, device: str | torch.device | None = None
) -> torch.Tensor:
    """``x[index]`` as the model's input on ``device``: one-hot made there for compact ``x``,
    else moved with pinned memory and a non-blocking copy to CUDA.

    Examples
    --------
    >>> to_batch(CompactOneHot(sequence_bytes(["ACGT", "TTGA"])), slice(0, 1)).shape
    torch.Size([1, 4, 4])
    """
    if isinstance(x, CompactOneHot) or hasattr(x, "batch"):  # bytes, or genome windows
        return x.batch(index, device)
    part = x[index]
    if device is None:
        return part
    if torch.device(device).type == "cuda" and not part.is_cuda:
        part = part.pin_memory()
    return part.to(device, non_blocking=True)


def dinucleotide_shuffle_bytes(
    raw: np.ndarray,
    n: int = 1,
    seed: int | np.random.Generator | None = None,
    out: np.ndarray | None = None,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """Dinucleotide shuffles of equal-length sequences held as bytes, written into ``out``.

    The same draws as :func:`dinucleotide_shuffle_many` on the same strings and seed (so
    training with either gives the same negatives), without making strings: the work goes
    chunk by chunk, and only ``out`` is as large as the result.

    Parameters
    ----------
    raw : numpy.ndarray (M, L) uint8
    n : int
        Shuffles per row.
    seed : int or numpy.random.Generator, optional
    out : numpy.ndarray (M * n, L) uint8, optional
        Where to write them (e.g. the negative rows of a training buffer).
    rows : numpy.ndarray (M,) int, optional
        Shuffle only these rows of ``raw`` (read chunk by chunk: no copy of them is made).

    Returns
    -------
    numpy.ndarray (M * n, L) uint8
        All ``n`` shuffles of row 0, then of row 1, ...

    Examples
    --------
    >>> seqs = ["ACGTTGCAAC", "GGGCCCATAT"]
    >>> a = dinucleotide_shuffle_bytes(sequence_bytes(seqs), n=2, seed=0)
    >>> [r.tobytes().decode() for r in a] == dinucleotide_shuffle_many(seqs, n=2, seed=0)
    True
    """
    raw = np.asarray(raw, dtype=np.uint8)
    if raw.ndim != 2:
        raise ValueError(f"raw must be (M, L), got shape {raw.shape}")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rows = np.arange(raw.shape[0]) if rows is None else np.asarray(rows, dtype=np.int64)
    m, width = rows.size, raw.shape[1]
    total = m * n
    if out is None:
        out = np.empty((total, width), dtype=np.uint8)
    elif out.shape != (total, width) or out.dtype != np.uint8:
        raise ValueError(f"out must be uint8 of shape {(total, width)}, got {out.shape}")
    rng = _rng(seed)
    if total == 0:
        return out
    if width <= 2:
        out[:] = np.repeat(raw[rows], n, axis=0)
        return out
    counts = np.zeros(256, dtype=np.int64)
    step = max(1, (1 << 20) // width)  # bincount casts to intp: 8 B per base counted
    for c in range(0, m, step):
        counts += np.bincount(raw[rows[c : c + step]].ravel(), minlength=256)
    symbols = np.flatnonzero(counts)
    to_id = np.zeros(256, dtype=np.uint8 if symbols.size < 255 else np.intp)
    to_id[symbols] = np.arange(symbols.size)
    k = int(symbols.size)
    sym = symbols.astype(np.uint8)
    chunk = max(1, min(_SHUFFLE_ROWS, _SHUFFLE_BASES // width))
    lens = np.full(chunk, width, dtype=np.int64)
    for c in range(0, total, chunk):
        src = rows[np.arange(c, min(c + chunk, total)) // n]
        ids = to_id[raw[src]]
        out[c : c + len(src)] = sym[_shuffle_chunk(ids, lens[: len(src)], k, rng)]
    return out
