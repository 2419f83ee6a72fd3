# ruff: noqa: E501  (the corpus is a table: one case per line)
"""The bad-input corpus, regenerated: every case is built in set-up and run through the CLI.

Each case has its documented class (docs/inputs.md):

- ``error``: exit 1, exactly one line on stderr, ``seqcnn VERB: error: FILE...`` naming the
  offending file, no output file left behind;
- ``skip``: exit 0, the skipped records counted on stderr and marked in the ``status`` column;
- ``warn``: exit 0, one warning line for the oddity, with a count;
- ``accept``: exit 0.

No case may raise out of :func:`seqcnn.cli.main` (a traceback), and no case may run a payload
(pickles and YAML tags that would create ``PAYLOAD_RAN``).
"""

from __future__ import annotations

import gzip
import json
import pickle
import shutil
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from seqcnn import cli

MOTIF = "TGACGTCA"
LENGTH = 30


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@dataclass
class Env:
    """What every case may use: a trained run, a genome, a folder of its own."""

    run: Path
    genome: Path
    tmp: Path

    def file(self, name: str, content: str | bytes) -> Path:
        path = self.tmp / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        return path

    def gz(self, name: str, content: bytes) -> Path:
        path = self.tmp / name
        with gzip.open(path, "wb") as fh:
            fh.write(content)
        return path

    @property
    def out(self) -> Path:
        return self.tmp / "out" / "scores.tsv"

    def predict(self, data: Path, *extra: str, run: Path | None = None) -> list[str]:
        return ["predict", str(run or self.run), "--data", str(data), "-o", str(self.out), *extra]

    def copy_run(self) -> Path:
        run = self.tmp / "run"
        shutil.copytree(self.run, run)
        return run

    def train(self, data: Path, *extra: str) -> list[str]:
        return [
            "train", "--train", str(data), "-o", str(self.tmp / "out" / "newrun"), "--epochs",
            "1", "--quiet", "--threads", "1", "--model-arg", "n_filters=4", "hidden=4",
            "filter_width=6", *extra,
        ]  # fmt: skip


def _sequences(n: int, seed: int = 0, length: int = LENGTH) -> tuple[list[str], list[int]]:
    rng = np.random.default_rng(seed)
    seqs, labels = [], []
    for _ in range(n):
        s = list(rng.choice(list("ACGT"), length))
        label = int(rng.random() < 0.5)
        if label:
            p = int(rng.integers(0, length - len(MOTIF)))
            s[p : p + len(MOTIF)] = MOTIF
        seqs.append("".join(s))
        labels.append(label)
    return seqs, labels


def _table(n: int = 64, seed: int = 0) -> str:
    seqs, labels = _sequences(n, seed)
    return "id\tsequence\tlabel\n" + "".join(
        f"s{i}\t{s}\t{y}\n" for i, (s, y) in enumerate(zip(seqs, labels, strict=True))
    )


def _fasta(seqs: list[str], names: list[str] | None = None) -> str:
    names = names or [f"r{i}" for i in range(len(seqs))]
    return "".join(f">{n}\n{s}\n" for n, s in zip(names, seqs, strict=True))


GOOD_SEQS = _sequences(4, seed=5)[0]


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> tuple[Path, Path]:
    """A tiny trained run and a two-contig genome, made once."""
    root = tmp_path_factory.mktemp("corpus")
    (root / "train.tsv").write_text(_table(96))
    code = cli.main(
        [
            "train",
            "--train",
            str(root / "train.tsv"),
            "-o",
            str(root / "run"),
            "--epochs",
            "2",
            "--quiet",
            "--threads",
            "1",
            "--model-arg",
            "n_filters=4",
            "hidden=4",
            "filter_width=6",
        ]  # fmt: skip
    )
    assert code == 0
    rng = np.random.default_rng(1)
    chr1 = "".join(rng.choice(list("ACGT"), 600))
    chr2 = "".join(rng.choice(list("ACGT"), 300))
    (root / "genome.fa").write_text(f">chr1\n{chr1}\n>chr2\n{chr2}\n")
    return root / "run", root / "genome.fa"


@pytest.fixture
def env(shared, tmp_path) -> Env:
    (tmp_path / "out").mkdir()
    return Env(shared[0], shared[1], tmp_path)


