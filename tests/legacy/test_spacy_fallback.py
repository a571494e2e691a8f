"""Legacy scripts name spaCy pipelines (``Field(tokenize="spacy", tokenizer_language="en_core_web_sm")``,
``get_tokenizer("spacy", language="de_core_news_sm")``, spaCy 2's ``"en"``). Only the tokenizer is used, and its rules
come with the language, so a pipeline that is not installed falls back to ``spacy.blank(<its language>)`` with one
warning per name; a name whose language spaCy does not have is a one-line error."""

import logging
import pickle

import pytest
import spacy

from textcls import tokenizers
from textcls.data import Field
from textcls.data.utils import get_tokenizer
from textcls.errors import TextclsError

TEXT = "Mr. O'Neill isn't in the U.S. today -- he's (reportedly) at e-mail@example.com, 3.5km away!"
GERMAN = "Das ist z.B. nicht gut, oder? Die U-Bahn fährt um 8.15 Uhr ab."


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch):
    """Each test sees the first use of a pipeline name in this process."""
    monkeypatch.setattr(tokenizers, "_SPACY_FALLBACK_WARNED", set())


@pytest.fixture
def not_installed():
    for name in ("en_core_web_sm", "de_core_news_sm"):
        if spacy.util.is_package(name):
            pytest.skip(f"{name} is installed here: no fallback to test")


def _blank_tokens(language, text):
    return [token.text for token in spacy.blank(language).tokenizer(text)]


def _fallback_warnings(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "textcls" and "is not installed" in r.getMessage()]


def test_field_with_a_missing_english_pipeline_tokenizes_like_blank_english(not_installed, caplog):
    with caplog.at_level(logging.WARNING, logger="textcls"):
        field = Field(tokenize="spacy", tokenizer_language="en_core_web_sm")
        tokens = field.preprocess(TEXT)
    assert tokens == _blank_tokens("en", TEXT)
    assert "isn't" not in tokens and "n't" in tokens  # spaCy's English rules, not a whitespace split
    (warning,) = _fallback_warnings(caplog)
    assert "en_core_web_sm" in warning and "spacy.blank('en')" in warning


def test_the_warning_is_given_once_per_pipeline_name(not_installed, caplog):
    with caplog.at_level(logging.WARNING, logger="textcls"):
        for _ in range(3):
            Field(tokenize="spacy", tokenizer_language="en_core_web_sm").preprocess(TEXT)
        first = get_tokenizer("spacy", language="en_core_web_sm")
        restored = pickle.loads(pickle.dumps(first))
        assert restored(TEXT) == first(TEXT)
        get_tokenizer("spacy", language="de_core_news_sm")(GERMAN)
    warnings = _fallback_warnings(caplog)
    assert len(warnings) == 2, warnings
    assert "en_core_web_sm" in warnings[0] and "de_core_news_sm" in warnings[1]


def test_legacy_get_tokenizer_with_a_missing_german_pipeline_uses_blank_german(not_installed):
    tokens = get_tokenizer("spacy", language="de_core_news_sm")(GERMAN)
    assert tokens == _blank_tokens("de", GERMAN)
    assert "z.B." in tokens  # a German tokenizer exception


def test_spacy2_language_code_is_the_blank_pipeline_without_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="textcls"):
        tokens = get_tokenizer("spacy", language="en")(TEXT)
        field_tokens = Field(tokenize="spacy").preprocess(TEXT)  # legacy's default tokenizer_language="en"
    assert tokens == field_tokens == _blank_tokens("en", TEXT)
    assert _fallback_warnings(caplog) == []


def test_pipeline_of_a_language_spacy_lacks_is_a_one_line_error():
    with pytest.raises(TextclsError) as error:
        Field(tokenize="spacy", tokenizer_language="qq_core_web_sm").preprocess(TEXT)
    message = str(error.value)
    assert "qq_core_web_sm" in message and "'qq' is not a spaCy language" in message and "\n" not in message
