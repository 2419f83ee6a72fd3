"""One self-contained HTML page per run: what ``seqcnn report`` writes.

The page holds the run's configuration, a metrics table (every split of ``metrics.json`` and
every ``evaluate-*`` folder), the training curve, the ROC / precision-recall (or confusion)
figures, and, when they are there, the motif overview, the variant summary and mutation maps.
Every picture is embedded as a base64 ``data:`` URI and the page has no link, script or style
sheet outside itself, so it opens offline, can be mailed, and stays valid when the run moves.
All text taken from files is escaped (:func:`html.escape`).

Where the optional parts come from (:func:`find_report_inputs`): the given paths, else these
conventional places inside the run directory:

========================  ========================================================================
part                      found in
========================  ========================================================================
motifs                    ``RUN/motifs/`` (``seqcnn motifs RUN -o RUN/motifs``): ``matches.tsv``
                          and the logos (``*.png``, ``*.svg``) in it or in its ``logos/`` folder
variants                  ``RUN/variants.tsv`` (``.tsv.gz``, ``.vcf``, ``.vcf.gz``) and
                          ``RUN/variants/*.tsv`` (...): ``seqcnn score-variants`` outputs
mutation maps             ``RUN/mutation_maps/`` or ``RUN/mutation-maps/``: ``*.png``, ``*.svg``
========================  ========================================================================

Examples
--------
>>> inputs = find_report_inputs("RUN")  # doctest: +SKIP
>>> html_text = render_report(inputs)  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import dataclasses
import glob
import html
import json
import math
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqcnn import __version__
from seqcnn.exceptions import InputError

__all__ = [
    "ReportInputs",
    "find_report_inputs",
    "render_report",
    "report_facts",
    "render_summary",
    "summary_table",
    "variant_summary",
    "read_scores",
    "read_annotated_vcf",
    "IMAGE_TYPES",
]

#: Picture suffixes the page embeds, with their MIME types.
IMAGE_TYPES = {
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
}
#: The run's own figures, in page order, with their captions.
RUN_FIGURES = (
    ("training_curve", "Training curve"),
    ("roc", "ROC curve"),
    ("pr", "Precision-recall curve"),
    ("confusion", "Confusion matrix"),
)
#: Metric columns in the order the table shows them (others follow, sorted).
METRIC_ORDER = (
    "n",
    "auroc",
    "auprc",
    "pearson",
    "spearman",
    "mse",
    "accuracy",
    "balanced_accuracy",
    "loss",
)
#: Variant score files the report reads (TSV or annotated VCF of ``seqcnn score-variants``).
VARIANT_SUFFIXES = (".tsv", ".tsv.gz", ".vcf", ".vcf.gz")
#: Columns of ``matches.tsv`` the motif table shows (all of them if fewer than 3 are there).
MATCH_COLUMNS = (
    "filter",
    "influence",
    "influence_rank",
    "sites",
    "rank",
    "target",
    "target_name",
    "q_value",
    "strand",
    "significant",
)
MAX_LOGOS = 12
MAX_MAPS = 24


@dataclasses.dataclass
class ReportInputs:
    """The files one report is made from.

    Attributes
    ----------
    run_dir : pathlib.Path
        The run directory (``config.json`` at least).
    motifs : pathlib.Path or None
        A ``seqcnn motifs`` output folder.
    variants : list of pathlib.Path
        Variant score tables (TSV, optionally gzipped).
    maps : list of pathlib.Path
        Mutation-map pictures.
    evaluations : list of pathlib.Path
        ``seqcnn evaluate`` output folders (``metrics.json``, ROC/PR) besides ``RUN/evaluate-*``.
    """

    run_dir: Path
    motifs: Path | None = None
    variants: list[Path] = dataclasses.field(default_factory=list)
    maps: list[Path] = dataclasses.field(default_factory=list)
    evaluations: list[Path] = dataclasses.field(default_factory=list)

    def evaluation_dirs(self) -> list[tuple[str, Path]]:
        """``(label, folder)`` of every evaluation: ``RUN/evaluate-*``, then the given ones."""
        found = [(f.name, f) for f in sorted(self.run_dir.glob("evaluate-*")) if f.is_dir()]
        found += [(f"evaluate-{f.name}", f) for f in self.evaluations]
        return found


def _pictures(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_TYPES and p.is_file())


def _expand(patterns: Iterable[str | os.PathLike], what: str) -> list[Path]:
    """Files named by paths, folders (their pictures) or glob patterns; a pattern that names
    nothing is an error, so a typo never gives a report that silently lacks a section."""
    found: list[Path] = []
    for pattern in patterns:
        path = Path(pattern)
        if path.is_dir():
            hits = _pictures(path)
        elif path.is_file():
            hits = [path]
        else:
            hits = [Path(p) for p in sorted(glob.glob(str(pattern))) if Path(p).is_file()]
        if not hits:
            raise InputError(f"{what}: nothing matches {str(pattern)!r}", path=pattern)
        found.extend(hits)
    return list(dict.fromkeys(found))


def find_report_inputs(
    run_dir: str | os.PathLike,
    motifs: str | os.PathLike | None = None,
    variants: Sequence[str | os.PathLike] | None = None,
    maps: Sequence[str | os.PathLike] | None = None,
    evaluations: Sequence[str | os.PathLike] | None = None,
) -> ReportInputs:
    """The files of a report: the given ones, else those at the conventional places in the run.

    Parameters
    ----------
    run_dir : str or os.PathLike
        A run directory (``seqcnn train``).
    motifs : str or os.PathLike, optional
        A ``seqcnn motifs`` output folder (default ``RUN/motifs`` when it exists).
    variants : list of str, optional
        Variant score TSVs or glob patterns (default ``RUN/variants.tsv[.gz]``,
        ``RUN/variants/*.tsv[.gz]``).
    maps : list of str, optional
        Mutation-map pictures, folders or glob patterns (default the pictures in
        ``RUN/mutation_maps/`` or ``RUN/mutation-maps/``).
    evaluations : list of str, optional
        ``seqcnn evaluate --out`` folders kept outside the run (``RUN/evaluate-*`` are always
        read).

    Returns
    -------
    ReportInputs

    Raises
    ------
    seqcnn.exceptions.InputError
        If ``run_dir`` has no ``config.json``, a given folder does not exist or a given
        pattern matches nothing.
    """
    run = Path(run_dir)
    if not (run / "config.json").is_file():
        raise InputError(
            "not a run directory (no config.json); give the folder `seqcnn train --out` wrote",
            path=run,
        )
    if motifs is not None:
        motif_dir = Path(motifs)
        if not motif_dir.is_dir():
            raise InputError("--motifs: not a folder (give `seqcnn motifs -o DIR`)", path=motifs)
    else:
        motif_dir = run / "motifs" if (run / "motifs").is_dir() else None
    if variants:
        tables = _expand(variants, "--variants")
    else:
        tables = [run / f"variants{suffix}" for suffix in VARIANT_SUFFIXES]
        tables = [p for p in tables if p.is_file()]
        if (run / "variants").is_dir():
            tables += sorted(
                p for p in (run / "variants").iterdir() if p.name.endswith(VARIANT_SUFFIXES)
            )
    if maps:
        pictures = _expand(maps, "--maps")
    else:
        pictures = []
        for name in ("mutation_maps", "mutation-maps"):
            if (run / name).is_dir():
                pictures += _pictures(run / name)
    folders = [Path(f) for f in evaluations or []]
    for folder in folders:
        if not (folder / "metrics.json").is_file():
            raise InputError("--evaluations: no metrics.json in this folder", path=folder)
    return ReportInputs(run, motif_dir, tables, pictures, folders)


# ---------------------------------------------------------------------------- HTML pieces
STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
max-width:1100px;padding:1em 2em;color:#222;line-height:1.4}
h1{margin-bottom:0.1em}h2{border-bottom:1px solid #ccc;padding-bottom:0.2em;margin-top:1.6em}
.sub{color:#555;margin-top:0}
table{border-collapse:collapse;margin:0.5em 0;font-size:0.9em}
th,td{border:1px solid #ddd;padding:0.25em 0.6em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{display:inline-block;margin:0.5em 1em 0.5em 0;vertical-align:top}
figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:0.85em;color:#555}
.grid figure{max-width:330px}.pair figure{max-width:480px}.wide figure{max-width:100%}
.cols{display:flex;flex-wrap:wrap;gap:0 2em;align-items:flex-start}
nav a{margin-right:1em}.scroll{overflow-x:auto}code,pre{font-size:0.85em;background:#f7f7f7}
pre{padding:0.6em;overflow-x:auto}.note{color:#666;font-size:0.9em}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.3g}"
        return f"{value:.4f}".rstrip("0").rstrip(".") if abs(value) < 1 else f"{value:.4g}"
    return str(value)


def _cell(value: Any) -> str:
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    cls = ' class="num"' if numeric else ""
    return f"<td{cls}>{_e(_fmt(value))}</td>"


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _frame_table(frame: pd.DataFrame) -> str:
    rows = [[_plain(v) for v in row] for row in frame.itertuples(index=False)]
    return _table([str(c) for c in frame.columns], rows)


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers, pandas' missing values as None."""
    if value is pd.NA or value is pd.NaT:
        return None
    return value.item() if isinstance(value, np.generic) else value


def _image(path: Path, caption: str | None = None) -> str:
    mime = IMAGE_TYPES.get(path.suffix.lower())
    if mime is None:
        return ""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    text = caption if caption is not None else path.name
    return (
        f'<figure><img src="data:{mime};base64,{data}" alt="{_e(text)}">'
        f"<figcaption>{_e(text)}</figcaption></figure>"
    )


def _find_figure(folder: Path, stem: str) -> Path | None:
    for suffix in IMAGE_TYPES:
        path = folder / f"{stem}{suffix}"
        if path.is_file():
            return path
    return None


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise InputError(f"not valid JSON: {err}", path=path) from None
    if not isinstance(data, dict):
        raise InputError("expected a JSON object", path=path)
    return data


def _metric_rows(inputs: ReportInputs) -> list[tuple[str, dict]]:
    """``(label, metrics)`` for each split of ``metrics.json`` and each evaluation folder."""
    rows: list[tuple[str, dict]] = []
    run = inputs.run_dir
    if (run / "metrics.json").is_file():
        metrics = _read_json(run / "metrics.json")
        for split, values in metrics.items():
            if isinstance(values, dict):
                rows.append((split, values))
    for label, folder in inputs.evaluation_dirs():
        if (folder / "metrics.json").is_file():
            rows.append((label, _read_json(folder / "metrics.json")))
    return rows


def _metrics_section(inputs: ReportInputs) -> str:
    rows = _metric_rows(inputs)
    if not rows:
        return "<p class='note'>No metrics.json: the run has not finished training.</p>"
    keys: list[str] = []
    for _, values in rows:
        keys += [k for k, v in values.items() if isinstance(v, (int, float)) and k not in keys]
    overall = [k for k in keys if "/" not in k]
    ordered = [k for k in METRIC_ORDER if k in overall]
    ordered += sorted(k for k in overall if k not in METRIC_ORDER)
    parts = [
        _table(
            ["split", *ordered, "data"],
            (
                [label, *(values.get(k) for k in ordered), values.get("file", "")]
                for label, values in rows
            ),
        )
    ]
    per_target = [k for k in keys if "/" in k]  # <metric>/<target>
    if per_target:
        parts.append(
            f"<details><summary>Per-target metrics ({len(per_target)})</summary>"
            + _table(
                ["split", *per_target],
                ([label, *(values.get(k) for k in per_target)] for label, values in rows),
            )
            + "</details>"
        )
    return "<div class='scroll'>" + "".join(parts) + "</div>"


def _config_section(config: dict) -> str:
    parts = ["<div class='cols'>"]
    model = config.get("model", {})
    args = model.get("args", {})
    if args:
        parts.append("<div><h3>Model: " + _e(model.get("name", "?")) + "</h3>")
        rows = ([k, json.dumps(v)] for k, v in args.items())
        parts.append(_table(["argument", "value"], rows) + "</div>")
    for key, title in (("training", "Training options"), ("data", "Data options")):
        values = config.get(key)
        if isinstance(values, dict) and values:
            rows = ([k, v if isinstance(v, str) else json.dumps(v)] for k, v in values.items())
            parts.append(f"<div><h3>{title}</h3>" + _table(["option", "value"], rows) + "</div>")
    parts.append("</div>")
    parts.append(
        "<details><summary>config.json</summary><pre>"
        + _e(json.dumps(config, indent=2))
        + "</pre></details>"
    )
    return "".join(parts)


def _figures_section(inputs: ReportInputs) -> str:
    run = inputs.run_dir
    parts = []
    curve = _find_figure(run, RUN_FIGURES[0][0])
    if curve is not None:
        parts.append("<div class='wide'>" + _image(curve, RUN_FIGURES[0][1]) + "</div>")
    for folder, where in [(run, ""), *((f, f", {n}") for n, f in inputs.evaluation_dirs())]:
        figures = []
        for stem, caption in RUN_FIGURES[1:]:
            path = _find_figure(folder, stem)
            if path is not None:
                figures.append(_image(path, caption + where))
        if figures:
            parts.append("<div class='pair'>" + "".join(figures) + "</div>")
    if not parts:
        return "<p class='note'>No figures in the run directory.</p>"
    return "".join(parts)


def _read_tsv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, sep="\t", comment=None, low_memory=False)
    except (OSError, ValueError, pd.errors.ParserError) as err:
        raise InputError(f"cannot read as a tab-separated table: {err}", path=path) from None


def _motif_section(folder: Path, top: int) -> str:
    parts = [f"<p class='note'>From <code>{_e(folder)}</code>.</p>"]
    order: list[str] = []
    pictures = _pictures(folder)
    overview = [p for p in pictures if p.stem == "overview"]
    if overview:
        parts.append("<div class='wide'>" + _image(overview[0], "Overview") + "</div>")
    matches = folder / "matches.tsv"
    if matches.is_file():
        frame = _read_tsv(matches)
        n = len(frame)
        if "significant" in frame.columns:
            significant = _truthy(frame["significant"])
            parts.append(f"<p>{int(significant.sum())} of {n} rows are significant matches.</p>")
        if "filter" in frame.columns:
            order = list(dict.fromkeys(frame["filter"].astype(str)))
        best = frame
        what = "rows"
        if "rank" in frame.columns:
            best = frame[pd.to_numeric(frame["rank"], errors="coerce") == 1]
            what = "best matches"
        parts.append(f"<h3>Matches (first {min(top, len(best))} {what} of matches.tsv)</h3>")
        shown = [c for c in MATCH_COLUMNS if c in frame.columns]
        parts.append(_frame_table(best.head(top)[shown if len(shown) >= 3 else frame.columns]))
    logos = [p for p in pictures if p.stem != "overview"]
    if (folder / "logos").is_dir():
        logos += _pictures(folder / "logos")
    if logos:
        rank = {name: i for i, name in enumerate(order)}
        logos.sort(key=lambda p: (rank.get(p.stem, len(rank)), p.name))
        shown = logos[:MAX_LOGOS]
        more = f" (first {len(shown)} of {len(logos)})" if len(logos) > len(shown) else ""
        by = ", by influence" if order else ""
        parts.append(f"<h3>Logos{more}{by}</h3><div class='grid'>")
        parts.extend(_image(p, p.stem) for p in shown)
        parts.append("</div>")
    if len(parts) == 1:
        parts.append("<p class='note'>No matches.tsv and no logos in this folder.</p>")
    return "".join(parts)


def _truthy(column: pd.Series) -> pd.Series:
    return column.astype(str).str.lower().isin(["true", "1", "yes"])


def variant_summary(frame: pd.DataFrame, top: int = 10) -> dict[str, Any]:
    """Counts by status and the strongest effects of a variant score table.

    Parameters
    ----------
    frame : pandas.DataFrame
        The columns of ``seqcnn score-variants`` (TSV): ``chrom pos id ref alt``,
        ``<t>_ref <t>_alt <t>_delta`` for each target ``t`` (``<t>_z <t>_pvalue`` optional)
        and ``status``.
    top : int
        Rows per target in the strongest-effects tables.

    Returns
    -------
    dict
        ``{"n": rows, "status": {status: count}, "targets": [t, ...],
        "strongest": {t: DataFrame}}``: for each target the ``top`` scored rows with the
        largest ``|<t>_delta|``, largest first.

    Examples
    --------
    >>> frame = pd.DataFrame({"chrom": ["1", "1", "1"], "pos": [5, 9, 12], "id": [".", "rs1", "."],
    ...     "ref": ["A", "C", "G"], "alt": ["T", "G", "A"], "y_ref": [0.0, 1.0, 0.0],
    ...     "y_alt": [0.5, -2.0, 0.0], "y_delta": [0.5, -3.0, float("nan")],
    ...     "status": ["ok", "ok", "ref_mismatch"]})
    >>> s = variant_summary(frame)
    >>> s["status"], s["targets"], s["strongest"]["y"]["id"].tolist()
    ({'ok': 2, 'ref_mismatch': 1}, ['y'], ['rs1', '.'])
    """
    required = ["chrom", "pos", "ref", "alt", "status"]
    missing = [c for c in required if c not in frame.columns]
    targets = [c[: -len("_delta")] for c in frame.columns if c.endswith("_delta")]
    if missing or not targets:
        what = ", ".join(missing) if missing else "any <target>_delta column"
        raise InputError(f"not a score-variants table: no {what}")
    status = frame["status"].astype(str).value_counts()
    ok = frame[frame["status"].astype(str) == "ok"]
    strongest = {}
    for t in targets:
        cols = [c for c in ("chrom", "pos", "id", "ref", "alt") if c in frame.columns]
        cols += [c for c in (f"{t}_ref", f"{t}_alt", f"{t}_delta", f"{t}_z", f"{t}_pvalue")]
        cols = [c for c in cols if c in frame.columns]
        delta = pd.to_numeric(ok[f"{t}_delta"], errors="coerce")
        order = delta.abs().sort_values(ascending=False, kind="stable").index[:top]
        strongest[t] = ok.loc[order, cols].reset_index(drop=True)
    return {
        "n": len(frame),
        "status": {str(k): int(v) for k, v in sorted(status.items(), key=lambda kv: -kv[1])},
        "targets": targets,
        "strongest": strongest,
    }


_VCF_FIELDS = (
    (re.compile(r"^seqcnn (.+): REF window score"), "ref"),
    (re.compile(r"^seqcnn (.+): ALT window score"), "alt"),
    (re.compile(r"^seqcnn (.+): ALT - REF"), "delta"),
    (re.compile(r"^seqcnn (.+): z-score of DELTA"), "z"),
    (re.compile(r"^seqcnn (.+): empirical p-value"), "pvalue"),
    (re.compile(r"^seqcnn: ok or why"), "status"),
)
_INFO = re.compile(r'^##INFO=<ID=([^,>]+),.*Description="([^"]*)"')


def read_annotated_vcf(path: str | os.PathLike) -> pd.DataFrame:
    """The score table of a VCF annotated by ``seqcnn score-variants`` (one row per ALT).

    The INFO fields are recognised by the descriptions seqcnn writes in their header lines,
    so any ``--info-prefix`` works. Columns as the TSV output: ``chrom pos id ref alt``,
    ``<t>_ref <t>_alt <t>_delta`` (``<t>_z <t>_pvalue``) and ``status``.
    """
    import gzip

    path = Path(path)
    fields: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    with gzip.open(path, "rt") if _is_gzip(path) else open(path) as fh:
        for number, line in enumerate(fh, 1):
            if line.startswith("##"):
                m = _INFO.match(line)
                if m:
                    for pattern, kind in _VCF_FIELDS:
                        hit = pattern.match(m.group(2))
                        if hit:
                            fields[m.group(1)] = (
                                "status" if kind == "status" else (f"{hit.group(1)}_{kind}")
                            )
                continue
            if line.startswith("#") or not line.strip():
                continue
            cols = line.rstrip("\n").split("\t")
            if len(cols) < 8:
                raise InputError(
                    "expected 8 or more tab-separated VCF columns", path=path, line=number
                )
            info = dict(
                item.partition("=")[::2] for item in cols[7].split(";") if item and item != "."
            )
            alts = cols[4].split(",")
            for k, alt in enumerate(alts):
                row: dict[str, Any] = {
                    "chrom": cols[0],
                    "pos": int(cols[1]),
                    "id": cols[2],
                    "ref": cols[3],
                    "alt": alt,
                }
                for key, column in fields.items():
                    values = info.get(key, "").split(",")
                    value = values[k] if k < len(values) else "."
                    if column == "status":
                        row[column] = value
                    else:
                        row[column] = float(value) if value not in ("", ".") else float("nan")
                rows.append(row)
    if "status" not in fields.values():
        raise InputError("no seqcnn INFO fields: not written by `seqcnn score-variants`", path=path)
    return pd.DataFrame(rows)


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def read_scores(path: str | os.PathLike) -> pd.DataFrame:
    """A variant score table: the TSV of ``seqcnn score-variants`` or its annotated VCF."""
    path = Path(path)
    name = path.name.lower()
    if name.endswith((".vcf", ".vcf.gz", ".vcf.bgz")):
        return read_annotated_vcf(path)
    from seqcnn.variants import read_variant_scores

    try:
        return read_variant_scores(path)
    except (OSError, ValueError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read as a score-variants table: {err}", path=path) from None


def _variants_section(paths: Sequence[Path], top: int) -> str:
    parts = []
    for path in paths:
        frame = read_scores(path)
        try:
            summary = variant_summary(frame, top)
        except InputError as err:
            raise InputError(str(err), path=path) from None
        counts = ", ".join(f"{k} {v}" for k, v in summary["status"].items())
        parts.append(f"<h3>{_e(path.name)}</h3><p>{summary['n']} ALT alleles: {_e(counts)}.</p>")
        for t, best in summary["strongest"].items():
            if best.empty:
                continue
            parts.append(f"<p>Strongest effects on <b>{_e(t)}</b> (largest |ALT − REF|):</p>")
            parts.append(_frame_table(best))
    return "".join(parts)


def _maps_section(paths: Sequence[Path]) -> str:
    shown = list(paths)[:MAX_MAPS]
    note = ""
    if len(paths) > len(shown):
        note = f"<p class='note'>First {len(shown)} of {len(paths)} maps.</p>"
    return note + "<div class='wide'>" + "".join(_image(p, p.stem) for p in shown) + "</div>"


def _history_line(run: Path) -> str:
    path = run / "history.csv"
    if not path.is_file():
        return ""
    try:
        history = pd.read_csv(path)
    except (OSError, ValueError) as err:
        raise InputError(f"cannot read the training history: {err}", path=path) from None
    seconds = pd.to_numeric(history.get("seconds"), errors="coerce").sum()
    return f"{len(history)} epochs, {seconds:.0f} s of training"


def render_report(inputs: ReportInputs, title: str | None = None, top: int = 15) -> str:
    """The HTML page of a run, every picture embedded.

    Parameters
    ----------
    inputs : ReportInputs
        From :func:`find_report_inputs`.
    title : str, optional
        The page title (default: the run directory's name).
    top : int
        Rows shown in the motif-match and strongest-variant tables.

    Returns
    -------
    str
        A complete HTML document with no external reference.
    """
    run = inputs.run_dir
    config = _read_json(run / "config.json")
    name = title or run.resolve().name
    model = config.get("model", {}).get("name", "?")
    targets = config.get("targets", [])
    facts = [
        f"model {model}",
        f"task {config.get('task', '?')}",
        f"targets {', '.join(map(str, targets[:8]))}" + (" …" if len(targets) > 8 else ""),
    ]
    described = config.get("input", {})
    if "length" in described:
        facts.append(f"input {described['length']} bp")
    elif "shape" in described:
        facts.append("input " + "×".join(map(str, described["shape"])))
    if "best_epoch" in config:
        facts.append(f"best epoch {config['best_epoch']}")
    history = _history_line(run)
    if history:
        facts.append(history)
    facts.append(f"trained with seqcnn {config.get('seqcnn_version', '?')}")

    sections: list[tuple[str, str, str]] = [
        ("metrics", "Metrics", _metrics_section(inputs)),
        ("figures", "Training and evaluation", _figures_section(inputs)),
    ]
    if inputs.motifs is not None:
        sections.append(("motifs", "Motifs", _motif_section(inputs.motifs, top)))
    if inputs.variants:
        sections.append(("variants", "Variant effects", _variants_section(inputs.variants, top)))
    if inputs.maps:
        sections.append(("maps", "Mutation maps", _maps_section(inputs.maps)))
    sections.append(("config", "Configuration", _config_section(config)))

    nav = "".join(f'<a href="#{key}">{_e(head)}</a>' for key, head, _ in sections)
    body = "".join(f'<h2 id="{key}">{_e(head)}</h2>{text}' for key, head, text in sections)
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='generator' content='seqcnn {_e(__version__)}'>"
        f"<title>{_e(name)} · seqcnn report</title><style>{STYLE}</style></head><body>"
        f"<h1>{_e(name)}</h1><p class='sub'>{_e(' · '.join(facts))}</p>"
        f"<p class='sub'>Run directory <code>{_e(run.resolve())}</code></p>"
        f"<nav>{nav}</nav>{body}"
        f"<p class='note'>Written by seqcnn {_e(__version__)} (<code>seqcnn report</code>); "
        "every picture is embedded, the page needs no network.</p></body></html>\n"
    )


# ---------------------------------------------------------------------------- facts and summary
def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in frame.to_dict("records"):
        clean = {}
        for k, v in row.items():
            v = _plain(v)
            clean[str(k)] = None if isinstance(v, float) and math.isnan(v) else v
        out.append(clean)
    return out


def report_facts(inputs: ReportInputs, title: str | None = None, top: int = 3) -> dict[str, Any]:
    """The key numbers of a report, for :func:`render_summary` (``seqcnn report --json``).

    Returns
    -------
    dict
        ``name``, ``model``, ``task``, ``targets``; ``metrics`` (label: values, as the
        metrics table); ``motifs``: the first ``top`` significant rows of ``matches.tsv``
        (file order: by influence) and the count of significant rows; ``variants``: per file
        the status counts and the ``top`` strongest effects on the first target.
    """
    config = _read_json(inputs.run_dir / "config.json")
    facts: dict[str, Any] = {
        "name": title or inputs.run_dir.resolve().name,
        "run": str(inputs.run_dir),
        "model": config.get("model", {}).get("name"),
        "task": config.get("task"),
        "targets": config.get("targets", []),
        "metrics": {
            label: {k: v for k, v in values.items() if isinstance(v, (int, float, str))}
            for label, values in _metric_rows(inputs)
        },
    }
    if inputs.motifs is not None and (inputs.motifs / "matches.tsv").is_file():
        frame = _read_tsv(inputs.motifs / "matches.tsv")
        significant = _truthy(frame["significant"]) if "significant" in frame else None
        chosen = frame[significant] if significant is not None else frame
        facts["motifs"] = {
            "n_rows": len(frame),
            "n_significant": None if significant is None else int(significant.sum()),
            "top": _records(chosen.head(top)),
        }
    variants = []
    for path in inputs.variants:
        summary = variant_summary(read_scores(path), top)
        first = summary["targets"][0]
        variants.append(
            {
                "file": str(path),
                "n": summary["n"],
                "status": summary["status"],
                "target": first,
                "strongest": _records(summary["strongest"][first]),
            }
        )
    if variants:
        facts["variants"] = variants
    facts["maps"] = len(inputs.maps)
    return facts


#: Columns of matches.tsv that name the matched motif, in order of preference.
_MATCH_NAME = ("target_name", "name", "match_name", "target", "target_id", "match")
_MATCH_ID = ("target_id", "match_id", "id", "target")
_Q = ("q_value", "qvalue", "q-value", "q")


def _first(row: dict, keys: Sequence[str]) -> Any:
    return next((row[k] for k in keys if row.get(k) not in (None, "")), None)


def _motif_text(row: dict) -> str:
    name, ident, q = _first(row, _MATCH_NAME), _first(row, _MATCH_ID), _first(row, _Q)
    label = str(name) if name is not None else "?"
    if ident is not None and ident != name:
        label += f" ({ident})"
    if row.get("filter") is not None:
        label = f"{row['filter']}: {label}"
    return label + (f", q {_fmt(float(q))}" if isinstance(q, (int, float)) else "")


def _headline(metrics: dict[str, dict]) -> tuple[str, dict]:
    """The evaluation the summary shows: the last ``evaluate-*``, else ``test``, else ``valid``."""
    for label in reversed(list(metrics)):
        if label.startswith("evaluate"):
            return label, metrics[label]
    for label in ("test", "valid", "train"):
        if label in metrics:
            return label, metrics[label]
    return "", {}


def summary_table(facts: Sequence[dict]) -> pd.DataFrame:
    """One row per experiment: model, the headline metrics, top motifs, strongest variant."""
    rows = []
    for f in facts:
        label, values = _headline(f.get("metrics", {}))
        motifs = f.get("motifs", {})
        variants = f.get("variants", [])
        strongest = ""
        if variants and variants[0]["strongest"]:
            v, t = variants[0]["strongest"][0], variants[0]["target"]
            strongest = (
                f"{v.get('id', '.')} {v['chrom']}:{v['pos']} {v['ref']}>{v['alt']} "
                f"delta {_fmt(v.get(f'{t}_delta'))}"
            )
        rows.append(
            {
                "experiment": f["name"],
                "model": f.get("model"),
                "evaluated_on": label,
                "n": values.get("n"),
                "auroc": values.get("auroc"),
                "auprc": values.get("auprc"),
                "pearson": values.get("pearson"),
                "significant_motifs": motifs.get("n_significant"),
                "top_motifs": "; ".join(_motif_text(r) for r in motifs.get("top", [])),
                "variants_scored": sum(v["status"].get("ok", 0) for v in variants)
                if variants
                else None,
                "strongest_variant": strongest,
            }
        )
    frame = pd.DataFrame(rows)
    return frame.dropna(axis=1, how="all")


def render_summary(facts: Sequence[dict], links: Sequence[str | None]) -> str:
    """One HTML page across experiments: the :func:`summary_table`, each name linking its
    report (``links``: relative URLs, None for no link)."""
    table = summary_table(facts)
    head = "".join(f"<th>{_e(c)}</th>" for c in table.columns)
    body = []
    for (_, row), link in zip(table.iterrows(), links, strict=True):
        cells = []
        for column, value in row.items():
            value = _plain(value)
            if isinstance(value, float) and math.isnan(value):
                value = None
            if column == "experiment" and link:
                cells.append(f'<td><a href="{_e(link)}">{_e(value)}</a></td>')
            else:
                cells.append(_cell(value))
        body.append("<tr>" + "".join(cells) + "</tr>")
    counted = f"{len(facts)} experiment{'s' if len(facts) != 1 else ''}"
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>seqcnn summary · {counted}</title><style>{STYLE}</style>"
        f"</head><body><h1>seqcnn summary</h1><p class='sub'>{counted}; each "
        "name opens its report (a self-contained page).</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        f"<p class='note'>Written by seqcnn {_e(__version__)} (<code>seqcnn summary</code>).</p>"
        "</body></html>\n"
    )
