"""Vocabulary: the mapping between tokens and integer ids, with the legacy torchtext ``Vocab`` behaviour.

Ordering: specials first (unless ``specials_first=False``), then tokens by descending frequency, ties broken
alphabetically. Unknown tokens map to ``<unk>`` when it is one of the specials; in a vocabulary without ``<unk>``
(labels) ``stoi[token]`` raises ``KeyError`` for an unknown token and ``vocab[token]`` gives ``None``, as in legacy.

Saved as JSON with :meth:`Vocab.save` / :meth:`Vocab.load` (the run directory's format); a ``Vocab`` object also
pickles with the standard library as the legacy one did (``stoi`` as a plain dict in the state).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from textcls._util import atomic_save
from textcls.errors import ArgumentAssertionError, TextclsError

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
        unk_init: how vectors for words missing from ``vectors`` are initialised (callable on a 1-D tensor such
            as ``torch.Tensor.normal_``, or ``"zeros" | "normal" | "uniform"``); only with ``vectors``.
        vectors_cache: legacy torchtext's vectors directory (searched for named vectors); only with ``vectors``.
        specials_first: put specials at the start (``True``) or at the end.
        unk_token: the special that unknown tokens map to (``None``, or not among ``specials``: ``stoi`` raises
            ``KeyError`` for an unknown token and ``vocab[token]`` gives ``None``).

    Attributes:
        itos: list of tokens by id. stoi: dict token → id. freqs: the counter. vectors: tensor or ``None``.
        unk_index: id that unknown tokens map to, or ``None``.

    Raises:
        ArgumentAssertionError: ``unk_init`` or ``vectors_cache`` without ``vectors`` (legacy asserted this).
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
        elif unk_init is not None or vectors_cache is not None:
            raise ArgumentAssertionError(
                "unk_init and vectors_cache only apply together with vectors=; pass vectors=... or drop them"
            )

    def _find_unk_index(self) -> int | None:
        unk = self.unk_token
        return self.itos.index(unk) if unk is not None and unk in self.specials else None

    def _rebuild_stoi(self) -> None:
        self.unk_index = self._find_unk_index()
        self.stoi = _StoI(zip(self.itos, range(len(self.itos))), unk_index=self.unk_index)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["stoi"] = dict(self.stoi)  # a plain dict, as legacy pickled it
        return state

    def __setstate__(self, state: dict) -> None:
        state = dict(state)
        stoi = state.pop("stoi")
        self.__dict__.update(state)
        self.__dict__.setdefault("unk_token", self.UNK)
        self.__dict__.setdefault("specials", [token for token in self.itos if token not in self.freqs])
        self.__dict__.setdefault("specials_first", True)
        self.__dict__.setdefault("vectors", None)
        if "unk_index" not in state:  # pickled before vocabularies had an unk_index (legacy back-compat)
            self.unk_index = self._find_unk_index()
        self.stoi = _StoI(stoi, unk_index=self.unk_index)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return dict.__contains__(self.stoi, token)

    def __getitem__(self, token: str) -> int | None:
        """The token's id; an unknown token gives the ``<unk>`` id, or ``None`` without ``<unk>`` (legacy)."""
        index = dict.get(self.stoi, token)
        if index is not None:
            return index
        return self.unk_index if self.unk_index is not None else dict.get(self.stoi, self.UNK)

    def __eq__(self, other) -> bool:
        if not isinstance(other, Vocab):
            return NotImplemented
        return (
            self.freqs == other.freqs
            and self.itos == other.itos
            and dict(self.stoi) == dict(other.stoi)
            and self.specials == other.specials
            and _same_vectors(self.vectors, other.vectors)
        )

    def __repr__(self) -> str:
        return f"Vocab(size={len(self)}, specials={self.specials})"

    def lookup_indices(self, tokens: Iterable[str]) -> list[int | None]:
        """Ids of ``tokens`` as ``vocab[token]`` gives them (unknown → ``<unk>``, or ``None`` without it)."""
        return [self[token] for token in tokens]

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
        """Attach pretrained vectors (``self.vectors``, one row per id).

        Args:
            vectors: a Vectors object (``GloVe(name="6B", dim=100)``), a preset name (``"glove.6B.100d"``,
                ``"fasttext.en.300d"``, ``"charngram.100d"``), a file path or a file name in a vectors directory,
                or a list of these (concatenated along the dimension).
            unk_init: initialiser for words without a vector: a callable on a 1-D tensor
                (``torch.Tensor.normal_``) or ``"zeros" | "normal" | "uniform"``; default the Vectors' own.
            cache: legacy torchtext's vectors directory (default ``./.vector_cache`` among the searched ones).
            **kwargs: ``max_vectors``, ``lower_fallback`` (try the lower-cased word), ``vectors_dir``,
                ``download``, ``trust_pickle`` (load a gensim pickle; refused by default).

        Returns:
            The :class:`~textcls.embeddings.Coverage` report.

        Raises:
            ArgumentError: (a ``ValueError``) for an unknown vectors name or a value of another type.
        """
        from textcls.embeddings.attach import attach_vectors

        return attach_vectors(self, vectors, unk_init=unk_init, cache=cache, **kwargs)

    def set_vectors(self, stoi, vectors, dim, unk_init=None, lower_fallback: bool = False):
        """Legacy ``set_vectors``: row ``vectors[stoi[token]]`` for each token of the vocabulary.

        Args:
            stoi: token → index into ``vectors``.
            vectors: a tensor (or any indexable of 1-D tensors) holding the vectors.
            dim: their size.
            unk_init: initialiser for tokens absent from ``stoi`` (default zeros; e.g. ``torch.Tensor.normal_``).
            lower_fallback: try the lower-cased token.

        Returns:
            The :class:`~textcls.embeddings.Coverage` report.
        """
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
        """Write the vocabulary as JSON (atomically).

        Args:
            path: the JSON file to write.
        """
        text = json.dumps(self.to_dict(), ensure_ascii=False)
        atomic_save(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))

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


def _same_vectors(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return a.shape == b.shape and bool((a == b).all())


def build_vocab_from_iterator(iterator: Iterable[Iterable[str]], num_lines: int | None = None) -> Vocab:
    """Count the tokens of every item and build a :class:`Vocab` with the default specials (legacy helper).

    Args:
        iterator: yields a list (or iterable) of tokens per text.
        num_lines: how many items it yields, if known (sizes the progress bar shown on a terminal).
    """
    from tqdm import tqdm

    counter = Counter()
    for tokens in tqdm(iterator, total=num_lines, unit="lines", disable=None):
        counter.update(tokens)
    return Vocab(counter)


_LAZY_NAMES = ("Vectors", "GloVe", "FastText", "CharNGram", "pretrained_aliases")


def __getattr__(name):
    # the vectors classes live in textcls.embeddings; importing them lazily keeps `import textcls.vocab` light and
    # lets legacy code write `from textcls.vocab import GloVe`.
    if name in _LAZY_NAMES:
        from textcls import embeddings

        return getattr(embeddings, name)
    raise AttributeError(f"module 'textcls.vocab' has no attribute {name!r}")
