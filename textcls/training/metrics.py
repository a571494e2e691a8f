"""Classification metrics: accuracy, macro-F1, per-class precision/recall/F1, confusion matrix; micro/macro-F1
and subset accuracy for multi-label. Computed from counts with torch, no extra dependency."""

from __future__ import annotations

import torch


def _prf(tp: torch.Tensor, fp: torch.Tensor, fn: torch.Tensor):
    precision = torch.where(tp + fp > 0, tp / (tp + fp).clamp(min=1), torch.zeros_like(tp))
    recall = torch.where(tp + fn > 0, tp / (tp + fn).clamp(min=1), torch.zeros_like(tp))
    f1 = torch.where(precision + recall > 0, 2 * precision * recall / (precision + recall).clamp(min=1e-12), 0.0)
    return precision, recall, f1


def _averages(precision, recall, f1, support, present) -> dict:
    """Macro (unweighted mean over the ``present`` classes) and weighted (by support) precision, recall and F1,
    as scikit-learn's ``classification_report``."""
    total = support.sum()
    report = {}
    for name, values in (("precision", precision), ("recall", recall), ("f1", f1)):
        if name != "f1":
            report[f"macro_{name}"] = float(values[present].mean()) if present.any() else 0.0
        report[f"weighted_{name}"] = float((values * support).sum() / total) if total > 0 else 0.0
    return report


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


# Per-class and confusion data grow with the classes (the confusion matrix as their square): beyond these limits a
# report keeps the most frequent classes and the most frequent (true, predicted) cells only.
CONFUSION_LIMIT = 100  # a dense confusion matrix up to this many classes; sparse ``confusion_pairs`` beyond
PER_CLASS_LIMIT = 100  # beyond CONFUSION_LIMIT classes, ``per_class`` holds this many, the most frequent
CONFUSION_PAIRS_LIMIT = 1000  # the most frequent non-zero cells kept as ``[true, predicted, count]``


