"""Datasets: lists of :class:`Example` with their fields, read from tabular files (legacy torchtext API)."""

from __future__ import annotations

import contextlib
import difflib
import gc
import logging
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import torch.utils.data

from textcls.data.example import Example
from textcls.data.fields import ColumnGroup, Concat, Field, OneHot, RawField
from textcls.data.readers import read_table
from textcls.errors import DataError, TextclsError

log = logging.getLogger("textcls")

MISSING_VALUES = frozenset({"", "nan", "NaN", "NAN", "null", "NULL", "None"})


class Dataset(torch.utils.data.Dataset):
    """A list of examples and the fields that read them.

    Args:
        examples: list of :class:`Example`.
        fields: ``{name: field}`` or a list of ``(name, field)`` pairs (``None`` fields are kept as columns
            that are never batched).
        filter_pred: keep only examples for which ``filter_pred(example)`` is true.

    Iterating gives the examples; ``dataset.<name>`` gives a generator over one attribute, as in legacy
    torchtext.
    """

    sort_key = None

    def __init__(self, examples, fields, filter_pred=None):
        if filter_pred is not None:
            examples = [example for example in examples if filter_pred(example)]
        self.examples = list(examples)
        self.fields = dict(_flatten_fields(fields))

    @classmethod
    def splits(cls, path=None, root=".data", train=None, validation=None, test=None, **kwargs):
        """Build train/validation/test datasets from files in ``path``.

        Args:
            path: directory holding the files (a file name given as an absolute path is used as it is).
            root: unused; kept for legacy signatures.
            train, validation, test: file names, or ``None`` to skip that split.
            **kwargs: passed to the dataset constructor (``format``, ``fields``, ``skip_header``, ...).

        Returns:
            A tuple of the datasets that were named, in train, validation, test order.
        """
        base = Path(path) if path is not None else Path(".")
        return tuple(cls(base / name, **kwargs) for name in (train, validation, test) if name is not None)

    def split(self, split_ratio=0.7, stratified: bool = False, strata_field: str = "label", random_state=None):
        """Split into train/test or train/valid/test datasets (legacy semantics).

        Args:
            split_ratio: a float (share of training data; the rest is test), or a list of relative sizes
                ``[train, test]`` or ``[train, test, valid]``.
            stratified: keep each label's share the same in every split.
            strata_field: the example attribute to stratify on.
            random_state: an int seed, or a state from ``random.getstate()``; ``None`` uses ``random``.

        Returns:
            ``(train, test)`` or ``(train, valid, test)``; empty splits are left out, as in legacy torchtext.
        """
        train_ratio, test_ratio, val_ratio = _check_split_ratio(split_ratio)
        rnd = random.Random()
        if isinstance(random_state, int):
            rnd.seed(random_state)
        elif random_state is not None:
            rnd.setstate(random_state)
        else:
            rnd.seed(random.random())

        if not stratified:
            parts = _rationed_split(self.examples, train_ratio, test_ratio, val_ratio, rnd)
        else:
            if strata_field not in self.fields:
                raise TextclsError(f"invalid strata_field {strata_field!r}; fields are {list(self.fields)}")
            groups = defaultdict(list)
            for example in self.examples:
                value = getattr(example, strata_field)
                groups[tuple(value) if isinstance(value, list) else value].append(example)
            parts = ([], [], [])
            for key in sorted(groups, key=str):
                for part, chunk in zip(parts, _rationed_split(groups[key], train_ratio, test_ratio, val_ratio, rnd)):
                    part.extend(chunk)
            for part in parts:
                rnd.shuffle(part)
        train, test, valid = parts
        splits = (train, valid, test) if val_ratio else (train, test)
        return tuple(Dataset(part, self.fields) for part in splits if part)

    def column(self, name: str) -> list:
        """All values of one attribute, as a list."""
        return [getattr(example, name) for example in self.examples]

    def filter_examples(self, field_names):
        """Drop examples whose given sequential attributes are empty."""
        self.examples = [ex for ex in self.examples if all(len(getattr(ex, name)) > 0 for name in field_names)]

    def __getitem__(self, i):
        return self.examples[i]

    def __len__(self):
        return len(self.examples)

    def __iter__(self):
        yield from self.examples

    def __getattr__(self, attr):
        if attr != "fields" and "fields" in self.__dict__ and attr in self.fields:
            return (getattr(example, attr) for example in self.examples)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {attr!r}")

    def __repr__(self):
        return f"{type(self).__name__}({len(self)} examples, fields={list(self.fields)})"


def _flatten_fields(fields):
    items = fields.items() if isinstance(fields, dict) else fields
    for item in items:
        if item is None:
            continue
        name, field = item
        if isinstance(field, ColumnGroup):
            field = field.field
        if isinstance(name, tuple):  # several attribute names read from one column
            yield from zip(name, field)
        else:
            yield name, field


