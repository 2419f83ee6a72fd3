"""seqcnn report: self-contained HTML (every picture embedded, nothing external), escaping,
the conventional places of motifs / variants / maps, variant summaries with known answers."""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqcnn.cli import main
from seqcnn.exceptions import InputError
from seqcnn.report import find_report_inputs, render_report, variant_summary
from seqcnn.runs import report_run


def _png(path: Path, color: str) -> Path:
    from seqcnn.plot.common import new_figure, save_figure

    fig, (ax,) = new_figure(1.0, 1.0)
    ax.plot([0, 1], [0, 1], color=color)
    return save_figure(fig, path)


@pytest.fixture()
def run(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    config = {
        "seqcnn_version": "0.1.0",
        "model": {"name": "deepbind", "args": {"n_filters": 8, "pooling": "max"}},
        "task": "binary",
        "targets": ["<b>&bound"],
        "input": {"kind": "sequence", "length": 101},
        "training": {"epochs": 3, "seed": 0},
        "data": {"train": "x<y>.tsv"},
        "best_epoch": 2,
    }
    (run / "config.json").write_text(json.dumps(config))
    metrics = {
        "train": {"loss": 0.5, "n": 100, "auroc": 0.9},
        "test": {
            "loss": 0.6,
            "n": 50,
            "auroc": 0.8,
            "auprc": 0.75,
            "auroc/t1": 0.6,
            "file": "t.tsv",
        },
        "best_epoch": 2,
        "seconds": 1.0,
    }
    (run / "metrics.json").write_text(json.dumps(metrics))
    (run / "history.csv").write_text("epoch,train_loss,seconds\n1,0.7,1.5\n2,0.6,1.5\n3,0.5,1.0\n")
    _png(run / "training_curve.png", "red")
    _png(run / "roc.png", "blue")
    (run / "evaluate-other").mkdir()
    (run / "evaluate-other" / "metrics.json").write_text(
        json.dumps({"file": "o.tsv", "n": 20, "auroc": 0.7, "auprc": 0.65})
    )
    _png(run / "evaluate-other" / "pr.png", "green")
    return run


class _Refs(HTMLParser):
    """Every URL-bearing attribute of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href", "data", "srcset", "poster", "action"):
                self.refs.append((tag, name, value or ""))


class _Tables(HTMLParser):
    """The cell texts of every table of a page: a list of tables, each a list of rows."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _embedded(page: str) -> list[bytes]:
    return [
        base64.b64decode(m) for m in re.findall(r'src="data:image/[a-z+]+;base64,([^"]+)"', page)
    ]


def test_page_embeds_every_picture_and_links_nothing_outside(run: Path) -> None:
    page = render_report(find_report_inputs(run))
    pictures = [run / "training_curve.png", run / "roc.png", run / "evaluate-other" / "pr.png"]
    assert sorted(_embedded(page)) == sorted(p.read_bytes() for p in pictures)
    parser = _Refs()
    parser.feed(page)
    for tag, name, value in parser.refs:
        # images are data: URIs; links only jump inside the page
        assert value.startswith("data:") or value.startswith("#"), (tag, name, value)
    assert "<link" not in page and "<script" not in page.lower()


def test_text_from_files_is_escaped(run: Path) -> None:
    page = render_report(find_report_inputs(run))
    assert "<b>&bound" not in page and "&lt;b&gt;&amp;bound" in page
    assert "x&lt;y&gt;.tsv" in page


def test_metrics_table_has_every_split_and_evaluation(run: Path) -> None:
    page = render_report(find_report_inputs(run))
    parser = _Tables()
    parser.feed(page)
    header, *rows = parser.tables[0]
    metrics = pd.DataFrame(rows, columns=header).set_index("split")
    assert header == ["split", "n", "auroc", "auprc", "loss", "data"]
    assert list(metrics.index) == ["train", "test", "evaluate-other"]
    assert float(metrics.loc["test", "auprc"]) == pytest.approx(0.75)
    assert float(metrics.loc["evaluate-other", "auroc"]) == pytest.approx(0.7)
    assert metrics.loc["train", "auprc"] == ""  # missing, not invented
    assert metrics.loc["evaluate-other", "data"] == "o.tsv"
    # per-target values go to their own table, so the main one stays narrow
    assert parser.tables[1] == [
        ["split", "auroc/t1"],
        ["train", ""],
        ["test", "0.6"],
        ["evaluate-other", ""],
    ]
    assert "3 epochs, 4 s of training" in page


def _variants(path: Path) -> Path:
    frame = pd.DataFrame(
        {
            "chrom": ["chr1"] * 5,
            "pos": [10, 20, 30, 40, 50],
            "id": ["a", "b", "c", "d", "e"],
            "ref": ["A", "C", "G", "T", "A"],
            "alt": ["G", "T", "A", "C", "<DEL>"],
            "x_ref": [0.0, 0.0, 0.0, 0.0, np.nan],
            "x_alt": [1.0, -4.0, 0.5, 2.0, np.nan],
            "x_delta": [1.0, -4.0, 0.5, 2.0, np.nan],
            "y_ref": [0.0, 0.0, 0.0, 0.0, np.nan],
            "y_alt": [3.0, 0.1, -0.2, 0.0, np.nan],
            "y_delta": [3.0, 0.1, -0.2, 0.0, np.nan],
            "status": ["ok", "ok", "ok", "ref_mismatch", "symbolic_allele"],
            "flags": [".", ".", "padded", ".", "."],
        }
    )
    frame.to_csv(path, sep="\t", index=False)
    return path


def test_variant_summary_ranks_scored_alleles_by_absolute_delta(tmp_path: Path) -> None:
    frame = pd.read_csv(_variants(tmp_path / "v.tsv"), sep="\t")
    s = variant_summary(frame, top=2)
    assert s["n"] == 5 and s["targets"] == ["x", "y"]
    assert s["status"] == {"ok": 3, "ref_mismatch": 1, "symbolic_allele": 1}
    # d (|2.0|) is not scored, so it never ranks
    assert s["strongest"]["x"]["id"].tolist() == ["b", "a"]
    assert s["strongest"]["y"]["id"].tolist() == ["a", "c"]
    assert "y_delta" not in s["strongest"]["x"].columns


def test_variant_summary_refuses_other_tables() -> None:
    with pytest.raises(InputError, match="_delta"):
        variant_summary(
            pd.DataFrame({"chrom": ["1"], "pos": [1], "ref": ["A"], "alt": ["C"], "status": ["ok"]})
        )


def test_conventional_places_are_found(run: Path) -> None:
    (run / "motifs" / "logos").mkdir(parents=True)
    pd.DataFrame(
        {
            "filter": ["f0", "f1"],
            "target": ["MA0139.2", "MA0001.1"],
            "target_name": ["CTCF", "<i>x"],
            "q_value": [1e-6, 0.3],
            "significant": [False, True],
        }
    ).to_csv(run / "motifs" / "matches.tsv", sep="\t", index=False)
    _png(run / "motifs" / "logos" / "filter0.png", "black")
    _variants(run / "variants.tsv")
    (run / "mutation_maps").mkdir()
    _png(run / "mutation_maps" / "rs1.png", "orange")
    inputs = find_report_inputs(run)
    assert inputs.motifs == run / "motifs"
    assert inputs.variants == [run / "variants.tsv"]
    assert inputs.maps == [run / "mutation_maps" / "rs1.png"]
    page = render_report(inputs)
    for anchor in ('id="motifs"', 'id="variants"', 'id="maps"'):
        assert anchor in page
    assert "1 of 2 rows are significant" in page
    assert "&lt;i&gt;x" in page
    # the file's order (by influence) is kept
    assert page.index("MA0139.2") < page.index("&lt;i&gt;x")
    assert len(_embedded(page)) == 5


def test_given_paths_and_globs(run: Path, tmp_path: Path) -> None:
    maps = tmp_path / "maps"
    maps.mkdir()
    for name in ("m1.png", "m2.png", "notes.txt"):
        (_png(maps / name, "gray") if name.endswith(".png") else (maps / name).write_text("x"))
    inputs = find_report_inputs(run, maps=[str(maps / "m*.png")])
    assert [p.name for p in inputs.maps] == ["m1.png", "m2.png"]
    assert [p.name for p in find_report_inputs(run, maps=[maps]).maps] == ["m1.png", "m2.png"]
    with pytest.raises(InputError, match="nothing matches"):
        find_report_inputs(run, maps=[str(maps / "zz*.png")])
    with pytest.raises(InputError, match="not a folder"):
        find_report_inputs(run, motifs=tmp_path / "absent")
    with pytest.raises(InputError, match="not a run directory"):
        find_report_inputs(tmp_path)


def test_bad_variant_table_names_the_file(run: Path, tmp_path: Path) -> None:
    bad = tmp_path / "scores.tsv"
    bad.write_text("id\tscore\nx\t1\n")
    with pytest.raises(InputError, match="scores.tsv"):
        report_run(run, tmp_path / "r.html", variants=[bad])
    assert not (tmp_path / "r.html").exists()


def test_cli_writes_the_page(run: Path, tmp_path: Path, capsys) -> None:
    assert main(["report", str(run)]) == 0
    assert (run / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert "report.html" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "nope")]) == 1
    assert "not a run directory" in capsys.readouterr().err


