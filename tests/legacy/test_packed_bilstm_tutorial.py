"""A packed-BiLSTM sentiment tutorial in the legacy torchtext style, with only its imports changed.

The script is the widely copied "upgraded sentiment analysis" recipe: a spaCy tokenizer named by pipeline
(``en_core_web_sm``, not installed here: textcls falls back to spaCy's rule-based English tokenizer with one
warning), ``include_lengths``, ``datasets.IMDB.splits``, ``Dataset.split(random_state=random.seed(SEED))``,
``build_vocab(max_size=..., vectors="glove.6B.100d", unk_init=torch.Tensor.normal_)`` with the vectors file in
legacy's default cache ``./.vector_cache/``, ``LabelField(dtype=torch.float)``, ``BucketIterator.splits(...,
sort_within_batch=True)`` and ``pack_padded_sequence``. The IMDB archive layout and the vectors file are
generated (small reviews whose words carry the sentiment; random 100-d vectors), so the test needs no download.
Sizes are the tutorial's except the number of epochs and the hidden size.
"""

import logging
import random

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.optim as optim

from textcls import data, datasets

POSITIVE = "wonderful brilliant moving superb delightful masterpiece charming gripping".split()
NEGATIVE = "awful boring dreadful tedious clumsy disappointing lifeless painful".split()
NEUTRAL = (
    "the film story actor plot scene director camera music script ending character audience cast it was "
    "and a of this movie with its in very quite rather"
).split()


