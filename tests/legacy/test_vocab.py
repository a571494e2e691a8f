"""Legacy torchtext ``Vocab`` (0.8 ``torchtext.vocab.Vocab``, 0.9-0.11 ``torchtext.legacy.vocab.Vocab``): ordering,
``stoi``/``itos`` and the unknown-token rules, ``set_vectors``, ``ValueError`` for bad vectors arguments, the
``AssertionError`` for ``unk_init`` without vectors, stdlib pickling (also of vocabularies pickled before
``unk_index`` existed), equality, ``extend`` and ``build_vocab_from_iterator``."""

import pickle
from collections import Counter

import pytest
import torch

from textcls.embeddings import Vectors
from textcls.errors import ArgumentAssertionError, ArgumentError
from textcls.vocab import Vocab, build_vocab_from_iterator

# a corpus with a frequency tie (cat/dog), a non-ASCII word and a word below min_freq=2
WORDS = "the cat sat on the mat the dog ate the fish cat dog ᑌᑎIᑕOᗪᕮ ᑌᑎIᑕOᗪᕮ ᑌᑎIᑕOᗪᕮ".split()


@pytest.fixture
def counter():
    return Counter(WORDS)


def test_specials_first_then_frequency_then_alphabetical(counter):
    vocab = Vocab(counter, min_freq=2, specials=["<unk>", "<pad>", "<bos>"])
    assert vocab.itos == ["<unk>", "<pad>", "<bos>", "the", "ᑌᑎIᑕOᗪᕮ", "cat", "dog"]
    assert dict(vocab.stoi) == {token: i for i, token in enumerate(vocab.itos)}
    assert vocab.freqs is counter  # legacy keeps the caller's counter as freqs


@pytest.mark.parametrize(
    ("specials_first", "itos"),
    [(True, ["<pad>", "<eos>", "the", "ᑌᑎIᑕOᗪᕮ"]), (False, ["the", "ᑌᑎIᑕOᗪᕮ", "<pad>", "<eos>"])],
)
def test_max_size_counts_words_not_specials_on_either_side(counter, specials_first, itos):
    vocab = Vocab(counter, max_size=2, specials=["<pad>", "<eos>"], specials_first=specials_first)
    assert vocab.itos == itos
    assert vocab.stoi["<pad>"] == (0 if specials_first else len(itos) - 2)


def test_unknown_token_maps_to_unk_index_even_when_specials_come_last(counter):
    vocab = Vocab(counter, min_freq=2, specials=["<pad>", "<unk>"], specials_first=False)
    assert vocab.itos[-2:] == ["<pad>", "<unk>"]
    assert vocab.unk_index == len(vocab) - 1
    assert vocab["zebra"] == vocab.stoi["zebra"] == vocab.unk_index
    assert "zebra" not in vocab.stoi  # looking up does not grow the vocabulary
    assert vocab.lookup_indices(["cat", "zebra"]) == [vocab.stoi["cat"], vocab.unk_index]


def test_default_specials_give_unk_at_zero(counter):
    vocab = Vocab(counter)
    assert vocab.itos[:2] == ["<unk>", "<pad>"]
    assert vocab["never-seen"] == 0


def test_without_unk_stoi_raises_key_error_and_getitem_gives_none(counter):
    vocab = Vocab(counter, min_freq=2, specials=["<pad>"])
    assert vocab.unk_index is None
    with pytest.raises(KeyError):
        vocab.stoi["OOVWORD"]
    assert vocab["OOVWORD"] is None
    assert "OOVWORD" not in vocab.itos


def test_set_vectors_takes_rows_by_stoi_and_zeros_elsewhere(counter):
    vocab = Vocab(counter, min_freq=2, specials=["<unk>", "<pad>", "<bos>"])
    stoi = {"the": 0, "cat": 1, "ᑌᑎIᑕOᗪᕮ": 2, "not-in-vocab": 0}
    table = torch.tensor([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])
    vocab.set_vectors(stoi, table, 2)
    expected = torch.zeros(len(vocab), 2)
    expected[vocab.stoi["the"]] = table[0]
    expected[vocab.stoi["cat"]] = table[1]
    expected[vocab.stoi["ᑌᑎIᑕOᗪᕮ"]] = table[2]
    assert vocab.vectors.dtype == torch.float32
    assert torch.equal(vocab.vectors, expected)


def test_set_vectors_accepts_a_list_of_rows_and_a_legacy_unk_init(counter):
    vocab = Vocab(counter, min_freq=2)
    rows = [torch.tensor([1.0, 2.0, 3.0])]
    torch.manual_seed(0)
    vocab.set_vectors({"dog": 0}, rows, 3, unk_init=torch.Tensor.normal_)
    assert vocab.vectors[vocab.stoi["dog"]].tolist() == [1.0, 2.0, 3.0]
    assert torch.count_nonzero(vocab.vectors[vocab.stoi["cat"]]) == 3  # drawn, not zero
    assert torch.count_nonzero(vocab.vectors[vocab.stoi["<pad>"]]) == 0  # textcls keeps <pad> zero