def _check_split_ratio(split_ratio):
    if isinstance(split_ratio, float):
        if not 0.0 < split_ratio < 1.0:
            raise TextclsError(f"split_ratio must be between 0 and 1, got {split_ratio}")
        return split_ratio, 1.0 - split_ratio, 0.0
    ratios = list(split_ratio)
    if len(ratios) not in (2, 3) or any(r < 0 for r in ratios) or sum(ratios) <= 0:
        raise TextclsError(f"split_ratio must be a float or 2-3 non-negative numbers, got {split_ratio}")
    total = float(sum(ratios))
    ratios = [r / total for r in ratios] + [0.0] * (3 - len(ratios))
    return tuple(ratios)


def _rationed_split(examples, train_ratio, test_ratio, val_ratio, rnd):
    n = len(examples)
    order = list(range(n))
    rnd.shuffle(order)
    train_len = int(round(train_ratio * n))
    test_len = n - train_len if not val_ratio else int(round(test_ratio * n))
    cuts = (order[:train_len], order[train_len : train_len + test_len], order[train_len + test_len :])
    return tuple([examples[i] for i in cut] for cut in cuts)


# --------------------------------------------------------------------------------------------------------
@dataclass
class _Column:
    """Where one attribute comes from: a column position/key (or several, for one-hot) and its field."""

    name: str
    field: RawField
    keys: list  # column indices (csv/tsv) or keys (json); several for one-hot
    group: ColumnGroup | None = None


class TabularDataset(Dataset):
    """Examples read from a csv, tsv, json or jsonl file (optionally gzipped).

    Args:
        path: the file.
        format: ``"csv"``, ``"tsv"``, ``"json"`` (JSON lines, or one array) or ``"jsonl"``; ``None`` picks by
            extension.
        fields: a list of ``(name, field)`` (or ``None`` to skip a column) by position, or a dict
            ``{column: (name, field)}`` by header name / JSON key. A tuple of column names as a dict key, or an
            :class:`OneHot` as the field of a list entry, reads one-hot indicator columns as one label; for a text
            field, a tuple key (or a :class:`Concat`) joins several text columns into one text.
        column_names: names for the columns of a header-less csv/tsv file, so ``fields`` can be a dict.
        skip_header: the first csv/tsv line is a header (implied when ``fields`` is a dict).
        csv_reader_params: extra ``csv.reader`` arguments.
        extra_fields: rows with more fields than columns: ``"error"`` (default), ``"merge"`` (join the overflow
            back into the text column with ``merge_sep``) or ``"skip"``.
        merge_sep: separator used when merging overflow fields (``","``).
        bad_rows: rows with too few fields, an empty text or a missing label: ``"error"`` or ``"skip"``.
        encoding: file encoding (``"utf-8"``).
        encoding_errors: ``"strict"`` or ``"replace"``.
        filter_pred: keep only examples for which it is true.
    """

    def __init__(
        self,
        path,
        format=None,
        fields=None,
        skip_header: bool = False,
        csv_reader_params: dict | None = None,
        extra_fields: str = "error",
        merge_sep: str = ",",
        bad_rows: str = "error",
        encoding: str = "utf-8",
        encoding_errors: str = "strict",
        filter_pred=None,
        column_names: list[str] | None = None,
        **kwargs,
    ):
        if fields is None:
            raise TextclsError("TabularDataset needs fields: a list of (name, Field) or a dict by column name")
        if kwargs:
            raise TextclsError(f"unexpected TabularDataset argument(s): {', '.join(kwargs)}")
        self.path = Path(path)
        by_name = isinstance(fields, dict)
        positional = None if by_name else _plan_columns(fields, header=None)
        merge_column = _text_column(fields)
        width = None if by_name else _list_width(fields)
        if column_names is not None:
            column_names = [str(name).strip() for name in column_names]
            width = len(column_names)
            if isinstance(merge_column, str):
                merge_column = column_names.index(merge_column) if merge_column in column_names else None
        table = read_table(
            path,
            format,
            has_header=skip_header or (by_name and column_names is None),
            width=width,
            merge_column=merge_column,
            extra_fields=extra_fields,
            merge_sep=merge_sep,
            bad_rows=bad_rows,
            encoding=encoding,
            encoding_errors=encoding_errors,
            csv_reader_params=csv_reader_params,
        )
        if table.format in ("json", "jsonl") and not by_name:
            raise TextclsError("json/jsonl files need fields as a dict {key: (name, Field)}")
        if column_names is not None and table.format in ("csv", "tsv"):
            table.header = column_names
        columns = positional or _plan_columns(fields, header=table.header, path=self.path)
        examples = self._build_examples(table, columns, bad_rows)
        super().__init__(examples, [(column.name, column.field) for column in columns], filter_pred)

    def _build_examples(self, table, columns, bad_rows):
        checks = [(column, _is_text(column.field), column.field.is_target) for column in columns]
        examples, skipped = [], defaultdict(int)
        with paused_gc():
            for row in table.rows:
                example = Example()
                problem = None
                for column, is_text, is_target in checks:
                    try:
                        raw = _raw_value(row.values, column)
                    except KeyError as exc:
                        message = f"key {exc.args[0]!r} missing from this JSON object"
                        raise DataError(message, table.path, row.line) from None
                    except ValueError as exc:  # a one-hot group that is not one-hot
                        problem = ("bad one-hot label", str(exc))
                        break
                    if is_target and (raw is None or (isinstance(raw, str) and raw.strip() in MISSING_VALUES)):
                        problem = ("missing label", f"missing label in column {_column_label(column, table)}")
                        break
                    value = column.field.preprocess("" if raw is None else raw)
                    if is_text and len(value) == 0:
                        problem = ("empty text", f"empty text in column {_column_label(column, table)}")
                        break
                    setattr(example, column.name, value)
                if problem is None:
                    examples.append(example)
                elif bad_rows == "skip":
                    skipped[problem[0]] += 1
                else:
                    message = f"{problem[1]}; fix the row or pass bad_rows='skip' (CLI: --bad-rows skip)"
                    raise DataError(message, table.path, row.line)
        for what, count in skipped.items():
            log.warning("%s: rows skipped (%s): %d", table.path, what, count)
        if not examples:
            raise DataError("no usable rows", table.path)
        return examples


