"""Word vectors trained with gensim (word2vec and fastText) on the training split of a generated AG-News-like
corpus (``tests/generated.py``: four classes told apart by topical words among shared filler words): shape, full
coverage of the split's vocabulary, topical neighbours, reproducibility with a seed, fastText vectors for unseen
words, and the save()/Vectors.load() round trip (no pickle).

The training split is the first 800 of the corpus's 1,200 rows (as the book's split is the first 5,000 rows of
AG News's test.csv.gz); both methods train on it in a few seconds.
"""

import csv
import gzip
import io
from collections import Counter
from itertools import chain

import numpy as np
import pytest
import torch
from generated import NEWS_CLASSES

from textcls.data.columns import choose_columns, read_dataset
from textcls.data.dataset import Dataset
from textcls.data.fields import Field, LabelField
from textcls.embeddings import Vectors, train_vectors
from textcls.errors import TextclsError
from textcls.tokenizers import basic_english
from textcls.vocab import Vocab

TOTAL_ROWS = 1200
TRAIN_ROWS = 800
FASTTEXT_TEXTS = TRAIN_ROWS
FEW_TEXTS = 60  # too few texts to hold every word of the corpus
OPTIONS = dict(dim=50, epochs=20, seed=0, workers=1)
CLASS_WORDS = {name: set(words.split()) for name, words in NEWS_CLASSES.values()}
OIL_WORDS = CLASS_WORDS["Business"]
SPORTS_WORDS = CLASS_WORDS["Sports"]


@pytest.fixture(autouse=True)
def isolated_caches(tmp_path, monkeypatch):
    """Nothing goes to ~/.cache: the vectors cache and the named-vectors directory live under tmp_path."""
    monkeypatch.setenv("TEXTCLS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TEXTCLS_VECTORS_DIR", str(tmp_path / "vectors_dir"))


@pytest.fixture(scope="module")
def ag_news(generated):
    """``(TEXT field, all 1,200 rows, the training split)``; title + description tokenized with basic_english."""
    path = generated.ag_news
    text = Field(tokenize="basic_english")
    dataset = read_dataset(path, choose_columns(path, columns=["label", "title", "description"]), text, LabelField())
    train = Dataset(dataset.examples[:TRAIN_ROWS], dataset.fields)
    return text, dataset, train


@pytest.fixture(scope="module")
def train_texts(ag_news):
    return list(ag_news[2].text)


@pytest.fixture(scope="module")
def word2vec(train_texts):
    return train_vectors(train_texts, method="word2vec", **OPTIONS)


@pytest.fixture(scope="module")
def fasttext(train_texts):
    return train_vectors(train_texts[:FASTTEXT_TEXTS], method="fasttext", **OPTIONS)


def _neighbours(vectors, word, topn=10):
    return [other for other, _ in vectors.most_similar(word, topn=topn)]


def _cosine(a, b):
    return float(torch.nn.functional.cosine_similarity(a, b, dim=0))


def test_training_split_is_the_first_rows(generated, ag_news, train_texts):
    rows = list(csv.reader(io.StringIO(gzip.decompress(generated.ag_news.read_bytes()).decode("utf-8"))))
    assert len(ag_news[1]) == len(rows) == TOTAL_ROWS and len(train_texts) == TRAIN_ROWS
    _, title, description = rows[0]
    assert train_texts[0][:5] == basic_english(f"{title} {description}")[:5]
    assert Counter(ag_news[2].label) == Counter(example.label for example in ag_news[1].examples[:TRAIN_ROWS])
    assert Counter(ag_news[2].label) == Counter(label for label, _, _ in rows[:TRAIN_ROWS])


def test_word2vec_shape_is_one_row_per_word_of_the_split(word2vec, train_texts):
    types = set(chain.from_iterable(train_texts))
    assert word2vec.vectors.shape == (len(types), 50)
    assert set(word2vec.itos) == types
    assert word2vec.subwords is None
    assert word2vec.lookup("oilprices") is None  # word2vec has nothing for unseen words
    assert torch.count_nonzero(word2vec["oilprices"]) == 0


def test_trained_vectors_cover_the_whole_vocabulary_of_the_split(word2vec, ag_news):
    text, _, train = ag_news
    vocab = text.build_vocab(train)
    coverage = vocab.load_vectors(word2vec)
    assert coverage.type_rate == 1.0 and coverage.token_rate == 1.0, coverage
    assert coverage.types_total == len(word2vec) == len(vocab) - 2
    assert torch.equal(vocab.vectors[vocab.stoi["oil"]], word2vec["oil"])
    assert torch.count_nonzero(vocab.vectors[vocab.stoi["<pad>"]]) == 0


def test_word2vec_neighbours_are_topical(word2vec):
    oil = _neighbours(word2vec, "oil")
    game = _neighbours(word2vec, "football")
    assert len(OIL_WORDS & set(oil)) >= 5, oil  # seed 0: all ten are business words
    assert len(SPORTS_WORDS & set(game)) >= 5, game  # seed 0: all ten are sports words
    assert len(SPORTS_WORDS & set(oil)) <= 1, oil
    assert len(OIL_WORDS & set(game)) == 0, game


