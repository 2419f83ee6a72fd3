"""Option files: ``seqcnn train --config FILE.yaml``.

An option file is one YAML mapping of ``option: value``, with the names of the command-line
options (``batch_size`` or ``batch-size`` for ``--batch-size``). Three sections mirror the
sections of a run's ``config.json`` and are the only nested mappings accepted:

.. code-block:: yaml

    train: train.tsv            # files: train, valid, test (at the top or under data:)
    model: deepbind             # a name, or a section {name: ..., args: {...}}
    model_args: {n_filters: 32} # constructor arguments (or model: {args: ...})
    epochs: 10                  # any training option, at the top ...
    training:                   # ... or under training:
      lr: 1e-3
    data:                       # any data option, at the top or under data:
      negatives: shuffle
      valid_chroms: [chr8]

Loading is strict, so that a typo cannot silently change a run:

- YAML is read with the safe loader: no Python tags, no code; anchors and aliases are refused
  (an option file needs none, and they are how "billion laughs" files blow up);
- a key given twice (also once at the top and once in a section) is an error naming both lines;
- an unknown option is an error that lists the close matches;
- every value is checked against its option's type (integer, number, text, true/false, list of
  text) and range, with the option's name and line in the message; ``1e-3`` (which YAML 1.1
  reads as text) is accepted for numbers;
- YAML syntax errors are one line with the line and column.

Relative file names are relative to the current directory, as on the command line. Options
given on the command line win over the file's.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqcnn.exceptions import ConfigError, InputError

__all__ = [
    "FILE_KEYS",
    "MAX_OPTION_FILE_BYTES",
    "OptionFile",
    "check_value",
    "load_options",
    "option_kinds",
]

#: Keys naming input files, accepted at the top level and in the ``data`` section.
FILE_KEYS = ("train", "valid", "test")
#: Option files larger than this are refused (they are a few lines long).
MAX_OPTION_FILE_BYTES = 1 << 20

# (lowest, lowest allowed?, highest, highest allowed?) per option; None: unbounded.
RANGES: dict[str, tuple[float | None, bool, float | None, bool]] = {
    "epochs": (1, True, 1_000_000, True),
    "batch_size": (1, True, 1 << 24, True),
    "lr": (0, False, None, False),
    "weight_decay": (0, True, None, False),
    "momentum": (0, True, 1, False),
    "patience": (1, True, None, False),
    "min_delta": (0, True, None, False),
    "grad_clip": (0, True, None, False),
    "seed": (0, True, 2**63 - 1, True),
    "threads": (0, True, 4096, True),
    "negatives_per_positive": (1, True, 1000, True),
    "valid_fraction": (0, True, 1, False),
    "test_fraction": (0, True, 1, False),
    "length": (1, True, 10_000_000, True),
    "jitter": (0, True, 10_000_000, True),
}


@dataclass
class OptionFile:
    """The options of a file, checked, with the line of each.

    Attributes
    ----------
    path : str
    values : dict of str to Any
        Option name (underscores) to value: training and data options, ``model`` (a name),
        ``model_args`` (a dict) and the files ``train``, ``valid``, ``test``.
    lines : dict of str to int
        The 1-based line where each option was given.
    """

    path: str
    values: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)


def option_kinds() -> dict[str, tuple[str, Any]]:
    """Each option of an option file: ``name -> (section, type)``.

    ``section`` is ``"training"`` (a field of :class:`seqcnn.train.TrainConfig`), ``"data"``
    (:class:`seqcnn.inputs.DataOptions`) or ``"files"``; ``type`` is the field's annotation.
    """
    from seqcnn.inputs import DataOptions
    from seqcnn.train import TrainConfig

    kinds: dict[str, tuple[str, Any]] = {}
    for section, cls in (("training", TrainConfig), ("data", DataOptions)):
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            kinds[f.name] = (section, hints[f.name])
    for name in FILE_KEYS:
        kinds[name] = ("files", str | None)
    return kinds


def _describe(kind: Any) -> str:
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    base = args[0] if args else kind
    if typing.get_origin(base) is list:
        text = "a list of text values"
    else:
        text = {int: "an integer", float: "a number", bool: "true or false", str: "text"}.get(
            base, str(base)
        )
    return text + (" (or null)" if type(None) in typing.get_args(kind) else "")


def _check_type(value: Any, kind: Any) -> Any:
    """``value`` as the type ``kind``, or raise ValueError."""
    args = typing.get_args(kind)
    if value is None:
        if type(None) in args:
            return None
        raise ValueError
    if type(None) in args:
        kind = next(a for a in args if a is not type(None))
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise ValueError
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ValueError
    if kind is float:
        if isinstance(value, str):  # YAML 1.1 reads 1e-3 as text
            try:
                value = float(value)
            except ValueError:
                raise ValueError from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError
        if not math.isfinite(value):
            raise ValueError
        return float(value)
    if kind is str:
        if isinstance(value, str):
            return value
        raise ValueError
    if typing.get_origin(kind) is list:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list):
            raise ValueError
        out = []
        for item in items:  # contig names such as 1, 2 are read by YAML as integers
            if isinstance(item, bool) or not isinstance(item, (str, int)):
                raise ValueError
            out.append(str(item))
        return out
    return value


def check_value(name: str, value: Any, kinds: dict[str, tuple[str, Any]] | None = None) -> Any:
    """Check one option's value for its type and range; returns it (``1e-3`` text as float).

    Raises
    ------
    ConfigError
        ``option NAME: expected ..., got ...`` (no location: callers add the file and line).

    Examples
    --------
    >>> check_value("lr", "1e-3")
    0.001
    >>> check_value("batch_size", "64x")
    Traceback (most recent call last):
    ...
    seqcnn.exceptions.ConfigError: option batch_size: expected an integer, got '64x'
    """
    kinds = kinds or option_kinds()
    if name not in kinds:
        raise ConfigError(f"unknown option {name!r}")
    kind = kinds[name][1]
    try:
        value = _check_type(value, kind)
    except ValueError:
        raise ConfigError(f"option {name}: expected {_describe(kind)}, got {value!r}") from None
    if name in RANGES and value is not None:
        lo, lo_ok, hi, hi_ok = RANGES[name]
        low_bad = lo is not None and (value < lo if lo_ok else value <= lo)
        high_bad = hi is not None and (value > hi if hi_ok else value >= hi)
        if low_bad or high_bad:
            lo_text = "" if lo is None else f"{'at least' if lo_ok else 'greater than'} {lo:g}"
            hi_text = "" if hi is None else f"{'at most' if hi_ok else 'less than'} {hi:g}"
            span = " and ".join(t for t in (lo_text, hi_text) if t)
            raise ConfigError(f"{name} must be {span}, got {value!r}")
    return value


# ---------------------------------------------------------------------------- YAML
def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class _Reader:
    """Walks the composed YAML node tree, so that every value keeps its line."""

    def __init__(self, path: Path, loader: Any) -> None:
        import yaml

        self.path, self.loader, self.yaml = path, loader, yaml
        self.seen: set[int] = set()

    def fail(self, message: str, node: Any) -> None:
        raise InputError(message, path=self.path, line=node.start_mark.line + 1)

    def value(self, node: Any) -> Any:
        yaml = self.yaml
        if id(node) in self.seen:
            self.fail("anchors and aliases (&name, *name) are not supported in option files", node)
        self.seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            return {k: self.value(v) for k, (_, v) in self.mapping(node).items()}
        if isinstance(node, yaml.SequenceNode):
            if node.tag != "tag:yaml.org,2002:seq":
                self.fail(f"tag {node.tag!r} is not allowed in option files", node)
            return [self.value(item) for item in node.value]
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as err:
            self.fail(f"value not allowed: {_one_line(getattr(err, 'problem', err))}", node)

    def mapping(self, node: Any) -> dict[str, tuple[Any, Any]]:
        """``key -> (key node, value node)`` of a mapping node; duplicates are errors."""
        yaml = self.yaml
        if node.tag != "tag:yaml.org,2002:map":
            self.fail(f"tag {node.tag!r} is not allowed in option files", node)
        out: dict[str, tuple[Any, Any]] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.fail("merge keys (<<) are not supported in option files", key_node)
            if not isinstance(key_node, yaml.ScalarNode):
                self.fail("a key must be a plain name, not a list or mapping", key_node)
            key = self.loader.construct_object(key_node)
            if not isinstance(key, str):
                self.fail(f"a key must be a name, got {key!r}", key_node)
            key = key.strip()
            if key in out:
                first = out[key][0].start_mark.line + 1
                self.fail(f"{key!r} given twice (first on line {first}); keep one", key_node)
            out[key] = (key_node, value_node)
        return out


def _parse(path: Path) -> tuple[_Reader, Any]:
    """The root node of the one YAML document in ``path`` (None when the file is empty)."""
    import yaml

    if not path.exists():
        raise InputError("option file not found", path=path)
    if not path.is_file():
        raise InputError("expected a YAML option file, found a directory", path=path)
    if path.stat().st_size > MAX_OPTION_FILE_BYTES:
        raise InputError(
            f"{path.stat().st_size} bytes is too large for an option file "
            f"(at most {MAX_OPTION_FILE_BYTES})",
            path=path,
        )
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(f"not UTF-8 text (byte {err.start}); expected YAML", path=path) from None
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f" (column {mark.column + 1})" if mark else ""
        context = f"; {_one_line(err.context)}" if err.context else ""
        raise InputError(
            f"not valid YAML: {_one_line(err.problem)}{where}{context}",
            path=path,
            line=mark.line + 1 if mark else None,
        ) from None
    except yaml.YAMLError as err:
        raise InputError(f"not valid YAML: {_one_line(err)}", path=path) from None
    except RecursionError:
        raise InputError("not valid YAML: nested too deeply", path=path) from None
    if root is not None:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                raise InputError(
                    "anchors and aliases (&name, *name) are not supported in option files",
                    path=path,
                    line=event.start_mark.line + 1,
                )
    return _Reader(path, loader), root


def load_options(path: str | os.PathLike) -> OptionFile:
    """Read and check an option file (see the module's documentation for its layout).

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    OptionFile
        An empty file gives no options.

    Raises
    ------
    InputError
        One line naming the file and line: not found, not UTF-8, too large, YAML syntax
        errors, several documents, a top level that is not a mapping, duplicate keys, unknown
        options, sections where none is documented, values of the wrong type or range.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "o.yaml"
    >>> _ = p.write_text("epochs: 3\\ntraining:\\n  lr: 1e-3\\nmodel: {name: deepbind}\\n")
    >>> load_options(p).values
    {'epochs': 3, 'lr': 0.001, 'model': 'deepbind'}
    """
    import yaml

    path = Path(path)
    reader, root = _parse(path)
    result = OptionFile(str(path))
    if root is None:
        return result
    if not isinstance(root, yaml.MappingNode):
        reader.fail("expected a mapping of option: value lines", root)
    kinds = option_kinds()
    sections = {"training": "training", "data": "data"}

    def add(name: str, value: Any, key_node: Any) -> None:
        line = key_node.start_mark.line + 1
        if name in result.lines:
            reader.fail(
                f"{name!r} given twice (first on line {result.lines[name]}); keep one", key_node
            )
        try:
            result.values[name] = check_value(name, value, kinds) if name in kinds else value
        except ConfigError as err:
            raise InputError(str(err), path=path, line=line) from None
        result.lines[name] = line

    def unknown(name: str, key_node: Any, allowed: list[str], where: str) -> None:
        close = difflib.get_close_matches(name, allowed, n=3, cutoff=0.6)
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        reader.fail(
            f"unknown option {name!r}{where}{hint}; valid: {', '.join(sorted(allowed))}", key_node
        )

    top_allowed = sorted(set(kinds) | {"model", "model_args", *sections})
    for raw_key, (key_node, value_node) in reader.mapping(root).items():
        name = raw_key.replace("-", "_")
        if name in sections:
            if not isinstance(value_node, yaml.MappingNode):
                reader.fail(
                    f"{name!r} is a section: expected a mapping of option: value", value_node
                )
            section = sections[name]
            allowed = [
                k
                for k, (s, _) in kinds.items()
                if s == section or (section == "data" and s == "files")
            ]
            for sub_key, (sub_node, sub_value) in reader.mapping(value_node).items():
                sub = sub_key.replace("-", "_")
                if sub not in allowed:
                    where = f" in section {name!r}"
                    if sub in kinds:
                        where += f" ({sub} is a {kinds[sub][0]} option)"
                    unknown(sub, sub_node, allowed, where)
                add(sub, reader.value(sub_value), sub_node)
        elif name == "model":
            if isinstance(value_node, yaml.MappingNode):
                for sub_key, (sub_node, sub_value) in reader.mapping(value_node).items():
                    if sub_key == "name":
                        value = reader.value(sub_value)
                        if not isinstance(value, str):
                            reader.fail(f"model name: expected text, got {value!r}", sub_node)
                        add("model", value, sub_node)
                    elif sub_key == "args":
                        _model_args(reader, sub_value, sub_node, add)
                    else:
                        unknown(sub_key, sub_node, ["name", "args"], " in section 'model'")
            else:
                value = reader.value(value_node)
                if not isinstance(value, str):
                    reader.fail(
                        f"option model: expected a model name or a mapping, got {value!r}",
                        value_node,
                    )
                add("model", value, key_node)
        elif name == "model_args":
            _model_args(reader, value_node, key_node, add)
        elif name in kinds:
            if isinstance(value_node, yaml.MappingNode):
                hint = (
                    "; training options go at the top level or under 'training:'"
                    if name == "train"
                    else ""
                )
                reader.fail(f"option {name} takes a value, not a section{hint}", value_node)
            add(name, reader.value(value_node), key_node)
        else:
            unknown(name, key_node, top_allowed, "")
    return result


def _model_args(reader: _Reader, value_node: Any, key_node: Any, add) -> None:
    import yaml

    if not isinstance(value_node, yaml.MappingNode):
        reader.fail("model arguments: expected a mapping of argument: value", value_node)
    args = {k: reader.value(v) for k, (_, v) in reader.mapping(value_node).items()}
    add("model_args", args, key_node)
