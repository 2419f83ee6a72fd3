"""The ``seqcnn`` command end to end: help, exit codes, one-line errors, train/evaluate/predict."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from seqcnn.cli import main

REPO_DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"
VERBS = [
    "train",
    "evaluate",
    "predict",
    "score-variants",
    "mutation-map",
    "attribute",
    "list-models",
    "demo",
]


def run(capsys, *argv: str) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize("verb", VERBS)
def test_every_verb_has_help_with_an_example(verb, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([verb, "--help"])
    assert exit_.value.code == 0
    assert "example" in capsys.readouterr().out


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--out", "x"])  # --train missing
    assert exit_.value.code == 2


def test_list_models_shows_deepbind_with_parameters(capsys):
    code, out = run(capsys, "list-models")
    assert code == 0
    line = next(row for row in out.splitlines() if row.startswith("deepbind "))
    assert "1D" in line and "bp" in line


def encode_subset(data_dir, tmp_path, tf="REST_GM12878_NRSF_HudsonAlpha", n=400):
    """A small real training table (positives only) and the real B test set."""
    src = data_dir / "encode-chipseq" / f"{tf}_AC.seq.gz"
    frame = pd.read_csv(src, sep="\t").head(n)
    train = tmp_path / "train.seq.gz"
    with gzip.open(train, "wt") as fh:
        frame.to_csv(fh, sep="\t", index=False)
    return train, data_dir / "encode-chipseq" / f"{tf}_B.seq.gz"


def test_train_evaluate_predict_on_real_encode_data(data_dir, tmp_path, capsys):
    train, test = encode_subset(data_dir, tmp_path)
    run_dir = tmp_path / "run"
    code, out = run(
        capsys,
        "train",
        "--train",
        train,
        "--negatives",
        "shuffle",
        "--test",
        test,
        "--out",
        run_dir,
        "--epochs",
        "3",
        "--threads",
        "1",
        "--quiet",
    )
    assert code == 0, out
    for name in (
        "config.json",
        "model.safetensors",
        "metrics.json",
        "history.csv",
        "roc.png",
        "pr.png",
        "training_curve.png",
    ):
        assert (run_dir / name).is_file(), name
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["test"]["n"] == 1000 and 0 <= metrics["test"]["auroc"] <= 1
    assert metrics["valid"]["n"] == 80  # 10% of 400 positives held back + one shuffle each
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model"]["name"] == "deepbind" and config["task"] == "binary"

    code, out = run(capsys, "predict", run_dir, "--data", test, "-o", tmp_path / "scores.tsv")
    assert code == 0, out
    scores = pd.read_csv(tmp_path / "scores.tsv", sep="\t")
    assert list(scores.columns) == ["id", "Bound"] and len(scores) == 1000
    assert scores["Bound"].between(0, 1).all()

    code, out = run(capsys, "evaluate", run_dir, "--data", test, "-o", tmp_path / "eval")
    assert code == 0, out
    evaluated = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert evaluated["auroc"] == pytest.approx(metrics["test"]["auroc"], abs=1e-6)

    # an existing run directory is not overwritten without --force
    code, out = run(capsys, "train", "--train", train, "--negatives", "shuffle", "--out", run_dir)
    assert code == 1 and "--force" in out and str(run_dir) in out


@pytest.mark.parametrize(
    "content, expected",
    [
        (None, "file not found"),
        ("", "empty"),
        ("id\tBound\nx\t1\n", "no sequence column"),
        ("seq\tBound\nACGT\t1\nACGT\t2\n", "line 3"),
        ("seq\tBound\nACGT\t1\nACXT\t0\n", "line 3"),
        ("seq\tBound\nACGT\t1\nACGT\t1\n", "only one class"),
    ],
    ids=[
        "missing",
        "empty",
        "no-sequence-column",
        "label-not-binary",
        "bad-character",
        "one-class",
    ],
)
def test_bad_input_gives_one_line_error_naming_the_file(content, expected, tmp_path, capsys):
    path = tmp_path / "bad.tsv"
    if content is not None:
        path.write_text(content)
    code, out = run(capsys, "train", "--train", path, "--out", tmp_path / "run", "--valid", path)
    assert code == 1
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in out, out
    assert "bad.tsv" in lines[0] and expected in lines[0], lines[0]


def test_debug_shows_the_traceback(tmp_path, capsys):
    with pytest.raises(ValueError):
        main(
            [
                "train",
                "--debug",
                "--train",
                str(tmp_path / "missing.tsv"),
                "--out",
                str(tmp_path / "r"),
            ]
        )


def test_console_script_runs(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "seqcnn.cli", "list-models", "deep*"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "deepbind" in out.stdout


@pytest.mark.parametrize(
    "bed_line, expected",
    [("chrZ\t10\t40\tp\n", "chrZ"), ("chrA\t10\t9000\tp\n", "runs off contig")],
    ids=["unknown-contig", "past-end"],
)
def test_bad_bed_interval_names_file_line_and_contig(
    bed_line, expected, test_data, tmp_path, capsys
):
    bed = tmp_path / "peaks.bed"
    bed.write_text("chrA\t100\t160\tok\n" + bed_line)
    code, out = run(
        capsys,
        "train",
        "--train",
        bed,
        "--fasta",
        test_data / "tiny_genome.fa",
        "--length",
        "30",
        "--out",
        tmp_path / "run",
        "--valid",
        bed,
    )
    assert code == 1
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1 and "peaks.bed" in lines[0] and "line 2" in lines[0], out
    assert expected in lines[0]


def test_fasta_pair_run_stores_full_model_arguments_and_evaluates_with_negatives(
    test_data, tmp_path, capsys
):
    demo = pd.read_csv(test_data.parents[1] / "data" / "demo" / "train.tsv.gz", sep="\t").head(200)
    pos, neg = tmp_path / "pos.fa", tmp_path / "neg.fa"
    for path, label in ((pos, 1), (neg, 0)):
        rows = demo[demo["bound"] == label]
        path.write_text(
            "".join(f">{i}\n{s}\n" for i, s in zip(rows["id"], rows["sequence"], strict=True))
        )
    run_dir = tmp_path / "run"
    code, out = run(
        capsys,
        "train",
        "--train",
        pos,
        "--negatives",
        neg,
        "--out",
        run_dir,
        "--epochs",
        "1",
        "--threads",
        "1",
        "--model-arg",
        "n_filters=8",
    )
    assert code == 0, out
    args = json.loads((run_dir / "config.json").read_text())["model"]["args"]
    assert args["n_filters"] == 8 and args["filter_width"] == 24 and args["strands"] == "max"

    code, out = run(capsys, "evaluate", run_dir, "--data", pos, "--negatives", neg)
    assert code == 0, out
    code, out = run(capsys, "evaluate", run_dir, "--data", pos, "--negatives", "none")
    assert code == 1 and "only one class" in out and "pos.fa" in out

    code, out = run(capsys, "predict", run_dir, "--data", pos, "-o", tmp_path / "no" / "p.tsv")
    assert code == 1 and "folder" in out and ".tmp" not in out


def test_bad_model_argument_is_a_one_line_error(tmp_path, capsys):
    code, out = run(
        capsys,
        "train",
        "--train",
        REPO_DEMO / "train.tsv.gz",
        "--out",
        tmp_path / "r",
        "--model-arg",
        "n_filters=0",
        "--epochs",
        "1",
    )
    assert code == 1 and "deepbind" in out and "Traceback" not in out
    assert not (tmp_path / "r" / "config.json").exists()


def test_images_train_and_predict_through_the_same_command(tmp_path, capsys):
    run_dir = tmp_path / "digits"
    code, out = run(
        capsys,
        "train",
        "--train",
        "sklearn-digits",
        "--model",
        "lenet5",
        "--test-fraction",
        "0.2",
        "--epochs",
        "8",
        "--threads",
        "1",
        "--out",
        run_dir,
    )
    assert code == 0, out
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["test"]["n"] == 359 and metrics["test"]["accuracy"] > 0.8
    assert "recall/0" in metrics["test"] and (run_dir / "confusion.png").is_file()
    config = json.loads((run_dir / "config.json").read_text())
    assert config["task"] == "multiclass" and config["model"]["args"]["input_size"] == 8
    code, out = run(
        capsys, "predict", run_dir, "--data", "sklearn-digits", "-o", tmp_path / "p.tsv"
    )
    assert code == 0, out
    scores = pd.read_csv(tmp_path / "p.tsv", sep="\t")
    assert len(scores) == 1797 and scores.filter(like="p_").sum(axis=1).round(4).eq(1).all()


def test_yaml_config_supplies_options_and_rejects_unknown_ones(tmp_path, capsys):
    config = tmp_path / "options.yaml"
    config.write_text(
        f"train: {REPO_DEMO / 'train.tsv.gz'}\nvalid: {REPO_DEMO / 'valid.tsv.gz'}\n"
        "epochs: 1\nbatch_size: 64\nmodel_args:\n  n_filters: 4\n"
    )
    code, out = run(
        capsys,
        "train",
        "--train",
        REPO_DEMO / "train.tsv.gz",
        "--config",
        config,
        "--out",
        tmp_path / "run",
        "--lr",
        "0.01",
        "--threads",
        "1",
    )
    assert code == 0, out
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["training"]["batch_size"] == 64 and saved["training"]["lr"] == 0.01
    assert saved["model"]["args"]["n_filters"] == 4
    config.write_text("epochz: 3\n")
    code, out = run(
        capsys,
        "train",
        "--train",
        REPO_DEMO / "train.tsv.gz",
        "--config",
        config,
        "--out",
        tmp_path / "run2",
    )
    assert code == 1 and "epochz" in out and "epochs" in out


@pytest.mark.parametrize(
    "options, expected",
    [
        (["--negatives", "shuffle", "--negatives-per-positive", "0"], "negatives_per_positive"),
        (["--negatives", "shuffle", "--length", "0"], "length must be at least 1"),
        (["--negatives", "shuffle", "--valid-fraction", "0.01"], "cannot hold back"),
    ],
    ids=["negatives-per-positive-0", "length-0", "holdout-too-small"],
)
def test_invalid_data_options_are_one_line_errors(options, expected, tmp_path, capsys):
    path = tmp_path / "tiny.tsv"
    path.write_text("id\tsequence\n" + "".join(f"s{i}\tACGTACGTAAGGTT\n" for i in range(5)))
    code, out = run(capsys, "train", "--train", path, "--out", tmp_path / "run", *options)
    lines = [line for line in out.splitlines() if line.strip()]
    assert code == 1 and len(lines) == 1 and "Traceback" not in out, out
    assert expected in lines[0], lines[0]


def _tiny_run(run_dir: Path, length: int = 31, name: str = "deepbind", **args) -> Path:
    """A run directory with a small untrained model (config.json + weights)."""
    import torch

    from seqcnn.checkpoint import save_weights, write_config
    from seqcnn.models import create_model

    torch.manual_seed(0)
    run_dir.mkdir()
    model = create_model(name, n_outputs=1, **args)
    config = {
        "model": {"name": name, "args": {"n_outputs": 1, **args}},
        "task": "binary",
        "targets": ["Bound"],
        "input": {"kind": "sequence", "length": length, "alphabet": "ACGT", "ambiguous": "zero"},
    }
    write_config(config, run_dir)
    save_weights(model, run_dir / "model.safetensors")
    return run_dir


def test_score_variants_tsv_vcf_and_errors(tmp_path, capsys):
    run_dir = _tiny_run(tmp_path / "run", n_filters=4, filter_width=5, hidden=0)
    fa = tmp_path / "g.fa"
    fa.write_text(">chr1\n" + "ACGTTGCAAC" * 20 + "\n")
    vcf = tmp_path / "v.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        "1\t54\trs1\tT\tA,C\t.\t.\tX=1\nchr1\t60\trs2\tG\tC\t.\t.\t.\n"
        "chr7\t5\trs3\tA\tG\t.\t.\t.\n"
    )
    code, text = run(capsys, "score-variants", run_dir, "--vcf", vcf, "--fasta", fa, "-o",
                     tmp_path / "e.tsv", "-q")  # fmt: skip
    assert code == 0, text
    expected = "3 records, 4 ALT alleles: 2 scored, 2 skipped (ref_mismatch 1, unknown_contig 1)"
    assert expected in text and "contigs matched by alias: 1->chr1" in text
    assert "genome build" in text  # 1 of 2 checked records differ: the warning line
    frame = pd.read_csv(tmp_path / "e.tsv", sep="\t", comment="#")
    assert list(frame["status"]) == ["ok", "ok", "ref_mismatch", "unknown_contig"]
    assert {"Bound_ref", "Bound_alt", "Bound_delta"} <= set(frame.columns)
    out = tmp_path / "e.vcf.gz"
    code, text = run(capsys, "score-variants", run_dir, "--vcf", vcf, "--fasta", fa, "-o", out,
                     "--significance", "9", "--length", "41", "-q")  # fmt: skip
    assert code == 0, text
    lines = gzip.open(tmp_path / "e.vcf.gz", "rt").read().splitlines()
    assert any(ln.startswith("##seqcnnCommand=seqcnn score-variants") for ln in lines)
    assert any(ln.startswith("##seqcnnNull=the same edit in 9") for ln in lines)
    assert (tmp_path / "e.vcf.gz.tbi").is_file()
    assert lines[-3].split("\t")[7].startswith("X=1;SEQCNN_Bound_REF=")
    code, text = run(capsys, "score-variants", run_dir, "--vcf", vcf, "--fasta", fa, "-o",
                     tmp_path / "f.tsv", "--ref-policy", "fail", "-q")  # fmt: skip
    assert code == 1 and "v.vcf, line 4" in text and len(text.strip().splitlines()) == 1
    fixed = _tiny_run(tmp_path / "dilated", length=101, name="dilated")
    code, text = run(capsys, "score-variants", fixed, "--vcf", vcf, "--fasta", fa, "-o",
                     tmp_path / "h.tsv", "--length", "57")  # fmt: skip
    assert code == 1 and "only takes windows of its training length 101" in text
    code, text = run(capsys, "score-variants", tmp_path / "missing", "--vcf", vcf, "--fasta", fa,
                     "-o", tmp_path / "g.tsv")  # fmt: skip
    assert code == 1 and "run directory not found" in text


def test_mutation_map_sequence_region_vcf_and_errors(tmp_path, capsys):
    import numpy as np
    import torch

    from seqcnn.attribution import ism_outputs
    from seqcnn.checkpoint import load_run
    from seqcnn.sequence import one_hot_encode

    run_dir = _tiny_run(tmp_path / "run", n_filters=4, filter_width=5, hidden=0)
    genome = "ACGTTGCAAC" * 20
    fa = tmp_path / "g.fa"
    fa.write_text(">chr1\n" + genome + "\n")
    seq = genome[10:41]
    code, text = run(capsys, "mutation-map", run_dir, "--sequence", seq, "-o", tmp_path / "s.png",
                     "-q")  # fmt: skip
    assert code == 0, text
    assert "1 mutation map(s)" in text and (tmp_path / "s.png").is_file()
    table = pd.read_csv(tmp_path / "s.tsv", sep="\t", comment="#")
    assert len(table) == 4 * 31 and (table.loc[table["ref"] == table["alt"], "delta"] == 0).all()
    model, _ = load_run(run_dir)
    expected = ism_outputs(model, one_hot_encode([seq])).mutated[0, 0].numpy()  # (4, L)
    np.testing.assert_allclose(table["alt_logit"].to_numpy(), expected.T.ravel(), atol=1e-5)
    with torch.no_grad():  # one value by hand: T written at position 3 (1-based)
        mutated = seq[:2] + "T" + seq[3:]
        by_hand = float(model(one_hot_encode([mutated]))[0, 0])
    row = table[(table["pos"] == 3) & (table["alt"] == "T")].iloc[0]
    assert row["alt_logit"] == pytest.approx(by_hand, abs=1e-5)
    # a region, 1-based inclusive: chr1:11-41 is genome[10:41]
    code, text = run(capsys, "mutation-map", run_dir, "--fasta", fa, "--region", "chr1:11-41",
                     "-o", tmp_path / "r.svg", "-q")  # fmt: skip
    assert code == 0, text
    region = pd.read_csv(tmp_path / "r.tsv", sep="\t", comment="#")
    assert region["pos"].min() == 11 and region["pos"].max() == 41
    np.testing.assert_allclose(region["alt_logit"], table["alt_logit"], atol=1e-6)
    # a VCF: one map per ALT allele, the variant's REF base at index L // 2 of its window
    vcf = tmp_path / "v.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        "chr1\t54\trs1\tT\tA,C\t.\t.\t.\nchr1\t60\trs2\tA\tC\t.\t.\t.\n"
        "chr9\t5\trs3\tA\tG\t.\t.\t.\n"
    )
    code, text = run(capsys, "mutation-map", run_dir, "--vcf", vcf, "--fasta", fa, "-o",
                     tmp_path / "v.png", "-q")  # fmt: skip
    assert code == 0, text
    assert "2 mutation map(s) for 4 ALT alleles (ref_mismatch 1, unknown_contig 1" in text
    maps = pd.read_csv(tmp_path / "v.tsv", sep="\t", comment="#")
    assert sorted(maps["map"].unique()) == ["v_1.png", "v_2.png"]
    first = maps[maps["map"] == "v_1.png"]
    assert first["pos"].min() == 54 - 31 // 2 and first["pos"].max() == 54 + 31 // 2
    assert set(first.loc[first["pos"] == 54, "ref"]) == {"T"} and genome[53] == "T"
    assert (tmp_path / "v_2.png").is_file() and not (tmp_path / "v.png").exists()
    # errors: one line each, exit 1
    for argv, expected in (
        (["--region", "chr1:11-41"], "needs the reference genome"),
        (["--sequence", "ACGU" * 8], "invalid character 'U'"),
        (["--fasta", fa, "--region", "chr1:41-11"], "1 <= start <= end"),
        (["--sequence", seq, "--weighting", "delta", "-o", tmp_path / "x.txt"], "suffix"),
    ):
        argv = [*argv] if "-o" in argv else [*argv, "-o", tmp_path / "x.png"]
        code, text = run(capsys, "mutation-map", run_dir, *argv)
        assert code == 1 and expected in text and len(text.strip().splitlines()) == 1, text
    fixed = _tiny_run(tmp_path / "dilated", length=101, name="dilated")
    code, text = run(capsys, "mutation-map", fixed, "--sequence", seq, "-o", tmp_path / "d.png")
    assert code == 1 and "only takes its training length 101" in text


def test_attribute_writes_arrays_and_logos(tmp_path, capsys):
    import numpy as np

    run_dir = _tiny_run(tmp_path / "run", n_filters=4, filter_width=5, hidden=0)
    data = tmp_path / "seqs.fa"
    data.write_text(">a\nACGTTGCAACGTTGCAACGTTGCAACGTTGC\n>b\nGGGCCCAATTGGGCCCAATTGGGCCCAATTG\n")
    out = tmp_path / "attr.npz"
    code, text = run(capsys, "attribute", run_dir, "--data", data, "--method", "deeplift", "-o",
                     out, "--logos", "1", "-q")  # fmt: skip
    assert code == 0, text
    assert "deeplift for 2 sequences" in text and "convergence delta" in text
    arrays = np.load(out)
    assert arrays["attributions"].shape == (2, 4, 31) and list(arrays["ids"]) == ["a", "b"]
    assert np.abs(arrays["delta"]).max() < 1e-5 and str(arrays["baselines"]) == "uniform"
    assert (tmp_path / "attr_1_a.png").is_file() and not (tmp_path / "attr_2_b.png").exists()
    code, text = run(capsys, "attribute", run_dir, "--data", data, "-o", tmp_path / "a.tsv")
    assert code == 1 and ".npz" in text


def test_progress_bars_only_on_a_terminal(monkeypatch):
    import argparse
    import io

    from seqcnn.cli import _progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert not _progress(argparse.Namespace(quiet=False))  # a log file or a pipe
    monkeypatch.setattr("sys.stderr", Terminal())
    assert _progress(argparse.Namespace(quiet=False))
    assert not _progress(argparse.Namespace(quiet=True))