@pytest.mark.parametrize("method", ["word2vec", "fasttext"])
def test_same_seed_gives_identical_vectors(train_texts, method):
    texts, options = train_texts[:200], {**OPTIONS, "bucket": 5_000}  # a small subset: each training is cheap
    first = train_vectors(texts, method=method, **options)
    second = train_vectors(texts, method=method, **options)
    assert first.itos == second.itos
    assert torch.equal(first.vectors, second.vectors)
    if method == "fasttext":
        assert np.array_equal(first.subwords.ngrams, second.subwords.ngrams)
    else:  # the seed matters (checked for word2vec only: each fastText training costs more)
        other_seed = train_vectors(texts, method=method, **{**options, "seed": 1})
        assert other_seed.itos == first.itos
        assert not torch.equal(other_seed.vectors, first.vectors)


def test_fasttext_gives_unseen_words_a_vector_near_their_parts(fasttext, train_texts):
    seen = set(chain.from_iterable(train_texts[:FASTTEXT_TEXTS]))
    assert "oilprices" not in seen and "oilprices" not in fasttext
    assert {"oil", "prices"} <= seen
    oov = fasttext.lookup("oilprices")
    assert oov is not None and oov.shape == (50,)
    assert torch.equal(fasttext["oilprices"], oov)
    neighbours = _neighbours(fasttext, "oilprices", topn=5)
    assert {"oil", "prices"} & set(neighbours), neighbours
    # small-corpus fastText vectors all point roughly one way, so compare, not threshold
    related = min(_cosine(oov, fasttext["oil"]), _cosine(oov, fasttext["prices"]))
    for unrelated in ("football", "minister", "software"):
        assert related > _cosine(oov, fasttext[unrelated]), unrelated


def test_fasttext_covers_words_outside_its_training_text(train_texts, ag_news):
    # both trained on a few texts: the corpus's vocabulary is small, the whole split holds all of it
    fasttext = train_vectors(train_texts[:FEW_TEXTS], method="fasttext", **OPTIONS)
    word2vec = train_vectors(train_texts[:FEW_TEXTS], method="word2vec", **OPTIONS)
    text, dataset, _ = ag_news
    vocab = text.build_vocab(dataset)  # all 1,200 rows: words fastText never saw
    assert len(vocab) - 2 > len(fasttext)
    assert vocab.load_vectors(fasttext).type_rate == 1.0
    assert vocab.load_vectors(word2vec).type_rate < 1.0


def test_save_and_load_round_trip_keeps_subword_ngrams(fasttext, tmp_path):
    prefix = tmp_path / "saved" / "agnews_fasttext"
    fasttext.save(prefix)
    written = sorted(path.name for path in prefix.parent.iterdir())
    assert written == ["agnews_fasttext.json", "agnews_fasttext.ngrams.npy", "agnews_fasttext.npy"]

    loaded = Vectors.load(prefix)
    assert loaded.itos == fasttext.itos
    assert torch.equal(loaded.vectors, fasttext.vectors)
    assert loaded.subwords is not None
    assert (loaded.subwords.min_n, loaded.subwords.max_n) == (fasttext.subwords.min_n, fasttext.subwords.max_n)
    assert np.array_equal(loaded.subwords.ngrams, fasttext.subwords.ngrams)
    assert torch.equal(loaded["oilprices"], fasttext["oilprices"])
    assert _neighbours(loaded, "oil") == _neighbours(fasttext, "oil")


def test_save_and_load_round_trip_word2vec(word2vec, tmp_path):
    prefix = tmp_path / "w2v"
    word2vec.save(prefix)
    assert not (tmp_path / "w2v.ngrams.npy").exists()
    loaded = Vectors.load(prefix)
    assert loaded.itos == word2vec.itos and torch.equal(loaded.vectors, word2vec.vectors)
    assert loaded.subwords is None
    vocab = Vocab(Counter({"oil": 3, "crude": 1, "zzz-unseen": 1}))
    assert vocab.load_vectors(loaded).types_found == 2


def test_load_of_missing_saved_vectors_is_an_error(tmp_path):
    with pytest.raises(TextclsError, match="saved vectors not found"):
        Vectors.load(tmp_path / "nothing")


def test_string_texts_with_a_tokenizer():
    texts = ["Oil prices rose.", "The game was won.", ""] * 5
    vectors = train_vectors(texts, method="word2vec", dim=8, tokenizer=str.split)
    assert "Oil" in vectors and "prices" in vectors and vectors.dim == 8


@pytest.mark.parametrize(
    ("texts", "options", "message"),
    [
        ([["a", "b"]], {"method": "glove"}, "unknown vectors training method 'glove'"),
        ([[], []], {}, "no text to train word vectors on"),
    ],
)
def test_bad_training_arguments(texts, options, message):
    with pytest.raises(TextclsError, match=message):
        train_vectors(texts, dim=8, **options)


@pytest.mark.parametrize("method", ["word2vec", "fasttext"])
def test_min_count_above_every_word_is_a_clear_error(method):
    # Word2Vec/FastText constructor, before train_vectors reaches its own "lower min_count" check
    with pytest.raises(TextclsError, match="no word occurs 5 times or more; lower min_count"):
        train_vectors([["a", "b"], ["c"]], method=method, dim=8, min_count=5)
