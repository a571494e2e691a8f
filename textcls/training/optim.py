"""Optimizers and learning-rate schedules by name."""

from __future__ import annotations

import torch
from torch import nn

from textcls.errors import TextclsError
from textcls.training.lazy_adam import LazyAdam

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
        name: ``adam``, ``adamw``, ``sgd`` (with ``momentum``) or ``adagrad``. For a model with sparse gradients
            (``bag``, or an embedding with ``sparse_embedding``) ``adam`` / ``adamw`` are :class:`LazyAdam` (the
            same update for dense gradients; a sparse one updates only the rows it names).
        lr: learning rate.
        weight_decay: L2 penalty (decoupled for ``adamw``).
        momentum: SGD momentum.
    """
    params = list(model.parameters())
    if has_sparse_gradients(model):
        # off is torch's default; saying so explicitly stops adagrad's warning on every run
        torch.sparse.check_sparse_tensor_invariants.disable()
        if name in ("adam", "adamw"):
            return LazyAdam(params, lr=lr, weight_decay=weight_decay, decoupled=name == "adamw")
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, weight_decay=weight_decay)
    raise TextclsError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")


def clip_gradients(parameters, max_norm: float) -> torch.Tensor:
    """Scale the gradients so that their joint 2-norm is at most ``max_norm`` (``nn.utils.clip_grad_norm_``'s
    rule), sparse gradients included: each is coalesced first (an embedding's repeated ids summed into one row),
    so its norm is the norm of the gradient it stands for.

    Args:
        parameters: the parameters whose ``.grad`` to clip (those without one are skipped).
        max_norm: the largest norm allowed.

    Returns:
        the norm before clipping.
    """
    with_grad = [param for param in parameters if param.grad is not None]
    if not any(param.grad.is_sparse for param in with_grad):
        return nn.utils.clip_grad_norm_(with_grad, max_norm)
    grads = []
    for param in with_grad:
        if param.grad.is_sparse:
            param.grad = param.grad.coalesce()
            grads.append(param.grad._values())
        else:
            grads.append(param.grad)
    total = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(grad) for grad in grads]))
    scale = (max_norm / (total + 1e-6)).clamp(max=1.0)
    for grad in grads:
        grad.mul_(scale.to(grad.device))
    return total


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
