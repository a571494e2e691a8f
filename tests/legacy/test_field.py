"""Field, RawField and LabelField: the legacy torchtext ``data.Field`` behaviours (process, preprocess, pad,
build_vocab over tsv/json datasets, numericalize, errors, equality and pickling)."""

import json
import pickle
from collections import Counter

import pytest
import torch

from textcls.data import Field, LabelField, Pipeline, RawField, TabularDataset
from textcls.data.fields import FieldPicklingError
from textcls.errors import ArgumentError
from textcls.tokenizers import Tokenizer
from textcls.vocab import Vocab

QUESTIONS = [
    {"id": "0", "question1": "When do you use シ instead of し?", "question2": 'When do you use "&" instead of "and"?',
     "label": "0"},
    {"id": "1", "question1": "Where was Lincoln born?", "question2": "Which location was Abraham Lincoln born?",
     "label": "1"},
    {"id": "2", "question1": "What is 2+2", "question2": "2+2=?", "label": "1"},
]  # fmt: skip

PADDED = [
    ["When", "do", "you", "use", "シ", "instead", "of", "し?"],
    ["What", "is", "2+2", "<pad>", "<pad>", "<pad>", "<pad>", "<pad>"],
    ["Here", "is", "a", "sentence", "with", "some", "oovs", "<pad>"],
]


def exclaim(token):
    return token + "!"


def reverse_rows(arr, vocab):
    return [list(reversed(row)) for row in arr]


@pytest.fixture
def questions_tsv(tmp_path):
    path = tmp_path / "questions.tsv"
    rows = ["\t".join([q["id"], q["question1"], q["question2"], q["label"]]) for q in QUESTIONS]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def questions_json(tmp_path):
    path = tmp_path / "questions.json"
    path.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in QUESTIONS), encoding="utf-8")
    return path


def question_datasets(tsv, json_path, question, label):
    tsv_data = TabularDataset(
        path=str(tsv), format="tsv", fields=[("id", None), ("q1", question), ("q2", question), ("label", label)]
    )
    json_data = TabularDataset(
        path=str(json_path),
        format="json",
        fields={"question1": ("q1", question), "question2": ("q2", question), "label": ("label", label)},
    )
    return tsv_data, json_data


def built_question_field(tsv, **kwargs):
    question = Field(**kwargs)
    dataset = TabularDataset(
        path=str(tsv), format="tsv", fields=[("id", None), ("q1", question), ("q2", question), ("label", None)]
    )
    question.build_vocab(dataset)
    return question


def assert_ids_match_tokens(field, rows, tensor):
    """Every id is its token's id, unknown tokens are <unk> (0); ``tensor`` is [batch, time]."""
    assert tensor.shape == (len(rows), len(rows[0]))
    for row, ids in zip(rows, tensor.tolist()):
        assert ids == [field.vocab.stoi[token] for token in row]
        assert all(field.vocab.itos[i] == token for i, token in zip(ids, row) if i != 0)


# --- process -------------------------------------------------------------------------------------------------
def test_process_of_numbers_and_of_arbitrary_objects():
    raw, field = RawField(), Field(use_vocab=False, batch_first=True)
    batch = [[1, 2, 3], [2, 3, 4]]
    assert raw.process(batch) == batch
    assert torch.equal(field.process(batch), torch.tensor(batch))
    objects = [object() for _ in range(5)]
    assert raw.process(objects) == objects  # a RawField accepts anything
    with pytest.raises(TypeError):
        field.process(objects)


def test_process_runs_a_subclasses_own_pad():
    class Reversing(Field):
        def pad(self, minibatch):
            return super().pad([list(reversed(x)) for x in minibatch])

    field = Reversing(batch_first=True)
    field.build_vocab([["a", "b"]])
    assert field.process([["a", "b"]]).tolist() == [[field.vocab.stoi["b"], field.vocab.stoi["a"]]]


# --- preprocess ----------------------------------------------------------------------------------------------
def test_preprocess_tokenizes_lowers_then_runs_the_pipeline():
    assert Field().preprocess("Test string.") == ["Test", "string."]
    assert Field(lower=True).preprocess("Test string.") == ["test", "string."]
    assert Field(preprocessing=Pipeline(exclaim), lower=True).preprocess("Test string.") == ["test!", "string.!"]


def test_preprocess_of_a_non_sequential_value_keeps_it_one_string():
    field = Field(sequential=False, lower=True, preprocessing=Pipeline(exclaim))
    assert field.preprocess("Test string.") == "test string.!"
    assert field.preprocess("ᑌᑎIᑕOᗪᕮ_Tᕮ᙭T") == "ᑌᑎiᑕoᗪᕮ_tᕮ᙭t!"


