"""Data-parallel training on PyTorch's own engine: ``torch.distributed`` process groups, as ``torchrun`` starts them.

``torchrun --nproc_per_node=N -m textcls train ...`` starts N copies of the command with ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT`` set. :func:`process_group`
reads them, joins the group (``gloo`` on CPU, ``nccl`` on CUDA with one GPU per local rank) and hands the job a
:class:`Distributed` describing this process. Without those variables (a plain ``textcls train``) it is
:data:`SINGLE` and nothing here talks to another process.

What each process does with it is the trainer's and the jobs' business: the model is wrapped in
``DistributedDataParallel``, every rank trains on its part of each batch (:func:`shard_batches`), metrics are
gathered, and rank 0 alone writes the run directory and the console.

Every collective waits at most ``TEXTCLS_DIST_TIMEOUT`` seconds (default 300): a rank that died or hangs ends the
others with one line (:func:`lost_contact`), never an endless wait.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import re
from dataclasses import dataclass

import torch

from textcls.errors import ArgumentError, TextclsError

log = logging.getLogger("textcls")

TIMEOUT_ENV = "TEXTCLS_DIST_TIMEOUT"
DEFAULT_TIMEOUT_S = 300


@dataclass(frozen=True)
class Distributed:
    """This process's place in a data-parallel run.

    Attributes:
        rank: global index of this process (0 writes the run).
        world_size: number of processes.
        local_rank: index among the processes of this machine (its GPU on CUDA).
        backend: ``gloo`` or ``nccl``; ``None`` for a single process.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def enabled(self) -> bool:
        """Whether other processes take part."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that writes files and prints."""
        return self.rank == 0

    def place(self, device: torch.device) -> torch.device:
        """The device this process trains on, given the configured one: with NCCL, the GPU of its local rank."""
        if self.backend == "nccl" and device.type == "cuda":
            device = torch.device("cuda", self.local_rank)
            torch.cuda.set_device(device)
        return device

    @property
    def _tensor_device(self) -> torch.device:
        return torch.device("cuda", self.local_rank) if self.backend == "nccl" else torch.device("cpu")

    def sum(self, values: list[float]) -> list[float]:
        """Element-wise sum of ``values`` over every rank (the same list on all of them)."""
        if not self.enabled:
            return list(values)
        tensor = torch.tensor(values, dtype=torch.float64, device=self._tensor_device)
        with lost_contact(self):
            torch.distributed.all_reduce(tensor)
        return tensor.tolist()

    def gather(self, value) -> list:
        """Every rank's ``value`` (any picklable object), in rank order, on every rank."""
        if not self.enabled:
            return [value]
        values = [None] * self.world_size
        with lost_contact(self):
            torch.distributed.all_gather_object(values, value)
        return values

    def broadcast(self, value=None):
        """Rank 0's ``value`` on every rank (the others pass anything)."""
        if not self.enabled:
            return value
        box = [value if self.is_main else None]
        with lost_contact(self):
            torch.distributed.broadcast_object_list(box, src=0, device=self._tensor_device)
        return box[0]

    def broadcast_weights(self, module: torch.nn.Module) -> None:
        """Copy rank 0's parameters and buffers into ``module`` on every rank."""
        if not self.enabled:
            return
        with torch.no_grad(), lost_contact(self):
            for tensor in list(module.parameters()) + list(module.buffers()):
                torch.distributed.broadcast(tensor.data, src=0)

    def check_same_weights(self, module: torch.nn.Module) -> None:
        """Raise if the ranks' weights differ (they must not: DDP keeps them equal)."""
        if not self.enabled:
            return
        with torch.no_grad():
            checksum = [float(t.double().sum()) for t in module.state_dict().values() if t.is_floating_point()]
        sums = self.gather(checksum)
        if any(other != sums[0] for other in sums[1:]):
            raise RuntimeError("the ranks finished training with different weights (a bug in textcls: please report)")


SINGLE = Distributed()


def launched_by_torchrun() -> bool:
    """Whether the environment describes a multi-process run (``WORLD_SIZE`` > 1, as torchrun sets it)."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1) > 1


def is_main_process() -> bool:
    """Whether this process speaks for the run: rank 0 of the joined group, or of torchrun's ``RANK``, or a
    single process."""
    group = current()
    if group.enabled:
        return group.is_main
    return int(os.environ.get("RANK", "0") or 0) == 0


def timeout_seconds() -> int:
    """The collective timeout: ``TEXTCLS_DIST_TIMEOUT`` seconds, default 300 (checked: a positive integer)."""
    text = os.environ.get(TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_TIMEOUT_S
    if not text.isdigit() or int(text) < 1:
        raise TextclsError(f"{TIMEOUT_ENV}={text!r} is not a number of seconds; set it to a whole number >= 1")
    return int(text)


def backend_for(device: str = "auto") -> str:
    """``nccl`` when the run trains on CUDA, else ``gloo``."""
    wants_cuda = device == "auto" or device.startswith("cuda")
    return "nccl" if wants_cuda and torch.cuda.is_available() else "gloo"


def current() -> Distributed:
    """The process group this process is already in (joined by :func:`process_group` or by the user's own
    ``torch.distributed.init_process_group``), or :data:`SINGLE`."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return SINGLE
    return Distributed(
        rank=torch.distributed.get_rank(),
        world_size=torch.distributed.get_world_size(),
        local_rank=int(os.environ.get("LOCAL_RANK", "0") or 0),
        backend=torch.distributed.get_backend(),
    )


