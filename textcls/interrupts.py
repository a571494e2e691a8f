"""Stopping a command cleanly: SIGTERM handled as Ctrl-C, and the one line that says what a stopped training kept.

Shared by the text and the image command lines (``textcls.cli``, ``textcls.image.cli``).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from pathlib import Path


@contextlib.contextmanager
def interruptible_run(run_dir, command: str):
    """Turn Ctrl-C or SIGTERM while training ``run_dir`` into an :class:`Interrupted` that says what was kept
    (the checkpoints of the finished epochs) and how to continue (``COMMAND --resume RUN_DIR``).

    Args:
        run_dir: the run directory being trained.
        command: the training command (``textcls train``, ``textcls image train``).
    """
    try:
        yield
    except KeyboardInterrupt as exc:
        kept = any(Path(run_dir).rglob("last.pt"))  # checkpoints/last.pt, or a first phase's
        detail = f"the finished epochs are kept in {run_dir}; continue with: {command} --resume {run_dir}"
        raise Interrupted(getattr(exc, "signum", signal.SIGINT), detail if kept else "no epoch had finished") from None


class Interrupted(KeyboardInterrupt):
    """The command was stopped by SIGINT (Ctrl-C) or SIGTERM; the CLI exits with 128 + the signal's number.

    Args:
        signum: the signal.
        detail: what was kept and how to continue (printed after ``interrupted``).
    """

    def __init__(self, signum: int = signal.SIGINT, detail: str = ""):
        super().__init__(detail)
        self.signum = int(signum)
        self.detail = detail


def _terminate(signum, frame) -> None:
    raise Interrupted(signum)


@contextlib.contextmanager
def sigterm_as_interrupt():
    """While the body runs (in the main thread), SIGTERM (``kill``, ``docker stop``, schedulers) interrupts it as
    Ctrl-C does: the exception unwinds through every ``finally`` (temporary files removed, the last checkpoint
    whole); the previous handler is put back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