def test_stop_words_are_dropped_only_for_vocabulary_fields():
    assert Field(stop_words=["do", "you"]).preprocess("When do you use it") == ["When", "use", "it"]
    assert Field(stop_words=("do",), use_vocab=False).preprocess("do it") == ["do", "it"]
    assert Field(stop_words=["do"]).stop_words == {"do"}


def test_stop_words_that_are_not_a_collection_are_a_value_error():
    with pytest.raises(ArgumentError, match="stop_words must be convertible to a set") as info:
        Field(stop_words=7)
    assert isinstance(info.value, ValueError)


# --- pad -----------------------------------------------------------------------------------------------------
MINIBATCH = [["a", "sentence", "of", "data", "."], ["yet", "another"], ["one", "last", "sent"]]


@pytest.mark.parametrize(
    ("kwargs", "padded", "lengths"),
    [
        ({}, [MINIBATCH[0], ["yet", "another", *["<pad>"] * 3], ["one", "last", "sent", "<pad>", "<pad>"]], [5, 2, 3]),
        ({"fix_length": 3}, [["a", "sentence", "of"], ["yet", "another", "<pad>"], MINIBATCH[2]], [3, 2, 3]),
        ({"fix_length": 3, "truncate_first": True}, [["of", "data", "."], ["yet", "another", "<pad>"], MINIBATCH[2]],
         [3, 2, 3]),
        ({"fix_length": 4, "init_token": "<bos>"},
         [["<bos>", "a", "sentence", "of"], ["<bos>", "yet", "another", "<pad>"], ["<bos>", "one", "last", "sent"]],
         [4, 3, 4]),
        ({"init_token": "<bos>", "eos_token": "<eos>"},
         [["<bos>", *MINIBATCH[0], "<eos>"], ["<bos>", "yet", "another", "<eos>", *["<pad>"] * 3],
          ["<bos>", "one", "last", "sent", "<eos>", "<pad>", "<pad>"]],
         [7, 4, 5]),
    ],
)  # fmt: skip
def test_pad_with_and_without_lengths(kwargs, padded, lengths):
    assert Field(**kwargs).pad(MINIBATCH) == padded
    assert Field(include_lengths=True, **kwargs).pad(MINIBATCH) == (padded, lengths)


def test_pad_of_a_non_sequential_field_returns_the_values():
    labels = [["contradiction"], ["neutral"], ["entailment"]]
    assert Field(sequential=False, init_token="<bos>", eos_token="<eos>").pad(labels) == labels
    assert Field(sequential=False, init_token="<bos>", include_lengths=True).pad(labels) == labels


# --- build_vocab ---------------------------------------------------------------------------------------------
QUESTION_FREQS = Counter(
    {"When": 4, "do": 4, "you": 4, "use": 4, "instead": 4, "of": 4, "was": 4, "Lincoln": 4, "born?": 4, "シ": 2,
     "し?": 2, "Where": 2, "What": 2, "is": 2, "2+2": 2, '"&"': 2, '"and"?': 2, "Which": 2, "location": 2,
     "Abraham": 2, "2+2=?": 2}
)  # fmt: skip
BY_FREQUENCY = ["Lincoln", "When", "born?", "do", "instead", "of", "use", "was", "you", '"&"', '"and"?', "2+2",
                "2+2=?", "Abraham", "What", "Where", "Which", "is", "location", "し?", "シ"]  # fmt: skip


def test_build_vocab_over_tsv_and_json_datasets(questions_tsv, questions_json):
    question, label = Field(), Field(sequential=False)
    datasets = question_datasets(questions_tsv, questions_json, question, label)
    question.build_vocab(*datasets, specials=["<space>"])
    assert question.vocab.freqs == QUESTION_FREQS  # both question columns of both files
    assert question.vocab.itos == ["<unk>", "<pad>", "<space>", *BY_FREQUENCY]
    assert dict(question.vocab.stoi) == {token: i for i, token in enumerate(question.vocab.itos)}
    question.build_vocab(*datasets)
    assert question.vocab.itos == ["<unk>", "<pad>", *BY_FREQUENCY]
    question.build_vocab(*datasets, max_size=8, min_freq=3)
    assert question.vocab.itos == ["<unk>", "<pad>", *BY_FREQUENCY[:8]]
    label.build_vocab(*datasets)
    assert label.vocab.freqs == Counter({"1": 4, "0": 2})
    assert dict(label.vocab.stoi) == {"<unk>": 0, "1": 1, "0": 2}  # a plain non-sequential Field keeps <unk>


