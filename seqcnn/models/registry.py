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
from collections.abc import Callable
from dataclasses import dataclass

import torch  # noqa: F401  (used by the doctest)
from torch import nn

from seqcnn.exceptions import UnknownNameError


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
    """Build the registered model ``name`` with ``kwargs`` (e.g. ``n_outputs=1``)."""
    return get_model_spec(name).builder(**kwargs)


def list_models(pattern: str = "*", dim: int | None = None) -> list[str]:
    """Registered model names matching a shell-style ``pattern``, optionally of one ``dim``."""
    return sorted(
        n
        for n, spec in _REGISTRY.items()
        if fnmatch.fnmatch(n, pattern) and (dim is None or spec.dim == dim)
    )


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
