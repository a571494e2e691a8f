"""A torchtext 0.8 script as users wrote it for the Packt NewsClassification files, with only the import changed
(``from torchtext import data`` -> ``from textcls import data``), run for one epoch on generated files in the same
layout (``tests/generated.py``: ``id,content,Business,SciTech,Sports,World`` plus empty padding columns, and rows
whose content lost its ';' to unquoted commas, as in the book's train.csv)."""

import csv
import gzip
import math
from collections import Counter

import pytest
import torch
import torch.nn as nn
from generated import BOOK_DAMAGED_LINE, BOOK_PADDING

from textcls import data

TOPICS = ["Business", "SciTech", "Sports", "World"]
SIZES = {"train": 1200, "valid": 300, "test": 400}


@pytest.fixture(scope="module")
def packt_dir(generated):
    return generated.book


@pytest.fixture(scope="module")
def raw_rows(packt_dir):
    """Per split, ``(content, class)`` of each row read from the file by hand: the last columns are the one-hot
    labels and the padding, the rest is the content (its unquoted commas stand for the ';' the file lost)."""
    rows = {}
    for split in SIZES:
        lines = gzip.decompress((packt_dir / f"{split}.csv.gz").read_bytes()).decode("utf-8").splitlines()[1:]
        rows[split] = []
        for line in lines:
            head, *one_hot = line.rsplit(",", len(TOPICS) + BOOK_PADDING)[: 1 + len(TOPICS)]
            content = ";".join(next(csv.reader([head.split(",", 1)[1]])))
            rows[split].append((content, TOPICS[one_hot.index("1")]))
    return rows


@pytest.fixture(scope="module")
def ag_class_counts(raw_rows):
    """Per-split class counts, from the one-hot columns read by hand."""
    return {split: Counter(label for _, label in rows) for split, rows in raw_rows.items()}


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


def test_dataset_sizes(legacy, raw_rows):
    assert {name: len(ds) for name, ds in legacy["datasets"].items()} == SIZES
    train = legacy["datasets"]["train"]
    content, label = raw_rows["train"][0]
    assert train[0].content[:4] == content.lower().split()[:4]
    assert (train[0].World, train[0].Business) == (("1", "0") if label == "World" else ("0", "1"))
    damaged = BOOK_DAMAGED_LINE - 2  # file line 13: the header is line 1
    assert "aapl.o&gt;" in " ".join(train[damaged].content)  # the ';' the file lost is back
    assert [example.content for example in train] == [text.lower().split() for text, _ in raw_rows["train"]]


def test_vocab_is_plausible(legacy, raw_rows):
    vocab = legacy["TEXT"].vocab
    counted = Counter(token for text, _ in raw_rows["train"] for token in text.lower().split())
    assert len(vocab) == 2 + sum(1 for c in counted.values() if c >= 2) and 100 < len(vocab) < len(counted) + 2
    assert vocab.itos[:2] == ["<unk>", "<pad>"]
    assert vocab.itos[2] == min(counted, key=lambda token: (-counted[token], token))
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
    assert (len(train), len(valid), len(test)) == tuple(SIZES.values())
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
