"""Attaching vectors to a vocabulary: Vocab.load_vectors / set_vectors / Field.build_vocab(vectors=...), the
unk_init choices, the zero <pad> row, concatenated vectors, the coverage report (on AG News with the real GloVe
file) and the warning when nothing matches."""

import gzip
import logging
from collections import Counter

import numpy as np
import pytest
import torch

import textcls.embeddings
import textcls.vocab
from textcls.data.columns import choose_columns, read_dataset
from textcls.data.fields import Field, LabelField
from textcls.embeddings import Coverage, Vectors, load_vectors
from textcls.errors import TextclsError
from textcls.vocab import Vocab

AG_COLUMNS = ["label", "title", "description"]


@pytest.fixture(autouse=True)
def isolated_caches(tmp_path, monkeypatch):
    """Nothing goes to ~/.cache: the vectors cache and the named-vectors directory live under tmp_path."""
    monkeypatch.setenv("TEXTCLS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TEXTCLS_VECTORS_DIR", str(tmp_path / "vectors_dir"))
    return tmp_path / "cache" / "vectors"


def _write_vectors(path, words, matrix):
    lines = [word + " " + " ".join(repr(float(x)) for x in row) for word, row in zip(words, matrix)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


FOUND = ["the", "cat", "sat", "mat"]


@pytest.fixture
def small(tmp_path):
    """A 4-d vectors file for ``FOUND`` and a vocabulary that also holds two words without a vector."""
    matrix = np.random.default_rng(0).normal(scale=0.5, size=(len(FOUND), 4)).astype(np.float32)
    path = _write_vectors(tmp_path / "small.txt", FOUND, matrix)
    counter = Counter({"the": 5, "cat": 3, "sat": 2, "zebra": 2, "mat": 1, "unicorn": 1})
    return path, dict(zip(FOUND, matrix)), counter


def _row(vocab, token):
    return vocab.vectors[vocab.stoi[token]]


# --- unk_init, <pad>, found words ------------------------------------------------------------------------------


@pytest.mark.parametrize("unk_init", [None, "zeros", "normal", "uniform", torch.Tensor.normal_])
def test_found_words_get_exactly_their_vectors_and_pad_is_zero(small, unk_init):
    path, expected, counter = small
    vocab = Vocab(counter)
    torch.manual_seed(0)
    coverage = vocab.load_vectors(str(path), unk_init=unk_init)
    assert vocab.vectors.shape == (len(vocab), 4)
    for word, vector in expected.items():
        assert np.array_equal(_row(vocab, word).numpy(), vector), word
    assert torch.count_nonzero(_row(vocab, "<pad>")) == 0
    missing = torch.stack([_row(vocab, token) for token in ("<unk>", "zebra", "unicorn")])
    if unk_init in (None, "zeros"):
        assert torch.count_nonzero(missing) == 0
    else:
        assert torch.count_nonzero(missing) == missing.numel()
        assert not torch.equal(missing[1], missing[2])  # one draw per row, not one row copied
    assert (coverage.types_found, coverage.types_total) == (4, 6)
    assert (coverage.tokens_found, coverage.tokens_total) == (11, 14)


def test_pad_row_is_zero_even_when_the_file_has_a_pad_vector(tmp_path):
    path = _write_vectors(tmp_path / "v.txt", ["<pad>", "cat"], [[1.0, 2.0], [3.0, 4.0]])
    vocab = Vocab(Counter({"cat": 1}))
    vocab.load_vectors(str(path), unk_init="normal")
    assert _row(vocab, "<pad>").tolist() == [0.0, 0.0]
    assert _row(vocab, "cat").tolist() == [3.0, 4.0]


@pytest.mark.parametrize("unk_init", ["normal", "uniform"])
def test_random_unk_init_has_the_scale_of_the_found_vectors(tmp_path, unk_init):
    rng = np.random.default_rng(1)
    found = [f"w{i}" for i in range(300)]
    matrix = rng.normal(scale=0.3, size=(300, 20)).astype(np.float32)
    path = _write_vectors(tmp_path / "v.txt", found, matrix)
    counter = Counter({word: 2 for word in found} | {f"unseen{i}": 1 for i in range(2000)})
    vocab = Vocab(counter)
    torch.manual_seed(0)
    vocab.load_vectors(str(path), unk_init=unk_init)
    unseen = vocab.vectors[[vocab.stoi[f"unseen{i}"] for i in range(2000)]]
    sigma = float(matrix.std())
    assert float(unseen.std()) == pytest.approx(sigma, rel=0.05)
    assert abs(float(unseen.mean())) < 0.02
    if unk_init == "uniform":
        assert float(unseen.abs().max()) <= sigma * 3**0.5 * 1.001  # U(-√3σ, √3σ)


def test_callable_unk_init_is_applied_to_each_row_like_legacy_torchtext(small):
    path, _, counter = small
    vocab = Vocab(Counter(counter) | Counter({f"unseen{i}": 1 for i in range(500)}))
    torch.manual_seed(0)
    vocab.load_vectors(str(path), unk_init=torch.Tensor.normal_)
    unseen = vocab.vectors[[vocab.stoi[f"unseen{i}"] for i in range(500)]]
    assert float(unseen.std()) == pytest.approx(1.0, rel=0.1)  # N(0, 1), not the found vectors' scale


def test_unknown_unk_init_name_is_an_error(small):
    path, _, counter = small
    with pytest.raises(TextclsError, match="unk_init must be one of zeros, normal, uniform"):
        Vocab(counter).load_vectors(str(path), unk_init="gaussian")


def test_vocab_constructor_and_build_vocab_take_vectors(small, tmp_path):
    path, expected, counter = small
    vocab = Vocab(counter, vectors=str(path), unk_init="normal", vectors_cache=str(tmp_path / "legacy_cache"))
    assert np.array_equal(_row(vocab, "cat").numpy(), expected["cat"])
    assert any((tmp_path / "legacy_cache").glob("*.npy"))  # vectors_cache is where the cache goes

    field = Field()
    built = field.build_vocab([["the", "cat", "zebra"], ["cat"]], vectors=str(path))
    assert built is field.vocab and built.itos == ["<unk>", "<pad>", "cat", "the", "zebra"]
    assert np.array_equal(_row(built, "the").numpy(), expected["the"])
    assert torch.count_nonzero(_row(built, "zebra")) == 0


def test_vectors_object_and_path_give_the_same_rows(small):
    path, _, counter = small
    by_path, by_object = Vocab(counter), Vocab(counter)
    by_path.load_vectors(str(path))
    by_object.load_vectors(load_vectors(path, download=False))
    assert torch.equal(by_path.vectors, by_object.vectors)


def test_list_of_two_vectors_concatenates_dimensions(small, tmp_path):
    path, expected, counter = small
    other = _write_vectors(tmp_path / "other.txt", ["cat", "zebra"], [[10.0, 20.0], [30.0, 40.0]])
    vocab = Vocab(counter)
    coverage = vocab.load_vectors([str(path), load_vectors(other, download=False)])
    assert vocab.vectors.shape == (len(vocab), 6)
    assert coverage.dim == 6
    assert np.array_equal(_row(vocab, "cat")[:4].numpy(), expected["cat"])
    assert _row(vocab, "cat")[4:].tolist() == [10.0, 20.0]
    assert np.array_equal(_row(vocab, "the")[:4].numpy(), expected["the"])
    assert _row(vocab, "the")[4:].tolist() == [0.0, 0.0]  # found in the first file only
    assert _row(vocab, "zebra").tolist() == [0.0, 0.0, 0.0, 0.0, 30.0, 40.0]
    assert torch.count_nonzero(_row(vocab, "<pad>")) == 0
    assert coverage.types_found == 5  # the, cat, sat, mat + zebra


def test_legacy_set_vectors_from_stoi_and_tensor(small):
    _, _, counter = small
    vocab = Vocab(counter)
    table = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])
    stoi = {"cat": 0, "the": 2, "<pad>": 1, "not-in-vocab": 1}
    coverage = vocab.set_vectors(stoi, table, 3)
    assert _row(vocab, "cat").tolist() == [1.0, 2.0, 3.0]
    assert _row(vocab, "the").tolist() == [7.0, 8.0, 9.0]
    assert _row(vocab, "<pad>").tolist() == [0.0, 0.0, 0.0]
    assert _row(vocab, "zebra").tolist() == [0.0, 0.0, 0.0]
    assert (coverage.types_found, coverage.types_total, coverage.dim) == (2, 6, 3)


