"""Figures: evaluation curves and training history (:mod:`seqcnn.plot.evaluation`).

Analyses add their own modules here (sequence logos, mutation maps), all drawn through
:mod:`seqcnn.plot.common`. matplotlib is imported inside the functions, so ``import seqcnn``
stays light.
"""

from seqcnn.plot.common import FIGURE_FORMATS
from seqcnn.plot.evaluation import plot_confusion, plot_history, plot_pr, plot_roc

__all__ = ["plot_roc", "plot_pr", "plot_history", "plot_confusion", "FIGURE_FORMATS"]
