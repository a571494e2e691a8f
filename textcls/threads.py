"""How many CPU threads torch uses, chosen so that processes on one machine do not oversubscribe its cores.

The rule (every command that computes prints the choice in its header, ``threads: ...``):

1. ``--threads N`` when given;
2. else ``$OMP_NUM_THREADS`` when it is set, in a command that is not one of several torchrun processes
   (torchrun sets it to 1 by itself whenever it starts several, so there it says nothing about the machine);
3. else the cores this process may run on (its CPU affinity, as ``taskset`` or a container limits it) divided by
   the processes of this machine (``torchrun``'s ``LOCAL_WORLD_SIZE``, else 1) and by the worker processes of
   the command (``compare-embeddings --jobs N``), at least 1.

Importing this module does not import torch.
"""

from __future__ import annotations

import contextlib
import os
import sys

from textcls.errors import TextclsError


def available_cores() -> int:
    """The CPU cores this process may run on: its affinity mask where the platform has one, else
    ``os.cpu_count()`` (1 if unknown)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def local_processes() -> int:
    """The processes sharing this machine's cores in this job: ``LOCAL_WORLD_SIZE`` (set by ``torchrun``), else
    1 (an unreadable value is taken as 1)."""
    try:
        return max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    except ValueError:
        return 1


def default_threads(local: int | None = None) -> int:
    """Threads per process that do not oversubscribe: ``available_cores() // local``, at least 1.

    Args:
        local: processes sharing the cores (default :func:`local_processes`).
    """
    return max(1, available_cores() // (local_processes() if local is None else max(1, local)))


def _omp_threads() -> int | None:
    text = os.environ.get("OMP_NUM_THREADS", "").strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise TextclsError(f"OMP_NUM_THREADS={text!r} is not a whole number; unset it or give --threads N") from None
    if value < 1:
        raise TextclsError(f"OMP_NUM_THREADS must be at least 1, not {value}; unset it or give --threads N")
    return value


def choose_threads(requested: int | None, divide_by: int = 1) -> tuple[int, str]:
    """The threads per process by the module's rule, and the header line that says why.

    Args:
        requested: ``--threads`` (``None``: not given), the threads of the whole command: with ``divide_by``
            worker processes each gets ``requested // divide_by``, at least 1.
        divide_by: worker processes the command runs at once (``compare-embeddings --jobs``), each with its share.

    Returns:
        ``(threads per process, "threads: ...")``.

    Raises:
        TextclsError: ``requested`` below 1, or ``OMP_NUM_THREADS`` (when used) not a positive whole number.
    """
    divide_by = max(1, divide_by)
    if requested is not None and requested < 1:
        raise TextclsError(f"--threads must be at least 1, not {requested}")
    per = f" per process × {divide_by} processes" if divide_by > 1 else ""
    if requested is not None:
        threads = max(1, requested // divide_by)
        return threads, f"threads: {threads}{per} (--threads {requested})"
    omp = _omp_threads() if local_processes() == 1 else None
    if omp is not None:
        threads = max(1, omp // divide_by)
        return threads, f"threads: {threads}{per} (OMP_NUM_THREADS={omp}; --threads N to change)"
    cores, local = available_cores(), local_processes()
    threads = max(1, cores // (local * divide_by))
    shares = [f"{local} local processes"] if local > 1 else []
    shares += [f"{divide_by} jobs"] if divide_by > 1 else []
    why = f"{cores} cores available" + "".join(f" ÷ {share}" for share in shares)
    return threads, f"threads: {threads}{' per process' if shares else ''} ({why}; --threads N to change)"


def set_threads(requested: int | None, divide_by: int = 1) -> str:
    """Set torch's intra-op threads by the module's rule (:func:`choose_threads`); returns the header line.

    Args:
        requested: ``--threads`` (``None``: not given).
        divide_by: worker processes the command runs at once (each gets its share; this process is set to it).

    Returns:
        the ``threads: ...`` line, e.g. ``threads: 1 per process (2 cores available ÷ 2 local processes; --threads
        N to change)`` or ``threads: 4 (--threads 4)``.
    """
    import torch

    threads, line = choose_threads(requested, divide_by)
    torch.set_num_threads(threads)
    return line


class _HeaderFirst:
    """A stand-in for ``sys.stdout`` that writes ``line`` just before the first output (see
    :func:`header_before_output`); everything else is the wrapped stream's."""

    def __init__(self, stream, line: str):
        self._stream, self._line = stream, line

    def write(self, text: str) -> int:
        if self._line is not None and text:
            line, self._line = self._line, None
            self._stream.write(line + "\n")
        return self._stream.write(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)


@contextlib.contextmanager
def header_before_output(line: str):
    """While the body runs, standard output starts with ``line`` once the body prints anything: a command that
    fails before its first output line (a missing file) still prints nothing but its one-line error.

    Args:
        line: the header line (:func:`set_threads`'s), without its newline.
    """
    stream = sys.stdout
    sys.stdout = _HeaderFirst(stream, line)
    try:
        yield
    finally:
        if isinstance(sys.stdout, _HeaderFirst) and sys.stdout._stream is stream:
            sys.stdout = stream


def add_threads_option(parser) -> None:
    """``--threads N``: torch's CPU threads (default: the cores available ÷ the local processes; see
    :mod:`textcls.threads`)."""
    parser.add_argument(
        "--threads", type=int,
        help="CPU threads for torch (default: $OMP_NUM_THREADS outside torchrun, else the cores available ÷ the "
        "local processes)",
    )  # fmt: skip
