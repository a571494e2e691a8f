"""Legacy ``torchtext.datasets.LanguageModelingDataset`` / ``WikiText2`` / ``WikiText103`` / ``PennTreebank``
(torchtext.legacy.datasets.language_modeling): one example holding every token of a file with ``<eos>`` per
line, the corpora's layouts under ``root/<name>/``, ``splits`` / ``iters`` and the ``BPTTIterator`` batches they
feed. The calls of torchtext's own ``test_wikitext2_legacy`` / ``test_penntreebank_legacy`` are made here on
small corpora in the real layout (nothing is downloaded: ``TEXTCLS_OFFLINE`` is set).
"""

import io
import logging
import math
import zipfile

import pytest
import torch

from textcls import data, datasets
from textcls.data.download import OFFLINE_ENV
from textcls.datasets import LanguageModelingDataset, PennTreebank, WikiText2, WikiText103
from textcls.errors import DataError
from textcls.vocab import Vectors

WIKI_FILES = ("wiki.train.tokens", "wiki.valid.tokens", "wiki.test.tokens")
PTB_FILES = ("ptb.train.txt", "ptb.valid.txt", "ptb.test.txt")
WORDS = "the cat sat on a mat while N dogs <unk> barked at the moon".split()


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """No test here may download: a missing file must give the offline error at once."""
    monkeypatch.setenv(OFFLINE_ENV, "1")


def corpus(lines: int, seed: int) -> str:
    """``lines`` lines of 0-11 words (some empty, some capitalised), like the WikiText / PTB files."""
    words = []
    for number in range(lines):
        count = (number * 7 + seed) % 12
        line = [WORDS[(number * 5 + i * 3 + seed) % len(WORDS)] for i in range(count)]
        words.append(" ".join(word.capitalize() if (i + number) % 4 == 0 else word for i, word in enumerate(line)))
    return "\n".join(words) + "\n"


def write_corpora(folder, names, lines=(60, 20, 25)):
    folder.mkdir(parents=True, exist_ok=True)
    texts = {}
    for seed, (name, count) in enumerate(zip(names, lines)):
        texts[name] = corpus(count, seed)
        (folder / name).write_text(texts[name], encoding="utf-8")
    return texts


def expected_tokens(text: str) -> list[str]:
    """What legacy built for ``Field(lower=True)``: each line's tokens, lower-cased, then ``<eos>``."""
    return [token for line in text.splitlines() for token in [*line.lower().split(), "<eos>"]]


def one_line(exc_info) -> str:
    message = str(exc_info.value)
    assert "\n" not in message
    return message


def batches_as_stream(iterator):
    """Concatenate the batches of a (time-major) BPTT iterator back into ``[steps, batch]`` text and target."""
    batches = list(iterator)
    return torch.cat([b.text for b in batches]), torch.cat([b.target for b in batches]), batches


# --- the dataset -----------------------------------------------------------------------------------------
def test_package_exports_and_the_legacy_layouts():
    assert datasets.WikiText2 is WikiText2 and datasets.PennTreebank is PennTreebank
    assert datasets.LanguageModelingDataset is LanguageModelingDataset and datasets.WikiText103 is WikiText103
    assert (WikiText2.name, WikiText2.dirname) == ("wikitext-2", "wikitext-2")
    assert WikiText2.urls == ["https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-2-v1.zip"]
    assert (WikiText103.name, WikiText103.dirname) == ("wikitext-103", "wikitext-103")
    assert WikiText103.urls == ["https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-103-v1.zip"]
    assert (PennTreebank.name, PennTreebank.dirname) == ("penn-treebank", "")
    assert [url.rsplit("/", 1)[1] for url in PennTreebank.urls] == list(PTB_FILES)
    assert all(issubclass(cls, LanguageModelingDataset) for cls in (WikiText2, WikiText103, PennTreebank))


def test_one_example_holds_every_token_with_eos_after_each_line(tmp_path):
    file = tmp_path / "corpus.txt"
    file.write_text("The cat sat\n\nOn the MAT\nlast line without newline", encoding="utf-8")
    dataset = LanguageModelingDataset(str(file), data.Field(lower=True))
    assert len(dataset) == 1
    assert list(dataset.fields) == ["text"]
    assert dataset[0].text == [
        *["the", "cat", "sat", "<eos>"],
        "<eos>",  # the empty line
        *["on", "the", "mat", "<eos>"],
        *["last", "line", "without", "newline", "<eos>"],
    ]