def _safetensors_header(header: dict, data: bytes = b"") -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


def _run_with_weights(env: Env, content: bytes) -> list[str]:
    run = env.copy_run()
    (run / "model.safetensors").write_bytes(content)
    return env.predict(env.file("x.fa", _fasta(GOOD_SEQS)), run=run)


def _run_with_config(env: Env, change: Callable[[dict], None]) -> list[str]:
    run = env.copy_run()
    config = json.loads((run / "config.json").read_text())
    change(config)
    (run / "config.json").write_text(json.dumps(config))
    return env.predict(env.file("x.fa", _fasta(GOOD_SEQS)), run=run)


def _nan_weights(env: Env) -> list[str]:
    import torch
    from safetensors.torch import load_file, save_file

    run = env.copy_run()
    state = load_file(str(run / "model.safetensors"))
    first = next(iter(state))
    state[first] = torch.full_like(state[first], float("nan"))
    save_file(state, str(run / "model.safetensors"))
    return env.predict(env.file("x.fa", _fasta(GOOD_SEQS)), run=run)


def _resume_with(env: Env, *extra: str) -> list[str]:
    data = env.file("t.tsv", _table(64))
    argv = env.train(data)
    assert cli.main(argv) == 0
    shutil.rmtree(env.tmp / "out" / "newrun" / "checkpoint", ignore_errors=False) if (
        "--drop" in extra
    ) else None
    return argv + ["--resume", *[e for e in extra if e != "--drop"]]


def _resume_with_foreign_state(env: Env) -> list[str]:
    """A run whose checkpoint was replaced by the checkpoint of a bigger model."""
    argv = _resume_with(env)
    other = env.tmp / "other"
    data = env.tmp / "t.tsv"
    base = ["train", "--train", str(data), "-o", str(other), "--epochs", "1", "--quiet"]
    assert cli.main([*base, "--threads", "1", "--model-arg", "n_filters=8", "hidden=4"]) == 0
    state = "checkpoint/state.safetensors"
    shutil.copy(other / state, env.tmp / "out" / "newrun" / state)
    return argv


def _resume_with_state(env: Env, content: bytes) -> list[str]:
    argv = _resume_with(env)
    (env.tmp / "out" / "newrun" / "checkpoint" / "state.safetensors").write_bytes(content)
    return argv


def _base(env: Env, chrom: str, pos: int) -> str:
    """The genome's base at 1-based ``pos``."""
    lines = env.genome.read_text().split()
    return lines[lines.index(f">{chrom}") + 1][pos - 1]


def _vcf(env: Env, rows: list[str], name: str = "v.vcf") -> Path:
    head = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    return env.file(name, head + "".join(r + "\n" for r in rows))


def _snv(env: Env, chrom: str, pos: int, ref: str | None = None, alt: str | None = None) -> str:
    ref = ref or _base(env, chrom, pos)
    alt = alt or next(b for b in "ACGT" if b != ref.upper())
    return f"{chrom}\t{pos}\t.\t{ref}\t{alt}\t.\t.\t."


def _score(env: Env, vcf: Path, *extra: str) -> list[str]:
    return [
        "score-variants", str(env.run), "--vcf", str(vcf), "--fasta", str(env.genome), "-o",
        str(env.out), "--quiet", "--threads", "1", *extra,
    ]  # fmt: skip


def _fixed_run(env: Env) -> Path:
    """A run of a model whose input length is fixed (a dense layer over 30 positions)."""
    import torch

    from seqcnn import checkpoint
    from seqcnn.models import registry

    if "fixed_length_test" not in registry._REGISTRY:

        @registry.register_model("fixed_length_test", dim=1, description="test only")
        def fixed_length_test(n_outputs: int = 1, in_channels: int = 4):
            return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4 * LENGTH, n_outputs))

    run = env.copy_run()
    config = json.loads((run / "config.json").read_text())
    config["model"] = {"name": "fixed_length_test", "args": {"n_outputs": 1}}
    checkpoint.write_config(config, run)
    checkpoint.save_weights(registry.create_model("fixed_length_test"), run / "model.safetensors")
    return run


def _bed(rows: list[str]) -> str:
    return "".join(r + "\n" for r in rows)


