"""Length-aware batching, shared by :class:`~textcls.data.BucketIterator` and ``torch.utils.data.DataLoader``.

:func:`make_batches` is the one place that decides which examples go together. Orders:

- ``"bucket"`` — shuffle, take pools of ``pool_factor`` batches' worth of examples, sort each pool by length,
  cut it into batches, shuffle the batches. Similar lengths share a batch (little padding) while every epoch
  differs.
- ``"pooled"`` — the same pools taken in the given order, each sorted and cut, no shuffling (legacy
  ``BucketIterator`` with ``shuffle=False, sort_within_batch=True``).
- ``"sorted"`` — sort everything by key, then cut (evaluation: the least padding, deterministic).
- ``"shuffled"`` / ``"sequential"`` — cut a random permutation / the original order.

Batches are capped by count (``batch_size``), by padded tokens (``max_tokens``: ``len(batch) × longest``),
by both, or by a legacy ``batch_size_fn``. The legacy module-level helpers :func:`batch` and :func:`pool`
(``torchtext.data.batch`` / ``torchtext.data.pool``) and :class:`RandomShuffler` live here too.
"""

from __future__ import annotations

import copy
import math
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager

import torch
import torch.utils.data

from textcls.distributed import check_rank, shard_batches
from textcls.errors import ArgumentError

ORDERS = ("bucket", "pooled", "sorted", "shuffled", "sequential")


class RandomShuffler:
    """Shuffles with a random state of its own (legacy ``torchtext.data.utils.RandomShuffler``).

    As in legacy torchtext, the state starts as a copy of Python's global ``random`` state, so
    ``random.seed(SEED)`` before building iterators makes their shuffles reproducible; shuffling never changes
    the global state.

    Args:
        random_state: a state from ``random.getstate()`` (``None``: the current global state).
    """

    def __init__(self, random_state=None):
        self.rng = random.Random()
        self.rng.setstate(random.getstate() if random_state is None else random_state)

    @property
    def random_state(self):
        """The current state (a ``random.getstate()`` tuple); assign one to rewind or restore."""
        return self.rng.getstate()

    @random_state.setter
    def random_state(self, state) -> None:
        self.rng.setstate(state)

    @contextmanager
    def use_internal_state(self):
        """Run the block with the global ``random`` module on this shuffler's state, then restore both."""
        old_state = random.getstate()
        random.setstate(self.rng.getstate())
        try:
            yield
        finally:
            self.rng.setstate(random.getstate())
            random.setstate(old_state)

    def __call__(self, data: Sequence) -> list:
        """A shuffled copy of ``data`` (``random.sample(data, len(data))`` on this state, as legacy did)."""
        return self.rng.sample(data, len(data))


def _count(new, count: int, size_so_far) -> int:
    return count


def batch(data: Iterable, batch_size, batch_size_fn: Callable | None = None) -> Iterator[list]:
    """Yield ``data`` in chunks (legacy ``torchtext.data.batch``).

    Each item is added to the chunk, then ``size = batch_size_fn(item, len(chunk), size)``; the chunk is
    yielded when ``size == batch_size``. When ``size > batch_size`` the chunk without the new item is yielded
    and the new item starts the next chunk, with ``size = batch_size_fn(item, 1, 0)``.

    Legacy yielded an empty chunk when a single item already exceeded ``batch_size`` (and building a batch
    from it then failed); here that item simply gets a chunk of its own.

    Args:
        data: the items (examples, or indices).
        batch_size: the size at which a chunk is full.
        batch_size_fn: ``fn(new_item, count, size_so_far) -> size`` (default: the count of items).
    """
    size_fn = batch_size_fn or _count
    chunk, size_so_far = [], 0
    for item in data:
        chunk.append(item)
        size_so_far = size_fn(item, len(chunk), size_so_far)
        if size_so_far == batch_size:
            yield chunk
            chunk, size_so_far = [], 0
        elif size_so_far > batch_size:
            if len(chunk) > 1:
                yield chunk[:-1]
            chunk, size_so_far = chunk[-1:], size_fn(item, 1, 0)
    if chunk:
        yield chunk


