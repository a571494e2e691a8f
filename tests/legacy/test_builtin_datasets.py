"""Legacy ``torchtext.datasets`` / ``torchtext.legacy.datasets`` IMDB, SST and TREC: their file layouts under
``root/<name>/``, ``splits`` and ``iters`` signatures, labels, ``fine_grained`` / ``train_subtrees`` / ``filter_pred``,
and what happens when files are missing (no test downloads anything: ``TEXTCLS_OFFLINE`` is set).
"""

import io
import logging
import os
import pickle
import tarfile
import zipfile

import pytest

from textcls import data, datasets
from textcls.data.download import OFFLINE_ENV
from textcls.data.example import Example
from textcls.datasets import IMDB, SST, TREC
from textcls.datasets.trees import example_from_tree, parse_tree
from textcls.errors import DataError

REVIEWS = {
    "train/pos/0_9.txt": "A great film.<br />Loved it",
    "train/pos/1_7.txt": "Good fun",
    "train/neg/2_1.txt": "Awful, just awful",
    "test/pos/3_10.txt": "Best ever",
    "test/neg/4_2.txt": "Boring plot",
    "test/neg/5_3.txt": "Not good",
}

# SST lines: root labels 3, 1, 2, 0, 4 (phrases have their own labels)
TREES = [
    "(3 (2 It) (4 (2 's) (4 (3 good) (2 fun))))",
    "(1 (2 The) (0 (0 awful) (2 film)))",
    "(2 (2 Just) (2 okay))",
    "(0 (0 Terrible))",
    "(4 (4 Brilliant) (2 !))",
]

TREC_TRAIN = (
    b"DESC:manner How did serfdom develop in and then leave Russia ?\n"
    b"LOC:city What is the sister\xf0city of Paris ?\n"  # the stray byte of the real train_5500.label
    b"NUM:date When did the caf\xe9 open ?\n"  # Latin-1, not UTF-8
    b"\n"
    b"HUM:ind Who wrote Hamlet ?\n"
)
TREC_TEST = b"NUM:dist How far is it from Denver to Aspen ?\nENTY:animal What is a fish ?\n"


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """No test here may download: a missing file must give the offline error at once."""
    monkeypatch.setenv(OFFLINE_ENV, "1")


def fields():
    return data.Field(lower=True), data.Field(sequential=False)


def write_imdb(root, members=REVIEWS):
    for name, text in members.items():
        path = root / "imdb" / "aclImdb" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def imdb_archive(members) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in members.items():
            payload = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()