def test_eos_is_the_literal_token_whatever_the_field_says(tmp_path):
    file = tmp_path / "corpus.txt"
    file.write_text("a b\nc\n", encoding="utf-8")
    field = data.Field(eos_token="</s>", init_token="<s>")
    assert LanguageModelingDataset(file, field)[0].text == ["a", "b", "<eos>", "c", "<eos>"]


def test_newline_eos_false_just_joins_the_lines(tmp_path):
    file = tmp_path / "corpus.txt"
    file.write_text("a b\r\nc\n\nd\n", encoding="utf-8")
    dataset = LanguageModelingDataset(file, data.Field(), newline_eos=False)
    assert dataset[0].text == ["a", "b", "c", "d"]


def test_encoding_and_a_file_that_does_not_decode(tmp_path):
    file = tmp_path / "latin.txt"
    file.write_bytes(b"plain line\ncaf\xe9 ol\xe9\n")
    assert LanguageModelingDataset(file, data.Field(), encoding="latin-1")[0].text[3:5] == ["café", "olé"]
    with pytest.raises(DataError) as exc_info:
        LanguageModelingDataset(file, data.Field())
    message = one_line(exc_info)
    assert message.startswith(f"{file}:2: ") and "encoding=" in message


def test_a_missing_file_is_one_line_naming_it(tmp_path):
    with pytest.raises(DataError) as exc_info:
        LanguageModelingDataset(tmp_path / "nope.txt", data.Field())
    assert str(tmp_path / "nope.txt") in one_line(exc_info)


def test_filter_pred_is_passed_to_the_dataset(tmp_path):
    file = tmp_path / "corpus.txt"
    file.write_text("a b\n", encoding="utf-8")
    assert len(LanguageModelingDataset(file, data.Field(), filter_pred=lambda ex: len(ex.text) > 5)) == 0


# --- the corpora, as torchtext's own tests call them ------------------------------------------------------
def test_wikitext2_calls_of_the_legacy_test_on_the_default_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    texts = write_corpora(tmp_path / ".data" / "wikitext-2" / "wikitext-2", WIKI_FILES)

    text_field = data.Field(lower=True, batch_first=True)
    train, valid, test = WikiText2.splits(text_field)
    for split, name in zip((train, valid, test), WIKI_FILES):
        assert len(split) == 1
        assert split[0].text == expected_tokens(texts[name])
    text_field.build_vocab(train)
    assert "<eos>" in text_field.vocab.stoi and "The" not in text_field.vocab.stoi
    train_iter, valid_iter, test_iter = data.BPTTIterator.splits((train, valid, test), batch_size=3, bptt_len=30)
    first = next(iter(train_iter))
    assert first.text.shape == first.target.shape == (3, 30)  # batch_first
    assert torch.equal(first.text[:, 1:], first.target[:, :-1])

    train_iter, valid_iter, test_iter = WikiText2.iters(batch_size=4, bptt_len=30)
    assert [type(it) for it in (train_iter, valid_iter, test_iter)] == [data.BPTTIterator] * 3
    batch = next(iter(valid_iter))
    assert batch.text.shape == (30, 4)  # iters' own Field() is time-major
    assert len(train_iter) == math.ceil((len(train[0].text) / 4 - 1) / 30)


def test_penntreebank_calls_of_the_legacy_test_on_the_default_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    texts = write_corpora(tmp_path / ".data" / "penn-treebank", PTB_FILES)

    text_field = data.Field(lower=True, batch_first=True)
    train, valid, test = PennTreebank.splits(text_field)
    assert [split[0].text for split in (train, valid, test)] == [expected_tokens(texts[name]) for name in PTB_FILES]
    text_field.build_vocab(train)
    train_iter, valid_iter, test_iter = data.BPTTIterator.splits((train, valid, test), batch_size=3, bptt_len=30)
    assert next(iter(test_iter)).text.shape == (3, 30)

    train_iter, valid_iter, test_iter = PennTreebank.iters(batch_size=4, bptt_len=30)
    assert len(list(train_iter)) == len(train_iter) == math.ceil((len(train[0].text) / 4 - 1) / 30)


def test_wikitext103_reads_its_own_folder(tmp_path):
    texts = write_corpora(tmp_path / "wikitext-103" / "wikitext-103", WIKI_FILES)
    train, valid, test = WikiText103.splits(data.Field(lower=True), root=str(tmp_path))
    assert test[0].text == expected_tokens(texts["wiki.test.tokens"])


