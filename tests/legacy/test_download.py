"""Legacy ``Dataset.download`` (torchtext.legacy.data.dataset): files under ``root/<name>/``, archive extraction,
downloads only when possible, and the safety legacy lacked (no path traversal, nothing half-written).

Downloads go only to a server on 127.0.0.1 started by the test, or to ``127.0.0.1:9`` (nothing listens there, so
the connection is refused at once); no test reaches another host.
"""

import gzip
import io
import logging
import os
import tarfile
import zipfile

import pytest

from textcls.data.dataset import Dataset, TabularDataset
from textcls.data.download import (
    OFFLINE_ENV,
    archive_kind,
    download_file,
    downloads_allowed,
    extract_archive,
    prepare_dataset,
    url_filename,
)
from textcls.data.fields import Field, LabelField
from textcls.errors import DataError, TextclsError

REFUSED = "http://127.0.0.1:9"


def tar_gz(members: dict) -> bytes:
    """A .tar.gz holding ``{name: bytes}`` files."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def tar_with_link(name: str, target: str, kind=tarfile.SYMTYPE) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo(name)
        info.type, info.linkname = kind, target
        tar.addfile(info)
    return buffer.getvalue()


def zip_bytes(members: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zfile:
        for name, data in members.items():
            zfile.writestr(name, data)
    return buffer.getvalue()


def listing(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# --- what an archive is ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, kind",
    [("a.zip", "zip"), ("a.tar.gz", "tar"), ("a.tgz", "tar"), ("dummy.txt.gz", "gz"), ("a.label", None)],
)
def test_archive_kinds_are_the_ones_legacy_extracted(name, kind):
    assert archive_kind(name) == kind


def test_url_entries_are_urls_or_url_filename_tuples():
    assert url_filename("http://host/data/train_5500.label") == (
        "http://host/data/train_5500.label",
        "train_5500.label",
    )
    assert url_filename(("http://host/get?id=3", "trees.zip")) == ("http://host/get?id=3", "trees.zip")


def test_offline_switch_reads_the_environment(monkeypatch):
    assert downloads_allowed()
    monkeypatch.setenv(OFFLINE_ENV, "1")
    assert not downloads_allowed()
    monkeypatch.setenv(OFFLINE_ENV, "0")
    assert downloads_allowed()


# --- extraction --------------------------------------------------------------------------------------
def test_tar_gz_extracts_with_member_paths_merging_into_existing_folders(tmp_path):
    (tmp_path / "aclImdb" / "train").mkdir(parents=True)
    (tmp_path / "aclImdb" / "train" / "kept.txt").write_text("mine")
    archive = tmp_path / "aclImdb_v1.tar.gz"
    archive.write_bytes(tar_gz({"aclImdb/train/pos/0_9.txt": b"great", "aclImdb/README": b"readme"}))
    written = extract_archive(archive, tmp_path)
    assert written == [tmp_path / "aclImdb"]
    assert (tmp_path / "aclImdb/train/pos/0_9.txt").read_text() == "great"
    assert (tmp_path / "aclImdb/train/kept.txt").read_text() == "mine"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left


def test_zip_extracts_like_the_sst_archive(tmp_path):
    archive = tmp_path / "trainDevTestTrees_PTB.zip"
    archive.write_bytes(zip_bytes({"trees/train.txt": "(3 (2 a) (3 b))\n", "trees/dev.txt": "(1 (1 c))\n"}))
    extract_archive(archive, tmp_path)
    assert (tmp_path / "trees/train.txt").read_text() == "(3 (2 a) (3 b))\n"
    assert (tmp_path / "trees/dev.txt").is_file()


def test_bare_gz_becomes_the_file_without_gz(tmp_path):
    archive = tmp_path / "dummy.txt.gz"
    archive.write_bytes(gzip.compress(b"TEST"))
    assert extract_archive(archive, tmp_path) == [tmp_path / "dummy.txt"]
    assert (tmp_path / "dummy.txt").read_bytes() == b"TEST"


@pytest.mark.parametrize(
    "archive_name, data, why",
    [
        ("evil.tar.gz", tar_gz({"ok.txt": b"fine", "../escaped.txt": b"x"}), "path leaves the folder"),
        ("evil.tar.gz", tar_gz({"a/../../escaped.txt": b"x"}), "path leaves the folder"),
        ("evil.tar.gz", tar_gz({"/tmp/escaped.txt": b"x"}), "absolute path"),
        ("evil.tar.gz", tar_with_link("link", "../../escaped.txt"), "link leaves the folder"),
        ("evil.tar.gz", tar_with_link("link", "/etc/passwd"), "link to an absolute path"),
        ("evil.tar.gz", tar_with_link("hard", "../escaped.txt", tarfile.LNKTYPE), "link leaves the folder"),
        ("evil.zip", zip_bytes({"ok.txt": "fine", "../escaped.txt": "x"}), "path leaves the folder"),
        ("evil.zip", zip_bytes({"/abs.txt": "x"}), "absolute path"),
    ],
)
def test_unsafe_members_are_refused_and_nothing_is_written(tmp_path, archive_name, data, why):
    outside, folder = tmp_path, tmp_path / "root" / "data"
    folder.mkdir(parents=True)
    archive = folder / archive_name
    archive.write_bytes(data)
    with pytest.raises(DataError, match=why) as info:
        extract_archive(archive, folder)
    assert "refusing to extract" in str(info.value) and "\n" not in str(info.value)
    assert listing(folder) == [archive_name]  # not even the safe member was written
    assert not (outside / "escaped.txt").exists()


def test_a_link_inside_the_folder_is_allowed(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("data/real.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
        link = tarfile.TarInfo("data/alias.txt")
        link.type, link.linkname = tarfile.SYMTYPE, "real.txt"
        tar.addfile(link)
    archive = tmp_path / "links.tar.gz"
    archive.write_bytes(buffer.getvalue())
    extract_archive(archive, tmp_path)
    assert (tmp_path / "data" / "alias.txt").read_text() == "hi"


@pytest.mark.parametrize("archive_name", ["broken.tar.gz", "broken.zip", "broken.txt.gz"])
def test_a_corrupt_archive_is_one_error_and_leaves_the_folder_as_it_was(tmp_path, archive_name):
    good = tar_gz({"a.txt": b"a" * 1000}) if archive_name.endswith("tar.gz") else None
    data = good[: len(good) // 2] if good else b"not an archive at all"
    archive = tmp_path / archive_name
    archive.write_bytes(data)
    with pytest.raises(DataError, match="corrupt .*delete it and download it again"):
        extract_archive(archive, tmp_path)
    assert listing(tmp_path) == [archive_name]


# --- downloading ------------------------------------------------------------------------------------
def test_download_file_writes_the_file_through_a_temporary_name(tmp_path, server):
    server.files["/data/TREC_10.label"] = b"NUM:date When ?\n"
    dest = download_file(server.url("/data/TREC_10.label"), tmp_path / "trec" / "TREC_10.label")
    assert dest.read_bytes() == b"NUM:date When ?\n"
    assert listing(tmp_path) == ["trec", os.path.join("trec", "TREC_10.label")]


def test_a_refused_connection_raises_oserror_and_leaves_nothing(tmp_path):
    with pytest.raises(OSError):
        download_file(f"{REFUSED}/train_5500.label", tmp_path / "train_5500.label", timeout=2)
    assert listing(tmp_path) == []


def test_a_transfer_cut_short_is_an_error_not_a_truncated_file(tmp_path, server):
    server.files["/big.tar.gz"] = (1000, b"only ten b")
    with pytest.raises(OSError):
        download_file(server.url("/big.tar.gz"), tmp_path / "big.tar.gz")
    assert listing(tmp_path) == []


# --- prepare_dataset / Dataset.download ----------------------------------------------------------------
def test_files_already_there_are_used_without_any_download(tmp_path):
    folder = tmp_path / "trec"
    folder.mkdir()
    (folder / "train_5500.label").write_text("DESC:def What is x ?\n")
    (folder / "TREC_10.label").write_text("NUM:date When ?\n")
    urls = [f"{REFUSED}/train_5500.label", f"{REFUSED}/TREC_10.label"]
    assert prepare_dataset(urls, folder, label="TREC") == folder


def test_an_archive_put_in_the_folder_by_hand_is_extracted_once(tmp_path):
    folder = tmp_path / "imdb"
    folder.mkdir()
    (folder / "aclImdb_v1.tar.gz").write_bytes(tar_gz({"aclImdb/train/pos/1_8.txt": b"good"}))
    urls = [f"{REFUSED}/aclImdb_v1.tar.gz"]
    assert prepare_dataset(urls, folder, "aclImdb") == folder / "aclImdb"
    review = folder / "aclImdb/train/pos/1_8.txt"
    assert review.read_text() == "good"
    review.write_text("edited")  # an extracted folder counts as ready: the archive is not extracted again
    prepare_dataset(urls, folder, "aclImdb")
    assert review.read_text() == "edited"


def test_a_missing_dataset_is_downloaded_and_extracted(tmp_path, server):
    server.files["/sentiment/trainDevTestTrees_PTB.zip"] = zip_bytes({"trees/train.txt": "(4 (4 great))\n"})
    folder = tmp_path / ".data" / "sst"
    target = prepare_dataset([server.url("/sentiment/trainDevTestTrees_PTB.zip")], folder, "trees")
    assert (target / "train.txt").read_text() == "(4 (4 great))\n"
    assert (folder / "trainDevTestTrees_PTB.zip").is_file()  # kept, as legacy did


def test_offline_the_error_is_one_line_naming_files_urls_and_folder(tmp_path, monkeypatch, server):
    monkeypatch.setenv(OFFLINE_ENV, "1")
    urls = [server.url("/QC/train_5500.label"), server.url("/QC/TREC_10.label")]
    folder = tmp_path / "trec"
    with pytest.raises(DataError) as info:
        prepare_dataset(urls, folder, label="TREC")
    message = str(info.value)
    assert "\n" not in message
    assert f"train_5500.label (from {urls[0]})" in message and f"TREC_10.label (from {urls[1]})" in message
    assert f"in {os.path.join(str(folder), '')}" in message and OFFLINE_ENV in message
    assert server.hits == []  # offline means no request at all


def test_an_unreachable_server_gives_the_same_one_line_error_with_the_reason(tmp_path):
    folder = tmp_path / "imdb"
    with pytest.raises(DataError) as info:
        prepare_dataset([f"{REFUSED}/aclImdb_v1.tar.gz"], folder, "aclImdb", label="IMDB")
    message = str(info.value)
    assert message.startswith("IMDB data not found and could not be downloaded (")
    assert f"aclImdb_v1.tar.gz (from {REFUSED}/aclImdb_v1.tar.gz) in {os.path.join(str(folder), '')}" in message
    assert "extract it there, giving" in message and "\n" not in message
    assert not folder.exists() or listing(folder) == []


def test_some_files_present_and_the_rest_unreachable_is_a_warning(tmp_path, caplog):
    folder = tmp_path / "trec"
    folder.mkdir()
    (folder / "train_5500.label").write_text("DESC:def What is x ?\n")
    urls = [f"{REFUSED}/train_5500.label", f"{REFUSED}/TREC_10.label"]
    with caplog.at_level(logging.WARNING, logger="textcls"):
        assert prepare_dataset(urls, folder, label="TREC") == folder
    assert "TREC_10.label" in caplog.text and "train_5500.label (from" not in caplog.text


def test_legacy_gz_extraction_with_an_explicit_missing_check(tmp_path):
    # as torchtext's test_gz_extraction: plain file names as urls, no name/dirname, check=''
    (tmp_path / "dummy.tar.gz").write_bytes(tar_gz({"train.txt": b"train", "test.txt": b"test"}))
    (tmp_path / "dummy.txt.gz").write_bytes(gzip.compress(b"TEST"))

    class Dummy(Dataset):
        urls = ["dummy.tar.gz", "dummy.txt.gz"]
        name = ""
        dirname = ""

    assert Dummy.download(str(tmp_path), check="") == os.path.join(str(tmp_path), "", "")
    assert (tmp_path / "train.txt").read_text() == "train"
    assert (tmp_path / "test.txt").read_text() == "test"
    assert (tmp_path / "dummy.txt").read_text() == "TEST"


def test_an_existing_check_folder_means_nothing_to_do(tmp_path):
    (tmp_path / "done").mkdir()

    class Never(Dataset):
        urls = [f"{REFUSED}/never.zip"]
        name = "never"
        dirname = "out"

    assert Never.download(str(tmp_path), check=str(tmp_path / "done")) == os.path.join(str(tmp_path), "never", "out")
    assert listing(tmp_path) == ["done"]


def test_a_user_dataset_with_urls_splits_from_root(tmp_path):
    # legacy pattern: a TabularDataset subclass naming its files; splits(path=None) finds them under root/name
    (tmp_path / "reviews").mkdir()
    (tmp_path / "reviews" / "reviews.tar.gz").write_bytes(
        tar_gz({"csv/train.csv": b"great film,pos\nawful,neg\n", "csv/test.csv": b"fine,pos\n"})
    )

    class Reviews(TabularDataset):
        urls = [f"{REFUSED}/reviews.tar.gz"]
        name = "reviews"
        dirname = "csv"

    text, label = Field(), LabelField()
    train, test = Reviews.splits(
        root=str(tmp_path), train="train.csv", test="test.csv", format="csv", fields=[("text", text), ("label", label)]
    )
    assert [ex.text for ex in train] == [["great", "film"], ["awful"]]
    assert [ex.label for ex in test] == ["pos"]


def test_download_needs_the_class_attributes_and_dataset_name_stays_a_field(tmp_path):
    with pytest.raises(TextclsError, match="needs the class attributes urls, name and dirname"):
        Dataset.download(str(tmp_path))
    (tmp_path / "people.csv").write_text("ada,1\nalan,0\n")
    people = TabularDataset(tmp_path / "people.csv", format="csv", fields=[("name", Field()), ("label", LabelField())])
    assert list(people.name) == [["ada"], ["alan"]]  # legacy: dataset.<field> iterates that attribute
