"""Data loaders on small files written in the official formats, and the digits."""
from __future__ import annotations

import dataclasses
import pickle
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from nasbench.data import DATASETS, DatasetNotFoundError, load_dataset
from nasbench.data import cifar
from nasbench.data.cifar import CIFAR10, CIFAR100, file_md5, load_cifar, load_cifar10, load_cifar100
from nasbench.data.digits import load_digits

IMAGES_PER_BATCH = 6


def _pickle_batch(path: Path, images: np.ndarray, labels: list[int], label_key: bytes) -> None:
    """One batch file laid out like the originals: a dict with bytes keys, protocol 2."""
    record = {
        b"batch_label": path.name.encode(),
        label_key: labels,
        b"data": images.reshape(len(images), 3072),
        b"filenames": [f"image_{i}.png".encode() for i in range(len(images))],
    }
    with open(path, "wb") as handle:
        pickle.dump(record, handle, protocol=2)


def _batch_images(seed: int, count: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, 3, 32, 32), dtype=np.uint8)


def write_cifar(root: Path, spec: cifar.CifarArchive, *, archive: bool = False) -> Path:
    """Write a tiny ``spec`` data set into ``root`` (the folder, or only its tar.gz)."""
    folder = root / spec.folder
    folder.mkdir(parents=True)
    for number, name in enumerate(spec.train_files + spec.test_files):
        count = IMAGES_PER_BATCH * (5 if spec is CIFAR100 and name == "train" else 1)
        labels = [(number + i) % spec.num_classes for i in range(count)]
        _pickle_batch(folder / name, _batch_images(number, count), labels, spec.label_key)
    if archive:
        with tarfile.open(root / spec.archive, "w:gz") as tar:
            tar.add(folder, arcname=spec.folder)
        shutil.rmtree(folder)
    return root


def test_cifar10_from_folder(tmp_path):
    splits = load_cifar10(write_cifar(tmp_path, CIFAR10), val_size=6)
    assert len(splits.train[1]) == 24 and len(splits.val[1]) == 6
    assert len(splits.test[1]) == IMAGES_PER_BATCH
    assert splits.train[0].shape == (24, 3, 32, 32) and splits.train[0].dtype == torch.float32
    assert splits.train[1].dtype == torch.int64
    assert (splits.num_classes, splits.input_shape, splits.name) == (10, (3, 32, 32), "cifar10")
    mean, std = splits.train[0].mean(dim=(0, 2, 3)), splits.train[0].std(dim=(0, 2, 3))
    assert torch.allclose(mean, torch.zeros(3), atol=1e-5)
    assert torch.allclose(std, torch.ones(3), atol=1e-5)


def test_cifar_pixels_keep_their_channel_layout(tmp_path):
    write_cifar(tmp_path, CIFAR10)
    images, labels = cifar.read_batches(tmp_path / CIFAR10.folder, ("data_batch_2",), b"labels")
    expected = _batch_images(1, IMAGES_PER_BATCH)
    assert images.dtype == torch.uint8 and torch.equal(images, torch.from_numpy(expected))
    assert labels.tolist() == [(1 + i) % 10 for i in range(IMAGES_PER_BATCH)]


def test_cifar10_from_tarball_matches_folder(tmp_path):
    from_folder = load_cifar10(write_cifar(tmp_path / "a", CIFAR10), val_size=6, seed=3)
    root = write_cifar(tmp_path / "b", CIFAR10, archive=True)
    assert not (root / CIFAR10.folder).exists()
    # A test-made archive is not the official one: the spec names its md5, as a mirror would.
    spec = dataclasses.replace(CIFAR10, md5=file_md5(root / CIFAR10.archive))
    from_archive = load_cifar(spec, root, val_size=6, seed=3, download=False)
    assert (root / CIFAR10.folder / "test_batch").is_file()
    assert torch.equal(from_folder.val[0], from_archive.val[0])
    assert torch.equal(from_folder.train[1], from_archive.train[1])


def test_cifar100_reads_fine_labels(tmp_path):
    splits = load_cifar100(write_cifar(tmp_path, CIFAR100), val_size=5)
    assert splits.num_classes == 100 and splits.name == "cifar100"
    assert len(splits.train[1]) == 25 and len(splits.val[1]) == 5
    assert splits.test[1].tolist() == [(1 + i) % 100 for i in range(IMAGES_PER_BATCH)]


def test_split_is_seeded_and_fraction_keeps_validation(tmp_path):
    root = write_cifar(tmp_path, CIFAR10)
    first, again = (load_cifar10(root, val_size=6, seed=1) for _ in range(2))
    other = load_cifar10(root, val_size=6, seed=2)
    assert torch.equal(first.val[0], again.val[0]) and torch.equal(first.train[1], again.train[1])
    assert not torch.equal(first.val[0], other.val[0])
    half = load_cifar10(root, val_size=6, seed=1, train_fraction=0.5)
    assert len(half.train[1]) == 12 and torch.equal(half.val[1], first.val[1])


def test_resolution_resizes_every_split(tmp_path):
    splits = load_cifar10(write_cifar(tmp_path, CIFAR10), val_size=6, resolution=16)
    assert splits.input_shape == (3, 16, 16)
    shapes = {split[0].shape[1:] for split in (splits.train, splits.val, splits.test)}
    assert shapes == {(3, 16, 16)}


