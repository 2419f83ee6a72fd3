"""Reading a whole text file, plain or gzipped, with errors that name the file."""

from __future__ import annotations

import gzip
from pathlib import Path

from seqcnn.exceptions import InputError


def read_text(path: Path, kind: str) -> str:
    """The text of ``path`` (gzip detected by its magic bytes, not its name).

    ``kind`` names the expected format ("FASTA", "BED") in the error for a directory.
    """
    if not path.exists():
        raise InputError("file not found", path=path)
    if path.is_dir():
        raise InputError(f"expected a {kind} file, found a directory", path=path)
    try:
        with open(path, "rb") as fh:
            gz = fh.read(2) == b"\x1f\x8b"
        opener = gzip.open if gz else open
        with opener(path, "rt", encoding="utf-8", errors="replace", newline=None) as fh:
            return fh.read()
    except (OSError, EOFError) as err:
        raise InputError(f"cannot read the file: {err}", path=path) from err
