"""Trainer callbacks: the one way to extend the training loop.

Subclass :class:`Callback`, override the hooks you need and pass instances as ``Trainer(..., callbacks=[...])``
(or append them to ``trainer.callbacks``). :meth:`~textcls.training.trainer.Trainer.fit` calls them in list
order, at these points::

    on_fit_start(trainer)                  once, before the first epoch (after a resume has loaded its state)
    for each epoch:
        on_epoch_start(trainer, epoch)     0-based epoch, before its first batch
        after_step(trainer, step)          after each optimizer step; ``step`` counts them from 1 over the run
        on_checkpoint(trainer, checkpoint) for each checkpoint the policy kept this epoch (best, last, ...)
        on_epoch_end(trainer, result)      after validation, checkpoints and the epoch line
    on_fit_end(trainer)                    once, when training ends normally, with the final weights loaded

An exception raised by a callback stops training (the checkpoints already written stay). Callbacks that build
themselves from a model (the embedding freeze schedule, the image previews) are added by whoever builds the model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textcls.training.checkpoints import Checkpoint
    from textcls.training.trainer import EpochResult, Trainer


class Callback:
    """Base class of trainer callbacks: every hook does nothing until overridden."""

    def on_fit_start(self, trainer: Trainer) -> None:
        """Before the first epoch of :meth:`Trainer.fit` (``trainer.start_epoch`` is set when resumed)."""

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        """Before the first batch of 0-based ``epoch``."""

    def after_step(self, trainer: Trainer, step: int) -> None:
        """After optimizer step number ``step`` (1-based, counted over the whole run, resumes included)."""

    def on_checkpoint(self, trainer: Trainer, checkpoint: Checkpoint) -> None:
        """After the checkpoint policy kept ``checkpoint`` (a file, or the best weights in memory)."""

    def on_epoch_end(self, trainer: Trainer, result: EpochResult) -> None:
        """After the epoch's validation, checkpoints and report (``result.best`` says if it was the best)."""

    def on_fit_end(self, trainer: Trainer) -> None:
        """When :meth:`Trainer.fit` finishes without an error, after the final weights are loaded."""