def _npz(env: Env, name: str, **arrays) -> Path:
    path = env.tmp / name
    np.savez(path, **arrays)
    return path


@dataclass
class Case:
    name: str
    expected: str  # error | skip | warn | accept
    build: Callable[[Env], list[str]]
    phrase: str = ""  # in the error / warning line
    bad_file: str | None = None  # the file the error must name (default: the --data file)


def _config(env: Env, text: str, *extra: str) -> list[str]:
    data = env.file("t.tsv", _table(64))
    return env.train(data, "--config", str(env.file("options.yaml", text)), *extra)


CASES = [
    # ------------------------------------------------------------------ FASTA
    Case("fasta_empty", "error", lambda e: e.predict(e.file("x.fa", "")), "empty"),
    Case("fasta_blank_lines_only", "error", lambda e: e.predict(e.file("x.fa", "\n\n\n")), "empty"),
    Case("fasta_no_header", "error", lambda e: e.predict(e.file("x.fa", "ACGT\n")), "header"),
    Case("fasta_nameless_header", "error", lambda e: e.predict(e.file("x.fa", ">\nACGT\n")), "name"),
    Case("fasta_record_without_sequence", "error", lambda e: e.predict(e.file("x.fa", ">a\n>b\nAC\n")), "no sequence"),
    Case("fasta_digit", "error", lambda e: e.predict(e.file("x.fa", ">a\nAC1GT\n")), "invalid character"),
    Case("fasta_rna", "error", lambda e: e.predict(e.file("x.fa", ">a\nACGU\n")), "RNA"),
    Case("fasta_gap", "error", lambda e: e.predict(e.file("x.fa", ">a\nAC-GT\n")), "invalid character"),
    Case("fasta_binary", "error", lambda e: e.predict(e.file("x.fa", bytes(range(256)) * 4)), ""),
    Case("fasta_gzip_truncated", "error", lambda e: e.predict(e.file("x.fa.gz", gzip.compress(_fasta(GOOD_SEQS * 50).encode())[:60])), "cannot read"),
    Case("fasta_gzip_bomb", "error", lambda e: e.predict(e.gz("x.fa.gz", b">big\n" + b"A" * (64 << 20) + b"\n")), "decompression bomb"),
    Case("fasta_sequence_over_limit", "error", lambda e: e.predict(e.file("x.fa", ">huge\n" + "A" * 10_000_001 + "\n")), "'huge'"),
    Case("fasta_missing_file", "error", lambda e: e.predict(e.tmp / "nope.fa"), "not found"),
    Case("fasta_directory", "error", lambda e: e.predict((e.tmp / "d.fa").mkdir() or e.tmp / "d.fa"), "directory"),
    Case("fasta_unknown_suffix", "error", lambda e: e.predict(e.file("x.xyz", _fasta(GOOD_SEQS))), "format"),
    Case("fasta_iupac", "warn", lambda e: e.predict(e.file("x.fa", _fasta(["ACGTRYKM" + GOOD_SEQS[0], GOOD_SEQS[1]]))), "IUPAC"),
    Case("fasta_all_n", "warn", lambda e: e.predict(e.file("x.fa", _fasta(["N" * LENGTH, GOOD_SEQS[0]]))), "all N"),
    Case("fasta_duplicate_names", "warn", lambda e: e.predict(e.file("x.fa", _fasta(GOOD_SEQS[:2], ["a", "a"]))), "duplicate"),
    Case("fasta_shorter_than_training", "warn", lambda e: e.predict(e.file("x.fa", _fasta(["ACGTACGTAC", GOOD_SEQS[0]]))), "shorter"),
    Case("fasta_lowercase", "accept", lambda e: e.predict(e.file("x.fa", _fasta([s.lower() for s in GOOD_SEQS])))),
    Case("fasta_crlf", "accept", lambda e: e.predict(e.file("x.fa", _fasta(GOOD_SEQS).replace("\n", "\r\n")))),
    Case("fasta_wrapped_and_comments", "accept", lambda e: e.predict(e.file("x.fa", "; comment\n>a desc\nACGTACGTAC\nACGTACGTAC\n\n>b\nGGGGGCCCCCAAAAATTTTT\n"))),
    Case("fasta_gzip", "accept", lambda e: e.predict(e.gz("x.fa.gz", _fasta(GOOD_SEQS).encode()))),
    Case("fasta_latin1_header", "accept", lambda e: e.predict(e.file("x.fa", b">caf\xe9\nACGTACGTAC\n"))),
    # ------------------------------------------------------------------ tables
    Case("table_header_only", "error", lambda e: e.predict(e.file("x.tsv", "id\tsequence\n")), ""),
    Case("table_empty", "error", lambda e: e.predict(e.file("x.tsv", "")), ""),
    Case("table_no_sequence_column", "error", lambda e: e.predict(e.file("x.tsv", "id\tscore\na\t1\n")), "sequence"),
    Case("table_ragged_row", "error", lambda e: e.predict(e.file("x.tsv", "id\tsequence\na\tACGT\tEXTRA\tMORE\n")), ""),
    Case("table_empty_sequence", "error", lambda e: e.predict(e.file("x.tsv", "id\tsequence\na\t\nb\tACGT\n")), ""),
    Case("table_invalid_character", "error", lambda e: e.predict(e.file("x.tsv", "id\tsequence\na\tACXGT\n")), "invalid character"),
    Case("table_binary", "error", lambda e: e.predict(e.file("x.tsv", bytes(range(256)) * 8)), ""),
    Case("table_gzip_bomb", "error", lambda e: e.predict(e.gz("x.tsv.gz", b"id\tsequence\na\t" + b"A" * (64 << 20) + b"\n")), "decompression bomb"),
    Case("table_sequence_over_limit", "error", lambda e: e.predict(e.file("x.tsv", "id\tsequence\nhuge\t" + "A" * 10_000_001 + "\n")), "huge"),
    Case("table_duplicate_ids", "warn", lambda e: e.predict(e.file("x.tsv", "id\tsequence\na\t" + GOOD_SEQS[0] + "\na\t" + GOOD_SEQS[1] + "\n")), "duplicate"),
    Case("table_bom_and_crlf", "accept", lambda e: e.predict(e.file("x.tsv", "\ufeffid\tsequence\r\na\t" + GOOD_SEQS[0] + "\r\n"))),
    Case("table_csv_quoted", "accept", lambda e: e.predict(e.file("x.csv", 'id,sequence\n"a, b",' + GOOD_SEQS[0] + "\n"))),
    Case("train_labels_one_two", "error", lambda e: e.train(e.file("t.tsv", _table(64).replace("\t1\n", "\t2\n").replace("\t0\n", "\t1\n"))), "", "t.tsv"),
    Case("train_label_not_a_number", "error", lambda e: e.train(e.file("t.tsv", _table(64).replace("\t1\n", "\tyes\n", 1))), "", "t.tsv"),
    Case("train_single_class", "error", lambda e: e.train(e.file("t.tsv", _table(64).replace("\t1\n", "\t0\n"))), "", "t.tsv"),
    Case("train_tiny_file", "error", lambda e: e.train(e.file("t.tsv", "id\tsequence\tlabel\na\tACGTACGT\t1\nb\tTTTTACGA\t0\n")), "", "t.tsv"),
    Case("train_extreme_imbalance", "warn", lambda e: e.train(e.file("t.tsv", _table(64).replace("\t1\n", "\t0\n").replace("\t0\n", "\t1\n", 1))), "imbalance"),
    Case("train_without_labels", "error", lambda e: e.train(e.file("t.fa", _fasta(_sequences(40)[0]))), "label", "t.fa"),
    # ------------------------------------------------------------------ BED / narrowPeak
    Case("bed_two_columns", "error", lambda e: e.predict(e.file("x.bed", "chr1\t10\n"), "--fasta", str(e.genome)), "3"),
    Case("bed_start_not_integer", "error", lambda e: e.predict(e.file("x.bed", "chr1\tten\t20\n"), "--fasta", str(e.genome)), "integer"),
    Case("bed_negative_start", "error", lambda e: e.predict(e.file("x.bed", "chr1\t-5\t20\n"), "--fasta", str(e.genome)), "negative"),
    Case("bed_end_before_start", "error", lambda e: e.predict(e.file("x.bed", "chr1\t50\t20\n"), "--fasta", str(e.genome)), "start"),
    Case("bed_beyond_int64", "error", lambda e: e.predict(e.file("x.bed", "chr1\t10\t99999999999999999999999\n"), "--fasta", str(e.genome)), ""),
    Case("bed_bad_strand", "error", lambda e: e.predict(e.file("x.bed", "chr1\t10\t20\tn\t0\tx\n"), "--fasta", str(e.genome)), "strand"),
    Case("narrowpeak_nine_columns", "error", lambda e: e.predict(e.file("x.narrowPeak", "chr1\t10\t20\tn\t0\t.\t1\t1\t1\n"), "--fasta", str(e.genome)), "10 columns"),
    Case("bed_without_genome", "error", lambda e: e.predict(e.file("x.bed", "chr1\t10\t20\n")), "--fasta"),
    Case("bed_missing_genome", "error", lambda e: e.predict(e.file("x.bed", "chr1\t10\t20\n"), "--fasta", str(e.tmp / "nope.fa")), "not found", "nope.fa"),
    Case("bed_unknown_contig", "skip", lambda e: e.predict(e.file("x.bed", _bed(["chr1\t100\t200", "chrUn\t100\t200", "chrM\t1\t50"])), "--fasta", str(e.genome)), "unknown_contig"),
    Case("bed_window_off_contig_end", "skip", lambda e: e.predict(e.file("x.bed", _bed(["chr1\t100\t200", "chr2\t290\t300", "chr1\t0\t4"])), "--fasta", str(e.genome), "--length", "101"), "out_of_bounds"),
    Case("narrowpeak_summit_outside", "skip", lambda e: e.predict(e.file("x.narrowPeak", _bed(["chr1\t100\t200\tp\t0\t.\t1\t1\t1\t50", "chr1\t300\t400\tq\t0\t.\t1\t1\t1\t500"])), "--fasta", str(e.genome)), "summit"),
    Case("bed_zero_length", "skip", lambda e: e.predict(e.file("x.bed", _bed(["chr1\t100\t200", "chr1\t150\t150"])), "--fasta", str(e.genome)), "zero_length"),
    Case("bed_strict_unknown_contig", "error", lambda e: e.predict(e.file("x.bed", _bed(["chr1\t100\t200", "chrUn\t100\t200"])), "--fasta", str(e.genome), "--strict"), "chrUn"),
    Case("bed_headers_and_spaces", "accept", lambda e: e.predict(e.file("x.bed", "track name=x\nbrowser position chr1\n# c\nchr1 100 200\n"), "--fasta", str(e.genome))),
    Case("bed_train_unknown_contig", "error", lambda e: e.train(e.file("t.bed", _bed(["chr1\t100\t200", "chrUn\t1\t50"])), "--fasta", str(e.genome)), "chrUn", "t.bed"),
    Case("bed_train_window_off_contig", "error", lambda e: e.train(e.file("t.bed", _bed(["chr1\t100\t200", "chr2\t290\t300"])), "--fasta", str(e.genome)), "predict skips and counts", "t.bed"),
    Case("fasta_longer_than_fixed_model", "error", lambda e: e.predict(e.file("x.fa", _fasta([GOOD_SEQS[0], GOOD_SEQS[1] + "ACGTACGTAC"], ["ok", "long"])), run=_fixed_run(e)), "'long'"),
    Case("fasta_fixed_model_right_length", "accept", lambda e: e.predict(e.file("x.fa", _fasta(GOOD_SEQS)), run=_fixed_run(e))),
    # ------------------------------------------------------------------ VCF
    Case("vcf_empty", "error", lambda e: _score(e, e.file("v.vcf", "")), "", "v.vcf"),
    Case("vcf_no_column_header", "error", lambda e: _score(e, e.file("v.vcf", "##fileformat=VCFv4.2\nchr1\t5\t.\tA\tC\t.\t.\t.\n")), "", "v.vcf"),
    Case("vcf_pos_not_integer", "error", lambda e: _score(e, _vcf(e, ["chr1\tfive\t.\tA\tC\t.\t.\t."])), "", "v.vcf"),
    Case("vcf_too_few_columns", "error", lambda e: _score(e, _vcf(e, ["chr1\t5\t.\tA"])), "", "v.vcf"),
    Case("vcf_binary", "error", lambda e: _score(e, e.file("v.vcf", bytes(range(256)) * 4)), "", "v.vcf"),
    Case("vcf_gzip_truncated", "error", lambda e: _score(e, e.file("v.vcf.gz", gzip.compress(_vcf(e, [_snv(e, "chr1", p) for p in range(100, 400)]).read_bytes())[:80])), "", "v.vcf.gz"),
    Case("vcf_unknown_contig", "skip", lambda e: _score(e, _vcf(e, [_snv(e, "chr1", 100), "chrUn\t5\t.\tA\tC\t.\t.\t."])), "unknown_contig"),
    Case("vcf_ref_mismatch", "skip", lambda e: _score(e, _vcf(e, [_snv(e, "chr1", 100), _snv(e, "chr1", 120, ref="ACGTACGTAC"[::-1][:3])])), "ref_mismatch"),
    Case("vcf_symbolic_allele", "skip", lambda e: _score(e, _vcf(e, [_snv(e, "chr1", 100), "chr1\t150\t.\tA\t<DEL>\t.\t.\t."])), "symbolic_allele"),
    Case("vcf_past_contig_end", "skip", lambda e: _score(e, _vcf(e, [_snv(e, "chr1", 100), "chr2\t5000\t.\tA\tC\t.\t.\t."])), "out_of_bounds"),
    Case("vcf_lowercase_multiallelic", "accept", lambda e: _score(e, _vcf(e, [_snv(e, "chr1", 100).replace("\t.\t.\t.", "").lower().replace("chr1", "chr1") + "\t.\t.\t.", f"chr1\t200\t.\t{_base(e, 'chr1', 200)}\tA,C,G,T\t.\t.\t."]))),
    # ------------------------------------------------------------------ run directories
    Case("run_missing", "error", lambda e: e.predict(e.file("x.fa", _fasta(GOOD_SEQS)), run=e.tmp / "norun"), "not found", "norun"),
    Case("run_without_config", "error", lambda e: (e.copy_run() / "config.json").unlink() or e.predict(e.file("x.fa", _fasta(GOOD_SEQS)), run=e.tmp / "run"), "not found", "config.json"),
    Case("run_config_not_json", "error", lambda e: (e.copy_run() / "config.json").write_text("{oops") and e.predict(e.file("x.fa", _fasta(GOOD_SEQS)), run=e.tmp / "run"), "JSON", "config.json"),
    Case("run_newer_format", "error", lambda e: _run_with_config(e, lambda c: c.update(format_version=99)), "format 99", "config.json"),
    Case("run_unknown_model", "error", lambda e: _run_with_config(e, lambda c: c["model"].update(name="nosuchmodel")), "nosuchmodel", "config.json"),
    Case("run_model_args_changed", "error", lambda e: _run_with_config(e, lambda c: c["model"]["args"].update(n_filters=9)), "do not fit", "model.safetensors"),
    Case("weights_pickle", "error", lambda e: _run_with_weights(e, pickle.dumps(_Payload(e.tmp / "PAYLOAD_RAN"))), "pickle", "model.safetensors"),
    Case("weights_random_bytes", "error", lambda e: _run_with_weights(e, np.random.default_rng(0).bytes(5000)), "", "model.safetensors"),
    Case("weights_empty", "error", lambda e: _run_with_weights(e, b""), "empty", "model.safetensors"),
    Case("weights_truncated", "error", lambda e: _run_with_weights(e, (e.run / "model.safetensors").read_bytes()[:300]), "truncated", "model.safetensors"),
    Case("weights_1tib_header", "error", lambda e: _run_with_weights(e, struct.pack("<Q", 1 << 40) + b"{}"), "header claims", "model.safetensors"),
    Case("weights_offsets_past_end", "error", lambda e: _run_with_weights(e, _safetensors_header({"w": {"dtype": "F32", "shape": [1000], "data_offsets": [0, 4000]}})), "lies at bytes 0-4000", "model.safetensors"),
    Case("weights_nan", "error", _nan_weights, "NaN", "model.safetensors"),
    # ------------------------------------------------------------------ resume
    Case("resume_truncated_state", "error", lambda e: _resume_with_state(e, b"\x08" + bytes(20)), "", "state.safetensors"),
    Case("resume_checkpoint_of_other_model", "error", _resume_with_foreign_state, "do not fit", "state.safetensors"),
    Case("resume_other_options", "error", lambda e: _resume_with(e, "--lr", "0.5"), "lr", "newrun"),
    Case("resume_other_model", "error", lambda e: _resume_with(e, "--model-arg", "n_filters=8"), "n_filters", "newrun"),
    Case("resume_without_checkpoint", "accept", lambda e: _resume_with(e, "--drop")),
    # ------------------------------------------------------------------ option files
    Case("config_duplicate_key", "error", lambda e: _config(e, "epochs: 1\nepochs: 2\n"), "twice", "options.yaml"),
    Case("config_type_error", "error", lambda e: _config(e, "batch_size: 64x\n"), "batch_size", "options.yaml"),
    Case("config_range_error", "error", lambda e: _config(e, "lr: -1\n"), "lr", "options.yaml"),
    Case("config_unknown_section", "error", lambda e: _config(e, "optim:\n  lr: 1\n"), "optim", "options.yaml"),
    Case("config_nested_train", "error", lambda e: _config(e, "train:\n  epochs: 1\n"), "section", "options.yaml"),
    Case("config_syntax_error", "error", lambda e: _config(e, "epochs: [1\n"), "YAML", "options.yaml"),
    Case("config_python_tag", "error", lambda e: _config(e, "epochs: !!python/object/apply:os.system ['touch PAYLOAD_RAN']\n"), "not allowed", "options.yaml"),
    Case("config_not_a_mapping", "error", lambda e: _config(e, "- 1\n- 2\n"), "mapping", "options.yaml"),
    Case("cli_value_out_of_range", "error", lambda e: e.train(e.file("t.tsv", _table(64)), "--weight-decay", "-1"), "--weight-decay", "weight_decay"),
    Case("train_mixed_lengths", "warn", lambda e: e.train(e.file("t.tsv", _table(64).replace(_sequences(64)[0][0], _sequences(64)[0][0][:20], 1))), "shorter"),
    Case("evaluate_duplicates", "warn", lambda e: ["evaluate", str(e.run), "--data", str(e.file("x.tsv", _table(64).replace("\ns1\t", "\ns0\t"))), "-o", str(e.tmp / "out" / "ev")], "duplicate"),
    Case("config_sections", "accept", lambda e: _config(e, "training:\n  epochs: 1\nmodel:\n  name: deepbind\n  args: {n_filters: 4, hidden: 4}\n")),
    # ------------------------------------------------------------------ images
    Case("npz_truncated", "error", lambda e: e.train(e.file("i.npz", _npz(e, "good.npz", X=np.zeros((8, 8, 8)), y=np.arange(8) % 2).read_bytes()[:100]), "--model", "lenet5"), "", "i.npz"),
    Case("npz_pickle", "error", lambda e: e.train(e.file("i.npz", pickle.dumps(_Payload(e.tmp / "PAYLOAD_RAN"))), "--model", "lenet5"), "", "i.npz"),
    Case("npz_object_array", "error", lambda e: e.train(_npz(e, "i.npz", X=np.array([{}] * 8, dtype=object), y=np.arange(8)), "--model", "lenet5"), "", "i.npz"),
    Case("npz_wrong_keys", "error", lambda e: e.train(_npz(e, "i.npz", a=np.zeros(3)), "--model", "lenet5"), "keys", "i.npz"),
    Case("npz_nan_images", "error", lambda e: e.train(_npz(e, "i.npz", X=np.full((8, 8, 8), np.nan), y=np.arange(8) % 2), "--model", "lenet5"), "NaN", "i.npz"),
]  # fmt: skip


