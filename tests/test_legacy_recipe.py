"""A torchtext 0.8 script as users wrote it for the Packt NewsClassification files, with only the import changed
(``from torchtext import data`` -> ``from textcls import data``), run for one epoch on the real files."""

import csv
import gzip
import io
import math
from collections import Counter

import pytest
import torch
import torch.nn as nn

from textcls import data

TOPICS = ["Business", "SciTech", "Sports", "World"]
AG_CLASS_TO_COLUMN = {"1": "World", "2": "Sports", "3": "Business", "4": "SciTech"}
SIZES = {"train": 5000, "valid": 1000, "test": 1600}
FIRST_ID = {"train": 0, "valid": 5000, "test": 6000}


@pytest.fixture(scope="module")
def packt_dir(shared_data):
    return shared_data / "ag_news" / "packt_newsclassification"


@pytest.fixture(scope="module")
def ag_class_counts(shared_data):
    """Per-split class counts from AG's own labels (the Packt ids are AG test.csv rows)."""
    text = gzip.decompress((shared_data / "ag_news" / "test.csv.gz").read_bytes()).decode("utf-8")
    classes = [AG_CLASS_TO_COLUMN[row[0]] for row in csv.reader(io.StringIO(text))]
    return {split: Counter(classes[FIRST_ID[split] : FIRST_ID[split] + n]) for split, n in SIZES.items()}


@pytest.fixture(scope="module")
def legacy(packt_dir):
    """The legacy script, verbatim apart from the import and the two textcls-only reader options."""
    tokenize = lambda x: x.split()  # noqa: E731 - as the book wrote it
    TEXT = data.Field(
        sequential=True, tokenize=tokenize, lower=True, include_lengths=True, batch_first=True, fix_length=None
    )
    LABEL = data.Field(sequential=False, use_vocab=False, dtype=torch.float)
    fields = [
        ("id", None),
        ("content", TEXT),
        ("Business", LABEL),
        ("SciTech", LABEL),
        ("Sports", LABEL),
        ("World", LABEL),
    ]
    train, valid, test = data.TabularDataset.splits(
        path=str(packt_dir),
        train="train.csv.gz",
        validation="valid.csv.gz",
        test="test.csv.gz",
        format="csv",
        fields=fields,
        skip_header=True,
        extra_fields="merge",
        merge_sep=";",
    )
    TEXT.build_vocab(train, min_freq=2)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    train_iterator, valid_iterator, test_iterator = data.BucketIterator.splits(
        (train, valid, test),
        batch_sizes=(64, 64, 64),
        sort_key=lambda x: len(x.content),
        sort_within_batch=True,
        device=device,
    )
    return {
        "TEXT": TEXT,
        "LABEL": LABEL,
        "datasets": {"train": train, "valid": valid, "test": test},
        "iterators": {"train": train_iterator, "valid": valid_iterator, "test": test_iterator},
        "device": device,
    }


def test_dataset_sizes(legacy):
    assert {name: len(ds) for name, ds in legacy["datasets"].items()} == SIZES
    train = legacy["datasets"]["train"]
    assert train[0].content[:4] == ["unions", "representing", "workers", "at"]
    assert train[0].Business == "1" and train[0].World == "0"
    assert "&lt;aapl.o&gt;" in " ".join(train[11].content)  # the ';' the file lost is back


def test_vocab_is_plausible(legacy):
    vocab = legacy["TEXT"].vocab
    assert 8000 < len(vocab) < 13000
    assert vocab.itos[:2] == ["<unk>", "<pad>"]
    assert vocab.itos[2] == "the"
    assert all(token == token.lower() for token in vocab.itos)
    counts = vocab.freqs
    assert all(counts[token] >= 2 for token in vocab.itos[2:])
    assert len(vocab) - 2 == sum(1 for c in counts.values() if c >= 2)
    assert vocab.stoi["a-word-never-seen"] == 0


