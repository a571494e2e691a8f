"""Word vectors: loading (GloVe, word2vec, fastText, gensim), caching, training on the corpus (gensim), attaching
to a vocabulary with a coverage report, and the embedding layer.

``load_vectors(name_or_path)`` is the one-line entry point; ``Vectors``, ``GloVe``, ``FastText``, ``CharNGram`` and
``pretrained_aliases`` keep the legacy torchtext names (also importable from :mod:`textcls.vocab`).
"""

from textcls.embeddings.attach import Coverage, attach_vectors, fill_vectors, set_vectors_from_table
from textcls.embeddings.layer import TextEmbedding
from textcls.embeddings.training import train_vectors
from textcls.embeddings.vectors import (
    PRESETS,
    CharNGram,
    FastText,
    GloVe,
    SubwordTable,
    Vectors,
    VectorsSource,
    pretrained_aliases,
    resolve_vectors_path,
    vectors_by_name,
)


def load_vectors(name, **kwargs) -> Vectors:
    """Load vectors by path or preset name.

    Args:
        name: a path, a preset (``"glove.6B.100d"``, ``"charngram.100d"``) or a file name in a vectors directory.
        **kwargs: as for :class:`Vectors` (``restrict_to``, ``cache``, ``url``, ``unk_init``, ``max_vectors``,
            ``vectors_dir``, ``download``, ``trust_pickle``: load a gensim pickle, refused by default).
    """
    return vectors_by_name(name, **kwargs)


__all__ = [
    "PRESETS",
    "CharNGram",
    "Coverage",
    "FastText",
    "GloVe",
    "SubwordTable",
    "TextEmbedding",
    "Vectors",
    "VectorsSource",
    "attach_vectors",
    "fill_vectors",
    "load_vectors",
    "pretrained_aliases",
    "resolve_vectors_path",
    "set_vectors_from_table",
    "train_vectors",
    "vectors_by_name",
]
