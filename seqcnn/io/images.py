"""Image classification datasets: ``.npz`` archives and scikit-learn's bundled digits.

:func:`load_images` returns images ``(N, C, H, W)`` float32 scaled to [0, 1], integer labels
``(N,)`` and the class names, whatever the layout in the file: flat square images ``(N, H*W)``,
grey images ``(N, H, W)``, channels first or last; labels as integers, one-hot rows or
strings. Archives are read with ``allow_pickle=False``, so loading never runs code.

Examples
--------
>>> X, y, names = load_images("sklearn-digits")
>>> X.shape, X.dtype, y[:5].tolist(), names[:3]
((1797, 1, 8, 8), dtype('float32'), [0, 1, 2, 3, 4], ['0', '1', '2'])
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import numpy as np

from seqcnn.exceptions import InputError

__all__ = ["BUILTIN_IMAGE_DATASETS", "IMAGE_KEYS", "LABEL_KEYS", "load_images"]

IMAGE_KEYS = ("X", "x", "images", "image", "data", "inputs")
LABEL_KEYS = ("Y", "y", "labels", "label", "targets", "target")
CLASS_NAME_KEYS = ("class_names", "classes", "label_names", "names")
BUILTIN_IMAGE_DATASETS = ("sklearn-digits",)
#: The most an ``.npz`` archive may hold once inflated, and the largest inflation ratio
#: accepted for archives over 64 MiB.
MAX_ARCHIVE_BYTES = 1 << 32
MAX_INFLATION = 1000

Fail = Callable[[str], NoReturn]  # raises InputError naming the file and its keys


def _load_sklearn_digits() -> tuple[np.ndarray, np.ndarray, list[str]]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = (digits.images[:, None, :, :] / 16.0).astype(np.float32)
    return X, digits.target.astype(np.int64), [str(c) for c in digits.target_names]


def _pick(keys: list[str], wanted: tuple[str, ...]) -> str | None:
    return next((k for k in wanted if k in keys), None)


def _to_nchw(X: np.ndarray, fail: Fail) -> np.ndarray:
    """Images ``(N, C, H, W)`` from flat square, ``(N, H, W)``, NCHW or NHWC arrays."""
    if X.ndim == 2:
        side = math.isqrt(X.shape[1])
        if side * side != X.shape[1]:
            fail(f"images are flat with {X.shape[1]} values each, not a square image")
        return X.reshape(len(X), 1, side, side)
    if X.ndim == 3:
        return X[:, None]
    if X.ndim == 4:  # the channel axis is axis 1 or 3, whichever is small (1 to 4)
        first, last = X.shape[1], X.shape[3]
        if min(first, last) > 4:
            fail(f"cannot tell the channel axis of images of shape {X.shape} (1 to 4 channels)")
        return X if first <= last or last > 4 else X.transpose(0, 3, 1, 2)
    fail(f"images must have 2 to 4 axes, got shape {X.shape}")


def _scale(X: np.ndarray, fail: Fail) -> np.ndarray:
    """float32 in [0, 1]: integers by 255 (or their maximum), floats outside [0, 1] min-max."""
    if X.dtype == bool:
        return X.astype(np.float32)
    if np.issubdtype(X.dtype, np.integer):
        if X.size and X.min() < 0:
            fail("integer images have negative values")
        top = 255 if not X.size or X.max() <= 255 else int(X.max())
        return (X / np.float32(top)).astype(np.float32)
    if not np.issubdtype(X.dtype, np.floating):
        fail(f"images have dtype {X.dtype}, not numbers")
    X = X.astype(np.float32)
    if not np.isfinite(X).all():
        fail("images contain NaN or infinite values")
    lo, hi = (float(X.min()), float(X.max())) if X.size else (0.0, 1.0)
    if lo < 0 or hi > 1:
        X = (X - lo) / (hi - lo if hi > lo else 1.0)
    return X


def _labels(
    Y: np.ndarray, n: int, names: list[str] | None, fail: Fail
) -> tuple[np.ndarray, list[str]]:
    """Integer labels ``(N,)`` and class names from integer, one-hot or string labels."""
    if Y.ndim == 2 and Y.shape[1] == 1:
        Y = Y[:, 0]
    if Y.ndim == 2:
        if Y.shape[0] != n:
            fail(f"{Y.shape[0]} label rows for {n} images")
        y = Y.argmax(axis=1).astype(np.int64)
        k = Y.shape[1]
    elif Y.ndim == 1:
        if len(Y) != n:
            fail(f"{len(Y)} labels for {n} images")
        if Y.dtype.kind in "USO":
            classes, y = np.unique(Y.astype(str), return_inverse=True)
            return y.astype(np.int64), names or [str(c) for c in classes]
        if Y.dtype.kind == "f" and not np.all(Y == np.round(Y)):
            fail("labels are fractional; expected class indices or one-hot rows")
        y = Y.astype(np.int64)
        if y.size and y.min() < 0:
            fail("labels are negative; expected class indices from 0")
        k = int(y.max()) + 1 if y.size else 0
    else:
        fail(f"labels must be (N,) or one-hot (N, K), got shape {Y.shape}")
    if names is not None and len(names) < k:
        fail(f"{len(names)} class names for {k} classes")
    return y, names or [str(i) for i in range(k)]


def _check_archive(path: Path) -> None:
    """Refuse files that are not zip archives, and archives that would inflate beyond
    :data:`MAX_ARCHIVE_BYTES` or by more than :data:`MAX_INFLATION` (zip bombs), before any
    array is read."""
    import zipfile

    try:
        if not zipfile.is_zipfile(path):
            raise InputError(
                "cannot read as an .npz archive: not a zip of .npy arrays as numpy.savez writes "
                "(truncated, or another format)",
                path=path,
            )
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (OSError, zipfile.BadZipFile) as err:
        raise InputError(f"cannot read as an .npz archive: {err}", path=path) from None
    total = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if total > MAX_ARCHIVE_BYTES or (total > 1 << 26 and total > MAX_INFLATION * packed):
        raise InputError(
            f"the archive would inflate to {total} bytes from {packed} (at most "
            f"{MAX_ARCHIVE_BYTES} bytes and {MAX_INFLATION}-fold); refused as too large or a "
            "zip bomb",
            path=path,
        )


def load_images(path_or_name: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Images and labels from an ``.npz`` file, or a built-in dataset by name.

    Parameters
    ----------
    path_or_name : str or os.PathLike
        An ``.npz`` with the images under one of :data:`IMAGE_KEYS` (``X``, ``x``,
        ``images``, ...) and the labels under one of :data:`LABEL_KEYS` (``Y``, ``y``,
        ``labels``, ...), and optionally ``class_names``; or ``"sklearn-digits"`` for
        :func:`sklearn.datasets.load_digits` (1797 8x8 grey digits).

    Returns
    -------
    X : numpy.ndarray, float32, shape (N, C, H, W)
        Images in [0, 1]: integers are divided by 255 (or by their maximum if larger),
        floats already in [0, 1] are kept, other floats are min-max scaled over the dataset.
        Flat rows ``(N, H*W)`` of square images become ``(N, 1, H, W)``, ``(N, H, W)`` gets a
        channel axis and channels-last ``(N, H, W, C)`` is transposed (the channel axis is
        whichever of axes 1 and 3 is at most 4, the smaller if both are).
    y : numpy.ndarray, int64, shape (N,)
        Class indices; one-hot rows ``(N, K)`` are turned into their argmax, strings into
        indices of their sorted unique values.
    class_names : list of str
        The name of each class: from the file, the strings, or ``"0"`` to ``"K-1"``.

    Raises
    ------
    InputError
        The file is missing, or its arrays cannot be read as images and labels; the message
        names the file and the keys it has.
    """
    if str(path_or_name) in BUILTIN_IMAGE_DATASETS:
        return _load_sklearn_digits()
    path = Path(path_or_name)
    if not path.is_file():
        raise InputError(
            "no such file, and not a built-in image dataset "
            f"(those are: {', '.join(BUILTIN_IMAGE_DATASETS)})",
            path=path,
        )
    _check_archive(path)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*created on Python 2.*")
            with np.load(path, allow_pickle=False) as archive:
                arrays = {k: archive[k] for k in archive.files}
    except Exception as err:  # noqa: BLE001 (zipfile, zlib, numpy: every failure is one line)
        message = " ".join(str(err).split()) or type(err).__name__
        raise InputError(
            f"cannot read as an .npz archive of arrays: {message}", path=path
        ) from None
    keys = sorted(arrays)

    def fail(message: str) -> NoReturn:
        raise InputError(f"{message} (keys found: {', '.join(keys) or 'none'})", path=path)

    x_key, y_key = _pick(keys, IMAGE_KEYS), _pick(keys, LABEL_KEYS)
    if x_key is None or y_key is None:
        fail(
            f"expected images under one of {', '.join(IMAGE_KEYS)} and labels under one of "
            f"{', '.join(LABEL_KEYS)}"
        )
    name_key = _pick(keys, CLASS_NAME_KEYS)
    names = [str(c) for c in arrays[name_key].tolist()] if name_key else None
    if arrays[x_key].ndim == 0 or len(arrays[x_key]) == 0:
        fail(f"no images under {x_key!r} (shape {arrays[x_key].shape})")
    X = _scale(_to_nchw(arrays[x_key], fail), fail)
    y, names = _labels(arrays[y_key], len(X), names, fail)
    return np.ascontiguousarray(X), y, names