def test_annotated_vcf_reads_as_the_tsv(tmp_path: Path) -> None:
    from seqcnn.report import read_scores

    info = '##INFO=<ID={},Number=A,Type={},Description="{}">\n'
    vcf = tmp_path / "scored.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n"
        + info.format("SQ_y_REF", "Float", "seqcnn y: REF window score (logit)")
        + info.format("SQ_y_ALT", "Float", "seqcnn y: ALT window score (logit)")
        + info.format("SQ_y_DELTA", "Float", "seqcnn y: ALT - REF (logit)")
        + info.format("SQ_STATUS", "String", "seqcnn: ok or why the ALT was not scored")
        + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        + "chr1\t5\trs1\tA\tC,G\t.\t.\tX=1;SQ_y_REF=0.5,0.5;SQ_y_ALT=1,-2;"
        + "SQ_y_DELTA=0.5,-2.5;SQ_STATUS=ok,ok\n"
        + "chr1\t9\trs2\tN\t<DEL>\t.\t.\tSQ_y_REF=.;SQ_y_DELTA=.;SQ_STATUS=symbolic_allele\n"
    )
    frame = read_scores(vcf)
    assert frame[["id", "alt", "status"]].values.tolist() == [
        ["rs1", "C", "ok"],
        ["rs1", "G", "ok"],
        ["rs2", "<DEL>", "symbolic_allele"],
    ]
    assert frame["y_delta"].tolist()[:2] == [0.5, -2.5] and np.isnan(frame["y_delta"][2])
    assert variant_summary(frame)["strongest"]["y"]["alt"].tolist() == ["G", "C"]
    plain = tmp_path / "plain.vcf"
    plain.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    with pytest.raises(InputError, match="no seqcnn INFO"):
        read_scores(plain)


