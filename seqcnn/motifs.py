"""Motifs learned by a model's first convolution: filters to PWMs, influence, matching.

See docs/motifs.md for the recipes and the significance rule.
"""

from __future__ import annotations

import numpy as np

from seqcnn.exceptions import InputError

__all__ = ["information_content"]


def information_content(pwm, background=None) -> np.ndarray:
    """Information content of each column of a PWM, in bits.

    Parameters
    ----------
    pwm : np.ndarray, shape (4, L)
        Letter probabilities per column (normalised here if they are counts).
    background : np.ndarray, shape (4,), optional
        Background letter frequencies; uniform by default, which gives ``2 - H`` bits.

    Returns
    -------
    np.ndarray, shape (L,)
        The relative entropy of each column to the background (``0 log 0 = 0``).

    Examples
    --------
    >>> pwm = np.array([[1.0, 0.25, 0.5], [0, 0.25, 0.5], [0, 0.25, 0], [0, 0.25, 0]])
    >>> information_content(pwm)
    array([2., 0., 1.])
    """
    probs = np.asarray(pwm, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[0] != 4:
        raise InputError(f"pwm: expected shape (4, L), got {probs.shape}")
    if (probs < 0).any() or not np.isfinite(probs).all():
        raise InputError("pwm: expected finite, non-negative probabilities or counts")
    probs = probs / np.clip(probs.sum(axis=0, keepdims=True), 1e-300, None)
    bg = np.full(4, 0.25) if background is None else np.asarray(background, dtype=np.float64)
    if bg.shape != (4,) or (bg <= 0).any():
        raise InputError(f"background: expected 4 positive frequencies, got {bg.tolist()}")
    bg = bg / bg.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(probs > 0, probs * np.log2(probs / bg[:, None]), 0.0)
    return terms.sum(axis=0)
