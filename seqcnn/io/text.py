"""Plain or gzipped text files: compression told by content (never by name), one reader."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

from seqcnn.exceptions import InputError

__all__ = [
    "MAX_INFLATION",
    "MAX_SEQUENCE_LENGTH",
    "gzip_kind",
    "open_text",
    "read_text",
    "too_long",
]


def gzip_kind(path: Path) -> str | None:
    """``"bgzf"``, ``"gzip"`` or ``None`` (not compressed), from the file's first bytes.

    The one place seqcnn tells compression: a ``.gz`` name means nothing, a gzip magic does.
    """
    with open(path, "rb") as fh:
        head = fh.read(18)
    if head[:2] != b"\x1f\x8b":
        return None
    bgzf = len(head) >= 16 and head[3] & 4 and head[12:14] == b"BC"
    return "bgzf" if bgzf else "gzip"


#: Compressed input that inflates more than this many times its size (and beyond
#: :data:`INFLATION_FLOOR` bytes) is refused as a likely decompression bomb; sequence text
#: compresses about 4-fold, gzip's own limit is about 1000-fold.
MAX_INFLATION = 100
INFLATION_FLOOR = 16 << 20


#: The longest sequence a record (FASTA record, table row) may have: longer ones are refused
#: before they are encoded (a chromosome given as --data, a file that is one long line).
MAX_SEQUENCE_LENGTH = 10_000_000


def too_long(path: Path, line: int | None, record: str | None) -> InputError:
    """The error for a record longer than :data:`MAX_SEQUENCE_LENGTH`."""
    return InputError(
        f"sequence longer than {MAX_SEQUENCE_LENGTH} bases, the most seqcnn accepts in one "
        "record; cut it into windows first (a BED file of windows with --fasta)",
        path=path,
        line=line,
        record=record,
    )


class _BoundedGzip(io.RawIOBase):
    """The inflated bytes of a gzip file, refused once they pass the inflation limit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.limit = max(INFLATION_FLOOR, MAX_INFLATION * path.stat().st_size)
        self.total = 0
        self.gz = gzip.open(path, "rb")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.gz.readinto(buffer)
        self.total += n
        if self.total > self.limit:
            raise InputError(
                f"compressed input inflates beyond {self.limit} bytes, more than "
                f"{MAX_INFLATION} times its {self.path.stat().st_size} bytes; refused as a "
                "likely decompression bomb (decompress it yourself if it is genuine)",
                path=self.path,
            )
        return n

    def close(self) -> None:
        self.gz.close()
        super().close()


def open_text(path: Path, newline: str | None = None):
    """A text-mode file object of ``path``, decompressing when its content is gzip.

    Decompression stops with an :class:`InputError` when the inflated text passes
    :data:`MAX_INFLATION` times the compressed size (and :data:`INFLATION_FLOOR` bytes).
    """
    if gzip_kind(path):
        raw = io.BufferedReader(_BoundedGzip(path), buffer_size=1 << 20)
        return io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline=newline)
    return open(path, encoding="utf-8", errors="replace", newline=newline)


def read_text(path: Path, kind: str) -> str:
    """The text of ``path`` (gzip detected by its magic bytes, not its name).

    ``kind`` names the expected format ("FASTA", "BED") in the error for a directory.
    """
    if not path.exists():
        raise InputError("file not found", path=path)
    if path.is_dir():
        raise InputError(f"expected a {kind} file, found a directory", path=path)
    try:
        with open_text(path) as fh:
            return fh.read()
    except (OSError, EOFError) as err:
        raise InputError(f"cannot read the file: {err}", path=path) from err
