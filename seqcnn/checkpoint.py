"""The run directory: weights in safetensors, everything else in JSON or CSV, never pickle.

::

    RUN/config.json         format_version, model name + constructor arguments, data description,
                            training options
    RUN/model.safetensors   the best weights
    RUN/metrics.json        {"train": {...}, "valid": {...}, "test": {...}}
    RUN/history.csv         one row per epoch
    RUN/checkpoint/         what resume needs: state.safetensors holds the last weights, the
                            optimizer state and the RNG states, with the epoch counters in its
                            metadata (one file, so one atomic write)

Loading is defensive: a weights file is checked to be safetensors (its header is parsed and
every tensor's offsets are checked against the file's size) before the safetensors library
reads it, so that a truncated file, random bytes or a ``torch.save`` pickle give one line naming
the file, and nothing is ever unpickled. Loaded weights must match the model's names and shapes
and be finite. A run directory written by a newer seqcnn (a larger ``format_version``) is
refused.

Temporary files that an interrupted write leaves behind (``.NAME.XXXXXXXX.tmp...``, see
:mod:`seqcnn.utils`) are removed by the next successful checkpoint write and by resume.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import struct
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from seqcnn.exceptions import ConfigError, InputError, UnknownNameError
from seqcnn.utils import atomic_output_path, atomic_write

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
METRICS = "metrics.json"
HISTORY = "history.csv"
STATE_DIR = "checkpoint"
STATE = "state.safetensors"

#: Version of the run-directory layout that this seqcnn writes, and the newest one it reads.
#: Run directories without a ``format_version`` (written before it existed) are version 1.
FORMAT_VERSION = 1

#: Training options that may differ on ``--resume`` (they change where and how fast training
#: runs, not what it computes); any other difference from the checkpoint's options is refused.
RESUME_MAY_CHANGE = ("threads", "verbose", "device", "compile")

# safetensors limits the header to 100 MB; a larger declared length means a foreign file.
_MAX_HEADER = 100_000_000
_ITEM_SIZE = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1,
    "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4,
    "I64": 8, "U64": 8, "F64": 8,
}  # fmt: skip
# the name pattern of seqcnn.utils' temporary files: ".NAME." + 8 random chars + ".tmp" + suffix
_TEMP = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp(\.[^.]+){0,2}$")
_META_KEY = "seqcnn_training_state"


def prepare_run_dir(path: str | Path, force: bool = False, resume: bool = False) -> Path:
    """Create the run directory; refuse to reuse a non-empty one unless ``force`` or ``resume``.

    With ``force`` or ``resume``, temporary files left by an interrupted run are removed.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError("exists and is not a directory", path=path)
    if path.is_dir() and any(path.iterdir()) and not (force or resume):
        raise InputError(
            "run directory exists and is not empty; use --force to overwrite or --resume to "
            "continue it",
            path=path,
        )
    path.mkdir(parents=True, exist_ok=True)
    remove_orphan_temporaries(path)
    return path


def remove_orphan_temporaries(run_dir: str | Path) -> list[Path]:
    """Delete the temporary files of interrupted atomic writes in ``run_dir`` and its
    ``checkpoint/`` folder; returns what was removed.

    Only names of the form :mod:`seqcnn.utils` gives its temporary files are touched.
    """
    removed = []
    for folder in (Path(run_dir), Path(run_dir) / STATE_DIR):
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            if _TEMP.match(entry.name) and entry.is_file() and not entry.is_symlink():
                try:
                    entry.unlink()
                except FileNotFoundError:
                    continue
                removed.append(entry)
    return removed


def _clean(obj: Any) -> Any:
    """JSON-safe copy: NaN/inf become null, numpy scalars become Python numbers."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json(obj: Any, path: str | Path) -> None:
    """Write ``obj`` as indented JSON, atomically (NaN written as null)."""
    with atomic_write(path) as fh:
        json.dump(_clean(obj), fh, indent=2)
        fh.write("\n")


def read_json(path: str | Path) -> Any:
    """Read JSON, with an error naming the file when it is missing or malformed."""
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", path=path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InputError("not a text file (expected JSON)", path=path) from None
    except json.JSONDecodeError as err:
        raise InputError(f"not valid JSON ({err.msg})", path=path, line=err.lineno) from None
    except RecursionError:
        raise InputError("JSON nested too deeply", path=path) from None


# ---------------------------------------------------------------------------- config.json
def write_config(config: dict[str, Any], run_dir: str | Path) -> None:
    """Write ``RUN/config.json`` with this seqcnn's ``format_version`` first."""
    write_json({"format_version": FORMAT_VERSION, **config}, Path(run_dir) / CONFIG)


