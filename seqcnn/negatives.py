"""Negatives as in the literature, and labelled examples from genome intervals.

- :func:`shuffled_negatives`: dinucleotide shuffles of the positives (DeepBind);
- :func:`flank_negatives`: windows beside each positive;
- :func:`gc_matched_negatives`: random genomic windows with the positives' GC content;
- :func:`interval_examples` and :func:`read_intervals`: BED + genome -> labelled windows.

Intervals are 0-based half-open throughout; windows are made by :func:`seqcnn.io.windows`
once per call and handed to the negative samplers (``positive_windows``).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from seqcnn.exceptions import InputError
from seqcnn.io.bed import merge_intervals, overlaps, read_bed, windows
from seqcnn.io.genome import Genome, GenomeRows
from seqcnn.io.table import SequenceTable
from seqcnn.sequence import dinucleotide_shuffle_many, gc_content

__all__ = [
    "NEGATIVE_KINDS",
    "shuffled_negatives",
    "flank_negatives",
    "gc_matched_negatives",
    "interval_examples",
    "read_intervals",
]

NEGATIVE_KINDS = ("flank", "gc", "shuffle", "none")


def shuffled_negatives(
    sequences: Sequence[str], n_per_positive: int = 1, seed: int | None = None
) -> list[str]:
    """Dinucleotide-shuffled copies of the positives, as DeepBind drew its negatives.

    Parameters
    ----------
    sequences : sequence of str (N,)
    n_per_positive : int
    seed : int, optional

    Returns
    -------
    list of str (N * n_per_positive,)
        All shuffles of ``sequences[0]`` first, then of ``sequences[1]``, ...; each has the
        dinucleotide counts of its source.

    Examples
    --------
    >>> neg = shuffled_negatives(["ACGTTAGC", "GGATCCAA"], n_per_positive=2, seed=0)
    >>> len(neg), [n[0] for n in neg]
    (4, ['A', 'A', 'G', 'G'])
    """
    return dinucleotide_shuffle_many(list(sequences), n=n_per_positive, seed=seed)


def _non_acgt_fraction(seqs: list[str]) -> np.ndarray:
    """Fraction of non-ACGT characters (N and other codes) in each sequence."""
    if not seqs:
        return np.zeros(0)
    joined = np.frombuffer("".join(seqs).upper().encode("ascii", "replace"), dtype=np.uint8)
    is_base = np.isin(joined, np.frombuffer(b"ACGT", dtype=np.uint8))
    lengths = np.fromiter(map(len, seqs), dtype=np.int64, count=len(seqs))
    ends = np.cumsum(lengths)
    cum = np.concatenate([[0], np.cumsum(is_base)])
    bases = cum[ends] - cum[ends - lengths]
    return 1.0 - bases / np.maximum(lengths, 1)


def flank_negatives(
    bed: pd.DataFrame,
    genome: Genome,
    length: int,
    distance: int | None = None,
    center: str = "summit",
    exclude: pd.DataFrame | None = None,
    max_n: float = 0.01,
    positive_windows: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Windows to the left and right of each positive, as negatives.

    Parameters
    ----------
    bed : pandas.DataFrame
        Positive intervals (:func:`seqcnn.io.read_bed`).
    genome : Genome
    length : int
        Window length.
    distance : int, optional
        Distance from a positive's centre (summit or middle) to each flank window's centre;
        default ``3 * length``.
    center : {"summit", "middle"}
    exclude : pandas.DataFrame, optional
        Intervals no negative may overlap; default the positive intervals and their
        ``length``-bp windows.
    max_n : float
        Largest fraction of non-ACGT bases (``N``...) allowed in a window.
    positive_windows : pandas.DataFrame, optional
        ``windows(bed, length, center)``, when the caller has them already.

    Returns
    -------
    pandas.DataFrame
        ``chrom start end name strand side source`` (``side`` is ``left``/``right``,
        ``source`` the positive's name), 0-based half-open, every window ``length`` long, on
        its contig, overlapping no interval of ``exclude`` nor another negative, and with at
        most ``max_n`` ambiguous bases.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "g.fa"
    >>> _ = p.write_text(">c\\n" + "ACGT" * 50 + "\\n")
    >>> bed = pd.DataFrame({"chrom": ["c"], "start": [90], "end": [110], "name": ["p"]})
    >>> flank_negatives(bed, Genome(p), 20, distance=40)[["start", "end", "side"]].values.tolist()
    [[50, 70, 'left'], [130, 150, 'right']]
    """
    if distance is None:
        distance = 3 * length
    win = windows(bed, length, center=center) if positive_windows is None else positive_windows
    names = win["name"] if "name" in win.columns else pd.Series(range(len(win)), dtype=str)
    parts = []
    for side, shift in (("left", -distance), ("right", distance)):
        parts.append(
            pd.DataFrame(
                {
                    "chrom": win["chrom"].astype(str).to_numpy(),
                    "start": win["start"].to_numpy() + shift,
                    "end": win["end"].to_numpy() + shift,
                    "name": (names.astype(str) + f"_{side}").to_numpy(),
                    "strand": ".",
                    "side": side,
                    "source": names.astype(str).to_numpy(),
                }
            )
        )
    neg = pd.concat(parts, ignore_index=True)
    if exclude is None:
        exclude = _positives_footprint(bed, win)
    return _clean_candidates(neg, genome, exclude, max_n)[0]


