"""Parsing word-vector files into ``(words, matrix)``.

Formats: GloVe text (no header), word2vec / fastText ``.vec`` text (a ``count dim`` header), word2vec binary,
fastText ``.bin`` models and gensim ``KeyedVectors`` files (both through gensim). Text files may be ``.gz`` or a
member of a ``.zip`` (``archive.zip`` with one member, or ``archive.zip:member.txt``).

A whole text file is parsed by pandas' C reader (fast); when that fails (tokens containing spaces, as in
GloVe 840B, or a damaged line) the careful line parser takes over and names the first bad line. With
``restrict_to`` only the listed words are parsed, streaming, so memory stays near the final matrix.
"""

from __future__ import annotations

import csv
import gzip
import logging
import pickle
import struct
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from textcls._util import check_input_file, is_number
from textcls.errors import DataError

log = logging.getLogger("textcls")

TEXT_SUFFIXES = (".txt", ".vec", ".csv", ".tsv")
GENSIM_SUFFIXES = (".kv", ".model", ".wv")
PICKLE_TRUST_HINT = "--trust-pickle (Python: trust_pickle=True)"


def check_pickle_trusted(file: Path, trust_pickle: bool) -> None:
    """Refuse the gensim pickle ``file`` unless ``trust_pickle``; when trusted, log a warning that it is unpickled.

    Args:
        file: the gensim ``.kv`` / ``.model`` / ``.wv`` file.
        trust_pickle: the user's explicit ``--trust-pickle`` / ``trust_pickle=True``.

    Raises:
        DataError: without ``trust_pickle``; the message names the safe conversion.
    """
    if not trust_pickle:
        raise DataError(
            "this is a Python pickle (as gensim .kv/.model/.wv files are), which can run any code when loaded, so "
            f"textcls does not load it; convert a file you trust once: textcls vectors convert {file} VECTORS.txt "
            f"--trust-pickle (word2vec text; .txt.gz or .bin also work), then use VECTORS.txt; or pass "
            f"{PICKLE_TRUST_HINT} to load it as it is",
            file,
        )
    log.warning("%s: unpickling a gensim file (trusted with --trust-pickle): any code inside it runs", file)


def split_archive_path(path: str | Path) -> tuple[Path, str | None]:
    """``"glove.6B.zip:glove.6B.50d.txt"`` → ``(Path("glove.6B.zip"), "glove.6B.50d.txt")``."""
    text = str(path)
    head, sep, member = text.rpartition(":")
    if sep and head.lower().endswith(".zip"):
        return Path(head), member
    return Path(text), None


def detect_vectors_format(path: str | Path) -> str:
    """Return ``"text"``, ``"word2vec-binary"``, ``"fasttext-bin"`` or ``"gensim"`` from the file name/bytes (a
    file that starts as a pickle does, whatever its name, is ``"gensim"``: a pickle)."""
    file, member = split_archive_path(path)
    if member is None and file.suffix.lower() == ".zip" and file.is_file():
        with zipfile.ZipFile(file) as archive:
            names = [n for n in archive.namelist() if not n.endswith("/")]
        if len(names) == 1:
            member = names[0]
            if member.lower().endswith((".bin", *GENSIM_SUFFIXES)):
                raise DataError("binary vectors inside a zip are not supported; unzip the file first", file)
    name = (member or file.name).lower()
    if name.endswith(".gz"):
        name = name[:-3]
    if name.endswith(".bin"):
        with open_binary(file, member) as handle:
            head = handle.read(4)
        # fastText models start with the magic number 793712314 (little-endian int32)
        return "fasttext-bin" if head == (793712314).to_bytes(4, "little") else "word2vec-binary"
    if name.endswith(GENSIM_SUFFIXES):
        return "gensim"
    with open_binary(file, member) as handle:
        head = handle.read(2)
    if len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5:  # a pickle (protocol 2-5), whatever its name
        if member is not None:
            raise DataError("binary vectors inside a zip are not supported; unzip the file first", file)
        return "gensim"
    return "text"


@contextmanager
def open_binary(file: Path, member: str | None = None):
    """Open a vectors file (plain, ``.gz`` or a ``.zip`` member) for reading bytes."""
    check_input_file(file, "vectors file")
    if file.stat().st_size == 0:
        raise DataError("vectors file is empty", file)
    if file.suffix.lower() == ".zip":
        with zipfile.ZipFile(file) as archive:
            names = [n for n in archive.namelist() if not n.endswith("/")]
            if member is None:
                if len(names) != 1:
                    listed = ", ".join(names[:8])
                    raise DataError(f"zip holds {len(names)} files ({listed}); name one as ARCHIVE.zip:MEMBER", file)
                member = names[0]
            if member not in names:
                raise DataError(f"zip has no member {member!r}; members: {', '.join(names[:8])}", file)
            with archive.open(member) as handle:
                yield handle
        return
    with open(file, "rb") as raw:
        if raw.read(2) == b"\x1f\x8b":
            raw.seek(0)
            with gzip.GzipFile(fileobj=raw) as handle:
                yield handle
        else:
            raw.seek(0)
            yield raw