def check_format_version(config: Any, path: str | Path) -> int:
    """The ``format_version`` of a loaded ``config.json``; newer or invalid ones are errors."""
    if not isinstance(config, dict):
        raise InputError("expected a JSON object (the run's configuration)", path=path)
    version = config.get("format_version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InputError(
            f"format_version {version!r} is not a positive integer; the run directory is damaged",
            path=path,
        )
    if version > FORMAT_VERSION:
        from seqcnn import __version__

        raise InputError(
            f"written by a newer seqcnn: run directory format {version}, but this seqcnn "
            f"({__version__}) reads formats up to {FORMAT_VERSION}; upgrade seqcnn",
            path=path,
        )
    return version


def read_config(run_dir: str | Path) -> dict[str, Any]:
    """``RUN/config.json``, its ``format_version`` checked."""
    path = Path(run_dir) / CONFIG
    config = read_json(path)
    check_format_version(config, path)
    return config


def _option_defaults() -> dict[str, dict[str, Any]]:
    """The default of every data and training option, as written to ``config.json``."""
    from seqcnn.inputs import DataOptions
    from seqcnn.train import TrainConfig

    return {
        "data": json.loads(json.dumps(dataclasses.asdict(DataOptions()))),
        "training": json.loads(json.dumps(TrainConfig().to_dict())),
    }


def check_resume_options(recorded: dict[str, Any], given: dict[str, Any], path: Path) -> None:
    """Refuse to resume with options other than the checkpoint's.

    Compares the ``model``, ``data`` and ``training`` sections of the recorded ``config.json``
    with those of the new run; only :data:`RESUME_MAY_CHANGE` may differ.

    Raises
    ------
    ConfigError
        Naming each differing option with its recorded and its given value.
    """
    old = json.loads(json.dumps(_clean(recorded)))
    new = json.loads(json.dumps(_clean(given)))
    diffs = []
    if old.get("model", {}).get("name") != new.get("model", {}).get("name"):
        diffs.append(f"model ({old.get('model', {}).get('name')!r} -> {new['model']['name']!r})")
    else:
        a, b = old.get("model", {}).get("args", {}), new.get("model", {}).get("args", {})
        diffs += [
            f"model argument {k} ({a.get(k)!r} -> {b.get(k)!r})"
            for k in sorted(set(a) | set(b))
            if a.get(k) != b.get(k)
        ]
    defaults = _option_defaults()
    for section in ("data", "training"):
        a, b = old.get(section, {}), new.get(section, {})
        for k in sorted(set(a) | set(b)):
            if k not in a and k in b and b[k] == defaults[section].get(k, object()):
                continue  # an option added since the run was recorded, at its default
            if a.get(k) != b.get(k) and not (section == "training" and k in RESUME_MAY_CHANGE):
                diffs.append(f"{k} ({a.get(k)!r} -> {b.get(k)!r})")
    if diffs:
        raise ConfigError(
            f"{path}: --resume continues a run with its own options, but these differ from the "
            f"checkpoint's: {'; '.join(diffs)}. Resume with the same options (only "
            f"{', '.join(RESUME_MAY_CHANGE)} may change), or start a new run (--force or "
            "another --out)"
        )


def recorded_options(run_dir: str | Path) -> dict[str, Any]:
    """The options a run was trained with, flat (as :func:`seqcnn.config.load_options` gives
    them), for ``--resume``; empty when the run has no ``config.json`` yet.

    Run-time options (:data:`RESUME_MAY_CHANGE`) are left out, and ``valid``/``test`` only
    come back when they were files (not "held back" descriptions).
    """
    from seqcnn.config import option_kinds

    if not (Path(run_dir) / CONFIG).is_file():
        return {}
    config = read_config(run_dir)
    kinds = option_kinds()
    options: dict[str, Any] = {}
    for name, value in (config.get("training") or {}).items():
        if kinds.get(name, ("",))[0] == "training" and name not in RESUME_MAY_CHANGE:
            options[name] = value
    for name, value in (config.get("data") or {}).items():
        if kinds.get(name, ("",))[0] == "data":
            options[name] = value
        elif name == "train" or (name in ("valid", "test") and value and Path(value).exists()):
            options[name] = value
    model = config.get("model") or {}
    if "name" in model:
        options["model"] = model["name"]
    if isinstance(model.get("args"), dict):
        options["model_args"] = dict(model["args"])
    return options


