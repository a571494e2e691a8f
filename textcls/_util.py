"""Helpers shared across textcls that belong to no one package: writing a file atomically, pausing the garbage
collector, telling numbers written as text."""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Callable
from pathlib import Path


def atomic_write(path: str | os.PathLike, write: Callable[[Path], object], suffix: str = ".tmp") -> Path:
    """Write ``path`` through a temporary file and a rename, so a crash never leaves half a file.

    ``write`` fills ``PATH.tmp`` (``PATH`` + ``suffix``; e.g. ``lambda tmp: torch.save(state, tmp)``); only once
    it returns is the temporary file renamed over ``path``. If ``write`` raises, the temporary file is removed and
    an existing ``path`` stays whole. Missing parent folders are created.

    Args:
        path: the file to write.
        write: called with the temporary path; writes the whole content there.
        suffix: added to the name of ``path`` for the temporary file (``".part"`` for downloads).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + suffix)
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


def atomic_save(
    path: str | os.PathLike, write: Callable[[Path], object], hint: str = "free some space and run the command again"
) -> Path:
    """:func:`atomic_write` for a file of a run (checkpoint, config, metrics): an ``OSError`` while writing or
    renaming it (a full disk, a quota, a read-only folder) becomes one line naming the file, and — as with
    :func:`atomic_write` — no temporary file is left and the previous version of ``path`` stays whole.

    Args:
        path: the file to write.
        write: called with the temporary path; writes the whole content there.
        hint: what the user can do, after the reason.

    Raises:
        TextclsError: ``cannot write PATH: REASON; HINT``.
    """
    from textcls.errors import TextclsError

    try:
        return atomic_write(path, write)
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise TextclsError(f"cannot write {path}: {reason}; no temporary file is left; {hint}") from None


@contextlib.contextmanager
def paused_gc():
    """Pause the cyclic garbage collector while building many small objects (halves load time; the objects
    hold no cycles, so nothing is left for it to find)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def is_number(text: str) -> bool:
    """True when ``float(text)`` succeeds (``"3"``, ``"-0.5"``, ``"1e-3"``, ``"nan"``).

    Args:
        text: the text to test.
    """
    try:
        float(text)
    except ValueError:
        return False
    return True
