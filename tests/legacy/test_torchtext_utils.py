"""Legacy ``torchtext.utils`` (0.8.1 / 0.11.2) as ``textcls.utils``: ``extract_archive`` and the file list it
returns, ``unicode_csv_reader`` past the csv module's field size limit, ``validate_file``, ``download_from_url``
(only ever to a server on 127.0.0.1 started here, or to ``127.0.0.1:9``, where nothing listens) and
``reporthook``.
"""

import csv
import gzip
import hashlib
import io
import os
import tarfile
import zipfile

import pytest
from tqdm import tqdm

from textcls import utils
from textcls.data.download import OFFLINE_ENV
from textcls.errors import ArgumentError, DataError

UNREACHABLE = "http://127.0.0.1:9/x"
MEMBERS = {"val.de": b"Ein Satz.\n", "val.en": b"A sentence.\n"}


def write_tar_gz(path, members, folders=()):
    with tarfile.open(path, "w:gz") as tar:
        for name in folders:
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        for name, payload in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return path


def write_zip(path, members, folders=()):
    with zipfile.ZipFile(path, "w") as zfile:
        for name in folders:
            zfile.writestr(name, b"")
        for name, payload in members.items():
            zfile.writestr(name, payload)
    return path


def one_line(exc_info) -> str:
    message = str(exc_info.value)
    assert "\n" not in message
    return message


# --- extract_archive -------------------------------------------------------------------------------------
def test_tar_gz_lists_its_files_in_archive_order_next_to_the_archive(tmp_path):
    archive = write_tar_gz(tmp_path / "validation.tar.gz", MEMBERS, folders=["sub/"])
    files = utils.extract_archive(str(archive))
    assert files == [str(tmp_path / "val.de"), str(tmp_path / "val.en")]  # folders are not listed
    assert (tmp_path / "val.en").read_bytes() == b"A sentence.\n"
    assert (tmp_path / "sub").is_dir()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging left behind


def test_existing_files_are_kept_unless_overwrite_and_listed_either_way(tmp_path):
    archive = write_tar_gz(tmp_path / "validation.tar.gz", MEMBERS)
    (tmp_path / "val.de").write_bytes(b"edited\n")
    expected = [str(tmp_path / "val.de"), str(tmp_path / "val.en")]
    assert utils.extract_archive(str(archive)) == expected
    assert (tmp_path / "val.de").read_bytes() == b"edited\n"
    assert utils.extract_archive(str(archive), overwrite=True) == expected
    assert (tmp_path / "val.de").read_bytes() == b"Ein Satz.\n"


def test_extracting_to_another_folder_joins_member_names_to_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_tar_gz(tmp_path / "validation.tar.gz", MEMBERS)
    files = utils.extract_archive("validation.tar.gz", ".new_data")
    assert files == [os.path.join(".new_data", "val.de"), os.path.join(".new_data", "val.en")]
    assert (tmp_path / ".new_data" / "val.de").is_file() and not (tmp_path / "val.de").exists()


def test_zip_lists_its_files_and_not_its_folder_entries(tmp_path):
    members = {f"en-ud-v2/{name}": b"x\n" for name in ("en-ud-tag.v2.dev.txt", "LICENSE.txt", "README.txt")}
    archive = write_zip(tmp_path / "en-ud-v2.zip", members, folders=["en-ud-v2/"])
    files = utils.extract_archive(str(archive))
    assert files == [str(tmp_path / name) for name in members]
    assert utils.extract_archive(str(archive), overwrite=True) == files


def test_bare_gz_becomes_the_file_without_gz(tmp_path):
    archive = tmp_path / "val.5.en.gz"
    archive.write_bytes(gzip.compress(b"Two dogs play.\n"))
    assert utils.extract_archive(str(archive)) == [str(tmp_path / "val.5.en")]
    assert (tmp_path / "val.5.en").read_bytes() == b"Two dogs play.\n"
    assert utils.extract_archive(archive, tmp_path / "out") == [str(tmp_path / "out" / "val.5.en")]


def test_a_file_that_is_not_an_archive_raises_not_implemented_error(tmp_path):
    vec = tmp_path / "wiki.simple.vec"
    vec.write_text("1 1\na 0.5\n", encoding="utf-8")
    with pytest.raises(NotImplementedError) as exc_info:
        utils.extract_archive(str(vec))
    assert isinstance(exc_info.value, DataError) and str(vec) in one_line(exc_info)


def test_an_archive_member_leaving_the_folder_is_refused_and_nothing_is_written(tmp_path):
    target = tmp_path / "inner"
    target.mkdir()
    archive = write_tar_gz(tmp_path / "evil.tar.gz", {"ok.txt": b"fine", "../escaped.txt": b"bad"})
    with pytest.raises(DataError) as exc_info:
        utils.extract_archive(str(archive), str(target))
    assert "unsafe archive member" in one_line(exc_info)
    assert list(target.iterdir()) == [] and not (tmp_path / "escaped.txt").exists()


