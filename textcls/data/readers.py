"""Reading tabular files (csv / tsv / json / jsonl, each optionally ``.gz``) into rows, with clear errors.

CSV and TSV go through the standard ``csv`` module rather than pandas: pandas cannot say on which line a
ragged row starts, nor repair a single row, and both are needed to give "file:line" messages and the
recoveries below. JSON goes through the ``json`` module (one object per line, or one top-level array).

Recoveries (each reported once with a count, through the ``textcls`` logger):

- empty padding columns (an empty header name with only empty values under it, or trailing empty fields past
  the last column) are dropped — always safe;
- rows with more fields than the file has columns (an unquoted separator inside the text) are an error unless
  ``extra_fields="merge"`` (join the overflow back into one text column) or ``"skip"``;
- rows with too few fields are an error unless ``bad_rows="skip"``.

The file's width (its number of columns) comes from the header, after dropping empty padding columns, or, without
a header, from its rows (the most common row length); a caller reading only the first few columns never
changes it, so merging joins only the true overflow into the text and never a label column.

CSV and TSV both honour double quotes as legacy torchtext's ``csv.reader`` did (a doubled quote inside a quoted
field is one quote, newlines inside one are kept); ``csv_reader_params={"quoting": csv.QUOTE_NONE}`` reads quotes
as plain characters.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import json
import logging
import os
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from textcls._util import check_input_file
from textcls.errors import ArgumentError, DataError
from textcls.fasttext_lines import FASTTEXT_PREFIX, split_fasttext_line
from textcls.read_options import ReadOptions

log = logging.getLogger("textcls")

FORMATS = ("csv", "tsv", "json", "jsonl", "fasttext")
EXTRA_FIELD_POLICIES = ("error", "merge", "skip")
BAD_ROW_POLICIES = ("error", "skip")


def detect_format(path: str | os.PathLike, format: str | None = None) -> str:
    """Return the format named by ``format`` or, when ``None``, by the file's extension (``.gz`` ignored); a file
    whose extension is not ``csv``/``tsv``/``json``/``jsonl`` (``.txt``, ``.train``, none...) and whose first
    non-blank line starts with ``__label__`` is ``fasttext``."""
    if format is not None:
        fmt = format.lower()
    else:
        name = Path(path).name.lower()
        name = name[:-3] if name.endswith(".gz") else name
        fmt = name.rsplit(".", 1)[-1] if "." in name else ""
        if fmt not in ("csv", "tsv", "json", "jsonl", "ndjson") and starts_with_fasttext_label(path):
            return "fasttext"
        fmt = {"txt": "tsv", "ndjson": "jsonl"}.get(fmt, fmt)
    if fmt not in FORMATS:
        hint = f"format {format!r}" if format is not None else f"extension of {Path(path).name!r}"
        raise DataError(f"unknown {hint}; use one of {', '.join(FORMATS)} (optionally .gz)", path)
    return fmt


def starts_with_fasttext_label(path) -> bool:
    """Whether the first non-blank line of ``path`` (optionally gzipped) starts with ``__label__`` (read from its
    first 64 KiB; a missing or unreadable file is ``False``)."""
    try:
        with open(path, "rb") as raw:
            head = raw.read(1 << 16)
            if head[:2] == b"\x1f\x8b":
                raw.seek(0)
                with gzip.GzipFile(fileobj=raw) as handle:
                    head = handle.read(1 << 16)
    except (OSError, EOFError):
        return False
    text = head.decode("utf-8", errors="replace").removeprefix("\ufeff")
    return next((line.lstrip() for line in text.split("\n") if line.strip()), "").startswith(FASTTEXT_PREFIX)


def _fasttext_rows(path: Path, text: str) -> Iterator[Row]:
    """fastText lines as JSON-like rows ``{"label": ..., "text": ...}``: the label a string, or a list when the
    line has several (a line without a label has ``label`` ``None``: a missing label)."""
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        labels, words = split_fasttext_line(line)
        label = None if not labels else labels[0] if len(labels) == 1 else labels
        yield Row(number, {"label": label, "text": words})


def fasttext_has_multilabel_lines(path, options: ReadOptions | None = None) -> bool:
    """Whether a fastText file has a line with several labels (then it trains a multi-label model)."""
    options = ReadOptions() if options is None else options
    text = read_text(check_input_file(path), options.encoding, options.encoding_errors)
    return any(isinstance(row.values["label"], list) for row in _fasttext_rows(Path(path), text))


GUNZIP_LIMIT_VARIABLE = "TEXTCLS_MAX_DECOMPRESSED_BYTES"
DEFAULT_GUNZIP_LIMIT = 8 << 30


def read_text(path: str | os.PathLike, encoding: str = "utf-8", encoding_errors: str = "strict") -> str:
    """Read a (possibly gzipped) text file; undecodable bytes raise a :class:`DataError` naming the line.

    Args:
        path: a regular file (a device or FIFO is refused: it could be read forever).
        encoding: the text encoding.
        encoding_errors: ``strict`` (an error naming the line), ``replace`` or ``ignore``.

    A gzipped file may decompress to at most ``$TEXTCLS_MAX_DECOMPRESSED_BYTES`` bytes (default 8 GiB), so a
    gzip bomb ends in an error instead of filling the memory.
    """
    path = check_input_file(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = _gunzip(raw, path)
    try:
        text = raw.decode(encoding, errors=encoding_errors)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            f"byte 0x{raw[exc.start]:02x} is not valid {encoding}; re-save the file as UTF-8, or pass "
            "encoding='latin-1' (CLI: --encoding latin-1) or encoding_errors='replace'",
            path,
            line,
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise DataError("file is empty", path)
    return text


def _gunzip(raw: bytes, path: Path) -> bytes:
    """Decompress ``raw``, refusing more than ``$TEXTCLS_MAX_DECOMPRESSED_BYTES`` bytes of output."""
    try:
        limit = int(os.environ.get(GUNZIP_LIMIT_VARIABLE) or DEFAULT_GUNZIP_LIMIT)
    except ValueError:
        raise ArgumentError(f"{GUNZIP_LIMIT_VARIABLE} must be a number of bytes") from None
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as handle:
            data = handle.read(limit + 1)
    except (OSError, EOFError) as exc:
        raise DataError(f"is not a valid gzip file ({exc})", path) from None
    if len(data) > limit:
        raise DataError(
            f"decompresses to more than {limit:,} bytes (a gzip bomb?); if the file is genuine, raise the limit "
            f"with the environment variable {GUNZIP_LIMIT_VARIABLE}=BYTES",
            path,
        )
    return data


_PEEK_BYTES = 1 << 20


def first_record(path, options: ReadOptions | None = None) -> list[str] | None:
    """The first non-blank record of a csv/tsv file, read from its first MiB only (``None`` for a json/jsonl
    file, or when that MiB holds no whole record).

    Args:
        path: the file (optionally ``.gz``).
        options: how to parse it (its ``format``, ``encoding`` and ``csv_reader_params``; ``None``: defaults).
    """
    options = ReadOptions() if options is None else options
    path = check_input_file(path)
    fmt = detect_format(path, options.format)
    if fmt in ("json", "jsonl", "fasttext"):
        return None
    with open(path, "rb") as raw:
        head = raw.read(_PEEK_BYTES)
        if head[:2] == b"\x1f\x8b":
            raw.seek(0)
            try:
                with gzip.GzipFile(fileobj=raw) as handle:
                    head = handle.read(_PEEK_BYTES)
            except (OSError, EOFError) as exc:
                raise DataError(f"is not a valid gzip file ({exc})", path) from None
    text = head.decode(options.encoding, errors="replace").removeprefix("\ufeff")
    lines = text.split("\n")[:-1] if len(head) == _PEEK_BYTES else text.split("\n")  # drop a cut last line
    params = {"delimiter": "\t" if fmt == "tsv" else ",", **(options.csv_reader_params or {})}
    with _unlimited_field_size():
        for _, values in _csv_records(path, "\n".join(lines), params):
            return values
    return None


@dataclass
class Row:
    """One record: ``values`` (list for csv/tsv, dict for json) and the line it starts on."""

    line: int
    values: list | dict


@dataclass
class Table:
    """A parsed file: its header (``None`` when absent) and rows; ``notes`` counts the recoveries made."""

    path: Path
    format: str
    header: list[str] | None
    rows: list[Row]
    notes: dict[str, int] = field(default_factory=dict)


def read_table(
    path,
    options: ReadOptions | None = None,
    has_header: bool = False,
    width: int | None = None,
    merge_column: int | str | None = None,
    report: bool = True,
    used_columns: int | None = None,
) -> Table:
    """Read a csv/tsv/json/jsonl file (optionally .gz).

    Args:
        path: the file.
        options: how to parse it (:class:`~textcls.read_options.ReadOptions`: the format, ``None`` picking it by
            extension; ``extra_fields``: rows with more fields than the file's width, ``"error"``, ``"merge"``
            (joined back with ``merge_sep``) or ``"skip"``; ``bad_rows``: rows with too few fields, ``"error"``
            or ``"skip"``; ``encoding``, ``encoding_errors``; ``csv_reader_params``: extra ``csv.reader``
            arguments such as ``quoting=csv.QUOTE_NONE``, overriding the format's defaults). ``None``: defaults.
        has_header: the first csv/tsv row is a header.
        width: the file's number of columns, when the caller knows it (``None``: the header's width after
            dropping empty padding columns, else the rows' most common length, or the first row's if wider when
            ``used_columns`` is not given; never less than ``used_columns``).
        merge_column: index or header name of the text column that absorbs overflow fields with
            ``extra_fields="merge"``.
        report: log the recoveries made (a warning per kind, with its count).
        used_columns: how many leading columns the caller reads by position (a positional field list). Without
            a header and without ``width``, when the rows are wider, rows need only this many fields and longer
            rows are read by their first columns (legacy torchtext), unless ``extra_fields`` is ``"merge"`` or
            ``"skip"``: then rows longer than the file's width are merged or skipped.
    """
    options = ReadOptions() if options is None else options
    extra_fields, bad_rows = options.extra_fields, options.bad_rows
    if extra_fields not in EXTRA_FIELD_POLICIES:
        raise DataError(f"extra_fields must be one of {EXTRA_FIELD_POLICIES}, not {extra_fields!r}")
    if bad_rows not in BAD_ROW_POLICIES:
        raise DataError(f"bad_rows must be one of {BAD_ROW_POLICIES}, not {bad_rows!r}")
    path = check_input_file(path)
    fmt = detect_format(path, options.format)
    text = read_text(path, options.encoding, options.encoding_errors)
    if fmt in ("json", "jsonl"):
        return Table(path, fmt, None, list(_json_rows(path, text)))
    if fmt == "fasttext":
        rows = list(_fasttext_rows(path, text))
        if not rows:
            raise DataError("file is empty", path)
        return Table(path, fmt, None, rows)

    params = {"delimiter": "\t" if fmt == "tsv" else ",", **(options.csv_reader_params or {})}
    spans: dict[int, int] = {}
    with _unlimited_field_size():
        records = _csv_records(path, text, params, spans)
        header = None
        if has_header:
            try:
                _, header = next(records)
            except StopIteration:
                raise DataError("file is empty", path) from None
        raw_rows = list(records)
    if not raw_rows:
        raise DataError("has a header but no data rows" if header is not None else "file is empty", path)
    table = Table(path, fmt, header, [])
    shape = _table_shape(table, raw_rows, width, used_columns)
    _check_runaway_quotes(path, text, raw_rows, spans, shape.width, params)
    if isinstance(merge_column, str):
        header = [name.strip() for name in table.header or []]
        merge_column = header.index(merge_column.strip()) if merge_column.strip() in header else None
    _fit_rows(table, raw_rows, shape, merge_column, extra_fields, options.merge_sep, bad_rows)
    if not table.rows:
        raise DataError("no usable rows left after skipping bad rows", path)
    if report and table.notes:
        log.warning("%s: %s", path, "; ".join(f"{what}: {count:,}" for what, count in table.notes.items()))
    return table


@contextlib.contextmanager
def _unlimited_field_size():
    """Lift the csv module's 128 KiB field limit while reading (legacy torchtext lifted it for good): long
    documents are legitimate fields."""
    previous = csv.field_size_limit()
    limit = sys.maxsize
    while True:
        try:
            csv.field_size_limit(limit)
            break
        except OverflowError:  # the C long is narrower than sys.maxsize on some platforms
            limit //= 10
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _csv_records(
    path: Path, text: str, params: dict, spans: dict[int, int] | None = None
) -> Iterator[tuple[int, list[str]]]:
    """``(first line, fields)`` of each non-blank record; ``spans`` (when given) gets ``first line: last line``
    for each record that spans several lines (a quoted field holding newlines)."""
    try:
        reader = csv.reader(io.StringIO(text), **params)
    except TypeError as exc:  # an unknown or ill-typed csv_reader_params entry
        raise ArgumentError(f"bad csv_reader_params {params}: {exc}; see the csv.reader documentation") from None
    start = 1
    try:
        for values in reader:
            if any(values):  # skips blank lines and all-empty rows
                if spans is not None and reader.line_num > start:
                    spans[start] = reader.line_num
                yield start, values
            start = reader.line_num + 1
    except csv.Error as exc:
        raise DataError(f"malformed {params['delimiter']!r}-separated row: {exc}", path, start) from None


def _check_runaway_quotes(path: Path, text: str, raw_rows, spans: dict[int, int], width: int, params: dict) -> None:
    """Refuse a record whose quoted field swallowed whole rows: a stray quote that opens a field and is closed
    only lines later (or never) silently merges the rows in between into one text.

    A line inside such a field (every line of the record but its last, and on its first line only the fields
    after the one the quote opens) that splits into the file's width, with a label-like column (one whose values
    repeat across the single-line rows) holding a value seen there, is a row of its own. A genuine multi-line
    text rarely has such a line, and its last line, which holds the rest of its record, is never looked at.
    """
    if not spans or params.get("quoting", csv.QUOTE_MINIMAL) == csv.QUOTE_NONE:
        return
    single = [values for line, values in raw_rows if line not in spans]
    known = {}
    for column in range(width):
        seen = Counter(values[column].strip() for values in single if column < len(values))
        if len(single) >= 3 and len(seen) <= max(2, len(single) // 3):
            known[column] = set(seen)
    if not known:
        return
    quotechar = params.get("quotechar", '"')
    plain = {**params, "quoting": csv.QUOTE_NONE}
    lines = text.split("\n")
    for start, end in spans.items():
        for number in range(start, end):
            fields = next(csv.reader([lines[number - 1].rstrip("\r")], **plain), [])
            opened = -1
            if number == start:
                opened = next((i for i, value in enumerate(fields) if value.startswith(quotechar)), len(fields))
            if len(_strip_trailing_empty(fields)) != width:
                continue
            if any(fields[column].strip() in values for column, values in known.items() if column > opened):
                raise DataError(
                    f"a {quotechar!r} opens a field here that is closed only on line {end}, swallowing the rows "
                    f"in between (line {number} reads as a whole row); close or double the quote, or pass "
                    "csv_reader_params={'quoting': csv.QUOTE_NONE} (CLI: --set data.csv_reader_params.quoting=3) "
                    "to read quotes as plain characters",
                    path,
                    start,
                )


@dataclass
class _Shape:
    """How many fields a row may and must have.

    Attributes:
        width: the file's number of columns; more (non-empty) fields than this is overflow.
        min_fields: fewer fields than this is a short row.
        source: where ``width`` came from, for error messages.
        long_rows_ok: longer rows are kept as they are unless ``extra_fields`` says otherwise (a header-less
            file read by a shorter positional list: legacy torchtext read such rows by their first columns).
    """

    width: int
    min_fields: int
    source: str
    long_rows_ok: bool = False


def _table_shape(table: Table, raw_rows, width: int | None, used_columns: int | None) -> _Shape:
    """Drop empty padding columns from the header and decide the file's width and the least fields per row."""
    used = used_columns or 0
    header = table.header
    if header is not None:
        last = len(header)
        while last > 0 and not header[last - 1].strip():
            last -= 1
        if last < len(header):
            table.notes["empty padding columns dropped from the header"] = len(header) - last
            table.header = header = header[:last]
    if width is not None:
        width = max(width, used)
        return _Shape(width, width, "columns")
    if header is not None:
        width = max(len(header), used)
        return _Shape(width, width, "columns")
    common = _most_common_width(raw_rows)
    if not used:  # the first row may be a header read as data, or hold the only value of a mostly empty column
        width = max(common, len(_strip_trailing_empty(raw_rows[0][1])))
        return _Shape(width, width, "columns, judging by its rows,")
    if common <= used:
        return _Shape(used, used, "columns")
    # a positional list shorter than the rows of a header-less file reads their first columns, as legacy did:
    # only those must be there, and longer rows are read the same way unless extra_fields asks to merge or skip
    return _Shape(common, used, "columns, judging by its rows,", long_rows_ok=True)


