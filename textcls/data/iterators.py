"""``Batch``, ``Iterator`` and ``BucketIterator`` with the legacy torchtext interface.

Both iterators draw their batches from :func:`textcls.data.batching.make_batches`. ``Iterator`` cuts the
(shuffled or sorted) data in order; ``BucketIterator`` always groups examples of similar length while
training — legacy torchtext only did so with ``sort_within_batch=True``.
"""

from __future__ import annotations

import math
import random

import torch

from textcls.data.batching import make_batches
from textcls.data.dataset import default_sort_key


class Batch:
    """One mini-batch: an attribute per field holding that field's tensor (or ``(tensor, lengths)``).

    Args:
        data: the examples.
        dataset: the dataset they come from (gives the fields); may be ``None`` when ``fields`` is given.
        device: where tensors go.
        fields: ``{name: field}``, overriding ``dataset.fields``.

    Iterating a batch yields its input value(s), then its target value(s), so ``text, label = batch`` works.
    """

    def __init__(self, data=None, dataset=None, device=None, fields=None):
        if data is None:
            return
        fields = dict(fields if fields is not None else dataset.fields)
        self.batch_size = len(data)
        self.dataset = dataset
        self.fields = list(fields)
        self.input_fields = [k for k, v in fields.items() if v is not None and not v.is_target]
        self.target_fields = [k for k, v in fields.items() if v is not None and v.is_target]
        for name, field in fields.items():
            if field is not None:
                setattr(self, name, field.process([getattr(x, name) for x in data], device=device))

    @classmethod
    def fromvars(cls, dataset, batch_size, train=None, **kwargs):
        """Create a batch directly from tensors given as keyword arguments."""
        batch = cls()
        batch.batch_size = batch_size
        batch.dataset = dataset
        batch.fields = list(dataset.fields)
        batch.input_fields = [k for k, v in dataset.fields.items() if v is not None and not v.is_target]
        batch.target_fields = [k for k, v in dataset.fields.items() if v is not None and v.is_target]
        for name, value in kwargs.items():
            setattr(batch, name, value)
        return batch

    def to(self, device, non_blocking: bool = False) -> Batch:
        """Move every tensor (and ``(tensor, lengths)`` pair) to ``device``; returns ``self``."""
        for name in self.fields:
            value = getattr(self, name, None)
            if isinstance(value, torch.Tensor):
                setattr(self, name, value.to(device, non_blocking=non_blocking))
            elif isinstance(value, tuple):
                setattr(self, name, tuple(v.to(device, non_blocking=non_blocking) for v in value))
        return self

    def _values(self, names):
        if len(names) == 1:
            return getattr(self, names[0])
        return tuple(getattr(self, name) for name in names)

    def __iter__(self):
        yield self._values(self.input_fields)
        yield self._values(self.target_fields)

    def __len__(self):
        return self.batch_size

    def __repr__(self):
        parts = []
        for name in self.fields:
            value = getattr(self, name, None)
            if isinstance(value, torch.Tensor):
                parts.append(f"{name}: {value.dtype} {tuple(value.shape)}")
            elif isinstance(value, tuple) and value and isinstance(value[0], torch.Tensor):
                parts.append(f"{name}: ({', '.join(str(tuple(v.shape)) for v in value)})")
        return f"Batch(size={self.batch_size}; " + "; ".join(parts) + ")"


def _device(device):
    if device is None:
        return None
    if isinstance(device, int):  # legacy: -1 meant CPU
        return torch.device("cpu") if device < 0 else torch.device("cuda", device)
    return torch.device(device)