def test_lower_fallback_finds_cased_tokens_through_their_lower_form(small):
    path, expected, _ = small
    vocab = Vocab(Counter({"The": 4, "Cat": 1, "zebra": 1}))
    assert vocab.load_vectors(str(path)).types_found == 0
    coverage = vocab.load_vectors(str(path), lower_fallback=True)
    assert (coverage.types_found, coverage.lower_fallback) == (2, 2)
    assert np.array_equal(_row(vocab, "The").numpy(), expected["the"])
    assert "through their lower-case form" in str(coverage)


def test_coverage_report_numbers_and_text():
    coverage = Coverage(types_found=3, types_total=4, tokens_found=90, tokens_total=100, lower_fallback=0, dim=50)
    assert coverage.type_rate == 0.75 and coverage.token_rate == 0.9
    assert str(coverage) == "vectors (50d) cover 75.0% of 4 vocabulary types and 90.0% of 100 corpus tokens"
    assert Coverage(0, 0, 0, 0, 0, 5).type_rate == 0.0


def _zero_coverage_warnings(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "textcls" and r.levelno == logging.WARNING]


def test_zero_overlap_warns_about_lower_casing_language_and_file(small, tmp_path, caplog):
    _, _, counter = small
    german = _write_vectors(tmp_path / "german.txt", ["der", "katze"], [[1.0, 2.0], [3.0, 4.0]])
    with caplog.at_level(logging.WARNING, logger="textcls"):
        coverage = Vocab(counter).load_vectors(str(german))
    assert coverage.types_found == 0
    warnings = _zero_coverage_warnings(caplog)
    assert len(warnings) == 1, warnings
    assert "lower-cas" in warnings[0] and "language" in warnings[0] and "right vectors file" in warnings[0]