def _most_common_width(raw_rows) -> int:
    """The most common number of fields per row, trailing empty fields aside (the smaller on a tie)."""
    counts = Counter(len(_strip_trailing_empty(values)) for _, values in raw_rows)
    return max(counts, key=lambda n: (counts[n], -n))


def _strip_trailing_empty(values: list[str]) -> list[str]:
    end = len(values)
    while end > 0 and values[end - 1] == "":
        end -= 1
    return values[:end]


def _fit_rows(table, raw_rows, shape: _Shape, merge_column, extra_fields, merge_sep, bad_rows) -> None:
    """Check every row against ``shape``, apply the recoveries asked for, and note what was done."""
    path, width = table.path, shape.width
    counts = Counter()
    for line, values in raw_rows:
        if len(values) > width:
            stripped = _strip_trailing_empty(values)
            counts["trimmed"] += len(stripped) < len(values)
            values = stripped + [""] * max(0, width - len(stripped))
        if len(values) > width and shape.long_rows_ok and extra_fields == "error":
            counts["kept_long"] += 1
        elif len(values) > width:
            if extra_fields == "skip":
                counts["skipped_long"] += 1
                continue
            if extra_fields != "merge" or merge_column is None or merge_column >= width:
                raise _overflow_error(values, shape, merge_column, path, line)
            extra = len(values) - width
            values = (
                values[:merge_column]
                + [merge_sep.join(values[merge_column : merge_column + extra + 1])]
                + values[merge_column + extra + 1 :]
            )
            counts["merged"] += 1
        elif len(values) < shape.min_fields:
            if bad_rows == "skip":
                counts["skipped_short"] += 1
                continue
            raise _short_row_error(values, shape, path, line)
        table.rows.append(Row(line, values))
    kept_long = (
        f"rows longer than most ({width} fields) read by their first {shape.min_fields} columns (if a separator "
        "inside the text made them longer, pass extra_fields='merge')"
    )
    for key, what in (
        ("trimmed", "rows with trailing empty fields trimmed"),
        ("merged", f"rows with extra fields merged back into one column with {merge_sep!r}"),
        ("skipped_long", "rows with extra fields skipped"),
        ("skipped_short", "rows with too few fields skipped"),
        ("kept_long", kept_long),
    ):
        if counts[key]:
            table.notes[what] = counts[key]