def test_label_field_vocab_has_no_unk(questions_tsv, questions_json):
    label = LabelField()
    tsv_data, _ = question_datasets(questions_tsv, questions_json, Field(), label)
    label.build_vocab(tsv_data)
    assert label.vocab.freqs == Counter({"1": 2, "0": 1})
    assert dict(label.vocab.stoi) == {"1": 0, "0": 1} and label.vocab.itos == ["1", "0"]


def test_build_vocab_uses_the_vocab_cls():
    class CountingVocab(Vocab):
        built = 0

        def __init__(self, *args, **kwargs):
            CountingVocab.built += 1
            super().__init__(*args, **kwargs)

    class CountingField(Field):
        vocab_cls = CountingVocab

    field = CountingField()
    field.build_vocab([["a", "b", "a"]])
    assert type(field.vocab) is CountingVocab and CountingVocab.built == 1
    assert field.vocab.itos == ["<unk>", "<pad>", "a", "b"]


# --- numericalize --------------------------------------------------------------------------------------------
def test_numericalize_time_first_with_unknown_words_as_unk(questions_tsv):
    question = built_question_field(questions_tsv)
    tensor = question.numericalize(PADDED)
    assert tensor.shape == (8, 3)  # [time, batch]
    assert_ids_match_tokens(question, PADDED, tensor.t())
    assert tensor[0, 2].item() == 0  # "Here" never occurred


def test_numericalize_batch_first(questions_tsv):
    question = built_question_field(questions_tsv, batch_first=True)
    assert_ids_match_tokens(question, PADDED, question.numericalize(PADDED))


def test_numericalize_include_lengths(questions_tsv):
    question = built_question_field(questions_tsv, include_lengths=True)
    tensor, lengths = question.numericalize((PADDED, [8, 3, 7]))
    assert lengths.tolist() == [8, 3, 7]
    assert_ids_match_tokens(question, PADDED, tensor.t())


def test_numericalize_include_lengths_without_lengths_is_a_value_error(questions_tsv):
    question = built_question_field(questions_tsv, include_lengths=True)
    with pytest.raises(ArgumentError, match="tuple") as info:
        question.numericalize(PADDED)
    assert isinstance(info.value, ValueError)


def test_numericalize_postprocessing_sees_the_ids(questions_tsv):
    question = built_question_field(questions_tsv, postprocessing=reverse_rows)
    tensor = question.numericalize(PADDED)
    assert_ids_match_tokens(question, reverse_rows(PADDED, None), tensor.t())


def test_numericalize_after_stop_words(questions_tsv):
    question = built_question_field(questions_tsv, batch_first=True, stop_words={"do", "you"})
    padded = question.pad([question.preprocess(row) for row in PADDED])
    assert padded[0] == ["When", "use", "シ", "instead", "of", "し?", "<pad>", "<pad>"]
    assert "do" not in question.vocab.freqs
    assert_ids_match_tokens(question, padded, question.numericalize(padded))


def test_numbers_without_vocab_from_a_tsv_file(tmp_path):
    path = tmp_path / "numbers.tsv"
    path.write_text("0.1\t1\tteststring1\n0.5\t12\tteststring2\n", encoding="utf-8")
    ints = Field(sequential=False, use_vocab=False)
    floats = Field(sequential=False, use_vocab=False, dtype=torch.float)
    data = TabularDataset(path=str(path), format="tsv", fields=[("float", floats), ("int", ints), ("string", None)])
    assert [example.int for example in data] == ["1", "12"]
    assert ints.process([example.int for example in data]).tolist() == [1, 12]
    assert ints.numericalize(["1", "0", "1", "3", "19"]).tolist() == [1, 0, 1, 3, 19]
    assert floats.numericalize(["1.1", "0.1", "3.91"]).tolist() == pytest.approx([1.1, 0.1, 3.91])


def test_numbers_without_vocab_with_postprocessing():
    ints = Field(sequential=False, use_vocab=False, postprocessing=lambda arr, _: [x + 1 for x in arr])
    halve = Field(sequential=False, use_vocab=False, dtype=torch.float, postprocessing=lambda a, _: [x / 2 for x in a])
    assert ints.numericalize(["1", "0", "19"]).tolist() == [2, 1, 20]
    assert halve.numericalize(["1.1", "0.1", "10.2"]).tolist() == pytest.approx([0.55, 0.05, 5.1])


