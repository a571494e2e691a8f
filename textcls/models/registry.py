"""Text models by name (``get_model``, ``available_models``), and the contract every text model follows.

**The text-model contract.** A text model is an ``nn.Module`` class, or a function returning one (the
*builder*), registered with ``@register_model(NAME)``. A module in ``textcls/models/`` registers by being there
(every module of the package is imported on the first lookup); a module anywhere else registers when it is
imported (``import mymodel``, or ``textcls --model-module mymodel.py train ...``). The builder's parameters are:

- given by textcls, never set in a config:

  - ``embedding``: a ready :class:`~textcls.embeddings.layer.TextEmbedding` over the vocabulary, which
    :func:`get_model` builds from the *embedding options* below: the pretrained vectors (or random ones of
    ``embedding_dim``), a zero ``<pad>`` row without gradient, the freeze schedule, dropout on its output, and
    the rows no training text uses kept fixed (:meth:`~textcls.embeddings.layer.TextEmbedding.fix_rows_from`).
    The model keeps it as ``self.embedding`` (so its weights are saved with the model and its freeze schedule
    runs during training) and reads its input size from ``embedding.dim``.
  - ``num_outputs``: how many logits to produce (1 for a binary head, one per class or label otherwise:
    :class:`~textcls.training.task.Task`).

- the model's own options: keyword parameters with defaults, set from the config's ``model_options``. They are
  bound to the signature before the model is built, so an unknown option, or a value that does not fit an
  ``int`` / ``float`` / ``bool`` / ``str`` annotation, is a one-line error naming it.

The embedding options, also written in ``model_options`` but never passed to the model, are :data:`EMBEDDING_OPTIONS`:
``embedding_dim`` (size of random vectors; pretrained vectors keep theirs), ``freeze_embeddings``,
``freeze_epochs`` (frozen for the first N epochs, then fine-tuned), ``embedding_dropout`` and ``sparse_embedding``
(gradients for only the rows a batch uses; ``adam`` then updates only those rows:
:class:`~textcls.training.lazy_adam.LazyAdam`).

A model that needs its own table declares it by taking ``vocab_size`` instead of ``embedding`` (``bag``: an
``EmbeddingBag`` that also holds hashed-bigram rows). It is given ``vocab_size``, and ``padding_idx``,
``vectors`` and ``embedding_dim`` when its signature names them. Freezing and embedding dropout need the shared
embedding: setting ``freeze_embeddings``, ``freeze_epochs`` or ``embedding_dropout`` for such a model is a
one-line error (their off values, ``false`` and ``0``, are accepted).

``forward(tokens, lengths)`` takes ``tokens``, a LongTensor ``[batch, time]`` of ids with ``<pad>`` after each
text's real tokens, and ``lengths``, a LongTensor ``[batch]`` of real lengths, and returns float logits
``[batch, num_outputs]``. The logits of a text must not depend on the padding after it: batches are padded
differently in training, evaluation and prediction (the LSTMs' ``packed: false`` comparison mode is the one
documented exception). The loss, probabilities and predictions come from the task head, not the model.

:func:`textcls.testing.check_text_model` checks a registered model against this contract.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from textcls.conversion import convert
from textcls.embeddings.layer import TextEmbedding
from textcls.errors import TextclsError
from textcls.registry import Registry

_GIVEN = ("embedding", "num_outputs", "vocab_size", "padding_idx", "vectors", "fix_rows_from")
MODELS = Registry("model", "textcls.models", given=_GIVEN)

EMBEDDING_OPTIONS = {
    "embedding_dim": 100,
    "freeze_embeddings": False,
    "freeze_epochs": 0,
    "embedding_dropout": 0.0,
    "sparse_embedding": False,
}
"""``model_options`` that build the embedding, with their defaults (never passed to the model)."""

_EMBEDDING_TYPES = {"sparse_embedding": bool | Literal["auto"]}
"""Embedding options whose values are not of their default's type: ``sparse_embedding: auto`` is settled from the
data by a model's ``choose_options`` (the LSTMs'), and read as ``false`` by a model built without data."""

_NEED_SHARED_EMBEDDING = ("freeze_embeddings", "freeze_epochs", "embedding_dropout", "sparse_embedding")


def register_model(name: str):
    """Decorator: make a text model class or builder function available as ``name`` (see the module docstring
    for what it must take and return)."""
    return MODELS.register(name)


def available_models() -> dict[str, str]:
    """``{name: first line of its docstring}``."""
    return MODELS.summaries()


def takes_embedding(name: str) -> bool:
    """Whether model ``name`` is given the shared :class:`TextEmbedding` (``False``: it builds its own table)."""
    parameters = MODELS.parameters(name)
    if "embedding" not in parameters and "vocab_size" not in parameters:
        raise TextclsError(
            f"model {name!r} takes neither embedding nor vocab_size; see the text-model contract in "
            "textcls.models.registry"
        )
    return "embedding" in parameters


def split_options(name: str, options: dict) -> tuple[dict, dict]:
    """``model_options`` → (embedding options, the model's own options), checked against the contract and the
    builder's signature; raises a one-line :class:`TextclsError` for anything ``name`` cannot take.

    Args:
        name: a registered text model.
        options: the config's ``model_options``.
    """
    own = dict(options)
    given = sorted(set(own) & set(_GIVEN))
    if given:
        raise TextclsError(f"model option {given[0]} is given by textcls (from the data), not set in model_options")
    embedding = {
        key: convert(own.pop(key), _EMBEDDING_TYPES.get(key, type(default)), f"model_options.{key}")
        for key, default in EMBEDDING_OPTIONS.items()
        if key in own
    }
    if embedding.get("embedding_dim", 1) < 1 or embedding.get("freeze_epochs", 0) < 0:
        raise TextclsError("model options embedding_dim must be at least 1 and freeze_epochs at least 0")
    if not 0.0 <= embedding.get("embedding_dropout", 0.0) < 1.0:
        raise TextclsError(f"model option embedding_dropout={embedding['embedding_dropout']}: give 0 <= p < 1")
    if not takes_embedding(name):
        for key in _NEED_SHARED_EMBEDDING:
            if embedding.get(key, EMBEDDING_OPTIONS[key]) != EMBEDDING_OPTIONS[key]:
                shared = [other for other in MODELS.names() if takes_embedding(other)]
                raise TextclsError(
                    f"model {name!r} builds its own embedding table, so {key}={embedding[key]!r} is not available; "
                    f"drop it, or use a model given the shared embedding: {', '.join(shared)}"
                )
    placeholders = {"embedding": None} if takes_embedding(name) else {"vocab_size": 1}
    checked = MODELS.check(name, {**placeholders, "num_outputs": 1, **own})
    return embedding, {key: checked[key] for key in own}


def get_model(
    name: str,
    *,
    num_outputs: int,
    vocab_size: int | None = None,
    padding_idx: int | None = None,
    vectors: torch.Tensor | None = None,
    fix_rows_from: int | None = None,
    embedding: TextEmbedding | None = None,
    **options,
) -> nn.Module:
    """Build text model ``name``: its embedding from the embedding options, then the model around it.

    Args:
        name: a registered model (see :func:`available_models`).
        num_outputs: logits to produce.
        vocab_size: number of token ids (not needed with ``vectors`` or ``embedding``).
        padding_idx: id of ``<pad>``.
        vectors: initial embedding weights ``[vocab_size, dim]`` (``None``: random, ``embedding_dim`` wide).
        fix_rows_from: keep embedding rows from this id on out of training (words no training text uses).
        embedding: a ready embedding to use instead (then give no embedding options).
        **options: ``model_options``: :data:`EMBEDDING_OPTIONS` and the model's own options.

    Raises:
        TextclsError: (one line) for an unknown name, an option the model does not take, a value of the wrong
            type, or an embedding option a model with its own table cannot honour.
    """
    embedding_options, own = split_options(name, options)
    if not takes_embedding(name):
        if embedding is not None:
            raise TextclsError(f"model {name!r} builds its own embedding table; it takes no ready embedding")
        parameters = MODELS.parameters(name)
        extra = {
            "padding_idx": padding_idx,
            "vectors": vectors,
            "embedding_dim": embedding_options.get("embedding_dim"),
        }
        given = {key: value for key, value in extra.items() if key in parameters and value is not None}
        return MODELS.build(name, vocab_size=vocab_size, num_outputs=num_outputs, **given, **own)
    if embedding is None:
        embedding = build_embedding(vocab_size, padding_idx, vectors, fix_rows_from, **embedding_options)
    elif embedding_options:
        raise TextclsError(f"give {', '.join(embedding_options)} to the TextEmbedding, not with a ready embedding")
    return MODELS.build(name, embedding=embedding, num_outputs=num_outputs, **own)


def build_embedding(
    vocab_size: int | None,
    padding_idx: int | None = None,
    vectors: torch.Tensor | None = None,
    fix_rows_from: int | None = None,
    embedding_dim: int = EMBEDDING_OPTIONS["embedding_dim"],
    freeze_embeddings: bool = False,
    freeze_epochs: int = 0,
    embedding_dropout: float = 0.0,
    sparse_embedding: bool | str = False,
) -> TextEmbedding:
    """The embedding a text model is given (the arguments as in :func:`get_model` and :data:`EMBEDDING_OPTIONS`)."""
    if vocab_size is None and vectors is None:
        raise TextclsError("a text model needs vocab_size or vectors to build its embedding")
    embedding = TextEmbedding(
        vocab_size,
        embedding_dim,
        vectors=vectors,
        padding_idx=padding_idx,
        freeze=freeze_embeddings,
        freeze_epochs=freeze_epochs,
        dropout=embedding_dropout,
        sparse=sparse_embedding is True,  # "auto" unsettled (a model built without data): dense
    )
    if fix_rows_from is not None:
        embedding.fix_rows_from(fix_rows_from)
    return embedding
