"""Tokenizers by name, all working offline.

``get_tokenizer(name)`` returns a :class:`Tokenizer`: a callable ``str -> list[str]`` that pickles by name and
options (never by its loaded state), so a saved Field or run can re-create it for inference.

Names: ``whitespace`` (alias ``split``), ``basic_english``, ``regex``, ``spacy``, ``nltk``, ``toktok``, ``tweet``,
``char``, and legacy torchtext's ``moses`` (needs ``sacremoses``), ``revtok`` and ``subword`` (need ``revtok``),
which are not dependencies. Any callable is accepted too and returned unchanged.
"""

from __future__ import annotations

import importlib.util
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from textcls.errors import ArgumentError, TextclsError

log = logging.getLogger("textcls")

TokenizeFn = Callable[[str], list[str]]

# torchtext's basic_english applies these regex substitutions in this order after lower-casing. Each pattern
# is a fixed string, so a chain of str.replace in the same order gives the same tokens about ten times faster
# (a test checks equality with the regex version on AG News and on tricky strings).
_BASIC_ENGLISH_REPLACEMENTS = (
    ("'", " '  "),
    ('"', ""),
    (".", " . "),
    ("<br />", " "),
    (",", " , "),
    ("(", " ( "),
    (")", " ) "),
    ("!", " ! "),
    ("?", " ? "),
    (";", " "),
    (":", " "),
)


def basic_english(text: str) -> list[str]:
    """Lower-case and split off punctuation exactly like torchtext's ``basic_english`` tokenizer."""
    text = text.lower()
    for pattern, replacement in _BASIC_ENGLISH_REPLACEMENTS:
        if pattern in text:
            text = text.replace(pattern, replacement)
    return text.split()


def whitespace(text: str) -> list[str]:
    """Split on runs of whitespace (``str.split``), the legacy Field default."""
    return text.split()


def char(text: str) -> list[str]:
    """One token per character, whitespace included."""
    return list(text)


def _regex(pattern: str = r"\w+|[^\w\s]", lower: bool = False) -> TokenizeFn:
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ArgumentError(f"invalid regex tokenizer pattern {pattern!r}: {exc}") from None
    if lower:
        return lambda text: compiled.findall(text.lower())
    return compiled.findall


_SPACY_FALLBACK_WARNED: set[str] = set()


def _spacy(language: str = "en") -> TokenizeFn:
    """spaCy's rule-based tokenizer: ``spacy.blank(language)`` for a language code; for a pipeline name
    (``en_core_web_sm``) that pipeline's tokenizer when it is installed, else, since only the tokenizer is used and
    its rules come with the language, ``spacy.blank`` of the name's language (``en``) with one warning per name."""
    import spacy

    if "_" not in language:
        return _spacy_tokens(_spacy_blank(language, language).tokenizer)
    try:
        nlp = spacy.load(language, disable=["tagger", "parser", "ner", "lemmatizer", "attribute_ruler"])
    except OSError:
        code = language.split("_", 1)[0]
        nlp = _spacy_blank(code, language)
        if language not in _SPACY_FALLBACK_WARNED:
            _SPACY_FALLBACK_WARNED.add(language)
            log.warning(
                "spaCy pipeline %r is not installed: using spacy.blank(%r), whose tokenizer has the same rules "
                "(install the pipeline with 'python -m spacy download %s' to use its own)",
                language,
                code,
                language,
            )
    return _spacy_tokens(nlp.tokenizer)


def _spacy_blank(code: str, requested: str):
    import spacy

    try:
        return spacy.blank(code)
    except ImportError:
        if code == requested:
            raise ArgumentError(f"spaCy has no language {code!r}; use a code such as 'en' or 'de'") from None
        raise ArgumentError(
            f"spaCy pipeline {requested!r} is not installed and {code!r} is not a spaCy language; install it with "
            f"'python -m spacy download {requested}' or use a language code such as 'en'"
        ) from None


