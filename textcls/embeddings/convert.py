"""Writing word vectors in the word2vec formats (text ``.txt``/``.vec``, optionally ``.gz``, or binary ``.bin``),
which textcls and gensim read as numbers only: the way to turn a gensim pickle (``.kv``/``.model``) into a file
that can be shared and loaded without trusting it (``textcls vectors convert``).
"""

from __future__ import annotations

import gzip
import logging
import os
from pathlib import Path

import numpy as np

from textcls._util import atomic_write
from textcls.errors import ArgumentError, DataError

log = logging.getLogger("textcls")

TEXT_OUTPUTS = (".txt", ".vec", ".txt.gz", ".vec.gz")
BINARY_OUTPUTS = (".bin",)


def output_kind(path: str | os.PathLike) -> str:
    """``"text"`` or ``"binary"`` from the name of a file to write.

    Raises:
        ArgumentError: for any other suffix.
    """
    name = Path(path).name.lower()
    if name.endswith(TEXT_OUTPUTS):
        return "text"
    if name.endswith(BINARY_OUTPUTS):
        return "binary"
    allowed = ", ".join(TEXT_OUTPUTS + BINARY_OUTPUTS)
    raise ArgumentError(f"cannot tell the format of {path}: name it with one of {allowed} (word2vec text or binary)")


def _check_words(words: list[str], kind: str) -> None:
    """Every word must survive the format: no line breaks (text), no spaces either (binary), none empty."""
    for word in words:
        if not word.strip() or "\n" in word or "\r" in word or (kind == "binary" and " " in word):
            spaced = kind == "binary" and word.strip() and "\n" not in word and "\r" not in word
            why = "it holds a space; write a .txt file instead" if spaced else "it is empty or holds a line break"
            raise DataError(f"the word {word[:40]!r} cannot be stored in word2vec {kind} format: {why}")


def write_word2vec(words: list[str], matrix: np.ndarray, path: str | os.PathLike) -> Path:
    """Write ``(words, matrix)`` as word2vec text (``.txt``/``.vec``, ``.gz`` compressed when named so) or
    binary (``.bin``: little-endian float32), atomically (a temporary file, then a rename).

    Text values are written with 9 significant digits, which give back every float32 exactly.

    Args:
        words: one word per row of ``matrix``.
        matrix: ``[len(words), dim]`` vectors.
        path: the file to write; its suffix chooses the format.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        ArgumentError: an unknown suffix, or ``words`` and ``matrix`` of different lengths.
        DataError: a word the format cannot hold (a line break; for binary, a space).
    """
    kind = output_kind(path)
    matrix = np.ascontiguousarray(matrix, dtype="<f4")
    if matrix.ndim != 2 or matrix.shape[0] != len(words):
        raise ArgumentError(f"{len(words)} words but a matrix of shape {tuple(matrix.shape)}")
    _check_words(words, kind)
    header = f"{matrix.shape[0]} {matrix.shape[1]}\n"

    def write_text(handle) -> None:
        handle.write(header)
        for word, row in zip(words, matrix.tolist()):
            handle.write(word + " " + " ".join(f"{value:.9g}" for value in row) + "\n")

    def write(tmp: Path) -> None:
        if kind == "binary":
            with open(tmp, "wb") as handle:
                handle.write(header.encode("utf-8"))
                for word, row in zip(words, matrix):
                    handle.write(word.encode("utf-8") + b" " + row.tobytes() + b"\n")
        elif Path(path).name.lower().endswith(".gz"):
            with gzip.open(tmp, "wt", encoding="utf-8", newline="\n") as handle:
                write_text(handle)
        else:
            with open(tmp, "w", encoding="utf-8", newline="\n") as handle:
                write_text(handle)

    return atomic_write(path, write)


def convert_vectors(source, target, trust_pickle: bool = False, vectors_dir=None) -> tuple[int, int]:
    """Read any vectors file textcls reads and write it in a word2vec format (see :func:`write_word2vec`).

    A fastText model's character n-grams are not kept (word2vec files hold one vector per word); a warning
    says so.

    Args:
        source: the vectors file, preset or name (as for :class:`~textcls.embeddings.Vectors`).
        target: the file to write (``.txt``, ``.vec``, ``.txt.gz``, ``.vec.gz`` or ``.bin``); must not exist.
        trust_pickle: allow ``source`` to be a gensim pickle (it is unpickled: only for a file you trust).
        vectors_dir: a folder searched first for a named ``source``.

    Returns:
        ``(number of vectors, dimension)``.

    Raises:
        TextclsError: ``target`` exists or has an unknown suffix, ``source`` is unreadable, or it is a pickle
            and ``trust_pickle`` is not set.
    """
    from textcls.embeddings.vectors import Vectors

    output_kind(target)  # before the (possibly long) load
    if Path(target).exists():
        raise ArgumentError(f"{target} already exists; remove it or choose another output name")
    vectors = Vectors(source, cache=False, vectors_dir=vectors_dir, trust_pickle=trust_pickle)
    if vectors.subwords is not None:
        log.warning("%s: the fastText character n-grams are not kept (only the words' vectors)", source)
    write_word2vec(vectors.itos, vectors.vectors.numpy(), target)
    return len(vectors), vectors.dim
