"""CIFAR-10 and CIFAR-100 from the official python-version archives.

Krizhevsky, "Learning Multiple Layers of Features from Tiny Images", 2009;
https://www.cs.toronto.edu/~kriz/cifar.html. Each archive holds pickled dicts whose
``b'data'`` is a uint8 N×3072 array (1024 red, then green, then blue values of a 32×32
image, row-major) and whose labels sit under ``b'labels'`` (CIFAR-10) or
``b'fine_labels'`` (CIFAR-100).

The loader looks in ``root`` for the extracted folder, then for the archive (which it
extracts there), then downloads the archive from the official address. An archive, found
or downloaded, is extracted only when its md5 is the official one (``CifarArchive.md5``).
The batch files are read with an unpickler that admits only what the official batches
hold (dicts, lists, bytes, ints and uint8 numpy arrays), so a crafted batch in ``root``
is refused instead of run. When the files cannot be had it raises
:class:`DatasetNotFoundError` with a one-line message that says where it looked and how
to provide the files; a refused archive or batch raises :class:`DatasetIntegrityError`.
"""
from __future__ import annotations

import hashlib
import importlib
import pickle
import shutil
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Callable

import numpy as np
import torch
from torch import Tensor

from nasbench.core.errors import one_line
from nasbench.core.paths import data_cache_dir
from nasbench.data.splits import DatasetSplits, build_splits
from search_spaces.errors import NasError

Downloader = Callable[[str, Path], None]
"""Fetches ``url`` into the file ``destination``; raises on any failure."""


class DatasetNotFoundError(NasError, FileNotFoundError):
    """The data set's files are not on disk and could not be downloaded."""


class DatasetIntegrityError(DatasetNotFoundError):
    """An archive's md5 is not the official one, or a batch file holds something the
    official batches do not (a reference to code, say)."""


@dataclass(frozen=True)
class CifarArchive:
    """Where one CIFAR variant lives and how its pickles are laid out."""

    name: str
    url: str
    archive: str
    md5: str
    folder: str
    train_files: tuple[str, ...]
    test_files: tuple[str, ...]
    label_key: bytes
    num_classes: int


CIFAR10 = CifarArchive(
    name="cifar10",
    url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    archive="cifar-10-python.tar.gz",
    md5="c58f30108f718f92721af3b95e74349a",
    folder="cifar-10-batches-py",
    train_files=tuple(f"data_batch_{i}" for i in range(1, 6)),
    test_files=("test_batch",),
    label_key=b"labels",
    num_classes=10,
)

CIFAR100 = CifarArchive(
    name="cifar100",
    url="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
    archive="cifar-100-python.tar.gz",
    md5="eb9058c3a382ffc7106e4002c42a8d85",
    folder="cifar-100-python",
    train_files=("train",),
    test_files=("test",),
    label_key=b"fine_labels",
    num_classes=100,
)

VAL_SIZE = 5000
"""Images held out of the 50,000 training images for validation (45,000/5,000)."""


def urllib_download(url: str, destination: Path) -> None:
    """Stream ``url`` into ``destination`` with the standard library."""
    with urllib.request.urlopen(url, timeout=60) as response, open(destination, "wb") as out:
        shutil.copyfileobj(response, out, length=1 << 20)


def file_md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _missing_files(folder: Path, spec: CifarArchive) -> list[str]:
    return [name for name in spec.train_files + spec.test_files if not (folder / name).is_file()]


def _extract(archive: Path, root: Path) -> None:
    with tarfile.open(archive, "r:gz") as tar:
        # The "data" filter refuses absolute paths, links out of root and device files.
        tar.extractall(root, filter="data")


