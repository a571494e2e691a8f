"""The shared trainer and its parts (task, callbacks, checkpoints, metrics, optimizers, reporting)."""

from textcls.training.step import Step
from textcls.training.task import Task

__all__ = ["Callback", "CheckpointPolicy", "Step", "Task", "Trainer", "TrainerConfig"]

_LAZY = {
    "Trainer": "textcls.training.trainer",
    "TrainerConfig": "textcls.training.trainer",
    "Callback": "textcls.training.callbacks",
    "CheckpointPolicy": "textcls.training.checkpoints",
}


def __getattr__(name):
    # the trainer pulls in TensorBoard and tqdm; load it on first use so `textcls.data` stays light
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'textcls.training' has no attribute {name!r}")
