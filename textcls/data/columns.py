"""Choosing which columns of a user's file hold the text and the label, so ``textcls train file.csv`` just works.

Rules, in order (each overridable from the CLI):

- header: the first row is a header when none of its values is a number and all are short names
  (``--no-header`` / ``--columns a,b,c`` for header-less files such as AG News's ``class,title,description``);
- label: ``--label-col``; else a column named like a label (``label``, ``class``, ``category``, ...); else two or
  more 0/1 columns with one 1 per row (one-hot, the news.csv layout); else the non-text column with the fewest
  distinct values;
- text: ``--text-col`` (several, comma-separated, are joined); else columns named like text (``text``,
  ``content``, ``title``, ...); else every column whose values average 15 characters or more;
- overflow (rows with more fields than the header, an unquoted separator inside the text, as in the book's
  NewsClassification files where every ``;`` became a field separator): merged back into the text, with a
  warning giving the count and the separator, only when it is unambiguous (see :func:`overflow_separator`);
  anything else stays the reader's one-line error. ``--extra-fields merge|skip`` decide for themselves.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from textcls._util import is_number
from textcls.data.dataset import TabularDataset
from textcls.data.fields import Field
from textcls.data.readers import first_record, read_table
from textcls.errors import DataError
from textcls.read_options import ReadOptions

TEXT_NAMES = ("text", "content", "title", "description", "body", "sentence", "review", "document", "message", "post")
LABEL_NAMES = ("label", "labels", "class", "category", "target", "topic", "sentiment", "y", "class_index", "tag")
ID_NAMES = ("id", "idx", "index", "uid", "guid")
SAMPLE_ROWS = 2000
# a piece of a split text ending in an HTML character reference whose ';' became a field separator (``#39``)
LOST_SEMICOLON = re.compile(r"(&#?\w+|#\d+|\b(?:quot|amp|lt|gt|nbsp|apos|hellip))$")
SPLIT_MARK = "\ue000"  # joins the pieces of a split text while they are looked at (a private-use character)
log = logging.getLogger("textcls")


@dataclass
class ColumnChoice:
    """What :func:`choose_columns` decided.

    Attributes:
        column_names: names of the columns (the header, or given/generated names for header-less files).
        has_header: whether the file's first row is a header.
        text_columns: columns joined (in this order) into the text.
        label_columns: one label column, or the one-hot indicator columns.
        one_hot: whether ``label_columns`` are one-hot indicators.
        overflow_sep: the separator that joins back the text of rows split by an unquoted separator (read with
            ``extra_fields="merge"``), or ``None`` when the file has no such rows or they were not merged.
    """

    column_names: list[str]
    has_header: bool
    text_columns: list[str]
    label_columns: list[str]
    one_hot: bool
    overflow_sep: str | None = None

    def describe(self) -> str:
        label = ("one-hot " if self.one_hot else "") + ", ".join(self.label_columns)
        return f"text: {' + '.join(self.text_columns)}; label: {label}"


def looks_like_header(first_row: list[str]) -> bool:
    """True when no value is a number and every value is a short name (at most 4 words, 40 characters)."""
    values = [value.strip() for value in first_row if value.strip()]
    return bool(values) and all(not is_number(v) and len(v) <= 40 and len(v.split()) <= 4 for v in values)


def choose_columns(
    path,
    text_cols: list[str] | None = None,
    label_col: str | None = None,
    columns: list[str] | None = None,
    no_header: bool = False,
    multilabel: bool = False,
    options: ReadOptions | None = None,
) -> ColumnChoice:
    """Decide the text and label columns of a csv/tsv file (see the module docstring for the rules).

    Args:
        path: the file.
        text_cols: text column names to use (joined in order), or ``None`` to detect.
        label_col: the label column name, or ``None`` to detect.
        columns: names for a header-less file's columns (implies no header).
        no_header: the file has no header; columns are named ``col1, col2, ...`` unless ``columns`` is given.
        multilabel: several labels per text (one-hot rows may then have no 1 at all).
        options: how to parse the file (``None``: defaults); its ``extra_fields`` and ``bad_rows`` are not used
            (a sample of the rows is looked at, bad ones skipped).
    """
    given = options or ReadOptions()
    options = replace(given, extra_fields="skip", bad_rows="skip")
    raw = read_table(path, options, has_header=False, report=False)
    if raw.format in ("json", "jsonl", "fasttext"):
        keys = list(dict.fromkeys(k for row in raw.rows[:SAMPLE_ROWS] for k in row.values))
        rows = [[str(row.values.get(k, "")) for k in keys] for row in raw.rows[:SAMPLE_ROWS]]
        names, has_header = keys, False
    else:
        first = raw.rows[0].values
        has_header = not no_header and columns is None and looks_like_header(first)
        rows = [row.values for row in raw.rows[1 if has_header else 0 : SAMPLE_ROWS]]
        if columns is not None:
            names = [name.strip() for name in columns]
        elif has_header:
            names = [value.strip() for value in first]
            while names and not names[-1]:
                names.pop()
        else:
            names = [f"col{i + 1}" for i in range(len(first))]
    if not rows:
        raise DataError("has a header but no data rows", path)
    values = {name: [row[i] if i < len(row) else "" for row in rows] for i, name in enumerate(names)}

    def check(name: str) -> str:
        if name not in values:
            raise DataError(f"column {name!r} not found; columns are: {', '.join(names)}", path)
        return name

    lower = {name.lower(): name for name in names}
    ids = {name for name in names if name.lower() in ID_NAMES}
    one_hot = False
    if label_col is not None:
        labels = [check(label_col)]
    else:
        labels = [lower[n] for n in LABEL_NAMES if n in lower][:1]
        if not labels:
            labels = _one_hot_columns(values, exclude=ids, multilabel=multilabel)
            one_hot = bool(labels)
    if text_cols:
        texts = [check(name) for name in text_cols]
    else:
        texts = [name for name in names if name.lower() in TEXT_NAMES and name not in labels]
        if not texts:
            texts = [
                name for name in names if name not in labels and name not in ids and _mean_length(values[name]) >= 15
            ]
    if not labels:
        candidates = [n for n in names if n not in texts and n not in ids and len(set(values[n])) > 1]
        if candidates:
            labels = [min(candidates, key=lambda n: len(set(values[n])))]
    if not texts:
        raise DataError(f"no text column found (columns: {', '.join(names)}); name it with --text-col", path)
    if not labels:
        raise DataError(f"no label column found (columns: {', '.join(names)}); name it with --label-col", path)
    choice = ColumnChoice(names, has_header, texts, labels, one_hot)
    if given.extra_fields == "error" and raw.format in ("csv", "tsv") and raw.notes.get(SKIPPED_LONG):
        choice.overflow_sep = overflow_separator(path, choice, values, given, multilabel)
    return choice


SKIPPED_LONG = "rows with extra fields skipped"  # the note of read_table's extra_fields="skip"


def overflow_separator(path, choice: ColumnChoice, values: dict[str, list[str]], options: ReadOptions, multilabel):
    """The separator that merges back the rows of ``path`` whose text an unquoted separator split, or ``None``
    when merging them is not unambiguous: then reading stays the reader's one-line error naming the row.

    Merging is unambiguous when there is exactly one text column, every column after it is a label column, and in
    every long row the trailing fields read as those labels (one-hot 0/1 with exactly one 1, any number when
    ``multilabel``; or a value of the label column already seen in the normal rows). The separator: a
    ``merge_sep`` other than the default ``,`` as given; else ``;`` when at least half of the long rows have a
    piece ending in an HTML character reference that lost its ``;`` (``#39``, ``&amp``, ``quot``: the book's
    files, where every ``;`` became a field separator); else the file's own delimiter.

    Args:
        path: the file.
        choice: the columns chosen (its ``overflow_sep`` is not read).
        values: the sampled values of each column of the normal rows.
        options: how the file is parsed (as the user gave them).
        multilabel: several labels per text (a one-hot row may have any number of 1s).
    """
    names = choice.column_names
    if len(choice.text_columns) != 1 or names[names.index(choice.text_columns[0]) + 1 :] != choice.label_columns:
        return None
    text_index = names.index(choice.text_columns[0])
    marked = replace(options, extra_fields="merge", merge_sep=SPLIT_MARK, bad_rows="skip")
    table = read_table(
        path, marked, has_header=choice.has_header, width=len(names), merge_column=text_index, report=False
    )
    long_rows = [row.values for row in table.rows if SPLIT_MARK in row.values[text_index]]
    if not long_rows or len(long_rows) != sum(v for k, v in table.notes.items() if k.startswith("rows with extra")):
        return None
    seen = set(values[choice.label_columns[0]])
    for row in long_rows:
        labels = [value.strip() for value in row[text_index + 1 :]]
        if choice.one_hot:
            ones = sum(value == "1" for value in labels)
            if not all(value in ("0", "1") for value in labels) or (ones != 1 and not multilabel):
                return None
        elif labels[0] not in seen:
            return None
    if options.merge_sep != ReadOptions.merge_sep:
        sep = options.merge_sep
    else:
        lost = sum(
            any(LOST_SEMICOLON.search(piece) for piece in row[text_index].split(SPLIT_MARK)[:-1]) for row in long_rows
        )
        delimiter = (options.csv_reader_params or {}).get("delimiter", "\t" if table.format == "tsv" else ",")
        sep = ";" if 2 * lost >= len(long_rows) else delimiter
    log.warning(
        "%s: %d rows had the text split by %r — merged back (pass --extra-fields skip to drop them instead)",
        Path(path).name, len(long_rows), sep,
    )  # fmt: skip
    return sep


def _mean_length(column: list[str]) -> float:
    return sum(len(v) for v in column) / max(1, len(column))


def _one_hot_columns(values: dict[str, list[str]], exclude, multilabel: bool = False) -> list[str]:
    binary = [
        name
        for name, column in values.items()
        if name not in exclude and column and all(v.strip() in ("0", "1") for v in column)
    ]
    if len(binary) < 2:
        return []
    rows = zip(*(values[name] for name in binary))
    if multilabel or all(sum(v.strip() == "1" for v in row) >= 1 for row in rows):
        return binary
    return []


def _starts_with_header(path, choice: ColumnChoice, options: ReadOptions | None) -> bool:
    """Whether a csv/tsv ``path`` read with a header-less ``choice`` (one made from a json/jsonl file, or from
    header-less rows) still starts with a header naming every text and label column: each file's header follows
    its own format (a ``.jsonl`` training file with a ``.csv`` validation file)."""
    first = first_record(path, options)
    if first is None:
        return False
    names = {value.strip() for value in first}
    return looks_like_header(first) and names.issuperset(choice.text_columns + choice.label_columns)


def read_dataset(path, choice: ColumnChoice, text_field: Field, label_field: Field, options: ReadOptions | None = None):
    """Read ``path`` into a :class:`TabularDataset` with attributes ``text`` and ``label`` as ``choice`` says.

    Args:
        path: the file.
        choice: the columns, from :func:`choose_columns` (any file with the same layout).
        text_field: field for the (joined) text columns.
        label_field: field for the label (a one-hot group becomes one label, or a list for multi-label fields).
        options: how to parse the file (``None``: defaults); with the default ``extra_fields="error"``, a
            ``choice`` with an ``overflow_sep`` merges the overflow of long rows back with that separator.
    """
    options = options or ReadOptions()
    if choice.overflow_sep is not None and options.extra_fields == "error":
        options = replace(options, extra_fields="merge", merge_sep=choice.overflow_sep)
    has_header = choice.has_header or _starts_with_header(path, choice, options)
    text_key = tuple(choice.text_columns) if len(choice.text_columns) > 1 else choice.text_columns[0]
    label_key = tuple(choice.label_columns) if choice.one_hot else choice.label_columns[0]
    fields = {text_key: ("text", text_field), label_key: ("label", label_field)}
    return TabularDataset(
        path,
        fields=fields,
        skip_header=has_header,
        column_names=None if has_header else choice.column_names,
        **asdict(options),
    )
