"""Image data by name or path: torchvision datasets, IDX directories, class-per-folder trees; preprocessing presets.

``load_images(spec)`` gives :class:`ImageData` (train / optional test split, class names). In-memory data
(torchvision's MNIST, Fashion-MNIST, CIFAR-10 and IDX files) stays one uint8 tensor; folders stay on disk and
are read per image. :class:`Preprocess` turns images into the model's input (channels, size, normalisation).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from textcls.errors import TextclsError
from textcls.image.idx import SPLIT_PREFIXES, find_idx_pair, read_idx_split

PRESETS = ("basic", "augment", "imagenet")
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}

# torchvision datasets by name: class, folder under the root, files a user can place there by hand, classes
_IDX_FILES = [f"{p}-{k}.gz" for p in SPLIT_PREFIXES.values() for k in ("images-idx3-ubyte", "labels-idx1-ubyte")]
TORCHVISION = {
    "mnist": ("MNIST", "MNIST/raw", _IDX_FILES),
    "fashion-mnist": ("FashionMNIST", "FashionMNIST/raw", _IDX_FILES),
    "cifar10": ("CIFAR10", ".", ["cifar-10-python.tar.gz (extracted to cifar-10-batches-py/)"]),
}


def default_root() -> Path:
    """Where torchvision datasets live: ``$TEXTCLS_DATA_ROOT`` or ``~/.cache/textcls/images``."""
    return Path(os.environ.get("TEXTCLS_DATA_ROOT") or Path.home() / ".cache" / "textcls" / "images")


@dataclass
class ImageSplit:
    """One split: ``images`` uint8 ``[N, C, H, W]`` in memory, or ``paths`` of image files; ``labels`` ``[N]``."""

    labels: torch.Tensor
    images: torch.Tensor | None = None
    paths: list[str] | None = None

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: torch.Tensor) -> ImageSplit:
        paths = [self.paths[i] for i in index.tolist()] if self.paths is not None else None
        return ImageSplit(self.labels[index], self.images[index] if self.images is not None else None, paths)

    def load(self, i: int) -> torch.Tensor:
        """Image ``i`` as uint8 ``[C, H, W]``."""
        if self.images is not None:
            return self.images[i]
        return read_image_file(self.paths[i])


def read_image_file(path: str | Path) -> torch.Tensor:
    """An image file as uint8 RGB ``[3, H, W]`` (grey images repeat their channel; Preprocess converts back)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            array = np.asarray(image.convert("RGB"))
    except FileNotFoundError:
        raise TextclsError(f"image not found: {path}") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise TextclsError(f"cannot read image {path}: {exc}") from None
    return torch.from_numpy(array.copy()).permute(2, 0, 1)


@dataclass
class ImageData:
    """What an image spec resolves to.

    Attributes:
        name: the spec as given.
        classes: class names (index order).
        train: the training split; test: the test split (``None`` when the source has one split only).
        channels: 1 (grey) or 3 (colour) as stored.
        stats: ``(mean, std)`` per stored channel for normalisation, when known for the source.
    """

    name: str
    classes: list[str]
    train: ImageSplit
    test: ImageSplit | None
    channels: int
    stats: tuple[tuple[float, ...], tuple[float, ...]] | None = None

    def split_valid(self, share: float, seed: int = 0) -> tuple[ImageSplit, ImageSplit]:
        """A seeded random ``(train, valid)`` split of the training data (``share`` goes to validation)."""
        n = len(self.train)
        size = int(round(n * share))
        if size <= 0 or size >= n:
            raise TextclsError(f"--valid-split {share} leaves an empty split of {n:,} training images")
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
        return self.train.subset(order[size:]), self.train.subset(order[:size])


def load_images(spec: str, root: str | Path | None = None, download: bool = False, split: str = "all") -> ImageData:
    """Resolve ``spec``: ``mnist``, ``fashion-mnist``, ``cifar10`` (torchvision, under ``root``), a directory of IDX
    files (``train-*`` / ``t10k-*``), or an image folder (class per sub-folder, optionally under ``train/``,
    ``val/``, ``test/``).

    Args:
        spec: dataset name or directory.
        root: where torchvision datasets are (default :func:`default_root`).
        download: let torchvision download a missing dataset (needs internet).
        split: ``all`` or ``test`` (only the test split is read, for evaluation).
    """
    if spec in TORCHVISION:
        return _torchvision(spec, Path(root) if root else default_root(), download, split)
    path = Path(spec)
    if not path.exists():
        raise TextclsError(
            f"image data not found: {spec!r}; give {', '.join(TORCHVISION)}, a directory of IDX files or a folder "
            "with one sub-folder of images per class"
        )
    if not path.is_dir():
        raise TextclsError(f"{spec} is a file; image data is a dataset name or a directory")
    if find_idx_pair(path, "train") or find_idx_pair(path, "test"):
        return _idx_directory(path)
    return _image_folder(path)


