"""An ImageNet-style image folder (one subfolder per class) as resident tensors.

Two layouts are read: ``ROOT/CLASS/*.jpg`` (every image goes into the train/validation
pool) and ImageNet's ``ROOT/train/CLASS/...`` with an optional ``ROOT/val/CLASS/...``,
which becomes the test split (the official validation set is for final reports; the
validation split used for selection is drawn from ``train``). Classes are the sorted
subfolder names (a subfolder without images is refused, as is a folder of one class);
files are read in sorted order, so the same folder and seed give the same splits. Each
image is decoded with Pillow (or ``torchvision.io`` where Pillow is missing), converted
to RGB, its shorter side resized to ``resolution`` and centre-cropped to a square (the
usual evaluation transform, Szegedy et al. 2015 / torchvision's ``Resize`` +
``CenterCrop``). Splits, normalisation and subsampling are
``nasbench.data.splits.build_splits``'s.

NOTE: the images are held in memory as float32 tensors, like every data set here (the
trainer augments whole batches on the device). That fits ImageNet subsets and small
folders (about 0.6 MB per image at 224×224), not the 1.28 M images of ImageNet-1k,
which would need a streaming loader.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from nasbench.core.errors import first_line
from nasbench.data.cifar import DatasetNotFoundError
from nasbench.data.splits import DatasetSplits, build_splits
from search_spaces.errors import NasError

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".ppm", ".pgm", ".tif", ".tiff", ".webp"})
VAL_FRACTION = 0.1


class ImageFolderError(NasError, ValueError):
    """A folder that does not hold a class-per-subfolder image data set."""


def class_folders(root: Path) -> list[Path]:
    """The class subfolders of ``root`` (sorted by name), each holding at least one image."""
    return [folder for folder in subfolders(root) if any(image_files(folder))]


def subfolders(root: Path) -> list[Path]:
    """The visible subfolders of ``root``, sorted by name."""
    return sorted(path for path in root.iterdir() if path.is_dir() and not path.name.startswith("."))


def training_root(root: Path) -> Path:
    """Where the training classes are: ``ROOT/train`` in ImageNet's layout, else ``ROOT``."""
    return root / "train" if (root / "train").is_dir() else root


def check_image_folder(root: str | Path | None) -> list[str]:
    """The class names of the image folder ``root``, after the checks that need no image
    decoded: the folder exists, it has at least two class subfolders, every one of them
    holds an image, and every image file is readable. Raises ``DatasetNotFoundError`` or ``ImageFolderError`` with one
    line naming the folder."""
    if root is None:
        raise ImageFolderError("an image folder needs its directory: set data.root=DIR")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetNotFoundError(f"image folder {str(root)!r} does not exist")
    train_root = training_root(root)
    folders = subfolders(train_root)
    if not folders:
        raise ImageFolderError(f"{train_root}: no class subfolders (expected one subfolder of images per class)")
    empty = [folder.name for folder in folders if not any(image_files(folder))]
    if empty:
        raise ImageFolderError(f"{train_root}: class {empty[0]!r} has no images "
                               f"({', '.join(sorted(IMAGE_EXTENSIONS))})")
    if len(folders) < 2:
        raise ImageFolderError(f"{train_root}: expected a subfolder of images per class, found 1 class")
    held_out = subfolders(root / "val") if train_root != root and (root / "val").is_dir() else []
    for folder in folders + held_out:
        for path in image_files(folder):
            check_image(path)
    return [folder.name for folder in folders]