def test_offline_error_is_one_line_saying_where_and_how(tmp_path):
    def unreachable(url: str, destination: Path) -> None:
        destination.write_bytes(b"partial")
        raise OSError("[Errno 101] Network is unreachable\n(second line)")

    with pytest.raises(DatasetNotFoundError) as caught:
        load_cifar10(tmp_path / "data", downloader=unreachable)
    message = str(caught.value)
    assert "\n" not in message
    assert str(tmp_path / "data" / CIFAR10.folder) in message
    assert CIFAR10.archive in message and CIFAR10.md5 in message and CIFAR10.url in message
    assert "Network is unreachable" in message
    assert not list((tmp_path / "data").iterdir())  # no half-downloaded file is left


def test_default_downloader_is_looked_up_at_call_time(tmp_path, monkeypatch):
    def offline(url: str, destination: Path) -> None:
        raise OSError("no network in tests")

    monkeypatch.setattr(cifar, "urllib_download", offline)
    with pytest.raises(DatasetNotFoundError, match="no network in tests"):
        load_dataset("cifar100", tmp_path)


def test_download_disabled_says_so(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"download=False"):
        load_dataset("cifar10", tmp_path, download=False)


def test_download_with_wrong_md5_is_refused(tmp_path):
    def corrupt(url: str, destination: Path) -> None:
        destination.write_bytes(b"not a tarball")

    with pytest.raises(DatasetNotFoundError, match="md5"):
        load_cifar10(tmp_path, downloader=corrupt)
    assert not list(tmp_path.iterdir())


def test_downloaded_archive_is_verified_and_extracted(tmp_path):
    source = write_cifar(tmp_path / "server", CIFAR10, archive=True) / CIFAR10.archive
    spec = dataclasses.replace(CIFAR10, md5=file_md5(source))
    fetched = []

    def copy(url: str, destination: Path) -> None:
        fetched.append(url)
        shutil.copyfile(source, destination)

    splits = load_cifar(spec, tmp_path / "data", val_size=6, downloader=copy)
    assert fetched == [CIFAR10.url] and len(splits.train[1]) == 24
    assert (tmp_path / "data" / CIFAR10.archive).is_file()


def test_no_root_means_the_user_data_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NASBENCH_DATA", str(tmp_path / "cache"))
    with pytest.raises(DatasetNotFoundError, match=str(tmp_path / "cache")):
        load_dataset("cifar10", download=False)


def test_digits_splits():
    splits = load_digits(seed=0)
    sizes = [len(split[1]) for split in (splits.train, splits.val, splits.test)]
    assert sizes == [1257, 270, 270] and sum(sizes) == 1797
    assert splits.input_shape == (1, 8, 8) and splits.num_classes == 10
    assert torch.allclose(splits.train[0].mean(), torch.zeros(()), atol=1e-5)
    assert torch.allclose(splits.train[0].std(), torch.ones(()), atol=1e-4)


def test_digits_seeding_fraction_and_upscaling():
    first, again, other = load_digits(seed=0), load_digits(seed=0), load_digits(seed=1)
    assert torch.equal(first.val[0], again.val[0])
    assert not torch.equal(first.val[1], other.val[1])
    assert torch.equal(first.test[1], other.test[1])  # the test split does not move with the seed
    upscaled = load_dataset("digits", seed=0, resolution=16, train_fraction=0.5)
    assert upscaled.input_shape == (1, 16, 16) and upscaled.train[0].shape[0] == 628
    assert torch.equal(upscaled.val[1], first.val[1])


def test_registry_is_immutable_and_names_the_known_sets():
    assert set(DATASETS) == {"cifar10", "cifar100", "digits", "image_folder"}
    with pytest.raises(TypeError):
        DATASETS["mnist"] = load_digits  # type: ignore[index]
    with pytest.raises(ValueError, match="cifar10, cifar100, digits, image_folder"):
        load_dataset("mnist")


def test_splits_move_to_a_device():
    splits = load_digits().to("cpu")
    assert splits.train[0].device.type == "cpu" and "train=1257" in repr(splits)


def test_a_local_archive_with_another_md5_is_not_extracted(tmp_path):
    root = write_cifar(tmp_path, CIFAR10, archive=True)
    with pytest.raises(cifar.DatasetIntegrityError, match=f"md5 [0-9a-f]{{32}} is not the official {CIFAR10.md5}"):
        load_cifar10(root, download=False)
    assert not (root / CIFAR10.folder).exists()


class _WritesMarker:
    """Unpickling this runs code: it opens (creates) the marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_crafted_batch_runs_nothing_and_gives_one_line(tmp_path):
    root = write_cifar(tmp_path / "data", CIFAR10)
    marker = tmp_path / "marker"
    crafted = {b"batch_label": b"x", b"labels": [0], b"data": _WritesMarker(marker)}
    payload = pickle.dumps(crafted, protocol=2)
    pickle.loads(payload).get(b"data").close()  # the control: a plain unpickler runs it
    assert marker.is_file()
    marker.unlink()
    (root / CIFAR10.folder / "data_batch_3").write_bytes(payload)
    with pytest.raises(cifar.DatasetIntegrityError) as caught:
        load_cifar10(root, download=False)
    assert not marker.exists()
    message = str(caught.value)
    assert "\n" not in message
    assert message.endswith("data_batch_3: refused as a CIFAR batch (it names io.open, which CIFAR batches do not hold)")


@pytest.mark.parametrize("record", [[1, 2], {b"data": np.zeros((1, 3072), np.float32), b"labels": [0]},
                                    {b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, {b"labels": [0]}])
def test_a_batch_of_another_shape_is_refused(tmp_path, record):
    root = write_cifar(tmp_path, CIFAR10)
    with open(root / CIFAR10.folder / "test_batch", "wb") as handle:
        pickle.dump(record, handle, protocol=2)
    with pytest.raises(cifar.DatasetIntegrityError, match="test_batch: refused as a CIFAR batch"):
        load_cifar10(root, download=False)
