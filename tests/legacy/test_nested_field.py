"""NestedField: legacy torchtext ``data.NestedField`` (character-level words), its construction rules, padding,
shared vocabulary, numericalization and persistence."""

import json
import pickle

import pytest
import torch

from textcls.data import Dataset, Example, Field
from textcls.data.nested import NestedField
from textcls.errors import ArgumentError, TextclsError
from textcls.vocab import Vocab

CPAD = "<cpad>"


def char_field(**kwargs):
    """The nesting field of the legacy examples: characters wrapped in <w> ... </w>."""
    options = {"tokenize": list, "unk_token": "<cunk>", "pad_token": CPAD, "init_token": "<w>", "eos_token": "</w>"}
    return Field(**{**options, **kwargs})


def word(chars: str, width: int) -> list[str]:
    """A padded word as the char field pads it: <w> c h a r s </w> <cpad>..."""
    row = ["<w>", *chars, "</w>"]
    return row + [CPAD] * (width - len(row))


def marker(token: str, width: int) -> list[str]:
    """An init/eos word (<s>, </s>): padded like a one-character word."""
    return ["<w>", token, "</w>"] + [CPAD] * (width - 3)


MINIBATCH = [[list("john"), list("loves"), list("mary")], [list("mary"), list("cries")]]


# --- construction --------------------------------------------------------------------------------------------
def test_minimal_nested_field_takes_lower_unk_and_pad_from_the_nesting_field():
    nesting = Field(lower=True, unk_token="<cunk>", pad_token=CPAD)
    field = NestedField(nesting)
    assert isinstance(field, Field) and field.nesting_field is nesting
    assert field.sequential and field.use_vocab and field.batch_first and not field.include_lengths
    assert field.lower is True and field.unk_token == "<cunk>" and field.pad_token == CPAD
    assert field.init_token is None and field.eos_token is None and field.fix_length is None
    assert field.dtype is torch.long and field.preprocessing is None and field.postprocessing is None
    assert field.tokenize("a b c") == ["a", "b", "c"] and not field.pad_first


def test_nesting_field_is_switched_to_batch_first():
    nesting = Field(batch_first=False)
    NestedField(nesting)
    assert nesting.batch_first is True


def test_pad_token_is_the_own_one_when_the_nesting_field_is_not_sequential():
    assert NestedField(Field(sequential=False)).pad_token == "<pad>"
    assert NestedField(Field(sequential=False), pad_token="<wpad>").pad_token == "<wpad>"
    assert NestedField(Field(pad_token=CPAD), pad_token="<ignored>").pad_token == CPAD


def test_all_constructor_options_are_kept():
    field = NestedField(
        Field(),
        use_vocab=False,
        init_token="<s>",
        eos_token="</s>",
        fix_length=10,
        dtype=torch.float,
        preprocessing=lambda xs: list(reversed(xs)),
        postprocessing=lambda xs, vocab: xs,
        tokenize=list,
        pad_first=True,
        truncate_first=True,
    )
    assert not field.use_vocab and field.init_token == "<s>" and field.eos_token == "</s>"
    assert field.fix_length == 10 and field.dtype is torch.float and field.pad_first and field.truncate_first
    assert field.preprocessing(["a", "b"]) == ["b", "a"] and field.tokenize("abc") == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("nesting", "message"),
    [
        (Field(include_lengths=True), "nesting field cannot have include_lengths=True"),
        (NestedField(Field()), "nesting field must not be another NestedField"),
        ("chars", "nesting field must be a Field"),
    ],
)
def test_bad_nesting_field_is_a_value_error(nesting, message):
    with pytest.raises(ArgumentError, match=message) as info:
        NestedField(nesting)
    assert isinstance(info.value, ValueError)  # legacy raised ValueError


# --- preprocess ----------------------------------------------------------------------------------------------
def test_preprocess_splits_words_then_lets_the_nesting_field_preprocess_each():
    nesting = Field(tokenize=list, preprocessing=lambda chars: [c.upper() for c in chars])
    field = NestedField(nesting, preprocessing=lambda words: reversed(words))
    assert field.preprocess("john loves mary") == [list("MARY"), list("LOVES"), list("JOHN")]


