"""Legacy torchtext ``data.utils`` (0.8 ``torchtext.data.utils``, 0.9-0.11 ``torchtext.data.utils``): tokenizers by
legacy name, the sort-key interleaving of two-text datasets, n-grams, a reproducible shuffler and small helpers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import torch

from textcls import tokenizers
from textcls.data.batching import RandomShuffler  # legacy's home for it; it lives beside the batching it serves


def get_tokenizer(tokenizer: str | Callable | None, language: str = "en"):
    """Return a tokenizer function for legacy torchtext's names (and textcls's).

    Args:
        tokenizer: ``None`` (split on whitespace, like ``str.split``), ``"basic_english"`` (lower-case and split
            off punctuation), a callable (returned unchanged), ``"spacy"``, ``"moses"`` (needs ``sacremoses``),
            ``"toktok"``, ``"revtok"`` / ``"subword"`` (need ``revtok``), or any name of
            :func:`textcls.tokenizers.available_tokenizers`.
        language: language code, or a spaCy pipeline name (``"en_core_web_sm"``; when it is not installed, the
            blank pipeline of its language tokenizes the same way and is used, with a warning).

    Raises:
        ArgumentError: (a ``ValueError``, as in legacy) for an unknown name or a value that is neither a name nor
            a callable, and for ``basic_english`` with a language other than ``en``.
        TextclsError: for ``moses`` / ``revtok`` / ``subword`` when their package is not installed.
    """
    return tokenizers.get_tokenizer(tokenizer, language=language)


def is_tokenizer_serializable(tokenizer, language) -> bool:
    """Whether legacy torchtext could pickle the tokenizer it built for this name: not spaCy's (a loaded
    pipeline), every other one. textcls's named tokenizers, spaCy's included, pickle by name regardless.

    Args:
        tokenizer: the ``tokenize`` argument a Field was given.
        language: its ``tokenizer_language`` (unused, as in legacy).
    """
    return tokenizer != "spacy"


def interleave_keys(a: int, b: int) -> int:
    """Interleave the bits of two sort keys (each as 16 binary digits) into one joint key.

    Examples similar in both keys get similar joint keys: the sort key of datasets with two texts, such as
    translation pairs (``sort_key=lambda ex: interleave_keys(len(ex.src), len(ex.trg))``).

    Args:
        a: the first key (a non-negative int; bits above the 16th count only when both keys have them).
        b: the second key.
    """
    pairs = zip(format(a, "016b"), format(b, "016b"))
    return int("".join(x + y for x, y in pairs), base=2)


def get_torch_version() -> tuple[int, int]:
    """``(major, minor)`` of the installed PyTorch."""
    major, minor = torch.__version__.split(".")[:2]
    return int(major), int(minor)


def dtype_to_attr(dtype: torch.dtype) -> str:
    """The name of a ``torch.dtype`` as an attribute of ``torch`` (``torch.int32`` → ``"int32"``)."""
    _, name = str(dtype).split(".")
    return name


def ngrams_iterator(token_list: Sequence[str], ngrams: int) -> Iterator[str]:
    """Yield the tokens, then their 2-grams, ..., ``ngrams``-grams, each n-gram joined by a space.

    Args:
        token_list: the tokens.
        ngrams: the largest n.

    Example:
        ``list(ngrams_iterator(["here", "we", "are"], 2))`` is
        ``["here", "we", "are", "here we", "we are"]``.
    """
    yield from token_list
    for n in range(2, ngrams + 1):
        for gram in zip(*(token_list[i:] for i in range(n))):
            yield " ".join(gram)


__all__ = [
    "RandomShuffler",
    "dtype_to_attr",
    "get_tokenizer",
    "get_torch_version",
    "interleave_keys",
    "is_tokenizer_serializable",
    "ngrams_iterator",
]