# ---------------------------------------------------------------------------- safetensors
def read_safetensors_header(path: str | Path) -> dict[str, Any]:
    """Parse and check the header of a safetensors file without reading its tensors.

    Returns
    -------
    dict
        Tensor name to ``{"dtype", "shape", "data_offsets"}``, plus ``"__metadata__"`` when
        the file has metadata.

    Raises
    ------
    InputError
        One line naming the file: missing, empty, a ``torch.save``/pickle/zip file, a header
        length past the end of the file, a header that is not a JSON object, an unknown dtype,
        or tensor data that would lie past the end of the file (a truncated file).
    """
    path = Path(path)
    if not path.exists():
        raise InputError("weights file not found", path=path)
    if not path.is_file():
        raise InputError("expected a safetensors file, found a directory", path=path)
    size = path.stat().st_size
    what = "expected a safetensors file"
    if size == 0:
        raise InputError(f"empty file (0 bytes); {what}", path=path)
    with open(path, "rb") as fh:
        head = fh.read(8)
        n = struct.unpack("<Q", head)[0] if len(head) == 8 else None
        plausible = n is not None and n <= min(_MAX_HEADER, size - 8)
        raw = fh.read(n) if plausible else b""
    try:
        header = json.loads(raw.decode("utf-8")) if plausible else None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        header = None
    if header is None:  # not safetensors: say what it looks like
        if head[:1] == b"\x80" and head[1:2] in b"\x02\x03\x04\x05" or head[:4] == b"PK\x03\x04":
            raise InputError(
                f"{what}, found a PyTorch pickle (torch.save .pt/.pth file); seqcnn never "
                "unpickles files. Convert it where you trust it: "
                "safetensors.torch.save_file(torch.load(PT, weights_only=True), OUT)",
                path=path,
            )
        if n is None:
            raise InputError(f"{what}: only {size} bytes, truncated or not safetensors", path=path)
        if not plausible:
            raise InputError(
                f"{what}: the header claims {n} bytes but the file has {size}; truncated or "
                "not safetensors",
                path=path,
            )
        raise InputError(f"{what}: its header is not JSON (corrupt or another format)", path)
    if not isinstance(header, dict):
        raise InputError(f"{what}: its header is not a JSON object", path=path)
    data_size = size - 8 - n
    for name, entry in header.items():
        if name == "__metadata__":
            if not isinstance(entry, dict) or not all(isinstance(v, str) for v in entry.values()):
                raise InputError(f"{what}: __metadata__ is not a map of strings", path=path)
            continue
        ok = (
            isinstance(entry, dict)
            and entry.get("dtype") in _ITEM_SIZE
            and isinstance(entry.get("shape"), list)
            and all(
                isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in entry["shape"]
            )
            and isinstance(entry.get("data_offsets"), list)
            and len(entry["data_offsets"]) == 2
            and all(isinstance(o, int) and not isinstance(o, bool) for o in entry["data_offsets"])
        )
        if not ok:
            raise InputError(f"{what}: tensor {name!r} has a malformed header entry", path=path)
        begin, end = entry["data_offsets"]
        if not 0 <= begin <= end or end > data_size:
            raise InputError(
                f"{what}: tensor {name!r} lies at bytes {begin}-{end} of the data but the file "
                f"holds only {data_size}; truncated or corrupt",
                path=path,
            )
        if end - begin != math.prod(entry["shape"]) * _ITEM_SIZE[entry["dtype"]]:
            raise InputError(
                f"{what}: tensor {name!r} of shape {entry['shape']} does not fill its "
                f"{end - begin} bytes; corrupt",
                path=path,
            )
    return header


