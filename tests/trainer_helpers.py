"""Helpers the trainer tests share: interrupting a fit at an epoch, and comparing histories without timings."""

from textcls.training.callbacks import Callback


def metrics_only(history: list[dict]) -> list[dict]:
    """The epoch rows of a history without their timings (which differ between runs)."""
    return [{k: row[k] for k in ("epoch", "train", "valid", "lr", "best")} for row in history]


class Interrupted(Exception):
    """Raised by :class:`StopAfter`."""


class StopAfter(Callback):
    """Interrupts training at the end of 1-based ``epoch`` (after its checkpoints are written)."""

    def __init__(self, epoch: int):
        self.epoch = epoch

    def on_epoch_end(self, trainer, result):
        if result.epoch == self.epoch:
            raise Interrupted
