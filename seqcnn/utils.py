"""Small helpers shared by every module that writes files.

Every output of seqcnn is written atomically: to a temporary file in the destination's folder,
flushed to disk, then renamed over the destination with :func:`os.replace`. A reader therefore
sees the old file or the new one, never half of one, and an interrupted run leaves no truncated
output behind (the temporary file is removed when the block raises).

Two forms cover the two kinds of writer:

- :func:`atomic_write` yields an open file object, for code that writes the content itself;
- :func:`atomic_output_path` yields a temporary *path* with the destination's suffix, for
  libraries that insist on opening the file themselves (matplotlib chooses the format by the
  suffix, safetensors and numpy write by path).
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_write", "atomic_output_path"]


def _temp_in_dir(path: Path) -> tuple[int, Path]:
    """Create an empty temporary file beside ``path`` that keeps its suffix(es)."""
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{path}: the folder {path.parent} does not exist")
    suffix = "".join(path.suffixes[-2:]) if path.suffixes else ""  # keep ".tsv.gz"
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent)
    return fd, Path(name)


@functools.lru_cache(maxsize=1)
def _umask() -> int:
    """The process umask (read once: reading it means setting it for an instant)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _finish(tmp: Path, path: Path) -> None:
    """Give ``tmp`` the permissions a new file would have and move it over ``path``."""
    # mkstemp makes 0600 files; an output should look like any other file the user creates.
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, path)
    with contextlib.suppress(OSError):  # make the rename itself durable where possible
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike, mode: str = "w", encoding: str | None = None, **kwargs: Any
) -> Iterator[IO]:
    """Open a temporary file for writing that replaces ``path`` when the block ends.

    Parameters
    ----------
    path : str or os.PathLike
        The destination. Its folder must exist; the file itself may or may not.
    mode : {"w", "wb", "wt", "x", "xb", "xt"}
        As for :func:`open`, writing only. With ``"x"`` an existing ``path`` is an error.
    encoding : str, optional
        Text encoding; ``"utf-8"`` when ``mode`` is a text mode and none is given.
    **kwargs
        Passed on to :func:`open` (``newline=""`` for CSV writers, for example).

    Yields
    ------
    IO
        The open temporary file. On a clean exit it is flushed, fsynced and renamed to ``path``;
        if the block raises, it is deleted and ``path`` is left as it was.

    Raises
    ------
    ValueError
        For a mode that reads or appends.
    FileExistsError
        For mode ``"x"`` when ``path`` exists (checked before and again before the rename).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "hello.txt"
    >>> with atomic_write(out) as fh:
    ...     _ = fh.write("hello\\n")
    >>> out.read_text()
    'hello\\n'
    """
    if mode.replace("t", "").replace("b", "") not in ("w", "x") or "+" in mode:
        raise ValueError(f"atomic_write: mode must be 'w', 'wb', 'x' or 'xb', got {mode!r}")
    path = Path(path)
    exclusive = "x" in mode
    if exclusive and path.exists():
        raise FileExistsError(f"{path}: exists (mode {mode!r})")
    binary = "b" in mode
    if not binary and encoding is None:
        encoding = "utf-8"
    fd, tmp = _temp_in_dir(path)
    try:
        with open(fd, "wb" if binary else "w", encoding=encoding, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        if exclusive and path.exists():
            raise FileExistsError(f"{path}: appeared while it was being written (mode {mode!r})")
        _finish(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def atomic_output_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``, with its suffix, that replaces ``path`` at the end.

    For writers that take a file name rather than a file object. The temporary file exists
    (empty) when the block starts; the writer may overwrite it or delete and recreate it. It is
    fsynced and renamed to ``path`` when the block ends without error, and deleted otherwise.

    Parameters
    ----------
    path : str or os.PathLike
        The destination. Its folder must exist.

    Yields
    ------
    pathlib.Path
        A path in the same folder whose name ends in the same suffixes as ``path`` (so that
        ``path.png`` gives a ``....png`` temporary file and matplotlib writes PNG).

    Raises
    ------
    FileNotFoundError
        If the block ends without error but the temporary file is gone (the writer wrote
        somewhere else); ``path`` is left as it was.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "a.npy"
    >>> with atomic_output_path(out) as tmp:
    ...     tmp.suffix
    ...     _ = tmp.write_bytes(b"data")
    '.npy'
    >>> out.read_bytes()
    b'data'
    """
    path = Path(path)
    fd, tmp = _temp_in_dir(path)
    os.close(fd)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"{tmp}: the writer did not leave its output here for {path}")
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        _finish(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def steady_heap(threshold: int = 1 << 20) -> bool:
    """Serve allocations of ``threshold`` bytes and more from their own memory maps (glibc).

    glibc raises its map threshold each time a large block is freed, after which such
    blocks come from the heap, which then grows with every batch of a long loop instead of
    reusing memory: 40,000 x 1 kb sequences trained to a 3.4 GB peak where 0.5 GB is in use.
    A fixed threshold keeps the peak at what is in use. Called by the ``seqcnn`` command;
    a no-op (``False``) off glibc or when ``MALLOC_MMAP_THRESHOLD_`` is set by the user.

    Examples
    --------
    >>> steady_heap() in (True, False)
    True
    """
    if os.environ.get("MALLOC_MMAP_THRESHOLD_") is not None:
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(-3, int(threshold)))  # -3: M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        return False
