"""Tokenizers: every registered name works offline, basic_english equals torchtext's regex reference, and
tokenizers pickle / round-trip through their config."""

import csv
import gzip
import importlib.util
import pickle
import re

import pytest

from textcls.errors import TextclsError
from textcls.tokenizers import Tokenizer, available_tokenizers, basic_english, get_tokenizer

NEWS = "The U.S. Federal Reserve raised rates on Tuesday, saying inflation (at 3.5%) isn't over. Stocks fell!"

# Tokens each tokenizer must produce on NEWS (exact lists where the tokenizer is ours, key tokens otherwise).
EXACT = {
    "whitespace": NEWS.split(),
    "basic_english": (
        "the u . s . federal reserve raised rates on tuesday , saying inflation ( at 3 . 5% ) isn ' t over . "
        "stocks fell !"
    ).split(),
    "regex": (
        "The U . S . Federal Reserve raised rates on Tuesday , saying inflation ( at 3 . 5 % ) isn ' t over . "
        "Stocks fell !"
    ).split(),
    "char": list(NEWS),
}
CONTAINS = {
    "spacy": ["U.S.", "Tuesday", ",", "(", "3.5", "%", ")", "is", "n't", "Stocks", "fell", "!"],
    "nltk": ["U.S.", "Tuesday", ",", "(", "3.5", "%", ")", "is", "n't", "fell", "!"],
    "toktok": ["U.S.", "Tuesday", ",", "(", "3.5", "%", ")", "fell", "!"],
    "tweet": ["Tuesday", ",", "(", "3.5", "%", ")", "isn't", "over", ".", "fell", "!"],
}


# torchtext's reference basic_english: regex substitutions in order, after lower().
_TT_PATTERNS = [r"\'", r"\"", r"\.", r"<br \/>", r",", r"\(", r"\)", r"\!", r"\?", r"\;", r"\:", r"\s+"]
_TT_REPLACEMENTS = [" '  ", "", " . ", " ", " , ", " ( ", " ) ", " ! ", " ? ", " ", " ", " "]
_TT_RULES = [(re.compile(p), r) for p, r in zip(_TT_PATTERNS, _TT_REPLACEMENTS)]


def torchtext_basic_english(line: str) -> list[str]:
    line = line.lower()
    for pattern, replacement in _TT_RULES:
        line = pattern.sub(replacement, line)
    return line.split()


# legacy torchtext's tokenizers whose packages are not dependencies (a clear error names the package to install)
NEEDS_PACKAGE = {"moses": "sacremoses", "revtok": "revtok", "subword": "revtok"}


def test_every_registered_name_is_covered_here():
    assert set(available_tokenizers(include_missing=True)) == set(EXACT) | set(CONTAINS) | set(NEEDS_PACKAGE)
    assert all(isinstance(summary, str) and summary for summary in available_tokenizers(True).values())
    installed = {name for name, package in NEEDS_PACKAGE.items() if importlib.util.find_spec(package) is not None}
    assert set(available_tokenizers()) == set(EXACT) | set(CONTAINS) | installed  # only what works here


@pytest.mark.parametrize("name", sorted(EXACT))
def test_exact_tokens_on_news_sentence(name):
    assert get_tokenizer(name)(NEWS) == EXACT[name]


@pytest.mark.parametrize("name", sorted(CONTAINS))
def test_library_tokenizers_on_news_sentence(name):
    tokens = get_tokenizer(name)(NEWS)
    assert all(isinstance(t, str) and t.strip() for t in tokens)
    missing = [t for t in CONTAINS[name] if t not in tokens]
    assert not missing, f"{name} gave {tokens}"


@pytest.mark.parametrize("alias", ["split", "str.split"])
def test_whitespace_aliases(alias):
    tok = get_tokenizer(alias)
    assert tok.name == "whitespace"
    assert tok("a  b\tc\n") == ["a", "b", "c"]


def test_none_is_whitespace_and_callable_is_returned_unchanged():
    assert get_tokenizer(None) == Tokenizer("whitespace")
    assert get_tokenizer(None)("Hello,  World\n") == ["Hello,", "World"]

    def fn(text):
        return text.split("-")

    assert get_tokenizer(fn) is fn