def test_preprocess_lowers_with_the_nesting_fields_setting():
    field = NestedField(Field(tokenize=list, lower=True))
    assert field.preprocess("Hi YOU") == [list("hi"), list("you")]
    assert field.preprocess(["Ab", "c"]) == [list("ab"), ["c"]]  # already split into words


# --- pad -----------------------------------------------------------------------------------------------------
def test_pad_words_to_longest_word_and_texts_to_longest_text():
    field = NestedField(char_field(), init_token="<s>", eos_token="</s>")
    assert field.pad(MINIBATCH) == [
        [marker("<s>", 7), word("john", 7), word("loves", 7), word("mary", 7), marker("</s>", 7)],
        [marker("<s>", 7), word("mary", 7), word("cries", 7), marker("</s>", 7), [CPAD] * 7],
    ]


def test_pad_include_lengths_gives_text_and_word_lengths():
    field = NestedField(char_field(), init_token="<s>", eos_token="</s>", include_lengths=True)
    padded, text_lengths, word_lengths = field.pad(MINIBATCH)
    assert padded == NestedField(char_field(), init_token="<s>", eos_token="</s>").pad(MINIBATCH)
    assert text_lengths == [5, 4]
    assert word_lengths == [[3, 6, 7, 6, 3], [3, 6, 7, 3, 0]]  # padding words have length 0


def test_pad_first_puts_padding_words_in_front():
    field = NestedField(char_field(), init_token="<s>", eos_token="</s>", pad_first=True, include_lengths=True)
    padded, text_lengths, word_lengths = field.pad(MINIBATCH)
    assert padded[1] == [[CPAD] * 7, marker("<s>", 7), word("mary", 7), word("cries", 7), marker("</s>", 7)]
    assert text_lengths == [5, 4] and word_lengths[1] == [0, 3, 6, 7, 3]


def test_nesting_fix_length_cuts_and_pads_words():
    field = NestedField(char_field(fix_length=5), init_token="<s>", eos_token="</s>", include_lengths=True)
    padded, text_lengths, word_lengths = field.pad([["john", "loves", "mary"], ["mary", "cries"]])
    assert padded[0] == [marker("<s>", 5), word("joh", 5), word("lov", 5), word("mar", 5), marker("</s>", 5)]
    assert padded[1][-1] == [CPAD] * 5
    assert text_lengths == [5, 4] and word_lengths == [[3, 5, 5, 5, 3], [3, 5, 5, 3, 0]]


def test_outer_fix_length_counts_init_and_eos_words():
    field = NestedField(char_field(), init_token="<s>", eos_token="</s>", fix_length=3, include_lengths=True)
    padded, text_lengths, word_lengths = field.pad([["john", "loves", "mary"], ["mary", "cries"]])
    # word width still follows the longest word of the batch ("loves"), even though it was cut
    assert padded == [
        [marker("<s>", 7), word("john", 7), marker("</s>", 7)],
        [marker("<s>", 7), word("mary", 7), marker("</s>", 7)],
    ]
    assert text_lengths == [3, 3] and word_lengths == [[3, 6, 3], [3, 6, 3]]


def test_outer_truncate_first_keeps_the_last_words():
    field = NestedField(char_field(), fix_length=2, truncate_first=True)
    assert field.pad([["ab", "c", "de"]]) == [[word("c", 4), word("de", 4)]]


def test_pad_without_init_and_eos_words():
    field = NestedField(char_field())
    assert field.pad(MINIBATCH) == [
        [word("john", 7), word("loves", 7), word("mary", 7)],
        [word("mary", 7), word("cries", 7), [CPAD] * 7],
    ]


def test_pad_with_a_non_sequential_nesting_field_pads_like_a_word_field():
    field = NestedField(Field(sequential=False, unk_token="<cunk>"), init_token="<s>", eos_token="</s>")
    assert field.pad([["john", "loves", "mary"], ["mary", "cries"]]) == [
        ["<s>", "john", "loves", "mary", "</s>"],
        ["<s>", "mary", "cries", "</s>", "<pad>"],
    ]


