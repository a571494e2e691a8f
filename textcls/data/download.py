"""Fetching a dataset's files: use what is on disk, extract archives safely, download only when possible.

This is the machinery behind the legacy ``Dataset.download(root, check=None)``: a dataset class names its
files in ``urls``; they live in ``root/<name>/`` and archives (``.zip``, ``.tar.gz``/``.tgz``, bare ``.gz``) are
extracted there, as legacy torchtext did. Unlike legacy, a file already in that folder is never fetched again,
an archive put there by hand is extracted, archive members that would land outside the folder are refused,
and every file is written to a temporary name first and renamed into place, so an interrupted download or
extraction leaves nothing half-written. When a file is missing and cannot be downloaded (offline, or
``TEXTCLS_OFFLINE=1`` in the environment), the error is one line naming the file, its URL and the folder to
put it in.
"""

from __future__ import annotations

import gzip
import http.client
import logging
import os
import posixpath
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from pathlib import Path

from textcls.errors import DataError

log = logging.getLogger("textcls")

OFFLINE_ENV = "TEXTCLS_OFFLINE"
DEFAULT_TIMEOUT = 10.0
_CHUNK = 1 << 20
_TAR_FILTER_ERROR = getattr(tarfile, "FilterError", ())  # Python >= 3.10.12 / 3.11.4


def downloads_allowed() -> bool:
    """Whether downloads may be tried: false when ``TEXTCLS_OFFLINE`` is set to anything but ``0``/``false``."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in ("", "0", "false", "no")


def url_filename(entry) -> tuple[str, str]:
    """Split one ``urls`` entry into ``(url, file name)``.

    Args:
        entry: a URL (the file name is its last path part, as in legacy torchtext) or a ``(url, file name)``
            tuple.
    """
    if isinstance(entry, tuple):
        url, filename = entry
        return url, filename
    return entry, posixpath.basename(entry.split("?", 1)[0])


def archive_kind(filename) -> str | None:
    """The archive type legacy torchtext extracted: ``"zip"``, ``"tar"`` (``.tar.gz``/``.tgz``), ``"gz"`` (a bare
    gzipped file) or ``None`` for a plain file.

    Args:
        filename: a file name or path.
    """
    name = str(filename).lower()
    if name.endswith(".zip"):
        return "zip"
    if name.endswith((".tar.gz", ".tgz")):
        return "tar"
    if name.endswith(".gz"):
        return "gz"
    return None


def download_file(url: str, dest, timeout: float = DEFAULT_TIMEOUT) -> Path:
    """Download ``url`` to ``dest`` through a temporary file in the same folder, renamed into place when complete.

    Args:
        url: what to fetch (``http``, ``https``, ``ftp`` or ``file`` URL).
        dest: the file to write; its folder is created if needed.
        timeout: seconds to wait for the server on each network operation.

    Returns:
        ``dest`` as a :class:`~pathlib.Path`.

    Raises:
        OSError: the connection failed, the server answered with an error, or the transfer was cut short.
        ValueError: ``url`` is not a URL urllib can open.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            log.info("downloading %s to %s", url, dest)
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    expected = response.headers.get("Content-Length")
                    shutil.copyfileobj(response, out, _CHUNK)
                    written = out.tell()
            except http.client.HTTPException as exc:  # IncompleteRead, BadStatusLine, ...: not OSErrors
                raise OSError(f"download of {url} failed: {type(exc).__name__}") from exc
        if expected is not None and expected.isdigit() and int(expected) != written:
            raise OSError(f"download of {url} stopped after {written} of {expected} bytes")
        os.replace(tmp, dest)
    except BaseException:
        _remove(tmp)
        raise
    return dest