def _texts_basic_english_and_torchtext_split_differently(path, columns=slice(1, 3)) -> list[str]:
    """The fields ``columns`` of every row of the gzipped csv ``path`` that the two basic_english split apart."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        texts = [text for row in csv.reader(f) for text in row[columns]]
    assert texts
    return [text for text in texts if basic_english(text) != torchtext_basic_english(text)]


def test_basic_english_matches_torchtext_on_ag_news(shared_data):
    path = shared_data / "ag_news" / "test.csv.gz"
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        assert sum(1 for _ in csv.reader(f)) == 7600
    mismatches = _texts_basic_english_and_torchtext_split_differently(path)
    assert not mismatches, mismatches[:3]


def test_basic_english_matches_torchtext_on_generated_news(generated):
    """The same on the generated corpus: titles, descriptions, and the book's contents (with '&gt' and unquoted
    commas)."""
    mismatches = _texts_basic_english_and_torchtext_split_differently(generated.ag_news)
    mismatches += _texts_basic_english_and_torchtext_split_differently(generated.book / "train.csv.gz", slice(1, None))
    assert not mismatches, mismatches[:3]


@pytest.mark.parametrize(
    "text",
    [
        "Great movie!<br /><br />Loved it.",
        "A<BR />B",
        "He said \"no\" -- 'really'?",
        "it's  the\u00a0end\u2003of\u3000the\tline\n",
        "semi;colon:here, (paren) end.",
        "İstanbul ÀÉÎ",
        "",
        "   ",
        '<br "/>',  # the quote is removed before torchtext's "<br />" rule runs
        '<br /">',
    ],
)
def test_basic_english_matches_torchtext_on_tricky_strings(text):
    assert basic_english(text) == torchtext_basic_english(text)


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError) as info:  # an ArgumentError: legacy raised ValueError
        get_tokenizer("no_such_tokenizer")
    assert isinstance(info.value, TextclsError)
    message = str(info.value)
    assert "no_such_tokenizer" in message
    for name in available_tokenizers(include_missing=True):
        assert name in message


@pytest.mark.parametrize("name", sorted(NEEDS_PACKAGE))
def test_tokenizer_whose_package_is_missing_names_the_package(name):
    package = NEEDS_PACKAGE[name]
    if importlib.util.find_spec(package) is not None:
        pytest.skip(f"{package} is installed")
    with pytest.raises(TextclsError, match=f"needs the {package} package.*pip install {package}"):
        get_tokenizer(name)


def test_get_tokenizer_rejects_non_callable():
    with pytest.raises(ValueError):
        get_tokenizer(42)


def test_basic_english_is_english_only_like_legacy():
    with pytest.raises(ValueError, match="only available for English"):
        get_tokenizer("basic_english", language="de")


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("whitespace", {}),
        ("basic_english", {}),
        ("regex", {"pattern": r"[a-z]+", "lower": True}),
        ("spacy", {}),
        ("nltk", {}),
        ("toktok", {}),
        ("tweet", {"lower": True}),
        ("char", {}),
    ],
)
def test_pickle_and_config_round_trip(name, options):
    tok = get_tokenizer(name, **options)
    expected = tok(NEWS)  # builds the underlying tokenizer (spaCy pipeline etc.) first
    blob = pickle.dumps(tok)
    assert len(blob) < 1000  # pickled by name and options, never by loaded state
    restored = pickle.loads(blob)
    assert restored == tok and hash(restored) == hash(tok)
    assert restored(NEWS) == expected

    config = tok.to_config()
    assert config["name"] == name
    rebuilt = get_tokenizer(config)
    assert rebuilt == tok
    assert rebuilt(NEWS) == expected
    assert config == tok.to_config()  # get_tokenizer did not consume the caller's dict


def test_spacy_language_is_kept_through_pickle():
    tok = get_tokenizer("spacy", language="de")
    text = "Das ist z.B. nicht gut, oder?"
    assert "z.B." in tok(text)
    restored = pickle.loads(pickle.dumps(tok))
    assert restored.language == "de"
    assert restored(text) == tok(text)


def test_spacy_missing_model_of_an_unknown_language_is_a_clear_error():
    # an installed-nowhere pipeline of a spaCy language falls back to spacy.blank (tests/legacy/test_spacy_fallback.py)
    with pytest.raises(TextclsError, match="not installed and 'zz' is not a spaCy language"):
        get_tokenizer("spacy", language="zz_no_such_model_sm")("text")


def test_regex_custom_pattern_and_lower():
    assert get_tokenizer("regex")("Hi, there!") == ["Hi", ",", "there", "!"]
    assert get_tokenizer("regex", pattern=r"[A-Za-z]+")("Hello World 42!") == ["Hello", "World"]
    assert get_tokenizer("regex", pattern=r"[a-z]+", lower=True)("Hello World 42!") == ["hello", "world"]
    assert get_tokenizer("regex", pattern=r"\d+")("a1b22c333") == ["1", "22", "333"]


def test_regex_invalid_pattern_and_bad_options_raise_textcls_error():
    with pytest.raises(TextclsError, match="pattern"):
        get_tokenizer("regex", pattern="(unclosed")("x")
    with pytest.raises(TextclsError, match="bad options"):
        get_tokenizer("whitespace", lower=True)("x")


def test_nltk_works_without_punkt_data(monkeypatch, tmp_path):
    import nltk

    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])  # an empty data dir: no punkt anywhere
    tokens = Tokenizer("nltk")("Markets rallied on Monday. Investors weren't worried, analysts said.")
    assert tokens[:2] == ["Markets", "rallied"]
    assert "Investors" in tokens and "were" in tokens and "n't" in tokens and "," in tokens
    assert tokens[-1] == "."
    assert "Monday." in tokens  # without punkt the inner sentence's final period stays attached


def test_tweet_keeps_handles_hashtags_and_emoticons():
    tokens = get_tokenizer("tweet")("@Reuters Oil prices up #markets :)")
    assert tokens == ["@Reuters", "Oil", "prices", "up", "#markets", ":)"]
    assert get_tokenizer("tweet", lower=True)("Oil UP")[:2] == ["oil", "up"]


def test_batch_equals_per_text_calls():
    tok = get_tokenizer("basic_english")
    texts = [NEWS, "Second, shorter one.", ""]
    assert tok.batch(texts) == [tok(t) for t in texts]