def _shuffled_copy(items: list) -> list:
    return random.sample(items, len(items))


def pool(
    data: Iterable,
    batch_size,
    key: Callable,
    batch_size_fn: Callable | None = None,
    random_shuffler: Callable | None = None,
    shuffle: bool = False,
    sort_within_batch: bool = False,
) -> Iterator[list]:
    """Legacy ``torchtext.data.pool``: chunks of ``100 × batch_size``, optionally sorted, cut, optionally shuffled.

    This is the function legacy ``BucketIterator`` used; textcls's :class:`~textcls.data.BucketIterator` uses
    :func:`make_batches` instead, but scripts that call ``data.pool`` themselves get legacy's behaviour.

    Args:
        data: the items, in the order to chunk them.
        batch_size: batch size (or size limit for ``batch_size_fn``); a chunk holds 100 times as much.
        key: sort key for the items of a chunk (used with ``sort_within_batch``).
        batch_size_fn: as in :func:`batch`.
        random_shuffler: ``fn(list) -> shuffled list`` (default: a shuffled copy from the global ``random``;
            legacy's default, ``random.shuffle``, returned ``None`` and failed).
        shuffle: shuffle the batches of each chunk.
        sort_within_batch: sort each chunk by ``key`` before cutting it (so a batch holds similar items).
    """
    shuffler = random_shuffler or _shuffled_copy
    for chunk in batch(data, batch_size * 100, batch_size_fn):
        ordered = sorted(chunk, key=key) if sort_within_batch else chunk
        chunk_batches = list(batch(ordered, batch_size, batch_size_fn))
        yield from (shuffler(chunk_batches) if shuffle else chunk_batches)


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
        batch_size: most examples per batch (``None``: no count limit; needs ``max_tokens``); with ``size_fn``,
            the size at which a batch is full.
        token_counts: padded length of each example, for ``max_tokens`` (default: ``sort_keys``).
        max_tokens: most padded tokens per batch (``len(batch) * longest``); an example longer than this gets
            a batch of its own.
        size_fn: legacy ``batch_size_fn(index, count, size_so_far) -> size`` (see :func:`batch`); bucket pools
            are then cut by it too, at ``batch_size * pool_factor``, as legacy ``pool`` did.
        order: ``"bucket"``, ``"pooled"``, ``"sorted"``, ``"shuffled"`` or ``"sequential"``.
        rng: random source for shuffling (``None``: a fresh unseeded one).
        pool_factor: a bucket pool holds this many batches' worth of examples.

    Returns:
        A list of batches, each a list of example indices; every index appears exactly once.
    """
    if order not in ORDERS:
        raise ArgumentError(f"order must be one of {ORDERS}, not {order!r}")
    _check_limits(batch_size, max_tokens, size_fn)
    rng = rng or random.Random()
    if token_counts is None and max_tokens is not None:
        token_counts = sort_keys
    indices = list(range(len(sort_keys)))

    def cut(ordered):
        return cut_batches(ordered, batch_size, token_counts=token_counts, max_tokens=max_tokens, size_fn=size_fn)

    if order == "sequential":
        return cut(indices)
    if order == "sorted":
        return cut(sorted(indices, key=sort_keys.__getitem__))
    if order != "pooled":
        rng.shuffle(indices)
    if order == "shuffled":
        return cut(indices)
    batches = []
    for chunk in _pools(indices, batch_size, token_counts, max_tokens, size_fn, pool_factor):
        batches.extend(cut(sorted(chunk, key=sort_keys.__getitem__)))
    if order == "bucket":
        rng.shuffle(batches)
    return batches


def _check_limits(batch_size, max_tokens, size_fn) -> None:
    if batch_size is None and max_tokens is None:
        raise ArgumentError("give batch_size, max_tokens, or both")
    if batch_size is not None and batch_size < 1 and size_fn is None:
        raise ArgumentError(f"batch_size must be at least 1, got {batch_size}")
    if size_fn is not None and (max_tokens is not None or batch_size is None):
        raise ArgumentError("a batch_size_fn needs batch_size (its size limit) and cannot be combined with max_tokens")


def _pools(indices, batch_size, token_counts, max_tokens, size_fn, pool_factor) -> list[list[int]]:
    if size_fn is not None:
        return list(batch(indices, batch_size * pool_factor, size_fn))
    if batch_size is not None:
        size = max(1, batch_size * pool_factor)
    else:
        mean_length = max(1.0, sum(token_counts) / max(1, len(token_counts)))
        size = max(1, int(pool_factor * max_tokens / mean_length))
    return [indices[start : start + size] for start in range(0, len(indices), size)]


def cut_batches(
    ordered: Sequence[int],
    batch_size: int | None,
    *,
    token_counts: Sequence[int] | None = None,
    max_tokens: int | None = None,
    size_fn: Callable | None = None,
) -> list[list[int]]:
    """Cut indices, in the given order, into consecutive batches.

    Args:
        ordered: example indices in batch order.
        batch_size: most examples per batch (``None``: only ``max_tokens`` limits); with ``size_fn`` the size
            at which a batch is full.
        token_counts: padded length per example index (needed with ``max_tokens``).
        max_tokens: most padded tokens per batch (``len(batch) × longest``).
        size_fn: legacy ``batch_size_fn(index, count, size_so_far)`` (see :func:`batch`).
    """
    if size_fn is not None:
        return list(batch(ordered, batch_size, size_fn))
    if max_tokens is None:
        return [list(ordered[i : i + batch_size]) for i in range(0, len(ordered), batch_size)]
    batches, current, longest = [], [], 0
    count_limit = batch_size or math.inf
    for index in ordered:
        length = token_counts[index]
        new_longest = max(longest, length)
        if current and ((len(current) + 1) * new_longest > max_tokens or len(current) >= count_limit):
            batches.append(current)
            current, new_longest = [], length
        current.append(index)
        longest = new_longest
    if current:
        batches.append(current)
    return batches


class BucketBatchSampler(torch.utils.data.Sampler):
    """A ``DataLoader`` batch sampler that buckets by length (see :func:`make_batches`).

    Use with ``DataLoader(dataset, batch_sampler=sampler, collate_fn=FieldCollator(fields))``
    (:class:`textcls.data.FieldCollator`); call
    :meth:`set_epoch` each epoch for a new order. With ``num_replicas > 1`` each process (DDP rank) gets its
    part of every batch (:func:`textcls.distributed.shard_batches`): the processes step through the same global
    batches one process would, their parts disjoint and covering the data, with the same number of steps.

    Args:
        lengths: one length (or comparable key) per example.
        batch_size: most examples per batch.
        max_tokens: most padded tokens per batch.
        order: ``"bucket"`` (training), ``"sorted"`` (evaluation), ``"pooled"``, ``"shuffled"`` or
            ``"sequential"``.
        seed: base seed; the epoch's order is drawn from ``seed + epoch``.
        pool_factor: bucket pool size in batches.
        num_replicas: number of processes sharing each batch.
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
        check_rank(rank, num_replicas)
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

    def shard(self, rank: int, num_replicas: int) -> BucketBatchSampler:
        """A copy of this sampler that yields process ``rank``'s part of every batch (of ``num_replicas``)."""
        check_rank(rank, num_replicas)
        copy_ = copy.copy(self)
        copy_.rank, copy_.num_replicas, copy_._cache = rank, num_replicas, None
        return copy_

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
            every = shard_batches(every, self.rank, self.num_replicas, self.token_counts or self.lengths)
        self._cache = (self.epoch, every)
        return every

    def __iter__(self):
        yield from self.batches()

    def __len__(self) -> int:
        return len(self.batches())


def padding_fraction(batches: Sequence[Sequence[int]], lengths: Sequence[int]) -> float:
    """Share of padded cells: ``1 - real tokens / (Σ batch size × longest in batch)``."""
    real = total = 0
    for indices in batches:
        batch_lengths = [lengths[i] for i in indices]
        real += sum(batch_lengths)
        total += len(batch_lengths) * max(batch_lengths)
    return 0.0 if total == 0 else 1.0 - real / total
