"""Model registry: architectures are registered by name and built with keyword arguments.

Every builder takes ``n_outputs`` (targets for sequence models, classes for image models) and
``in_channels``; a checkpoint stores the name and the keyword arguments, so a model is rebuilt
without executing any stored code.

Examples
--------
>>> from seqcnn.models import create_model, list_models
>>> "deepbind" in list_models()
True
>>> model = create_model("deepbind", n_outputs=2)
>>> model(torch.zeros(3, 4, 101)).shape
torch.Size([3, 2])
"""

from __future__ import annotations

import fnmatch
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from seqcnn.exceptions import ConfigError, SeqcnnError, UnknownNameError


@dataclass(frozen=True)
class ModelSpec:
    """What the registry knows about one architecture."""

    name: str
    builder: Callable[..., nn.Module]
    dim: int  # 1: sequences (N, C, L); 2: images (N, C, H, W)
    description: str


_REGISTRY: dict[str, ModelSpec] = {}


def register_model(
    name: str | None = None, *, dim: int, description: str = ""
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator that registers a builder function under ``name`` (default: its own name)."""

    def decorator(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        key = name or builder.__name__
        if key in _REGISTRY:
            raise ValueError(f"model {key!r} is registered twice")
        doc = description or (builder.__doc__ or "").strip().splitlines()[0]
        _REGISTRY[key] = ModelSpec(key, builder, dim, doc)
        return builder

    return decorator


def get_model_spec(name: str) -> ModelSpec:
    """The :class:`ModelSpec` registered as ``name``; the error lists the valid names."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownNameError("model", name, list(_REGISTRY)) from None


def create_model(name: str, **kwargs) -> nn.Module:
    """Build the registered model ``name`` with ``kwargs`` (e.g. ``n_outputs=1``).

    An argument the architecture does not take, or a value it cannot be built with, is a
    :class:`~seqcnn.exceptions.ConfigError` that names the model.
    """
    builder = get_model_spec(name).builder
    try:
        return builder(**kwargs)
    except (TypeError, ValueError, RuntimeError) as err:
        if isinstance(err, SeqcnnError):
            raise
        raise ConfigError(f"model {name!r} cannot be built with {kwargs}: {err}") from None


def model_arguments(name: str, **kwargs) -> dict[str, Any]:
    """Every constructor argument of model ``name``: ``kwargs`` plus the defaults of the rest.

    Stored in a run's ``config.json``, so that a run still loads after a default changes.
    The builder's own defaults are used, and, for builders that pass ``**kwargs`` on to a
    class, that class's defaults, read from the signature of the class the builder is
    annotated to return (no model is built).
    """
    builder = get_model_spec(name).builder
    resolved = _defaults(builder)
    if any(p.kind is p.VAR_KEYWORD for p in inspect.signature(builder).parameters.values()):
        resolved.update(_defaults(_returned_class(builder).__init__))
    resolved.update(kwargs)
    return {k: v for k, v in resolved.items() if _json_value(v)}


def _returned_class(builder: Callable[..., nn.Module]) -> type[nn.Module]:
    """The ``nn.Module`` subclass in a builder's return annotation."""
    cls = typing.get_type_hints(builder).get("return")
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise TypeError(
            f"builder {builder.__name__!r} takes **kwargs but is not annotated to return a "
            "model class, so its defaults cannot be read"
        )
    return cls


def _defaults(fn: Callable) -> dict[str, Any]:
    return {
        k: p.default
        for k, p in inspect.signature(fn).parameters.items()
        if p.default is not inspect.Parameter.empty and k != "self"
    }


def _json_value(v: Any) -> bool:
    return v is None or isinstance(v, (bool, int, float, str, list, tuple, dict))


def list_models(pattern: str = "*", dim: int | None = None) -> list[str]:
    """Registered model names matching a shell-style ``pattern``, optionally of one ``dim``."""
    return sorted(
        n
        for n, spec in _REGISTRY.items()
        if fnmatch.fnmatch(n, pattern) and (dim is None or spec.dim == dim)
    )


# In-place initialisers that have nothing to fill on the meta device. Their reference
# implementations (which the meta device runs) import torch._dynamo: over a second of start-up.
_INIT_OPS = frozenset(
    ("normal_", "uniform_", "fill_", "zero_", "copy_", "erfinv_", "mul_", "add_", "clamp_")
)


class _SkipInit(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if getattr(func, "__name__", None) in _INIT_OPS:
            # torch.nn.init passes its tensor by keyword, Tensor methods by position
            tensor = args[0] if args else kwargs.get("tensor")
            if isinstance(tensor, torch.Tensor) and tensor.is_meta:
                return tensor
        return func(*args, **kwargs)


def meta_model(name: str, **kwargs) -> nn.Module:
    """Model ``name`` with shapes only: on the meta device, no memory, no initialisation.

    For parameter counts and receptive fields without building the weights (VGG-16 has 138M).

    Examples
    --------
    >>> count_parameters(meta_model("vgg16", n_outputs=1000))
    138357544
    """
    with torch.device("meta"), _SkipInit():
        return create_model(name, **kwargs)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
