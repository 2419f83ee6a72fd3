"""``seqcnn demo``: the whole pipeline on the embedded, simulated dataset in ``data/demo``.

The data is simulated: CTCF sites (JASPAR MA0139.2) planted in Markov background sequence
(see ``data/demo/README.md``). The demo trains DeepBind, evaluates it on the test split,
scores the test sequences and says where every output is.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from seqcnn.checkpoint import prepare_run_dir
from seqcnn.data_files import demo_data_dir
from seqcnn.inputs import DataOptions
from seqcnn.runs import evaluate_run, motifs_run, predict_run, score_variants_run, train_run
from seqcnn.train import TrainConfig


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_demo(out: str | Path = "seqcnn-demo", force: bool = False, epochs: int = 12) -> dict:
    """Train, evaluate and predict on the embedded data; returns the test metrics.

    Outputs: ``OUT/run/`` (run directory), ``OUT/evaluation/`` (metrics.json, ROC and PR
    curves), ``OUT/predictions.tsv``, ``OUT/variants/`` (a VCF of variants in and around planted
    sites, their effects as TSV and as an annotated, indexed VCF.gz), ``OUT/mutation_map.png``,
    ``OUT/motifs/`` (the filters as PWMs and logos, with their JASPAR matches).
    """
    t0 = time.perf_counter()
    out = prepare_run_dir(out, force=force)
    src = demo_data_dir()
    _say(
        f"seqcnn demo: simulated data from {src}: 101 bp sequences, CTCF sites (JASPAR "
        "MA0139.2) planted in background sequence; 3000 train / 500 valid / 500 test"
    )
    _say("[1/6] training DeepBind (seqcnn train)")
    train_run(
        src / "train.tsv.gz",
        out / "run",
        DataOptions(),
        TrainConfig(epochs=epochs, patience=4),
        valid=src / "valid.tsv.gz",
        test=src / "test.tsv.gz",
        force=True,
    )
    _say("[2/6] evaluating on the test split (seqcnn evaluate)")
    metrics = evaluate_run(out / "run", src / "test.tsv.gz", out / "evaluation")
    _say("[3/6] scoring the test sequences (seqcnn predict)")
    predict_run(out / "run", src / "test.tsv.gz", out / "predictions.tsv")
    _say("[4/6] variants in and around planted sites (seqcnn score-variants)")
    effects = variant_step(out / "run", src, out / "variants")
    _say("[5/6] a mutation map of one variant inside a planted site (seqcnn mutation-map)")
    mapped = mutation_map_step(out / "run", out / "variants", out / "mutation_map.png")
    _say("[6/6] the learned filters as motifs, matched to JASPAR 2024 (seqcnn motifs)")
    found = motifs_step(out / "run", src, out / "motifs")
    _say(
        f"\ndone in {time.perf_counter() - t0:.0f} s. Test AUROC {metrics['auroc']:.3f}, "
        f"AUPRC {metrics['auprc']:.3f} (a scan with the true motif scores 0.931).\n"
        f"outputs in {out}/:\n"
        f"  run/             config.json, model.safetensors, metrics.json, history.csv,\n"
        f"                   training_curve.png, roc.png, pr.png\n"
        f"  evaluation/      metrics.json, roc.png, pr.png on the test split\n"
        f"  predictions.tsv  P(bound) for each test sequence\n"
        f"  variants/        demo_sequences.fa, demo_variants.vcf (variants in and around\n"
        f"                   planted sites), variant_effects.tsv and .vcf.gz (+ .tbi)\n"
        f"  mutation_map.png every substitution's effect around {mapped} (+ .tsv)\n"
        f"  motifs/          motifs.meme, matches.tsv, logos/, overview.png\n"
        f"{effects}\n{found}"
    )
    return metrics


_TRANSVERSION = {"A": "T", "T": "A", "C": "G", "G": "C"}


def _demo_vcf(tests, sites, n: int = 6) -> tuple[str, str, list[tuple[str, int, bool]]]:
    """A FASTA of ``n`` test positives with a planted site and a VCF of variants in and near them.

    Per sequence: SNVs inside the site (transversions at every third base, one record with all
    three ALTs), a 2-bp deletion inside it, SNVs and an insertion at least 8 bp outside it;
    plus one symbolic ``<DEL>`` record, which is skipped and counted. Returns the FASTA text,
    the VCF text and ``(contig, POS, inside_site)`` for each SNV record.
    """
    chosen = sites[(sites["split"] == "test") & (sites["kind"] == "site")].head(n)
    seqs = tests.set_index("id")["sequence"]
    fasta, rows, snvs = [], [], []
    for _, site in chosen.iterrows():
        name, seq = site["id"], seqs[site["id"]].upper()
        start, end = int(site["start"]), int(site["end"])  # 0-based half-open
        fasta.append(f">{name}\n{seq}\n")
        recs = []
        for k in range(start + 1, end - 1, 3):
            alts = [b for b in "ACGT" if b != seq[k]] if k == start + 7 else [_TRANSVERSION[seq[k]]]
            recs.append((k, seq[k], ",".join(alts), "site"))
            snvs.append((name, k + 1, True))
        d = start + 5
        recs.append((d - 1, seq[d - 1 : d + 2], seq[d - 1], "site_deletion"))
        far = [k for k in range(2, len(seq) - 2) if k < start - 8 or k >= end + 8]
        for k in (far[0], far[len(far) // 2], far[-1]):
            recs.append((k, seq[k], _TRANSVERSION[seq[k]], "flank"))
            snvs.append((name, k + 1, False))
        ins = far[len(far) // 4]
        recs.append((ins, seq[ins], seq[ins] + "AT", "flank_insertion"))
        if not rows:
            recs.append((far[1], seq[far[1]], "<DEL>", "symbolic"))
        for k, ref, alt, kind in sorted(recs):
            rows.append(f"{name}\t{k + 1}\t{name}_{k + 1}_{kind}\t{ref}\t{alt}\t.\t.\tWHERE={kind}")
    header = [
        "##fileformat=VCFv4.2",
        "##source=seqcnn demo: variants in and around the planted sites of test positives",
        '##INFO=<ID=WHERE,Number=1,Type=String,Description="site, site_deletion, flank, '
        'flank_insertion or symbolic">',
        *(f"##contig=<ID={i},length={len(seqs[i])}>" for i in chosen["id"]),
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
    ]
    return "".join(fasta), "\n".join(header + rows) + "\n", snvs


def variant_step(run_dir: Path, src: Path, out: Path, n_shuffles: int = 49) -> str:
    """Score variants in and around planted sites of the demo's test positives.

    Writes ``out/demo_sequences.fa``, ``out/demo_variants.vcf``, ``out/variant_effects.tsv``
    (with z-scores and p-values against ``n_shuffles`` shuffled windows) and
    ``out/variant_effects.vcf.gz``; returns lines that compare effects inside and outside sites.
    """
    import numpy as np
    import pandas as pd

    from seqcnn.utils import atomic_write
    from seqcnn.variants import read_variant_scores

    out.mkdir(parents=True, exist_ok=True)
    tests = pd.read_csv(src / "test.tsv.gz", sep="\t")
    sites = pd.read_csv(src / "sites.tsv.gz", sep="\t")
    fasta, vcf, snvs = _demo_vcf(tests, sites)
    with atomic_write(out / "demo_sequences.fa") as fh:
        fh.write(fasta)
    with atomic_write(out / "demo_variants.vcf") as fh:
        fh.write(vcf)
    args = (run_dir, out / "demo_variants.vcf", out / "demo_sequences.fa")
    command = "seqcnn demo (variant step)"
    summary = score_variants_run(
        *args, out / "variant_effects.tsv", n_shuffles=n_shuffles, command=command
    )
    score_variants_run(*args, out / "variant_effects.vcf.gz", command=command)
    frame = read_variant_scores(out / "variant_effects.tsv")
    target = [c[: -len("_delta")] for c in frame.columns if c.endswith("_delta")][0]
    inside = {(c, p) for c, p, is_in in snvs if is_in}
    snv = frame[
        (frame["status"] == "ok") & (frame["ref"].str.len() == 1) & (frame["alt"].str.len() == 1)
    ]
    is_in = np.array([(c, p) in inside for c, p in zip(snv["chrom"], snv["pos"], strict=True)])
    delta, pvalue = snv[f"{target}_delta"].to_numpy(), snv[f"{target}_pvalue"].to_numpy()
    return (
        f"variants: {summary.line()}\n"
        f"  SNVs inside planted sites: mean effect {delta[is_in].mean():+.2f} logits, "
        f"{(pvalue[is_in] <= 0.05).sum()} of {is_in.sum()} with p <= 0.05\n"
        f"  SNVs >= 8 bp outside them: mean effect {delta[~is_in].mean():+.2f} logits, "
        f"{(pvalue[~is_in] <= 0.05).sum()} of {(~is_in).sum()} with p <= 0.05"
    )


def mutation_map_step(run_dir: Path, variants: Path, out: Path) -> str:
    """Draw the mutation map of the in-site SNV of the demo VCF closest to its sequence's centre.

    The map's window is the one ``score-variants`` scored (the variant at index ``L // 2``);
    near the centre of a 101-bp demo sequence it needs little ``N`` padding. Writes ``out``
    and the TSV beside it; returns the variant's ID.
    """
    from seqcnn.runs import mutation_map_run
    from seqcnn.utils import atomic_write

    lines = (variants / "demo_variants.vcf").read_text().splitlines()
    header = [ln for ln in lines if ln.startswith("#")]
    records = [ln.split("\t") for ln in lines if ln and not ln.startswith("#")]
    in_site = [r for r in records if r[7] == "WHERE=site" and len(r[3]) == len(r[4]) == 1]
    best = min(in_site, key=lambda r: abs(int(r[1]) - 51))
    with atomic_write(variants / "mapped_variant.vcf") as fh:
        fh.write("\n".join([*header, "\t".join(best)]) + "\n")
    mutation_map_run(
        run_dir, out, vcf=variants / "mapped_variant.vcf", fasta=variants / "demo_sequences.fa"
    )
    return best[2]


def motifs_step(run_dir: Path, src: Path, out: Path) -> str:
    """``seqcnn motifs`` on the test split; says whether a significant match is the planted CTCF."""
    result = motifs_run(run_dir, src / "test.tsv.gz", out, verbose=False)
    best = result["top"][0]
    planted = "CTCF" in str(best["target_name"]).upper()
    return (
        f"motifs: {result['n_significant']} of {result['n_filters']} filters match a JASPAR "
        f"matrix significantly; the most influential one: {best['target']} "
        f"{best['target_name']}" + (" (the planted CTCF motif)" if planted else "")
    )