def _is_header(line: str) -> bool:
    parts = line.split()
    return len(parts) == 2 and all(part.isdigit() for part in parts)


def read_text_vectors(
    path, restrict_to: Iterable[str] | None = None, max_vectors: int | None = None
) -> tuple[list[str], np.ndarray]:
    """Parse a GloVe / word2vec-text / fastText ``.vec`` file.

    Args:
        path: the file (``.gz`` and ``ARCHIVE.zip[:MEMBER]`` accepted).
        restrict_to: only keep these words (streams; memory stays near the result's size).
        max_vectors: only read the first this many vectors (files are usually sorted by frequency); with
            ``restrict_to``, the wanted words among those first vectors.

    Returns:
        ``(words, float32 matrix [len(words), dim])``; a word that occurs twice keeps its first vector.
    """
    file, member = split_archive_path(path)
    if restrict_to is None and max_vectors is None:
        try:
            return _read_with_pandas(file, member)
        except _NeedsCarefulParse:
            pass
    wanted = None if restrict_to is None else set(restrict_to)  # a copy: _read_lines consumes it
    return _read_lines(file, member, wanted, max_vectors)


class _NeedsCarefulParse(Exception):
    pass


_PANDAS_CHUNK_ROWS = 50_000


def _read_with_pandas(file: Path, member: str | None) -> tuple[list[str], np.ndarray]:
    """pandas' C reader on the decompressing stream, ``_PANDAS_CHUNK_ROWS`` rows at a time, into one float32
    matrix grown in place: neither the whole decompressed text nor a float64 copy of the matrix is ever held."""
    import pandas as pd

    words: list[str] = []
    matrix = None
    with open_binary(file, member) as handle:
        head = handle.peek(1 << 16)[: 1 << 16]
        first_end = head.find(b"\n")
        first_line = head[: first_end if first_end >= 0 else len(head)].decode("utf-8", "replace")
        skip = 1 if _is_header(first_line) else 0
        header_dim = int(first_line.split()[1]) if skip else None
        try:
            reader = pd.read_csv(
                handle,
                sep=" ",
                header=None,
                skiprows=skip,
                quoting=csv.QUOTE_NONE,
                na_filter=False,
                engine="c",
                encoding="utf-8",
                encoding_errors="replace",
                dtype={0: str},
                chunksize=_PANDAS_CHUNK_ROWS,
            )
            with reader:
                for frame in reader:
                    if frame.shape[1] < 2 or frame.iloc[:, -1].isna().any():
                        raise _NeedsCarefulParse
                    numbers = frame.iloc[:, 1:]
                    if any(dtype.kind != "f" and dtype.kind != "i" for dtype in numbers.dtypes):
                        raise _NeedsCarefulParse
                    if header_dim is not None and numbers.shape[1] != header_dim:
                        raise _NeedsCarefulParse  # the careful parser names the first line that disagrees
                    start = len(words)
                    if matrix is None:
                        matrix = np.empty((0, numbers.shape[1]), dtype=np.float32)
                    matrix.resize((start + len(frame), matrix.shape[1]), refcheck=False)  # realloc in place
                    matrix[start:] = numbers.to_numpy(dtype=np.float32)
                    words += frame.iloc[:, 0].astype(str).tolist()
                    _check_finite(words[start:], matrix[start:], file, first_line=1 + skip + start)
        except (pd.errors.ParserError, ValueError, pd.errors.EmptyDataError):
            raise _NeedsCarefulParse from None
    if matrix is None:
        raise _NeedsCarefulParse
    return _drop_duplicates(words, matrix)


def _check_finite(words: list[str], matrix: np.ndarray, file: Path, first_line: int | None = None) -> None:
    finite = np.isfinite(matrix).all(axis=1)
    if not finite.all():
        row = int(np.argmin(finite))
        line = None if first_line is None else first_line + row
        raise DataError(f"the vector of {words[row][:40]!r} holds nan or inf", file, line)


def _trailing_numbers(parts: list[str]) -> int:
    """How many fields at the end of a split line parse as numbers (the first field is always the word)."""
    count = 0
    for part in reversed(parts[1:]):
        if not is_number(part):
            break
        count += 1
    return count


