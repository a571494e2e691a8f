"""Optimizers and learning-rate schedules by name."""

from __future__ import annotations

import torch
from torch import nn

from textcls.errors import TextclsError

OPTIMIZERS = ("adam", "adamw", "sgd", "adagrad")
SCHEDULERS = ("none", "step", "cosine", "plateau", "linear")


def has_sparse_gradients(model: nn.Module) -> bool:
    """True when an embedding of the model produces sparse gradients."""
    return any(getattr(m, "sparse", False) for m in model.modules() if isinstance(m, (nn.Embedding, nn.EmbeddingBag)))


def build_optimizer(
    model: nn.Module, name: str, lr: float, weight_decay: float = 0.0, momentum: float = 0.9
) -> torch.optim.Optimizer:
    """An optimizer over all parameters (frozen ones included, so they train once unfrozen).

    Args:
        model: the model.
        name: ``adam``, ``adamw``, ``sgd`` (with ``momentum``) or ``adagrad``. Models with sparse gradients need
            ``sgd`` or ``adagrad``.
        lr: learning rate.
        weight_decay: L2 penalty (decoupled for ``adamw``).
        momentum: SGD momentum.
    """
    params = list(model.parameters())
    if has_sparse_gradients(model):
        if name in ("adam", "adamw"):
            raise TextclsError(f"optimizer {name!r} cannot take sparse gradients; use sgd or adagrad for this model")
        # off is torch's default; saying so explicitly stops adagrad's warning on every run
        torch.sparse.check_sparse_tensor_invariants.disable()
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, weight_decay=weight_decay)
    raise TextclsError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")


def build_scheduler(
    optimizer: torch.optim.Optimizer,
    name: str | None,
    epochs: int,
    steps_per_epoch: int,
    step_size: int = 1,
    gamma: float = 0.1,
    mode: str = "max",
    patience: int = 1,
):
    """A scheduler and how often it steps (``"epoch"`` or ``"batch"``), or ``(None, None)``.

    Args:
        optimizer: the optimizer.
        name: ``none``, ``step`` (StepLR every ``step_size`` epochs by ``gamma``), ``cosine`` (to zero over the
            run), ``plateau`` (×``gamma`` after ``patience`` epochs without progress on the monitored metric),
            ``linear`` (decay to zero over all batches, as fastText does).
        epochs: planned epochs.
        steps_per_epoch: optimizer steps per epoch.
    """
    if name in (None, "none"):
        return None, None
    if name == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=step_size, gamma=gamma), "epoch"
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, epochs)), "epoch"
    if name == "plateau":
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode=mode, factor=gamma, patience=patience)
        return scheduler, "metric"
    if name == "linear":
        total = max(1, epochs * steps_per_epoch)
        return torch.optim.lr_scheduler.LambdaLR(optimizer, _LinearDecay(total)), "batch"
    raise TextclsError(f"unknown scheduler {name!r}; choose one of {', '.join(SCHEDULERS)}")


class _LinearDecay:
    """LR factor going linearly from 1 to 0 over ``total`` steps (a class, so the scheduler state pickles)."""

    def __init__(self, total: int):
        self.total = total

    def __call__(self, step: int) -> float:
        return max(0.0, 1.0 - step / self.total)
