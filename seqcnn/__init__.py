"""seqcnn: sequence-based deep learning for genomics, in the line of DeepBind."""

__version__ = "0.1.0"