def test_zero_overlap_warning_reads_zero_percent(small, tmp_path, caplog):
    _, _, counter = small
    german = _write_vectors(tmp_path / "german.txt", ["der", "katze"], [[1.0, 2.0], [3.0, 4.0]])
    with caplog.at_level(logging.WARNING, logger="textcls"):
        Vocab(counter).load_vectors(str(german))
    (warning,) = _zero_coverage_warnings(caplog)
    assert "cover 0% of" in warning, warning


def test_no_warning_when_some_words_match(small, caplog):
    path, _, counter = small
    with caplog.at_level(logging.WARNING, logger="textcls"):
        Vocab(counter).load_vectors(str(path))
    assert _zero_coverage_warnings(caplog) == []


# --- Vectors lookups and the legacy names ----------------------------------------------------------------------


def test_vectors_lookup_unknown_uses_unk_init_and_lower_case_backup(small):
    path, expected, _ = small
    vectors = Vectors(str(path), unk_init=torch.Tensor.normal_, download=False)
    assert np.array_equal(vectors["cat"].numpy(), expected["cat"])
    assert vectors.lookup("zebra") is None
    torch.manual_seed(0)
    assert torch.count_nonzero(vectors["zebra"]) == 4
    stacked = vectors.get_vecs_by_tokens(["Cat", "the"], lower_case_backup=True)
    assert np.array_equal(stacked[0].numpy(), expected["cat"])
    assert np.array_equal(vectors.get_vecs_by_tokens("the").numpy(), expected["the"])


def test_legacy_names_are_importable_from_textcls_vocab():
    from textcls.vocab import CharNGram, FastText, GloVe, pretrained_aliases
    from textcls.vocab import Vectors as LegacyVectors

    assert LegacyVectors is textcls.embeddings.Vectors
    assert GloVe is textcls.embeddings.GloVe and issubclass(GloVe, LegacyVectors)
    assert FastText is textcls.embeddings.FastText and issubclass(FastText, LegacyVectors)
    assert CharNGram is textcls.embeddings.CharNGram and issubclass(CharNGram, LegacyVectors)
    assert pretrained_aliases is textcls.embeddings.pretrained_aliases and "glove.6B.100d" in pretrained_aliases
    with pytest.raises(AttributeError):
        textcls.vocab.NoSuchVectors  # noqa: B018


# --- an AG-News-like corpus with GloVe-format vectors (generated: tests/generated.py) ---------------------------
# The vectors file keeps two words in three of the generated one, so coverage is partial and its arithmetic shows.