def _download(spec: CifarArchive, root: Path, downloader: Downloader) -> None:
    """Download the archive into ``root``, verify its md5 and move it into place."""
    root.mkdir(parents=True, exist_ok=True)
    partial = root / (spec.archive + ".part")
    try:
        downloader(spec.url, partial)
        digest = file_md5(partial)
        if digest != spec.md5:
            raise OSError(f"md5 {digest} of the downloaded file is not {spec.md5}")
        partial.replace(root / spec.archive)
    finally:
        partial.unlink(missing_ok=True)


def _check_md5(archive: Path, spec: CifarArchive) -> None:
    """Refuse an archive that is not the official one before anything in it is extracted."""
    digest = file_md5(archive)
    if digest != spec.md5:
        raise DatasetIntegrityError(f"{archive}: md5 {digest} is not the official {spec.md5}; "
                                    f"remove it, or put the archive from {spec.url} there")


def locate(spec: CifarArchive, root: str | Path, *, download: bool = True,
           downloader: Downloader | None = None) -> Path:
    """The folder holding ``spec``'s batch files, extracting or downloading as needed.

    ``downloader`` defaults to :func:`urllib_download`.
    """
    root = Path(root).expanduser()
    downloader = downloader if downloader is not None else urllib_download
    folder, archive = root / spec.folder, root / spec.archive
    if not _missing_files(folder, spec):
        return folder
    failure = "downloading is off (download=False)"
    if not archive.is_file() and download:
        try:
            _download(spec, root, downloader)
        except Exception as error:  # any failure of the network or the disk ends the same way
            failure = f"download from {spec.url} failed ({one_line(error)})"
    if archive.is_file():
        _check_md5(archive, spec)
        _extract(archive, root)
        missing = _missing_files(folder, spec)
        if not missing:
            return folder
        failure = f"{archive} lacks {', '.join(missing)}"
    raise DatasetNotFoundError(
        f"{spec.name} not found: looked for {folder}/ and {archive}; {failure}; "
        f"put {spec.archive} (md5 {spec.md5}, from {spec.url}) or its extracted "
        f"{spec.folder}/ folder in {root}"
    )


# The globals a CIFAR batch may name. The official files (Python 2, protocol 2) name
# numpy.core.multiarray._reconstruct, numpy.ndarray and numpy.dtype; NumPy 2 spells the
# first numpy._core.multiarray, and Python 3 writes protocol-2 bytes with _codecs.encode.
_BATCH_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): ("numpy._core.multiarray", "numpy.core.multiarray"),
    ("numpy._core.multiarray", "_reconstruct"): ("numpy._core.multiarray", "numpy.core.multiarray"),
    ("numpy", "ndarray"): ("numpy",),
    ("numpy", "dtype"): ("numpy",),
    ("_codecs", "encode"): ("_codecs",),
}


class BatchUnpickler(pickle.Unpickler):
    """An unpickler that resolves only ``_BATCH_GLOBALS``: anything else a pickle names
    (``os.system``, ``builtins.exec``, a class) is refused before it is looked up."""

    def find_class(self, module: str, name: str) -> Any:
        homes = _BATCH_GLOBALS.get((module, name))
        if homes is None:
            raise pickle.UnpicklingError(f"it names {module}.{name}, which CIFAR batches do not hold")
        for home in homes:
            try:
                return getattr(importlib.import_module(home), name)
            except (ImportError, AttributeError):
                continue
        raise pickle.UnpicklingError(f"{module}.{name} is not available in this NumPy")


def load_batch(handle: BinaryIO, where: Path, label_key: bytes) -> dict[bytes, Any]:
    """One batch file's dict, read with ``BatchUnpickler``; anything else is refused with
    one ``DatasetIntegrityError`` line."""
    try:
        # NOTE: the official files are Python 2 pickles; "bytes" keeps their str keys
        # as bytes and decodes the numpy array without guessing an encoding.
        record = BatchUnpickler(handle, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError,
            AttributeError, MemoryError) as error:
        raise DatasetIntegrityError(f"{where}: refused as a CIFAR batch ({' '.join(str(error).split())})") from error
    data = record.get(b"data") if isinstance(record, dict) else None
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.size % 3072:
        raise DatasetIntegrityError(f"{where}: refused as a CIFAR batch (no uint8 N×3072 array under b'data')")
    labels = record.get(label_key)
    if not isinstance(labels, list) or len(labels) * 3072 != data.size \
            or not all(isinstance(label, int) for label in labels):
        raise DatasetIntegrityError(f"{where}: refused as a CIFAR batch (no list of one int label per image "
                                    f"under {label_key!r})")
    return record