def check_image(path: Path) -> None:
    """Refuse, with one line naming it, a file that is not a readable image (Pillow reads
    its header and checks its structure without decoding the pixels)."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is installed here; torchvision decodes at load
        return
    try:
        with Image.open(path) as image:
            image.verify()
    except (OSError, SyntaxError, ValueError) as exc:  # PIL raises all three for damaged files
        raise ImageFolderError(f"{path}: not a readable image ({first_line(exc)})") from None


def image_files(folder: Path) -> list[Path]:
    """The images directly inside ``folder``, sorted by name."""
    return sorted(path for path in folder.iterdir() if path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS)


def decode_image(path: Path, resolution: int | None) -> Tensor:
    """One image as a uint8 3×H×W tensor; with ``resolution`` its shorter side is resized to
    it and the centre square cut out."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is installed here
        return _decode_with_torchvision(path, resolution)
    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
            if resolution is not None:
                width, height = image.size
                scale = resolution / min(width, height)
                size = (max(resolution, round(width * scale)), max(resolution, round(height * scale)))
                if size != (width, height):
                    image = image.resize(size, Image.Resampling.BILINEAR)
                left, top = (size[0] - resolution) // 2, (size[1] - resolution) // 2
                image = image.crop((left, top, left + resolution, top + resolution))
            array = np.asarray(image, dtype=np.uint8)
    except OSError as exc:
        raise ImageFolderError(f"{path}: cannot decode ({exc})") from exc
    return torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous()


def _decode_with_torchvision(path: Path, resolution: int | None) -> Tensor:  # pragma: no cover
    from torchvision.io import ImageReadMode, read_image
    from torchvision.transforms.functional import center_crop, resize

    image = read_image(str(path), mode=ImageReadMode.RGB)
    if resolution is not None:
        image = center_crop(resize(image, resolution, antialias=True), [resolution, resolution])
    return image


def read_folder(root: Path, classes: list[str], resolution: int | None) -> tuple[Tensor, Tensor]:
    """Every image of the class subfolders ``classes`` of ``root``: uint8 N×3×R×R and labels."""
    images, labels = [], []
    for label, name in enumerate(classes):
        folder = root / name
        for path in image_files(folder) if folder.is_dir() else []:
            images.append(decode_image(path, resolution))
            labels.append(label)
    if not images:
        return torch.zeros(0, 3, resolution or 1, resolution or 1, dtype=torch.uint8), torch.zeros(0, dtype=torch.int64)
    shapes = {tuple(image.shape) for image in images}
    if len(shapes) > 1:
        raise ImageFolderError(f"{root}: the images differ in size ({len(shapes)} sizes); give a resolution")
    return torch.stack(images), torch.tensor(labels, dtype=torch.int64)


def load_image_folder(root: str | Path | None, *, seed: int = 0, train_fraction: float = 1.0,
                      resolution: int | None = None, download: bool = True,
                      val_fraction: float = VAL_FRACTION) -> DatasetSplits:
    """Seeded train/validation splits (and a test split from ``ROOT/val`` where there is
    one) of the image folder ``root``; the signature of every loader in ``nasbench.data``.

    ``resolution``: the side of the square each image is resized and cropped to (None:
    the images' own size, which must then be one size). ``val_fraction`` of the pool (at
    least one image) is the validation split.
    """
    del download  # a local folder: nothing to download
    if not 0.0 < val_fraction < 1.0:
        raise ImageFolderError(f"val_fraction: {val_fraction} must be in (0, 1)")
    classes = check_image_folder(root)
    root = Path(str(root)).expanduser()
    train_root = training_root(root)
    test_root = root / "val" if train_root != root and (root / "val").is_dir() else None
    images, labels = read_folder(train_root, classes, resolution)
    if test_root is not None:
        unknown = sorted({folder.name for folder in class_folders(test_root)} - set(classes))
        if unknown:
            raise ImageFolderError(f"{test_root}: class {unknown[0]!r} is not a class of {train_root}")
        test_images, test_labels = read_folder(test_root, classes, resolution or images.shape[-1])
    else:
        test_images = torch.zeros(0, *images.shape[1:], dtype=torch.uint8)
        test_labels = torch.zeros(0, dtype=torch.int64)
    if len(labels) < 2:
        raise ImageFolderError(f"{train_root}: needs at least two images to split")
    val_size = min(len(labels) - 1, max(1, round(val_fraction * len(labels))))
    return build_splits(images, labels, test_images, test_labels, val_size=val_size, seed=seed,
                        train_fraction=train_fraction, resolution=None, num_classes=len(classes),
                        name=f"folder:{root.name}")