def extract_archive(archive, folder) -> list[Path]:
    """Extract a ``.zip``, ``.tar.gz``/``.tgz`` or bare ``.gz`` file into ``folder`` (legacy semantics: archive
    members keep their paths; ``name.txt.gz`` becomes ``name.txt``).

    Every member is checked before anything is written: absolute paths, ``..`` parts, links pointing outside
    ``folder`` and special files are refused. Members are extracted into a temporary folder inside ``folder``
    and then renamed into place, so a corrupt archive leaves ``folder`` as it was.

    Args:
        archive: the archive file.
        folder: where its contents go (created if needed).

    Returns:
        The paths written at the top level of ``folder`` (for a bare ``.gz``, the one uncompressed file).

    Raises:
        DataError: the archive is corrupt, of an unknown type, or has an unsafe member.
    """
    archive, folder = Path(archive), Path(folder)
    kind = archive_kind(archive.name)
    if kind is None:
        raise DataError("not an archive this can extract (.zip, .tar.gz, .tgz or .gz)", archive)
    folder.mkdir(parents=True, exist_ok=True)
    log.info("extracting %s into %s", archive, folder)
    if kind == "gz":
        return [_gunzip(archive, folder / archive.name[: -len(".gz")])]
    staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=folder))
    try:
        if kind == "zip":
            _unzip(archive, staging)
        else:
            _untar(archive, staging)
        return _move_into(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def prepare_dataset(urls, folder, dirname: str = "", check=None, label: str = "dataset", downloader=None) -> Path:
    """Make a dataset's files ready in ``folder`` (the legacy ``Dataset.download`` loop).

    A file of ``urls`` counts as ready when it is in ``folder`` (a bare ``.gz``: when its uncompressed file is);
    an archive counts as ready when ``folder/dirname`` exists (with no ``dirname``: when ``folder`` holds
    anything besides the downloads themselves). Files that are not ready are extracted if their archive is in
    ``folder``, downloaded first if it is not and downloads are allowed.

    Args:
        urls: the dataset's ``urls`` (URLs, or ``(url, file name)`` tuples).
        folder: the dataset's folder, ``root/<name>``.
        dirname: the folder inside ``folder`` that the archives extract to (``""``: the files are ``folder``'s).
        check: legacy ``check``: if it is an existing folder nothing is done; if given but missing, every file of
            ``urls`` is (re-)extracted.
        label: the dataset's name in messages (``"IMDB"``).
        downloader: ``downloader(url, dest)`` fetching one file (default :func:`download_file`).

    Returns:
        ``folder/dirname``.

    Raises:
        DataError: no file of ``urls`` is on disk and they could not be downloaded (one line naming each file,
            its URL and the folder to put it in), or an archive is corrupt or unsafe.
    """
    folder = Path(folder)
    target = folder / dirname if dirname else folder
    if check is not None and os.path.isdir(check):
        return target
    entries = [url_filename(entry) for entry in urls]
    if check is None:
        pending = [entry for entry in entries if not _is_ready(folder, dirname, entry[1], entries)]
    else:
        pending = entries
    absent = [entry for entry in pending if not (folder / entry[1]).is_file()]
    reason = _download_all(absent, folder, downloader or download_file) if absent else None
    for _, filename in pending:
        if archive_kind(filename) and (folder / filename).is_file():
            extract_archive(folder / filename, folder)
    still_absent = [entry for entry in absent if not (folder / entry[1]).is_file()]
    if still_absent:
        message = missing_files_message(label, still_absent, folder, dirname, reason)
        if len(still_absent) == len(entries):
            raise DataError(message)
        log.warning("%s", message)
    return target


def missing_files_message(label: str, entries, folder, dirname: str = "", reason: str | None = None) -> str:
    """One line saying which files (name and URL) to put in which folder.

    Args:
        label: the dataset's name (``"TREC"``).
        entries: ``(url, file name)`` pairs of the missing files.
        folder: where they belong.
        dirname: the folder the archives extract to, mentioned as the alternative to the archive.
        reason: why they could not be downloaded, if that was tried.
    """
    folder_text = os.path.join(str(folder), "")
    files = ", ".join(f"{filename} (from {url})" for url, filename in entries)
    why = f" and could not be downloaded ({reason})" if reason else ""
    message = f"{label} data not found{why}: put {files} in {folder_text}"
    if dirname and any(archive_kind(filename) for _, filename in entries):
        message += f" (or extract it there, giving {os.path.join(folder_text, dirname, '')})"
    return message


# --------------------------------------------------------------------------------------------------------
def _is_ready(folder: Path, dirname: str, filename: str, entries) -> bool:
    kind = archive_kind(filename)
    if kind is None:
        return (folder / filename).is_file()
    if kind == "gz":
        return (folder / filename[: -len(".gz")]).is_file()
    if dirname:
        return (folder / dirname).is_dir()
    downloads = {name for _, name in entries}
    return folder.is_dir() and any(p.name not in downloads and not p.name.startswith(".") for p in folder.iterdir())


def _download_all(entries, folder: Path, downloader) -> str | None:
    """Download each entry into ``folder``; stop at the first failure and return its reason (``None``: all done)."""
    if not downloads_allowed():
        return f"{OFFLINE_ENV} is set"
    for url, filename in entries:
        try:
            downloader(url, folder / filename)
        except (OSError, ValueError) as exc:
            log.debug("download of %s failed: %r", url, exc)
            return _failure_reason(exc)
    return None


def _failure_reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        reason = f"HTTP {exc.code}"
    elif isinstance(exc, urllib.error.URLError):
        reason = str(exc.reason)
    elif isinstance(exc, TimeoutError):
        reason = "timed out"
    elif isinstance(exc, ValueError):
        reason = "not a URL that can be downloaded"
    else:
        reason = str(exc) or type(exc).__name__
    return " ".join(reason.split())


def _member_parts(name: str, archive: Path) -> list[str]:
    """The path parts of an archive member, refusing absolute paths and ``..``."""
    normalized = name.replace("\\", "/")
    if normalized.startswith("/") or re.match(r"^[A-Za-z]:", normalized):
        raise _unsafe(archive, name, "absolute path")
    parts = [part for part in normalized.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise _unsafe(archive, name, "path leaves the folder")
    return parts


def _unsafe(archive: Path, name: str, why: str) -> DataError:
    return DataError(f"unsafe archive member {name!r} ({why}); refusing to extract, nothing was written", archive)


def _check_tar_member(member: tarfile.TarInfo, archive: Path) -> None:
    parts = _member_parts(member.name, archive)
    if member.isfile() or member.isdir():
        return
    if not (member.issym() or member.islnk()):
        raise _unsafe(archive, member.name, "special file")
    link = member.linkname.replace("\\", "/")
    if link.startswith("/"):
        raise _unsafe(archive, member.name, "link to an absolute path")
    # a symlink is relative to its own folder, a hard link to the archive's top
    start = parts[:-1] if member.issym() else []
    resolved = posixpath.normpath(posixpath.join(*start, link) if start else link)
    if resolved == ".." or resolved.startswith("../"):
        raise _unsafe(archive, member.name, "link leaves the folder")


def _untar(archive: Path, staging: Path) -> None:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = tar.getmembers()
            for member in members:
                _check_tar_member(member, archive)
            if hasattr(tarfile, "data_filter"):  # Python >= 3.10.12 / 3.11.4: a second line of defence
                tar.extractall(staging, members=members, filter="data")
            else:
                tar.extractall(staging, members=members)
    except _TAR_FILTER_ERROR as exc:  # a member the "data" filter refused that the checks above let through
        raise DataError(f"unsafe archive member ({exc}); refusing to extract, nothing was written", archive) from None
    except (tarfile.TarError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataError(f"corrupt .tar.gz archive ({exc}); delete it and download it again", archive) from None


def _unzip(archive: Path, staging: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as zfile:
            infos = zfile.infolist()
            for info in infos:
                _member_parts(info.filename, archive)
            zfile.extractall(staging, members=infos)
    except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise DataError(f"corrupt .zip archive ({exc}); delete it and download it again", archive) from None


def _gunzip(archive: Path, dest: Path) -> Path:
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, gzip.open(archive, "rb") as gz:
            shutil.copyfileobj(gz, out, _CHUNK)
        os.replace(tmp, dest)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        _remove(tmp)
        raise DataError(f"corrupt .gz file ({exc}); delete it and download it again", archive) from None
    except BaseException:
        _remove(tmp)
        raise
    return dest


def _move_into(staging: Path, folder: Path) -> list[Path]:
    """Rename everything in ``staging`` into ``folder``, merging into folders that already exist."""
    moved = []
    for source in sorted(staging.iterdir()):
        dest = folder / source.name
        if source.is_dir() and not source.is_symlink() and dest.is_dir():
            _move_into(source, dest)
        elif dest.is_dir() and not dest.is_symlink():
            raise DataError(f"cannot extract {source.name}: a folder of that name is in the way", folder)
        else:
            os.replace(source, dest)
        moved.append(dest)
    return moved


def _remove(path) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


__all__ = [
    "DEFAULT_TIMEOUT",
    "OFFLINE_ENV",
    "archive_kind",
    "download_file",
    "downloads_allowed",
    "extract_archive",
    "missing_files_message",
    "prepare_dataset",
    "url_filename",
]