def confusion_matrix(targets: torch.Tensor, predictions: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``[true, predicted]`` counts."""
    index = targets.long() * num_classes + predictions.long()
    return torch.bincount(index, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def confusion_pairs(targets: torch.Tensor, predictions: torch.Tensor, labels: list, limit: int) -> list[list]:
    """The ``limit`` most frequent non-zero cells of the confusion matrix as ``[true label, predicted label,
    count]`` (most frequent first; ties in row-major order), computed without the matrix."""
    index = targets.long() * len(labels) + predictions.long()
    cells, counts = (t.tolist() for t in torch.unique(index, return_counts=True))
    order = sorted(range(len(cells)), key=lambda i: (-counts[i], cells[i]))[:limit]
    classes = len(labels)
    return [[str(labels[cells[i] // classes]), str(labels[cells[i] % classes]), counts[i]] for i in order]


def single_label_report(targets: torch.Tensor, predictions: torch.Tensor, labels: list) -> dict:
    """Metrics for binary / multi-class predictions (class indices), in memory linear in the classes.

    Returns:
        ``accuracy``, ``macro_f1`` (over every class in the data or the predictions), ``per_class``
        (``{label: {precision, recall, f1, support}}``) and, up to :data:`CONFUSION_LIMIT` classes, ``confusion``
        (rows: true label, columns: predicted). With more classes, ``per_class`` holds the
        :data:`PER_CLASS_LIMIT` most frequent classes (by support; ``per_class_of`` says of how many) and
        ``confusion_pairs`` the :data:`CONFUSION_PAIRS_LIMIT` most frequent cells as ``[true, predicted, count]``
        (``confusion_cells``: how many cells are non-zero), so nothing grows as the square of the classes.
    """
    classes = len(labels)
    targets, predictions = targets.long(), predictions.long()
    support = torch.bincount(targets, minlength=classes).double()
    tp = torch.bincount(targets[targets == predictions], minlength=classes).double()
    fp = torch.bincount(predictions, minlength=classes).double() - tp
    fn = support - tp
    precision, recall, f1 = _prf(tp, fp, fn)
    present = (support > 0) | (tp + fp > 0)  # as sklearn: classes in the data or in the predictions
    total = support.sum()
    report = {
        "accuracy": float(tp.sum() / total) if total > 0 else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        **_averages(precision, recall, f1, support, present),
    }
    if classes <= CONFUSION_LIMIT:
        report["per_class"] = _per_class(labels, precision, recall, f1, support)
        report["confusion"] = confusion_matrix(targets, predictions, classes).tolist()
        return report
    counts = support.tolist()
    shown = sorted(range(classes), key=lambda i: (-counts[i], i))[:PER_CLASS_LIMIT]
    index = torch.tensor(shown)
    report["per_class"] = _per_class([labels[i] for i in shown], precision[index], recall[index], f1[index],
                                     support[index])  # fmt: skip
    report["per_class_of"] = classes
    report["confusion_pairs"] = confusion_pairs(targets, predictions, labels, CONFUSION_PAIRS_LIMIT)
    report["confusion_cells"] = int(torch.unique(targets * classes + predictions).numel())
    return report


def epoch_summary(report: dict | None) -> dict | None:
    """What an epoch's history keeps of a validation report: all of it, except the per-class and confusion data
    of a report with more than :data:`CONFUSION_LIMIT` classes (the final report keeps those)."""
    if report is None or "per_class_of" not in report:
        return report
    return {k: v for k, v in report.items() if k not in ("per_class", "confusion_pairs", "confusion_cells")}


def per_class_lines(report: dict, heading: str = "label") -> list[str]:
    """The per-class table of a report as printed by ``evaluate`` (a note first when it shows some classes only).

    Args:
        report: a :func:`single_label_report` or :func:`multilabel_report`.
        heading: the first column's title.
    """
    lines = []
    if "per_class_of" in report:
        lines.append(f"per class: the {len(report['per_class']):,} most frequent of {report['per_class_of']:,} classes")
    lines.append(f"{heading:<20} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>9}")
    for label, row in report["per_class"].items():
        lines.append(f"{label:<20} {row['precision']:>9.3f} {row['recall']:>9.3f} {row['f1']:>9.3f} "
                     f"{row['support']:>9,}")  # fmt: skip
    return lines


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
        **_averages(precision, recall, f1, support.double(), torch.ones_like(f1, dtype=torch.bool)),
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

    def gathered(self, group) -> MetricTracker:
        """This tracker with every rank's batches of a distributed run added (``group``: a
        :class:`~textcls.distributed.Distributed`; itself when the run has one process)."""
        if not group.enabled:
            return self
        parts = group.gather((self.loss_sum, self.examples, self.correct, self._targets, self._predictions))
        total = MetricTracker(self.task)
        for loss_sum, examples, correct, targets, predictions in parts:
            total.loss_sum += loss_sum
            total.examples += examples
            total.correct += correct
            total._targets += targets
            total._predictions += predictions
        return total

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


def precision_recall_at_k(gold: list[set[int]], probabilities: torch.Tensor, k: int, threshold=None) -> dict:
    """fastText's ``test`` figures (its ``Meter``): each example predicts its ``k`` most likely labels (``-1``:
    all), those below ``threshold`` dropped; precision = correct predicted labels / predicted labels, recall =
    correct predicted labels / true labels, each summed over all the examples; as fastText's, precision is NaN
    when nothing is predicted (recall: when there is no true label).

    Args:
        gold: per example, the indices of its true labels.
        probabilities: ``[examples, labels]``.
        k: labels predicted per example (``-1``: all).
        threshold: drop predictions with a probability below it (``None``: keep them).

    Returns:
        ``N`` (examples), ``predicted``, ``gold``, ``correct`` (counts), ``precision``, ``recall``.
    """
    predicted = correct = gold_total = 0
    classes = probabilities.shape[1] if probabilities.dim() == 2 else 0
    take = classes if k == -1 else min(k, classes)
    for labels, row in zip(gold, probabilities):
        top = torch.topk(row, take).indices.tolist() if take else []
        chosen = [i for i in top if threshold is None or float(row[i]) >= threshold]
        predicted += len(chosen)
        correct += sum(1 for i in chosen if i in labels)
        gold_total += len(labels)
    return {
        "N": len(gold),
        "predicted": predicted,
        "gold": gold_total,
        "correct": correct,
        "precision": correct / predicted if predicted else float("nan"),
        "recall": correct / gold_total if gold_total else float("nan"),
    }
