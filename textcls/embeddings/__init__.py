"""Word vectors: loading (GloVe, word2vec, fastText, gensim), caching, training on the corpus (gensim), attaching
to a vocabulary with a coverage report, and the embedding layer.

``load_vectors(name_or_path)`` is the one-line entry point; ``Vectors``, ``GloVe`` and ``FastText`` keep the
legacy torchtext names (also importable from :mod:`textcls.vocab`).
"""

from textcls.embeddings.attach import Coverage, attach_vectors, fill_vectors, set_vectors_from_table
from textcls.embeddings.layer import TextEmbedding
from textcls.embeddings.training import train_vectors
from textcls.embeddings.vectors import PRESETS, FastText, GloVe, SubwordTable, Vectors, resolve_vectors_path


def load_vectors(name, **kwargs) -> Vectors:
    """Load vectors by path or preset name; keyword arguments as for :class:`Vectors` (``restrict_to``,
    ``cache``, ``max_vectors``, ``vectors_dir``, ``download``)."""
    return Vectors(name, **kwargs)


__all__ = [
    "PRESETS",
    "Coverage",
    "FastText",
    "GloVe",
    "SubwordTable",
    "TextEmbedding",
    "Vectors",
    "attach_vectors",
    "fill_vectors",
    "load_vectors",
    "resolve_vectors_path",
    "set_vectors_from_table",
    "train_vectors",
]
