"""The planted-motif simulator behind the embedded demo dataset and known-answer tests.

Sequences are drawn from a first-order Markov model with human-like base and dinucleotide
composition; positives carry a site sampled from a JASPAR matrix (CTCF, MA0139.2, for the
demo), negatives sometimes a weak, degenerate one. The planted sites are written beside the
data (``sites.tsv.gz``), so learned filters, attributions and motif matches can be checked
against the truth. :func:`make_demo_dataset` regenerates ``data/demo`` byte for byte::

    python -m seqcnn.simulate data/demo
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from seqcnn.exceptions import InputError, require
from seqcnn.utils import atomic_write

__all__ = [
    "DEMO_SEED",
    "DEMO_MOTIF",
    "DEMO_FILES",
    "BASE_FREQS",
    "background_model",
    "make_demo_dataset",
]

#: Seed of the shipped demo dataset.
DEMO_SEED = 2024
#: JASPAR release and matrix planted in the positives (CTCF, Homo sapiens, ChIP-seq).
JASPAR_RELEASE = "JASPAR2024"
DEMO_MOTIF = "MA0139.2"
#: Files that :func:`make_demo_dataset` writes.
DEMO_FILES = (
    "train.tsv.gz",
    "valid.tsv.gz",
    "test.tsv.gz",
    "sites.tsv.gz",
    "planted_motif.meme",
    "planted_motif.jaspar",
    "README.md",
)
_SPLITS = ("train", "valid", "test")


# --- The background model ---------------------------------------------------------------
# Base composition of the human genome: 41% GC, strand-symmetric.
BASE_FREQS = (0.295, 0.205, 0.205, 0.295)
# Dinucleotide odds ratios rho(xy) = P(xy) / (P(x) P(y)), rows = first base, columns = second,
# both in ACGT order. They are those of the first megabase of hg38 chr1 (the genome slice in
# the shared data), averaged over the two strands and rounded, with CpG set to 0.25, about the
# genome-wide level (that subtelomeric megabase is CpG-richer, 0.31). The familiar features of
# vertebrate DNA follow: CpG depleted, TpA depleted, CpA/TpG enriched.
DINUCLEOTIDE_ODDS = (
    (1.11, 0.83, 1.16, 0.90),
    (1.21, 1.25, 0.25, 1.16),
    (0.97, 1.00, 1.25, 0.83),
    (0.74, 0.97, 1.21, 1.11),
)
# How the labels relate to the motif. Some positives carry no site (peaks that the motif does
# not explain) and some negatives carry a weak, degenerate one, so that even the true matrix
# does not separate the classes perfectly (its scan scores AUROC about 0.93, not 1.0).
P_SITE_IN_POSITIVE = 0.88
P_WEAK_SITE_IN_NEGATIVE = 0.08
WEAK_SITE_MIX = 0.5  # a weak site is drawn from WEAK_SITE_MIX * matrix + (1 - it) * background


def background_model() -> tuple[np.ndarray, np.ndarray]:
    """The first-order Markov model that the demo's background sequence is drawn from.

    The joint dinucleotide frequencies ``P(xy)`` are fitted (iterative proportional fitting)
    so that their odds ratios are :data:`DINUCLEOTIDE_ODDS` and both margins are
    :data:`BASE_FREQS`; the transition matrix is ``P(y | x) = P(xy) / P(x)``. Values are
    rounded to 6 decimals, so the model, and the data drawn from it, do not depend on the
    platform's floating-point summation order.

    Returns
    -------
    start : numpy.ndarray, shape (4,)
        Probabilities of the first base, ``ACGT``.
    transition : numpy.ndarray, shape (4, 4)
        ``transition[x, y]`` is the probability that base ``y`` follows base ``x``.

    Examples
    --------
    >>> start, transition = background_model()
    >>> float(start[1] + start[2])  # GC content
    0.41
    >>> bool(transition[1, 2] < 0.07)  # G rarely follows C: CpG depletion
    True
    """
    p = np.array(BASE_FREQS)
    joint = np.outer(p, p) * np.array(DINUCLEOTIDE_ODDS)
    for _ in range(100):
        joint *= (p / joint.sum(axis=1))[:, None]
        joint *= (p / joint.sum(axis=0))[None, :]
    transition = np.round(joint / joint.sum(axis=1, keepdims=True), 6)
    return p.copy(), transition


# --- Sampling --------------------------------------------------------------------------
# Only Generator.random() is used: its stream is stable across numpy versions, unlike that of
# choice(), permutation() or integers(), whose algorithms numpy may change.
def _categorical(u: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Draw category indices from uniforms ``u`` (shape S) and probabilities (S + (K,))."""
    cumulative = np.cumsum(probs, axis=-1)[..., :-1]
    return (u[..., None] >= cumulative).sum(axis=-1)