def write_sst(root, lines=TREES):
    trees = root / "sst" / "trees"
    trees.mkdir(parents=True)
    for split in ("train", "dev", "test"):
        (trees / f"{split}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_trec(root):
    folder = root / "trec"
    folder.mkdir(parents=True)
    (folder / "train_5500.label").write_bytes(TREC_TRAIN)
    (folder / "TREC_10.label").write_bytes(TREC_TEST)


def one_line(exc_info) -> str:
    message = str(exc_info.value)
    assert "\n" not in message
    return message


def test_package_imports_as_legacy_scripts_write_them():
    assert datasets.IMDB is IMDB and datasets.SST is SST and datasets.TREC is TREC
    assert (IMDB.name, IMDB.dirname) == ("imdb", "aclImdb")
    assert (SST.name, SST.dirname) == ("sst", "trees")
    assert (TREC.name, TREC.dirname) == ("trec", "")


# --- IMDB ------------------------------------------------------------------------------------------------
def test_imdb_splits_reads_pos_and_neg_review_files(tmp_path):
    write_imdb(tmp_path)
    text, label = fields()
    train, test = datasets.IMDB.splits(text, label, root=str(tmp_path))
    assert [ex.label for ex in train] == ["pos", "pos", "neg"]
    assert [ex.text for ex in train][0] == ["a", "great", "film.<br", "/>loved", "it"]
    assert sorted(" ".join(ex.text) for ex in test) == ["best ever", "boring plot", "not good"]
    assert train.fields == {"text": text, "label": label}
    assert IMDB.sort_key(train[1]) == 2 and train.sort_key is IMDB.sort_key


def test_imdb_is_extracted_from_its_archive_in_the_folder(tmp_path):
    members = {f"aclImdb/{name}": text for name, text in REVIEWS.items()}
    (tmp_path / "imdb").mkdir()
    (tmp_path / "imdb" / "aclImdb_v1.tar.gz").write_bytes(imdb_archive(members))
    train, test = IMDB.splits(*fields(), root=str(tmp_path))
    assert (len(train), len(test)) == (3, 3)
    assert (tmp_path / "imdb/aclImdb/test/neg/5_3.txt").read_text() == "Not good"


def test_imdb_archive_with_a_traversal_member_is_refused(tmp_path):
    members = {"aclImdb/train/pos/0_9.txt": "fine", "aclImdb/../../escaped.txt": "gotcha"}
    (tmp_path / "root" / "imdb").mkdir(parents=True)
    (tmp_path / "root" / "imdb" / "aclImdb_v1.tar.gz").write_bytes(imdb_archive(members))
    with pytest.raises(DataError, match="unsafe archive member 'aclImdb/../../escaped.txt'"):
        IMDB.splits(*fields(), root=str(tmp_path / "root"))
    assert not (tmp_path / "escaped.txt").exists()
    assert not (tmp_path / "root" / "imdb" / "aclImdb").exists()


def test_imdb_missing_offline_names_the_archive_its_url_and_the_folder(tmp_path):
    with pytest.raises(DataError) as info:
        IMDB.splits(*fields(), root=str(tmp_path / ".data"))
    message = one_line(info)
    assert f"put aclImdb_v1.tar.gz (from {IMDB.urls[0]}) in {os.path.join(str(tmp_path / '.data' / 'imdb'), '')}" in (
        message
    )


def test_imdb_split_folder_without_reviews_is_an_error_not_an_empty_dataset(tmp_path):
    write_imdb(tmp_path, {"train/pos/0_9.txt": "ok"})
    (tmp_path / "imdb" / "aclImdb" / "test").mkdir()
    with pytest.raises(DataError, match="no reviews found"):
        IMDB.splits(*fields(), root=str(tmp_path))


def test_imdb_missing_split_folder_says_where_its_archive_goes(tmp_path):
    write_imdb(tmp_path, {"train/pos/0_9.txt": "ok"})
    with pytest.raises(DataError) as info:
        IMDB.splits(*fields(), root=str(tmp_path))
    message = one_line(info)
    assert os.path.join("aclImdb", "test") in message and "aclImdb_v1.tar.gz" in message
    assert "remove the incomplete" in message


def test_imdb_filter_pred_and_skipping_a_split(tmp_path):
    write_imdb(tmp_path)
    (train,) = IMDB.splits(*fields(), root=str(tmp_path), test=None, filter_pred=lambda ex: ex.label == "neg")
    assert [" ".join(ex.text) for ex in train] == ["awful, just awful"]


def test_imdb_iters_builds_fields_vocabularies_and_bucket_iterators(tmp_path):
    write_imdb(tmp_path)
    train_iter, test_iter = IMDB.iters(batch_size=2, root=str(tmp_path), device="cpu")
    assert isinstance(train_iter, data.BucketIterator) and train_iter.train and not test_iter.train
    batches = list(train_iter)
    assert sorted(b.text.shape[1] for b in batches) == [1, 2]  # [time, batch]: the default Field
    assert all(b.text.shape[1] == b.label.shape[0] for b in batches)
    label_vocab = train_iter.dataset.fields["label"].vocab
    assert {"pos", "neg"} <= set(label_vocab.itos)
    assert sum(len(b.label) for b in test_iter) == 3


# --- SST -------------------------------------------------------------------------------------------------
def test_sst_three_class_labels_come_from_the_tree_root(tmp_path):
    write_sst(tmp_path)
    text, label = fields()
    train, val, test = SST.splits(text, label, root=str(tmp_path))
    assert [ex.label for ex in train] == ["positive", "negative", "neutral", "negative", "positive"]
    assert train[0].text == ["it", "'s", "good", "fun"]
    assert len(val) == len(test) == 5


def test_sst_fine_grained_has_five_classes(tmp_path):
    write_sst(tmp_path)
    (train,) = SST.splits(*fields(), root=str(tmp_path), validation=None, test=None, fine_grained=True)
    assert [ex.label for ex in train] == ["positive", "negative", "neutral", "very negative", "very positive"]


def test_sst_train_subtrees_adds_every_phrase_to_train_only(tmp_path):
    write_sst(tmp_path)
    train, val, test = SST.splits(*fields(), root=str(tmp_path), train_subtrees=True)
    assert len(train) == sum(len(list(parse_tree(line).subtrees())) for line in TREES) == 20
    assert [ex.text for ex in train][:3] == [["it", "'s", "good", "fun"], ["it"], ["'s", "good", "fun"]]
    assert len(val) == len(test) == 5


def test_sst_binary_task_by_filtering_neutral(tmp_path):
    # the legacy example script: fine_grained, train_subtrees and a filter_pred dropping 'neutral'
    write_sst(tmp_path)
    train, val, test = SST.splits(
        *fields(),
        root=str(tmp_path),
        fine_grained=True,
        train_subtrees=True,
        filter_pred=lambda ex: ex.label != "neutral",
    )
    assert "neutral" not in {ex.label for ex in train} | {ex.label for ex in val}
    assert [ex.label for ex in val] == ["positive", "negative", "very negative", "very positive"]
    assert len(train) == 11


def test_sst_is_extracted_from_the_ptb_zip(tmp_path):
    (tmp_path / "sst").mkdir()
    with zipfile.ZipFile(tmp_path / "sst" / "trainDevTestTrees_PTB.zip", "w") as zfile:
        for split in ("train", "dev", "test"):
            zfile.writestr(f"trees/{split}.txt", "\n".join(TREES[:2]) + "\n")
    train, val, test = SST.splits(*fields(), root=str(tmp_path))
    assert [len(train), len(val), len(test)] == [2, 2, 2]


def test_sst_bad_tree_and_bad_label_are_errors_with_file_and_line(tmp_path):
    write_sst(tmp_path, [TREES[0], "(3 (2 unclosed)"])
    with pytest.raises(DataError, match=r"train\.txt:2: not a bracketed \(PTB\) sentiment tree"):
        SST.splits(*fields(), root=str(tmp_path))
    (tmp_path / "sst" / "trees" / "train.txt").write_text("(3 (2 a))\n(x (2 b))\n")
    with pytest.raises(DataError, match=r"train\.txt:2: tree label 'x' is not a sentiment 0-4"):
        SST.splits(*fields(), root=str(tmp_path), validation=None, test=None)


def test_sst_missing_offline_names_the_zip_and_folder(tmp_path):
    with pytest.raises(DataError) as info:
        SST.splits(*fields(), root=str(tmp_path))
    assert f"trainDevTestTrees_PTB.zip (from {SST.urls[0]}) in {os.path.join(str(tmp_path / 'sst'), '')}" in one_line(
        info
    )


def test_sst_iters_gives_three_iterators(tmp_path):
    write_sst(tmp_path)
    train_iter, val_iter, test_iter = SST.iters(batch_size=4, root=str(tmp_path), device="cpu")
    assert [len(list(it)) for it in (train_iter, val_iter, test_iter)] == [2, 2, 2]
    assert set(train_iter.dataset.fields["label"].vocab.itos) >= {"positive", "negative", "neutral"}


def test_fromtree_gives_leaves_and_labels_as_nltk_tree_did():
    # expected values are nltk.Tree.fromstring(line).leaves() / .label() / .subtrees(), which legacy used
    pairs = [("text", data.Field()), ("label", data.Field(sequential=False))]
    line = "(3 (2 It) (4 (2 's) (4 (3 good) (2 fun))))"
    assert vars(example_from_tree(line, pairs)) == {"text": ["It", "'s", "good", "fun"], "label": "3"}
    phrases = [(" ".join(ex.text), ex.label) for ex in example_from_tree(line, pairs, subtrees=True)]
    assert phrases == [
        ("It 's good fun", "3"),
        ("It", "2"),
        ("'s good fun", "4"),
        ("'s", "2"),
        ("good fun", "4"),
        ("good", "3"),
        ("fun", "2"),
    ]
    assert isinstance(example_from_tree(line, pairs), Example)
    assert parse_tree("( (2 a))").label == ""  # nltk: a node label is optional
    for bad in ["(1 (2 a)", "(1 a))", "(1 a) (2 b)", "a", ""]:
        with pytest.raises(ValueError):
            parse_tree(bad)


def test_sst_label_field_still_pickles(tmp_path):
    write_sst(tmp_path)
    text, label = fields()
    SST.splits(text, label, root=str(tmp_path), fine_grained=True)
    restored = pickle.loads(pickle.dumps(label))
    assert restored.preprocess("0") == "very negative"


# --- TREC ------------------------------------------------------------------------------------------------
def test_trec_coarse_labels_and_the_non_utf8_lines(tmp_path, caplog):
    write_trec(tmp_path)
    with caplog.at_level(logging.WARNING, logger="textcls"):
        train, test = TREC.splits(*fields(), root=str(tmp_path))
    assert [ex.label for ex in train] == ["DESC", "LOC", "NUM", "HUM"]  # the blank line is skipped
    assert train[1].text == ["what", "is", "the", "sister", "city", "of", "paris", "?"]  # 0xF0 reads as a space
    assert train[2].text == ["when", "did", "the", "café", "open", "?"]  # Latin-1 fallback
    assert "1 line(s) not UTF-8, read as Latin-1 (first: line 3)" in caplog.text
    assert [ex.label for ex in test] == ["NUM", "ENTY"]
    assert TREC.sort_key(test[1]) == 5


def test_trec_fine_grained_keeps_the_full_label(tmp_path):
    write_trec(tmp_path)
    train, test = TREC.splits(*fields(), root=str(tmp_path), fine_grained=True)
    assert [ex.label for ex in train] == ["DESC:manner", "LOC:city", "NUM:date", "HUM:ind"]
    assert [ex.label for ex in test] == ["NUM:dist", "ENTY:animal"]


def test_trec_raw_and_tokenized_views_of_the_same_file(tmp_path):
    # the legacy subword test's pattern: one non-tokenizing field and one tokenizing field over TREC
    write_trec(tmp_path)
    raw_field = data.Field(sequential=False, use_vocab=False)
    raw, _ = TREC.splits(raw_field, data.Field(sequential=False), root=str(tmp_path))
    cooked, _ = TREC.splits(data.Field(), data.Field(sequential=False), root=str(tmp_path))
    assert raw[0].text == "How did serfdom develop in and then leave Russia ?"
    assert " ".join(cooked[0].text) == raw[0].text


def test_trec_missing_test_file_offline_names_it_and_its_url(tmp_path):
    write_trec(tmp_path)
    (tmp_path / "trec" / "TREC_10.label").unlink()
    (train,) = TREC.splits(*fields(), root=str(tmp_path), test=None)  # legacy: train alone works
    assert len(train) == 4
    with pytest.raises(DataError) as info:
        TREC.splits(*fields(), root=str(tmp_path))
    message = one_line(info)
    assert f"TREC_10.label (from {TREC.urls[1]}) in {os.path.join(str(tmp_path / 'trec'), '')}" in message


def test_trec_nothing_there_offline_names_both_files_under_the_default_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the legacy default root is '.data' in the working directory
    with pytest.raises(DataError) as info:
        TREC.splits(*fields())
    message = one_line(info)
    assert "train_5500.label (from http://cogcomp.org/Data/QA/QC/train_5500.label)" in message
    assert (
        f"TREC_10.label (from http://cogcomp.org/Data/QA/QC/TREC_10.label) in {os.path.join('.data', 'trec', '')}"
        in (message)
    )


def test_trec_iters(tmp_path):
    write_trec(tmp_path)
    train_iter, test_iter = TREC.iters(batch_size=3, root=str(tmp_path), device="cpu", fine_grained=True)
    batches = list(test_iter)
    assert len(batches) == 1 and batches[0].label.shape == (2,)
    assert "LOC:city" in train_iter.dataset.fields["label"].vocab.itos
