"""Run the Python examples of the docs, so that none of them rots.

Every fenced block that opens with ```` ```python ```` in ``docs/*.md`` is run; the blocks of
one page share one namespace and run in order, in a fresh temporary directory, with one torch
thread. A block fenced as ```` ```python no-run ```` is skipped (use it sparingly).

Usage::

    python docs/check_examples.py              # every page
    python docs/check_examples.py python-api   # pages whose name contains "python-api"

Exits 1 if any block raises, and prints the page, the block's first line and the error.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
import traceback
from pathlib import Path

DOCS = Path(__file__).resolve().parent
FENCE = re.compile(r"^```python([^\n]*)\n(.*?)^```", re.S | re.M)


def blocks(page: Path) -> list[tuple[int, str]]:
    """``(line number, code)`` of each runnable python block of ``page``."""
    text = page.read_text()
    out = []
    for m in FENCE.finditer(text):
        if "no-run" in m.group(1):
            continue
        out.append((text.count("\n", 0, m.start()) + 2, m.group(2)))
    return out


def run_page(page: Path) -> list[str]:
    """Run every block of ``page``; returns the errors."""
    import torch

    torch.set_num_threads(1)
    namespace: dict = {"__name__": "__docs__"}
    errors = []
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            for line, code in blocks(page):
                try:
                    exec(compile(code, f"{page.name}:{line}", "exec"), namespace)
                except Exception:  # noqa: BLE001  (report and go on)
                    errors.append(f"{page.name}, block at line {line}:\n{traceback.format_exc()}")
        finally:
            os.chdir(cwd)
    return errors


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    os.environ.setdefault("SEQCNN_THREADS", "1")
    pages = sorted(p for p in DOCS.glob("*.md") if not argv or any(a in p.name for a in argv))
    failed = 0
    for page in pages:
        n = len(blocks(page))
        if not n:
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