def _positives_footprint(bed: pd.DataFrame, win: pd.DataFrame) -> pd.DataFrame:
    """The positive intervals and their windows: what negatives must not overlap."""
    cols = ["chrom", "start", "end"]
    return pd.concat([bed[cols], win[cols]], ignore_index=True)


def _first_of_overlapping(
    chrom: np.ndarray, start: np.ndarray, end: np.ndarray, keep: np.ndarray | None = None
) -> np.ndarray:
    """Mask that drops every window overlapping the window before it (by contig and start)
    among those in ``keep``: what remains does not overlap (for equal-length windows)."""
    keep = np.ones(len(chrom), dtype=bool) if keep is None else keep.copy()
    idx = np.flatnonzero(keep)
    order = idx[np.lexsort((start[idx], chrom[idx]))]
    if order.size > 1:
        same = chrom[order[1:]] == chrom[order[:-1]]
        clash = same & (start[order[1:]] < end[order[:-1]])
        keep[order[1:][clash]] = False
    return keep


def _clean_candidates(
    neg: pd.DataFrame, genome: Genome, exclude: pd.DataFrame | None, max_n: float
) -> tuple[pd.DataFrame, list[str]]:
    """Keep the windows that lie on a known contig, overlap no interval of ``exclude`` and
    no earlier kept window (all windows have one length: of two overlapping ones, the one
    that starts first stays), and have at most ``max_n`` non-ACGT bases.

    Returns the kept windows (in their original order, index reset) and their sequences.
    """
    size = neg["chrom"].map(genome.chrom_sizes).to_numpy(dtype=np.float64)
    start = neg["start"].to_numpy(dtype=np.int64)
    end = neg["end"].to_numpy(dtype=np.int64)
    chrom = neg["chrom"].astype(str).to_numpy()
    keep = ~np.isnan(size) & (start >= 0) & (end <= np.nan_to_num(size, nan=-1))
    if exclude is not None and len(exclude):
        keep &= ~overlaps(chrom, start, end, merge_intervals(exclude))
    keep &= _first_of_overlapping(chrom, start, end, keep)
    neg = neg.loc[keep].reset_index(drop=True)
    seqs = genome.fetch_intervals(neg) if len(neg) else []
    good = _non_acgt_fraction(seqs) <= max_n
    if not good.all():
        neg = neg.loc[good].reset_index(drop=True)
        seqs = [s for s, g in zip(seqs, good.tolist(), strict=True) if g]
    return neg, seqs


def _split_counts(weights: np.ndarray, n: int) -> np.ndarray:
    """Integers proportional to ``weights`` that sum to ``n`` (largest remainders)."""
    if weights.sum() <= 0:
        return np.zeros(len(weights), dtype=np.int64)
    exact = weights / weights.sum() * n
    counts = np.floor(exact).astype(np.int64)
    rest = n - int(counts.sum())
    if rest > 0:
        counts[np.argsort(-(exact - counts), kind="stable")[:rest]] += 1
    return counts


