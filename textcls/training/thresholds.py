"""Multi-label decision thresholds tuned on held-out data (a run's ``thresholds.json``)."""

from __future__ import annotations

import torch


def tune_thresholds(probabilities: torch.Tensor, targets: torch.Tensor, labels: list) -> dict:
    """Multi-label decision thresholds that maximise F1 on held-out data: one ``global`` (best micro-F1) and one
    per label (its own F1; a label absent from the data keeps the global one), each from 0.05, 0.10, ... 0.95.

    Args:
        probabilities: ``[examples, labels]`` sigmoid outputs.
        targets: the 0/1 matrix of true labels, same shape.
        labels: label names.
    """
    grid = torch.arange(1, 20, dtype=torch.float64) / 20
    probabilities, targets = probabilities.double(), targets.bool()
    predicted = probabilities.unsqueeze(0) >= grid.view(-1, 1, 1)  # [grid, examples, labels]
    tp = (predicted & targets).sum(dim=1).double()
    fp = (predicted & ~targets).sum(dim=1).double()
    fn = (~predicted & targets).sum(dim=1).double()
    micro = 2 * tp.sum(1) / (2 * tp.sum(1) + fp.sum(1) + fn.sum(1)).clamp(min=1)
    best_global = float(grid[int(torch.argmax(micro))])
    f1 = 2 * tp / (2 * tp + fp + fn).clamp(min=1)  # [grid, labels]
    per_class = {}
    for index, label in enumerate(labels):
        if not targets[:, index].any():
            per_class[str(label)] = best_global
        else:
            per_class[str(label)] = float(grid[int(torch.argmax(f1[:, index]))])  # the lowest best one
    return {"global": round(best_global, 4), "per_class": {k: round(v, 4) for k, v in per_class.items()},
            "tuned_on": "validation split", "micro_f1_at_global": float(micro.max())}  # fmt: skip
