"""Join the per-chromosome VCFs of `seqcnn score-variants` into one bgzipped, indexed VCF.

The header is the first shard's; the records follow in shard order, byte for byte. pysam
(seqcnn's `variants` extra) does the bgzip and tabix index, so no bcftools is needed.
"""

import gzip
import os

import pysam

shards = list(snakemake.input)  # noqa: F821 (set by Snakemake)
out = str(snakemake.output.vcf)  # noqa: F821
log = str(snakemake.log[0])  # noqa: F821

plain = out[: -len(".gz")]
records = 0
with open(plain, "w") as fh:
    for i, path in enumerate(shards):
        with gzip.open(path, "rt") as shard:
            for line in shard:
                if not line.startswith("#"):
                    records += 1
                    fh.write(line)
                elif i == 0:
                    fh.write(line)
pysam.tabix_compress(plain, out, force=True)
os.remove(plain)
pysam.tabix_index(out, preset="vcf", force=True)
with open(log, "w") as fh:
    fh.write(f"gathered {records} records from {len(shards)} shards into {out}\n")
