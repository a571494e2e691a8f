"""Giving a vocabulary its vectors: the lookup (with an optional lower-case fallback), the initialisation of
words without a vector, a zero ``<pad>`` row, and the coverage report."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

import torch

from textcls.errors import ArgumentError

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
    that were found (so new rows have the scale of the pretrained ones); a callable is applied to each row, a 1-D
    tensor, as legacy torchtext did (``torch.Tensor.normal_``, ``torch.nn.init.uniform_``, or any function
    returning a tensor of the row's size). Initialisers that need a 2-D tensor (``torch.nn.init.xavier_uniform_``)
    get the row as a ``[1, dim]`` view.
    """
    if unk_init is None or unk_init == "zeros" or unk_init is torch.Tensor.zero_:
        return lambda rows, reference: rows.zero_()
    if unk_init in ("normal", "uniform"):

        def init(rows, reference):
            sigma = float(reference.std()) if reference is not None and reference.numel() > 1 else 1.0
            if unk_init == "normal":
                return rows.normal_(0.0, sigma)
            bound = sigma * 3**0.5
            return rows.uniform_(-bound, bound)

        return init
    if callable(unk_init) and not isinstance(unk_init, str):

        def per_row(rows, reference):
            for i in range(rows.shape[0]):
                _init_row(unk_init, rows[i])
            return rows

        return per_row
    raise ArgumentError(f"unk_init must be one of {', '.join(UNK_INITS)} or a callable, not {unk_init!r}")


def _init_row(unk_init, row: torch.Tensor) -> None:
    """Apply a legacy ``unk_init`` to one row in place (its result, when it returns one, is copied in)."""
    try:
        result = unk_init(row)
    except ValueError:  # e.g. fan-based initialisers refuse 1-D tensors
        view = row.unsqueeze(0)
        result = unk_init(view)
        result = None if result is None else result.reshape(row.shape)
    if result is not None and result is not row:
        row.copy_(torch.as_tensor(result, dtype=row.dtype).reshape(row.shape))


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
        if vector is None and isinstance(token, str) and token.strip() != token:
            vector = lookup(token.strip())  # legacy looked every token up stripped
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


def attach_vectors(
    vocab,
    vectors,
    unk_init=None,
    cache=None,
    lower_fallback: bool = False,
    vectors_dir=None,
    max_vectors: int | None = None,
    download: bool = True,
    trust_pickle: bool = False,
):
    """Attach ``vectors`` (a :class:`Vectors`, a preset, a path, or a list of them, concatenated) to ``vocab``.

    Only the words the vocabulary needs are loaded (plus their lower-case forms with ``lower_fallback``).

    Args:
        vocab: the :class:`~textcls.vocab.Vocab`.
        vectors: what to attach (legacy: a name or a ``Vectors`` object, or a list of them).
        unk_init: initialiser for words without a vector (see :func:`resolve_unk_init`); by default that of the
            ``Vectors`` object given (zeros unless it was built with another ``unk_init``).
        cache: legacy torchtext's vectors cache directory (searched for names, receives downloads).
        lower_fallback: try the lower-cased word.
        vectors_dir: a directory searched first for named vectors.
        max_vectors: read only the first this many vectors of each named file.
        download: try the download for presets that are nowhere.
        trust_pickle: load gensim ``.kv``/``.model`` pickles (refused by default: they can run code).

    Returns:
        The :class:`Coverage` (for a list, of the concatenation).

    Raises:
        ArgumentError: for a value that is neither a name/path nor a ``Vectors`` object, or an unknown name.
    """
    from textcls.embeddings.vectors import Vectors, vectors_by_name

    items = list(vectors) if isinstance(vectors, (list, tuple)) else [vectors]
    for item in items:
        if not isinstance(item, (str, os.PathLike, Vectors)):
            raise ArgumentError(
                f"got input vectors of type {type(item).__name__}; expected a vectors name or path (str) or a "
                "Vectors object"
            )
    wanted = {token for token in vocab.itos if isinstance(token, str)}  # a set: copying it later costs less
    wanted |= {token.strip() for token in wanted}
    if lower_fallback:
        wanted |= {token.lower() for token in wanted}
    options = {"cache": cache, "vectors_dir": vectors_dir, "max_vectors": max_vectors, "download": download,
               "trust_pickle": trust_pickle}  # fmt: skip
    if unk_init is not None and not isinstance(unk_init, str):
        options["unk_init"] = unk_init  # legacy passed it on to the Vectors it built
    loaded = [
        item if isinstance(item, Vectors) else vectors_by_name(item, restrict_to=wanted, **options) for item in items
    ]
    if unk_init is None and len(loaded) == 1:
        unk_init = loaded[0].unk_init
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
