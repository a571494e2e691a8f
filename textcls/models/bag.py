"""``bag``: a fastText-style classifier — the mean of word and hashed word-bigram vectors → Linear.

``EmbeddingBag`` with sparse gradients makes it train in seconds on CPU; it is the fast baseline the LSTMs are
compared against.
"""

from __future__ import annotations

import torch
from torch import nn

from textcls.models.registry import register_model

_BIGRAM_PRIME = 116_049_371  # the multiplier fastText uses to hash word n-grams


@register_model("bag")
class BagOfNgrams(nn.Module):
    """fastText-style bag of words + hashed bigrams (EmbeddingBag, sparse gradients): the fast baseline

    The mean of word (+ hashed n-gram) embeddings → dropout → Linear. It builds its own embedding table (the
    bigram rows follow the vocabulary's), so it takes ``vocab_size`` instead of the shared embedding and cannot
    freeze its vectors (the text-model contract: :mod:`textcls.models.registry`).

    Args:
        vocab_size: number of token ids.
        num_outputs: logits to produce.
        embedding_dim: vector size (ignored when ``vectors`` is given).
        ngrams: 1 (words only) or 2 (words and bigrams).
        buckets: hash buckets for bigrams (rows added after the vocabulary).
        dropout: dropout before the output layer.
        vectors: initial word vectors ``[vocab_size, dim]`` (bigram rows start random).
        padding_idx: id of ``<pad>`` (ignored in the mean).
        sparse: sparse embedding gradients (use an optimizer that supports them: sgd, sparse_adam).
    """

    def __init__(
        self,
        vocab_size: int,
        num_outputs: int,
        embedding_dim: int = 64,
        ngrams: int = 2,
        buckets: int = 200_000,
        dropout: float = 0.0,
        vectors: torch.Tensor | None = None,
        padding_idx: int | None = None,
        sparse: bool = True,
    ):
        super().__init__()
        if vectors is not None:
            embedding_dim = vectors.shape[1]
        self.vocab_size = vocab_size
        self.ngrams = ngrams
        self.buckets = buckets if ngrams > 1 else 0
        self.padding_idx = padding_idx if padding_idx is not None else vocab_size + self.buckets
        rows = vocab_size + self.buckets + (1 if padding_idx is None else 0)
        self.embedding = nn.EmbeddingBag(rows, embedding_dim, mode="mean", sparse=sparse, padding_idx=self.padding_idx)
        with torch.no_grad():
            self.embedding.weight.uniform_(-1.0 / embedding_dim, 1.0 / embedding_dim)
            if vectors is not None:
                self.embedding.weight[:vocab_size] = vectors
            self.embedding.weight[self.padding_idx].zero_()
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(embedding_dim, num_outputs)

    def bag_ids(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Word ids followed by bigram ids, pads (and bigrams that touch a pad) set to ``padding_idx``."""
        steps = torch.arange(tokens.shape[1], device=tokens.device)
        real = steps.unsqueeze(0) < lengths.to(tokens.device).unsqueeze(1)
        words = tokens.masked_fill(~real, self.padding_idx)
        if self.ngrams < 2 or tokens.shape[1] < 2:
            return words
        hashed = (tokens[:, :-1] * _BIGRAM_PRIME + tokens[:, 1:]) % self.buckets + self.vocab_size
        bigrams = hashed.masked_fill(~real[:, 1:], self.padding_idx)
        return torch.cat([words, bigrams], dim=1)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Args: tokens ``[batch, time]`` ids; lengths ``[batch]``. Returns logits."""
        pooled = self.embedding(self.bag_ids(tokens, lengths))
        return self.output(self.dropout(pooled))
