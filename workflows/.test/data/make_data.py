"""Make the small genome and VCF of the workflow's .test config from seqcnn's demo data.

The demo data (data/demo, simulated: CTCF sites planted in background sequence) has sequences
but no genome. This script lays the first 120 test sequences end to end as two contigs
(chrA: test_00001..60, chrB: test_00061..120; 6,060 bp each) and writes a VCF of SNVs: three
inside each planted site of those sequences (its middle base and its second and
second-to-last bases, each changed to the next base in ACGT order) and, for contrast,
one in the middle of every tenth sequence. Run from the repository root:

    python workflows/.test/data/make_data.py

Outputs (committed): workflows/.test/data/genome.fa and variants.vcf. Deterministic.
"""

from __future__ import annotations

import gzip
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEMO = HERE.parents[2] / "data" / "demo"
NEXT = {"A": "C", "C": "G", "G": "T", "T": "A"}


def _table(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt") as fh:
        header = fh.readline().rstrip("\n").split("\t")
        return [dict(zip(header, line.rstrip("\n").split("\t"), strict=True)) for line in fh]


def main() -> None:
    tests = _table(DEMO / "test.tsv.gz")[:120]
    sites = {r["id"]: r for r in _table(DEMO / "sites.tsv.gz") if r["split"] == "test"}
    contigs = {"chrA": tests[:60], "chrB": tests[60:]}
    records = []
    fasta = []
    for chrom, rows in contigs.items():
        seq = "".join(r["sequence"] for r in rows)
        fasta.append(f">{chrom}\n" + "\n".join(seq[i : i + 60] for i in range(0, len(seq), 60)))
        for k, row in enumerate(rows):
            offset = k * len(row["sequence"])
            site = sites.get(row["id"])
            picks = []
            if site is not None:
                start, end = int(site["start"]), int(site["end"])
                picks += [(start + 1, "site"), ((start + end) // 2, "site"), (end - 2, "site")]
            if k % 10 == 0:
                picks.append((len(row["sequence"]) // 2, "background"))
            for i, kind in sorted(set(picks)):
                ref = seq[offset + i]
                if ref not in NEXT:
                    continue
                vid = f"{row['id']}_{i}_{kind}"
                records.append((chrom, offset + i + 1, vid, ref, NEXT[ref]))
    (HERE / "genome.fa").write_text("\n".join(fasta) + "\n")
    lines = [
        "##fileformat=VCFv4.2",
        "##source=workflows/.test/data/make_data.py (SNVs in the demo's planted CTCF sites)",
        *(
            f"##contig=<ID={c},length={sum(len(r['sequence']) for r in rows)}>"
            for c, rows in contigs.items()
        ),
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
        *(f"{c}\t{p}\t{i}\t{r}\t{a}\t.\t.\t." for c, p, i, r, a in records),
    ]
    (HERE / "variants.vcf").write_text("\n".join(lines) + "\n")
    print(f"genome.fa: {len(contigs)} contigs; variants.vcf: {len(records)} SNVs")


if __name__ == "__main__":
    main()