def read_tensors(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The tensors and the metadata of a safetensors file, every failure one InputError.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.safetensors"
    >>> save_tensors({"w": torch.ones(2)}, p, metadata={"k": "v"})
    >>> tensors, meta = read_tensors(p)
    >>> tensors["w"].tolist(), meta
    ([1.0, 1.0], {'k': 'v'})
    """
    path = Path(path)
    header = read_safetensors_header(path)
    try:
        tensors = load_file(str(path))
    except Exception as err:  # noqa: BLE001 (SafetensorError and friends: one line instead)
        message = " ".join(str(err).split()) or type(err).__name__
        raise InputError(f"not a valid safetensors file ({message})", path=path) from None
    return tensors, dict(header.get("__metadata__") or {})


def save_tensors(
    tensors: dict[str, torch.Tensor], path: str | Path, metadata: dict[str, str] | None = None
) -> None:
    """Save a dict of tensors (and string metadata) as safetensors, atomically."""
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    with atomic_output_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)


def save_weights(model: nn.Module, path: str | Path) -> None:
    """Save a model's ``state_dict`` (unwrapping DDP) as safetensors."""
    save_tensors(unwrap(model).state_dict(), path)


def check_state_fits(
    expected: dict[str, torch.Tensor], found: dict[str, torch.Tensor], path: str | Path
) -> None:
    """Check that ``found`` has exactly the names and shapes of ``expected`` and is finite.

    Raises
    ------
    InputError
        Naming the file, the first missing, unexpected or mis-shaped tensors (and how many
        more), or the tensor with NaN or infinite values.
    """
    problems = []
    missing = [k for k in expected if k not in found]
    unexpected = [k for k in found if k not in expected]
    if missing:
        problems.append("missing " + ", ".join(missing[:3]))
    if unexpected:
        problems.append("unexpected " + ", ".join(unexpected[:3]))
    for k in expected:
        if k in found and tuple(found[k].shape) != tuple(expected[k].shape):
            problems.append(
                f"{k} has shape {tuple(found[k].shape)} in the file but "
                f"{tuple(expected[k].shape)} in the model"
            )
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise InputError(
            f"weights do not fit the model in config.json: {'; '.join(problems[:3])}{more}",
            path=path,
        )
    for k, v in found.items():
        if v.is_floating_point() and not bool(torch.isfinite(v).all()):
            bad = int((~torch.isfinite(v)).sum())
            raise InputError(
                f"weights hold NaN or infinite values ({bad} of {v.numel()} in {k}); the "
                "training diverged or the file is damaged: retrain, or use an earlier run",
                path=path,
            )


def load_weights(model: nn.Module, path: str | Path) -> nn.Module:
    """Load safetensors weights into ``model``: names, shapes and finiteness checked.

    Raises
    ------
    InputError
        One line naming the file for a missing, foreign, corrupt or truncated file, weights
        that do not fit the model, or weights with NaN or infinite values.
    """
    path = Path(path)
    state, _ = read_tensors(path)
    target = unwrap(model)
    check_state_fits(target.state_dict(), state, path)
    target.load_state_dict(state)
    return model


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside a DistributedDataParallel / DataParallel wrapper."""
    return getattr(model, "module", model)


# ---------------------------------------------------------------------------- resume
def has_training_state(run_dir: str | Path) -> bool:
    """Whether ``run_dir`` holds a checkpoint to resume from."""
    return (Path(run_dir) / STATE_DIR / STATE).is_file()


def save_training_state(
    run_dir: str | Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any | None,
    info: dict[str, Any],
    generator: torch.Generator,
) -> None:
    """Write what resume needs into ``RUN/checkpoint/state.safetensors``, in one atomic write.

    Tensors: the model (``model.*``), the optimizer's tensors (``optim.<param>.<name>``) and
    the RNG states; metadata: ``info`` (epoch counters), the optimizer's parameter groups and
    scalars, the scheduler's state, as JSON. Then removes orphan temporary files.
    """
    state_dir = Path(run_dir) / STATE_DIR
    state_dir.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v for k, v in unwrap(model).state_dict().items()}
    opt = optimizer.state_dict()
    scalars: dict[str, Any] = {}
    for idx, pstate in opt["state"].items():
        for key, value in pstate.items():
            if torch.is_tensor(value):
                tensors[f"optim.{idx}.{key}"] = value
            else:
                scalars[f"{idx}.{key}"] = value
    tensors["rng.torch"] = torch.get_rng_state()
    tensors["rng.generator"] = generator.get_state()
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    meta = {
        "info": info,
        "param_groups": opt["param_groups"],
        "optim_scalars": scalars,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
    }
    # plain json (not write_json's cleaning): -inf best scores must survive the round trip
    text = json.dumps(meta, default=lambda o: o.item() if hasattr(o, "item") else str(o))
    save_tensors(tensors, state_dir / STATE, metadata={_META_KEY: text})
    remove_orphan_temporaries(run_dir)


def load_training_state(
    run_dir: str | Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any | None,
    generator: torch.Generator,
) -> dict[str, Any]:
    """Restore the state written by :func:`save_training_state`; returns its ``info`` dict.

    Raises
    ------
    InputError
        Naming the checkpoint file when it is missing, corrupt or truncated, or when its
        tensors do not fit the model or the optimizer.
    """
    state_dir = Path(run_dir) / STATE_DIR
    path = state_dir / STATE
    if not path.is_file():
        raise InputError(f"nothing to resume: no {STATE_DIR}/{STATE}", path=run_dir)
    tensors, metadata = read_tensors(path)
    if _META_KEY in metadata:
        try:
            meta = json.loads(metadata[_META_KEY])
        except json.JSONDecodeError:
            raise InputError("checkpoint metadata is not valid JSON; corrupt", path=path) from None
    else:  # checkpoints of earlier versions kept the metadata beside the tensors
        meta = read_json(state_dir / "state.json")
    if not isinstance(meta, dict) or not {"info", "param_groups", "optim_scalars"} <= set(meta):
        raise InputError("checkpoint metadata lacks info, param_groups or optim_scalars", path)
    target = unwrap(model)
    weights = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
    check_state_fits(target.state_dict(), weights, path)
    params = [p for group in optimizer.param_groups for p in group["params"]]
    opt_state: dict[int, dict[str, Any]] = {}
    try:
        for key, value in tensors.items():
            if key.startswith("optim."):
                _, idx, name = key.split(".", 2)
                i = int(idx)
                if not 0 <= i < len(params) or (
                    value.dim() > 0 and tuple(value.shape) != tuple(params[i].shape)
                ):
                    raise InputError(
                        f"optimizer state {key} (shape {tuple(value.shape)}) does not fit the "
                        "model's parameters; the checkpoint belongs to another model",
                        path=path,
                    )
                opt_state.setdefault(i, {})[name] = value
        for key, value in meta["optim_scalars"].items():
            idx, name = key.split(".", 1)
            opt_state.setdefault(int(idx), {})[name] = value
        target.load_state_dict(weights)
        optimizer.load_state_dict({"state": opt_state, "param_groups": meta["param_groups"]})
        if scheduler is not None and meta.get("scheduler") is not None:
            scheduler.load_state_dict(meta["scheduler"])
        torch.set_rng_state(tensors["rng.torch"])
        generator.set_state(tensors["rng.generator"])
        info = meta["info"]
        for key in ("epoch", "best_score", "best_epoch", "bad_epochs"):
            info[key]  # noqa: B018 (checked here, used by the trainer)
    except InputError:
        raise
    except (KeyError, ValueError, TypeError, RuntimeError, AttributeError) as err:
        message = " ".join(str(err).split()) or type(err).__name__
        raise InputError(
            f"checkpoint does not fit this model and optimizer ({message}); start a new run "
            "(--force) or resume with the options it was trained with",
            path=path,
        ) from None
    cuda_states = [tensors[k] for k in sorted(tensors) if k.startswith("rng.cuda.")]
    if cuda_states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda_states[: torch.cuda.device_count()])
    remove_orphan_temporaries(run_dir)
    return info


def load_run(run_dir: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """Rebuild the model of a run directory from ``config.json`` and load its best weights.

    Returns
    -------
    (model, config) : (torch.nn.Module, dict)
        The model in eval mode on ``device``, and the run's configuration.

    Raises
    ------
    InputError
        A missing run directory, a ``config.json`` that is missing, malformed, from a newer
        seqcnn or without a model, or weights that fail :func:`load_weights`.

    Examples
    --------
    >>> model, config = load_run("RUN")  # doctest: +SKIP
    """
    from seqcnn.models import create_model

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError("run directory not found", path=run_dir)
    config = read_config(run_dir)
    spec = config.get("model")
    if not isinstance(spec, dict) or "name" not in spec or "args" not in spec:
        missing = (
            "'model'"
            if not isinstance(spec, dict)
            else "'name'"
            if "name" not in spec
            else "'args'"
        )
        raise InputError(f"config.json lacks {missing}", path=run_dir / CONFIG)
    if not isinstance(spec["args"], dict):
        raise InputError("model args in config.json are not a JSON object", path=run_dir / CONFIG)
    try:
        model = create_model(spec["name"], **spec["args"])
    except InputError:
        raise
    except (ConfigError, UnknownNameError, TypeError, ValueError) as err:
        message = " ".join(str(err).split())
        raise InputError(
            f"cannot build the model it describes: {message}", path=run_dir / CONFIG
        ) from None
    load_weights(model, run_dir / WEIGHTS)
    return model.to(device).eval(), config
