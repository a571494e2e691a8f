"""Vocab: legacy torchtext ordering and lookups, JSON persistence and extend()."""

import json
import pickle
from collections import Counter

import pytest

from textcls.errors import TextclsError
from textcls.vocab import Vocab


@pytest.fixture
def counter():
    return Counter({"the": 5, "cat": 3, "bat": 3, "sat": 2, "a": 1, "mat": 1})


def test_legacy_order_specials_first_then_freq_desc_then_alphabetical(counter):
    vocab = Vocab(counter)
    assert vocab.itos == ["<unk>", "<pad>", "the", "bat", "cat", "sat", "a", "mat"]
    assert vocab.stoi == {token: i for i, token in enumerate(vocab.itos)}
    assert len(vocab) == 8
    assert vocab.unk_index == 0


def test_specials_last(counter):
    vocab = Vocab(counter, specials=("<unk>", "<pad>"), specials_first=False)
    assert vocab.itos == ["the", "bat", "cat", "sat", "a", "mat", "<unk>", "<pad>"]
    assert vocab.unk_index == 6
    assert vocab["never-seen"] == 6
    assert vocab["<pad>"] == 7


@pytest.mark.parametrize(
    ("specials_first", "expected"),
    [(True, ["<unk>", "<pad>", "the", "bat"]), (False, ["the", "bat", "<unk>", "<pad>"])],
)
def test_max_size_excludes_specials(counter, specials_first, expected):
    assert Vocab(counter, max_size=2, specials_first=specials_first).itos == expected


@pytest.mark.parametrize(("min_freq", "kept"), [(0, 6), (1, 6), (2, 4), (3, 3), (5, 1), (6, 0)])
def test_min_freq(counter, min_freq, kept):
    vocab = Vocab(counter, min_freq=min_freq)
    assert vocab.itos[2:] == ["the", "bat", "cat", "sat", "a", "mat"][:kept]


def test_min_freq_and_max_size_together(counter):
    assert Vocab(counter, min_freq=2, max_size=10).itos[2:] == ["the", "bat", "cat", "sat"]
    assert Vocab(counter, min_freq=2, max_size=1).itos[2:] == ["the"]


def test_specials_in_counter_are_not_duplicated_and_specials_deduplicated():
    counter = Counter({"<pad>": 100, "x": 1})
    vocab = Vocab(counter, specials=["<unk>", "<pad>", "<unk>", "<s>"])
    assert vocab.itos == ["<unk>", "<pad>", "<s>", "x"]
    assert vocab.freqs["<pad>"] == 100


def test_unknown_maps_to_unk_without_growing(counter):
    vocab = Vocab(counter)
    assert vocab["zebra"] == vocab.stoi["zebra"] == 0
    assert "zebra" not in vocab and "cat" in vocab
    assert len(vocab.stoi) == len(vocab.itos) == 8


def test_vocab_without_unk_stoi_raises_key_error_and_getitem_gives_none_like_legacy(counter):
    vocab = Vocab(counter, specials=["<pad>"])
    assert vocab.unk_index is None
    with pytest.raises(KeyError):
        vocab.stoi["zebra"]
    assert vocab["zebra"] is None  # legacy: stoi.get(token, stoi.get("<unk>"))
    assert vocab.lookup_indices(["cat", "zebra"]) == [vocab.stoi["cat"], None]
    assert "zebra" not in vocab.stoi


def test_lookup_indices_and_tokens(counter):
    vocab = Vocab(counter)
    ids = vocab.lookup_indices(["the", "cat", "zebra", "<pad>"])
    assert ids == [2, 4, 0, 1]
    assert vocab.lookup_tokens(ids) == ["the", "cat", "<unk>", "<pad>"]
    assert vocab.lookup_tokens([]) == [] and vocab.lookup_indices([]) == []


def test_freqs_preserved_and_counter_not_mutated(counter):
    original = counter.copy()
    vocab = Vocab(counter, max_size=1, min_freq=2)
    assert counter == original
    assert vocab.freqs == original  # the full counter, not only the kept tokens


