"""``Task``: the output side of a classifier (text or image), chosen from the labels: how many logits, which
loss, how to predict. The trainer, the metrics and both kinds of jobs use it.

- ``binary``: one logit, ``BCEWithLogitsLoss``; probability of the second label is ``sigmoid(logit)``.
- ``multiclass``: one logit per class, ``CrossEntropyLoss``; ``softmax`` probabilities.
- ``multilabel``: one logit per label, ``BCEWithLogitsLoss`` per label; labels whose probability ≥ ``threshold``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from textcls.errors import TextclsError

KINDS = ("binary", "multiclass", "multilabel")


@dataclass
class Task:
    """What is predicted: the kind of head and the label names (index order).

    Args:
        kind: ``"binary"``, ``"multiclass"`` or ``"multilabel"``.
        labels: label names; their order is the class index order.
        threshold: decision threshold for multi-label probabilities.
    """

    kind: str
    labels: list
    threshold: float = 0.5

    def __post_init__(self):
        if self.kind not in KINDS:
            raise TextclsError(f"unknown task kind {self.kind!r}; choose one of {', '.join(KINDS)}")
        if not self.labels:
            raise TextclsError("the training data has no labels; a classifier needs at least one")
        if len(self.labels) < 2 and self.kind != "multilabel":
            raise TextclsError(
                f"the training data has only one class ({self.labels[0] if self.labels else 'none'}); "
                "a classifier needs at least two"
            )

    @classmethod
    def from_labels(cls, labels: list, multilabel: bool = False, threshold: float = 0.5) -> Task:
        """``binary`` for two labels, ``multiclass`` for more, ``multilabel`` when asked."""
        if multilabel:
            return cls("multilabel", list(labels), threshold)
        return cls("binary" if len(labels) == 2 else "multiclass", list(labels), threshold)

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    @property
    def num_outputs(self) -> int:
        """Logits the model must produce."""
        return 1 if self.kind == "binary" else self.num_classes

    def loss_fn(self, class_weights: torch.Tensor | None = None) -> nn.Module:
        """The loss for this head."""
        if self.kind == "multiclass":
            return nn.CrossEntropyLoss(weight=class_weights)
        if class_weights is not None and self.kind == "binary":
            return _BCE(class_weights)
        return _BCE()

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """Per-class probabilities ``[batch, num_classes]`` (binary: ``[1 - p, p]``)."""
        logits = logits.float()
        if self.kind == "multiclass":
            return logits.softmax(dim=-1)
        if self.kind == "binary":
            p = torch.sigmoid(logits.reshape(-1))
            return torch.stack([1 - p, p], dim=-1)
        return torch.sigmoid(logits)

    def predict(self, logits: torch.Tensor) -> torch.Tensor:
        """Class indices ``[batch]``, or a 0/1 matrix ``[batch, labels]`` for multi-label."""
        if self.kind == "multilabel":
            return (torch.sigmoid(logits.float()) >= self.threshold).long()
        if self.kind == "binary":
            return (logits.reshape(-1) >= 0).long()
        return logits.argmax(dim=-1)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "labels": self.labels, "threshold": self.threshold}

    @classmethod
    def from_dict(cls, data: dict) -> Task:
        """Inverse of :meth:`to_dict` (``TypeError``/``KeyError`` for a mapping of the wrong shape)."""
        labels = data["labels"]
        if not isinstance(labels, list) or not all(isinstance(label, (str, int)) for label in labels):
            raise TypeError(f"labels must be a list of label names, not {labels!r}"[:120])
        return cls(data["kind"], labels, float(data.get("threshold", 0.5)))


class _BCE(nn.Module):
    """``BCEWithLogitsLoss`` that accepts class-index targets for the binary head."""

    def __init__(self, class_weights: torch.Tensor | None = None):
        super().__init__()
        self.loss = nn.BCEWithLogitsLoss()
        # binary class weights: each example weighs its class's weight, the loss their weighted mean (as
        # CrossEntropyLoss's ``weight``)
        self.register_buffer("class_weights", class_weights, persistent=False)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if logits.dim() == 2 and logits.shape[1] == 1:
            logits = logits[:, 0]
        if self.class_weights is None:
            return self.loss(logits.float(), target.to(torch.float32))
        weights = self.class_weights.to(logits.device)[target.long()]
        losses = nn.functional.binary_cross_entropy_with_logits(
            logits.float(), target.to(torch.float32), reduction="none"
        )
        return (losses * weights).sum() / weights.sum().clamp(min=1e-12)
