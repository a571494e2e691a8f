"""Classification metrics: accuracy, macro-F1, per-class precision/recall/F1, confusion matrix; micro/macro-F1
and subset accuracy for multi-label. Computed from counts with torch, no extra dependency."""

from __future__ import annotations

import torch


def _prf(tp: torch.Tensor, fp: torch.Tensor, fn: torch.Tensor):
    precision = torch.where(tp + fp > 0, tp / (tp + fp).clamp(min=1), torch.zeros_like(tp))
    recall = torch.where(tp + fn > 0, tp / (tp + fn).clamp(min=1), torch.zeros_like(tp))
    f1 = torch.where(precision + recall > 0, 2 * precision * recall / (precision + recall).clamp(min=1e-12), 0.0)
    return precision, recall, f1


def _per_class(labels, precision, recall, f1, support) -> dict:
    return {
        str(label): {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, label in enumerate(labels)
    }


def confusion_matrix(targets: torch.Tensor, predictions: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``[true, predicted]`` counts."""
    index = targets.long() * num_classes + predictions.long()
    return torch.bincount(index, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def single_label_report(targets: torch.Tensor, predictions: torch.Tensor, labels: list) -> dict:
    """Metrics for binary / multi-class predictions (class indices).

    Returns:
        ``accuracy``, ``macro_f1``, ``per_class`` (``{label: {precision, recall, f1, support}}``) and
        ``confusion`` (rows: true label, columns: predicted).
    """
    matrix = confusion_matrix(targets, predictions, len(labels)).double()
    tp = matrix.diag()
    fp = matrix.sum(dim=0) - tp
    fn = matrix.sum(dim=1) - tp
    precision, recall, f1 = _prf(tp, fp, fn)
    support = matrix.sum(dim=1)
    present = (support > 0) | (matrix.sum(dim=0) > 0)  # as sklearn: classes in the data or in the predictions
    total = matrix.sum()
    return {
        "accuracy": float(tp.sum() / total) if total > 0 else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "per_class": _per_class(labels, precision, recall, f1, support),
        "confusion": matrix.long().tolist(),
    }


def multilabel_report(targets: torch.Tensor, predictions: torch.Tensor, labels: list) -> dict:
    """Metrics for multi-label 0/1 matrices ``[examples, labels]``.

    Returns:
        ``accuracy`` (exact-match / subset accuracy), ``micro_f1``, ``macro_f1``, ``per_class``.
    """
    targets, predictions = targets.bool(), predictions.bool()
    tp = (targets & predictions).sum(dim=0).double()
    fp = (~targets & predictions).sum(dim=0).double()
    fn = (targets & ~predictions).sum(dim=0).double()
    precision, recall, f1 = _prf(tp, fp, fn)
    _, _, micro = _prf(tp.sum(), fp.sum(), fn.sum())
    support = targets.sum(dim=0)
    return {
        "accuracy": float((targets == predictions).all(dim=1).double().mean()) if len(targets) else 0.0,
        "micro_f1": float(micro),
        "macro_f1": float(f1.mean()),
        "per_class": _per_class(labels, precision, recall, f1, support),
    }


class MetricTracker:
    """Collects loss, predictions and targets over an epoch and reports the metrics.

    Args:
        task: the :class:`~textcls.training.task.Task` (its kind and labels), or ``None`` to track only the loss.
    """

    def __init__(self, task=None):
        self.task = task
        self.loss_sum = 0.0
        self.examples = 0
        self.correct = 0
        self._targets: list[torch.Tensor] = []
        self._predictions: list[torch.Tensor] = []

    def update(self, loss: float, logits: torch.Tensor, targets: torch.Tensor) -> None:
        """Add one batch (``loss`` is the batch mean)."""
        n = targets.shape[0]
        self.loss_sum += loss * n
        self.examples += n
        if self.task is None:
            return
        predictions = self.task.predict(logits.detach()).cpu()
        targets = targets.detach().cpu()
        if self.task.kind == "multilabel":
            self.correct += int((predictions == targets.long()).all(dim=1).sum())
        else:
            self.correct += int((predictions == targets.long()).sum())
        self._targets.append(targets)
        self._predictions.append(predictions)

    @property
    def loss(self) -> float:
        return self.loss_sum / max(1, self.examples)

    @property
    def accuracy(self) -> float:
        return self.correct / max(1, self.examples)

    def report(self) -> dict:
        """``loss`` plus the task's metrics (see :func:`single_label_report` / :func:`multilabel_report`)."""
        result = {"loss": self.loss}
        if self.task is None or not self._targets:
            return result
        targets = torch.cat(self._targets)
        predictions = torch.cat(self._predictions)
        if self.task.kind == "multilabel":
            result.update(multilabel_report(targets, predictions, self.task.labels))
        else:
            result.update(single_label_report(targets, predictions, self.task.labels))
        return result
