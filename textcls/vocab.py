"""Vocabulary: the mapping between tokens and integer ids, with the legacy torchtext ``Vocab`` behaviour.

Ordering: specials first (unless ``specials_first=False``), then tokens by descending frequency, ties broken
alphabetically. Unknown tokens map to ``<unk>`` when it is one of the specials; a vocabulary without ``<unk>``
(labels) raises ``KeyError`` for an unknown token, as legacy ``stoi`` did.

Saved as JSON (never pickle) with :meth:`Vocab.save` / :meth:`Vocab.load`.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from textcls.errors import TextclsError

VOCAB_FORMAT = "textcls.vocab/1"


class _StoI(dict):
    """``stoi`` that maps missing tokens to the unknown index, when there is one (legacy defaultdict behaviour
    without inserting the missing key)."""

    __slots__ = ("unk_index",)

    def __init__(self, *args, unk_index: int | None = None):
        super().__init__(*args)
        self.unk_index = unk_index

    def __missing__(self, token):
        if self.unk_index is None:
            raise KeyError(token)
        return self.unk_index


class Vocab:
    """Token ↔ id mapping built from a frequency counter.

    Args:
        counter: ``collections.Counter`` of token frequencies (the legacy first argument).
        max_size: keep at most this many non-special tokens (``None``: no limit).
        min_freq: drop tokens seen fewer times (values below 1 count as 1).
        specials: special tokens, e.g. ``("<unk>", "<pad>")``; they are always in the vocabulary.
        vectors: optional vectors to attach (a :class:`textcls.vocab.Vectors`, a name, or a list of them);
            see :meth:`load_vectors`.
        unk_init: how vectors for words missing from ``vectors`` are initialised (callable on a tensor, or
            ``"zeros" | "normal" | "uniform"``).
        vectors_cache: directory for the vectors cache.
        specials_first: put specials at the start (``True``) or at the end.
        unk_token: the special that unknown tokens map to (``None``, or not among ``specials``: unknown tokens
            raise ``KeyError``).

    Attributes:
        itos: list of tokens by id. stoi: dict token → id. freqs: the counter. vectors: tensor or ``None``.
    """

    UNK = "<unk>"

    def __init__(
        self,
        counter: Counter | None = None,
        max_size: int | None = None,
        min_freq: int = 1,
        specials: Sequence[str] = ("<unk>", "<pad>"),
        vectors=None,
        unk_init=None,
        vectors_cache=None,
        specials_first: bool = True,
        unk_token: str | None = "<unk>",
    ):
        counter = Counter() if counter is None else counter
        self.unk_token = unk_token
        self.freqs = counter
        min_freq = max(min_freq, 1)
        specials = list(dict.fromkeys(specials))
        self.specials = specials
        self.specials_first = specials_first

        # frequency descending, ties alphabetical: sort by token, then a stable sort by frequency
        skip = set(specials)
        words = sorted(word for word, freq in counter.items() if freq >= min_freq and word not in skip)
        words.sort(key=counter.__getitem__, reverse=True)
        if max_size is not None:
            del words[max_size:]
        self.itos: list[str] = specials + words if specials_first else words + specials
        self._rebuild_stoi()

        self.vectors = None
        if vectors is not None:
            self.load_vectors(vectors, unk_init=unk_init, cache=vectors_cache)

    def _rebuild_stoi(self) -> None:
        unk = self.unk_token
        unk_index = self.itos.index(unk) if unk is not None and unk in self.specials else None
        self.stoi = _StoI(zip(self.itos, range(len(self.itos))), unk_index=unk_index)

    @property
    def unk_index(self) -> int | None:
        """Id of ``<unk>``, or ``None`` when unknown tokens are an error."""
        return self.stoi.unk_index

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return dict.__contains__(self.stoi, token)

    def __getitem__(self, token: str) -> int:
        return self.stoi[token]

    def __eq__(self, other) -> bool:
        if not isinstance(other, Vocab):
            return NotImplemented
        return self.freqs == other.freqs and self.itos == other.itos and self.specials == other.specials

    def __repr__(self) -> str:
        return f"Vocab(size={len(self)}, specials={self.specials})"

    def lookup_indices(self, tokens: Iterable[str]) -> list[int]:
        """Ids of ``tokens`` (unknown → ``<unk>``)."""
        stoi = self.stoi
        return [stoi[token] for token in tokens]

    def lookup_tokens(self, indices: Iterable[int]) -> list[str]:
        """Tokens of ``indices``."""
        itos = self.itos
        return [itos[i] for i in indices]

    def counted_prefix(self) -> int:
        """How many leading ids cover every special and every token of :attr:`freqs`: the ids after it belong to
        tokens added by :meth:`extend` (e.g. words only a vectors file knows), which the counted text never uses."""
        counted = self.freqs.keys() | set(self.specials)
        for index in range(len(self.itos) - 1, -1, -1):
            if self.itos[index] in counted:
                return index + 1
        return 0

    def extend(self, other, sort: bool = False) -> None:
        """Append the tokens of ``other`` (a Vocab, Vectors, or any list of tokens) that this vocabulary lacks
        (legacy ``Vocab.extend``)."""
        words = getattr(other, "itos", other)
        words = sorted(words) if sort else words
        for word in words:
            if word not in self:
                self.itos.append(word)
                self.stoi[word] = len(self.itos) - 1

    # --- vectors (the loading itself lives in textcls.embeddings) -------------------------------------
    def load_vectors(self, vectors, unk_init=None, cache=None, **kwargs):
        """Attach pretrained vectors: ``vectors`` is a Vectors object, a preset name (``"glove.6B.100d"``), a
        file path, or a list of these (concatenated along the dimension). Keyword arguments:
        ``lower_fallback`` (try the lower-cased word), ``vectors_dir``. Returns the coverage report."""
        from textcls.embeddings.attach import attach_vectors

        return attach_vectors(self, vectors, unk_init=unk_init, cache=cache, **kwargs)

    def set_vectors(self, stoi, vectors, dim, unk_init=None, lower_fallback: bool = False):
        """Legacy ``set_vectors``: take rows of ``vectors`` (a tensor) indexed by ``stoi`` for each token."""
        from textcls.embeddings.attach import set_vectors_from_table

        return set_vectors_from_table(self, stoi, vectors, dim, unk_init=unk_init, lower_fallback=lower_fallback)

    # --- persistence -----------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """JSON-able content (tokens, frequencies, specials); vectors are not included."""
        return {
            "format": VOCAB_FORMAT,
            "itos": self.itos,
            "specials": self.specials,
            "specials_first": self.specials_first,
            "freqs": [[token, count] for token, count in self.freqs.items()],  # pairs keep int labels ints
            "unk_token": self.unk_token,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Vocab:
        """Inverse of :meth:`to_dict`."""
        if not isinstance(data, dict) or data.get("format") != VOCAB_FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise TextclsError(f"not a textcls vocabulary (format {found!r}, expected {VOCAB_FORMAT!r})")
        vocab = cls.__new__(cls)
        try:
            vocab.freqs = Counter({token: count for token, count in data["freqs"]})
            vocab.itos = list(data["itos"])
            vocab.specials = list(data["specials"])
            vocab.specials_first = bool(data["specials_first"])
            vocab.unk_token = data.get("unk_token", cls.UNK)
        except (KeyError, TypeError, ValueError) as exc:
            raise TextclsError(f"incomplete or damaged vocabulary file ({type(exc).__name__}: {exc})") from None
        vocab.vectors = None
        vocab._rebuild_stoi()
        return vocab

    def save(self, path: str | os.PathLike) -> None:
        """Write the vocabulary as JSON (atomically)."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Vocab:
        """Read a vocabulary written by :meth:`save`."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise TextclsError(f"vocabulary file not found: {path}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise TextclsError(f"{path} is not a JSON vocabulary: {exc}") from None
        return cls.from_dict(data)


def __getattr__(name):
    # Vectors, GloVe and FastText live in textcls.embeddings; importing them lazily keeps `import textcls.vocab`
    # light and lets legacy code write `from textcls.vocab import GloVe`.
    if name in ("Vectors", "GloVe", "FastText"):
        from textcls import embeddings

        return getattr(embeddings, name)
    raise AttributeError(f"module 'textcls.vocab' has no attribute {name!r}")
