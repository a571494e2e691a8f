"""Helpers shared across textcls that belong to no one package: writing a file atomically, pausing the garbage
collector, telling numbers written as text."""

from __future__ import annotations

import contextlib
import gc
import os
import stat
from collections.abc import Callable
from pathlib import Path

from textcls.errors import DataError


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


def check_input_file(path: str | os.PathLike, what: str = "data file", stdin_hint: str = "") -> Path:
    """Return ``path`` as a :class:`~pathlib.Path` if it is a regular file (a symbolic link to one is fine).

    A device (``/dev/zero``), a FIFO or a socket could be read forever, so it is refused before it is opened.

    Args:
        path: the file the user named.
        what: what the file is, for the messages (``"data file"``, ``"vectors file"``).
        stdin_hint: added to the message for a non-regular file (e.g. ``" or pass - to read standard input"``).

    Raises:
        DataError: the path is missing, a directory, or not a regular file.
    """
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise DataError(f"{what} not found; check the path", path) from None
    except OSError as exc:
        raise DataError(f"cannot read the {what} ({exc.strerror or exc})", path) from None
    if stat.S_ISDIR(mode):
        raise DataError(f"is a directory, expected a {what}", path)
    if not stat.S_ISREG(mode):
        raise DataError(
            f"is not a regular file (a device, FIFO or socket could be read forever); expected a {what}: copy the "
            f"data into a file and pass its path{stdin_hint}",
            path,
        )
    return path
