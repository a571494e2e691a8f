"""Model options settled from the training texts' lengths: the ``auto`` values of long-text settings.

A model's config may set an option to ``auto``; when a run is built, the model's ``choose_options`` (called by
textcls.jobs.train with the training texts' token counts, as cut by ``data.max_length``) replaces it with the
short-text or the long-text value, by the median length. Values set to anything else are kept, so what a user
sets always wins. Measured with scripts/bench_long.py on 20 Newsgroups (median 198 tokens) and the AG book split
(median 34).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

LONG_TEXTS_FROM = 100
"""Texts count as long when the median training text keeps more than this many tokens."""


def median_length(lengths: Sequence[int]) -> int:
    """The median of the training texts' token counts (the upper one of an even count; 0 for no texts)."""
    ordered = sorted(lengths) or [0]
    return ordered[len(ordered) // 2]


def choose_by_length(lengths: Sequence[int], options: dict, choices: Mapping[str, tuple]) -> tuple[dict, str | None]:
    """Resolve the ``auto`` options named in ``choices`` from the median training length.

    Args:
        lengths: the training texts' token counts, after the cut.
        options: the run's ``model_options``.
        choices: ``{option: (short-text value, long-text value)}``.

    Returns:
        the options with the choices made, and a header line saying what was chosen and why (``None`` when none
        of them was ``auto``).
    """
    options = dict(options)
    auto = [key for key in choices if options.get(key) == "auto"]
    if not auto:
        return options, None
    median = median_length(lengths)
    long_texts = median > LONG_TEXTS_FROM
    options.update({key: choices[key][long_texts] for key in auto})
    settings = ", ".join(f"{key} {str(options[key]).lower()}" for key in auto)
    kind, sign = ("long", ">") if long_texts else ("short", "≤")
    return options, f"{settings} (chosen for {kind} texts: median {median:,} tokens {sign} {LONG_TEXTS_FROM})"


SPARSE_EMBEDDING = {"sparse_embedding": (False, True)}
"""``sparse_embedding: auto``: gradients for only the rows a batch uses on long texts, whose large vocabularies make
a dense optimizer step walk every row (20 Newsgroups: 173 k trainable rows) for the few a batch touches."""