def test_pad_leaves_both_fields_unchanged():
    nesting = char_field()
    field = NestedField(nesting, init_token="<s>", include_lengths=True)
    before, nesting_before = dict(vars(field)), dict(vars(nesting))
    field.pad(MINIBATCH)
    assert vars(field) == before and vars(nesting) == nesting_before


# --- build_vocab ---------------------------------------------------------------------------------------------
def test_build_vocab_from_a_dataset_shares_one_vocabulary():
    chars = NestedField(char_field(), init_token="<s>", eos_token="</s>")
    examples = [Example.fromlist([text], [("chars", chars)]) for text in ("aaa bbb c", "bbb aaa")]
    vocab = chars.build_vocab(Dataset(examples, [("chars", chars)]), min_freq=2)
    assert vocab is chars.vocab is chars.nesting_field.vocab
    # this field's specials first (unk, pad, init, eos), then the nesting field's vocabulary; 'c' is too rare
    assert vocab.itos == ["<cunk>", CPAD, "<s>", "</s>", "<w>", "</w>", "a", "b"]
    assert vocab.freqs == {"a": 6, "b": 6, "c": 1}


def test_build_vocab_from_iterables_of_texts():
    chars = NestedField(Field(unk_token="<cunk>", pad_token=CPAD))
    chars.build_vocab(
        [[list("aaa"), list("bbb"), ["c"]], [list("bbb"), list("aaa")]],
        [[list("ccc"), list("bbb")], [list("bbb")]],
    )
    assert chars.vocab.itos == ["<cunk>", CPAD, "b", "a", "c"]
    assert chars.vocab.freqs == chars.nesting_field.vocab.freqs == {"a": 6, "b": 12, "c": 4}


def test_build_vocab_passes_specials_to_the_nesting_field():
    chars = NestedField(Field(tokenize=list))
    chars.build_vocab([[list("ab")]], specials=["<mask>"])
    assert chars.vocab.itos == ["<unk>", "<pad>", "<mask>", "a", "b"]


def test_build_vocab_loads_vectors_into_the_shared_vocabulary(tmp_path):
    from textcls.vocab import Vectors

    path = tmp_path / "chars.txt"
    path.write_text("a 1.0 2.0\nb 3.0 4.0\n", encoding="utf-8")
    chars = NestedField(Field(tokenize=list))
    chars.build_vocab([[list("ab"), list("bz")]], vectors=Vectors(str(path), cache=str(tmp_path)))
    vectors = chars.vocab.vectors
    assert vectors.shape == (len(chars.vocab), 2)
    assert vectors[chars.vocab.stoi["a"]].tolist() == [1.0, 2.0]
    assert vectors[chars.vocab.stoi["b"]].tolist() == [3.0, 4.0]
    assert chars.nesting_field.vocab.vectors is vectors


# --- numericalize / process ----------------------------------------------------------------------------------
@pytest.fixture
def words_field():
    field = NestedField(char_field(), init_token="<s>", eos_token="</s>")
    field.build_vocab([field.preprocess("john loves mary"), field.preprocess("mary cries")])
    return field


def test_numericalize_stacks_texts_into_batch_words_chars(words_field):
    padded = words_field.pad([words_field.preprocess("mary cries"), words_field.preprocess("joy")])
    tensor = words_field.numericalize(padded)
    assert tensor.shape == (2, 4, 7) and tensor.dtype == torch.long
    stoi = words_field.vocab.stoi
    assert tensor.tolist() == [[[stoi[c] for c in w] for w in text] for text in padded]
    assert tensor[1, 3].tolist() == [stoi[CPAD]] * 7  # "joy" has 3 words (<s> joy </s>): the 4th is padding


def test_numericalize_unknown_characters_map_to_the_nesting_unk():
    field = NestedField(char_field())
    field.build_vocab([field.preprocess("ab")])
    tensor = field.numericalize(field.pad([field.preprocess("axb")]))
    stoi = field.vocab.stoi
    assert tensor.tolist() == [[[stoi["<w>"], stoi["a"], stoi["<cunk>"], stoi["b"], stoi["</w>"]]]]