@pytest.fixture(scope="module")
def partial_glove(generated, tmp_path_factory):
    """``(path, words)``: the generated GloVe file without every third word."""
    with gzip.open(generated.glove, "rt", encoding="utf-8") as handle:
        lines = [line for index, line in enumerate(handle) if index % 3 != 2]
    path = tmp_path_factory.mktemp("partial_glove") / "glove.txt"
    path.write_text("".join(lines), encoding="utf-8")
    return str(path), {line.split(" ", 1)[0] for line in lines}


@pytest.fixture(scope="module")
def ag_news_choice(generated):
    path = generated.ag_news
    return path, choose_columns(path, columns=AG_COLUMNS)


def _ag_news_vocab(ag_news_choice, **field_options):
    path, choice = ag_news_choice
    text = Field(**field_options)
    dataset = read_dataset(path, choice, text, LabelField())
    assert len(dataset) == 1200
    return text, dataset


def _expected_coverage(dataset, words, lower_fallback=False):
    """``(type rate, token rate, types found only lower-cased)`` counted from the dataset's tokens."""
    counts = Counter(token for example in dataset.examples for token in example.text)
    exact = {token for token in counts if token in words}
    found = exact | ({token for token in counts if token.lower() in words} if lower_fallback else set())
    return len(found) / len(counts), sum(counts[t] for t in found) / sum(counts.values()), len(found - exact)


def test_glove_coverage_of_ag_news(ag_news_choice, partial_glove):
    glove_path, words = partial_glove
    assert ag_news_choice[1].text_columns == ["title", "description"]
    text, dataset = _ag_news_vocab(ag_news_choice, tokenize="basic_english")
    vocab = text.build_vocab(dataset, vectors=glove_path)
    assert vocab.vectors.shape == (len(vocab), 32)
    from_build = vocab.vectors.clone()

    coverage = vocab.load_vectors(glove_path)
    assert torch.equal(vocab.vectors, from_build)
    type_rate, token_rate, _ = _expected_coverage(dataset, words)
    assert 0.5 < coverage.type_rate < 0.8 and coverage.type_rate == pytest.approx(type_rate), coverage
    assert 0.5 < coverage.token_rate < 0.9 and coverage.token_rate == pytest.approx(token_rate), coverage
    assert coverage.types_total == len(vocab) - 2 and coverage.dim == 32

    glove = load_vectors(glove_path, restrict_to=["oil", "the"], download=False)
    for word in ("oil", "the"):
        assert torch.equal(_row(vocab, word), glove[word])
    missing = next(token for token in vocab.itos[2:] if token not in words)
    assert torch.count_nonzero(_row(vocab, missing)) == 0
    assert torch.count_nonzero(_row(vocab, "<pad>")) == 0


def test_cased_vocabulary_has_lower_coverage_that_lower_fallback_raises(ag_news_choice, partial_glove):
    glove_path, words = partial_glove
    lower_text, lower_dataset = _ag_news_vocab(ag_news_choice, tokenize="basic_english")
    lowered = lower_text.build_vocab(lower_dataset).load_vectors(glove_path)
    cased_text, cased_dataset = _ag_news_vocab(ag_news_choice, tokenize="whitespace")
    cased_vocab = cased_text.build_vocab(cased_dataset)
    capitalized = sorted(t for t in cased_vocab.itos if t[0].isupper() and t not in words and t.lower() in words)
    assert capitalized, "titles and descriptions begin with a capital"

    cased = cased_vocab.load_vectors(glove_path)
    with_fallback = cased_vocab.load_vectors(glove_path, lower_fallback=True)
    assert (cased.type_rate, cased.token_rate) == pytest.approx(_expected_coverage(cased_dataset, words)[:2])
    type_rate, token_rate, lower_only = _expected_coverage(cased_dataset, words, lower_fallback=True)
    assert (with_fallback.type_rate, with_fallback.token_rate) == pytest.approx((type_rate, token_rate))
    assert cased.type_rate < lowered.type_rate - 0.2, (cased, lowered)
    assert cased.token_rate < lowered.token_rate - 0.1, (cased, lowered)
    assert with_fallback.type_rate > cased.type_rate + 0.1, (with_fallback, cased)
    assert with_fallback.token_rate > cased.token_rate + 0.05, (with_fallback, cased)
    assert with_fallback.lower_fallback == lower_only == len(capitalized) > 0
    glove = load_vectors(glove_path, restrict_to=[capitalized[0].lower()], download=False)
    assert torch.equal(_row(cased_vocab, capitalized[0]), glove[capitalized[0].lower()])
