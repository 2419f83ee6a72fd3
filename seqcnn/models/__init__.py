"""Model architectures, built by name through a registry.

Importing this package registers every architecture that ships with seqcnn.
"""

from seqcnn.models import (  # noqa: F401  (importing registers the models)
    alexnet,
    deepbind,
    dilated,
    fcn,
    googlenet,
    lenet,
    residual,
    resnet,
    vgg,
)
from seqcnn.models.registry import (
    ModelSpec,
    count_parameters,
    create_model,
    get_model_spec,
    list_models,
    meta_model,
    model_arguments,
    register_model,
)

__all__ = [
    "ModelSpec",
    "count_parameters",
    "meta_model",
    "create_model",
    "get_model_spec",
    "list_models",
    "model_arguments",
    "register_model",
]