def _overflow_error(values, shape: _Shape, merge_column, path, line) -> DataError:
    target = "" if merge_column is None else " back into the text column"
    return DataError(
        f"row has {len(values)} fields but the file has {shape.width} {shape.source} (an unquoted separator "
        f"inside the text?); pass extra_fields='merge' (CLI: --extra-fields merge --merge-sep SEP) to join the "
        f"overflow{target}, or extra_fields='skip' to drop such rows{_quote_hint(values)}",
        path,
        line,
    )


def _short_row_error(values, shape: _Shape, path, line) -> DataError:
    expected = "the file has" if shape.min_fields == shape.width else "the fields list reads"
    return DataError(
        f"row has {len(values)} fields but {expected} {shape.min_fields} columns; fix the row or pass "
        f"bad_rows='skip' (CLI: --bad-rows skip) to drop such rows{_quote_hint(values)}",
        path,
        line,
    )


def _quote_hint(values) -> str:
    """A hint for a bad row whose quoted field spans lines: often a stray '"' that opened a quoted field."""
    if not any("\n" in value for value in values):
        return ""
    return (
        "; a quoted field of this row spans several lines (a stray '\"'? csv_reader_params="
        "{'quoting': csv.QUOTE_NONE} reads quotes as plain characters)"
    )


def _json_rows(path: Path, text: str) -> Iterator[Row]:
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"invalid JSON: {exc.msg}", path, exc.lineno) from None
        for index, obj in enumerate(data):
            if not isinstance(obj, dict):
                raise DataError(f"array item {index} is not a JSON object", path)
            yield Row(index + 1, obj)
        return
    for number, line in enumerate(text.split("\n"), start=1):  # not splitlines(): U+2028 may sit in a string
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"invalid JSON line: {exc.msg}", path, number) from None
        if not isinstance(obj, dict):
            raise DataError("line is not a JSON object", path, number)
        yield Row(number, obj)
