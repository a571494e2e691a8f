"""Legacy ``Dataset.filter_examples(field_names)``: removes out-of-vocabulary words from the named attributes of
every example, using each field's vocabulary; examples are never dropped (torchtext.legacy.data 0.11)."""

import pytest

from textcls.data import Dataset, Example, Field, LabelField
from textcls.errors import ArgumentError

ROWS = [
    ("who is there", "bernardo is there", "1"),
    ("nay answer me", "stand unfold yourself", "0"),
    ("is Horatio there", "a piece of him", "0"),
]


def _dataset(min_freq=1, shared=True):
    question = Field()
    answer = question if shared else Field()
    fields = [("question", question), ("answer", answer), ("label", LabelField())]
    dataset = Dataset([Example.fromlist(row, fields) for row in ROWS], fields)
    question.build_vocab(dataset, min_freq=min_freq)
    if not shared:
        answer.build_vocab(dataset, min_freq=min_freq)
    return dataset


def test_removes_unknown_words_from_the_named_field_only():
    dataset = _dataset(min_freq=2)  # known: "is" (4 times), "there" (3 times)
    dataset.filter_examples(["question"])
    assert [ex.question for ex in dataset] == [["is", "there"], [], ["is", "there"]]
    assert [ex.answer for ex in dataset] == [row[1].split() for row in ROWS]
    assert len(dataset) == 3, "examples are kept, even when a field becomes empty"
    assert [ex.label for ex in dataset] == ["1", "0", "0"]


def test_several_fields_each_use_their_own_vocabulary():
    dataset = _dataset(shared=False)
    question_vocab = dataset.fields["question"].vocab
    answer_vocab = dataset.fields["answer"].vocab
    del question_vocab.stoi["there"]  # legacy test style: edit stoi, filtering follows it as it is now
    del answer_vocab.stoi["him"]
    dataset.filter_examples(["question", "answer"])
    assert dataset[0].question == ["who", "is"]
    assert dataset[0].answer == ["bernardo", "is", "there"]
    assert dataset[2].answer == ["a", "piece", "of"]


def test_a_word_removed_from_a_shared_vocabulary_leaves_every_field():
    dataset = _dataset()
    for word in ("who", "is", "there"):
        del dataset.fields["question"].vocab.stoi[word]
    dataset.filter_examples(["question", "answer"])
    assert dataset[0].question == [] and dataset[0].answer == ["bernardo"]
    assert dataset[2].question == ["Horatio"] and dataset[2].answer == ["a", "piece", "of", "him"]


def test_unknown_field_and_missing_vocabulary_are_argument_errors():
    dataset = _dataset()
    with pytest.raises(ArgumentError, match="'title' is not a field"):
        dataset.filter_examples(["title"])
    fields = [("text", Field())]
    unbuilt = Dataset([Example.fromlist(["a b"], fields)], fields)
    with pytest.raises(ArgumentError, match="build_vocab"):
        unbuilt.filter_examples(["text"])
