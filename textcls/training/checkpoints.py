"""Checkpoints: their file names, which ones a run keeps (:class:`CheckpointPolicy`), and safe reading and writing.

Files are written atomically (temporary file, then rename) and read with ``weights_only=True``. A resumable
checkpoint (``last.pt``, ``epoch-NNN.pt``) holds the model, optimizer, scheduler and AMP scaler states, the epoch,
the trainer's history and the random states (Python, NumPy, torch CPU and CUDA), so a resumed run continues
exactly; a weights checkpoint (``best.pt``, ``top-epoch-NNN.pt``) holds only ``model`` and ``epoch`` (and the
monitored ``score`` for the top-k ones).
"""

from __future__ import annotations

import io
import os
import pickle
import random
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from textcls._util import atomic_save
from textcls.errors import TextclsError

if TYPE_CHECKING:
    from textcls.training.trainer import Trainer


class CheckpointFiles:
    """The checkpoint files of a run directory: the one place their names are spelled.

    Args:
        run_dir: the run directory; checkpoints go into its ``checkpoints/`` folder.
    """

    FOLDER = "checkpoints"

    def __init__(self, run_dir: str | os.PathLike):
        self.folder = Path(run_dir) / self.FOLDER

    @property
    def best(self) -> Path:
        """The best epoch's weights."""
        return self.folder / "best.pt"

    @property
    def last(self) -> Path:
        """The latest epoch's resumable state (what ``--resume`` continues from)."""
        return self.folder / "last.pt"

    def top(self, epoch: int) -> Path:
        """The weights of 1-based ``epoch`` while it is one of the top-k."""
        return self.folder / f"top-epoch-{epoch:03d}.pt"

    def every(self, epoch: int) -> Path:
        """The resumable state after 1-based ``epoch`` (kept every N epochs)."""
        return self.folder / f"epoch-{epoch:03d}.pt"


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint the policy kept, as told to :meth:`~textcls.training.callbacks.Callback.on_checkpoint`.

    Attributes:
        kind: ``"best"`` (best weights so far), ``"last"`` (resumable state), ``"top"`` (one of the top-k
            weights) or ``"every"`` (the resumable state of every N-th epoch).
        epoch: the 1-based epoch it holds.
        score: that epoch's monitored score.
        path: the file, or ``None`` for best weights kept in memory (no run directory).
    """

    kind: str
    epoch: int
    score: float
    path: Path | None


@dataclass(frozen=True)
class CheckpointPolicy:
    """Which checkpoints a trainer keeps in its run directory (``run_dir/checkpoints/``).

    Args:
        save_best: write ``best.pt`` (weights) whenever the monitored metric improves.
        save_last: write ``last.pt`` (resumable state) after every epoch.
        top_k: also keep the weights of the ``k`` best epochs as ``top-epoch-NNN.pt``, deleting a file when its
            epoch drops out (``0``: none). Ties keep the earlier epoch.
        every_n_epochs: also keep the resumable state after every N-th epoch as ``epoch-NNN.pt`` (``0``: never).

    Without a run directory nothing is written; the best weights are then kept in memory when the trainer's
    ``restore_best`` needs them (likewise with ``save_best=False``).
    """

    save_best: bool = True
    save_last: bool = True
    top_k: int = 0
    every_n_epochs: int = 0

    def __post_init__(self):
        for name in ("top_k", "every_n_epochs"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise TextclsError(f"checkpoint {name} must be a whole number ≥ 0, got {value!r}")


class Checkpointer:
    """Applies a :class:`CheckpointPolicy` to one trainer's epochs (the trainer makes one; its state is saved
    in ``last.pt`` so a resumed run keeps the same top-k).

    Args:
        policy: what to keep.
        files: where (``None``: no run directory, nothing is written).
        keep_best_in_memory: hold a CPU copy of the best weights (when ``restore_best`` has no ``best.pt``).
    """

    def __init__(self, policy: CheckpointPolicy, files: CheckpointFiles | None, keep_best_in_memory: bool):
        self.policy, self.files = policy, files
        self.keep_best_in_memory = keep_best_in_memory
        self.top: list[tuple[float, int]] = []  # (signed score, 1-based epoch), best first
        self.best_in_memory: tuple[int, dict] | None = None  # (1-based epoch, weights)

    def after_epoch(self, trainer: Trainer, epoch: int, score: float, improved: bool) -> list[Checkpoint]:
        """Keep what the policy asks for after 1-based ``epoch``; returns what was kept, in writing order."""
        policy, files, kept = self.policy, self.files, []
        weights = None
        if improved and self.keep_best_in_memory:
            weights = trainer.eval_model().state_dict()
            self.best_in_memory = (epoch, {k: v.detach().to("cpu", copy=True) for k, v in weights.items()})
            kept.append(Checkpoint("best", epoch, score, None))
        if files is None:
            return kept
        if improved and policy.save_best:
            best = {"model": trainer.eval_model().state_dict() if weights is None else weights, "epoch": epoch - 1}
            kept.append(Checkpoint("best", epoch, score, save_checkpoint(files.best, best)))
        if policy.top_k:
            kept += self._update_top(trainer, epoch, score)
        wants_every = bool(policy.every_n_epochs) and epoch % policy.every_n_epochs == 0
        if policy.save_last or wants_every:
            state = trainer.state(epoch - 1)  # after the top-k update: last.pt carries the new list
            if wants_every:
                kept.append(Checkpoint("every", epoch, score, save_checkpoint(files.every(epoch), state)))
            if policy.save_last:
                kept.append(Checkpoint("last", epoch, score, save_checkpoint(files.last, state)))
        return kept

    def _update_top(self, trainer: Trainer, epoch: int, score: float) -> list[Checkpoint]:
        signed = -score if trainer.config.monitor == "loss" else score
        if len(self.top) >= self.policy.top_k and signed <= self.top[-1][0]:
            return []
        self.top.append((signed, epoch))
        self.top.sort(key=lambda item: (-item[0], item[1]))
        for _, dropped in self.top[self.policy.top_k :]:
            self.files.top(dropped).unlink(missing_ok=True)
        del self.top[self.policy.top_k :]
        weights = trainer.eval_model().state_dict()
        path = save_checkpoint(self.files.top(epoch), {"model": weights, "epoch": epoch - 1, "score": score})
        return [Checkpoint("top", epoch, score, path)]

    def best_weights(self, best_epoch: int, map_location="cpu") -> dict | None:
        """The weights of 1-based ``best_epoch``: from memory, else ``best.pt``; ``None`` when neither has them."""
        if self.best_in_memory is not None and self.best_in_memory[0] == best_epoch:
            return self.best_in_memory[1]
        if self.files is not None and self.policy.save_best and self.files.best.exists():
            return load_checkpoint(self.files.best, map_location=map_location)["model"]
        return None

    def state_dict(self) -> dict:
        return {"top": [[score, epoch] for score, epoch in self.top]}

    def load_state_dict(self, state: dict | None) -> None:
        self.top = [(float(score), int(epoch)) for score, epoch in (state or {}).get("top", [])]


def save_checkpoint(path: str | os.PathLike, state: dict) -> Path:
    """Write ``state`` to ``path`` atomically (``path.tmp`` + rename), so a crash never leaves half a file.

    The state is serialized in memory and written with Python's file calls, so a full disk is an ``OSError``
    (``torch.save`` to a path hides it in a ``RuntimeError``): it ends in one line, with the previous checkpoint
    of that name whole and no temporary file left (:func:`~textcls._util.atomic_save`).

    Args:
        path: the checkpoint file.
        state: tensors and plain containers (loadable with ``weights_only=True``).
    """
    buffer = io.BytesIO()
    torch.save(state, buffer)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            handle.write(buffer.getbuffer())
            handle.flush()
            os.fsync(handle.fileno())

    kept = "the last good checkpoint is kept; free some space, then continue with --resume"
    return atomic_save(path, write, kept)


def load_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict:
    """Read a checkpoint safely (``weights_only=True``: tensors and plain containers only, no code)."""
    path = Path(path)
    if not path.exists():
        raise TextclsError(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError, ValueError, OSError, pickle.UnpicklingError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TextclsError(f"cannot read checkpoint {path} (damaged or not a textcls checkpoint): {reason}") from None


def rng_state() -> dict:
    """The random states of Python, NumPy and torch, as weights_only-loadable values."""
    np_state = np.random.get_state()
    state = {
        "python": _to_plain(random.getstate()),
        "numpy": {
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` captured."""
    random.setstate(_to_tuple(state["python"]))
    numpy = state["numpy"]
    np.random.set_state(
        ("MT19937", numpy["keys"].numpy().astype(np.uint32), numpy["pos"], numpy["has_gauss"], numpy["cached_gaussian"])
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _to_plain(value):
    return [_to_plain(v) for v in value] if isinstance(value, tuple) else value


def _to_tuple(value):
    return tuple(_to_tuple(v) for v in value) if isinstance(value, list) else value
