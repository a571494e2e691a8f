"""Pictures of an image run: a grid of training images, and misclassified validation images each epoch."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch

from textcls.image.data import ImageSplit
from textcls.runs.plots import pyplot, save_figure
from textcls.training.callbacks import Callback

if TYPE_CHECKING:
    from textcls.training.trainer import EpochResult, Trainer


def _show(axis, image: torch.Tensor, title: str) -> None:
    """``image`` uint8 ``[C, H, W]`` as stored (not normalised)."""
    picture = image.permute(1, 2, 0).numpy()
    if picture.shape[2] == 1:
        axis.imshow(picture[:, :, 0], cmap="gray", vmin=0, vmax=255)
    else:
        axis.imshow(picture)
    axis.set_title(title, fontsize=8)
    axis.axis("off")


def save_grid(images: list[torch.Tensor], titles: list[str], path: str | Path, columns: int = 8):
    """A grid of images with titles, saved as a PNG; returns its path."""
    plt = pyplot()
    rows = max(1, -(-len(images) // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(columns * 1.4, rows * 1.6), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, image, title in zip(axes.flat, images, titles):
        _show(axis, image, title)
    return save_figure(figure, path)


def save_training_grid(split: ImageSplit, classes: list[str], path: str | Path, count: int = 32, seed: int = 0):
    """``count`` random training images titled with their class."""
    order = torch.randperm(len(split), generator=torch.Generator().manual_seed(seed))[:count].tolist()
    return save_grid([split.load(i) for i in order], [classes[int(split.labels[i])] for i in order], path)


class MisclassifiedPreviews(Callback):
    """Trainer callback: after each epoch, up to ``count`` misclassified validation images titled
    predicted/actual, saved as ``folder/epoch-NN.png`` (and to TensorBoard when the trainer writes it).

    Args:
        split: the validation split (raw images are shown, not the normalised inputs).
        batches: its trainer batches.
        classes: class names.
        folder: where the PNGs go.
        count: images per epoch.
    """

    def __init__(self, split: ImageSplit, batches, classes: list[str], folder: str | Path, count: int = 16):
        self.split, self.batches, self.classes = split, batches, classes
        self.folder, self.count = Path(folder), count

    def on_epoch_end(self, trainer: Trainer, result: EpochResult) -> None:
        wrong: list[tuple[int, int]] = []
        model = trainer.eval_model().eval()  # the validated weights (the moving average with ema_decay)
        with torch.no_grad():
            for step in self.batches:
                predictions = trainer.task.predict(model(step.inputs[0].to(trainer.device))).cpu()
                for index, predicted, actual in zip(step.indices, predictions.tolist(), step.targets.tolist()):
                    if predicted != actual:
                        wrong.append((index, predicted))
                if len(wrong) >= self.count:
                    break
        wrong = wrong[: self.count]
        if not wrong:
            return
        images = [self.split.load(index) for index, _ in wrong]
        titles = [f"{self.classes[p]}/{self.classes[int(self.split.labels[i])]}" for i, p in wrong]
        path = save_grid(images, titles, self.folder / f"epoch-{result.epoch:02d}.png")
        writer = trainer.reporter.writer
        if writer is not None:
            import numpy as np
            from PIL import Image

            picture = np.asarray(Image.open(path).convert("RGB"))
            writer.add_image("misclassified (predicted/actual)", picture, result.epoch, dataformats="HWC")