def _spacy_tokens(tokenizer) -> TokenizeFn:
    return lambda text: [token.text for token in tokenizer(text)]


def _has_punkt(language: str) -> bool:
    import nltk

    for resource in (f"tokenizers/punkt_tab/{language}/", f"tokenizers/punkt/{language}.pickle"):
        try:
            nltk.data.find(resource)
            return True
        except LookupError:
            continue
    return False


_NLTK_LANGUAGES = {"en": "english", "de": "german", "fr": "french", "es": "spanish", "it": "italian"}


def _nltk(language: str = "en") -> TokenizeFn:
    """NLTK's ``word_tokenize``; without punkt data (it cannot be downloaded offline) the same word tokenizer runs
    on the whole text as one line, which differs only in not splitting a period that ends an inner sentence."""
    import nltk

    language = _NLTK_LANGUAGES.get(language, language)
    preserve_line = not _has_punkt(language)
    return lambda text: nltk.word_tokenize(text, language=language, preserve_line=preserve_line)


def _toktok() -> TokenizeFn:
    from nltk.tokenize import ToktokTokenizer

    return ToktokTokenizer().tokenize


def _tweet(lower: bool = False) -> TokenizeFn:
    from nltk.tokenize import TweetTokenizer

    return TweetTokenizer(preserve_case=not lower).tokenize


def _moses(language: str = "en") -> TokenizeFn:
    from sacremoses import MosesTokenizer

    return MosesTokenizer(lang=language).tokenize


def _revtok(decap: bool = False) -> TokenizeFn:
    import revtok

    return lambda text: revtok.tokenize(text, decap=decap)


@dataclass(frozen=True)
class _Entry:
    build: Callable[..., TokenizeFn]
    takes_language: bool
    summary: str
    requires: str | None = None  # an optional package the tokenizer needs


_REGISTRY: dict[str, _Entry] = {
    "whitespace": _Entry(lambda: whitespace, False, "str.split on runs of whitespace"),
    "basic_english": _Entry(lambda: basic_english, False, "lower-case, split off punctuation (torchtext's)"),
    "regex": _Entry(_regex, False, r"re.findall with a pattern (default \w+|[^\w\s]); options: pattern, lower"),
    "spacy": _Entry(_spacy, True, "spaCy rule-based tokenizer (blank pipeline, or an installed model name)"),
    "nltk": _Entry(_nltk, True, "NLTK word_tokenize (uses punkt sentence splitting when its data is installed)"),
    "toktok": _Entry(_toktok, False, "NLTK Toktok tokenizer"),
    "tweet": _Entry(_tweet, False, "NLTK TweetTokenizer (keeps emoticons, @handles, #tags); option: lower"),
    "char": _Entry(lambda: char, False, "one token per character"),
    "moses": _Entry(_moses, True, "Moses tokenizer (legacy torchtext's; needs the sacremoses package)", "sacremoses"),
    "revtok": _Entry(_revtok, False, "revtok reversible tokenizer (legacy torchtext's; needs revtok)", "revtok"),
    "subword": _Entry(
        lambda: _revtok(decap=True), False, "revtok caps-aware tokenizer (legacy's 'subword'; needs revtok)", "revtok"
    ),
}
_ALIASES = {"split": "whitespace", "str.split": "whitespace", "basic": "basic_english"}


def available_tokenizers(include_missing: bool = False) -> dict[str, str]:
    """Return ``{name: one-line description}`` for every named tokenizer that works here.

    Args:
        include_missing: also list the tokenizers whose optional package is not installed (``moses`` without
            ``sacremoses``, ...).
    """
    return {
        name: entry.summary
        for name, entry in _REGISTRY.items()
        if include_missing or entry.requires is None or importlib.util.find_spec(entry.requires) is not None
    }


