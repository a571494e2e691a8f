"""Legacy torchtext ``Batch`` (``torchtext.legacy.data.batch`` 0.11.2 / ``torchtext.data.batch`` 0.8.1).

A batch has one attribute per field, ``dataset``, ``fields`` (``dataset.fields.keys()``), ``input_fields`` /
``target_fields``, unpacks as ``inputs, targets``, prints legacy's summary, and can be built from tensors with
``fromvars``. Expected strings are legacy's format, written out by hand.
"""

import pickle

import pytest
import torch

from textcls.data import Dataset, Example, Field, LabelField, RawField, TabularDataset
from textcls.data.iterators import Batch, FieldCollator, Iterator

BATCH = f"{Batch.__module__}.Batch"


@pytest.fixture
def reviews(tmp_path):
    """A TSV of ``id, text, score, label`` rows read with a column left out (``("skip", None)``)."""
    rows = ["1\tgood film\tjunk\t0.5\tpos", "2\ta very dull plot\tjunk\t0.25\tneg", "3\tfine\tjunk\t1.0\tpos"]
    path = tmp_path / "reviews.tsv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    TEXT = Field()
    SCORE = Field(sequential=False, use_vocab=False, dtype=torch.float)
    LABEL = LabelField()
    fields = [("id", RawField()), ("text", TEXT), ("skip", None), ("score", SCORE), ("label", LABEL)]
    ds = TabularDataset(path, format="tsv", fields=fields)
    TEXT.build_vocab(ds)
    LABEL.build_vocab(ds)
    return ds


def first_batch(ds, **kwargs):
    return next(iter(Iterator(ds, batch_size=len(ds), shuffle=False, sort=False, **kwargs)))


def test_attributes_dataset_and_fields(reviews):
    b = first_batch(reviews)
    assert b.dataset is reviews
    assert b.fields == reviews.fields.keys()  # a keys view, as legacy: the skipped column included
    assert list(b.fields) == ["id", "text", "skip", "score", "label"]
    assert b.input_fields == ["id", "text", "score"] and b.target_fields == ["label"]
    assert not hasattr(b, "skip")
    assert b.id == ["1", "2", "3"] and len(b) == b.batch_size == 3
    assert b.text.shape == (4, 3)  # [time, batch]
    assert b.score.dtype == torch.float and b.score.tolist() == [0.5, 0.25, 1.0]


def test_unpacks_as_inputs_then_targets(reviews):
    b = first_batch(reviews)
    inputs, target = b
    assert inputs[0] == b.id and inputs[1] is b.text and inputs[2] is b.score
    assert target is b.label
    only_text = {"text": reviews.fields["text"], "label": reviews.fields["label"]}
    text, label = Batch(reviews.examples, fields=only_text)
    assert torch.equal(text, b.text) and torch.equal(label, b.label)
    no_target = Batch(reviews.examples, fields={"text": reviews.fields["text"]})
    assert list(no_target)[1] is None


def test_str_is_legacy_summary(reviews):
    b = first_batch(reviews)
    assert str(b) == (
        f"\n[{BATCH} of size 3]\n"
        "\t[.id]:['1', '2', '3']\n"
        "\t[.text]:[torch.LongTensor of size 4x3]\n"
        "\t[.score]:[torch.FloatTensor of size 3]\n"
        "\t[.label]:[torch.LongTensor of size 3]"
    )
    assert repr(b) == str(b)
    assert str(Batch()) == f"Empty {BATCH} instance"


def test_str_names_the_dataset_and_shows_lengths():
    text = Field(include_lengths=True, batch_first=True)
    fields = [("text", text)]
    ds = Dataset([Example.fromlist(["one two"], fields), Example.fromlist(["three"], fields)], fields)
    ds.name = "imdb"
    text.build_vocab(ds)
    b = Batch(ds.examples, ds)
    expected_tuple = "('[torch.LongTensor of size 2x2]', '[torch.LongTensor of size 2]')"
    assert str(b) == f"\n[{BATCH} of size 2 from IMDB]\n\t[.text]:{expected_tuple}"


def test_batch_from_a_file_with_a_missing_field(tmp_path):
    path = tmp_path / "missing.csv"
    path.write_text("text,label\n1,0\n", encoding="utf-8")
    number = Field(use_vocab=False, sequential=False)
    ds = TabularDataset(path, format="csv", skip_header=True, fields=[("text", number), ("label", None)])
    b = next(iter(Iterator(ds, batch_size=64)))
    assert str(b) == f"\n[{BATCH} of size 1]\n\t[.text]:[torch.LongTensor of size 1]"
    assert list(b) == [b.text, None]


def test_fromvars_sets_values_and_field_names(reviews):
    text = torch.arange(6).view(3, 2)
    label = torch.tensor([1, 0])
    b = Batch.fromvars(reviews, 2, text=text, label=label)
    assert b.batch_size == len(b) == 2 and b.dataset is reviews
    assert b.fields == reviews.fields.keys()
    assert b.text is text and b.label is label
    assert b.target_fields == ["label"]
    assert f"[{BATCH} of size 2]" in str(b) and "[.text]:[torch.LongTensor of size 3x2]" in str(b)


def test_batch_pickles_for_dataloader_workers(reviews):
    b = first_batch(reviews)
    copy = pickle.loads(pickle.dumps(Batch(reviews.examples, fields=reviews.fields)))
    assert copy.fields == reviews.fields.keys() and copy.dataset is None
    assert torch.equal(copy.text, b.text) and copy.id == b.id
    assert copy.input_fields == b.input_fields and copy.target_fields == b.target_fields


def test_to_moves_tensors_and_keeps_other_values(reviews):
    text = Field(include_lengths=True)
    fields = {"id": RawField(), "text": text}
    examples = [Example.fromdict({"id": 1, "text": "a b"}, {"id": ("id", fields["id"]), "text": ("text", text)})]
    ds = Dataset(examples, fields)
    text.build_vocab(ds)
    b = Batch(ds.examples, ds).to(torch.device("cpu"))
    assert b.id == [1] and b.text[0].device.type == "cpu" and b.text[1].tolist() == [2]


def test_field_collator_batches_longest_first(reviews):
    collate = FieldCollator(reviews.fields, sort_within_batch=True)
    b = collate(reviews.examples)
    assert b.id == ["2", "1", "3"] and b.dataset is None
    assert b.fields == reviews.fields.keys()