def read_batches(folder: Path, names: tuple[str, ...], label_key: bytes) -> tuple[Tensor, Tensor]:
    """Images (uint8 N×3×32×32) and labels (int64 N) of the pickled batch files ``names``."""
    images, labels = [], []
    for name in names:
        with open(folder / name, "rb") as handle:
            record = load_batch(handle, folder / name, label_key)
        images.append(np.asarray(record[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        labels.append(np.asarray(record[label_key], dtype=np.int64))
    return torch.from_numpy(np.concatenate(images)), torch.from_numpy(np.concatenate(labels))


def load_cifar(spec: CifarArchive, root: str | Path | None, *, seed: int = 0,
               train_fraction: float = 1.0, resolution: int | None = None,
               val_size: int = VAL_SIZE, download: bool = True,
               downloader: Downloader | None = None) -> DatasetSplits:
    """Train (45,000), validation (5,000, seeded) and test (10,000) splits of ``spec``.

    ``root`` is the directory that holds (or will hold) the archive or its extracted folder
    (``None``: the user's data cache, ``nasbench.core.paths.data_cache_dir()``); ``downloader`` is
    how the archive is fetched when neither is there and ``download`` is on.
    """
    folder = locate(spec, _root_or_cache(root), download=download, downloader=downloader)
    images, labels = read_batches(folder, spec.train_files, spec.label_key)
    test_images, test_labels = read_batches(folder, spec.test_files, spec.label_key)
    return build_splits(images, labels, test_images, test_labels, val_size=val_size, seed=seed,
                        train_fraction=train_fraction, resolution=resolution,
                        num_classes=spec.num_classes, name=spec.name)


def load_cifar10(root: str | Path | None, *, seed: int = 0, train_fraction: float = 1.0,
                 resolution: int | None = None, val_size: int = VAL_SIZE, download: bool = True,
                 downloader: Downloader | None = None) -> DatasetSplits:
    """CIFAR-10: 10 classes of 32×32 RGB images; arguments as in :func:`load_cifar`."""
    return load_cifar(CIFAR10, root, seed=seed, train_fraction=train_fraction,
                      resolution=resolution, val_size=val_size, download=download,
                      downloader=downloader)


def load_cifar100(root: str | Path | None, *, seed: int = 0, train_fraction: float = 1.0,
                  resolution: int | None = None, val_size: int = VAL_SIZE, download: bool = True,
                  downloader: Downloader | None = None) -> DatasetSplits:
    """CIFAR-100 with its 100 fine labels; arguments as in :func:`load_cifar`."""
    return load_cifar(CIFAR100, root, seed=seed, train_fraction=train_fraction,
                      resolution=resolution, val_size=val_size, download=download,
                      downloader=downloader)


def _root_or_cache(root: str | Path | None) -> str | Path:
    """``root``, or the user's data cache (``nasbench.core.paths.data_cache_dir()``) for None."""
    if root is None:
        return data_cache_dir()
    return root


def check_cifar10(root: str | Path | None) -> None:
    """Find (or download) CIFAR-10 when a search is set up: missing data is one line then,
    not a failure in every candidate."""
    locate(CIFAR10, _root_or_cache(root))


def check_cifar100(root: str | Path | None) -> None:
    """As :func:`check_cifar10`, for CIFAR-100."""
    locate(CIFAR100, _root_or_cache(root))
