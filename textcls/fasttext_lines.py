"""fastText's line format, ``__label__A __label__B some words``, without importing torch (the torch-free
``predict`` from an export reads it too)."""

from __future__ import annotations

FASTTEXT_PREFIX = "__label__"


def split_fasttext_line(line: str) -> tuple[list[str], str]:
    """``(labels, text)`` of one fastText line: every whitespace-separated word starting with ``__label__`` is a
    label (prefix removed, in order), the other words, joined by one space, are the text (as fastText reads it).

    Args:
        line: one line of a fastText file.
    """
    labels, words = [], []
    for word in line.split():
        if word.startswith(FASTTEXT_PREFIX) and len(word) > len(FASTTEXT_PREFIX):
            labels.append(word[len(FASTTEXT_PREFIX) :])
        else:
            words.append(word)
    return labels, " ".join(words)