@pytest.mark.parametrize("split", ["train", "valid", "test"])
def test_one_epoch(legacy, ag_class_counts, split):
    iterator = legacy["iterators"][split]
    pad = legacy["TEXT"].vocab.stoi["<pad>"]
    assert len(iterator) == math.ceil(SIZES[split] / 64)
    seen, per_class, batches = 0, Counter(), 0
    for batch in iterator:
        text, lengths = batch.content
        size = text.shape[0]
        assert 1 <= size <= 64 and lengths.shape == (size,)
        assert text.dim() == 2 and text.dtype == torch.long and text.shape[1] == int(lengths.max())
        assert text.device.type == legacy["device"].type
        assert lengths.tolist() == sorted(lengths.tolist(), reverse=True)
        assert int((text != pad).sum()) == int(lengths.sum())
        labels = torch.stack([batch.Business, batch.SciTech, batch.Sports, batch.World], dim=1)
        assert labels.dtype == torch.float and labels.shape == (size, 4)
        assert ((labels == 0) | (labels == 1)).all()
        assert labels.sum(dim=1).tolist() == [1.0] * size
        per_class.update(TOPICS[i] for i in labels.argmax(dim=1).tolist())
        seen += size
        batches += 1
    assert seen == SIZES[split]
    assert batches == len(iterator)
    assert per_class == ag_class_counts[split]


def test_model_step_on_a_batch(legacy):
    """The rest of the book's recipe: embed, pack by lengths, LSTM, BCE on the stacked one-hot labels."""
    torch.manual_seed(0)
    vocab = legacy["TEXT"].vocab
    embedding = nn.Embedding(len(vocab), 16, padding_idx=vocab.stoi["<pad>"])
    lstm = nn.LSTM(16, 8, batch_first=True)
    head = nn.Linear(8, 4)
    batch = next(iter(legacy["iterators"]["train"]))
    text, lengths = batch.content
    text = text.cpu()
    packed = nn.utils.rnn.pack_padded_sequence(embedding(text), lengths.cpu(), batch_first=True)  # sorted: OK
    _, (hidden, _) = lstm(packed)
    logits = head(hidden[-1])
    target = torch.stack([batch.Business, batch.SciTech, batch.Sports, batch.World], dim=1).cpu()
    loss = nn.functional.binary_cross_entropy_with_logits(logits, target)
    loss.backward()
    assert logits.shape == (text.shape[0], 4)
    assert torch.isfinite(loss) and embedding.weight.grad is not None


def test_train_epochs_shuffle_eval_epochs_do_not(legacy):
    train_it, test_it = legacy["iterators"]["train"], legacy["iterators"]["test"]

    def first_lengths(it):
        return [b.content[1].tolist() for b in it][:5]

    assert first_lengths(train_it) != first_lengths(train_it)
    assert first_lengths(test_it) == first_lengths(test_it)


# ----------------------------------------------------------------------- the LabelField + OneHot variant
@pytest.mark.parametrize("spec", ["list", "dict"])
def test_labelfield_onehot_variant(packt_dir, ag_class_counts, spec):
    TEXT = data.Field(tokenize=lambda x: x.split(), lower=True, include_lengths=True, batch_first=True)
    LABEL = data.LabelField()
    if spec == "list":
        fields = [("id", None), ("content", TEXT), ("label", data.OneHot(LABEL, TOPICS))]
        kwargs = {"skip_header": True}
    else:
        fields = {"content": ("content", TEXT), tuple(TOPICS): ("label", LABEL)}
        kwargs = {}
    train, valid, test = data.TabularDataset.splits(
        path=packt_dir,
        train="train.csv.gz",
        validation="valid.csv.gz",
        test="test.csv.gz",
        format="csv",
        fields=fields,
        extra_fields="merge",
        merge_sep=";",
        **kwargs,
    )
    assert (len(train), len(valid), len(test)) == (5000, 1000, 1600)
    # legacy torchtext keeps a positional ("id", None) entry in dataset.fields (never read nor batched)
    assert train.fields == ({"id": None} if spec == "list" else {}) | {"content": TEXT, "label": LABEL}
    TEXT.build_vocab(train, min_freq=2)
    LABEL.build_vocab(train)
    assert sorted(LABEL.vocab.itos) == sorted(TOPICS)
    assert LABEL.vocab.itos == [c for c, _ in sorted(ag_class_counts["train"].items(), key=lambda kv: (-kv[1], kv[0]))]
    iterators = data.BucketIterator.splits(
        (train, valid, test), batch_size=64, sort_key=lambda x: len(x.content), sort_within_batch=True, device=-1
    )
    for split, iterator in zip(("train", "valid", "test"), iterators):
        per_class = Counter()
        for batch in iterator:
            (text, lengths), label = batch
            assert label.dtype == torch.long and label.shape == (text.shape[0],) == lengths.shape
            assert text.device.type == "cpu"
            per_class.update(LABEL.vocab.itos[i] for i in label.tolist())
        assert per_class == ag_class_counts[split]
