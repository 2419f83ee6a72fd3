"""The documentation: the site builds offline with --strict, the CLI reference is the parser's
own help, every picture is small and used, and the tutorials' commands run (on small subsets
of the real data) through docs/check_examples.py, whose mechanism is tested here too."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, DOCS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check_examples = _load("check_examples")


def _mkdocs() -> str | None:
    found = shutil.which("mkdocs", path=str(Path(sys.executable).parent)) or shutil.which("mkdocs")
    if found is None or importlib.util.find_spec("mkdocstrings") is None:
        return None
    return found


def test_site_builds_strict_and_offline(tmp_path: Path) -> None:
    mkdocs = _mkdocs()
    if mkdocs is None:
        pytest.skip("mkdocs / mkdocstrings not installed (pip install -e '.[docs]')")
    site = tmp_path / "site"
    done = subprocess.run(
        [mkdocs, "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    # --strict: any warning (a broken link, a page left out of the nav, a docstring griffe
    # cannot parse) fails the build; add new pages to the nav of mkdocs.yml
    assert done.returncode == 0, done.stderr[-4000:]
    assert (site / "index.html").is_file()
    api = (site / "api" / "sequence" / "index.html").read_text()
    assert "one_hot_encode" in api  # the reference is rendered from the docstrings
    runs = (site / "api" / "runs" / "index.html").read_text()
    assert "<code>seqcnn.io</code>" in runs and ":mod:<code" not in runs  # docs/hooks.py
    for picture in (DOCS / "img").glob("*.png"):
        assert (site / "img" / picture.name).is_file(), picture.name


def test_cli_reference_is_the_parsers_help() -> None:
    gen = _load("gen_reference")
    assert (DOCS / "cli.md").read_text() == gen.cli_md(), (
        "docs/cli.md is out of date: run `python docs/gen_reference.py`"
    )


def test_pictures_are_small_and_used() -> None:
    pages = "\n".join(p.read_text() for p in DOCS.rglob("*.md"))
    pictures = sorted((DOCS / "img").glob("*.png"))
    assert pictures
    for picture in pictures:
        assert picture.stat().st_size < 200_000, picture.name
        assert f"img/{picture.name}" in pages, f"{picture.name} is used by no page"
    for ref in re.findall(r"\]\((img/[^)]+)\)", pages):
        assert (DOCS / ref).is_file(), ref


def test_check_mechanism_runs_setup_shell_and_python_in_order(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# A page\n\n<!-- check: setup\nexport GREETING=hello\necho one > log.txt\n-->\n\n"
        '<!-- check: run -->\n```bash\necho "$GREETING two" >> log.txt\n'
        "seqcnn --version >> log.txt\n```\n\n"
        "```bash\nexit 3   # not marked: shown, never run\n```\n\n"
        "```python\nlines = open('log.txt').read().split()\n"
        "assert lines[:3] == ['one', 'hello', 'two'], lines\nassert lines[3] == 'seqcnn'\n```\n"
    )
    kinds = [kind for kind, _, _ in check_examples.steps(page)]
    assert kinds == ["setup", "shell", "python"]
    assert check_examples.run_page(page) == []


def test_check_mechanism_reports_a_failing_command(tmp_path: Path) -> None:
    page = tmp_path / "bad.md"
    page.write_text(
        "<!-- check: run -->\n```bash\nseqcnn report no-such-run\n```\n\n"
        "```python\nraise AssertionError('never reached')\n```\n"
    )
    errors = check_examples.run_page(page)
    assert len(errors) == 1  # the page stops at the failing command
    assert "exited 1" in errors[0] and "not a run directory" in errors[0]


# each runs real commands on small subsets (15-90 s): slow, but what keeps the pages honest
TUTORIALS = [
    "quickstart.md",  # seqcnn demo
    "tutorial-variants.md",
    "tutorial-images.md",
    "tutorial-motifs.md",  # memelite's numba compile
    "tutorial-workflow.md",
]


@pytest.mark.slow
@pytest.mark.parametrize("name", TUTORIALS)
def test_tutorial_commands_run(name: str) -> None:
    page = DOCS / name
    if check_examples.NEEDS_DATA in page.read_text() and check_examples.real_data_dir() is None:
        pytest.skip("the tutorial needs the real data (SEQCNN_DATA_DIR)")
    if (
        "snakemake" in page.read_text()
        and shutil.which("snakemake", path=str(Path(sys.executable).parent)) is None
    ):
        pytest.skip("snakemake not installed")
    steps = check_examples.steps(page)
    assert any(kind == "shell" for kind, _, _ in steps), "no command of the page is run"
    errors = check_examples.run_page(page)
    assert not errors, "\n".join(errors)