# --- unicode_csv_reader ----------------------------------------------------------------------------------
def test_unicode_csv_reader_reads_a_field_longer_than_the_default_limit(tmp_path):
    long_field = "ü" * 131073
    file = tmp_path / "big.csv"
    file.write_text(f'1,"{long_field}",short\n2,"zwei, drei",x\n', encoding="utf-8")
    previous = csv.field_size_limit(131072)  # the default, whatever ran before in this process
    try:
        with open(file, encoding="utf8") as handle:
            rows = list(utils.unicode_csv_reader(handle))
        assert csv.field_size_limit() > 131072
    finally:
        csv.field_size_limit(previous)
    assert rows == [["1", long_field, "short"], ["2", "zwei, drei", "x"]]
    with open(file, encoding="utf8") as handle:
        assert list(utils.unicode_csv_reader(handle, delimiter="\t"))[1] == ['2,"zwei, drei",x']


# --- validate_file ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("hash_type", ["sha256", "md5"])
def test_validate_file_compares_the_hex_digest(tmp_path, hash_type):
    payload = b"some bytes " * 100_000  # more than one read chunk
    file = tmp_path / "blob.bin"
    file.write_bytes(payload)
    digest = hashlib.new(hash_type, payload).hexdigest()
    with open(file, "rb") as handle:
        assert utils.validate_file(handle, digest, hash_type) is True
    with open(file, "rb") as handle:
        assert utils.validate_file(handle, "0" * len(digest), hash_type) is False


def test_validate_file_unknown_hash_type_is_a_value_error(tmp_path):
    with pytest.raises(ValueError) as exc_info:
        utils.validate_file(io.BytesIO(b"x"), "00", "sha1")
    assert isinstance(exc_info.value, ArgumentError) and "sha1" in one_line(exc_info)


# --- download_from_url -----------------------------------------------------------------------------------
def test_a_file_already_there_is_returned_without_any_download(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".data").mkdir()
    (tmp_path / ".data" / "glove.840B.300d.zip").write_bytes(b"PK")
    path = utils.download_from_url("fakedownload/glove.840B.300d.zip")
    assert path == str(tmp_path / ".data" / "glove.840B.300d.zip")


def test_download_goes_to_root_or_to_the_given_path_and_checks_the_hash(tmp_path, server):
    server.files["/data/val.5.en.gz"] = payload = gzip.compress(b"hello\n")
    digest = hashlib.sha256(payload).hexdigest()
    path = utils.download_from_url(server.url("/data/val.5.en.gz"), root=str(tmp_path / "root"), hash_value=digest)
    assert path == str(tmp_path / "root" / "val.5.en.gz")
    assert (tmp_path / "root" / "val.5.en.gz").read_bytes() == payload

    path = utils.download_from_url(server.url("/data/val.5.en.gz"), path=str(tmp_path / "elsewhere" / "v.gz"))
    assert path == str(tmp_path / "elsewhere" / "v.gz") and os.path.isfile(path)


def test_overwrite_downloads_again(tmp_path, server):
    server.files["/f.txt"] = b"new\n"
    (tmp_path / "f.txt").write_bytes(b"old\n")
    assert utils.download_from_url(server.url("/f.txt"), root=str(tmp_path)) == str(tmp_path / "f.txt")
    assert (tmp_path / "f.txt").read_bytes() == b"old\n"
    utils.download_from_url(server.url("/f.txt"), root=str(tmp_path), overwrite=True)
    assert (tmp_path / "f.txt").read_bytes() == b"new\n"


def test_a_wrong_hash_is_a_runtime_error_naming_the_file(tmp_path):
    (tmp_path / "f.txt").write_bytes(b"content")
    with pytest.raises(RuntimeError) as exc_info:
        utils.download_from_url("http://127.0.0.1:9/f.txt", root=str(tmp_path), hash_value="ab" * 32)
    assert isinstance(exc_info.value, DataError) and str(tmp_path / "f.txt") in one_line(exc_info)
    md5 = hashlib.md5(b"content").hexdigest()
    assert utils.download_from_url("http://127.0.0.1:9/f.txt", root=str(tmp_path), hash_value=md5, hash_type="md5")


def test_an_unreachable_server_is_one_line_naming_the_file_and_folder(tmp_path):
    with pytest.raises(DataError) as exc_info:
        utils.download_from_url(UNREACHABLE, root=str(tmp_path / "dl"))
    message = one_line(exc_info)
    assert UNREACHABLE in message and "put x " in message and os.path.join(str(tmp_path / "dl"), "") in message
    assert not (tmp_path / "dl" / "x").exists() and list((tmp_path / "dl").iterdir()) == []


def test_offline_nothing_is_tried_and_the_error_says_so(tmp_path, monkeypatch, server):
    monkeypatch.setenv(OFFLINE_ENV, "1")
    server.files["/x"] = b"would download"
    with pytest.raises(DataError) as exc_info:
        utils.download_from_url(server.url("/x"), root=str(tmp_path))
    assert OFFLINE_ENV in one_line(exc_info)
    assert not (tmp_path / "x").exists()


# --- reporthook ------------------------------------------------------------------------------------------
def test_reporthook_advances_a_tqdm_bar_by_the_blocks_transferred():
    with tqdm(file=io.StringIO(), mininterval=0) as bar:
        hook = utils.reporthook(bar)
        hook(1, 512, 2000)
        hook(3, 512)
        assert (bar.total, bar.n) == (2000, 1536)
