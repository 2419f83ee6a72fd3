"""The run directory: weights in safetensors, everything else in JSON or CSV, never pickle.

::

    RUN/config.json         model name + constructor arguments, data description, training options
    RUN/model.safetensors   the best weights
    RUN/metrics.json        {"train": {...}, "valid": {...}, "test": {...}}
    RUN/history.csv         one row per epoch
    RUN/checkpoint/         what resume needs: last weights, optimizer state, RNG state, epoch
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from seqcnn.exceptions import InputError
from seqcnn.utils import atomic_output_path, atomic_write

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
METRICS = "metrics.json"
HISTORY = "history.csv"
STATE_DIR = "checkpoint"


def prepare_run_dir(path: str | Path, force: bool = False, resume: bool = False) -> Path:
    """Create the run directory; refuse to reuse a non-empty one unless ``force`` or ``resume``."""
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
    return path


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
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise InputError(f"not valid JSON ({err.msg})", path=path, line=err.lineno) from None


def save_tensors(tensors: dict[str, torch.Tensor], path: str | Path) -> None:
    """Save a dict of tensors as safetensors, atomically."""
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    with atomic_output_path(path) as tmp:
        save_file(tensors, str(tmp))


def save_weights(model: nn.Module, path: str | Path) -> None:
    """Save a model's ``state_dict`` (unwrapping DDP) as safetensors."""
    save_tensors(unwrap(model).state_dict(), path)


def load_weights(model: nn.Module, path: str | Path) -> nn.Module:
    """Load safetensors weights into ``model`` (strict), with a clear error on mismatch."""
    path = Path(path)
    if not path.is_file():
        raise InputError("weights file not found", path=path)
    state = load_file(str(path))
    try:
        unwrap(model).load_state_dict(state)
    except RuntimeError as err:
        details = [ln.strip() for ln in str(err).splitlines()[1:] if ln.strip()]
        more = f" (and {len(details) - 3} more)" if len(details) > 3 else ""
        raise InputError(
            f"weights do not fit the model in config.json: {'; '.join(details[:3])}{more}",
            path=path,
        ) from None
    return model


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside a DistributedDataParallel / DataParallel wrapper."""
    return getattr(model, "module", model)


def save_training_state(
    run_dir: str | Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any | None,
    info: dict[str, Any],
    generator: torch.Generator,
) -> None:
    """Write what resume needs into ``RUN/checkpoint/``: weights, optimizer, RNG, ``info``."""
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
    save_tensors(tensors, state_dir / "state.safetensors")
    meta = {
        "info": info,
        "param_groups": opt["param_groups"],
        "optim_scalars": scalars,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
    }
    write_json(meta, state_dir / "state.json")


def load_training_state(
    run_dir: str | Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any | None,
    generator: torch.Generator,
) -> dict[str, Any]:
    """Restore the state written by :func:`save_training_state`; returns its ``info`` dict."""
    state_dir = Path(run_dir) / STATE_DIR
    if not (state_dir / "state.safetensors").is_file():
        raise InputError("nothing to resume: no checkpoint/state.safetensors", path=run_dir)
    tensors = load_file(str(state_dir / "state.safetensors"))
    meta = read_json(state_dir / "state.json")
    unwrap(model).load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    opt_state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, idx, name = key.split(".", 2)
            opt_state.setdefault(int(idx), {})[name] = value
    for key, value in meta["optim_scalars"].items():
        idx, name = key.split(".", 1)
        opt_state.setdefault(int(idx), {})[name] = value
    optimizer.load_state_dict({"state": opt_state, "param_groups": meta["param_groups"]})
    if scheduler is not None and meta.get("scheduler") is not None:
        scheduler.load_state_dict(meta["scheduler"])
    torch.set_rng_state(tensors["rng.torch"])
    generator.set_state(tensors["rng.generator"])
    cuda_states = [tensors[k] for k in sorted(tensors) if k.startswith("rng.cuda.")]
    if cuda_states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda_states[: torch.cuda.device_count()])
    return meta["info"]


def load_run(run_dir: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """Rebuild the model of a run directory from ``config.json`` and load its best weights.

    Returns
    -------
    (model, config) : (torch.nn.Module, dict)
        The model in eval mode on ``device``, and the run's configuration.

    Examples
    --------
    >>> model, config = load_run("RUN")  # doctest: +SKIP
    """
    from seqcnn.models import create_model

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError("run directory not found", path=run_dir)
    config = read_json(run_dir / CONFIG)
    try:
        model = create_model(config["model"]["name"], **config["model"]["args"])
    except KeyError as err:
        raise InputError(f"config.json lacks {err}", path=run_dir / CONFIG) from None
    load_weights(model, run_dir / WEIGHTS)
    return model.to(device).eval(), config
