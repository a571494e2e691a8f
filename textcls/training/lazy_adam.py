"""Adam that also takes sparse gradients: the rows a sparse gradient names are updated, the others left alone.

A large embedding trained with dense Adam costs every step a pass over all its rows (gradient, both moments, the
weights), however few of them the batch used: 20 Newsgroups' 173 k trainable rows of 50 floats made that the
larger part of a 1×64 BiLSTM's step on CPU. With ``sparse_embedding`` the embedding's gradient names only the
batch's rows, and :class:`LazyAdam` updates those rows' moments and weights (as ``torch.optim.SparseAdam`` and
TensorFlow's LazyAdam do). A dense gradient gets exactly ``torch.optim.Adam``'s (or ``AdamW``'s) update; a sparse
one the same update on its rows, so a row that every batch uses follows dense Adam step for step.
"""

from __future__ import annotations

import math

import torch


class LazyAdam(torch.optim.Optimizer):
    """Adam for a mix of dense and sparse gradients.

    Args:
        params: parameters or parameter groups.
        lr: learning rate.
        betas: the moments' decay rates.
        eps: added to the root of the second moment (after its bias correction, as ``torch.optim.Adam``).
        weight_decay: L2 penalty added to the gradient (``decoupled=False``, Adam) or decoupled weight decay
            (``decoupled=True``, AdamW); for a sparse gradient only on the rows it names.
        decoupled: AdamW's decoupled weight decay.
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
                 decoupled: bool = False):  # fmt: skip
        if lr < 0 or eps < 0 or weight_decay < 0 or not all(0.0 <= beta < 1.0 for beta in betas):
            raise ValueError(f"LazyAdam: lr {lr}, betas {betas}, eps {eps}, weight_decay {weight_decay} out of range")
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay, "decoupled": decoupled}
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every parameter that has a gradient; ``closure`` re-evaluates the loss (optional)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is not None:
                    self._update(param, group)
        return loss

    def _update(self, param: torch.Tensor, group: dict) -> None:
        state = self.state[param]
        if not state:
            state["step"] = torch.tensor(0.0)
            state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(param, memory_format=torch.preserve_format)
        state["step"] += 1
        step = float(state["step"])
        grad = param.grad
        if grad.is_sparse:
            grad = grad.coalesce()  # one value per row: repeated ids summed
            rows, grad = grad.indices()[0], grad.values()
            weights = param.index_select(0, rows)
            exp_avg = state["exp_avg"].index_select(0, rows)
            exp_avg_sq = state["exp_avg_sq"].index_select(0, rows)
        else:
            rows, weights, exp_avg, exp_avg_sq = None, param, state["exp_avg"], state["exp_avg_sq"]
        lr, (beta1, beta2), decay = group["lr"], group["betas"], group["weight_decay"]
        if decay and group["decoupled"]:
            weights.mul_(1 - lr * decay)
        elif decay:
            grad = grad.add(weights, alpha=decay)
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        denominator = (exp_avg_sq.sqrt() / math.sqrt(1 - beta2**step)).add_(group["eps"])
        weights.addcdiv_(exp_avg, denominator, value=-lr / (1 - beta1**step))
        if rows is not None:
            param.index_copy_(0, rows, weights)
            state["exp_avg"].index_copy_(0, rows, exp_avg)
            state["exp_avg_sq"].index_copy_(0, rows, exp_avg_sq)
