"""Variant effects: VCF records -> reference and alternative windows -> scores, significance.

For every (record, ALT allele) of a VCF, two windows of the model's input length ``L`` are cut
from the genome, one with the reference allele and one with the alternative allele, scored by
the model, and their difference reported per target (alt - ref, logits by default).

Window rule
-----------
With ``c = L // 2`` (for odd and even ``L``):

- **SNVs and MNVs** (REF and ALT of equal length) are placed as written: the first REF base sits
  at 0-based index ``c`` of the window, so the window starts at ``pos0 - c``; the ALT window is
  the REF window with the ALT bases at ``c, c + 1, ...``.
- **Indels** (and complex alleles of unequal length) are first normalised: the bases shared at
  the end, then at the start, of REF and ALT are trimmed; a pure insertion or deletion is then
  shifted left as far as the reference allows (left-alignment, as ``bcftools norm``). The first
  affected base (the first deleted base, or the reference base just after the inserted ones)
  sits at index ``c``. Both windows keep the length ``L``: the REF window is the genome's
  ``[pos0 - c, pos0 - c + L)``; the ALT window is the same left flank (``c`` bases), the ALT
  bases, then the genome after the REF bases, cut to ``L`` on the right. A deletion therefore
  pulls more of the right flank in; an insertion pushes it out. Since the normalised form of an
  indel is unique, a deletion written left-aligned or not gives the same windows and scores.
- A REF or ALT longer than ``L - c`` after normalisation does not fit and is skipped as
  ``allele_too_long``.
- Windows that run off a contig end are padded with ``N`` (all-zero columns, as the models' own
  padding) and flagged ``padded`` (``edge="pad"``, the default), or skipped as
  ``out_of_bounds`` (``edge="skip"``). A REF that itself runs off the contig is always
  ``out_of_bounds``.

Statuses
--------
``ok`` for scored alleles, or the first reason that applies of :data:`seqcnn.io.vcf.SKIP_REASONS`:
``symbolic_allele``, ``spanning_deletion``, ``missing_allele``, ``unknown_contig``,
``out_of_bounds``, ``ref_mismatch``, ``allele_too_long``. Scored alleles may carry flags:
``padded``, ``ref_trusted`` (REF differed from the genome; ``ref_policy="trust"`` scored the
VCF's REF in its place).

Significance
------------
The null of an effect is the same edit made in ``n_shuffles`` dinucleotide shuffles of its
window: the variant's flanks (the bases left and right of the allele, joined) are shuffled
preserving dinucleotide counts (runs of N at their two ends, e.g. padding off a contig, stay
in place), the REF and ALT alleles are put back at index ``c`` by the rule
above, and the shuffled pair is scored. ``z = (delta - mean(null)) / sd(null)`` and the
two-sided empirical p-value is ``(1 + #{|null| >= |delta| - 1e-5}) / (1 + n_shuffles)``
(near-ties count as ties: scores are exact only to float rounding), which is valid (never
anti-conservative) when the window is exchangeable with its shuffles, as random sequence is.
Shuffles are seeded per allele (``seed``, record index, ALT index), so results do not depend
on chunking or batch size.
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from seqcnn.exceptions import ConfigError, InputError
from seqcnn.io.genome import Genome
from seqcnn.io.vcf import (
    AnnotatedVcfWriter,
    ContigMatcher,
    InfoField,
    VariantAllele,
    VcfReader,
    VcfRecord,
    info_key,
)
from seqcnn.predict import predict
from seqcnn.sequence import dinucleotide_shuffle_many, one_hot_encode
from seqcnn.snv_shortcut import SnvShortcut
from seqcnn.utils import atomic_write

__all__ = [
    "REF_POLICIES",
    "EDGE_POLICIES",
    "SCALES",
    "NULL_DESCRIPTION",
    "VariantWindow",
    "VariantSummary",
    "variant_window",
    "normalize_allele",
    "accepts_length",
    "VariantScorer",
    "score_variants",
    "write_variant_scores",
    "read_variant_scores",
]

REF_POLICIES = ("skip", "trust", "fail")
EDGE_POLICIES = ("pad", "skip")
SCALES = ("logit", "probability")
MISMATCH_WARNING = 0.05  # fraction of REF mismatches above which the build probably differs
#: Null deltas this close to the observed one in size count as ties (as extreme): scores are
#: exact to float rounding only, and the SNV shortcut's rounding depends on a window's
#: neighbours in its chunk.
TIE = 1e-5

NULL_DESCRIPTION = (
    "the same edit in {n} dinucleotide-shuffled copies of the window (flanks shuffled, "
    "N runs at their ends kept, alleles kept at the centre; seed {seed}); "
    "z = (delta - mean) / sd of the null; "
    f"p = (1 + #|null| >= |delta| - {TIE:g}) / (1 + {{n}}), two-sided"
)


# ---------------------------------------------------------------- windows
class _BlockCache:
    """A genome's ``fetch`` served from one upper-cased block of text per contig, read when a
    request falls outside it: sorted variants cost one genome read per block, not one each."""

    BLOCK = 1 << 12  # dense variants share a read; a sparse one reads little more than before

    def __init__(self, genome: Genome) -> None:
        self.genome, self.chrom_sizes = genome, genome.chrom_sizes
        self._blocks: dict[str, tuple[int, str]] = {}

    def keys(self):
        return self.genome.keys()

    def fetch(self, chrom: str, start: int, end: int) -> str:
        lo, text = self._blocks.get(chrom, (0, ""))
        if start < lo or end > lo + len(text):
            lo = start
            hi = min(self.chrom_sizes[chrom], max(end, start + self.BLOCK))
            text = self.genome.fetch(chrom, lo, hi).upper()
            self._blocks[chrom] = (lo, text)
        return text[start - lo : end - lo]


class _Local:
    """Bases of one contig near a variant, fetched once, ``N`` off the contig ends.

    ``override`` = ``(start, text)`` replaces the genome's bases there (``ref_policy="trust"``).
    """

    def __init__(self, genome: Genome, chrom: str, start: int, end: int) -> None:
        self.genome, self.chrom = genome, chrom
        self.size = genome.chrom_sizes[chrom]
        self.override: tuple[int, str] | None = None
        self.start, self.text = start, self._fetch(start, end)

    def _fetch(self, a: int, b: int) -> str:
        n_left = max(0, min(b, 0) - a)
        n_right = max(0, b - max(a, self.size))
        lo, hi = max(a, 0), min(b, self.size)
        mid = self.genome.fetch(self.chrom, lo, hi).upper() if hi > lo else ""
        return "N" * n_left + mid + "N" * n_right

    def get(self, a: int, b: int) -> str:
        if b <= a:
            return ""
        if a < self.start or b > self.start + len(self.text):
            lo, hi = min(a, self.start), max(b, self.start + len(self.text))
            self.text = self._fetch(lo, hi)
            self.start = lo
            if self.override is not None:
                self._apply(*self.override)
        return self.text[a - self.start : b - self.start]

    def _apply(self, start: int, text: str) -> None:
        i = start - self.start
        self.text = self.text[:i] + text + self.text[i + len(text) :]

    def substitute(self, start: int, text: str) -> None:
        self.get(start, start + len(text))
        self.override = (start, text)
        self._apply(start, text)


def normalize_allele(pos0: int, ref: str, alt: str, reference=None) -> tuple[int, str, str]:
    """Trim shared bases of an indel and left-align it against the reference.

    Parameters
    ----------
    pos0 : int
        0-based offset of the first REF base.
    ref, alt : str
        Upper-case alleles. Equal-length alleles (SNVs, MNVs) come back unchanged.
    reference : callable ``(start, end) -> str``, optional
        The reference bases (0-based half-open); without it no left-alignment.

    Returns
    -------
    (pos0, ref, alt) : (int, str, str)
        The normalised allele; one of ``ref``, ``alt`` may be empty (a pure insertion or
        deletion, ``pos0`` being the first deleted base or the base after the insertion).

    Examples
    --------
    >>> seq = "GCAAAT"   # deleting one A of the AAA run, written at its last A
    >>> normalize_allele(3, "AA", "A", lambda a, b: seq[a:b])
    (2, 'A', '')
    >>> normalize_allele(1, "CA", "C", lambda a, b: seq[a:b])   # written left-aligned
    (2, 'A', '')
    """
    if len(ref) == len(alt):
        return pos0, ref, alt
    while ref and alt and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while ref and alt and ref[0] == alt[0]:
        ref, alt, pos0 = ref[1:], alt[1:], pos0 + 1
    if reference is None or (ref and alt):
        return pos0, ref, alt
    moving = ref or alt  # a deletion of ref, or an insertion of alt before pos0
    while pos0 > 0:
        block = reference(max(0, pos0 - 64), pos0)
        for base in reversed(block):
            if base != moving[-1] or base == "N":
                return (pos0, moving, "") if ref else (pos0, "", moving)
            moving = base + moving[:-1]
            pos0 -= 1
    return (pos0, moving, "") if ref else (pos0, "", moving)


@dataclass
class VariantWindow:
    """The reference and alternative windows of one ALT allele (or why there are none).

    ``left`` (``c`` bases), ``ref``/``alt`` (normalised alleles) and ``right`` rebuild the
    windows: ``ref_seq = (left + ref + right)[:L]``, ``alt_seq = (left + alt + right)[:L]``.
    """

    allele: VariantAllele
    status: str
    flags: tuple[str, ...] = ()
    start: int | None = None  # 0-based genome offset of the windows' first base
    left: str = ""
    ref: str = ""
    alt: str = ""
    right: str = ""
    length: int = 0
    ref_checked: bool = False  # REF was compared with the genome
    ref_differs: bool = False  # ... and differed

    @property
    def ref_seq(self) -> str:
        return (self.left + self.ref + self.right)[: self.length]

    @property
    def alt_seq(self) -> str:
        return (self.left + self.alt + self.right)[: self.length]


def _matches(vcf_ref: str, genome_ref: str) -> bool:
    return all(v == g or v == "N" for v, g in zip(vcf_ref, genome_ref, strict=True))


def variant_window(
    allele: VariantAllele,
    genome: Genome,
    length: int,
    contigs: ContigMatcher | None = None,
    ref_policy: str = "skip",
    edge: str = "pad",
    path: str | os.PathLike | None = None,
) -> VariantWindow:
    """Cut the REF and ALT windows of one allele by the rule of this module's docstring.

    Parameters
    ----------
    allele : VariantAllele
    genome : Genome
    length : int
        The window length ``L``; the allele's first (affected) base sits at ``L // 2``.
    contigs : ContigMatcher, optional
        VCF -> genome contig names (default: exact names or one unambiguous alias).
    ref_policy : {"skip", "trust", "fail"}
    edge : {"pad", "skip"}
    path : str or os.PathLike, optional
        The VCF, for the message of ``ref_policy="fail"``.

    Returns
    -------
    VariantWindow
        ``status`` ``"ok"`` with the windows, or a skip reason.

    Raises
    ------
    InputError
        With ``ref_policy="fail"``, when REF differs from the genome.
    """
    if allele.skip is not None:
        return VariantWindow(allele, allele.skip)
    contigs = contigs or ContigMatcher(genome.keys())
    chrom = contigs(allele.chrom)
    if chrom is None:
        return VariantWindow(allele, "unknown_contig")
    size = genome.chrom_sizes[chrom]
    vref, valt, p = allele.ref.upper(), allele.alt.upper(), allele.pos0
    if p < 0 or p + len(vref) > size:
        return VariantWindow(allele, "out_of_bounds")
    c = length // 2
    local = _Local(genome, chrom, p - c - 64, p + len(vref) + length + 1)
    flags: list[str] = []
    gref = local.get(p, p + len(vref))
    if not _matches(vref, gref):
        if ref_policy == "fail":
            raise InputError(
                f"REF {allele.ref!r} differs from the genome's {gref!r} at {chrom}:{allele.pos} "
                f"(variant {allele.name}); --ref-policy skip (the default) skips such records, "
                "--ref-policy trust scores the VCF's REF",
                path=path,
                line=allele.line,
                record=None if allele.line is not None else allele.name,
            )
        if ref_policy != "trust":
            return VariantWindow(allele, "ref_mismatch", ref_checked=True, ref_differs=True)
        local.substitute(p, vref)
        flags.append("ref_trusted")
    p, r, a = normalize_allele(p, vref, valt, local.get)
    differs = bool(flags)
    if len(r) > length - c or len(a) > length - c:
        return VariantWindow(allele, "allele_too_long", ref_checked=True, ref_differs=differs)
    start = p - c
    need = length - c - min(len(r), len(a))
    stop = p + len(r) + need
    if start < 0 or stop > size:
        if edge == "skip":
            return VariantWindow(allele, "out_of_bounds", ref_checked=True, ref_differs=differs)
        flags.append("padded")
    return VariantWindow(
        allele,
        "ok",
        tuple(flags),
        start=start,
        left=local.get(start, p),
        ref=r,
        alt=a,
        right=local.get(p + len(r), stop),
        length=length,
        ref_checked=True,
        ref_differs=differs,
    )


# ---------------------------------------------------------------- summary
@dataclass
class VariantSummary:
    """Counts of one scoring run: every ALT allele read is scored or skipped for a reason."""

    records: int = 0
    alleles: int = 0
    scored: int = 0
    skipped: Counter = field(default_factory=Counter)
    flagged: Counter = field(default_factory=Counter)
    ref_checked: int = 0  # records whose REF was compared with the genome
    ref_mismatched: int = 0
    aliases: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def n_skipped(self) -> int:
        return sum(self.skipped.values())

    def line(self) -> str:
        """One line: records, ALT alleles, scored, skipped by reason, flags."""
        skipped = ", ".join(f"{k} {v}" for k, v in sorted(self.skipped.items())) or "none"
        flagged = ", ".join(f"{k} {v}" for k, v in sorted(self.flagged.items()))
        text = (
            f"{self.records} records, {self.alleles} ALT alleles: {self.scored} scored"
            + (f" ({flagged})" if flagged else "")
            + f", {self.n_skipped} skipped ({skipped})"
        )
        if self.aliases:
            text += "; contigs matched by alias: " + ", ".join(
                f"{k}->{v}" for k, v in sorted(self.aliases.items())[:5]
            )
            text += " ..." if len(self.aliases) > 5 else ""
        return text


# ---------------------------------------------------------------- the model
def _model_device(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def accepts_length(model: nn.Module, length: int, n_outputs: int | None = None) -> bool:
    """Whether ``model`` scores windows of ``length`` (one forward pass of zeros on the CPU).

    Models with global pooling (DeepBind) accept any length; models with a dense layer over
    positions accept only their training length.

    Examples
    --------
    >>> from seqcnn.models import create_model
    >>> accepts_length(create_model("deepbind"), 37)
    True
    >>> accepts_length(nn.Sequential(nn.Flatten(), nn.Linear(4 * 20, 1)), 37)
    False
    """
    if length < 1:
        return False
    device = _model_device(model)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            out = model(torch.zeros(1, 4, length, device=device))
    except (RuntimeError, ValueError, IndexError):
        return False
    finally:
        model.train(was_training)
    return out.ndim == 2 and out.shape[0] == 1 and (n_outputs is None or out.shape[1] == n_outputs)


class VariantScorer:
    """Score the ALT alleles of VCFs with a model, streaming in chunks of records.

    Parameters
    ----------
    model : torch.nn.Module
        Takes ``(N, 4, length)`` one-hot windows, returns ``(N, T)`` outputs (logits).
    genome : Genome or str or os.PathLike
        The reference FASTA.
    length : int
        Window length (the run's input length, ``config["input"]["length"]``).
    targets : sequence of str, optional
        Names of the ``T`` outputs (default ``t0, t1, ...``).
    task : {"binary", "multilabel", "multiclass", "regression"}
        How ``scale="probability"`` maps outputs: sigmoid, sigmoid, softmax; not for regression.
    scale : {"logit", "probability"}
    ref_policy : {"skip", "trust", "fail"}
    edge : {"pad", "skip"}
    n_shuffles : int
        Shuffled windows per allele for significance (0: none; 99 gives p-values in steps
        of 0.01).
    seed : int
    rc_average : bool
        Average each window's output with its reverse complement's (for single-strand models;
        DeepBind-style models already merge both strands).
    batch_size : int
    device : str or torch.device, optional
        Default: where the model is. The model is moved back and left in its mode afterwards.
    verbose : bool
        A progress bar (records per second).
    shortcut : bool
        Score SNVs with :class:`seqcnn.snv_shortcut.SnvShortcut` where the model allows it
        (DeepBind-like models: the same scores, several times faster); ``False`` scores every
        window with a forward pass of the model.
    """

    def __init__(
        self,
        model: nn.Module,
        genome: Genome | str | os.PathLike,
        length: int,
        targets: Sequence[str] | None = None,
        task: str = "binary",
        scale: str = "logit",
        ref_policy: str = "skip",
        edge: str = "pad",
        n_shuffles: int = 0,
        seed: int = 0,
        rc_average: bool = False,
        batch_size: int = 256,
        device: str | torch.device | None = None,
        verbose: bool = False,
        shortcut: bool = True,
    ) -> None:
        for name, value, choices in (
            ("scale", scale, SCALES),
            ("ref_policy", ref_policy, REF_POLICIES),
            ("edge", edge, EDGE_POLICIES),
        ):
            if value not in choices:
                raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
        if scale == "probability" and task not in ("binary", "multilabel", "multiclass"):
            raise ConfigError(
                f"scale 'probability' needs a classification model; this one is {task!r} "
                "(use the logit scale)"
            )
        if length < 1:
            raise ConfigError(f"window length must be at least 1, got {length}")
        if n_shuffles < 0:
            raise ConfigError(f"n_shuffles must be 0 (no significance) or more, got {n_shuffles}")
        if batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
        self.model = model
        self.genome = genome if isinstance(genome, Genome) else Genome(genome)
        self._blocks = _BlockCache(self.genome)
        self.contigs = ContigMatcher(self.genome.keys())
        self.length = int(length)
        self.task, self.scale = task, scale
        self.ref_policy, self.edge = ref_policy, edge
        self.n_shuffles, self.seed = int(n_shuffles), int(seed)
        self.rc_average = rc_average
        self.batch_size = batch_size
        self.device = torch.device(device) if device is not None else _model_device(model)
        self.verbose = verbose
        self.shortcut = shortcut
        self._snv: SnvShortcut | None = None  # made on the first chunk, when the model is ready
        self.targets = list(targets) if targets is not None else None
        self.summary = VariantSummary()
        self.vcf_indexed: bool | None = None  # after writing a .vcf.gz: was it indexed?

    # ---- columns
    def columns(self) -> list[str]:
        cols = ["chrom", "pos", "id", "ref", "alt"]
        for t in self.targets or []:
            cols += [f"{t}_ref", f"{t}_alt", f"{t}_delta"]
            if self.n_shuffles:
                cols += [f"{t}_z", f"{t}_pvalue"]
        return cols + ["status", "flags"]

    def null_description(self) -> str | None:
        """What the p-values and z-scores are computed against (``None`` without them)."""
        if not self.n_shuffles:
            return None
        return NULL_DESCRIPTION.format(n=self.n_shuffles, seed=self.seed)

    # ---- scoring
    def _outputs(self, x: torch.Tensor) -> torch.Tensor:
        out = predict(
            self.model, x, self.batch_size, device=self.device, rc_average=self.rc_average
        )
        return self._scaled(out)

    def _scaled(self, out: torch.Tensor) -> torch.Tensor:
        if self.scale == "probability":
            out = torch.softmax(out, 1) if self.task == "multiclass" else torch.sigmoid(out)
        return out.double()

    def _window_outputs(self, ok: list[VariantWindow]) -> tuple[torch.Tensor, torch.Tensor]:
        """REF and ALT outputs ``(n, T)`` of scored windows: SNVs through the shortcut
        when the model allows it, the rest (and any the shortcut declines) by the model."""
        c = self.length // 2
        snv = [len(w.ref) == 1 == len(w.alt) and len(w.left) == c for w in ok]
        names: dict[str, int] = {}
        return self._pair_outputs(
            [w.ref_seq for w in ok],
            [w.alt for w in ok],
            [w.alt_seq for w in ok],
            np.array(snv, dtype=bool),
            np.array([names.setdefault(w.allele.chrom, len(names)) for w in ok], dtype=np.int64),
            np.array([w.start for w in ok], dtype=np.int64),
        )

    def _pair_outputs(
        self, ref_seqs: list[str], alt_bases: list[str], alt_seqs: list[str], snv: np.ndarray,
        contig: np.ndarray, start: np.ndarray,
    ) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        """Outputs ``(n, T)`` of REF windows and their ALT windows. Where ``snv`` (the ALT is
        the REF with ``alt_bases`` at ``L // 2``), :class:`SnvShortcut` scores both, sharing
        the first convolution of overlapping windows (same ``contig``, near ``start``); the
        model scores the others."""
        n = len(ref_seqs)
        ref = alt = None
        todo = np.arange(n)
        if self.shortcut and self._snv is None:
            if SnvShortcut.reason(self.model, self.length, self.rc_average) is None:
                self._snv = SnvShortcut(self.model, self.length, self.rc_average)
            else:
                self.shortcut = False  # the model does not allow it: asked once
        idx = np.flatnonzero(snv) if self._snv is not None else np.zeros(0, dtype=np.int64)
        if idx.size:
            raw = "".join(ref_seqs[i] for i in idx).encode("ascii")
            windows = np.frombuffer(raw, dtype=np.uint8).reshape(idx.size, self.length)
            alt_base = np.frombuffer("".join(alt_bases[i] for i in idx).encode("ascii"), np.uint8)
            r, a, done = self._snv.scores(windows, contig[idx], start[idx], alt_base)
            if done.any():
                ref = torch.empty(n, r.shape[1], dtype=torch.float64)
                alt = torch.empty_like(ref)
                ref[idx[done]], alt[idx[done]] = self._scaled(r[done]), self._scaled(a[done])
                todo = np.setdiff1d(todo, idx[done])
        if todo.size:
            seqs = [ref_seqs[i] for i in todo] + [alt_seqs[i] for i in todo]
            out = self._outputs(one_hot_encode(seqs))
            if ref is None:
                ref = torch.empty(n, out.shape[1], dtype=torch.float64)
                alt = torch.empty_like(ref)
            ref[todo], alt[todo] = out[: todo.size], out[todo.size :]
        return ref, alt

    def _null_outputs(self, ok: list[VariantWindow], k: int) -> np.ndarray:
        """Outputs ``(n, 2, k, T)`` of the REF and ALT windows of ``k`` shuffles per allele
        (each shuffled window is its own place: nothing is shared between them)."""
        c = self.length // 2
        ref_seqs, alt_seqs, alt_bases, snv = [], [], [], []
        for w in ok:
            windows = self._null_windows(w)
            ref_seqs += windows[:k]
            alt_seqs += windows[k:]
            alt_bases += [w.alt] * k
            snv += [len(w.ref) == 1 == len(w.alt) and len(w.left) == c] * k
        n = len(ref_seqs)
        ref, alt = self._pair_outputs(
            ref_seqs, alt_bases, alt_seqs, np.array(snv, dtype=bool), np.arange(n),
            np.zeros(n, dtype=np.int64),
        )  # fmt: skip
        return torch.stack([ref.view(len(ok), k, -1), alt.view(len(ok), k, -1)], 1).numpy()

    def _null_windows(self, w: VariantWindow) -> list[str]:
        """The ``k`` shuffled REF windows, then their ``k`` ALT windows. Runs of N at the two
        ends of the joined flanks (a window padded off its contig, an assembly gap there)
        stay where they are: only the sequence between them is shuffled."""
        flanks = w.left + w.right
        lead = len(flanks) - len(flanks.lstrip("Nn"))
        trail = len(flanks) - len(flanks.rstrip("Nn")) if lead < len(flanks) else 0
        core = flanks[lead : len(flanks) - trail]
        rng = np.random.default_rng([self.seed, w.allele.record, w.allele.alt_index])
        shuffled = [
            flanks[:lead] + s + flanks[len(flanks) - trail :]
            for s in dinucleotide_shuffle_many([core], n=self.n_shuffles, seed=rng)
        ]
        c, out = len(w.left), []
        for s in shuffled:
            out.append((s[:c] + w.ref + s[c:])[: self.length])
        for s in shuffled:
            out.append((s[:c] + w.alt + s[c:])[: self.length])
        return out

    def _score_chunk(self, records: list[VcfRecord], path) -> pd.DataFrame:
        windows: list[VariantWindow] = []
        for rec in records:
            checked = differs = False
            for allele in rec.alleles:
                w = variant_window(
                    allele,
                    self._blocks,
                    self.length,
                    self.contigs,
                    self.ref_policy,
                    self.edge,
                    path,
                )
                windows.append(w)
                checked, differs = checked or w.ref_checked, differs or w.ref_differs
            self.summary.ref_checked += checked
            self.summary.ref_mismatched += differs
        ok = [w for w in windows if w.status == "ok"]
        T = len(self.targets) if self.targets is not None else None
        ref_scores = alt_scores = None
        if ok:
            ref_out, alt_out = self._window_outputs(ok)
            ref_scores, alt_scores = ref_out.numpy(), alt_out.numpy()
            if self.targets is None:
                self.targets = [f"t{j}" for j in range(ref_out.shape[1])]
            if len(self.targets) != ref_out.shape[1]:
                raise ConfigError(
                    f"{len(self.targets)} target names for a model with {ref_out.shape[1]} outputs"
                )
            T = ref_out.shape[1]
        if T is None:  # nothing scored yet and no names: the model's output count
            with torch.inference_mode():
                T = self.model(torch.zeros(1, 4, self.length, device=self.device)).shape[1]
            self.targets = [f"t{j}" for j in range(T)]
        n = len(windows)
        ref_all = np.full((n, T), np.nan)
        alt_all = np.full((n, T), np.nan)
        z_all = np.full((n, T), np.nan)
        p_all = np.full((n, T), np.nan)
        ok_idx = np.array([i for i, w in enumerate(windows) if w.status == "ok"], dtype=np.int64)
        if ok:
            ref_all[ok_idx], alt_all[ok_idx] = ref_scores, alt_scores
            if self.n_shuffles:
                k = self.n_shuffles
                null = self._null_outputs(ok, k)  # (n_ok, 2, k, T)
                d_null = null[:, 1] - null[:, 0]  # (n_ok, k, T)
                delta = alt_scores - ref_scores  # (n_ok, T)
                sd = d_null.std(axis=1, ddof=1) if k > 1 else np.full_like(delta, np.nan)
                with np.errstate(divide="ignore", invalid="ignore"):
                    z = np.where(sd > 0, (delta - d_null.mean(axis=1)) / sd, np.nan)
                count = (np.abs(d_null) >= np.abs(delta)[:, None, :] - TIE).sum(axis=1)
                z_all[ok_idx], p_all[ok_idx] = z, (1 + count) / (1 + k)
        frame = {
            "chrom": [w.allele.chrom for w in windows],
            "pos": [w.allele.pos for w in windows],
            "id": [w.allele.id for w in windows],
            "ref": [w.allele.ref for w in windows],
            "alt": [w.allele.alt for w in windows],
        }
        for j, t in enumerate(self.targets):
            frame[f"{t}_ref"], frame[f"{t}_alt"] = ref_all[:, j], alt_all[:, j]
            frame[f"{t}_delta"] = alt_all[:, j] - ref_all[:, j]
            if self.n_shuffles:
                frame[f"{t}_z"], frame[f"{t}_pvalue"] = z_all[:, j], p_all[:, j]
        frame["status"] = [w.status for w in windows]
        frame["flags"] = [",".join(w.flags) if w.flags else "." for w in windows]
        for w in windows:
            if w.status == "ok":
                self.summary.scored += 1
                self.summary.flagged.update(w.flags)
            else:
                self.summary.skipped[w.status] += 1
        return pd.DataFrame(frame)

    def chunks(
        self, vcf: str | os.PathLike | VcfReader, chunk_alleles: int | None = None
    ) -> Iterator[tuple[list[VcfRecord], pd.DataFrame]]:
        """Yield ``(records, scores)`` chunk by chunk: one row per ALT allele of the records.

        Memory stays constant in the number of records: a chunk holds about
        ``chunk_alleles`` alleles (default: ~8192 windows' worth, shuffles included).
        """
        from tqdm.auto import tqdm

        reader = vcf if isinstance(vcf, VcfReader) else VcfReader(vcf)
        if chunk_alleles is None:
            chunk_alleles = max(1, max(8192, self.batch_size) // (2 * (1 + self.n_shuffles)))
        self.summary = VariantSummary()
        was_training, original = self.model.training, _model_device(self.model)
        self.model.eval().to(self.device)
        bar = tqdm(disable=not self.verbose, unit=" records", desc="score-variants")
        try:
            with torch.inference_mode():
                pending: list[VcfRecord] = []
                n_pending = 0
                for rec in reader:
                    pending.append(rec)
                    n_pending += len(rec.alleles)
                    self.summary.records += 1
                    self.summary.alleles += len(rec.alleles)
                    if n_pending >= chunk_alleles:
                        yield pending, self._score_chunk(pending, reader.path)
                        bar.update(len(pending))
                        pending, n_pending = [], 0
                if pending or self.summary.records == 0:
                    yield pending, self._score_chunk(pending, reader.path)
                    bar.update(len(pending))
        finally:
            bar.close()
            reader.close()
            self.model.train(was_training).to(original)
        self.summary.aliases = dict(self.contigs.aliases)
        self._check_mismatches(reader.path)

    def _check_mismatches(self, path) -> None:
        s = self.summary
        if s.ref_checked and s.ref_mismatched / s.ref_checked > MISMATCH_WARNING:
            share = s.ref_mismatched / s.ref_checked
            message = (
                f"{s.ref_mismatched} of {s.ref_checked} records ({share:.0%}) "
                f"have a REF that differs from the genome {self.genome.path.name}: the VCF "
                f"{Path(path).name} was probably made on another genome build"
            )
            s.warnings.append(message)
            warnings.warn(message, stacklevel=3)


# ---------------------------------------------------------------- the API
def score_variants(
    model: nn.Module,
    vcf: str | os.PathLike | VcfReader,
    genome: Genome | str | os.PathLike,
    length: int,
    **options: Any,
) -> pd.DataFrame:
    """Effects of every ALT allele of a VCF: REF, ALT and ALT - REF scores per target.

    ``options`` are those of :class:`VariantScorer` (``targets``, ``scale``, ``ref_policy``,
    ``edge``, ``n_shuffles``, ``seed``, ``batch_size``, ``device``, ``shortcut`` ...). Rows
    of skipped alleles are included with their ``status`` and NaN scores; the counts are in
    ``frame.attrs["summary"]`` (a :class:`VariantSummary`). For files too large for one table, use
    :func:`write_variant_scores`, which streams.

    Returns
    -------
    pandas.DataFrame
        Columns ``chrom pos id ref alt``, per target ``<t>_ref <t>_alt <t>_delta`` (and
        ``<t>_z <t>_pvalue`` with ``n_shuffles``), ``status``, ``flags``; one row per ALT.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from seqcnn.models import create_model
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "g.fa").write_text(">chr1\\n" + "ACGT" * 30 + "\\n")
    >>> head = "##fileformat=VCFv4.2\\n#CHROM\\tPOS\\tID\\tREF\\tALT\\tQUAL\\tFILTER\\tINFO\\n"
    >>> _ = (d / "v.vcf").write_text(head + "1\\t58\\trs1\\tC\\tG,T\\t.\\t.\\t.\\n")
    >>> frame = score_variants(create_model("deepbind"), d / "v.vcf", d / "g.fa", length=41)
    >>> frame[["chrom", "pos", "alt", "status"]].values.tolist()
    [['1', 58, 'G', 'ok'], ['1', 58, 'T', 'ok']]
    """
    scorer = VariantScorer(model, genome, length, **options)
    frames = [frame for _, frame in scorer.chunks(vcf)]
    frame = (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=scorer.columns())
    )
    frame.attrs["summary"] = scorer.summary
    return frame


def _fmt(value: float) -> str:
    return "." if not math.isfinite(value) else f"{value:.6g}"


def write_variant_scores(
    scorer: VariantScorer,
    vcf: str | os.PathLike | VcfReader,
    out: str | os.PathLike,
    command: str | None = None,
    info_prefix: str = "SEQCNN",
    header: Sequence[str] = (),
) -> VariantSummary:
    """Score a VCF and stream the results to ``out``: a TSV, or an annotated VCF by extension.

    Parameters
    ----------
    scorer : VariantScorer
    vcf : str or os.PathLike or VcfReader
        The input (a :class:`~seqcnn.io.vcf.VcfReader` to read one region of an indexed file).
    out : str or os.PathLike
        ``.tsv`` (``.tsv.gz``, ``.txt``): one row per ALT allele, the columns of
        :func:`score_variants`, after ``#`` lines with the command and the null.
        ``.vcf``/``.vcf.gz``: every input record unchanged, plus ``Number=A`` INFO fields
        ``<prefix>_<target>_REF|ALT|DELTA[|Z|P]``, ``<prefix>_STATUS`` and ``<prefix>_FLAGS``,
        and ``##seqcnnCommand=`` (``##seqcnnNull=``) header lines; ``.vcf.gz`` is bgzipped and
        tabix-indexed.
    command : str, optional
        The command line, for the header (default: ``sys.argv``).
    info_prefix : str
    header : sequence of str
        More ``key=value`` lines for the header (the model's run directory, say).

    Returns
    -------
    VariantSummary
    """
    out = Path(out)
    name = out.name.lower()
    command = command if command is not None else " ".join(sys.argv)
    meta = [f"seqcnnCommand={command}", *header]
    if scorer.null_description():
        meta.append(f"seqcnnNull={scorer.null_description()}")
    meta.append(f"seqcnnScale={scorer.scale}")
    reader = vcf if isinstance(vcf, VcfReader) else VcfReader(vcf)
    if out.resolve() == reader.path.resolve():
        raise ConfigError(f"-o {out} would overwrite the input VCF; choose another output name")
    if name.endswith((".vcf", ".vcf.gz", ".vcf.bgz")):
        _write_vcf(scorer, reader, out, meta, info_prefix)
        if scorer.vcf_indexed is False:
            message = (
                f"{out.name} is bgzipped but not tabix-indexed: the input records are not "
                "sorted (bcftools sort, then index)"
            )
            scorer.summary.warnings.append(message)
            warnings.warn(message, stacklevel=2)
    elif name.endswith((".tsv", ".tsv.gz", ".txt", ".txt.gz")):
        _write_tsv(scorer, reader, out, meta)
    else:
        raise ConfigError(
            f"-o {out}: choose the format by extension: .tsv (.tsv.gz) or .vcf (.vcf.gz)"
        )
    return scorer.summary


def _write_tsv(scorer: VariantScorer, reader: VcfReader, out: Path, meta: list[str]) -> None:
    import gzip

    with atomic_write(out, "wb") as raw:
        fh = gzip.open(raw, "wt", encoding="utf-8") if out.name.endswith(".gz") else None
        text = fh if fh is not None else _Utf8(raw)
        for line in meta:
            text.write(f"# {line}\n")
        first = True
        for _, frame in scorer.chunks(reader):
            frame.to_csv(
                text, sep="\t", index=False, header=first, float_format="%.6g", na_rep="NA"
            )
            first = False
        if fh is not None:
            fh.close()


class _Utf8:
    """A text view of a binary file object, enough for ``DataFrame.to_csv``."""

    def __init__(self, raw) -> None:
        self.raw = raw

    def write(self, s: str) -> int:
        return self.raw.write(s.encode("utf-8"))


def _write_vcf(
    scorer: VariantScorer, reader: VcfReader, out: Path, meta: list[str], prefix: str
) -> None:
    chunks = scorer.chunks(reader)
    first = next(chunks)  # the targets are known once the first chunk is scored
    fields: list[tuple[InfoField, str]] = []
    scale = "probability" if scorer.scale == "probability" else "logit"
    used: set[str] = set()

    def add(key: str, type_: str, desc: str, column: str) -> None:
        base, i = key, 2
        while key in used:  # two targets that sanitise alike
            key, i = f"{base}{i}", i + 1
        used.add(key)
        fields.append((InfoField(key, type_, desc), column))

    for t in scorer.targets:
        add(
            info_key(prefix, t, "REF"),
            "Float",
            f"seqcnn {t}: REF window score ({scale})",
            f"{t}_ref",
        )
        add(
            info_key(prefix, t, "ALT"),
            "Float",
            f"seqcnn {t}: ALT window score ({scale})",
            f"{t}_alt",
        )
        add(info_key(prefix, t, "DELTA"), "Float", f"seqcnn {t}: ALT - REF ({scale})", f"{t}_delta")
        if scorer.n_shuffles:
            add(
                info_key(prefix, t, "Z"),
                "Float",
                f"seqcnn {t}: z-score of DELTA vs shuffles",
                f"{t}_z",
            )
            add(
                info_key(prefix, t, "P"),
                "Float",
                f"seqcnn {t}: empirical p-value of DELTA",
                f"{t}_pvalue",
            )
    add(info_key(prefix, "STATUS"), "String", "seqcnn: ok or why the ALT was not scored", "status")
    add(
        info_key(prefix, "FLAGS"),
        "String",
        "seqcnn: flags of a scored ALT (padded, ref_trusted; '|'-joined)",
        "flags",
    )
    extra = [f"##{line}" for line in meta]
    with AnnotatedVcfWriter(out, reader, [f for f, _ in fields], extra) as writer:
        import itertools

        for records, frame in itertools.chain([first], chunks):
            cols = {}
            for f, column in fields:
                values = frame[column].to_numpy()
                if f.type == "Float":
                    cols[f.key] = [_fmt(float(v)) for v in values]
                else:
                    cols[f.key] = [str(v).replace(",", "|") for v in values]
            row = 0
            for rec in records:
                k = len(rec.alleles)
                writer.write(rec, {key: vals[row : row + k] for key, vals in cols.items()})
                row += k
    scorer.vcf_indexed = writer.indexed if writer.compressed else None


def read_variant_scores(path: str | os.PathLike) -> pd.DataFrame:
    """Read a TSV written by :func:`write_variant_scores` (its ``#`` header lines skipped).

    The header lines are in ``frame.attrs["header"]``.
    """
    import gzip

    path = Path(path)
    opener = gzip.open if path.name.endswith(".gz") else open
    header: list[str] = []
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if not line.startswith("# "):
                break
            header.append(line[2:].rstrip("\n"))
    frame = pd.read_csv(
        path, sep="\t", skiprows=len(header), keep_default_na=False, na_values=["NA"],
        dtype={"chrom": str, "id": str, "ref": str, "alt": str},
    )  # fmt: skip
    frame.attrs["header"] = header
    return frame
