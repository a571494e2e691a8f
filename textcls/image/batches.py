"""Trainer batches of images: :class:`~textcls.training.step.Step` objects, reshuffled per epoch from a seed."""

from __future__ import annotations

import copy

import torch
from torch.utils.data import DataLoader, Dataset

from textcls.distributed import check_rank, shard_batches
from textcls.image.data import ImageSplit, Preprocess
from textcls.training.step import Step


class _Items(Dataset):
    """Per-image loading and preprocessing, for DataLoader workers (folders on disk, or augmentation)."""

    def __init__(self, split: ImageSplit, preprocess: Preprocess, augment: bool):
        self.split, self.preprocess, self.augment = split, preprocess, augment

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, i: int):
        image = self.split.load(i)
        x = self.preprocess.train_item(image) if self.augment else self.preprocess.batch(image.unsqueeze(0))[0]
        return x, self.split.labels[i], i


def _collate(items) -> Step:
    images, labels, indices = zip(*items)
    return Step((torch.stack(images),), torch.stack(labels), 0, list(indices))


class ImageBatches:
    """Batches of one split for the trainer.

    In-memory images without random augmentation are sliced and preprocessed a batch at a time (no per-image
    Python work); folders and augmented training go through a ``DataLoader`` (``num_workers`` processes).

    Args:
        split: the images and labels.
        preprocess: how images become model inputs.
        batch_size: images per batch.
        train: shuffle (seeded by ``seed`` and the epoch) and apply augmentation.
        seed: shuffling seed.
        num_workers: DataLoader worker processes for the per-image path.
    """

    def __init__(self, split: ImageSplit, preprocess: Preprocess, batch_size: int = 64, train: bool = False,
                 seed: int = 0, num_workers: int = 0):  # fmt: skip
        self.split, self.preprocess = split, preprocess
        self.batch_size, self.train, self.seed, self.num_workers = int(batch_size), train, seed, num_workers
        self.augment = train and preprocess.random
        self.epoch = 0
        self.rank, self.num_replicas = 0, 1
        self._cache: tuple[int, list[list[int]]] | None = None  # (epoch, its batches): len() is asked every step

    def shard(self, rank: int, num_replicas: int) -> ImageBatches:
        """The same batches, each cut to process ``rank``'s part (of ``num_replicas``), for a distributed run
        (:func:`textcls.distributed.shard_batches`); ``self`` is unchanged."""
        check_rank(rank, num_replicas)
        part = copy.copy(self)
        part.rank, part.num_replicas, part._cache = rank, num_replicas, None
        return part

    def set_epoch(self, epoch: int) -> None:
        """Use the shuffle order (and augmentation draws) of ``epoch`` (makes resumed runs exact)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self._batches())

    def _batches(self) -> list[list[int]]:
        """This process's part of each batch of the epoch, in order."""
        if self._cache is None or self._cache[0] != self.epoch:
            order = self._order().tolist()
            batches = [order[start : start + self.batch_size] for start in range(0, len(order), self.batch_size)]
            self._cache = (self.epoch, shard_batches(batches, self.rank, self.num_replicas))
        return self._cache[1]

    def _order(self) -> torch.Tensor:
        if not self.train:
            return torch.arange(len(self.split))
        return torch.randperm(len(self.split), generator=torch.Generator().manual_seed(self.seed + self.epoch))

    def __iter__(self):
        batches = self._batches()
        if self.split.images is not None and not self.augment:
            for indices in batches:
                index = torch.tensor(indices)
                inputs = self.preprocess.batch(self.split.images[index])
                yield Step((inputs,), self.split.labels[index], 0, indices)
            return
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        loader = DataLoader(
            _Items(self.split, self.preprocess, self.augment), batch_sampler=batches, generator=generator,
            num_workers=self.num_workers, collate_fn=_collate, persistent_workers=False,
        )  # fmt: skip
        yield from loader
