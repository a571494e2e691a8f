"""Legacy ``torchtext.utils``: downloading one file, extracting an archive, checking a hash, reading CSV.

``from textcls.utils import download_from_url, extract_archive`` replaces ``from torchtext.utils import ...``.
Unlike legacy, extraction refuses archive members that would land outside the target folder, a download is
written to a temporary name and renamed into place when complete, and a file that cannot be downloaded
(offline, or ``TEXTCLS_OFFLINE=1``) is one error line naming the file, its URL and the folder to put it in.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
import shutil
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from textcls.data import download
from textcls.errors import ArgumentError, DataError

log = logging.getLogger("textcls")

HASH_TYPES = ("sha256", "md5")
_CHUNK = 1024**2


class FileHashError(DataError, RuntimeError):
    """A file whose hash is not the expected one (legacy raised ``RuntimeError``)."""


class ArchiveTypeError(DataError, NotImplementedError):
    """A file :func:`extract_archive` cannot extract (legacy raised ``NotImplementedError``)."""


def reporthook(t):
    """A ``urllib.request.urlretrieve`` ``reporthook`` that advances a progress bar (from the tqdm docs).

    Args:
        t: a progress bar with ``total`` and ``update(n)`` (a ``tqdm`` instance).

    Returns:
        ``inner(b=1, bsize=1, tsize=None)``: ``b`` blocks of ``bsize`` units transferred so far, ``tsize`` the
        total size (left unchanged when ``None``).
    """
    last_b = [0]

    def inner(b=1, bsize=1, tsize=None):
        if tsize is not None:
            t.total = tsize
        t.update((b - last_b[0]) * bsize)
        last_b[0] = b

    return inner


def validate_file(file_obj, hash_value, hash_type="sha256"):
    """Whether a file's contents have the given hash.

    Args:
        file_obj: a file opened in binary mode, read to its end in chunks.
        hash_value: the expected hex digest.
        hash_type: ``"sha256"`` or ``"md5"``.

    Returns:
        ``True`` if the digest of the contents equals ``hash_value``.

    Raises:
        ArgumentError: (a ``ValueError``, as in legacy) ``hash_type`` is not one of these two.
    """
    if hash_type not in HASH_TYPES:
        raise ArgumentError(f"hash_type must be 'sha256' or 'md5', got {hash_type!r}")
    hash_func = hashlib.new(hash_type)
    while True:
        chunk = file_obj.read(_CHUNK)
        if not chunk:
            break
        hash_func.update(chunk)
    return hash_func.hexdigest() == hash_value


def download_from_url(url, path=None, root=".data", overwrite=False, hash_value=None, hash_type="sha256"):
    """Download one file unless it is already there, and return its absolute path (torchtext 0.11 semantics).

    Args:
        url: what to fetch; its last path part is the file name unless ``path`` is given.
        path: the file to write (its folder replaces ``root``).
        root: the folder for the file (legacy ``".data"``), created if needed.
        overwrite: download again even if the file exists.
        hash_value: the expected hex digest of the file, checked whether it was downloaded or already there.
        hash_type: ``"sha256"`` or ``"md5"``.

    Returns:
        The file's absolute path, as a string.

    Raises:
        DataError: the file is not there and could not be downloaded (offline, ``TEXTCLS_OFFLINE=1``, or the
            server failed): one line naming the URL, the file and the folder to put it in.
        FileHashError: (a ``RuntimeError``, as in legacy) the file's hash is not ``hash_value``.
        ArgumentError: ``hash_type`` is not ``"sha256"`` or ``"md5"``.
    """
    path = os.path.abspath(os.path.join(root, os.path.basename(url)) if path is None else path)
    if os.path.exists(path) and not overwrite:
        log.info("file %s already exists", path)
    else:
        _fetch(url, path)
    if hash_value:
        _check_hash(path, hash_value, hash_type)
    return path


def unicode_csv_reader(unicode_csv_data, **kwargs):
    """Rows of CSV text, with the csv module's field size limit raised as high as the platform allows.

    The limit is raised for the whole process (``csv.field_size_limit``), as legacy torchtext did, so fields
    longer than the default 131072 characters are read.

    Args:
        unicode_csv_data: an iterable of text lines (a file opened in text mode with ``newline=""``).
        **kwargs: passed to ``csv.reader`` (``delimiter``, ``quotechar``, ...).

    Yields:
        Each row as a list of strings.
    """
    _raise_field_size_limit()
    yield from csv.reader(unicode_csv_data, **kwargs)


def utf_8_encoder(unicode_csv_data):
    """Each line of ``unicode_csv_data`` encoded as UTF-8 bytes (a Python 2 leftover kept for legacy imports).

    Args:
        unicode_csv_data: an iterable of text lines.
    """
    for line in unicode_csv_data:
        yield line.encode("utf-8")


def extract_archive(from_path, to_path=None, overwrite=False):
    """Extract a ``.tar.gz``/``.tgz``, ``.zip`` or bare ``.gz`` file and list the files it holds.

    Members are checked before anything is written (absolute paths, ``..``, links leaving the folder and special
    files are refused) and extracted through a temporary folder, so a bad archive writes nothing.

    Args:
        from_path: the archive.
        to_path: the folder to extract into (default: the archive's folder); a bare ``.gz`` is uncompressed
            there too (legacy always wrote it next to the archive).
        overwrite: replace files that already exist; when false they are left as they are (still listed).

    Returns:
        The paths of the archive's files, ``os.path.join(to_path, member name)``, in archive order, whether they
        were extracted now or already there (for a bare ``.gz``: the one uncompressed file).

    Raises:
        ArchiveTypeError: (a ``NotImplementedError``, as in legacy) not one of these archive types.
        DataError: the archive is missing, corrupt, or has an unsafe member.
    """
    from_path = os.fspath(from_path)
    kind = download.archive_kind(from_path)
    if kind is None:
        raise ArchiveTypeError("only .tar.gz, .tgz, .gz and .zip archives can be extracted", from_path)
    if not os.path.isfile(from_path):
        raise DataError("archive not found; check the path", from_path)
    to_path = os.path.dirname(from_path) if to_path is None else os.fspath(to_path)
    os.makedirs(to_path or ".", exist_ok=True)
    if kind == "gz":
        return [_gunzip(from_path, to_path, overwrite)]
    staging = tempfile.mkdtemp(prefix=".extract-", dir=to_path or ".")
    try:
        download.extract_archive(from_path, staging)
        _merge(Path(staging), Path(to_path or "."), overwrite)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    members = _tar_files(from_path) if kind == "tar" else _zip_files(from_path)
    files = [os.path.join(to_path, name) for name in members]
    return [file for file in files if os.path.isfile(file)] if kind == "zip" else files


# --------------------------------------------------------------------------------------------------------
def _fetch(url: str, path: str) -> None:
    """Download ``url`` to ``path`` or raise the one-line error saying where to put the file by hand."""
    folder = os.path.join(os.path.dirname(path), "")
    put = f"put {os.path.basename(path)} (from {url}) in {folder}"
    if not download.downloads_allowed():
        raise DataError(f"{path} not found and downloads are off ({download.OFFLINE_ENV} is set): {put}")
    try:
        download.download_file(url, path)
    except (OSError, ValueError) as exc:
        raise DataError(f"could not download {url} ({download._failure_reason(exc)}): {put}") from None
    log.info("file %s downloaded", path)


def _check_hash(path: str, hash_value: str, hash_type: str) -> None:
    with open(path, "rb") as file_obj:
        if not validate_file(file_obj, hash_value, hash_type):
            raise FileHashError(f"the {hash_type} hash does not match {hash_value}; delete the file and retry", path)


def _raise_field_size_limit() -> None:
    limit = sys.maxsize
    while True:
        try:
            csv.field_size_limit(limit)
            return
        except OverflowError:  # a C long is narrower than sys.maxsize on some platforms (Windows)
            limit //= 10


def _gunzip(from_path: str, to_path: str, overwrite: bool) -> str:
    dest = os.path.join(to_path, os.path.basename(from_path)[: -len(".gz")])
    if os.path.exists(dest) and not overwrite:
        log.info("%s already extracted", dest)
        return dest
    download.extract_archive(from_path, to_path or ".")
    return dest


def _merge(staging: Path, folder: Path, overwrite: bool) -> None:
    """Move what was extracted into ``folder``; a file already there is kept unless ``overwrite``."""
    for source in sorted(staging.iterdir()):
        dest = folder / source.name
        if source.is_dir() and not source.is_symlink():
            if dest.exists() and not dest.is_dir():
                raise DataError(f"cannot extract the folder {source.name}: a file of that name is in the way", folder)
            dest.mkdir(exist_ok=True)
            _merge(source, dest, overwrite)
        elif dest.is_dir() and not dest.is_symlink():
            raise DataError(f"cannot extract {source.name}: a folder of that name is in the way", folder)
        elif dest.exists() and not overwrite:
            log.info("%s already extracted", dest)
        else:
            os.replace(source, dest)


def _tar_files(archive: str) -> list[str]:
    with tarfile.open(archive, "r:gz") as tar:
        return [member.name for member in tar.getmembers() if member.isfile()]


def _zip_files(archive: str) -> list[str]:
    with zipfile.ZipFile(archive) as zfile:
        return zfile.namelist()


__all__ = [
    "ArchiveTypeError",
    "FileHashError",
    "download_from_url",
    "extract_archive",
    "reporthook",
    "unicode_csv_reader",
    "utf_8_encoder",
    "validate_file",
]