@contextlib.contextmanager
def paused_gc():
    """Pause the cyclic garbage collector while building many small objects (halves load time; the objects
    hold no cycles, so nothing is left for it to find)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _raw_value(values, column: _Column):
    if column.group is not None:
        return column.group.decode([values[key] for key in column.keys])
    return values[column.keys[0]]


def _column_label(column: _Column, table) -> str:
    if table.header is not None and isinstance(column.keys[0], int):
        return repr(table.header[column.keys[0]])
    return repr(column.keys[0]) if not isinstance(column.keys[0], int) else f"#{column.keys[0] + 1}"


def _text_column(fields) -> int | str | None:
    """Position (list spec) or column name (dict spec) of the first text field: it absorbs overflow fields."""
    if isinstance(fields, dict):
        for key, target in fields.items():
            if target is not None and not isinstance(key, tuple) and _is_text(target[1]):
                return key
        return None
    position = 0
    for entry in fields:
        if entry is not None and _is_text(entry[1]):
            return position
        position += _width(entry)
    return None


def _width(entry) -> int:
    return len(entry[1].columns) if entry is not None and isinstance(entry[1], ColumnGroup) else 1


def _list_width(fields) -> int:
    return sum(_width(entry) for entry in fields)


def _is_text(field) -> bool:
    return isinstance(field, Field) and field.sequential and not field.is_target


def _plan_columns(fields, header, path=None) -> list[_Column]:
    """Turn the user's field spec into a list of :class:`_Column` (positions for csv/tsv, keys for json)."""
    columns = []
    if not isinstance(fields, dict):
        position = 0
        for entry in fields:
            if entry is None:
                position += 1
                continue
            name, field = entry
            if isinstance(field, ColumnGroup):
                keys = list(range(position, position + len(field.columns)))
                columns.append(_Column(name, field.field, keys, field))
                position += len(keys)
                continue
            if field is not None:
                for sub_name, sub_field in _pairs(name, field):
                    columns.append(_Column(sub_name, sub_field, [position]))
            position += 1
        return columns

    for key, target in fields.items():
        if target is None:
            continue
        names = list(key) if isinstance(key, tuple) else [key]
        if header is not None:
            keys = [_header_index(header, name, path) for name in names]
        else:
            keys = names
        for sub_name, sub_field in _pairs(*target) if isinstance(target[0], str) else target:
            if sub_field is None:
                continue
            group = None
            if isinstance(key, tuple):
                group = Concat(sub_field, names) if _is_text(sub_field) else OneHot(sub_field, names)
            columns.append(_Column(sub_name, sub_field, keys, group))
    return columns


def _pairs(name, field):
    if isinstance(name, tuple):
        return list(zip(name, field))
    return [(name, field)]


def _header_index(header: list[str], name: str, path) -> int:
    stripped = [column.strip() for column in header]
    if name in header:
        return header.index(name)
    if name.strip() in stripped:
        return stripped.index(name.strip())
    close = difflib.get_close_matches(name, stripped, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise DataError(f"column {name!r} not found in the header{hint}; columns are: {', '.join(stripped)}", path, 1)


class LengthOf:
    """Sort key: the summed length of some attributes of an example (a class, not a lambda, so it pickles)."""

    def __init__(self, *names: str):
        self.names = names

    def __call__(self, example) -> int:
        return sum(len(getattr(example, name)) for name in self.names)


def text_length_key(fields: dict):
    """A sort key giving the total length of the text fields in ``fields`` (``None`` if there are none); with
    several text fields (title, description) all of them decide which examples share a batch."""
    names = [name for name, field in fields.items() if _is_text(field)]
    return LengthOf(*names) if names else None


def default_sort_key(dataset: Dataset):
    """The sort key a dataset implies: its own ``sort_key``, else the length of its first text field."""
    if getattr(dataset, "sort_key", None) is not None:
        return dataset.sort_key
    return text_length_key(dataset.fields)


__all__ = ["Dataset", "TabularDataset", "default_sort_key", "text_length_key"]
