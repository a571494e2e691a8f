"""The IDX format of MNIST-style files (``train-images-idx3-ubyte[.gz]``, ``t10k-labels-idx1-ubyte[.gz]``).

Header: two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions, then each dimension as a
big-endian int32; the data follows, row-major.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from textcls.errors import DataError

_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
SPLIT_PREFIXES = {"train": "train", "test": "t10k"}


def read_idx(path: str | Path) -> np.ndarray:
    """The array stored in an IDX file (plain or gzip-compressed).

    Raises:
        DataError: when the file is missing, not IDX, or shorter than its header says.
    """
    path = Path(path)
    if not path.exists():
        raise DataError("file not found", path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read the file ({exc})", path) from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _TYPES:
        raise DataError("not an IDX file (bad magic number)", path)
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_TYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header < expected:
        raise DataError(f"truncated: the header promises {shape} but the data is shorter", path)
    return np.frombuffer(raw, dtype=dtype, count=int(np.prod(shape)), offset=header).reshape(shape)


def find_idx_pair(directory: str | Path, split: str) -> tuple[Path, Path] | None:
    """``(images, labels)`` files of ``split`` (``train`` or ``test``) in ``directory``, or ``None``."""
    directory = Path(directory)
    prefix = SPLIT_PREFIXES[split]
    found = []
    for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"):
        candidates = [directory / f"{prefix}-{kind}{suffix}" for suffix in ("", ".gz")]
        match = next((path for path in candidates if path.exists()), None)
        if match is None:
            return None
        found.append(match)
    return found[0], found[1]


def read_idx_split(directory: str | Path, split: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Images ``[N, H, W]`` (uint8) and labels ``[N]`` of one split of an IDX directory, or ``None``."""
    pair = find_idx_pair(directory, split)
    if pair is None:
        return None
    images, labels = read_idx(pair[0]), read_idx(pair[1])
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(
            f"{pair[0].name} holds {images.shape} and {pair[1].name} holds {labels.shape}: they do not pair up",
            directory,
        )
    return images, labels.astype(np.int64)
