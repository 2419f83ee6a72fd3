"""The Snakemake workflow in workflows/: lint and format clean, schemas that stop bad configs
before any job, dry runs that plan every job (the .test config, the ten ENCODE experiments,
the SLURM profile), and, with SEQCNN_WORKFLOW_TEST=1, the .test config end to end against the
same seqcnn commands run by hand."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / "workflows"
SNAKEFILE = WORKFLOWS / "workflow" / "Snakefile"
BIN = Path(sys.executable).parent
SNAKEMAKE = shutil.which("snakemake", path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")

pytestmark = pytest.mark.skipif(SNAKEMAKE is None, reason="snakemake not installed ('.[workflow]')")


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def _snakemake(*args: str, cwd: Path = WORKFLOWS, env: dict | None = None, timeout: int = 300):
    return subprocess.run(
        [SNAKEMAKE, *args],
        cwd=cwd,
        env=env or _env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _job_counts(output: str) -> dict[str, int]:
    table = output.split("Job stats:", 1)[1]
    return {m[1]: int(m[2]) for m in re.finditer(r"(?m)^(\w+)\s+(\d+)$", table)}


def _test_workdir(tmp_path: Path, **config: str) -> Path:
    """A copy of the .test config in tmp_path (paths to the repository made absolute)."""
    work = tmp_path / "work"
    shutil.copytree(WORKFLOWS / ".test" / "config", work / "config")
    text = (
        (work / "config" / "config.yaml")
        .read_text()
        .replace("data_dir: ../..", f"data_dir: {ROOT}")
    )
    for key, value in config.items():
        text += f"{key}: {value}\n"
    (work / "config" / "config.yaml").write_text(text)
    return work


def test_lint_and_format_are_clean(tmp_path: Path) -> None:
    work = _test_workdir(tmp_path)
    lint = _snakemake("--lint", "-s", str(SNAKEFILE), "--directory", str(work))
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "Congratulations, your workflow is in a good condition" in lint.stdout + lint.stderr
    snakefmt = shutil.which("snakefmt", path=str(BIN)) or shutil.which("snakefmt")
    if snakefmt is None:
        pytest.skip("snakefmt not installed")
    fmt = subprocess.run(
        [snakefmt, "--check", "workflow"], cwd=WORKFLOWS, capture_output=True, text=True
    )
    assert fmt.returncode == 0, fmt.stderr


def test_test_config_plans_every_step(tmp_path: Path) -> None:
    work = _test_workdir(tmp_path)
    dry = _snakemake("-n", "-s", str(SNAKEFILE), "--directory", str(work))
    assert dry.returncode == 0, dry.stderr
    counts = _job_counts(dry.stdout)
    # demo.vcf has two chromosomes: two split and two scoring jobs, one gather
    assert counts == {
        "all": 1, "train": 1, "evaluate": 1, "motifs": 1, "split_vcf": 2,
        "score_variants_shard": 2, "gather_variants": 1, "strongest_variants": 1,
        "mutation_map": 1, "report": 1, "summary": 1, "total": 13,
    }  # fmt: skip
    unsharded = _test_workdir(tmp_path / "none", score_variants="{scatter: none}")
    dry = _snakemake("-n", "-s", str(SNAKEFILE), "--directory", str(unsharded))
    assert dry.returncode == 0, dry.stderr
    counts = _job_counts(dry.stdout)
    assert counts["score_variants"] == 1 and "split_vcf" not in counts
    off = _test_workdir(tmp_path / "off", score_variants="{enabled: false}")
    dry = _snakemake("-n", "-s", str(SNAKEFILE), "--directory", str(off))
    counts = _job_counts(dry.stdout)  # maps of the VCF's first variants, nothing scored
    assert counts["mutation_map"] == 1 and "strongest_variants" not in counts


def test_wrong_key_fails_with_the_schema_message(tmp_path: Path) -> None:
    work = _test_workdir(tmp_path, report="{tops: 3}")
    dry = _snakemake("-n", "-s", str(SNAKEFILE), "--directory", str(work))
    assert dry.returncode != 0
    assert (
        "Additional properties are not allowed ('tops' was unexpected)" in dry.stdout + dry.stderr
    )
    assert "Job stats" not in dry.stdout
    assert "Building DAG" not in dry.stdout + dry.stderr


def test_bad_sample_sheet_fails_before_any_job(tmp_path: Path) -> None:
    work = _test_workdir(tmp_path)
    sheet = work / "config" / "samples.tsv"
    lines = sheet.read_text().splitlines()
    sheet.write_text(lines[0].replace("train", "training") + "\n" + lines[1] + "\n")
    dry = _snakemake("-n", "-s", str(SNAKEFILE), "--directory", str(work))
    assert dry.returncode != 0
    assert "('training' was unexpected)" in dry.stdout + dry.stderr
    sheet.write_text(lines[0] + "\n" + lines[1].replace("demo", "de mo", 1) + "\n")
    dry = _snakemake("-n", "-s", str(SNAKEFILE), "--directory", str(work))
    assert dry.returncode != 0 and "does not match" in dry.stdout + dry.stderr


@pytest.mark.parametrize("profile", [None, "profiles/slurm"])
def test_encode_config_plans_every_job(data_dir: Path, profile: str | None) -> None:
    if not (data_dir / "encode-chipseq").is_dir():
        pytest.skip("no encode-chipseq/ in the shared data")
    env = {**_env(), "SEQCNN_DATA_DIR": str(data_dir)}
    args = ["-n"] + (["--profile", profile, "--configfile", "config/gpu.yaml"] if profile else [])
    dry = _snakemake(*args, env=env)
    assert dry.returncode == 0, dry.stderr
    counts = _job_counts(dry.stdout)
    for step in ("train", "evaluate", "motifs", "report"):
        assert counts[step] == 10, step
    assert counts["summary"] == 1
    # three experiments carry the chr1 eQTL VCF: one chromosome each
    assert counts["gather_variants"] == counts["mutation_map"] == 3
    assert counts["strongest_variants"] == 3 and counts["total"] == 57
    if profile:
        assert dry.stdout.count("gpu=1") == 10


@pytest.mark.skipif(
    os.environ.get("SEQCNN_WORKFLOW_TEST") != "1",
    reason="runs the .test workflow end to end (minutes): set SEQCNN_WORKFLOW_TEST=1",
)
def test_test_config_end_to_end_equals_the_commands_by_hand(tmp_path: Path) -> None:
    work = _test_workdir(tmp_path)
    run = _snakemake("--cores", "2", "-s", str(SNAKEFILE), "--directory", str(work), timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    results = work / "results"
    assert (results / "summary" / "summary.html").is_file()
    # the same seqcnn commands by hand, same seeds
    demo, data = ROOT / "data" / "demo", ROOT / "workflows" / ".test" / "data"
    hand = tmp_path / "hand"
    seqcnn = str(BIN / "seqcnn")
    subprocess.run(
        [seqcnn, "train", "--train", str(demo / "train.tsv.gz"), "--valid",
         str(demo / "valid.tsv.gz"), "--test", str(demo / "test.tsv.gz"), "--negatives", "none",
         "--model", "deepbind", "--epochs", "3", "--seed", "0", "--device", "auto",
         "--threads", "1", "--out", str(hand / "run"), "--quiet"],
        check=True, capture_output=True, env=_env(),
    )  # fmt: skip
    subprocess.run(
        [seqcnn, "score-variants", str(hand / "run"), "--vcf", str(data / "variants.vcf"),
         "--fasta", str(data / "genome.fa"), "-o", str(hand / "v.vcf.gz"), "--quiet"],
        check=True, capture_output=True, env=_env(),
    )  # fmt: skip
    by_flow = json.loads((results / "train" / "demo" / "metrics.json").read_text())
    by_hand = json.loads((hand / "run" / "metrics.json").read_text())
    for split in ("train", "valid", "test"):
        for key in ("auroc", "auprc", "loss", "n"):
            assert by_flow[split][key] == by_hand[split][key], (split, key)

    def records(path: Path) -> list[str]:
        with gzip.open(path, "rt") as fh:
            return [line for line in fh if not line.startswith("#")]

    gathered = results / "score_variants" / "demo.vcf.gz"
    assert (results / "score_variants" / "demo.vcf.gz.tbi").is_file()
    assert records(gathered) == records(hand / "v.vcf.gz")


def test_fasta_pair_and_bed_samples_get_the_right_options(tmp_path: Path) -> None:
    work = _test_workdir(tmp_path)
    sheet = work / "config" / "samples.tsv"
    header = sheet.read_text().splitlines()[0]
    rows = {
        "pair": ["tests/data/toy_pos.fa", "", "", "tests/data/toy_neg.fa", "", "", "", ""],
        "peaks": [
            "tests/data/tiny_peaks.narrowPeak", "", "", "gc", "tests/data/tiny_genome.fa",
            "", "chrA:1-101", "dilated",
        ],
    }  # fmt: skip
    sheet.write_text(
        header + "\n" + "".join(f"{k}\t" + "\t".join(v) + "\n" for k, v in rows.items())
    )
    dry = _snakemake("-n", "-p", "-s", str(SNAKEFILE), "--directory", str(work))
    assert dry.returncode == 0, dry.stdout + dry.stderr
    train = {
        m[1]: m[0] for m in re.finditer(r"seqcnn train .*?--out results/train/(\w+) .*", dry.stdout)
    }
    assert "--negatives 'tests/data/toy_neg.fa'" in train["pair"].replace(str(ROOT) + "/", "")
    assert "--fasta" not in train["pair"]  # sequences need no genome
    assert "--fasta" in train["peaks"] and "--model dilated" in train["peaks"]
    counts = _job_counts(dry.stdout)
    # no VCF: nothing to score; regions: one mutation-map job for the BED sample only
    assert "gather_variants" not in counts and counts["mutation_map"] == 1
    assert counts["train"] == counts["report"] == 2
