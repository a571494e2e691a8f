"""The vectors cache: a parsed vectors file kept as ``NAME.KEY.npy`` (float32 matrix) + ``NAME.KEY.json`` (words
and metadata). No pickle. The key hashes the source's absolute path, size and modification time, and the JSON
also records a hash of the file's first and last MiB, checked on every load, so a replaced file is re-parsed.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from textcls._util import atomic_write, atomic_write_text

CACHE_FORMAT = "textcls.vectors/1"
_SAMPLE = 1 << 20


def default_cache_dir() -> Path:
    """``$TEXTCLS_CACHE_DIR/vectors``, else ``$XDG_CACHE_HOME/textcls/vectors``, else ``~/.cache/textcls/vectors``."""
    if os.environ.get("TEXTCLS_CACHE_DIR"):
        return Path(os.environ["TEXTCLS_CACHE_DIR"]) / "vectors"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "textcls" / "vectors"


def _fingerprint(file: Path) -> dict:
    stat = file.stat()
    digest = hashlib.blake2b(digest_size=16)
    with open(file, "rb") as handle:
        digest.update(handle.read(_SAMPLE))
        if stat.st_size > 2 * _SAMPLE:
            handle.seek(-_SAMPLE, os.SEEK_END)
            digest.update(handle.read(_SAMPLE))
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sample_hash": digest.hexdigest()}


def cache_paths(cache_dir: Path, source: str, file: Path) -> tuple[Path, Path]:
    """The ``.npy`` and ``.json`` paths for ``source`` (a path, possibly ``archive.zip:member``)."""
    stat = file.stat()
    key = hashlib.sha1(f"{file.resolve()}|{source}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    stem = Path(source.replace(":", "_")).name
    return cache_dir / f"{stem}.{key}.npy", cache_dir / f"{stem}.{key}.json"


def load_cached(cache_dir: Path, source: str, file: Path, mmap: bool = False):
    """Return ``(words, matrix, meta)`` from the cache, or ``None`` when absent or stale."""
    matrix_path, meta_path = cache_paths(cache_dir, source, file)
    if not (matrix_path.exists() and meta_path.exists()):
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("format") != CACHE_FORMAT or meta.get("source") != _fingerprint(file):
            return None
        matrix = np.load(matrix_path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (OSError, ValueError, json.JSONDecodeError):
        return None
    words = meta.pop("words")
    if matrix.shape[0] != len(words):
        return None
    return words, matrix, meta


def save_cached(cache_dir: Path, source: str, file: Path, words: list[str], matrix: np.ndarray, **extra) -> Path:
    """Write the cache atomically (temporary files, then rename); returns the matrix path."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    matrix_path, meta_path = cache_paths(cache_dir, source, file)
    save_arrays(matrix_path, meta_path, words, matrix, source=_fingerprint(file), **extra)
    return matrix_path


def save_arrays(matrix_path: Path, meta_path: Path, words: list[str], matrix: np.ndarray, **meta) -> None:
    """Write ``matrix`` as ``.npy`` and ``words`` + ``meta`` as JSON, each atomically (matrix first)."""
    save_npy(matrix_path, np.ascontiguousarray(matrix, dtype=np.float32))
    payload = {"format": CACHE_FORMAT, "dim": int(matrix.shape[1]), **meta, "words": list(words)}
    atomic_write_text(meta_path, json.dumps(payload, ensure_ascii=False))


def save_npy(path: Path, array: np.ndarray) -> None:
    """Write ``array`` to the ``.npy`` file ``path`` atomically, without pickle.

    Args:
        path: the file (written under exactly this name: ``np.save`` is given a handle, so adds no ``.npy``).
        array: the array to store.
    """

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.save(handle, array, allow_pickle=False)

    atomic_write(path, write)
