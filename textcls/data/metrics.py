"""Legacy torchtext ``data.metrics``: corpus BLEU (Papineni et al., 2002), computed as legacy torchtext did.

Counts are clipped per sentence against the union (maximum per n-gram) of its references; precisions are pooled
over the corpus; the brevity penalty uses, per sentence, the reference length closest to the candidate's (the
first such reference on a tie); a corpus with no match for some n-gram order scores 0. The arithmetic is done in
float32 torch tensors, as legacy did, so scores are equal to legacy's to the last bit.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import torch

from textcls.errors import ArgumentAssertionError


def _ngram_counter(tokens: Sequence[str], max_n: int) -> Counter:
    """Counts of every n-gram of ``tokens`` for n = 1..``max_n``, keyed by token tuples.

    Legacy joined n-grams with spaces and split them back; tuples give the same counts for tokens without spaces
    and keep a token that contains a space whole.
    """
    if max_n < 1:
        raise ArgumentAssertionError(f"max_n must be at least 1, not {max_n}")
    tokens = list(tokens)
    counter = Counter()
    for n in range(1, max_n + 1):
        counter.update(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return counter


def bleu_score(candidate_corpus, references_corpus, max_n: int = 4, weights=(0.25,) * 4) -> float:
    """Corpus BLEU of candidate translations against their references.

    Args:
        candidate_corpus: the candidate translations, each a sequence of tokens.
        references_corpus: per candidate, a sequence of reference translations (each a sequence of tokens).
        max_n: the largest n-gram order (4: unigrams to 4-grams).
        weights: one weight per order, applied to the log precisions (uniform by default).

    Returns:
        The score in [0, 1] (a Python float).

    Raises:
        ArgumentAssertionError: (an ``AssertionError``, as legacy asserted) when ``weights`` does not have
            ``max_n`` entries or the two corpora differ in length.

    Example:
        ``bleu_score([["a", "cat", "sat", "down"]], [[["a", "cat", "sat", "down"], ["other"]]])`` is ``1.0``.
    """
    weights = list(weights)
    if max_n != len(weights):
        raise ArgumentAssertionError(f'the "weights" list has {len(weights)} entries; it must have max_n={max_n}')
    if len(candidate_corpus) != len(references_corpus):
        raise ArgumentAssertionError(
            f"the candidate corpus has {len(candidate_corpus)} translations and the references corpus "
            f"{len(references_corpus)}; they must be the same length"
        )

    clipped_counts = torch.zeros(max_n)
    total_counts = torch.zeros(max_n)
    candidate_len = 0.0
    refs_len = 0.0
    for candidate, refs in zip(candidate_corpus, references_corpus):
        candidate_len += len(candidate)
        refs_len += min((float(len(ref)) for ref in refs), key=lambda length: abs(len(candidate) - length))

        reference_counts = Counter()
        for ref in refs:
            reference_counts |= _ngram_counter(ref, max_n)
        candidate_counts = _ngram_counter(candidate, max_n)
        for ngram, count in (candidate_counts & reference_counts).items():
            clipped_counts[len(ngram) - 1] += count
        for ngram, count in candidate_counts.items():
            total_counts[len(ngram) - 1] += count

    if min(clipped_counts) == 0:
        return 0.0
    log_precisions = torch.tensor(weights) * torch.log(clipped_counts / total_counts)
    score = torch.exp(sum(log_precisions))  # Python's sum, left to right, as legacy summed
    brevity_penalty = math.exp(min(1 - refs_len / candidate_len, 0))
    return brevity_penalty * score.item()


__all__ = ["bleu_score"]