def _draw_background(u: np.ndarray, start: np.ndarray, transition: np.ndarray) -> np.ndarray:
    """Codes (N, L) of Markov-chain sequences from uniforms ``u`` (N, L)."""
    codes = np.empty(u.shape, dtype=np.int64)
    codes[:, 0] = _categorical(u[:, 0], np.broadcast_to(start, (len(u), 4)))
    for i in range(1, u.shape[1]):
        codes[:, i] = _categorical(u[:, i], transition[codes[:, i - 1]])
    return codes


def _load_matrix(matrix_id: str) -> tuple[str, np.ndarray]:
    """Name and counts (w, 4) of a JASPAR matrix, from the sqlite that pyjaspar ships."""
    require("pyjaspar", "motifs", "generating the demo dataset")
    from pyjaspar import jaspardb

    motif = jaspardb(release=JASPAR_RELEASE).fetch_motif_by_id(matrix_id)
    if motif is None:
        raise InputError(f"JASPAR matrix {matrix_id} not found in {JASPAR_RELEASE}")
    counts = np.array([motif.counts[b] for b in "ACGT"], dtype=np.float64).T
    return str(motif.name), counts


def _best_log_odds(codes: np.ndarray, probs: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Best log-odds score of matrix ``probs`` (w, 4) over positions and both strands, (N,)."""
    log_odds = np.log2((probs + 1e-3) / background)
    w = len(log_odds)
    windows = codes[:, np.arange(codes.shape[1] - w + 1)[:, None] + np.arange(w)]  # (N, P, w)
    forward = log_odds[np.arange(w), windows].sum(axis=-1)
    reverse = log_odds[::-1, ::-1][np.arange(w), windows].sum(axis=-1)
    return np.maximum(forward.max(axis=1), reverse.max(axis=1))


def _simulate_split(
    n: int, length: int, rng: np.random.Generator, probs: np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[tuple]]:
    """Codes (n, length), labels (n,) and the planted sites of one split."""
    start, transition = background_model()
    w = len(probs)
    labels = np.zeros(n, dtype=np.int64)
    labels[np.argsort(rng.random(n), kind="stable")[: n // 2]] = 1
    codes = _draw_background(rng.random((n, length)), start, transition)
    u = rng.random((n, 3 + w))  # drawn for every sequence, so that each has its own stream
    planted = np.where(labels == 1, u[:, 0] < P_SITE_IN_POSITIVE, u[:, 0] < P_WEAK_SITE_IN_NEGATIVE)
    weak = WEAK_SITE_MIX * probs + (1.0 - WEAK_SITE_MIX) * start
    sites = []
    for i in np.flatnonzero(planted):
        site = _categorical(u[i, 3:], probs if labels[i] else weak)
        strand = "-" if u[i, 1] < 0.5 else "+"
        if strand == "-":
            site = 3 - site[::-1]  # reverse complement in ACGT codes
        pos = int(u[i, 2] * (length - w + 1))
        codes[i, pos : pos + w] = site
        sites.append((i, "site" if labels[i] else "weak_site", pos, pos + w, strand))
    return codes, labels, sites


def _decode(codes: np.ndarray) -> list[str]:
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)[codes]
    return [row.tobytes().decode("ascii") for row in letters]


def _write_gzip_text(path: Path, text: str) -> None:
    """Gzip with no time stamp or file name in the header, so the bytes are reproducible."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as gz:
        gz.write(text.encode("ascii"))
    with atomic_write(path, "wb") as fh:
        fh.write(buffer.getvalue())


def _planted_motif(matrix_id: str, name: str, counts: np.ndarray):
    from seqcnn.io.meme import Motif

    probs = counts / counts.sum(axis=1, keepdims=True)
    nsites = int(round(counts[0].sum()))
    return Motif(matrix_id, probs.T, alt_name=name, nsites=nsites, evalue=0.0, counts=counts.T)


def _meme(matrix_id: str, name: str, counts: np.ndarray, background: np.ndarray) -> str:
    from seqcnn.io.meme import format_meme

    motif = _planted_motif(matrix_id, name, counts)
    return format_meme([motif], background=background, decimals=6)


def _jaspar(matrix_id: str, name: str, counts: np.ndarray) -> str:
    from seqcnn.io.meme import format_jaspar

    return format_jaspar([_planted_motif(matrix_id, name, counts)])


def _readme(
    name: str, seed: int, length: int, stats: dict[str, dict[str, int]], auroc: float
) -> str:
    rows = "\n".join(
        f"| {s} | {d['n']} | {d['positives']} | {d['sites']} | {d['weak_sites']} |"
        for s, d in stats.items()
    )
    gc = BASE_FREQS[1] + BASE_FREQS[2]
    return f"""# seqcnn demo dataset (simulated)

**This is simulated data, not real genomic sequence.** It is the embedded input of
`seqcnn demo`: small enough to train, evaluate, predict and extract motifs in a minute or two
on a laptop CPU, and built with a known answer so that each step can be checked.

- {length} bp sequences; background drawn from a first-order Markov model with human-like
  composition ({gc:.0%} GC, CpG depleted to an odds ratio of 0.25, TpA depleted, CpA/TpG
  enriched; see `seqcnn.simulate.background_model`).
- One binary target, `bound`, 50% positives in each split.
- A positive carries, with probability {P_SITE_IN_POSITIVE}, one site of the JASPAR 2024
  matrix **{DEMO_MOTIF}** ({name}), sampled base by base from the matrix's frequencies,
  at a uniformly random position, on a random strand. The other positives carry no site.
- A negative carries, with probability {P_WEAK_SITE_IN_NEGATIVE}, a weak site drawn from
  {WEAK_SITE_MIX} x matrix + {1 - WEAK_SITE_MIX} x background frequencies.
- Generated with seed **{seed}**: `python -m seqcnn.simulate data/demo --seed {seed}`
  reproduces every file here exactly (the matrix comes from the JASPAR sqlite that the
  `pyjaspar` package ships; no network is used).

The best log-odds score of the planted matrix over both strands (the ideal motif scan) has
AUROC **{auroc:.3f}** on `test.tsv.gz`; a trained model should come close to it.

| split | sequences | positives | with a site | with a weak site |
|---|---|---|---|---|
{rows}

## Files
- `train.tsv.gz`, `valid.tsv.gz`, `test.tsv.gz`: tab-separated, columns `id sequence bound`.
- `sites.tsv.gz`: the truth, one row per planted site: `id split bound kind start end strand
  site`; `kind` is `site` or `weak_site`, `start`/`end` are 0-based half-open positions in
  the sequence, `site` is the planted bases as they read in the sequence (for strand `-` the
  reverse complement of the sample drawn from the matrix).
- `planted_motif.meme`, `planted_motif.jaspar`: the planted matrix {DEMO_MOTIF}, as in
  {JASPAR_RELEASE}.

## Licence
The sequences are simulated by seqcnn (MIT licence). The matrix {DEMO_MOTIF} is from JASPAR
2024, an open-access database; cite Rauluseviciute et al. 2024, Nucleic Acids Res 52:D174
when you use it.
"""


def make_demo_dataset(
    out_dir: str | os.PathLike,
    seed: int = DEMO_SEED,
    *,
    n_train: int = 3000,
    n_valid: int = 500,
    n_test: int = 500,
    length: int = 101,
) -> dict[str, Path]:
    """Simulate the demo dataset and write it to ``out_dir``.

    The output depends only on the arguments: each split draws from its own
    ``numpy.random.PCG64`` stream seeded with ``(seed, split index)``, using only
    ``Generator.random()``, whose output numpy keeps stable across versions. Gzip headers carry
    no time stamp. The JASPAR matrix is read from the sqlite that ``pyjaspar`` ships (offline);
    pyjaspar is needed here only, never to use the shipped files.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Folder to write into; created if needed. Existing files of the same names are replaced
        (atomically).
    seed : int
        The seed; :data:`DEMO_SEED` gives the shipped files.
    n_train, n_valid, n_test : int
        Sequences per split; half of each (rounded down) are positives.
    length : int
        Sequence length, at least the matrix width (15).

    Returns
    -------
    dict of str to pathlib.Path
        Each file written (the keys are :data:`DEMO_FILES`).

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> files = make_demo_dataset(tempfile.mkdtemp(), n_train=20, n_valid=10, n_test=10)
    >>> table = pd.read_csv(files["train.tsv.gz"], sep="\\t")
    >>> list(table.columns), len(table), int(table["bound"].sum()), len(table["sequence"][0])
    (['id', 'sequence', 'bound'], 20, 10, 101)
    """
    name, counts = _load_matrix(DEMO_MOTIF)
    probs = counts / counts.sum(axis=1, keepdims=True)
    sizes = {"train": n_train, "valid": n_valid, "test": n_test}
    for split, n in sizes.items():
        if n < 2:
            raise InputError(f"n_{split}: expected at least 2 sequences, got {n}")
    if length < len(probs):
        raise InputError(f"length: expected at least {len(probs)} (the matrix width), got {length}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    files: dict[str, Path] = {}
    site_rows = ["id\tsplit\tbound\tkind\tstart\tend\tstrand\tsite"]
    stats: dict[str, dict[str, int]] = {}
    auroc = float("nan")
    for k, split in enumerate(_SPLITS):
        rng = np.random.Generator(np.random.PCG64([seed, k]))
        codes, labels, sites = _simulate_split(sizes[split], length, rng, probs)
        ids = [f"{split}_{i + 1:05d}" for i in range(len(codes))]
        seqs = _decode(codes)
        table = ["id\tsequence\tbound"]
        table += [f"{i}\t{s}\t{y}" for i, s, y in zip(ids, seqs, labels, strict=True)]
        files[f"{split}.tsv.gz"] = out / f"{split}.tsv.gz"
        _write_gzip_text(files[f"{split}.tsv.gz"], "\n".join(table) + "\n")
        for i, kind, start, end, strand in sites:
            site_rows.append(
                f"{ids[i]}\t{split}\t{labels[i]}\t{kind}\t{start}\t{end}\t{strand}\t"
                f"{seqs[i][start:end]}"
            )
        kinds = [s[1] for s in sites]
        stats[split] = {
            "n": len(codes),
            "positives": int(labels.sum()),
            "sites": kinds.count("site"),
            "weak_sites": kinds.count("weak_site"),
        }
        if split == "test":
            from sklearn.metrics import roc_auc_score

            auroc = roc_auc_score(labels, _best_log_odds(codes, probs, np.array(BASE_FREQS)))

    files["sites.tsv.gz"] = out / "sites.tsv.gz"
    _write_gzip_text(files["sites.tsv.gz"], "\n".join(site_rows) + "\n")
    texts = {
        "planted_motif.meme": _meme(DEMO_MOTIF, name, counts, np.array(BASE_FREQS)),
        "planted_motif.jaspar": _jaspar(DEMO_MOTIF, name, counts),
        "README.md": _readme(name, seed, length, stats, auroc),
    }
    for fname, text in texts.items():
        files[fname] = out / fname
        with atomic_write(files[fname]) as fh:
            fh.write(text)
    return {f: files[f] for f in DEMO_FILES}


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m seqcnn.simulate OUT_DIR [--seed N]``."""
    parser = argparse.ArgumentParser(
        prog="python -m seqcnn.simulate",
        description="Regenerate the simulated demo dataset (needs pyjaspar; works offline).",
        epilog="example: python -m seqcnn.simulate data/demo",
    )
    parser.add_argument("out_dir", help="folder to write (created if needed)")
    parser.add_argument("--seed", type=int, default=DEMO_SEED, help=f"default {DEMO_SEED}")
    args = parser.parse_args(argv)
    files = make_demo_dataset(args.out_dir, seed=args.seed)
    total = sum(p.stat().st_size for p in files.values())
    print(f"wrote {len(files)} files, {total / 1024:.0f} KiB, to {args.out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
