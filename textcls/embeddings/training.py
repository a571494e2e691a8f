"""Word vectors trained on the training split with gensim (word2vec or fastText)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np

from textcls.embeddings.vectors import SubwordTable, Vectors
from textcls.errors import TextclsError

log = logging.getLogger("textcls")

METHODS = ("word2vec", "fasttext")


def train_vectors(
    texts: Iterable,
    method: str = "word2vec",
    dim: int = 100,
    window: int = 5,
    min_count: int = 1,
    epochs: int = 5,
    seed: int = 0,
    workers: int = 1,
    sg: bool = True,
    bucket: int = 200_000,
    tokenizer=None,
) -> Vectors:
    """Train word vectors on ``texts`` and return them as :class:`Vectors`.

    Train on the training split only: vectors that saw validation or test text leak information.

    Args:
        texts: token lists (e.g. ``dataset.text``), or strings with ``tokenizer``.
        method: ``"word2vec"`` or ``"fasttext"`` (fastText also gives vectors to unseen words from their
            character n-grams).
        dim: vector size.
        window: context window.
        min_count: ignore rarer words.
        epochs: passes over the corpus.
        seed: random seed (with ``workers=1`` the result is identical from run to run).
        workers: gensim worker threads.
        sg: skip-gram (``True``) or CBOW.
        bucket: fastText n-gram buckets (memory: ``bucket × dim`` floats).
        tokenizer: splits string texts.
    """
    from gensim.models import FastText, Word2Vec

    if method not in METHODS:
        raise TextclsError(f"unknown vectors training method {method!r}; choose {' or '.join(METHODS)}")
    sentences = [tokenizer(text) if isinstance(text, str) and tokenizer else list(text) for text in texts]
    sentences = [sentence for sentence in sentences if sentence]
    if not sentences:
        raise TextclsError("no text to train word vectors on")
    options = dict(
        vector_size=dim, window=window, min_count=min_count, epochs=epochs, seed=seed, workers=workers, sg=int(sg)
    )
    model = Word2Vec(**options) if method == "word2vec" else FastText(bucket=bucket, **options)
    model.build_vocab(sentences)
    if not model.wv.key_to_index:
        raise TextclsError(f"no word occurs {min_count} times or more; lower min_count")
    model.train(sentences, total_examples=len(sentences), epochs=epochs)
    subwords = None
    if method == "fasttext":
        subwords = SubwordTable(model.wv.vectors_ngrams, model.wv.min_n, model.wv.max_n)
    words = list(model.wv.index_to_key)
    matrix = np.asarray(model.wv.vectors, dtype=np.float32)
    log.info("trained %s vectors: %d words × %d on %d texts", method, len(words), dim, len(sentences))
    return Vectors.from_arrays(words, matrix, subwords, source=f"{method} trained on {len(sentences)} texts")