def write_review(path, rng, positive):
    words = rng.choices(NEUTRAL, k=rng.randint(8, 40))
    cues = rng.choices(POSITIVE if positive else NEGATIVE, k=rng.randint(1, 3))
    for cue in cues:
        words.insert(rng.randrange(len(words) + 1), cue)
    text = " ".join(words).capitalize() + ". It's <br /><br /> a " + ("must-see!" if positive else "skip, sadly.")
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def tutorial_dir(tmp_path, monkeypatch):
    """``.data/imdb/aclImdb/{train,test}/{pos,neg}/ID_RATING.txt`` and ``.vector_cache/glove.6B.100d.txt``."""
    rng = random.Random(7)
    vocabulary = set()
    for split, count in (("train", 160), ("test", 80)):
        for label in ("pos", "neg"):
            folder = tmp_path / ".data" / "imdb" / "aclImdb" / split / label
            folder.mkdir(parents=True)
            for i in range(count // 2):
                rating = rng.randint(7, 10) if label == "pos" else rng.randint(1, 4)
                write_review(folder / f"{i}_{rating}.txt", rng, label == "pos")
    vocabulary.update(POSITIVE + NEGATIVE + [w.capitalize() for w in NEUTRAL] + NEUTRAL + [".", "It", "'s", "a"])
    vectors = np.random.default_rng(0).normal(size=(len(vocabulary), 100)).round(4)
    lines = [f"{word} " + " ".join(map(str, row)) for word, row in zip(sorted(vocabulary), vectors)]
    (tmp_path / ".vector_cache").mkdir()
    (tmp_path / ".vector_cache" / "glove.6B.100d.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


class RNN(nn.Module):
    def __init__(self, vocab_size, embedding_dim, hidden_dim, output_dim, n_layers, bidirectional, dropout, pad_idx):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_idx)
        self.rnn = nn.LSTM(embedding_dim, hidden_dim, num_layers=n_layers, bidirectional=bidirectional, dropout=dropout)
        self.fc = nn.Linear(hidden_dim * 2, output_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, text, text_lengths):
        embedded = self.dropout(self.embedding(text))
        packed_embedded = nn.utils.rnn.pack_padded_sequence(embedded, text_lengths.to("cpu"))
        packed_output, (hidden, cell) = self.rnn(packed_embedded)
        output, output_lengths = nn.utils.rnn.pad_packed_sequence(packed_output)
        hidden = self.dropout(torch.cat((hidden[-2, :, :], hidden[-1, :, :]), dim=1))
        return self.fc(hidden)


def binary_accuracy(preds, y):
    rounded_preds = torch.round(torch.sigmoid(preds))
    correct = (rounded_preds == y).float()
    return correct.sum() / len(correct)


def train(model, iterator, optimizer, criterion):
    epoch_loss = epoch_acc = 0
    model.train()
    for batch in iterator:
        optimizer.zero_grad()
        text, text_lengths = batch.text
        predictions = model(text, text_lengths).squeeze(1)
        loss = criterion(predictions, batch.label)
        acc = binary_accuracy(predictions, batch.label)
        loss.backward()
        optimizer.step()
        epoch_loss += loss.item()
        epoch_acc += acc.item()
    return epoch_loss / len(iterator), epoch_acc / len(iterator)


def evaluate(model, iterator, criterion):
    epoch_loss = epoch_acc = 0
    model.eval()
    with torch.no_grad():
        for batch in iterator:
            text, text_lengths = batch.text
            predictions = model(text, text_lengths).squeeze(1)
            epoch_loss += criterion(predictions, batch.label).item()
            epoch_acc += binary_accuracy(predictions, batch.label).item()
    return epoch_loss / len(iterator), epoch_acc / len(iterator)


def test_the_tutorial_runs_and_learns(tutorial_dir, caplog, one_torch_thread):
    SEED = 1234
    random.seed(SEED)
    torch.manual_seed(SEED)
    torch.backends.cudnn.deterministic = True

    with caplog.at_level(logging.WARNING):
        TEXT = data.Field(tokenize="spacy", tokenizer_language="en_core_web_sm", include_lengths=True)
        LABEL = data.LabelField(dtype=torch.float)
        train_data, test_data = datasets.IMDB.splits(TEXT, LABEL)
    fallback = [r for r in caplog.records if "en_core_web_sm" in r.getMessage()]
    assert len(fallback) == 1  # one warning line: the pipeline is missing, its language's tokenizer is used

    train_data, valid_data = train_data.split(random_state=random.seed(SEED))
    assert (len(train_data), len(valid_data), len(test_data)) == (112, 48, 80)

    MAX_VOCAB_SIZE = 25_000
    TEXT.build_vocab(train_data, max_size=MAX_VOCAB_SIZE, vectors="glove.6B.100d", unk_init=torch.Tensor.normal_)
    LABEL.build_vocab(train_data)
    assert sorted(LABEL.vocab.itos) == ["neg", "pos"]

    BATCH_SIZE = 64
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    train_iterator, valid_iterator, test_iterator = data.BucketIterator.splits(
        (train_data, valid_data, test_data), batch_size=BATCH_SIZE, sort_within_batch=True, device=device
    )

    INPUT_DIM = len(TEXT.vocab)
    EMBEDDING_DIM = 100
    HIDDEN_DIM = 64  # the tutorial's 256 trains the same, four times slower
    OUTPUT_DIM = 1
    N_LAYERS = 2
    BIDIRECTIONAL = True
    DROPOUT = 0.5
    PAD_IDX = TEXT.vocab.stoi[TEXT.pad_token]
    model = RNN(INPUT_DIM, EMBEDDING_DIM, HIDDEN_DIM, OUTPUT_DIM, N_LAYERS, BIDIRECTIONAL, DROPOUT, PAD_IDX)

    pretrained_embeddings = TEXT.vocab.vectors
    assert pretrained_embeddings.shape == (INPUT_DIM, EMBEDDING_DIM)
    model.embedding.weight.data.copy_(pretrained_embeddings)
    UNK_IDX = TEXT.vocab.stoi[TEXT.unk_token]
    model.embedding.weight.data[UNK_IDX] = torch.zeros(EMBEDDING_DIM)
    model.embedding.weight.data[PAD_IDX] = torch.zeros(EMBEDDING_DIM)

    optimizer = optim.Adam(model.parameters())
    criterion = nn.BCEWithLogitsLoss()
    model = model.to(device)
    criterion = criterion.to(device)

    for batch in train_iterator:  # what pack_padded_sequence(enforce_sorted=True) needs
        text, lengths = batch.text
        assert lengths.tolist() == sorted(lengths.tolist(), reverse=True)
        assert text.shape == (int(lengths[0]), len(batch))  # [time, batch]
        assert batch.label.dtype == torch.float

    for _ in range(8):
        train(model, train_iterator, optimizer, criterion)
    valid_loss, valid_acc = evaluate(model, valid_iterator, criterion)
    test_loss, test_acc = evaluate(model, test_iterator, criterion)
    assert valid_acc > 0.9 and test_acc > 0.9


def test_unk_init_normal_fills_rows_the_vectors_file_lacks(tutorial_dir):
    """``unk_init=torch.Tensor.normal_`` draws rows for words without a vector; words with one get the file's."""
    TEXT = data.Field(tokenize="spacy", tokenizer_language="en_core_web_sm", include_lengths=True)
    LABEL = data.LabelField(dtype=torch.float)
    train_data, _ = datasets.IMDB.splits(TEXT, LABEL)
    torch.manual_seed(0)
    TEXT.build_vocab(train_data, vectors="glove.6B.100d", unk_init=torch.Tensor.normal_)
    lines = (tutorial_dir / ".vector_cache" / "glove.6B.100d.txt").read_text(encoding="utf-8").splitlines()
    known = {line.split(" ", 1)[0]: line.split()[1:] for line in lines}
    vectors = TEXT.vocab.vectors
    assert torch.allclose(vectors[TEXT.vocab.stoi["superb"]], torch.tensor([float(v) for v in known["superb"]]))
    missing = [word for word in TEXT.vocab.itos if word not in known and word != "<pad>"]
    assert "<unk>" in missing and "must" in missing  # spaCy splits "must-see" into must - see
    rows = vectors[[TEXT.vocab.stoi[word] for word in missing]]
    assert rows.abs().sum(dim=1).min() > 0 and 0.7 < rows.std().item() < 1.3
    assert not vectors[TEXT.vocab.stoi["<pad>"]].any()  # deliberate: the padding row stays zero
