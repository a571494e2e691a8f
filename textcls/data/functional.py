"""Legacy torchtext ``data.functional``: text transforms over iterators of lines, numericalizing token streams,
and SentencePiece helpers.

The SentencePiece functions need the ``sentencepiece`` package, which is not a textcls dependency
(``pip install sentencepiece``); without it they end in a one-line error. Legacy used torchtext's compiled
bindings; the ``sentencepiece`` processor has the same methods (``EncodeAsIds``, ``EncodeAsPieces``, ...).
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Iterable, Iterator

import torch

from textcls.errors import TextclsError


def _sentencepiece():
    try:
        import sentencepiece
    except ImportError:
        raise TextclsError(
            "SentencePiece support needs the sentencepiece package, which is not installed: pip install sentencepiece"
        ) from None
    return sentencepiece


def generate_sp_model(filename: str, vocab_size: int = 20000, model_type: str = "unigram", model_prefix="m_user"):
    """Train a SentencePiece model on a text file; writes ``MODEL_PREFIX.model`` and ``MODEL_PREFIX.vocab``.

    Args:
        filename: the training text, one sentence per line.
        vocab_size: the number of pieces.
        model_type: ``unigram``, ``bpe``, ``char`` or ``word``.
        model_prefix: the output path without extension.
    """
    _sentencepiece().SentencePieceTrainer.train(
        input=os.fspath(filename), vocab_size=vocab_size, model_type=model_type, model_prefix=os.fspath(model_prefix)
    )


def load_sp_model(spm):
    """Load a SentencePiece model.

    Args:
        spm: the model's path, or a file opened in binary mode.

    Returns:
        A ``sentencepiece.SentencePieceProcessor``.

    Raises:
        TypeError: for any other type of ``spm`` (as legacy).
    """
    if isinstance(spm, (str, os.PathLike)):
        return _sentencepiece().SentencePieceProcessor(model_file=os.fspath(spm))
    if isinstance(spm, io.BufferedReader):
        return _sentencepiece().SentencePieceProcessor(model_proto=spm.read())
    raise TypeError(
        f"Unsupported type for spm argument: {type(spm).__name__}. Supported types are: str, io.BufferedReader"
    )


def sentencepiece_numericalizer(sp_model) -> Callable[[Iterable[str]], Iterator[list[int]]]:
    """A transform from an iterator of sentences to an iterator of their piece ids under ``sp_model``."""

    def numericalize(lines):
        for line in lines:
            yield sp_model.EncodeAsIds(line)

    return numericalize


def sentencepiece_tokenizer(sp_model) -> Callable[[Iterable[str]], Iterator[list[str]]]:
    """A transform from an iterator of sentences to an iterator of their pieces under ``sp_model``."""

    def tokenize(lines):
        for line in lines:
            yield sp_model.EncodeAsPieces(line)

    return tokenize


def custom_replace(replace_pattern: Iterable[tuple[str, str]]) -> Callable[[Iterable[str]], Iterator[str]]:
    """A transform that applies regex substitutions, in order, to every line.

    Args:
        replace_pattern: ``(pattern, replacement)`` pairs for ``re.sub``.

    Example:
        ``list(custom_replace([(r"S", "s"), (r"\\s+", " ")])(["aS  b"]))`` is ``["as b"]``.
    """
    rules = [(re.compile(pattern), replacement) for pattern, replacement in replace_pattern]

    def replace(lines):
        for line in lines:
            for pattern, replacement in rules:
                line = pattern.sub(replacement, line)
            yield line

    return replace


def simple_space_split(iterator: Iterable[str]) -> Iterator[list[str]]:
    """Yield each line split on whitespace."""
    for line in iterator:
        yield line.split()


def numericalize_tokens_from_iterator(vocab, iterator: Iterable[Iterable[str]], removed_tokens=None):
    """Yield, for each list of tokens, an iterator over their ids.

    Args:
        vocab: anything indexable by token: a :class:`~textcls.vocab.Vocab` or a plain dict.
        iterator: yields lists of tokens.
        removed_tokens: tokens to leave out (``None``: keep all).
    """
    for tokens in iterator:
        if removed_tokens is None:
            yield iter(vocab[token] for token in tokens)
        else:
            yield iter(vocab[token] for token in tokens if token not in removed_tokens)


# fastText's wikifil.pl as legacy torchtext wrote it, kept verbatim so the output is the same (its '[[$1]]' is
# Perl syntax, inserted literally by re.sub, and removed by the later rules).
_WIKI_PATTERNS = [
    (r"<.*>", ""),
    (r"&amp;", "&"),
    (r"&lt;", "<"),
    (r"&gt;", ">"),
    (r"<ref[^<]*<\/ref>", ""),
    (r"<[^>]*>", ""),
    (r"\[http:[^] ]*", "["),
    (r"\|thumb", ""),
    (r"\|left", ""),
    (r"\|right", ""),
    (r"\|\d+px", ""),
    (r"\[\[image:[^\[\]]*\|", ""),
    (r"\[\[category:([^|\]]*)[^]]*\]\]", "[[$1]]"),
    (r"\[\[[a-z\-]*:[^\]]*\]\]", ""),
    (r"\[\[[^\|\]]*\|", "[["),
    (r"\{\{[^\}]*\}\}", ""),
    (r"\{[^\}]*\}", ""),
    (r"\[", ""),
    (r"\]", ""),
    (r"&[^;]*;", " "),
    *((letter, letter.lower()) for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    *(
        (digit, f" {word} ")
        for digit, word in zip("0123456789", "zero one two three four five six seven eight nine".split())
    ),
    (r"[^a-z\n]+", " "),
    (r"\n ", ""),
    (r"\s+", " "),
    (r"\n\s*\n", r"\n"),
]


def filter_wikipedia_xml(text_iterator: Iterable[str]) -> Iterator[str]:
    """Clean Wikipedia XML lines as fastText's ``wikifil.pl`` does: markup removed, lower-case letters only,
    digits spelled out; redirect lines and lines left empty are dropped.

    Args:
        text_iterator: yields lines (a list, an open text file, a generator).

    Raises:
        TypeError: when ``text_iterator`` is not iterable (as legacy).
    """
    try:
        lines = iter(text_iterator)
    except TypeError:
        raise TypeError(f"Input {text_iterator} must support iterator semantics") from None
    normalize = custom_replace(_WIKI_PATTERNS)
    for line in lines:
        if "#redirect" in line or "#REDIRECT" in line:
            continue
        line = next(normalize([line])).strip()
        if line:
            yield line


class _MapStyleDataset(torch.utils.data.Dataset):
    def __init__(self, iter_data: Iterable):
        self._data = list(iter_data)

    def __len__(self) -> int:
        return len(self._data)

    def __getitem__(self, index):
        return self._data[index]


def to_map_style_dataset(iter_data: Iterable) -> torch.utils.data.Dataset:
    """Read an iterable (an iterable-style dataset, a list, an open file) into a map-style ``Dataset``
    (``len`` and indexing), e.g. for a ``DataLoader`` with a sampler."""
    return _MapStyleDataset(iter_data)


__all__ = [
    "custom_replace",
    "filter_wikipedia_xml",
    "generate_sp_model",
    "load_sp_model",
    "numericalize_tokens_from_iterator",
    "sentencepiece_numericalizer",
    "sentencepiece_tokenizer",
    "simple_space_split",
    "to_map_style_dataset",
]