def _stderr_lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip()]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_corpus_case(case: Case, env: Env, capsys, monkeypatch):
    monkeypatch.chdir(env.tmp)
    argv = case.build(env)
    capsys.readouterr()
    code = cli.main(argv)  # raising here is a traceback: the test fails
    err = capsys.readouterr().err
    lines = _stderr_lines(err)
    assert "Traceback" not in err and "internal error" not in err, err
    assert not (env.tmp / "PAYLOAD_RAN").exists(), "a payload ran"
    verb = argv[0]
    if case.expected == "error":
        assert code == 1, (code, err)
        errors = [ln for ln in lines if ln.startswith(f"seqcnn {verb}: error: ")]
        assert len(errors) == 1 and lines[-1] == errors[0], err
        named = case.bad_file or Path(argv[argv.index("--data") + 1]).name
        if verb == "score-variants":
            assert not env.out.exists(), "partial output"
        assert named in errors[0], err
        assert case.phrase in errors[0], err
        if verb == "predict":
            assert not env.out.exists(), "partial output"
        return
    assert code == 0, err
    if case.expected == "skip":
        import pandas as pd

        frame = pd.read_csv(env.out, sep="\t", comment="#")
        assert "status" in frame.columns
        skipped = frame["status"] != "ok"
        assert skipped.any() and (~skipped).any()
        assert any("skipped" in ln and str(int(skipped.sum())) in ln for ln in lines), err
        assert any(case.phrase in s for s in frame["status"][skipped]) or case.phrase in err
        if verb == "predict":
            scores = frame.loc[skipped].drop(columns=["id", "status", "chrom", "start", "end"])
            assert scores.isna().all().all()  # skipped: empty score cells
    elif case.expected == "warn":
        messages = [ln.replace(str(env.tmp), "TMP") for ln in lines]
        warned = [ln for ln in messages if case.phrase.lower() in ln.lower()]
        assert len(warned) == 1, err


