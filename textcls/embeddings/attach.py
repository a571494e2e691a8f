"""Giving a vocabulary its vectors: the lookup (with an optional lower-case fallback), the initialisation of
words without a vector, a zero ``<pad>`` row, and the coverage report."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import torch

from textcls.errors import TextclsError

log = logging.getLogger("textcls")

UNK_INITS = ("zeros", "normal", "uniform")


@dataclass
class Coverage:
    """How much of a vocabulary found a pretrained vector.

    Attributes:
        types_found / types_total: vocabulary entries (specials excluded) with / in all.
        tokens_found / tokens_total: corpus tokens (by the vocabulary's counts) whose type found a vector.
        lower_fallback: entries found only through their lower-cased form.
        dim: vector size.
    """

    types_found: int
    types_total: int
    tokens_found: int
    tokens_total: int
    lower_fallback: int
    dim: int

    @property
    def type_rate(self) -> float:
        return self.types_found / self.types_total if self.types_total else 0.0

    @property
    def token_rate(self) -> float:
        return self.tokens_found / self.tokens_total if self.tokens_total else 0.0

    def __str__(self) -> str:
        text = (
            f"vectors ({self.dim}d) cover {self.type_rate:.1%} of {self.types_total:,} vocabulary types and "
            f"{self.token_rate:.1%} of {self.tokens_total:,} corpus tokens"
        )
        if self.lower_fallback:
            text += f" ({self.lower_fallback:,} types through their lower-case form)"
        return text


def resolve_unk_init(unk_init) -> Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]:
    """Turn ``None | "zeros" | "normal" | "uniform" | callable`` into ``fn(rows, reference) -> rows``.

    ``"normal"`` draws N(0, σ²) and ``"uniform"`` U(−√3σ, √3σ), with σ the standard deviation of the vectors
    that were found (so new rows have the scale of the pretrained ones); a callable is applied to each row, as
    legacy torchtext did (e.g. ``torch.Tensor.normal_``).
    """
    if unk_init is None or unk_init == "zeros":
        return lambda rows, reference: rows.zero_()
    if unk_init in ("normal", "uniform"):

        def init(rows, reference):
            sigma = float(reference.std()) if reference is not None and reference.numel() > 1 else 1.0
            if unk_init == "normal":
                return rows.normal_(0.0, sigma)
            bound = sigma * 3**0.5
            return rows.uniform_(-bound, bound)

        return init
    if callable(unk_init):

        def per_row(rows, reference):
            for i in range(rows.shape[0]):
                rows[i] = unk_init(rows[i])
            return rows

        return per_row
    raise TextclsError(f"unk_init must be one of {', '.join(UNK_INITS)} or a callable, not {unk_init!r}")


def fill_vectors(vocab, lookup, dim: int, unk_init=None, lower_fallback: bool = False, pad_token="<pad>"):
    """Set ``vocab.vectors`` from ``lookup(token) -> tensor | None`` and return the :class:`Coverage`.

    Args:
        vocab: the :class:`~textcls.vocab.Vocab`.
        lookup: gives a token's vector, or ``None`` when it has none.
        dim: vector size.
        unk_init: initialiser for tokens without a vector (see :func:`resolve_unk_init`).
        lower_fallback: try the lower-cased token when the token itself has no vector.
        pad_token: this row is all zeros.
    """
    init = resolve_unk_init(unk_init)
    matrix = torch.zeros(len(vocab), dim)
    found = torch.zeros(len(vocab), dtype=torch.bool)
    specials = set(vocab.specials)
    types_found = types_total = tokens_found = tokens_total = fallback = 0
    for index, token in enumerate(vocab.itos):
        vector = lookup(token)
        if vector is None and lower_fallback and isinstance(token, str) and token.lower() != token:
            vector = lookup(token.lower())
            fallback += vector is not None
        if vector is not None:
            matrix[index] = vector
            found[index] = True
        count = vocab.freqs.get(token, 0)
        if token in specials or (count == 0 and vocab.freqs):  # specials, and words added from the vectors
            continue
        types_total += 1
        tokens_total += count
        if vector is not None:
            types_found += 1
            tokens_found += count
    missing = ~found
    if missing.any():
        reference = matrix[found] if found.any() else None
        matrix[missing] = init(matrix[missing].clone(), reference)
    if pad_token is not None and pad_token in vocab:
        matrix[vocab.stoi[pad_token]] = 0.0
    vocab.vectors = matrix
    coverage = Coverage(types_found, types_total, tokens_found, tokens_total, fallback, dim)
    if types_total and types_found == 0:
        log.warning(
            "the vectors cover 0% of the vocabulary: check lower-casing (GloVe is lower-case: use --lower or "
            "lower=True), the language, and that this is the right vectors file"
        )
    return coverage


def attach_vectors(vocab, vectors, unk_init=None, cache=None, lower_fallback: bool = False, vectors_dir=None):
    """Attach ``vectors`` (a :class:`Vectors`, a preset, a path, or a list of them, concatenated) to ``vocab``.

    Only the words the vocabulary needs are loaded (plus their lower-case forms with ``lower_fallback``).
    Returns the :class:`Coverage` (for a list, of the first vectors).
    """
    from textcls.embeddings.vectors import Vectors

    items = vectors if isinstance(vectors, (list, tuple)) else [vectors]
    wanted = {token for token in vocab.itos if isinstance(token, str)}  # a set: copying it later costs less
    if lower_fallback:
        wanted |= {token.lower() for token in wanted}
    loaded = [
        item if isinstance(item, Vectors) else Vectors(item, cache=cache, restrict_to=wanted, vectors_dir=vectors_dir)
        for item in items
    ]
    if len(loaded) == 1:
        return fill_vectors(vocab, loaded[0].lookup, loaded[0].dim, unk_init, lower_fallback)

    dims = [v.dim for v in loaded]

    def concatenated(token):
        parts = [v.lookup(token) for v in loaded]
        if all(part is None for part in parts):
            return None
        return torch.cat([part if part is not None else torch.zeros(d) for part, d in zip(parts, dims)])

    return fill_vectors(vocab, concatenated, sum(dims), unk_init, lower_fallback)


def set_vectors_from_table(vocab, stoi, vectors, dim, unk_init=None, lower_fallback: bool = False):
    """Legacy ``Vocab.set_vectors``: row ``stoi[token]`` of the tensor ``vectors`` for each token."""

    def lookup(token):
        index = stoi.get(token)
        return None if index is None else vectors[index]

    return fill_vectors(vocab, lookup, dim, unk_init, lower_fallback)
