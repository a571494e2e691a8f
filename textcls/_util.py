"""Helpers shared across textcls that belong to no one package: writing a file atomically."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def atomic_write(path: str | os.PathLike, write: Callable[[Path], object]) -> Path:
    """Write ``path`` through a temporary file and a rename, so a crash never leaves half a file.

    ``write`` fills ``PATH.tmp`` (e.g. ``lambda tmp: torch.save(state, tmp)``); only once it returns is the
    temporary file renamed over ``path``. If ``write`` raises, the temporary file is removed and an existing
    ``path`` stays whole. Missing parent folders are created.

    Args:
        path: the file to write.
        write: called with the temporary path; writes the whole content there.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_write`)."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