class Tokenizer:
    """A named tokenizer: call it with a string to get its tokens.

    It is built lazily on first use and pickles as ``(name, language, options)``, so heavy state (a spaCy
    pipeline) is never serialised.

    Args:
        name: a registered name (see :func:`available_tokenizers`).
        language: language code (``"en"``) or, for spaCy, an installed model name; used by spacy and nltk.
        **options: extra options for the tokenizer (``pattern`` and ``lower`` for regex, ``lower`` for tweet).
    """

    def __init__(self, name: str, language: str = "en", **options):
        canonical = _ALIASES.get(name, name)
        if canonical not in _REGISTRY:
            valid = ", ".join(sorted(_REGISTRY))
            raise ArgumentError(f"unknown tokenizer {name!r}; choose one of: {valid} (or pass any callable)")
        if canonical == "basic_english" and language not in ("en", None):
            raise ArgumentError(f"basic_english is only available for English (en), not {language!r}")
        requires = _REGISTRY[canonical].requires
        if requires is not None and importlib.util.find_spec(requires) is None:
            raise TextclsError(
                f"tokenizer {name!r} needs the {requires} package, which is not installed: pip install {requires} "
                f"(or choose another tokenizer, e.g. spacy, toktok, basic_english)"
            )
        self.name = canonical
        self.language = language
        self.options = options
        self._fn: TokenizeFn | None = None

    def _build(self) -> TokenizeFn:
        entry = _REGISTRY[self.name]
        kwargs = dict(self.options)
        if entry.takes_language:
            kwargs["language"] = self.language
        try:
            return entry.build(**kwargs)
        except TypeError as exc:
            raise ArgumentError(f"bad options for tokenizer {self.name!r}: {exc}") from None

    def __call__(self, text: str) -> list[str]:
        if self._fn is None:
            self._fn = self._build()
        return self._fn(text)

    def batch(self, texts: Iterable[str]) -> list[list[str]]:
        """Tokenize many texts."""
        if self._fn is None:
            self._fn = self._build()
        fn = self._fn
        return [fn(text) for text in texts]

    def to_config(self) -> dict:
        """A JSON-able description from which :func:`get_tokenizer` re-creates this tokenizer."""
        return {"name": self.name, "language": self.language, **self.options}

    def __getstate__(self):
        return {"name": self.name, "language": self.language, "options": self.options}

    def __setstate__(self, state):
        self.name, self.language, self.options = state["name"], state["language"], state["options"]
        self._fn = None

    def __eq__(self, other):
        return isinstance(other, Tokenizer) and self.__getstate__() == other.__getstate__()

    def __hash__(self):
        return hash((self.name, self.language, tuple(sorted(self.options.items()))))

    def __repr__(self):
        extra = "".join(f", {k}={v!r}" for k, v in self.options.items())
        return f"Tokenizer({self.name!r}, language={self.language!r}{extra})"


def get_tokenizer(tokenizer: str | TokenizeFn | dict | None = "whitespace", language: str = "en", **options):
    """Return a tokenizer.

    Args:
        tokenizer: a registered name, a config dict from :meth:`Tokenizer.to_config`, ``None`` (whitespace, as
            legacy torchtext) or any callable (returned unchanged).
        language: language code or spaCy model name, for ``spacy`` and ``nltk``.
        **options: tokenizer options (``pattern=``/``lower=`` for ``regex``).

    Raises:
        ArgumentError: (a ``ValueError``, as in legacy) for an unknown name, listing the valid ones, or a value
            that is neither a name nor a callable.
        TextclsError: for a tokenizer whose optional package is not installed.
    """
    if tokenizer is None:
        return Tokenizer("whitespace")
    if isinstance(tokenizer, dict):
        config = dict(tokenizer)
        return Tokenizer(config.pop("name"), language=config.pop("language", language), **config)
    if isinstance(tokenizer, str):
        return Tokenizer(tokenizer, language=language, **options)
    if callable(tokenizer):
        return tokenizer
    raise ArgumentError(f"tokenizer must be a name or a callable, not {type(tokenizer).__name__}")
