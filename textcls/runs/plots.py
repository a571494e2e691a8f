"""The PNGs a run keeps: learning curves and the confusion matrix (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

from textcls._util import atomic_write


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure, path: str | Path, dpi: int = 100) -> Path:
    """Lay out ``figure``, write it to ``path`` atomically (the format from the suffix, e.g. ``.png``) and close it.

    Args:
        figure: a matplotlib figure.
        path: the image file.
        dpi: resolution.
    """
    path = Path(path)
    figure.tight_layout()
    atomic_write(path, lambda tmp: figure.savefig(tmp, dpi=dpi, format=path.suffix.lstrip(".") or "png"))
    pyplot().close(figure)
    return path


def plot_learning_curves(history: list[dict], path: str | Path, monitor: str = "accuracy") -> Path:
    """Loss and ``monitor`` per epoch, train and validation, side by side."""
    plt = pyplot()
    epochs = [row["epoch"] for row in history]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for split, style in (("train", "-o"), ("valid", "-s")):
        rows = [row.get(split) or {} for row in history]
        if any("loss" in r for r in rows):
            left.plot(epochs, [r.get("loss") for r in rows], style, label=split)
        if any(monitor in r for r in rows):
            right.plot(epochs, [r.get(monitor) for r in rows], style, label=split)
    left.set(title="loss", xlabel="epoch")
    right.set(title=monitor, xlabel="epoch")
    for axis in (left, right):
        axis.grid(alpha=0.3)
        axis.legend()
    return save_figure(figure, path)


ANNOTATED_CLASSES = 30  # beyond this many classes the cells carry no count text (one text per cell is slow)


def plot_confusion(matrix: list[list[int]], labels: list, path: str | Path, title: str = "confusion matrix") -> Path:
    """Counts with true labels as rows, predicted as columns; each cell shows its count up to
    :data:`ANNOTATED_CLASSES` classes (beyond, the colour alone; the figure stays at most 20 inches a side).
    Reports with more than :data:`textcls.training.metrics.CONFUSION_LIMIT` classes hold no dense matrix and get
    no plot."""
    plt = pyplot()
    size = min(20.0, max(4.0, 0.6 * len(labels) + 2))
    figure, axis = plt.subplots(figsize=(size, size))
    image = axis.imshow(matrix, cmap="Blues")
    axis.set_xticks(range(len(labels)), [str(label) for label in labels], rotation=45, ha="right")
    axis.set_yticks(range(len(labels)), [str(label) for label in labels])
    axis.set(xlabel="predicted", ylabel="true", title=title)
    peak = max((max(row) for row in matrix), default=0)
    for i, row in enumerate(matrix if len(labels) <= ANNOTATED_CLASSES else []):
        for j, count in enumerate(row):
            axis.text(j, i, str(count), ha="center", va="center", color="white" if count > peak / 2 else "black")
    figure.colorbar(image, ax=axis, fraction=0.046)
    return save_figure(figure, path)
