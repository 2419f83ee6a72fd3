"""Exceptions raised by seqcnn.

Each subclasses a built-in too, so that ``except ValueError`` or ``except KeyError`` in user
code keeps working. :class:`InputError` carries where the problem is (file, line, record) so
that the command line can print a single, useful line.
"""

from __future__ import annotations

import os


class SeqcnnError(Exception):
    """Base class of every error that seqcnn raises on purpose."""


class InputError(SeqcnnError, ValueError):
    """Bad user input: a file, a record or an argument that is not what was expected.

    Parameters
    ----------
    message : str
        What is wrong and what was expected.
    path : str or os.PathLike, optional
        The file the problem is in.
    line : int, optional
        1-based line number in ``path``.
    record : str, optional
        A record name (sequence id, variant id, interval) when there is no line number.

    Examples
    --------
    >>> str(InputError("expected 0 or 1, got 2", path="x.tsv", line=7))
    'x.tsv, line 7: expected 0 or 1, got 2'
    """

    def __init__(
        self,
        message: str,
        path: str | os.PathLike | None = None,
        line: int | None = None,
        record: str | None = None,
    ) -> None:
        self.message = message
        self.path = None if path is None else os.fspath(path)
        self.line = line
        self.record = record
        where = []
        if self.path is not None:
            where.append(self.path)
        if line is not None:
            where.append(f"line {line}")
        if record is not None:
            where.append(f"record {record!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class ConfigError(SeqcnnError, ValueError):
    """An option or configuration value that is not valid; the message lists valid choices."""


class UnknownNameError(SeqcnnError, KeyError):
    """A name (model, activation, metric, ...) that is not registered."""

    def __init__(self, kind: str, name: str, choices: list[str]) -> None:
        self.kind, self.name, self.choices = kind, name, list(choices)
        super().__init__(f"unknown {kind} {name!r}; choose one of: {', '.join(sorted(choices))}")

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


class MissingDependencyError(SeqcnnError, ImportError):
    """An optional dependency is needed for this feature; the message says which extra."""

    def __init__(self, package: str, extra: str, feature: str) -> None:
        super().__init__(
            f"{feature} needs the optional package {package!r}: "
            f"pip install 'seqcnn[{extra}]' (or pip install {package})"
        )


def require(module: str, extra: str, feature: str):
    """Import an optional dependency, or raise :class:`MissingDependencyError` naming the extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise MissingDependencyError(module.split(".")[0], extra, feature) from err