def test_summary_links_reports_and_tabulates_facts(run: Path, tmp_path: Path) -> None:
    from seqcnn.runs import summary_run

    _variants(run / "variants.tsv")
    reports = tmp_path / "reports"
    reports.mkdir()
    for name in ("one", "two"):
        report_run(run, reports / f"{name}.html", title=name, facts=reports / f"{name}.json")
    facts = json.loads((reports / "one.json").read_text())
    assert facts["report"] == "one.html" and facts["metrics"]["test"]["auroc"] == 0.8
    out = tmp_path / "summary" / "index.html"
    out.parent.mkdir()
    frame = summary_run([reports / "one.json", reports / "two.json"], out, out.with_suffix(".tsv"))
    assert frame["experiment"].tolist() == ["one", "two"]
    # the headline is the last evaluation folder, else the test split
    assert frame["evaluated_on"].tolist() == ["evaluate-other"] * 2
    assert frame["auroc"].tolist() == [0.7, 0.7]
    assert frame["strongest_variant"][0].startswith("b chr1:20 C>T delta -4")
    page = out.read_text()
    assert 'href="../reports/one.html"' in page and 'href="../reports/two.html"' in page
    assert pd.read_csv(out.with_suffix(".tsv"), sep="\t")["experiment"].tolist() == ["one", "two"]