def test_corpus_counts():
    """The corpus covers every reader and every class, as docs/inputs.md says."""
    from collections import Counter

    counts = Counter(c.expected for c in CASES)
    assert set(counts) == {"error", "skip", "warn", "accept"}
    assert len({c.name for c in CASES}) == len(CASES)
    readers = {c.name.split("_")[0] for c in CASES}
    assert {"fasta", "table", "bed", "vcf", "npz", "config", "run", "weights", "resume"} <= readers
    docs = Path(__file__).resolve().parents[1] / "docs" / "inputs.md"
    line = (
        f"{len(CASES)} cases ({counts['error']} errors, {counts['skip']} skipped-and-counted, "
        f"{counts['warn']} warnings, {counts['accept']} accepted)"
    )
    assert line in " ".join(docs.read_text().split()), line


def test_unexpected_failure_is_one_line_and_debug_shows_it(monkeypatch, capsys):
    """A bug (not a bad input) still ends in one line, exit 1; --debug re-raises it."""

    def broken(args):
        raise RuntimeError("something\nbroke")

    monkeypatch.setitem(cli.COMMANDS, "list-models", broken)
    assert cli.main(["list-models"]) == 1
    lines = _stderr_lines(capsys.readouterr().err)
    assert lines == [
        "seqcnn list-models: error: internal error (RuntimeError: something broke); rerun "
        "with --debug for the traceback and please report it"
    ]
    with pytest.raises(RuntimeError):
        cli.main(["list-models", "--debug"])


def test_oddities_are_counted_across_blocks():
    """The counts behind the warnings: duplicates across blocks, IUPAC, all N, short."""
    from seqcnn.inputs import RecordOddities, class_imbalance_message

    odd = RecordOddities(input_length=6)
    odd.add(["a", "b", "c"], ["ACGTAC", "ACGRYA", "nnnnnn"])
    odd.add(["d", "a", "d"], ["ACG", "ACGTAC", "NNRNNN"])
    assert odd.total == 6
    assert odd.counts == {"iupac": 2, "all_n": 2, "short": 1, "duplicate": 2}
    assert odd.first == {"iupac": "b", "all_n": "c", "short": "d", "duplicate": "a"}
    assert len(odd.messages("x.fa")) == 4
    assert RecordOddities(ambiguous="iupac").messages("x") == []
    y = np.zeros((200, 2), np.float32)
    y[:100, 0] = 1
    y[0, 1] = 1
    message = class_imbalance_message(y, ["balanced", "rare"], "t.tsv")
    assert "target 'rare' has 1 positives of 200 (0.5%)" in message
    assert class_imbalance_message(y[:, :1], ["balanced"], "t.tsv") is None
