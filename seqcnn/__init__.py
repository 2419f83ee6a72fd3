"""seqcnn: sequence-based deep learning for genomics, in the line of DeepBind.

The names most users need are available here and imported on first use, so that
``import seqcnn`` (and ``seqcnn --help``) stays quick:

>>> import seqcnn
>>> seqcnn.one_hot_encode("ACGT").shape
torch.Size([4, 4])
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "one_hot_encode": "seqcnn.sequence",
    "reverse_complement": "seqcnn.sequence",
    "dinucleotide_shuffle_many": "seqcnn.sequence",
    "read_table": "seqcnn.io",
    "create_model": "seqcnn.models",
    "list_models": "seqcnn.models",
    "Trainer": "seqcnn.train",
    "TrainConfig": "seqcnn.train",
    "train_run": "seqcnn.runs",
    "predict_run": "seqcnn.runs",
    "load_run": "seqcnn.checkpoint",
    "predict": "seqcnn.predict",
    "ism": "seqcnn.attribution",
    "attribute": "seqcnn.attribution",
    "score_variants": "seqcnn.variants",
    "filter_pwms": "seqcnn.motifs",
    "match_motifs": "seqcnn.motifs",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'seqcnn' has no attribute {name!r}")