def _torchvision(name: str, root: Path, download: bool, split: str) -> ImageData:
    import torchvision

    class_name, folder, files = TORCHVISION[name]
    dataset_class = getattr(torchvision.datasets, class_name)

    def read(train: bool):
        try:
            return dataset_class(str(root), train=train, download=download)
        except Exception as exc:  # torchvision raises RuntimeError when absent, URLError/OSError when offline
            reason = "could not be downloaded" if download else "is not there"
            raise TextclsError(
                f"{name} {reason} ({type(exc).__name__}): place {', '.join(files)} in {root / folder}"
                + ("" if download else ", or add --download when online")
            ) from None

    splits = {}
    for key, train in (("train", True), ("test", False)):
        if split == "test" and train:
            continue
        dataset = read(train)
        images = torch.as_tensor(np.asarray(dataset.data))
        images = images.unsqueeze(1) if images.dim() == 3 else images.permute(0, 3, 1, 2)
        splits[key] = ImageSplit(torch.as_tensor(np.asarray(dataset.targets), dtype=torch.long), images.contiguous())
    any_split = next(iter(splits.values()))
    channels = any_split.images.shape[1]
    return ImageData(name, list(dataset.classes), splits.get("train", any_split), splits.get("test"), channels,
                     measured_stats(any_split.images))  # fmt: skip


def _idx_directory(path: Path) -> ImageData:
    splits = {}
    for key in ("train", "test"):
        pair = read_idx_split(path, key)
        if pair is not None:
            images, labels = pair
            splits[key] = ImageSplit(torch.from_numpy(labels), torch.from_numpy(images.copy()).unsqueeze(1))
    # a directory with one split is training data: the validation split is carved from it
    train = splits.get("train") or splits.pop("test")
    classes = [str(c) for c in range(int(train.labels.max()) + 1)]
    return ImageData(str(path), classes, train, splits.get("test"), 1, measured_stats(train.images))


def _folder_split(path: Path, classes: list[str] | None = None) -> tuple[ImageSplit, list[str]]:
    found = sorted(d.name for d in path.iterdir() if d.is_dir() and not d.name.startswith("."))
    classes = classes or found
    unknown = sorted(set(found) - set(classes))
    if unknown:
        raise TextclsError(f"{path} has class folder(s) {', '.join(unknown)} not among the training classes")
    paths, labels = [], []
    for index, name in enumerate(classes):
        folder = path / name
        if not folder.is_dir():
            continue
        for file in sorted(folder.rglob("*")):
            if file.suffix.lower() in IMAGE_SUFFIXES:
                paths.append(str(file))
                labels.append(index)
    if not paths:
        raise TextclsError(
            f"no images found in {path}: expected one sub-folder per class holding "
            f"{', '.join(sorted(IMAGE_SUFFIXES))} files"
        )
    return ImageSplit(torch.tensor(labels, dtype=torch.long), paths=paths), classes


def _image_folder(path: Path) -> ImageData:
    subfolders = {d.name for d in path.iterdir() if d.is_dir()}
    if "train" in subfolders:
        train, classes = _folder_split(path / "train")
        test_name = next((name for name in ("test", "val", "valid") if name in subfolders), None)
        test = _folder_split(path / test_name, classes)[0] if test_name else None
    else:
        train, classes = _folder_split(path)
        test = None
    if len(classes) < 2:
        raise TextclsError(f"{path} has {len(classes)} class folder(s); a classifier needs at least two")
    return ImageData(str(path), classes, train, test, 3, None)