class Iterator:
    """Iterates a dataset in batches (legacy ``torchtext.data.Iterator``).

    Args:
        dataset: the :class:`~textcls.data.Dataset`.
        batch_size: examples per batch (or the size limit for ``batch_size_fn``).
        sort_key: key to sort examples by (default: ``dataset.sort_key``, else the length of the first text
            field).
        device: device for the tensors (``"cuda"``, a ``torch.device``; legacy ``-1`` means CPU).
        batch_size_fn: legacy ``fn(new_example, count, size_so_far) -> size`` for dynamic batch sizes.
        train: training mode (shuffles by default; evaluation sorts by default).
        repeat: loop over epochs forever.
        shuffle: shuffle each epoch (default: ``train``).
        sort: sort the whole dataset by ``sort_key`` (default: ``not train``).
        sort_within_batch: sort each batch by ``sort_key``, longest first (default: ``sort``).
        max_tokens: cap batches by padded tokens (``len(batch) × longest``) as well as by ``batch_size``.
        seed: seed for the shuffling (``None``: drawn from Python's ``random``, as legacy torchtext did).
    """

    _order_when_shuffled = "shuffled"

    def __init__(
        self,
        dataset,
        batch_size: int,
        sort_key=None,
        device=None,
        batch_size_fn=None,
        train: bool = True,
        repeat: bool = False,
        shuffle: bool | None = None,
        sort: bool | None = None,
        sort_within_batch: bool | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
    ):
        self.dataset = dataset
        self.batch_size = batch_size
        self.batch_size_fn = batch_size_fn
        self.max_tokens = max_tokens
        self.train = train
        self.repeat = repeat
        self.shuffle = train if shuffle is None else shuffle
        self.sort = (not train) if sort is None else sort
        self.sort_within_batch = self.sort if sort_within_batch is None else sort_within_batch
        self.sort_key = sort_key if sort_key is not None else default_sort_key(dataset)
        self.device = _device(device)
        self.seed = random.randrange(2**31) if seed is None else seed
        self.iterations = 0
        self.epoch = 0
        self._iterations_this_epoch = 0
        self.batches: list[list[int]] = []
        if self.sort_key is None and (self.sort or self.sort_within_batch or self._needs_lengths()):
            raise ValueError("this iterator needs a sort_key (the dataset has no text field to measure)")

    def _needs_lengths(self) -> bool:
        return self.max_tokens is not None or self._order() == "bucket"

    @classmethod
    def splits(cls, datasets, batch_sizes=None, **kwargs):
        """One iterator per dataset; the first one trains (shuffles), the rest evaluate (sorted).

        Args:
            datasets: e.g. ``(train, valid, test)``.
            batch_sizes: one batch size per dataset (default: ``batch_size`` for all).
            **kwargs: other :class:`Iterator` arguments.
        """
        if batch_sizes is None:
            batch_sizes = [kwargs.pop("batch_size")] * len(datasets)
        return tuple(
            cls(dataset, batch_size=size, train=(i == 0), **kwargs)
            for i, (dataset, size) in enumerate(zip(datasets, batch_sizes))
        )

    def _order(self) -> str:
        if self.sort:
            return "sorted"
        return self._order_when_shuffled if self.shuffle else "sequential"

    def create_batches(self) -> None:
        """Draw this epoch's batches (lists of example indices)."""
        examples = self.dataset.examples
        needs_keys = self._order() in ("sorted", "bucket") or self.max_tokens is not None
        keys = [self.sort_key(ex) for ex in examples] if needs_keys else [0] * len(examples)
        size_fn = None
        if self.batch_size_fn is not None:
            fn = self.batch_size_fn
            size_fn = lambda index, count, so_far: fn(examples[index], count, so_far)  # noqa: E731
        self.batches = make_batches(
            keys,
            self.batch_size,
            max_tokens=self.max_tokens,
            size_fn=size_fn,
            order=self._order(),
            rng=random.Random(self.seed + self.epoch),
        )

    def init_epoch(self) -> None:
        """Set up the next epoch (legacy name)."""
        self.create_batches()
        self._iterations_this_epoch = 0

    def __len__(self) -> int:
        if self.batch_size_fn is not None or self.max_tokens is not None:
            if not self.batches:
                self.create_batches()
            return len(self.batches)
        return math.ceil(len(self.dataset) / self.batch_size)

    def __iter__(self):
        while True:
            self.init_epoch()
            examples = self.dataset.examples
            for indices in self.batches:
                self.iterations += 1
                self._iterations_this_epoch += 1
                minibatch = [examples[i] for i in indices]
                if self.sort_within_batch:
                    minibatch.sort(key=self.sort_key, reverse=True)
                yield Batch(minibatch, self.dataset, self.device)
            self.epoch += 1
            if not self.repeat:
                return


class BucketIterator(Iterator):
    """An :class:`Iterator` that batches examples of similar length together (less padding).

    In training it shuffles, sorts pools of ~100 batches by ``sort_key``, cuts them into batches and shuffles
    the batches; in evaluation it sorts everything. Takes the :class:`Iterator` arguments.
    """

    _order_when_shuffled = "bucket"
