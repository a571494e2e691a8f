"""``Step``: the unit of data the trainer consumes, whatever the model (text or image)."""

from __future__ import annotations

import torch


class Step:
    """One training/evaluation step's data: model ``inputs``, ``targets``, real ``tokens`` and example ``indices``."""

    __slots__ = ("inputs", "targets", "tokens", "indices")

    def __init__(self, inputs: tuple, targets, tokens: int = 0, indices=None):
        self.inputs = inputs
        self.targets = targets
        self.tokens = tokens
        self.indices = indices

    def to(self, device, non_blocking: bool = False) -> Step:
        move = lambda t: t.to(device, non_blocking=non_blocking) if isinstance(t, torch.Tensor) else t  # noqa: E731
        return Step(tuple(move(t) for t in self.inputs), move(self.targets), self.tokens, self.indices)