def measured_stats(images: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of uint8 images ``[N, C, H, W]`` on the 0-1 scale."""
    sample = images[:20_000].float().div_(255)
    mean = sample.mean(dim=(0, 2, 3))
    std = sample.std(dim=(0, 2, 3)).clamp(min=1e-3)
    return tuple(round(v, 4) for v in mean.tolist()), tuple(round(v, 4) for v in std.tolist())


class Preprocess:
    """Turns uint8 images into a model's input: channels, size, scale to 0-1, normalise; ``augment`` adds random
    crops/flips/rotation/colour jitter for training; ``imagenet`` resizes to 256, crops 224 and uses ImageNet stats.

    Args:
        shape: the model's ``(channels, height, width)``.
        mean, std: per-channel normalisation (of the model's channels).
        preset: ``basic``, ``augment`` or ``imagenet``.
    """

    def __init__(self, shape: tuple[int, int, int], mean, std, preset: str = "basic"):
        if preset not in PRESETS:
            raise TextclsError(f"unknown transform preset {preset!r}; choose one of {', '.join(PRESETS)}")
        self.shape = tuple(int(v) for v in shape)
        self.mean, self.std = tuple(float(v) for v in mean), tuple(float(v) for v in std)
        self.preset = preset

    @classmethod
    def for_model(cls, shape, data: ImageData, preset: str = "basic") -> Preprocess:
        """Statistics of the data (or ImageNet's for ``imagenet`` / folders), matched to the model's channels."""
        channels = shape[0]
        if preset == "imagenet" or data.stats is None:
            mean, std = (IMAGENET_MEAN, IMAGENET_STD) if preset == "imagenet" else ((0.5,) * 3, (0.5,) * 3)
        else:
            mean, std = data.stats
        if len(mean) != channels:  # grey data for a colour model or the reverse: average or repeat the statistics
            mean = (sum(mean) / len(mean),) * channels
            std = (sum(std) / len(std),) * channels
        return cls(shape, mean, std, preset)

    def to_dict(self) -> dict:
        return {"shape": list(self.shape), "mean": list(self.mean), "std": list(self.std), "preset": self.preset}

    @classmethod
    def from_dict(cls, data: dict) -> Preprocess:
        return cls(tuple(data["shape"]), data["mean"], data["std"], data.get("preset", "basic"))

    @property
    def random(self) -> bool:
        """True when training inputs change every epoch (augmentation or random crops)."""
        return self.preset in ("augment", "imagenet")

    def batch(self, images: torch.Tensor) -> torch.Tensor:
        """Deterministic preprocessing of uint8 ``[N, C, H, W]`` (evaluation, and training without augmentation)."""
        x = self._channels(images).float().div_(255)
        if self.preset == "imagenet":
            x = _resize(x, 256 if self.shape[1] == 224 else self.shape[1])
            x = _center_crop(x, self.shape[1], self.shape[2])
        elif tuple(x.shape[-2:]) != self.shape[1:]:
            x = _resize(x, self.shape[1:])
        mean = torch.tensor(self.mean).view(1, -1, 1, 1)
        std = torch.tensor(self.std).view(1, -1, 1, 1)
        return (x - mean) / std

    def train_item(self, image: torch.Tensor) -> torch.Tensor:
        """One training image (uint8 ``[C, H, W]``) with this preset's random augmentation."""
        from torchvision.transforms import v2

        image = self._channels(image.unsqueeze(0))[0]
        height, width = self.shape[1:]
        if self.preset == "imagenet":
            steps = [v2.RandomResizedCrop((height, width), antialias=True), v2.RandomHorizontalFlip()]
        else:
            steps = [v2.Resize((height, width), antialias=True)] if tuple(image.shape[-2:]) != (height, width) else []
            steps += [v2.RandomCrop((height, width), padding=max(2, height // 8)), v2.RandomRotation(10)]
            if self.shape[0] == 3:  # flips and colour suit photos, not digits
                steps += [v2.RandomHorizontalFlip(), v2.ColorJitter(0.2, 0.2, 0.2)]
        image = v2.Compose(steps)(image)
        x = image.float().div_(255)
        mean = torch.tensor(self.mean).view(-1, 1, 1)
        std = torch.tensor(self.std).view(-1, 1, 1)
        return (x - mean) / std

    def _channels(self, images: torch.Tensor) -> torch.Tensor:
        have, want = images.shape[1], self.shape[0]
        if have == want:
            return images
        if have == 1:
            return images.expand(-1, want, -1, -1)
        grey = (images.float() * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
        return grey.round().clamp(0, 255).to(torch.uint8)


def _resize(x: torch.Tensor, size) -> torch.Tensor:
    if isinstance(size, int):  # shorter side to ``size``, keeping the aspect ratio
        h, w = x.shape[-2:]
        size = (size, max(1, round(w * size / h))) if h <= w else (max(1, round(h * size / w)), size)
    return F.interpolate(x, size=tuple(size), mode="bilinear", antialias=True, align_corners=False)


def _center_crop(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    top = max(0, (x.shape[-2] - height) // 2)
    left = max(0, (x.shape[-1] - width) // 2)
    return x[..., top : top + height, left : left + width]