def _drop_duplicates(words: list[str], matrix: np.ndarray) -> tuple[list[str], np.ndarray]:
    first = dict.fromkeys(words)
    if len(first) == len(words):
        return words, matrix
    seen, keep = set(), []
    for i, word in enumerate(words):
        if word not in seen:
            seen.add(word)
            keep.append(i)
    log.warning("vectors file lists %d words more than once; kept the first vector of each", len(words) - len(keep))
    return [words[i] for i in keep], matrix[keep]


_CHUNK_BYTES = 1 << 16


def _iter_lines(handle) -> Iterator[bytes]:
    """The lines of ``handle`` without their newline, read 64 KiB at a time (no per-line call into gzip.py)."""
    rest = b""
    while chunk := handle.read(_CHUNK_BYTES):
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        yield from lines
    if rest:
        yield rest


def _read_lines(file: Path, member, wanted: set | None, max_vectors: int | None) -> tuple[list[str], np.ndarray]:
    """Careful line-by-line parse: tokens with spaces, exact error lines; with ``wanted`` only those words'
    numbers are parsed (the rest of each line is skipped unread).

    ``wanted`` is consumed: a word leaves it when found (so its first vector wins without a second set, and reading
    stops once every wanted word is found). Rows go straight into one float32 matrix, preallocated for
    ``len(wanted)`` words (else grown by half in place) and shrunk in place at the end.
    """
    words: list[str] = []
    seen: set[str] | None = set() if wanted is None else None
    matrix = None
    dim = None
    bad_utf8 = 0
    vector_lines = 0  # data lines read, kept or not
    with open_binary(file, member) as handle:
        for number, raw in enumerate(_iter_lines(handle), start=1):
            key = raw.split(b" ", 1)[0] if wanted is not None and dim is not None else None
            if key is not None and key.decode("utf-8", errors="replace") not in wanted:
                # fast skip: not a wanted word (a token containing spaces is never wanted); it still counts
                # towards max_vectors, which is about the file's first vectors, as in legacy torchtext
                vector_lines += bool(raw.strip())
                if max_vectors is not None and vector_lines >= max_vectors:
                    break
                continue
            line = raw.decode("utf-8", errors="replace").rstrip("\r")
            if number == 1 and _is_header(line):
                dim = int(line.split()[1])
                continue
            if not line.strip():
                continue
            if "\ufffd" in line:
                bad_utf8 += 1
            parts = line.rstrip().split(" ")
            if dim is None:
                dim = _trailing_numbers(parts)
                if dim < 1:
                    raise DataError(
                        "line has no numbers (a header line must be 'COUNT DIM'); is this a vectors file?", file, number
                    )
            numbers = len(parts) - 1
            if numbers > dim and is_number(parts[-dim - 1]):
                numbers = _trailing_numbers(parts)  # more numbers than the others (a word never ends a line)
            if numbers != dim and (numbers < dim or is_number(parts[-dim - 1])):
                raise DataError(
                    f"line has {numbers} numbers, expected {dim} (mixed dimensions or a truncated file)",
                    file,
                    number,
                )
            # a token may contain spaces (GloVe 840B): the last `dim` fields are the numbers
            word = " ".join(parts[: len(parts) - dim])
            vector_lines += 1
            if (wanted is not None and word not in wanted) or (seen is not None and word in seen):
                if max_vectors is not None and vector_lines >= max_vectors:
                    break
                continue
            if matrix is None:
                capacity = len(wanted) if wanted is not None else 1 << 16
                if max_vectors is not None:
                    capacity = min(capacity, max_vectors)
                matrix = np.empty((max(capacity, 1), dim), dtype=np.float32)
            elif len(words) == matrix.shape[0]:
                matrix.resize((len(words) + len(words) // 2 + 1, dim), refcheck=False)
            try:
                matrix[len(words)] = parts[len(parts) - dim :]
            except ValueError:
                raise DataError(f"non-numeric value in the vector of {word[:40]!r}", file, number) from None
            words.append(word)
            if wanted is not None:
                wanted.discard(word)
                if not wanted:
                    break  # every wanted word was found
            else:
                seen.add(word)
            if max_vectors is not None and vector_lines >= max_vectors:
                break
    if dim is None:
        raise DataError("vectors file has no vectors", file)
    if bad_utf8:
        log.warning("%s: %d lines had bytes that are not UTF-8 (replaced by U+FFFD)", file, bad_utf8)
    if matrix is None:
        return words, np.zeros((0, dim), dtype=np.float32)
    matrix.resize((len(words), dim), refcheck=False)  # shrink in place (realloc), no copy
    _check_finite(words, matrix, file)
    return words, matrix


FASTTEXT_MAGIC = 793712314
_FASTTEXT_HEADER = struct.Struct("<2i12id3iqq")  # magic, version, 12 int args, t, then the dictionary's counts


def check_fasttext_bin(file: Path) -> None:
    """Check a fastText ``.bin`` model's header before gensim parses it: a classifier (``fasttext supervised``)
    holds no word vectors, and a truncated file (an interrupted download) would make gensim's word loop read
    past the end forever.

    Args:
        file: the ``.bin`` file (plain or ``.gz``; the size check needs a plain file).

    Raises:
        DataError: a supervised model, a damaged header, or a file shorter than its header says it is.
    """
    with open_binary(file) as handle:
        head = handle.read(_FASTTEXT_HEADER.size)
    if len(head) < _FASTTEXT_HEADER.size:
        raise DataError(
            f"truncated fastText model: {len(head)} bytes, shorter than its header (an interrupted download? "
            "download it again)",
            file,
        )
    fields = _FASTTEXT_HEADER.unpack(head)
    magic, dim, bucket, words, nwords, nlabels, pruned = fields[0], fields[2], fields[10], *fields[15:18], fields[19]
    if magic != FASTTEXT_MAGIC:
        raise DataError("not a fastText model (wrong magic number)", file)
    if nlabels > 0:
        raise DataError(
            f"this is a supervised fastText classifier ({nlabels} labels), not word vectors; give a model trained "
            "with 'fasttext skipgram' or 'cbow' (or its .vec file) to --vectors",
            file,
        )
    if dim < 1 or bucket < 0 or nwords < 0 or words < nwords or pruned < -1:
        raise DataError(f"damaged fastText model header (dim {dim}, {words} words, {bucket} buckets)", file)
    if file.suffix.lower() == ".gz":
        return
    # every word takes at least 10 bytes (one character, its end, a count and a type), then the input matrix:
    # a flag, its shape and (words + buckets) x dim float32 values (the output matrix after it is not read)
    least = _FASTTEXT_HEADER.size + 10 * words + 1 + 16 + 4 * dim * (words + bucket)
    size = file.stat().st_size
    if size < least:
        raise DataError(
            f"truncated fastText model: {size:,} bytes, but its header needs at least {least:,} (an interrupted "
            "download? download it again)",
            file,
        )


def read_gensim_vectors(path, kind: str, restrict_to=None, max_vectors=None, trust_pickle: bool = False):
    """Load a word2vec binary, fastText ``.bin`` or gensim ``KeyedVectors`` file through gensim.

    word2vec binary and fastText ``.bin`` files are parsed as numbers (no code in them can run). gensim
    ``.kv`` / ``.model`` / ``.wv`` files are Python pickles, which run whatever code they hold when loaded: they
    are refused unless ``trust_pickle`` (then loaded with a warning).

    Args:
        path: the file.
        kind: ``"word2vec-binary"``, ``"fasttext-bin"`` or ``"gensim"`` (:func:`detect_vectors_format`).
        restrict_to: keep only these words.
        max_vectors: keep only the first this many vectors.
        trust_pickle: load a gensim pickle (only for a file you made or trust).

    Returns:
        ``(words, matrix, keyed_vectors)``; the gensim object is kept for fastText models, whose character
        n-grams give vectors for out-of-vocabulary words.

    Raises:
        DataError: an unreadable file, or a gensim pickle without ``trust_pickle``.
    """
    from gensim.models import KeyedVectors
    from gensim.models.fasttext import load_facebook_vectors

    file, member = split_archive_path(path)
    if member is not None:
        raise DataError("binary vectors inside a zip are not supported; unzip the file first", file)
    check_input_file(file, "vectors file")
    if kind == "gensim":
        check_pickle_trusted(file, trust_pickle)
    if kind == "fasttext-bin":
        check_fasttext_bin(file)
    try:
        if kind == "fasttext-bin":
            keyed = load_facebook_vectors(str(file))
        elif kind == "word2vec-binary":
            keyed = KeyedVectors.load_word2vec_format(
                str(file), binary=True, unicode_errors="replace", limit=max_vectors
            )
        else:
            keyed = KeyedVectors.load(str(file))
    except (ValueError, EOFError, OSError, UnicodeDecodeError, AttributeError, AssertionError, struct.error,
            pickle.UnpicklingError, NotImplementedError) as exc:  # fmt: skip
        raise DataError(f"cannot read as {kind} vectors ({type(exc).__name__}: {exc})", file) from None
    words = list(keyed.index_to_key)
    matrix = np.asarray(keyed.vectors, dtype=np.float32)
    if max_vectors is not None:
        words, matrix = words[:max_vectors], matrix[:max_vectors]
    if restrict_to is not None:
        wanted = set(restrict_to)
        keep = [i for i, word in enumerate(words) if word in wanted]
        words, matrix = [words[i] for i in keep], matrix[keep]
    oov = keyed if kind == "fasttext-bin" else None
    return words, matrix, oov