def gc_matched_negatives(
    bed: pd.DataFrame,
    genome: Genome,
    length: int,
    n: int | None = None,
    seed: int | np.random.Generator | None = None,
    bins: int = 20,
    center: str = "summit",
    exclude: pd.DataFrame | None = None,
    chroms: Sequence[str] | None = None,
    max_n: float = 0.01,
    positive_sequences: Sequence[str] | None = None,
    max_rounds: int = 20,
    positive_windows: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Random genomic windows whose GC content follows that of the positives.

    The positives' GC fractions are binned (``bins`` equal bins on [0, 1]); random windows
    are drawn uniformly over ``chroms`` (weighted by length) and kept, bin by bin, until each
    bin holds its share of ``n``. Windows overlapping a positive (or ``exclude``) or another
    negative, or with more than ``max_n`` non-ACGT bases, are never kept. If a bin cannot be
    filled in ``max_rounds`` rounds (GC contents rare in the genome), it is filled from the
    nearest bins and a warning says so.

    Parameters
    ----------
    bed : pandas.DataFrame
        Positive intervals (:func:`seqcnn.io.read_bed`).
    genome : Genome
    length : int
        Window length.
    n : int, optional
        Number of negatives; default ``len(bed)``.
    seed : int or numpy.random.Generator, optional
    bins : int
        GC bins.
    center : {"summit", "middle"}
        Centres of the positive windows whose GC content is matched.
    exclude : pandas.DataFrame, optional
        Intervals to avoid; default the positive intervals and their ``length``-bp windows.
    chroms : sequence of str, optional
        Contigs to draw from; default those of the positives.
    max_n : float
        Largest fraction of non-ACGT bases in a negative.
    positive_sequences : sequence of str, optional
        The positives' sequences, if already fetched (saves fetching them again).
    max_rounds : int
        Rounds of random draws before falling back on nearest bins.
    positive_windows : pandas.DataFrame, optional
        ``windows(bed, length, center)``, when the caller has them already.

    Returns
    -------
    pandas.DataFrame
        ``chrom start end name strand gc`` (0-based half-open, ``length`` bp each).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "g.fa"
    >>> rng = np.random.default_rng(0)
    >>> _ = p.write_text(">c\\n" + "".join(rng.choice(list("ACGT"), 5000)) + "\\n")
    >>> bed = pd.DataFrame({"chrom": ["c"] * 3, "start": [100, 900, 2000], "end": [150, 950, 2050]})
    >>> neg = gc_matched_negatives(bed, Genome(p), 50, n=6, seed=0)
    >>> len(neg), set(neg["end"] - neg["start"])
    (6, {50})
    """
    rng = np.random.default_rng(seed) if not isinstance(seed, np.random.Generator) else seed
    n = len(bed) if n is None else int(n)
    win = windows(bed, length, center=center) if positive_windows is None else positive_windows
    exclude = _positives_footprint(bed, win) if exclude is None else exclude
    if positive_sequences is None:
        positive_sequences = genome.fetch_intervals(win)
    pos_gc = gc_content(list(positive_sequences))
    pos_gc = pos_gc[~np.isnan(pos_gc)]
    if pos_gc.size == 0 or n == 0:
        return pd.DataFrame({c: [] for c in ("chrom", "start", "end", "name", "strand", "gc")})
    edges = np.linspace(0.0, 1.0, bins + 1)

    def bin_of(gc: np.ndarray) -> np.ndarray:
        return np.clip(np.searchsorted(edges, gc, side="right") - 1, 0, bins - 1)

    need = _split_counts(np.bincount(bin_of(pos_gc), minlength=bins).astype(float), n)
    contigs = list(dict.fromkeys(chroms if chroms is not None else bed["chrom"].astype(str)))
    for c in contigs:
        genome._check_chrom(c)
    sizes = np.array([genome.chrom_sizes[c] for c in contigs], dtype=np.int64)
    room = np.maximum(sizes - length + 1, 0)
    if room.sum() == 0:
        raise InputError(f"no contig among {contigs} is at least {length} bp long")
    chosen: list[pd.DataFrame] = []
    spare: list[pd.DataFrame] = []
    avoid = exclude[["chrom", "start", "end"]]
    for _ in range(max_rounds):
        missing = int(need.sum())
        if missing == 0:
            break
        m = max(4 * missing, 256)
        which = rng.choice(len(contigs), size=m, p=room / room.sum())
        start = (rng.random(m) * room[which]).astype(np.int64)
        cand = pd.DataFrame(
            {"chrom": np.asarray(contigs, dtype=object)[which], "start": start}
        ).assign(end=lambda d: d["start"] + length)
        cand, seqs = _clean_candidates(cand, genome, avoid, max_n)
        if not len(cand):
            continue
        cand["gc"] = gc_content(seqs)
        b = bin_of(cand["gc"].to_numpy())
        # first `need[b]` candidates of each bin (candidates are in random order)
        rank = cand.groupby(b).cumcount().to_numpy()
        take = rank < need[b]
        chosen.append(cand.loc[take])
        spare.append(cand.loc[~take])
        need -= np.bincount(b[take], minlength=bins)
        avoid = pd.concat([avoid, cand.loc[take, ["chrom", "start", "end"]]], ignore_index=True)
    if need.sum() > 0:
        pool = pd.concat(spare, ignore_index=True) if spare else pd.DataFrame()
        if len(pool):
            pool = pool.loc[~overlaps(pool["chrom"], pool["start"], pool["end"], avoid)]
            pool = pool.loc[
                _first_of_overlapping(
                    pool["chrom"].astype(str).to_numpy(),
                    pool["start"].to_numpy(),
                    pool["end"].to_numpy(),
                )
            ]
            pb = bin_of(pool["gc"].to_numpy())
            extra = []
            for k in np.flatnonzero(need):
                dist = np.abs(pb - k).astype(float)
                dist[np.isin(np.arange(len(pool)), extra)] = np.inf
                best = np.argsort(dist, kind="stable")[: need[k]]
                extra.extend(int(i) for i in best if np.isfinite(dist[i]))
            chosen.append(pool.iloc[extra])
            filled = len(extra)
        else:
            filled = 0
        got = sum(len(c) for c in chosen)
        warnings.warn(
            f"gc_matched_negatives: too few genome windows in some GC bins after {max_rounds} "
            f"rounds; {filled} of {n} negatives come from the nearest bins"
            + (f", and only {got} of {n} could be drawn" if got < n else ""),
            stacklevel=2,
        )
    columns = ["chrom", "start", "end", "name", "strand", "gc"]
    if not chosen or not sum(len(c) for c in chosen):
        return pd.DataFrame({c: [] for c in columns})
    out = pd.concat(chosen, ignore_index=True).iloc[:n].reset_index(drop=True)
    out["name"] = (
        out["chrom"].astype(str) + ":" + out["start"].astype(str) + "-" + out["end"].astype(str)
    )
    out["strand"] = "."
    return out[columns]


def interval_examples(
    bed: pd.DataFrame,
    genome: Genome,
    length: int,
    negatives: str = "flank",
    center: str = "summit",
    label_column: str | None = None,
    n_negatives: int | None = None,
    distance: int | None = None,
    bins: int = 20,
    max_n: float = 0.01,
    jitter: int = 0,
    seed: int | None = None,
    fetch: bool = True,
) -> tuple[list[str] | None, np.ndarray, pd.DataFrame]:
    """Fixed-length labelled sequences from BED intervals and a genome.

    Positives are ``length``-bp windows centred on each interval's summit (narrowPeak) or
    middle, labelled 1 (or with the BED column ``label_column``, e.g. ``signal``); negatives,
    labelled 0, are drawn as ``negatives`` says.

    Parameters
    ----------
    bed : pandas.DataFrame
        From :func:`seqcnn.io.read_bed`.
    genome : Genome
    length : int
    negatives : {"flank", "gc", "shuffle", "none"}
        ``flank``: :func:`flank_negatives`; ``gc``: :func:`gc_matched_negatives` (one per
        positive unless ``n_negatives``); ``shuffle``: dinucleotide shuffles of the
        positives (:func:`shuffled_negatives`, located at their positive); ``none``.
    center : {"summit", "middle"}
    label_column : str, optional
        BED column holding the positives' labels (regression); default all 1.
    n_negatives : int, optional
        For ``gc``: how many; for ``shuffle``: per positive.
    distance : int, optional
        For ``flank``: distance between centres (default ``3 * length``).
    bins : int
        For ``gc``: GC bins.
    max_n : float
        Largest fraction of non-ACGT bases in a drawn negative window.
    jitter : int
        Shift each positive window by a random offset in ``[-jitter, jitter]`` (training
        augmentation; :class:`IntervalDataset` re-draws shifts every epoch instead).
    seed : int, optional
    fetch : bool
        Fetch the windows' sequences. ``False`` (except for ``shuffle`` negatives, which need
        them) checks the windows against the genome and returns ``None`` for the sequences:
        ``meta`` has the coordinates (see :class:`seqcnn.datasets.GenomeRows`).

    Returns
    -------
    sequences : list of str (N,), or None
    labels : numpy.ndarray (N, 1) float32
    meta : pandas.DataFrame (N rows)
        ``chrom start end name label kind line`` (the window, ``kind`` is ``positive`` or the
        negative kind, ``line`` the BED line of the positive or of the interval a negative was
        drawn for, -1 for ``gc``).

    Raises
    ------
    InputError
        A positive window on a contig the genome lacks, or running off its end (naming the
        BED file and line); an unknown ``negatives`` kind.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "g.fa"
    >>> _ = p.write_text(">c\\n" + "ACGGT" * 100 + "\\n")
    >>> bed = pd.DataFrame({"chrom": ["c"], "start": [200], "end": [240], "line": [1]})
    >>> seqs, y, meta = interval_examples(bed, Genome(p), 30, negatives="flank")
    >>> y.ravel().tolist(), meta["kind"].tolist()
    ([1.0, 0.0, 0.0], ['positive', 'flank', 'flank'])
    """
    if negatives not in NEGATIVE_KINDS:
        raise InputError(
            f"unknown negatives {negatives!r}; choose one of: {', '.join(NEGATIVE_KINDS)}"
        )
    rng = np.random.default_rng(seed)
    centred = windows(bed, length, center=center)  # once, for positives and negatives alike
    win = centred.copy()
    if jitter:
        shift = rng.integers(-jitter, jitter + 1, size=len(win))
        win["start"] += shift
        win["end"] += shift
    fetch = fetch or negatives == "shuffle"
    if fetch:
        pos_seqs = genome.fetch_intervals(win)
    else:
        genome.check(win)  # the errors fetching would give, without the strings
        pos_seqs = None
    if label_column is not None:
        if label_column not in bed.columns:
            raise InputError(
                f"no column {label_column!r} in the BED frame; columns: {list(bed.columns)}",
                path=bed.attrs.get("path"),
            )
        pos_y = bed[label_column].to_numpy(dtype=np.float32)
    else:
        pos_y = np.ones(len(win), dtype=np.float32)
    lines = win["line"].to_numpy() if "line" in win.columns else np.full(len(win), -1)
    names = (
        win["name"].astype(str).to_numpy()
        if "name" in win.columns
        else np.array([f"interval{i + 1}" for i in range(len(win))], dtype=object)
    )
    meta = [
        pd.DataFrame(
            {
                "chrom": win["chrom"].astype(str).to_numpy(),
                "start": win["start"].to_numpy(),
                "end": win["end"].to_numpy(),
                "name": names,
                "label": pos_y,
                "kind": "positive",
                "line": lines,
            }
        )
    ]
    seqs = list(pos_seqs) if fetch else None
    if negatives == "flank":
        neg = flank_negatives(
            bed, genome, length, distance=distance, max_n=max_n, positive_windows=centred
        )
        neg_seqs = genome.fetch_intervals(neg) if fetch else None
        line_of = dict(zip(names, lines, strict=True))
        neg_lines = neg["source"].map(line_of).fillna(-1).to_numpy(dtype=np.int64)
    elif negatives == "gc":
        neg = gc_matched_negatives(
            bed,
            genome,
            length,
            n=n_negatives,
            seed=rng,
            bins=bins,
            center=center,
            max_n=max_n,
            positive_sequences=pos_seqs,
            positive_windows=centred,
        )
        neg_seqs = genome.fetch_intervals(neg) if fetch else None
        neg_lines = np.full(len(neg), -1)
    elif negatives == "shuffle":
        k = n_negatives or 1
        neg_seqs = shuffled_negatives(pos_seqs, n_per_positive=k, seed=rng)
        rep = np.repeat(np.arange(len(win)), k)
        neg = pd.DataFrame(
            {
                "chrom": meta[0]["chrom"].to_numpy()[rep],
                "start": meta[0]["start"].to_numpy()[rep],
                "end": meta[0]["end"].to_numpy()[rep],
                "name": [
                    f"{names[i]}_shuffle{j + 1}"
                    for i, j in zip(rep, np.tile(np.arange(k), len(win)), strict=True)
                ],
            }
        )
        neg_lines = lines[rep]
    else:
        neg, neg_seqs, neg_lines = None, [], np.zeros(0, dtype=np.int64)
    if neg is not None and len(neg):
        meta.append(
            pd.DataFrame(
                {
                    "chrom": neg["chrom"].astype(str).to_numpy(),
                    "start": neg["start"].to_numpy(),
                    "end": neg["end"].to_numpy(),
                    "name": neg["name"].astype(str).to_numpy(),
                    "label": np.float32(0.0),
                    "kind": negatives,
                    "line": neg_lines,
                }
            )
        )
        if seqs is not None:
            seqs.extend(neg_seqs)
    out = pd.concat(meta, ignore_index=True)
    out.attrs = dict(bed.attrs)
    return seqs, out["label"].to_numpy(dtype=np.float32)[:, None], out


def read_intervals(
    path: str | os.PathLike,
    genome: Genome | str | os.PathLike,
    length: int,
    negatives: str | None = "flank",
    center: str = "summit",
    label_column: str | None = None,
    seed: int | None = 0,
    **kwargs,
) -> SequenceTable:
    """Read a BED/narrowPeak file into a labelled :class:`~seqcnn.io.SequenceTable`.

    A thin layer over :func:`seqcnn.io.read_bed` and :func:`interval_examples`.

    Parameters
    ----------
    path : str or os.PathLike
        BED or narrowPeak file of positives.
    genome : Genome or str or os.PathLike
        The reference (a :class:`~seqcnn.io.Genome` or its FASTA path).
    length : int
        Window length.
    negatives : {"flank", "gc", "shuffle", "none"} or None
        How to draw negatives (``None`` = ``"none"``).
    center : {"summit", "middle"}
    label_column : str, optional
        BED column with the positives' labels (e.g. ``signal``); default 1.
    seed : int, optional
    **kwargs
        More options of :func:`interval_examples` (``n_negatives``, ``distance``, ``bins``,
        ``max_n``, ``jitter``).

    Returns
    -------
    SequenceTable
        Ids ``name`` of each window; ``lines`` the BED line of each positive (-1 for drawn
        negatives); ``columns`` ``chrom start end kind`` (as text).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "g.fa").write_text(">c\\n" + "ACGGT" * 100 + "\\n")
    >>> _ = (d / "p.bed").write_text("c\\t200\\t240\\tpeak\\n")
    >>> t = read_intervals(d / "p.bed", d / "g.fa", 30)
    >>> t.ids, t.labels.ravel().tolist()
    (['peak', 'peak_left', 'peak_right'], [1.0, 0.0, 0.0])
    """
    bed = read_bed(path)
    if not isinstance(genome, Genome):
        genome = Genome(genome)
    seqs, labels, meta = interval_examples(
        bed,
        genome,
        length,
        negatives=negatives or "none",
        center=center,
        label_column=label_column,
        seed=seed,
        fetch=False,
        **kwargs,
    )
    if seqs is None:  # read from the genome when needed: no string of each window is kept
        seqs = GenomeRows(genome, meta["chrom"].to_numpy(), meta["start"].to_numpy(), length)
        seqs.check(meta["name"].astype(str).to_numpy())  # the errors the strings would give
    lines = meta["line"].to_numpy(dtype=np.int64).copy()
    lines[meta["kind"].to_numpy() != "positive"] = -1
    return SequenceTable(
        ids=meta["name"].astype(str).tolist(),
        sequences=seqs,
        labels=labels,
        target_names=[label_column or "label"],
        path=str(path),
        lines=lines,
        columns={c: meta[c].astype(str).tolist() for c in ("chrom", "start", "end", "kind")},
    )