@contextlib.contextmanager
def process_group(device: str = "auto"):
    """Yield this process's :class:`Distributed`, joining torchrun's process group when the environment has one.

    A group the caller had already joined is used as it is and left open; one joined here is left at the end.

    Args:
        device: the configured device (chooses ``nccl`` for CUDA, else ``gloo``).
    """
    existing = current()
    if existing.enabled or not launched_by_torchrun():
        yield existing
        return
    missing = [name for name in ("RANK", "MASTER_ADDR", "MASTER_PORT") if name not in os.environ]
    if missing:
        raise TextclsError(
            f"WORLD_SIZE is set but {', '.join(missing)} is not: start several processes with torchrun "
            "(torchrun --nproc_per_node=N -m textcls train ...), or unset WORLD_SIZE"
        )
    backend = backend_for(device)
    timeout = datetime.timedelta(seconds=timeout_seconds())
    torch.distributed.init_process_group(backend=backend, timeout=timeout)
    try:
        group = current()
        if not group.is_main:
            logging.getLogger("textcls").setLevel(logging.WARNING)  # rank 0 speaks for the run
        with lost_contact(group):  # also inside backward(), where DDP all-reduces the gradients
            yield group
    finally:
        torch.distributed.destroy_process_group()


@contextlib.contextmanager
def lost_contact(group: Distributed):
    """Turn a failed collective (a rank died, was killed, or did not answer within the timeout) into one line."""
    try:
        yield
    except RuntimeError as exc:
        if not group.enabled or not _is_lost_contact(exc):
            raise
        reason = _first_sentence(str(exc)) or type(exc).__name__
        raise TextclsError(
            f"process {group.rank} of {group.world_size} lost contact with the others ({reason}); another process "
            f"crashed, was killed or hung past {TIMEOUT_ENV}={timeout_seconds()} s: the run stopped, the "
            "finished epochs are kept; continue with the same torchrun command and --resume RUN"
        ) from None


def check_rank(rank: int, world_size: int) -> None:
    """Raise :class:`~textcls.errors.ArgumentError` (one line) unless ``0 <= rank < world_size``."""
    if not 0 <= rank < world_size:
        raise ArgumentError(f"rank {rank} is not in [0, {world_size}); give 0 <= rank < {world_size}")


def _is_lost_contact(error: RuntimeError) -> bool:
    """Whether ``error`` is a collective failing because a peer is gone or silent (not a bug in the model)."""
    if isinstance(error, torch.distributed.DistError):
        return True
    return bool(re.search(r"gloo|nccl|connection (reset|closed|refused)|timed out|broken pipe", str(error), re.I))


def _first_sentence(message: str) -> str:
    """The gist of a backend error: its first line, without gloo's ``[file.cc:123]`` prefix, up to the first
    full stop."""
    line = message.strip().splitlines()[0] if message.strip() else ""
    line = re.sub(r"^\[[^\]]*\]\s*", "", line)
    return line.split(". ")[0].rstrip(".")[:160]


def shard_batches(batches: list[list[int]], rank: int, world_size: int, lengths=None) -> list[list[int]]:
    """This rank's part of every batch: the ranks train on the same global batches as one process would.

    Each batch (ordered by ``lengths`` when given, so the ranks get texts of similar lengths) is dealt out
    ``batch[rank::world_size]``; a batch with fewer examples than ranks (the last one, or one very long text
    under a token budget) joins its neighbour, so every rank has at least one example per step and the same
    number of steps. The ranks' parts are disjoint and cover
    every example.

    Args:
        batches: the global batches (example indices), the same on every rank.
        rank: this process's rank.
        world_size: number of processes.
        lengths: optional per-example lengths to balance the ranks' parts.
    """
    if world_size <= 1:
        return [list(batch) for batch in batches]
    check_rank(rank, world_size)
    merged: list[list[int]] = []
    for batch in batches:
        if merged and (len(batch) < world_size or len(merged[-1]) < world_size):
            merged[-1] = merged[-1] + list(batch)
        elif batch:
            merged.append(list(batch))
    batches = merged
    if not batches or len(batches[-1]) < world_size:
        total = sum(len(batch) for batch in batches)
        raise ArgumentError(
            f"{total} examples cannot be shared by {world_size} processes; use fewer processes or more data"
        )
    if lengths is not None:
        batches = [sorted(batch, key=lambda i: lengths[i]) for batch in batches]
    return [batch[rank::world_size] for batch in batches]


class SetupFailed(TextclsError):
    """Rank 0 could not set the run up; the other ranks stop with its reason."""


class Handoff:
    """Rank 0 prepares a run (reads, builds the vocabulary, writes the run directory) and hands what it built to
    the other ranks; if it fails before that, they stop with its one-line reason instead of waiting.

    Use ``with Handoff(group) as handoff:`` around rank 0's preparation, then :meth:`send` there and
    :meth:`receive` on the other ranks.

    Args:
        group: this process's :class:`Distributed`.
    """

    def __init__(self, group: Distributed):
        self.group = group
        self.sent = False

    def __enter__(self) -> Handoff:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if error is not None and self.group.enabled and self.group.is_main and not self.sent:
            self.sent = True
            with contextlib.suppress(TextclsError):
                self.group.broadcast(SetupFailed(str(error).splitlines()[0] if str(error) else type(error).__name__))

    def send(self, value) -> None:
        """On rank 0: give ``value`` to the other ranks."""
        self.sent = True
        self.group.broadcast(value)

    def receive(self):
        """On the other ranks: what rank 0 sent (raises :class:`SetupFailed` with rank 0's reason)."""
        value = self.group.broadcast(None)
        if isinstance(value, SetupFailed):
            raise SetupFailed(f"rank 0 stopped before training: {value}")
        return value