def test_numericalize_with_include_lengths_returns_three_tensors():
    field = NestedField(char_field(), init_token="<s>", eos_token="</s>", include_lengths=True, dtype=torch.int32)
    field.build_vocab([MINIBATCH[0]])
    tensor, text_lengths, word_lengths = field.numericalize(field.pad(MINIBATCH))
    assert tensor.shape == (2, 5, 7) and tensor.dtype == torch.long  # ids: the nesting field's dtype
    assert text_lengths.tolist() == [5, 4] and text_lengths.dtype == torch.int32
    assert word_lengths.tolist() == [[3, 6, 7, 6, 3], [3, 6, 7, 3, 0]] and word_lengths.dtype == torch.int32


def test_numericalize_with_include_lengths_needs_the_tuple_pad_returns():
    field = NestedField(char_field(), include_lengths=True)
    field.build_vocab([MINIBATCH[0]])
    with pytest.raises(ArgumentError, match="3-tuple"):
        field.numericalize(NestedField(char_field()).pad(MINIBATCH))


def test_process_equals_numericalize_of_pad(words_field):
    batch = [words_field.preprocess("mary loves john"), words_field.preprocess("cries")]
    assert torch.equal(words_field.process(batch), words_field.numericalize(words_field.pad(batch)))


def test_postprocessing_gets_the_nested_ids_and_vocab():
    seen = []

    def drop_first_word(ids, vocab):
        seen.append(vocab)
        return [text[1:] for text in ids]

    field = NestedField(char_field(), init_token="<s>", postprocessing=drop_first_word)
    field.build_vocab(MINIBATCH)
    tensor = field.process(MINIBATCH)
    assert tensor.shape == (2, 3, 7) and seen == [field.vocab]
    assert tensor[0, 0].tolist() == [field.vocab.stoi[c] for c in word("john", 7)]


def test_non_sequential_nesting_field_gives_a_words_tensor():
    field = NestedField(Field(sequential=False), include_lengths=True)
    batch = [field.preprocess("the cat sat"), field.preprocess("a dog")]
    field.build_vocab(batch)
    tensor, lengths = field.process(batch)
    stoi = field.vocab.stoi
    assert tensor.tolist() == [[stoi["the"], stoi["cat"], stoi["sat"]], [stoi["a"], stoi["dog"], stoi["<pad>"]]]
    assert lengths.tolist() == [3, 2]


# --- equality and persistence --------------------------------------------------------------------------------
def test_pickle_round_trip_is_equal_and_numericalizes_the_same(words_field):
    loaded = pickle.loads(pickle.dumps(words_field))
    assert loaded == words_field and loaded is not words_field
    assert loaded.vocab is loaded.nesting_field.vocab  # still one shared vocabulary
    batch = [words_field.preprocess("mary loves john"), words_field.preprocess("cries")]
    assert torch.equal(loaded.process(batch), words_field.process(batch))


def test_nested_fields_differing_in_the_nesting_field_are_not_equal():
    assert NestedField(Field()) == NestedField(Field())
    assert NestedField(Field()) != NestedField(Field(pad_token=CPAD))
    assert NestedField(Field()) != Field()


def test_to_config_from_config_round_trip_with_a_loaded_vocab():
    field = NestedField(Field(tokenize="char", init_token="<w>", fix_length=6), init_token="<s>", include_lengths=True)
    field.build_vocab([field.preprocess("abc de")])
    config = json.loads(json.dumps(field.to_config()))
    rebuilt = Field.from_config(config)
    assert type(rebuilt) is NestedField and rebuilt.to_config() == config
    assert rebuilt.nesting_field.fix_length == 6 and rebuilt.nesting_field.init_token == "<w>"
    rebuilt.vocab = Vocab.from_dict(json.loads(json.dumps(field.vocab.to_dict())))
    batch = [rebuilt.preprocess("abc de"), rebuilt.preprocess("x")]
    for got, expected in zip(rebuilt.process(batch), field.process(batch)):
        assert torch.equal(got, expected)


def test_to_config_refuses_a_callable_nesting_tokenizer():
    with pytest.raises(TextclsError, match="custom callable"):
        NestedField(Field(tokenize=list)).to_config()
