"""Length-aware batching, shared by :class:`~textcls.data.BucketIterator` and ``torch.utils.data.DataLoader``.

:func:`make_batches` is the one place that decides which examples go together. Orders:

- ``"bucket"`` — shuffle, take pools of ``pool_factor`` batches' worth of examples, sort each pool by length,
  cut it into batches, shuffle the batches. Similar lengths share a batch (little padding) while every epoch
  differs.
- ``"sorted"`` — sort everything by key, then cut (evaluation: the least padding, deterministic).
- ``"shuffled"`` / ``"sequential"`` — cut a random permutation / the original order.

Batches are capped by count (``batch_size``), by padded tokens (``max_tokens``: ``len(batch) × longest``),
or by both.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

import torch
import torch.utils.data

ORDERS = ("bucket", "sorted", "shuffled", "sequential")


def make_batches(
    sort_keys: Sequence,
    batch_size: int | None = None,
    *,
    token_counts: Sequence[int] | None = None,
    max_tokens: int | None = None,
    size_fn: Callable[[int, int, int], int] | None = None,
    order: str = "bucket",
    rng: random.Random | None = None,
    pool_factor: int = 100,
) -> list[list[int]]:
    """Group example indices into batches.

    Args:
        sort_keys: one comparable key per example (usually its length).
        batch_size: most examples per batch (``None``: no count limit; needs ``max_tokens``).
        token_counts: padded length of each example, for ``max_tokens`` (default: ``sort_keys``).
        max_tokens: most padded tokens per batch (``len(batch) * longest``); an example longer than this gets
            a batch of its own.
        size_fn: legacy ``batch_size_fn(index, count, size_so_far) -> size``; the batch closes when the size
            reaches ``batch_size``.
        order: ``"bucket"``, ``"sorted"``, ``"shuffled"`` or ``"sequential"``.
        rng: random source for shuffling (``None``: a fresh unseeded one).
        pool_factor: a bucket pool holds this many batches' worth of examples.

    Returns:
        A list of batches, each a list of example indices; every index appears exactly once.
    """
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, not {order!r}")
    if batch_size is None and max_tokens is None:
        raise ValueError("give batch_size, max_tokens, or both")
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    rng = rng or random.Random()
    n = len(sort_keys)
    if token_counts is None and max_tokens is not None:
        token_counts = sort_keys
    indices = list(range(n))

    def cut(ordered):
        return _cut(ordered, batch_size, token_counts, max_tokens, size_fn)

    if order == "sequential":
        return cut(indices)
    if order == "sorted":
        return cut(sorted(indices, key=sort_keys.__getitem__))
    rng.shuffle(indices)
    if order == "shuffled":
        return cut(indices)

    pool_size = _pool_size(batch_size, max_tokens, token_counts, pool_factor)
    batches = []
    for start in range(0, n, pool_size):
        pool = sorted(indices[start : start + pool_size], key=sort_keys.__getitem__)
        batches.extend(cut(pool))
    rng.shuffle(batches)
    return batches


def _pool_size(batch_size, max_tokens, token_counts, pool_factor) -> int:
    if batch_size is not None:
        return max(1, batch_size * pool_factor)
    mean_length = max(1.0, sum(token_counts) / max(1, len(token_counts)))
    return max(1, int(pool_factor * max_tokens / mean_length))


def _cut(ordered, batch_size, token_counts, max_tokens, size_fn) -> list[list[int]]:
    if size_fn is not None:
        return _cut_by_size_fn(ordered, batch_size, size_fn)
    if max_tokens is None:
        return [ordered[i : i + batch_size] for i in range(0, len(ordered), batch_size)]
    batches, batch, longest = [], [], 0
    count_limit = batch_size or math.inf
    for index in ordered:
        length = token_counts[index]
        new_longest = max(longest, length)
        if batch and ((len(batch) + 1) * new_longest > max_tokens or len(batch) >= count_limit):
            batches.append(batch)
            batch, new_longest = [], length
        batch.append(index)
        longest = new_longest
    if batch:
        batches.append(batch)
    return batches


def _cut_by_size_fn(ordered, batch_size, size_fn) -> list[list[int]]:
    """Legacy torchtext ``batch()`` with a ``batch_size_fn``."""
    batches, batch, size_so_far = [], [], 0
    for index in ordered:
        batch.append(index)
        size_so_far = size_fn(index, len(batch), size_so_far)
        if size_so_far == batch_size:
            batches.append(batch)
            batch, size_so_far = [], 0
        elif size_so_far > batch_size:
            batches.append(batch[:-1])
            batch, size_so_far = batch[-1:], size_fn(index, 1, 0)
    if batch:
        batches.append(batch)
    return [b for b in batches if b]


class BucketBatchSampler(torch.utils.data.Sampler):
    """A ``DataLoader`` batch sampler that buckets by length (see :func:`make_batches`).

    Use with ``DataLoader(dataset, batch_sampler=sampler, collate_fn=FieldCollator(fields))``; call
    :meth:`set_epoch` each epoch for a new order. With ``num_replicas > 1`` each process (DDP rank) gets an
    equal share of the batches (the list is padded by repeating batches from its start).

    Args:
        lengths: one length (or comparable key) per example.
        batch_size: most examples per batch.
        max_tokens: most padded tokens per batch.
        order: ``"bucket"`` (training), ``"sorted"`` (evaluation), ``"shuffled"`` or ``"sequential"``.
        seed: base seed; the epoch's order is drawn from ``seed + epoch``.
        pool_factor: bucket pool size in batches.
        num_replicas: number of processes sharing the data.
        rank: this process's index.
        token_counts: padded size per example when ``lengths`` are not plain lengths.
    """

    def __init__(
        self,
        lengths: Sequence,
        batch_size: int | None = 32,
        max_tokens: int | None = None,
        order: str = "bucket",
        seed: int = 0,
        pool_factor: int = 100,
        num_replicas: int = 1,
        rank: int = 0,
        token_counts: Sequence[int] | None = None,
    ):
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} is not in [0, {num_replicas})")
        self.lengths = list(lengths)
        self.token_counts = None if token_counts is None else list(token_counts)
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self.order = order
        self.seed = seed
        self.pool_factor = pool_factor
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self._cache: tuple[int, list[list[int]]] | None = None

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose order the next iteration yields."""
        self.epoch = epoch

    def batches(self) -> list[list[int]]:
        """This replica's batches for the current epoch."""
        if self._cache is not None and self._cache[0] == self.epoch:
            return self._cache[1]
        every = make_batches(
            self.lengths,
            self.batch_size,
            token_counts=self.token_counts,
            max_tokens=self.max_tokens,
            order=self.order,
            rng=random.Random(self.seed + self.epoch),
            pool_factor=self.pool_factor,
        )
        if self.num_replicas > 1:
            per_replica = math.ceil(len(every) / self.num_replicas)
            padded = every + every[: per_replica * self.num_replicas - len(every)]
            every = padded[self.rank :: self.num_replicas]
        self._cache = (self.epoch, every)
        return every

    def __iter__(self):
        yield from self.batches()

    def __len__(self) -> int:
        return len(self.batches())