def test_bptt_batches_walk_the_padded_stream_with_the_target_one_step_ahead(tmp_path):
    write_corpora(tmp_path / "penn-treebank", PTB_FILES)
    text_field = data.Field()
    train, valid, test = PennTreebank.splits(text_field, root=tmp_path)
    text_field.build_vocab(train)
    tokens = train[0].text
    batch_size, bptt_len = 4, 7
    iterator = data.BPTTIterator(train, batch_size=batch_size, bptt_len=bptt_len)

    text, target, batches = batches_as_stream(iterator)
    assert len(batches) == len(iterator) == math.ceil((len(tokens) / batch_size - 1) / bptt_len)
    assert all(b.text.shape == b.target.shape == (bptt_len, batch_size) for b in batches[:-1])
    assert batches[-1].text.shape[0] <= bptt_len

    # column j is the j-th contiguous slice of the corpus, padded to a multiple of batch_size
    steps = math.ceil(len(tokens) / batch_size)
    padded = tokens + [text_field.pad_token] * (steps * batch_size - len(tokens))
    ids = torch.tensor([text_field.vocab.stoi[token] for token in padded]).view(batch_size, steps).t()
    assert torch.equal(text, ids[: len(text)])
    assert torch.equal(target, ids[1 : len(text) + 1])  # the target is the text shifted by one, across batches
    assert len(text) == steps - 1  # every position but the last has a target


def test_splits_can_skip_a_split_and_take_an_explicit_path(tmp_path):
    write_corpora(tmp_path / "mine", WIKI_FILES)
    splits = WikiText2.splits(data.Field(), path=str(tmp_path / "mine"), validation=None)
    assert len(splits) == 2
    iterators = WikiText2.iters(batch_size=2, bptt_len=5, path=str(tmp_path / "mine"), test=None)
    assert len(iterators) == 2


def test_wikitext2_is_extracted_from_its_zip_in_the_folder(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zfile:
        for name in WIKI_FILES:
            zfile.writestr(f"wikitext-2/{name}", " = Heading = \n\n Some words here . \n")
    (tmp_path / "wikitext-2").mkdir()
    (tmp_path / "wikitext-2" / "wikitext-2-v1.zip").write_bytes(buffer.getvalue())
    train, valid, test = WikiText2.splits(data.Field(), root=str(tmp_path))
    assert train[0].text == ["=", "Heading", "=", "<eos>", "<eos>", "Some", "words", "here", ".", "<eos>"]
    assert (tmp_path / "wikitext-2" / "wikitext-2" / "wiki.valid.tokens").is_file()


def test_wikitext2_missing_offline_names_the_zip_its_url_and_the_folder(tmp_path):
    with pytest.raises(DataError) as exc_info:
        WikiText2.splits(data.Field(), root=str(tmp_path))
    message = one_line(exc_info)
    assert "wikitext-2-v1.zip" in message and WikiText2.urls[0] in message
    assert str(tmp_path / "wikitext-2") in message


def test_penntreebank_one_file_missing_offline_names_that_file_and_its_url(tmp_path, caplog):
    write_corpora(tmp_path / "penn-treebank", ("ptb.train.txt", "ptb.test.txt"))
    with caplog.at_level(logging.WARNING, logger="textcls"), pytest.raises(DataError) as exc_info:
        PennTreebank.splits(data.Field(), root=str(tmp_path))
    message = one_line(exc_info)
    assert "ptb.valid.txt" in message and PennTreebank.urls[1] in message
    assert str(tmp_path / "penn-treebank") in message
    assert "ptb.valid.txt" in caplog.text


def test_iters_attaches_the_given_vectors_to_the_training_vocabulary(tmp_path):
    write_corpora(tmp_path / "penn-treebank", PTB_FILES)
    vectors_file = tmp_path / "tiny.txt"
    vectors_file.write_text("cat 1.0 2.0\nmoon 3.0 4.0\n", encoding="utf-8")
    train_iter, _, _ = PennTreebank.iters(
        batch_size=2, bptt_len=5, root=str(tmp_path), vectors=Vectors(str(vectors_file), cache=False)
    )
    vocab = train_iter.dataset.fields["text"].vocab
    assert vocab.vectors.shape == (len(vocab), 2)
    assert vocab.vectors[vocab.stoi["moon"]].tolist() == [3.0, 4.0]