@pytest.mark.parametrize("vectors", ["fasttext.english.300d", ["fasttext.english.300d"]])
def test_unknown_vectors_alias_is_a_value_error_naming_it(counter, vectors, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./.vector_cache here
    monkeypatch.setenv("TEXTCLS_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(ValueError) as error:
        Vocab(counter, vectors=vectors)
    assert isinstance(error.value, ArgumentError)
    message = str(error.value)
    assert "fasttext.english.300d" in message and "glove.6B.100d" in message  # names it and the valid presets
    assert "\n" not in message


@pytest.mark.parametrize("vectors", [{"word": [1, 2, 3]}, 42, [torch.zeros(3)]])
def test_vectors_of_another_type_is_a_value_error(counter, vectors):
    with pytest.raises(ValueError, match="expected a vectors name or path"):
        Vocab(counter, vectors=vectors)


@pytest.mark.parametrize("option", [{"unk_init": torch.Tensor.normal_}, {"vectors_cache": ".vector_cache"}])
def test_unk_init_or_vectors_cache_without_vectors_is_an_assertion_error(counter, option):
    with pytest.raises(AssertionError) as error:
        Vocab(counter, **option)
    assert isinstance(error.value, ArgumentAssertionError)


@pytest.mark.parametrize("specials", [["<unk>", "<pad>", "<bos>"], ["<pad>", "<bos>"]], ids=["with-unk", "without-unk"])
def test_pickle_round_trip_keeps_everything_and_the_unknown_rule(tmp_path, counter, specials):
    vocab = Vocab(counter, min_freq=2, specials=specials)
    path = tmp_path / "vocab.pkl"
    with open(path, "wb") as handle:
        pickle.dump(vocab, handle)
    with open(path, "rb") as handle:
        loaded = pickle.load(handle)
    assert loaded == vocab
    assert loaded.itos == vocab.itos and dict(loaded.stoi) == dict(vocab.stoi) and loaded.freqs == vocab.freqs
    assert loaded.unk_index == vocab.unk_index
    if vocab.unk_index is None:
        with pytest.raises(KeyError):
            loaded.stoi["zebra"]
    else:
        assert loaded.stoi["zebra"] == loaded.unk_index


def test_pickled_state_holds_stoi_as_a_plain_dict(counter):
    state = Vocab(counter).__getstate__()
    assert type(state["stoi"]) is dict  # as legacy: no defaultdict (or subclass) in the pickle
    assert state["unk_index"] == 0


def test_vocab_pickled_without_unk_index_still_loads(counter):
    # legacy back-compat: vocabularies saved before the state had an "unk_index"
    for specials in (["<pad>", "<bos>"], ["<unk>", "<pad>"]):
        vocab = Vocab(counter, min_freq=2, specials=specials)
        del vocab.__dict__["unk_index"]
        loaded = pickle.loads(pickle.dumps(vocab))
        assert loaded == vocab
        assert loaded.unk_index == (0 if "<unk>" in specials else None)


def test_pickle_keeps_attached_vectors(counter):
    vocab = Vocab(counter)
    vocab.set_vectors({"the": 0}, torch.tensor([[1.0, -1.0]]), 2)
    loaded = pickle.loads(pickle.dumps(vocab))
    assert torch.equal(loaded.vectors, vocab.vectors)
    assert loaded == vocab


def test_equality_compares_tokens_counts_and_vectors(counter):
    first, second = Vocab(counter), Vocab(counter)
    assert first == second
    first.set_vectors({"the": 0}, torch.tensor([[1.0]]), 1)
    assert first != second  # one has vectors
    second.set_vectors({"the": 0}, torch.tensor([[2.0]]), 1)
    assert first != second  # different vectors
    second.set_vectors({"the": 0}, torch.tensor([[1.0]]), 1)
    assert first == second
    assert Vocab(counter) != Vocab(counter, min_freq=2)
    assert Vocab(counter) != Vocab(counter + Counter(["the"]))  # same tokens, other counts


def test_extend_appends_the_words_of_vectors_the_vocab_lacks(counter):
    vocab = Vocab(counter, min_freq=2)
    size = len(vocab)
    vectors = Vectors.from_arrays(["the", "zebra", "apple"], torch.eye(3).numpy())
    vocab.extend(vectors)
    assert vocab.itos[size:] == ["zebra", "apple"]
    assert vocab.stoi["apple"] == size + 1
    vocab.extend(Vectors.from_arrays(["yak", "bee"], torch.eye(2).numpy()), sort=True)
    assert vocab.itos[-2:] == ["bee", "yak"]


def test_vectors_object_with_its_own_unk_init_initialises_missing_words(counter):
    # legacy looked every word up through Vectors.__getitem__, so the Vectors' unk_init filled missing words
    vectors = Vectors.from_arrays(["the"], [[1.0, 1.0, 1.0, 1.0]], unk_init=torch.Tensor.normal_)
    vocab = Vocab(counter)
    torch.manual_seed(0)
    vocab.load_vectors(vectors)
    assert vocab.vectors[vocab.stoi["the"]].tolist() == [1.0, 1.0, 1.0, 1.0]
    assert torch.count_nonzero(vocab.vectors[vocab.stoi["cat"]]) == 4
    plain = Vocab(counter)
    plain.load_vectors(Vectors.from_arrays(["the"], [[1.0, 1.0, 1.0, 1.0]]))
    assert torch.count_nonzero(plain.vectors[plain.stoi["cat"]]) == 0  # default: zeros


def test_tokens_are_looked_up_stripped_like_legacy():
    vocab = Vocab(Counter({" cat": 2, "dog": 1}), specials=[])
    vocab.load_vectors(Vectors.from_arrays(["cat", "dog"], [[1.0, 0.0], [0.0, 1.0]]))
    assert vocab.vectors[vocab.stoi[" cat"]].tolist() == [1.0, 0.0]


def test_build_vocab_from_iterator_counts_every_token():
    lines = [["a", "b", "a"], ["c", "a"], []]
    vocab = build_vocab_from_iterator(iter(lines), num_lines=len(lines))
    assert vocab.itos == ["<unk>", "<pad>", "a", "b", "c"]
    assert vocab.freqs == Counter({"a": 3, "b": 1, "c": 1})
