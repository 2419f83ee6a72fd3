"""Where seqcnn's data files are: the embedded demo dataset, and the real public datasets.

The demo dataset ships with the package (``data/demo`` of a checkout, ``share/seqcnn/demo`` of
an installation). The real datasets that seqcnn is tested and benchmarked on are not shipped:
``data/registry.tsv`` names each file with its size, SHA-256, source, licence and citation, and
:func:`find_dataset` finds a local copy in the folder named by the ``data_dir`` argument or
``$SEQCNN_DATA_DIR`` (there is no default: an installed package has no idea where a checkout's
data lies) and checks it against the registry.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from seqcnn.exceptions import InputError, UnknownNameError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["DATA_DIR_ENV", "data_root", "demo_data_dir", "read_registry", "find_dataset"]

#: Environment variable naming the folder that holds the real datasets.
DATA_DIR_ENV = "SEQCNN_DATA_DIR"
_SPLITS = ("train", "valid", "test")


def _package_data_roots() -> list[Path]:
    """``data/`` of a source checkout, then ``<prefix>/share/seqcnn`` of an installation."""
    return [Path(__file__).resolve().parents[1] / "data", Path(sys.prefix) / "share" / "seqcnn"]


def demo_data_dir() -> Path:
    """The folder that holds the embedded demo dataset.

    Looks for ``data/demo`` in the source checkout this module belongs to, then for
    ``<sys.prefix>/share/seqcnn/demo`` (where an installation puts it).

    Returns
    -------
    pathlib.Path
        A folder with ``train.tsv.gz``, ``valid.tsv.gz`` and ``test.tsv.gz`` (and the other
        :data:`DEMO_FILES`).

    Raises
    ------
    InputError
        When neither place has the demo files; the message lists both places and how to
        regenerate the data.

    Examples
    --------
    >>> (demo_data_dir() / "train.tsv.gz").is_file()
    True
    """
    candidates = [root / "demo" for root in _package_data_roots()]
    for folder in candidates:
        if all((folder / f"{split}.tsv.gz").is_file() for split in _SPLITS):
            return folder
    raise InputError(
        "the demo dataset is missing; looked in: "
        + ", ".join(str(c) for c in candidates)
        + ". Reinstall seqcnn, or regenerate it with: python -m seqcnn.simulate DIR"
    )


def _registry_path() -> Path:
    candidates = [root / "registry.tsv" for root in _package_data_roots()]
    for path in candidates:
        if path.is_file():
            return path
    raise InputError(
        "the dataset registry is missing; looked in: " + ", ".join(map(str, candidates))
    )


_REGISTRY_COLUMNS = ("name", "path", "sha256", "bytes", "source", "license", "citation")


def read_registry(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """The registry of real public datasets (``data/registry.tsv``).

    Parameters
    ----------
    path : str or os.PathLike, optional
        A registry file; by default the one shipped with seqcnn.

    Returns
    -------
    pandas.DataFrame
        One row per file: ``name`` (short unique name), ``path`` (relative to the data
        folder, ``/``-separated), ``sha256``, ``bytes``, ``source``, ``license``, ``citation``.

    Examples
    --------
    >>> reg = read_registry()
    >>> reg.loc[reg["name"] == "images/mnist_test_10k", "path"].item()
    'images/mnist_test_10k.npz'
    """
    import pandas as pd

    path = _registry_path() if path is None else Path(path)
    try:
        table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except FileNotFoundError as err:
        raise InputError("no such file", path=path) from err
    missing = [c for c in _REGISTRY_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(
            f"not a dataset registry: missing columns {missing}; "
            f"expected {list(_REGISTRY_COLUMNS)}",
            path=path,
        )
    table["bytes"] = table["bytes"].astype("int64")
    return table


def _root_and_origin(data_dir: str | os.PathLike | None) -> tuple[Path, str]:
    if data_dir is not None:
        return Path(data_dir), "the data_dir argument"
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]), f"${DATA_DIR_ENV}"
    raise InputError(
        f"no data folder given: ${DATA_DIR_ENV} is not set. Point it at the folder that "
        f"holds the datasets, e.g. export {DATA_DIR_ENV}=/path/to/data"
    )


def data_root(data_dir: str | os.PathLike | None = None) -> Path:
    """The folder that holds the real datasets: ``data_dir``, else ``$SEQCNN_DATA_DIR``.

    Raises
    ------
    InputError
        When neither is given, or the folder does not exist; the message says how to set
        ``SEQCNN_DATA_DIR``.

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> data_root(d) == Path(d)
    True
    """
    root, origin = _root_and_origin(data_dir)
    if not root.is_dir():
        raise InputError(
            f"the data folder {root} (from {origin}) does not exist; set {DATA_DIR_ENV} to "
            "the folder that holds the datasets",
            path=root,
        )
    return root


def find_dataset(
    relpath: str,
    *,
    data_dir: str | os.PathLike | None = None,
    check_sha256: bool = False,
    registry: pd.DataFrame | None = None,
) -> Path:
    """Find the local copy of a registered public dataset file, and check it.

    The file is looked for in ``data_dir`` if given, else in ``$SEQCNN_DATA_DIR``
    (:func:`data_root`). Its size is always compared with
    the registry's; its SHA-256 too when ``check_sha256`` is true (that reads the whole file).

    Parameters
    ----------
    relpath : str
        The file's ``path`` in the registry (relative to the data folder, such as
        ``"motifs/JASPAR2024_CORE_vertebrates_nonredundant.meme"``), or its ``name``.
    data_dir : str or os.PathLike, optional
        The folder that holds the datasets; overrides ``$SEQCNN_DATA_DIR``.
    check_sha256 : bool
        Also verify the checksum.
    registry : pandas.DataFrame, optional
        A registry as :func:`read_registry` returns; the shipped one by default.

    Returns
    -------
    pathlib.Path
        The local file.

    Raises
    ------
    UnknownNameError
        When ``relpath`` is not registered (the message lists what is).
    InputError
        When the file is absent (the message says where it looked and how to set
        ``SEQCNN_DATA_DIR``), or its size or checksum differs from the registry's.

    Examples
    --------
    >>> path = find_dataset("genome-slice/eqtl_chr1.hg38.std.vcf")  # doctest: +SKIP
    >>> path.name  # doctest: +SKIP
    'eqtl_chr1.hg38.std.vcf'
    """
    table = read_registry() if registry is None else registry
    key = str(PurePosixPath(str(relpath).replace(os.sep, "/")))
    rows = table[(table["path"] == key) | (table["name"] == key)]
    if len(rows) == 0:
        raise UnknownNameError("dataset", str(relpath), list(table["name"]))
    row = rows.iloc[0]
    root, origin = _root_and_origin(data_dir)
    path = root / PurePosixPath(row["path"])
    if not path.is_file():
        raise InputError(
            f"dataset {row['path']!r} not found; looked in {path} ({origin}). Set "
            f"{DATA_DIR_ENV} to the folder that holds the datasets, e.g. "
            f"export {DATA_DIR_ENV}=/path/to/data "
            f"(source: {row['source']})"
        )
    size = path.stat().st_size
    if size != int(row["bytes"]):
        raise InputError(
            f"size {size} bytes, but the registry says {row['bytes']}: an incomplete copy or "
            f"another version of {row['path']!r} (source: {row['source']})",
            path=path,
        )
    if check_sha256:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != row["sha256"]:
            raise InputError(
                f"SHA-256 {digest.hexdigest()} differs from the registry's {row['sha256']}: "
                f"a corrupted copy or another version of {row['path']!r}",
                path=path,
            )
    return path
