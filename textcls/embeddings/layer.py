"""The embedding layer built from a vocabulary and its vectors, with a freeze schedule (applied during training
by the :class:`FreezeSchedule` trainer callback)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from textcls.errors import TextclsError
from textcls.training.callbacks import Callback

if TYPE_CHECKING:
    from textcls.training.trainer import Trainer


class TextEmbedding(nn.Module):
    """``nn.Embedding`` from a vocabulary (and its vectors), optional dropout, and a freeze schedule.

    Args:
        num_embeddings: vocabulary size (ignored when ``vectors`` is given).
        dim: vector size (ignored when ``vectors`` is given).
        vectors: initial weights ``[vocab, dim]`` (e.g. ``vocab.vectors``); ``None``: random N(0, 1).
        padding_idx: the ``<pad>`` id: its row stays zero and gets no gradient.
        freeze: keep the vectors fixed for the whole training.
        freeze_epochs: keep pretrained ``vectors`` fixed for the first N epochs, then fine-tune (ignored for
            random vectors; train with the :meth:`freeze_schedule` callback, and build the optimizer over all
            parameters, frozen ones included).
        dropout: dropout applied to the embedded tokens.
        sparse: sparse gradients (for sparse-aware optimizers).
    """

    def __init__(
        self,
        num_embeddings: int | None = None,
        dim: int | None = None,
        vectors: torch.Tensor | None = None,
        padding_idx: int | None = None,
        freeze: bool = False,
        freeze_epochs: int = 0,
        dropout: float = 0.0,
        sparse: bool = False,
    ):
        super().__init__()
        if vectors is not None:
            num_embeddings, dim = vectors.shape
        if num_embeddings is None or dim is None:
            raise TextclsError("TextEmbedding needs vectors, or num_embeddings and dim")
        self.embedding = nn.Embedding(num_embeddings, dim, padding_idx=padding_idx, sparse=sparse)
        if vectors is not None:
            with torch.no_grad():
                self.embedding.weight.copy_(vectors)
        if padding_idx is not None:
            with torch.no_grad():
                self.embedding.weight[padding_idx].zero_()
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.always_frozen = freeze
        self.freeze_epochs = freeze_epochs if vectors is not None else 0
        self.set_frozen(freeze or self.freeze_epochs > 0)

    @classmethod
    def from_vocab(cls, vocab, dim: int | None = None, pad_token: str = "<pad>", **options) -> TextEmbedding:
        """Build from a :class:`~textcls.vocab.Vocab`: its vectors when it has them, else random ``dim``-sized.

        Args:
            vocab: the vocabulary.
            dim: size of random vectors when the vocabulary has none.
            pad_token: the padding token whose id becomes ``padding_idx``.
            **options: :class:`TextEmbedding` options (``freeze``, ``freeze_epochs``, ``dropout``, ``sparse``).
        """
        padding_idx = vocab.stoi[pad_token] if pad_token in vocab else None
        if vocab.vectors is not None:
            return cls(vectors=vocab.vectors, padding_idx=padding_idx, **options)
        if dim is None:
            raise TextclsError("the vocabulary has no vectors: give the embedding dim")
        return cls(len(vocab), dim, padding_idx=padding_idx, **options)

    def fix_rows_from(self, first_fixed: int) -> None:
        """Keep rows ``first_fixed`` and up out of training: they move into a buffer, so optimizers and gradient
        clipping only see the trainable rows.

        Meant for rows that no training text uses (:meth:`textcls.vocab.Vocab.counted_prefix`): they would get
        zero gradients and no Adam update anyway, but a dense optimizer still walks over every row each step (the
        100 k words a vectors file adds halve an LSTM's training speed). Training is unchanged, only faster.

        Args:
            first_fixed: id of the first fixed row.
        """
        weight = self.embedding.weight
        if not 0 < first_fixed < weight.shape[0]:
            return
        trainable = nn.Embedding(  # _weight: no random initialisation, so the seeded RNG stream is unchanged
            first_fixed,
            self.dim,
            padding_idx=self.embedding.padding_idx,
            sparse=self.embedding.sparse,
            _weight=weight.detach()[:first_fixed].clone(),
        )
        trainable.weight.requires_grad_(weight.requires_grad)
        self.register_buffer("fixed_rows", weight.detach()[first_fixed:].clone())
        self.embedding = trainable

    @property
    def dim(self) -> int:
        return self.embedding.embedding_dim

    @property
    def frozen(self) -> bool:
        return not self.embedding.weight.requires_grad

    def set_frozen(self, frozen: bool) -> None:
        """Stop (``True``) or resume (``False``) updating the vectors."""
        self.embedding.weight.requires_grad_(not frozen)

    def apply_schedule(self, epoch: int) -> None:
        """Apply the schedule for 0-based ``epoch``: frozen while ``epoch < freeze_epochs`` (or always)."""
        self.set_frozen(self.always_frozen or epoch < self.freeze_epochs)

    def freeze_schedule(self) -> FreezeSchedule | None:
        """The trainer callback that applies the schedule each epoch (``None`` when nothing changes between
        epochs: no ``freeze_epochs``, or random vectors)."""
        return FreezeSchedule(self) if self.freeze_epochs > 0 else None

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        fixed_rows = getattr(self, "fixed_rows", None)
        if fixed_rows is None:
            return self.dropout(self.embedding(tokens))
        first_fixed = self.embedding.num_embeddings
        is_fixed = (tokens >= first_fixed).unsqueeze(-1)
        trainable = self.embedding(tokens.clamp(max=first_fixed - 1))
        fixed = nn.functional.embedding((tokens - first_fixed).clamp(min=0), fixed_rows)
        # where() sends no gradient to the clamped lookups of fixed tokens
        return self.dropout(torch.where(is_fixed, fixed, trainable))


class FreezeSchedule(Callback):
    """Trainer callback: applies a :class:`TextEmbedding`'s freeze schedule at the start of every epoch (also
    after a resume, so a run resumed past ``freeze_epochs`` fine-tunes its vectors).

    Args:
        embedding: the embedding layer whose schedule to apply.
    """

    def __init__(self, embedding: TextEmbedding):
        self.embedding = embedding

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        self.embedding.apply_schedule(epoch)
