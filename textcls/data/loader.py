"""``TextBatches``: what the trainer iterates for text — examples numericalized once, bucketed every epoch.

Legacy iterators numericalize each batch again every epoch; here each example's ids are computed once into a
tensor and a batch only pads them (``pad_sequence``), which keeps the data side out of the training profile.
"""

from __future__ import annotations

import torch
from torch.nn.utils.rnn import pad_sequence

from textcls.data.batching import BucketBatchSampler
from textcls.data.dataset import paused_gc
from textcls.training.step import Step


class TextBatches:
    """Batches of ``((tokens [B, T], lengths [B]), targets)`` for the trainer.

    Args:
        dataset: a dataset with a text attribute and (optionally) a label attribute.
        text_field: the text :class:`~textcls.data.Field` (with its vocabulary).
        label_field: the label field (``None`` for unlabelled prediction data).
        batch_size: examples per batch.
        max_tokens: cap on padded tokens per batch (token budget), optional.
        order: ``"bucket"`` (training), ``"sorted"`` (evaluation), ``"shuffled"``, ``"sequential"``.
        seed: base seed; epoch ``e`` uses ``seed + e`` (so a resumed run sees the same batches).
        max_length: cut texts to this many tokens (``None``: keep all).
        num_replicas, rank: shard the batches across processes (DDP).
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
        vocab = text_field.vocab
        pad = vocab.stoi[text_field.pad_token]
        stoi = vocab.stoi
        head = [] if text_field.init_token is None else [stoi[text_field.init_token]]
        tail = [] if text_field.eos_token is None else [stoi[text_field.eos_token]]
        with paused_gc():
            self.ids = []
            for example in dataset:
                tokens = getattr(example, text_attr)
                if max_length is not None:
                    tokens = tokens[:max_length]
                self.ids.append(torch.tensor(head + [stoi[t] for t in tokens] + tail, dtype=torch.long))
        self.lengths = [len(ids) for ids in self.ids]
        self.targets = None
        if label_field is not None:
            self.targets = label_field.process([getattr(example, label_attr) for example in dataset])
        self.pad_index = pad
        self.sampler = BucketBatchSampler(
            self.lengths, batch_size, max_tokens=max_tokens, order=order, seed=seed,
            num_replicas=num_replicas, rank=rank,
        )  # fmt: skip

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch's batch order."""
        self.sampler.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.sampler)

    @property
    def num_tokens(self) -> int:
        return sum(self.lengths)

    def __iter__(self):
        for indices in self.sampler:
            tokens = pad_sequence([self.ids[i] for i in indices], batch_first=True, padding_value=self.pad_index)
            lengths = torch.tensor([self.lengths[i] for i in indices], dtype=torch.long)
            targets = self.targets[indices] if self.targets is not None else None
            yield Step((tokens, lengths), targets, int(lengths.sum()), indices)
