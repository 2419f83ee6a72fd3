"""The records of a `seqcnn score-variants` VCF with the largest |ALT - REF|, for mutation maps.

Reads the first target's DELTA field (found by the description seqcnn writes in its INFO header
line), keeps the `max_maps` records whose largest |delta| over their ALT alleles is largest,
and writes them, with the header, in their original order.
"""

import gzip
import math
import re

path = str(snakemake.input.vcf)  # noqa: F821 (set by Snakemake)
out = str(snakemake.output[0])  # noqa: F821
keep = int(snakemake.params.max_maps)  # noqa: F821
log = str(snakemake.log[0])  # noqa: F821

INFO = re.compile(r'^##INFO=<ID=([^,>]+),.*Description="seqcnn [^"]*: ALT - REF')
header, records, key = [], [], None
with gzip.open(path, "rt") as fh:
    for line in fh:
        if line.startswith("#"):
            header.append(line)
            m = INFO.match(line)
            if m and key is None:
                key = m.group(1)
            continue
        info = dict(f.partition("=")[::2] for f in line.split("\t")[7].split(";"))
        deltas = [float(v) for v in info.get(key, "").split(",") if v not in ("", ".")]
        deltas = [abs(d) for d in deltas if not math.isnan(d)]
        records.append((max(deltas) if deltas else -1.0, len(records), line))
if key is None:
    raise SystemExit(f"{path}: no seqcnn DELTA field (not written by seqcnn score-variants)")
chosen = sorted(records, key=lambda r: (-r[0], r[1]))[:keep]
with open(out, "w") as fh:
    fh.writelines(header)
    fh.writelines(line for _, _, line in sorted(chosen, key=lambda r: r[1]))
with open(log, "w") as fh:
    fh.write(f"{len(chosen)} of {len(records)} records by |{key}|\n")
