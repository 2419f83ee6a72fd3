"""Image datasets: the real MNIST archive, scikit-learn's digits and the layouts .npz files use."""

from __future__ import annotations

import numpy as np
import pytest

from seqcnn.exceptions import InputError
from seqcnn.io.images import load_images


@pytest.mark.filterwarnings("ignore:Reading `.npy` or `.npz` file required additional header")
def test_mnist_archive(data_dir) -> None:
    path = data_dir / "images" / "mnist_test_10k.npz"
    X, y, names = load_images(path)
    assert X.shape == (10000, 1, 28, 28) and X.dtype == np.float32
    assert X.min() == 0.0 and X.max() == 1.0
    assert y.shape == (10000,) and y.dtype == np.int64
    assert names == [str(i) for i in range(10)]
    with np.load(path) as raw:  # the one-hot rows and the flat pixels, read back
        assert np.array_equal(y, raw["Y"].argmax(1))
        assert np.array_equal(X.reshape(10000, 784) * 255, raw["X"].astype(np.float32))
    assert np.bincount(y).min() > 800  # every digit is there


def test_sklearn_digits() -> None:
    X, y, names = load_images("sklearn-digits")
    assert X.shape == (1797, 1, 8, 8) and X.dtype == np.float32
    assert 0.0 == X.min() and X.max() == 1.0  # scaled from 0..16
    assert y.dtype == np.int64 and set(y.tolist()) == set(range(10))
    assert names == [str(i) for i in range(10)]


def save(tmp_path, **arrays) -> str:
    path = tmp_path / "images.npz"
    np.savez(path, **arrays)
    return str(path)


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ((5, 16), (5, 1, 4, 4)),  # flat square
        ((5, 4, 6), (5, 1, 4, 6)),  # grey
        ((5, 3, 4, 6), (5, 3, 4, 6)),  # channels first
        ((5, 4, 6, 3), (5, 3, 4, 6)),  # channels last
        ((5, 8, 6, 1), (5, 1, 8, 6)),  # channels last, grey
    ],
)
def test_layouts(tmp_path, shape, expected) -> None:
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 256, size=shape).astype(np.uint8)
    X, y, _ = load_images(save(tmp_path, images=raw, labels=np.arange(5)))
    assert X.shape == expected and X.max() <= 1.0
    if shape == (5, 4, 6, 3):  # the same pixel, moved
        assert np.isclose(X[1, 2, 3, 4], raw[1, 3, 4, 2] / 255)
    assert y.tolist() == [0, 1, 2, 3, 4]


def test_scaling_of_floats(tmp_path) -> None:
    unit = np.linspace(0, 1, 5 * 16).reshape(5, 16)
    X, _, _ = load_images(save(tmp_path, x=unit, y=np.zeros(5)))
    assert np.allclose(X.reshape(5, 16), unit)  # already in [0, 1]: kept
    X, _, _ = load_images(save(tmp_path, x=unit * 4 - 2, y=np.zeros(5)))
    assert np.allclose(X.reshape(5, 16), unit)  # otherwise min-max scaled
    X, _, _ = load_images(save(tmp_path, x=np.full((5, 16), 1000, dtype=np.int32), y=np.zeros(5)))
    assert X.max() == 1.0  # integers beyond 255: by their maximum


def test_string_labels_and_class_names(tmp_path) -> None:
    X = np.zeros((4, 9))
    _, y, names = load_images(save(tmp_path, X=X, y=np.array(["dog", "cat", "dog", "emu"])))
    assert names == ["cat", "dog", "emu"] and y.tolist() == [1, 0, 1, 2]
    _, y, names = load_images(
        save(tmp_path, X=X, Y=np.eye(3)[[0, 2, 2, 1]], class_names=np.array(["a", "b", "c"]))
    )
    assert names == ["a", "b", "c"] and y.tolist() == [0, 2, 2, 1]


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"pixels": np.zeros((2, 4)), "y": np.zeros(2)}, "keys found: pixels, y"),
        ({"X": np.zeros((2, 5)), "y": np.zeros(2)}, "not a square image"),
        ({"X": np.zeros((2, 4)), "y": np.zeros(3)}, "3 labels for 2 images"),
        ({"X": np.zeros((2, 4)), "y": np.array([0.5, 1])}, "fractional"),
        ({"X": np.zeros((2, 4)), "y": np.array([-1, 1])}, "negative"),
        ({"X": np.zeros((2, 4)), "y": np.arange(2), "classes": np.array(["a"])}, "1 class names"),
        ({"X": np.zeros((2, 5, 6, 7)), "y": np.zeros(2)}, "channel axis"),
        ({"X": np.full((2, 4), np.nan), "y": np.zeros(2)}, "NaN"),
    ],
)
def test_errors_name_the_file_and_keys(tmp_path, arrays, message) -> None:
    path = save(tmp_path, **arrays)
    with pytest.raises(InputError, match=message) as err:
        load_images(path)
    assert str(err.value).startswith(path)
    assert "keys found: " in str(err.value)


def test_missing_file_or_unknown_name(tmp_path) -> None:
    with pytest.raises(InputError, match="sklearn-digits"):
        load_images(tmp_path / "nothing.npz")
    bad = tmp_path / "bad.npz"
    bad.write_text("not an archive")
    with pytest.raises(InputError, match="cannot read"):
        load_images(bad)


def test_broken_archives_are_one_line_and_never_unpickled(tmp_path, monkeypatch) -> None:
    import pickle
    import zipfile

    good = save(tmp_path, X=np.zeros((4, 8, 8)), y=np.arange(4))
    cases = {
        "truncated.npz": (open(good, "rb").read()[:200], "cannot read as an .npz archive"),
        "plain.npz": (b"not a zip at all", "cannot read as an .npz archive"),
        "pickle.npz": (pickle.dumps({"X": 1}), "cannot read as an .npz archive"),
    }
    for name, (content, phrase) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(InputError, match=phrase) as info:
            load_images(tmp_path / name)
        assert "\n" not in str(info.value) and str(info.value).startswith(str(tmp_path / name))
    np.save(tmp_path / "array.npy", np.zeros(3))
    (tmp_path / "array.npy").rename(tmp_path / "array.npz")
    with pytest.raises(InputError, match="cannot read as an .npz archive"):
        load_images(tmp_path / "array.npz")
    objects = tmp_path / "objects.npz"
    np.savez(objects, X=np.array([{"a": 1}] * 4, dtype=object), y=np.arange(4))
    with pytest.raises(InputError, match="allow_pickle"):
        load_images(objects)
    with zipfile.ZipFile(tmp_path / "bomb.npz", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("X.npy", bytes(200_000))
    monkeypatch.setattr("seqcnn.io.images.MAX_ARCHIVE_BYTES", 100_000)
    with pytest.raises(InputError, match="would inflate to 200000 bytes"):
        load_images(tmp_path / "bomb.npz")


def test_archive_without_images_is_an_error(tmp_path) -> None:
    with pytest.raises(InputError, match="no images under 'X'"):
        load_images(save(tmp_path, X=np.zeros((0, 8, 8)), y=np.zeros(0)))
