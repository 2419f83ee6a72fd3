"""Run the examples of the docs, so that none of them rots.

Every fenced block that opens with ```` ```python ```` in ``docs/*.md`` is run; the blocks of
one page share one namespace and run in order, in a fresh temporary directory, with one torch
thread. A block fenced as ```` ```python no-run ```` is skipped (use it sparingly).

Shell commands (the tutorials) run too, in the same directory and in page order, when the page
says so in HTML comments, which the site does not show:

- ``<!-- check: run -->`` on the line before a ```` ```bash ```` block: run that block with
  ``bash -euo pipefail`` (the ``seqcnn`` of this Python first on the ``PATH``,
  ``SEQCNN_THREADS=1``);
- ``<!-- check: setup ... -->``: a hidden shell script run at that point, to make the small
  subsets a tutorial is tested on (``$DOCS_ROOT`` is the repository, ``$REAL_DATA`` the real
  data folder; setting ``SEQCNN_DATA_DIR`` to a folder of subsets keeps the reader's commands
  as they are);
- ``<!-- check: needs-data -->``: the page needs the real data (``SEQCNN_DATA_DIR``, else
  ``../shared/data`` beside the repository); without it the page is skipped, and says so.

Usage::

    python docs/check_examples.py              # every page
    python docs/check_examples.py python-api   # pages whose name contains "python-api"

Exits 1 if any block raises, and prints the page, the block's first line and the error.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
FENCE = re.compile(r"^```python([^\n]*)\n(.*?)^```", re.S | re.M)
STEP = re.compile(
    r"^```python(?P<info>[^\n]*)\n(?P<python>.*?)^```"
    r"|^<!-- check: run -->[ \t]*\n(?:[ \t]*\n)*```(?:bash|sh|console)[^\n]*\n(?P<shell>.*?)^```"
    r"|^<!-- check: setup[ \t]*\n(?P<setup>.*?)^-->",
    re.S | re.M,
)
NEEDS_DATA = "<!-- check: needs-data -->"
_NOT_KEPT = (
    r"^declare -[a-zA-Z]*r|^declare -[a-zA-Z-]* (BASH|FUNCNAME|PIPESTATUS|GROUPS|DIRSTACK|_=)"
)


def real_data_dir() -> Path | None:
    """``SEQCNN_DATA_DIR``, else ``../shared/data`` beside the repository, if it exists."""
    given = os.environ.get("SEQCNN_REAL_DATA") or os.environ.get("SEQCNN_DATA_DIR")
    for candidate in (given, ROOT.parent / "shared" / "data"):
        if candidate and Path(candidate).is_dir():
            return Path(candidate).resolve()
    return None


def steps(page: Path) -> list[tuple[str, int, str]]:
    """``(kind, line number, code)`` of each step of ``page``: python, shell or setup."""
    text = page.read_text()
    out = []
    for m in STEP.finditer(text):
        kind = next(k for k in ("python", "shell", "setup") if m.group(k) is not None)
        if kind == "python" and "no-run" in m.group("info"):
            continue
        line = text.count("\n", 0, m.start(kind)) + 1
        out.append((kind, line, m.group(kind)))
    return out


def blocks(page: Path) -> list[tuple[int, str]]:
    """``(line number, code)`` of each runnable python block of ``page``."""
    text = page.read_text()
    out = []
    for m in FENCE.finditer(text):
        if "no-run" in m.group(1):
            continue
        out.append((text.count("\n", 0, m.start()) + 2, m.group(2)))
    return out


def _shell_env(tmp: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["SEQCNN_THREADS"] = "1"
    env["DOCS_ROOT"] = str(ROOT)
    env["MPLBACKEND"] = "Agg"
    data = real_data_dir()
    if data is not None:
        env["REAL_DATA"] = str(data)
    return env


def run_page(page: Path) -> list[str]:
    """Run every step of ``page``; returns the errors (a failing shell step stops the page)."""
    import torch

    torch.set_num_threads(1)
    namespace: dict = {"__name__": "__docs__"}
    errors = []
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        env = _shell_env(tmp)
        # variables a shell step sets reach the later steps through this file
        exports = Path(tmp) / ".check_env"
        exports.write_text("")
        try:
            for kind, line, code in steps(page):
                where = f"{page.name}, {kind} block at line {line}"
                if kind == "python":
                    try:
                        exec(compile(code, f"{page.name}:{line}", "exec"), namespace)
                    except Exception:  # noqa: BLE001  (report and go on)
                        errors.append(f"{where}:\n{traceback.format_exc()}")
                    continue
                # the shell variables of one step reach the next ones (readonly and bash's
                # own variables are left out)
                script = (
                    f"set -euo pipefail\n. {exports}\n{code}\n"
                    f"declare -p | grep -Ev '{_NOT_KEPT}' > {exports} || true\n"
                )
                done = subprocess.run(
                    ["bash", "-c", script], env=env, capture_output=True, text=True, check=False
                )
                if done.returncode != 0:
                    tail = (done.stdout + done.stderr)[-3000:]
                    errors.append(f"{where} exited {done.returncode}:\n{tail}")
                    break
        finally:
            os.chdir(cwd)
    return errors


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    os.environ.setdefault("SEQCNN_THREADS", "1")
    pages = sorted(p for p in DOCS.glob("*.md") if not argv or any(a in p.name for a in argv))
    failed = 0
    for page in pages:
        n = len(steps(page))
        if not n:
            continue
        if NEEDS_DATA in page.read_text() and real_data_dir() is None:
            print(f"{page.name}: {n} blocks, skipped (needs the real data: SEQCNN_DATA_DIR)")
            continue
        t0 = time.perf_counter()
        errors = run_page(page)
        status = "ok" if not errors else f"{len(errors)} FAILED"
        print(f"{page.name}: {n} blocks, {status} ({time.perf_counter() - t0:.1f} s)")
        for e in errors:
            print(e, file=sys.stderr)
        failed += len(errors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