def test_a_dtype_without_a_number_type_cannot_skip_the_vocab():
    field = Field(sequential=False, use_vocab=False, dtype=torch.complex64)
    with pytest.raises(ArgumentError, match="use_vocab=False") as info:
        field.numericalize(["1"])
    assert isinstance(info.value, ValueError)
    assert Field.dtypes[torch.float16] is float and Field.dtypes[torch.long] is int


# --- LabelField, is_target -----------------------------------------------------------------------------------
def test_label_field_fixes_sequential_unk_and_is_target():
    for label in (LabelField(), LabelField(sequential=True, unk_token="<unk>", is_target=False)):
        assert label.sequential is False and label.unk_token is None and label.is_target is True
        assert label.pad_token is None
    assert Field().is_target is False and RawField(is_target=True).is_target is True


# --- equality and pickling -----------------------------------------------------------------------------------
def test_fields_are_equal_when_their_attributes_are():
    assert Field() == Field() and Field(lower=True) != Field()
    assert LabelField() == Field(sequential=False, unk_token=None, is_target=True)  # legacy compares attributes
    assert Field() != "Field" and RawField() == RawField() and RawField() != Field()
    assert len({Field(), Field(), Field(lower=True)}) == 2  # constant hash, attribute equality


def test_a_field_with_a_vocabulary_differs_from_one_without(questions_tsv):
    assert built_question_field(questions_tsv) != Field()
    assert built_question_field(questions_tsv) == built_question_field(questions_tsv)


@pytest.mark.parametrize(
    "field",
    [
        Field(),
        Field(tokenize="basic_english", lower=True, stop_words=["a"], dtype=torch.int32, include_lengths=True),
        Field(preprocessing=Pipeline(exclaim), postprocessing=reverse_rows, tokenize=list),
        Field(sequential=False, use_vocab=False, dtype=torch.float64),
        LabelField(),
        RawField(preprocessing=str.strip, is_target=True),
    ],
    ids=["default", "named-tokenizer", "functions", "numbers", "label", "raw"],
)
def test_pickle_before_build_vocab_gives_an_equal_field(field):
    loaded = pickle.loads(pickle.dumps(field))
    assert loaded == field and type(loaded) is type(field)
    if isinstance(field, Field):
        assert loaded.dtype is field.dtype and loaded.preprocess("Hello a World") == field.preprocess("Hello a World")


def test_pickle_after_build_vocab_numericalizes_the_same(questions_tsv):
    question = built_question_field(questions_tsv, tokenize="basic_english")
    loaded = pickle.loads(pickle.dumps(question))
    assert loaded == question and loaded.vocab == question.vocab
    assert isinstance(loaded.tokenize, Tokenizer) and loaded.tokenize.name == "basic_english"
    assert torch.equal(loaded.numericalize(PADDED), question.numericalize(PADDED))
    assert loaded.vocab.stoi["never-seen"] == 0


def test_torch_save_and_load_with_weights_only_false(questions_tsv, tmp_path):
    # torch >= 2.6 loads with weights_only=True by default, which refuses any Python object (legacy fields too)
    question = built_question_field(questions_tsv)
    torch.save(question, tmp_path / "question.pt")
    loaded = torch.load(tmp_path / "question.pt", weights_only=False)
    assert loaded == question
    assert torch.equal(loaded.numericalize(PADDED), question.numericalize(PADDED))


def test_pickled_state_names_the_dtype():
    state = Field(dtype=torch.int32).__getstate__()
    assert state["dtype"] == "int32"
    with pytest.raises(pickle.UnpicklingError, match="dtype"):
        Field().__setstate__({**state, "dtype": "load"})


def local_tokenizer_field():
    def split_commas(text):
        return text.split(",")

    return Field(tokenize=split_commas)


@pytest.mark.parametrize(
    ("field", "attribute"),
    [
        (Field(tokenize=lambda s: s.split()), "tokenize"),
        (local_tokenizer_field(), "tokenize"),
        (Field(preprocessing=lambda tokens: tokens), "preprocessing"),
        (Field(preprocessing=Pipeline(str.lower).add_after(lambda t: t)), "preprocessing"),
        (LabelField(postprocessing=lambda arr, vocab: arr), "postprocessing"),
        (RawField(postprocessing=lambda batch: batch), "postprocessing"),
    ],
)
def test_a_lambda_or_local_function_cannot_pickle_and_the_error_names_it(field, attribute):
    with pytest.raises(FieldPicklingError, match=f"its {attribute} is") as info:
        pickle.dumps(field)
    assert isinstance(info.value, pickle.PicklingError)
