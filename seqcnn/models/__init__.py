"""Model architectures, built by name through a registry.

Importing this package registers every architecture that ships with seqcnn.
"""

from seqcnn.models import deepbind  # noqa: F401  (registers models)
from seqcnn.models.registry import (
    ModelSpec,
    count_parameters,
    create_model,
    get_model_spec,
    list_models,
    register_model,
)

__all__ = [
    "ModelSpec",
    "count_parameters",
    "create_model",
    "get_model_spec",
    "list_models",
    "register_model",
]
