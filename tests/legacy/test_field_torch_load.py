"""Legacy scripts save fields with ``torch.save`` and read them with ``torch.load``: that works with torch's
default ``weights_only=True`` for fields made of data (named tokenizers, vocabularies), and anything carrying
other code is still refused by it."""

import io
import pickle

import pytest
import torch

from textcls import data


def roundtrip(obj, **load_options):
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    return torch.load(buffer, **load_options)


def shout(text):
    return text.upper()


@pytest.mark.parametrize("built", [False, True])
def test_a_field_loads_back_equal_under_the_default_weights_only(built):
    field = data.Field(tokenize="basic_english", lower=True, stop_words=["the"], include_lengths=True, fix_length=7)
    if built:
        field.build_vocab([["a", "b", "b"], ["c"]], min_freq=1)
    loaded = roundtrip(field)
    assert loaded == field
    assert loaded.tokenize("The Cat, sat.") == ["the", "cat", ",", "sat", "."]
    if built:
        assert loaded.vocab.itos == field.vocab.itos and loaded.vocab.stoi["never-seen"] == 0


def test_nested_and_label_fields_load_back_equal():
    nested = data.NestedField(data.Field(tokenize="char", init_token="<w>"), init_token="<s>")
    nested.build_vocab([nested.preprocess("ab c")])
    label = data.LabelField(dtype=torch.float)
    label.build_vocab(["pos", "neg", "pos"])
    assert roundtrip(nested) == nested and nested.vocab.itos[:2] == ["<unk>", "<pad>"]
    assert roundtrip(label) == label and label.vocab.itos == ["pos", "neg"]


def test_a_field_carrying_a_function_is_refused_by_weights_only_and_loads_when_trusted():
    field = data.Field(preprocessing=shout)
    with pytest.raises(pickle.UnpicklingError, match="shout"):
        roundtrip(field)
    assert roundtrip(field, weights_only=False).preprocessing("ok") == "OK"
