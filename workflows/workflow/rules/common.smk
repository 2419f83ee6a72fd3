# Configuration and sample sheet: validated against workflow/schemas/ before any job runs.
import gzip
import os
from pathlib import Path

import pandas as pd
from snakemake.utils import validate

validate(config, schema="../schemas/config.schema.yaml")

SEQCNN = config["seqcnn"]
DATA_DIR = os.path.expandvars(config["data_dir"])
if "$" in DATA_DIR:
    raise ValueError(
        f"config data_dir {config['data_dir']!r}: an environment variable in it is not set"
    )
BED_SUFFIXES = (".bed", ".narrowpeak", ".bed.gz", ".narrowpeak.gz")


wildcard_constraints:
    sample="[A-Za-z0-9][A-Za-z0-9_.-]*",


NEGATIVE_KINDS = ("none", "shuffle", "flank", "gc")

samples = pd.read_csv(config["samples"], sep="\t", dtype=str, comment="#").set_index(
    "sample", drop=False
)
validate(samples, schema="../schemas/samples.schema.yaml")
if samples.index.duplicated().any():
    dup = ", ".join(sorted(set(samples.index[samples.index.duplicated()])))
    raise ValueError(
        f"{config['samples']}: sample names must be unique; repeated: {dup}"
    )


def _value(sample, column):
    """The sheet's value, None when the cell is empty or the column absent."""
    if column not in samples.columns:
        return None
    value = samples.loc[sample, column]
    return None if pd.isna(value) or not str(value).strip() else str(value).strip()


def sample_path(sample, column):
    """A path of the sheet, relative ones taken from data_dir; None when not given."""
    value = _value(sample, column)
    if value is None or (column == "negatives" and value in NEGATIVE_KINDS):
        return None
    return (
        value if os.path.isabs(value) or not DATA_DIR else os.path.join(DATA_DIR, value)
    )


for _s in samples.index:
    for _c in ("vcf", "regions"):
        if _value(_s, _c) and not _value(_s, "genome"):
            raise ValueError(
                f"{config['samples']}: sample {_s}: {_c} needs a genome column"
            )


def is_bed(path):
    """Genome intervals (need the genome to become sequences), told by the file name."""
    return str(path).lower().endswith(BED_SUFFIXES)


def bed_genome(sample):
    """The genome for evaluate and motifs when their data are genome intervals."""
    return sample_path(sample, "genome") if is_bed(eval_data(sample)) else None


def negatives(sample):
    value = _value(sample, "negatives") or config["train"]["negatives"]
    return value if value in NEGATIVE_KINDS else sample_path(sample, "negatives")


def train_inputs(wildcards):
    sample = wildcards.sample
    found = {
        c: sample_path(sample, c)
        for c in ("train", "valid", "test", "genome", "negatives")
    }
    return {k: v for k, v in found.items() if v is not None}


def eval_data(sample):
    """What evaluate and motifs read: the test data, else the training data."""
    return sample_path(sample, "test") or sample_path(sample, "train")


def vcf_chroms(path):
    """The chromosomes of a VCF in the order of their first record (one scan of the file)."""
    opener = gzip.open if open(path, "rb").read(2) == b"\x1f\x8b" else open
    seen = {}
    with opener(path, "rt") as fh:
        for line in fh:
            if not line.startswith("#"):
                seen.setdefault(line.split("\t", 1)[0], None)
    return list(seen)


def has_variants(sample):
    return (
        config["score_variants"]["enabled"] and sample_path(sample, "vcf") is not None
    )


def has_maps(sample):
    wanted = sample_path(sample, "vcf") and config["mutation_map"]["max_maps"] > 0
    return config["mutation_map"]["enabled"] and bool(
        wanted or _value(sample, "regions")
    )


def regions(sample):
    value = _value(sample, "regions") or ""
    return [r.strip() for r in value.split(",") if r.strip()]


def opt(flag, value):
    """`--flag 'value'` for a shell command, or nothing when value is None."""
    return "" if value is None else f"{flag} '{value}'"


def report_inputs(wildcards):
    sample = wildcards.sample
    found = {"run": f"results/train/{sample}/metrics.json"}
    if config["evaluate"]["enabled"]:
        found["evaluation"] = f"results/evaluate/{sample}/test/metrics.json"
    if config["motifs"]["enabled"]:
        found["motifs"] = f"results/motifs/{sample}/matches.tsv"
    if has_variants(sample):
        found["variants"] = f"results/score_variants/{sample}.vcf.gz"
    if has_maps(sample):
        found["maps"] = f"results/mutation_map/{sample}"
    return found


def all_targets():
    targets = [f"results/report/{s}.html" for s in samples.index]
    targets += ["results/summary/summary.html", "results/summary/summary.tsv"]
    return targets


def variant_shards(wildcards):
    vcf = sample_path(wildcards.sample, "vcf")
    return expand(
        "results/score_variants/{sample}/shards/{chrom}.vcf.gz",
        sample=wildcards.sample,
        chrom=vcf_chroms(vcf),
    )


def map_inputs(wildcards):
    found = {
        "run": f"results/train/{wildcards.sample}/metrics.json",
        "genome": sample_path(wildcards.sample, "genome"),
    }
    if sample_path(wildcards.sample, "vcf") and config["mutation_map"]["max_maps"] > 0:
        # the strongest scored variants when they are scored, else the first of the VCF
        found["vcf"] = (
            f"results/mutation_map/{wildcards.sample}.strongest.vcf"
            if has_variants(wildcards.sample)
            else sample_path(wildcards.sample, "vcf")
        )
    return found


def map_commands(wildcards, input, output, threads):
    """One seqcnn mutation-map call for the chosen variants of the VCF, one per region."""
    common = (
        f"--fasta '{input.genome}' --threads {threads} --quiet"
        f" {config['mutation_map']['extra']}"
    )
    run = os.path.dirname(input.run)
    calls = []
    if "vcf" in input.keys():
        calls.append(
            f"{SEQCNN} mutation-map '{run}' --vcf '{input.vcf}' {common}"
            f" --max-maps {config['mutation_map']['max_maps']} -o '{output}/variant.png'"
        )
    for i, region in enumerate(regions(wildcards.sample), 1):
        calls.append(
            f"{SEQCNN} mutation-map '{run}' --region '{region}' {common}"
            f" -o '{output}/region_{i}.png'"
        )
    return " && ".join(calls)


def report_options(wildcards, input):
    given = input.keys()
    options = []
    if "evaluation" in given:
        options.append(f"--evaluations '{os.path.dirname(input.evaluation)}'")
    if "motifs" in given:
        options.append(f"--motifs '{os.path.dirname(input.motifs)}'")
    if "variants" in given:
        options.append(f"--variants '{input.variants}'")
    if "maps" in given:
        options.append(f"--maps '{input.maps}'")
    return " ".join(options)