class FieldCollator:
    """``collate_fn`` that turns a list of examples into a :class:`~textcls.data.Batch` using their fields.

    Args:
        fields: ``{name: field}`` (``dataset.fields``).
        sort_within_batch: order each batch by ``sort_key``, longest first (what
            ``pack_padded_sequence(enforce_sorted=True)`` wants).
        sort_key: key for that ordering (default: length of the first text field).
    """

    def __init__(self, fields: dict, sort_within_batch: bool = False, sort_key=None):
        from textcls.data.dataset import text_length_key

        self.fields = dict(fields)
        self.sort_within_batch = sort_within_batch
        self.sort_key = sort_key or text_length_key(self.fields)
        if sort_within_batch and self.sort_key is None:
            raise ValueError("sort_within_batch needs a sort_key: the fields have no text field")

    def __call__(self, examples):
        from textcls.data.iterators import Batch

        examples = list(examples)
        if self.sort_within_batch:
            examples.sort(key=self.sort_key, reverse=True)
        return Batch(examples, fields=self.fields)


def padding_fraction(batches: Sequence[Sequence[int]], lengths: Sequence[int]) -> float:
    """Share of padded cells: ``1 - real tokens / (Σ batch size × longest in batch)``."""
    real = total = 0
    for batch in batches:
        batch_lengths = [lengths[i] for i in batch]
        real += sum(batch_lengths)
        total += len(batch_lengths) * max(batch_lengths)
    return 0.0 if total == 0 else 1.0 - real / total
