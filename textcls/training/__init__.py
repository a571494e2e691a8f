"""The shared trainer and its parts (metrics, checkpoints, optimizers, reporting)."""

from textcls.training.step import Step

__all__ = ["Step", "Trainer", "TrainerConfig"]


def __getattr__(name):
    # the trainer pulls in TensorBoard and tqdm; load it on first use so `textcls.data` stays light
    if name in ("Trainer", "TrainerConfig"):
        from textcls.training import trainer

        return getattr(trainer, name)
    raise AttributeError(f"module 'textcls.training' has no attribute {name!r}")
