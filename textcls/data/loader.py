"""``TextBatches``: what the trainer iterates for text — examples numericalized once, bucketed every epoch.

Legacy iterators numericalize each batch again every epoch; here each example's ids are computed once and a batch
only pads them, which keeps the data side out of the training profile. Both steps are the text field's own
(:meth:`~textcls.data.Field.ids_batch`, :meth:`~textcls.data.Field.pad_ids`), the path ``Field.process`` takes, so
the trainer sees ``init_token``, ``eos_token``, ``fix_length``, ``truncate_first``, ``pad_first`` and ``unk_token``
exactly as an iterator's batch has them.
"""

from __future__ import annotations

import copy

import numpy as np

from textcls._util import paused_gc
from textcls.data.batching import BucketBatchSampler
from textcls.training.step import Step


class TextBatches:
    """Batches of ``((tokens [B, T], lengths [B]), targets)`` for the trainer.

    The tokens are what ``text_field.process`` makes of the same texts (ids, cut, init/eos, padding), always
    batch-first and with lengths, as the text-model contract wants, whatever the field's ``batch_first`` and
    ``include_lengths`` say.

    Args:
        dataset: a dataset with a text attribute and (optionally) a label attribute.
        text_field: the text :class:`~textcls.data.Field` (with its vocabulary).
        label_field: the label field (``None`` for unlabelled prediction data).
        batch_size: examples per batch.
        max_tokens: cap on padded tokens per batch (token budget), optional.
        order: ``"bucket"`` (training), ``"sorted"`` (evaluation), ``"shuffled"``, ``"sequential"``.
        seed: base seed; epoch ``e`` uses ``seed + e`` (so a resumed run sees the same batches).
        max_length: keep at most this many tokens of each text (``None``: keep all): the field's own cut
            (from the start with ``truncate_first``; ``init_token``/``eos_token`` not counted), applied on top of
            its ``fix_length``, but it never pads to that length.
        num_replicas, rank: give process ``rank`` its part of every batch (as :meth:`shard` does).
        text_attr, label_attr: attribute names on the examples.
    """

    def __init__(
        self,
        dataset,
        text_field,
        label_field=None,
        batch_size: int = 64,
        max_tokens: int | None = None,
        order: str = "bucket",
        seed: int = 0,
        max_length: int | None = None,
        num_replicas: int = 1,
        rank: int = 0,
        text_attr: str = "text",
        label_attr: str = "label",
    ):
        self.field = text_field
        with paused_gc():
            texts = [getattr(example, text_attr) for example in dataset]
            self.ids = [np.asarray(ids, dtype=np.int64) for ids in text_field.ids_batch(texts, max_length)]
        stand_in = _empty_stand_in(text_field)  # an empty text is one unknown token, as Predictor makes it
        if stand_in is not None:
            self.ids = [ids if len(ids) else stand_in for ids in self.ids]
        self.lengths = [len(ids) for ids in self.ids]
        self.targets = None
        if label_field is not None:
            self.targets = label_field.process([getattr(example, label_attr) for example in dataset])
        self.sampler = BucketBatchSampler(
            self.lengths, batch_size, max_tokens=max_tokens, order=order, seed=seed,
            num_replicas=num_replicas, rank=rank,
        )  # fmt: skip

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch's batch order."""
        self.sampler.set_epoch(epoch)

    def shard(self, rank: int, num_replicas: int) -> TextBatches:
        """The same batches, each cut to process ``rank``'s part (of ``num_replicas``): what the trainer iterates
        in a distributed run (see :func:`textcls.distributed.shard_batches`). ``self`` is unchanged."""
        part = copy.copy(self)
        part.sampler = self.sampler.shard(rank, num_replicas)
        return part

    def __len__(self) -> int:
        return len(self.sampler)

    @property
    def num_tokens(self) -> int:
        return sum(self.lengths)

    def __iter__(self):
        for indices in self.sampler:
            tokens, lengths = self.field.pad_ids([self.ids[i] for i in indices], batch_first=True)
            targets = self.targets[indices] if self.targets is not None else None
            yield Step((tokens, lengths), targets, int(lengths.sum()), indices)


def _empty_stand_in(text_field) -> np.ndarray | None:
    """The ids an empty text gets: one ``unk_token`` (``pad_token`` without one), so every model sees length 1."""
    token = text_field.unk_token or text_field.pad_token
    if token is None:
        return None
    return np.asarray(text_field.ids_batch([[token]])[0], dtype=np.int64)