def test_empty_vocab_has_only_specials():
    vocab = Vocab()
    assert vocab.itos == ["<unk>", "<pad>"]
    assert vocab["anything"] == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"specials_first": False},
        {"specials": ["<pad>"]},
        {"specials": [], "max_size": 3},
        {"specials": ["<unk>", "<pad>", "<s>", "</s>"], "min_freq": 2},
    ],
)
def test_json_round_trip(tmp_path, counter, kwargs):
    vocab = Vocab(counter, **kwargs)
    path = tmp_path / "vocab.json"
    vocab.save(path)
    raw = path.read_bytes()
    assert not raw.startswith(b"\x80")  # not a pickle
    data = json.loads(raw.decode("utf-8"))
    assert data["itos"] == vocab.itos
    loaded = Vocab.load(path)
    assert loaded == vocab
    assert loaded.itos == vocab.itos and dict(loaded.stoi) == dict(vocab.stoi)
    assert loaded.freqs == vocab.freqs and loaded.specials == vocab.specials
    assert loaded.unk_index == vocab.unk_index
    probe = ["cat", "zebra"] if vocab.unk_index is not None else ["cat"]
    assert loaded.lookup_indices(probe) == vocab.lookup_indices(probe)
    assert not list(tmp_path.glob("*.tmp"))


def test_json_round_trip_non_ascii(tmp_path):
    vocab = Vocab(Counter({"café": 2, "日本": 3, "naïve": 1}))
    vocab.save(tmp_path / "v.json")
    assert "日本" in (tmp_path / "v.json").read_text(encoding="utf-8")
    assert Vocab.load(tmp_path / "v.json") == vocab


def test_json_round_trip_integer_labels(tmp_path):
    # a LabelField over JSON data with integer labels builds a vocab whose tokens are ints
    vocab = Vocab(Counter({1: 5, 0: 3}), specials=[])
    vocab.save(tmp_path / "labels.json")
    loaded = Vocab.load(tmp_path / "labels.json")
    assert loaded.itos == [1, 0]
    assert loaded.freqs == vocab.freqs
    assert loaded == vocab


@pytest.mark.parametrize(
    "content",
    [
        "{}",
        '{"format": "something/else", "itos": []}',
        '{"a": 1}',
        "[1, 2, 3]",
        "null",
        '"just a string"',
        "not json at all",
        '{"format": "textcls.vocab/1", "itos": ["a"]}',  # truncated: no specials/freqs
    ],
)
def test_load_non_vocab_file_is_textcls_error(tmp_path, content):
    path = tmp_path / "other.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TextclsError):
        Vocab.load(path)


def test_load_pickle_or_missing_file_is_textcls_error(tmp_path, counter):
    path = tmp_path / "vocab.pkl"
    path.write_bytes(pickle.dumps(Vocab(counter)))
    with pytest.raises(TextclsError):
        Vocab.load(path)
    with pytest.raises(TextclsError, match="not found"):
        Vocab.load(tmp_path / "missing.json")


def test_extend_appends_missing_tokens(counter):
    vocab = Vocab(counter)
    other = Vocab(Counter({"zoo": 4, "cat": 9, "apple": 1}), specials=["<unk>"])
    vocab.extend(other)
    assert vocab.itos == ["<unk>", "<pad>", "the", "bat", "cat", "sat", "a", "mat", "zoo", "apple"]
    assert vocab["zoo"] == 8 and vocab["apple"] == 9 and vocab["cat"] == 4
    assert vocab["unseen"] == 0


def test_extend_sorted(counter):
    vocab = Vocab(counter, specials=["<unk>"])
    vocab.extend(Vocab(Counter({"zoo": 4, "apple": 1, "mango": 2}), specials=[]), sort=True)
    assert vocab.itos[-3:] == ["apple", "mango", "zoo"]
    assert vocab.lookup_indices(["apple", "mango", "zoo"]) == [len(vocab) - 3, len(vocab) - 2, len(vocab) - 1]
