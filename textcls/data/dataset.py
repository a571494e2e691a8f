"""Datasets: lists of :class:`Example` with their fields, read from tabular files (legacy torchtext API)."""

from __future__ import annotations

import difflib
import logging
import os
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import torch.utils.data

from textcls._util import paused_gc
from textcls.data.example import Example, json_value
from textcls.data.fields import ColumnGroup, Concat, Field, OneHot, RawField
from textcls.data.readers import read_table
from textcls.errors import ArgumentAssertionError, ArgumentError, DataError, TextclsError
from textcls.read_options import ReadOptions

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
            path: directory holding the files (a file name given as an absolute path is used as it is), or
                ``None`` to use ``cls.download(root)`` (a built-in dataset's folder).
            root: where built-in datasets live (``root/<name>/``), used when ``path`` is ``None``.
            train, validation, test: file names, or ``None`` to skip that split.
            **kwargs: passed to the dataset constructor (``format``, ``fields``, ``skip_header``, ...).

        Returns:
            A tuple of the datasets that were named, in train, validation, test order.
        """
        if path is None:
            path = cls.download(root)
        return tuple(cls(os.path.join(path, name), **kwargs) for name in (train, validation, test) if name is not None)

    @classmethod
    def download(cls, root, check=None):
        """Make the files of a built-in dataset ready: those named by its class attributes ``urls`` (URLs, or
        ``(url, file name)`` tuples), ``name`` (its folder under ``root``) and ``dirname`` (the folder its
        archives extract to, inside that; ``""`` for none).

        They live in ``root/<name>/``: files already there are used, archives there are extracted there, and
        only what is missing is downloaded (when the network allows; never with ``TEXTCLS_OFFLINE=1``). Archive
        members that would land outside that folder are refused, and nothing is left half-written.

        Args:
            root: the folder holding the datasets (``".data"`` in legacy scripts).
            check: a folder whose existence means the dataset is ready (legacy); ``None`` checks the files
                themselves.

        Returns:
            ``root/<name>/<dirname>`` as a string, as legacy torchtext returned it.

        Raises:
            DataError: the files are missing and could not be downloaded (one line: which files, from which
                URL, into which folder), or an archive is corrupt or unsafe.
        """
        from textcls.data.download import prepare_dataset

        # not attributes of Dataset itself: a field called "name" must stay reachable as dataset.name
        if not all(hasattr(cls, attr) for attr in ("urls", "name", "dirname")):
            raise TextclsError(f"{cls.__name__}.download needs the class attributes urls, name and dirname")
        folder = os.path.join(root, cls.name)
        prepare_dataset(cls.urls, folder, cls.dirname, check=check, label=cls.__name__)
        return os.path.join(folder, cls.dirname)

    def split(self, split_ratio=0.7, stratified: bool = False, strata_field: str = "label", random_state=None):
        """Split into train/test or train/valid/test datasets (legacy semantics).

        Each split (each label's share of it, when stratified) has ``round(ratio * n)`` examples; with two
        ratios the test split takes the rest. The examples are drawn as legacy torchtext drew them
        (``random.sample`` under ``random_state``), so a given state gives legacy's splits; a stratified split
        then shuffles each split so its labels are interleaved rather than in blocks.

        Args:
            split_ratio: a float in (0, 1) (share of training data; the rest is test), or a list of 2 or 3
                relative sizes ``[train, test]`` / ``[train, test, valid]`` (normalised unless they sum to 1).
            stratified: keep each label's share the same in every split.
            strata_field: the example attribute to stratify on (must be one of ``fields``).
            random_state: a state from ``random.getstate()`` (legacy), or an int seed; ``None`` uses the current
                state of the ``random`` module without advancing it, as legacy torchtext did.

        Returns:
            ``(train, test)`` or ``(train, valid, test)``, plain :class:`Dataset` objects with this dataset's
            fields and ``sort_key``; empty splits are left out, as in legacy torchtext.

        Raises:
            ArgumentAssertionError: (an ``AssertionError``) a float ratio outside (0, 1), or a list of other
                than 2 or 3 ratios.
            ArgumentError: (a ``ValueError``) a ratio of another type, negative or all-zero ratios, an unknown
                ``strata_field`` or a ``random_state`` that is not a state or a seed.
        """
        train_ratio, test_ratio, val_ratio = _check_split_ratio(split_ratio)
        rnd = _shuffler(random_state)
        if not stratified:
            parts = _rationed_split(self.examples, train_ratio, test_ratio, val_ratio, rnd)
        else:
            if strata_field not in self.fields:
                raise ArgumentError(
                    f"invalid field name for strata_field {strata_field!r}; use one of {', '.join(self.fields)}"
                )
            parts = ([], [], [])
            for group in _stratify(self.examples, strata_field):
                for part, chunk in zip(parts, _rationed_split(group, train_ratio, test_ratio, val_ratio, rnd)):
                    part.extend(chunk)
            for part in parts:
                rnd.shuffle(part)
        train, test, valid = parts
        splits = tuple(Dataset(part, self.fields) for part in (train, valid, test) if part)
        if self.sort_key:
            for subset in splits:
                subset.sort_key = self.sort_key
        return splits

    def column(self, name: str) -> list:
        """All values of one attribute, as a list."""
        return [getattr(example, name) for example in self.examples]

    def filter_examples(self, field_names):
        """Remove out-of-vocabulary words from the given attributes of every example (legacy torchtext).

        Examples are kept (an attribute may become empty); each listed attribute keeps only the tokens in its
        field's vocabulary (``field.vocab.stoi``) as it is now.

        Args:
            field_names: names of sequential fields whose vocabularies are built.

        Raises:
            ArgumentError: a name that is not a field of this dataset, or a field without a vocabulary.
        """
        for name in field_names:
            if name not in self.fields:
                raise ArgumentError(f"{name!r} is not a field of this dataset; fields are: {', '.join(self.fields)}")
            vocab = getattr(self.fields[name], "vocab", None)
            if vocab is None:
                raise ArgumentError(f"field {name!r} has no vocabulary; call build_vocab on it first")
            known = set(vocab.stoi)
            for example in self.examples:
                setattr(example, name, [token for token in getattr(example, name) if token in known])

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


def _check_split_ratio(split_ratio) -> tuple:
    """``(train, test, valid)`` ratios from a ``split_ratio`` argument, checked as legacy torchtext checked it."""
    if isinstance(split_ratio, float):
        if not 0.0 < split_ratio < 1.0:
            raise ArgumentAssertionError(f"split ratio {split_ratio} not between 0 and 1; pass e.g. 0.7")
        return split_ratio, 1.0 - split_ratio, 0.0
    if not isinstance(split_ratio, (list, tuple)):
        raise ArgumentError(
            f"split ratio must be a float or a list, got {type(split_ratio).__name__}; pass e.g. 0.7 or [0.7, 0.3]"
        )
    ratios = list(split_ratio)
    if len(ratios) not in (2, 3):
        raise ArgumentAssertionError(
            f"length of split ratio list should be 2 or 3, got {split_ratio}; pass [train, test] or "
            "[train, test, valid]"
        )
    if not all(isinstance(r, (int, float)) and not isinstance(r, bool) for r in ratios):
        raise ArgumentError(f"split ratios must be numbers, got {split_ratio}")
    if any(r < 0 for r in ratios) or sum(ratios) <= 0:
        raise ArgumentError(f"split ratios must be non-negative and not all zero, got {split_ratio}")
    total = sum(ratios)
    if total != 1.0:
        ratios = [float(r) / total for r in ratios]
    return tuple(ratios + [0.0] * (3 - len(ratios)))


def _shuffler(random_state) -> random.Random:
    """A private generator in the given state (legacy ``RandomShuffler``); the global ``random`` is untouched."""
    rnd = random.Random()
    if random_state is None:
        rnd.setstate(random.getstate())
    elif isinstance(random_state, int) and not isinstance(random_state, bool):
        rnd.seed(random_state)
    else:
        try:
            rnd.setstate(random_state)
        except (TypeError, ValueError):
            kind = type(random_state).__name__
            message = f"random_state must be a state from random.getstate() or an int seed, got {kind}"
            raise ArgumentError(message) from None
    return rnd


def _stratify(examples, strata_field: str) -> list[list]:
    """The examples grouped by the value of ``strata_field`` (lists compared as tuples), in a fixed order."""
    groups = defaultdict(list)
    for example in examples:
        value = getattr(example, strata_field)
        groups[tuple(value) if isinstance(value, list) else value].append(example)
    try:
        keys = sorted(groups)
    except TypeError:  # values of mixed types
        keys = sorted(groups, key=repr)
    return [groups[key] for key in keys]


def _rationed_split(examples, train_ratio, test_ratio, val_ratio, rnd: random.Random):
    """``(train, test, valid)`` lists: a random permutation cut at ``round(ratio * n)`` (legacy torchtext)."""
    n = len(examples)
    order = rnd.sample(range(n), n)
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
        fields: a list of ``(name, field)`` by position (``(name, None)`` or ``None`` skips a column; a list
            shorter than the rows reads their first columns, as legacy torchtext did), or a dict
            ``{column: (name, field)}`` by header name / JSON key (a dotted JSON key such as ``"user.name"`` or
            ``"items.name"`` reaches into nested objects and lists). A tuple of column names as a dict key, or an
            :class:`OneHot` as the field of a list entry, reads one-hot indicator columns as one label; for a text
            field, a tuple key (or a :class:`Concat`) joins several text columns into one text. ``(name, None)``
            entries stay in ``dataset.fields`` as ``name: None``.
        column_names: names for the columns of a header-less csv/tsv file, so ``fields`` can be a dict.
        skip_header: the first csv/tsv line is a header (implied when ``fields`` is a dict).
        csv_reader_params: extra ``csv.reader`` arguments (``delimiter``, ``quotechar``, ...); csv and tsv honour
            double quotes as legacy torchtext did, ``{"quoting": csv.QUOTE_NONE}`` reads them as plain characters.
        extra_fields: rows with more fields than the file has columns (its header's, without empty padding
            columns; without a header, its usual row length): ``"error"`` (default), ``"merge"`` (join the
            overflow back into the first text column with ``merge_sep``) or ``"skip"``.
        merge_sep: separator used when merging overflow fields (``","``).
        bad_rows: rows with too few fields or a missing label: ``"error"`` or ``"skip"``. An empty text (or one
            that preprocesses to no tokens) is a valid row: it is kept as ``[]`` and counted in ``empty_texts``.
        encoding: file encoding (``"utf-8"``).
        encoding_errors: ``"strict"`` or ``"replace"``.
        filter_pred: keep only examples for which it is true.

    After reading, ``empty_texts`` counts the kept rows with an empty text and ``rows_skipped`` the rows left out
    (by ``extra_fields="skip"`` or ``bad_rows="skip"``).

    The reading arguments (``format``, ``csv_reader_params``, ``extra_fields``, ``merge_sep``, ``bad_rows``,
    ``encoding``, ``encoding_errors``) are the legacy keyword form of one :class:`~textcls.read_options.ReadOptions`,
    which is built from them and passed to :func:`~textcls.data.readers.read_table`.
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
        self.path = Path(path).expanduser()  # legacy expanded "~"
        by_name = isinstance(fields, dict)
        positional = None if by_name else _plan_columns(fields, header=None)
        merge_column = _text_column(fields)
        width = None
        if column_names is not None:
            column_names = [str(name).strip() for name in column_names]
            width = len(column_names)
            if isinstance(merge_column, str):
                merge_column = column_names.index(merge_column) if merge_column in column_names else None
        options = ReadOptions(
            format=format, extra_fields=extra_fields, merge_sep=merge_sep, bad_rows=bad_rows, encoding=encoding,
            encoding_errors=encoding_errors, csv_reader_params=csv_reader_params,
        )  # fmt: skip
        table = read_table(
            self.path,
            options,
            has_header=skip_header or (by_name and column_names is None),
            width=width,
            merge_column=merge_column,
            used_columns=None if by_name else _list_width(fields),
        )
        if table.format in ("json", "jsonl", "fasttext") and not by_name:
            raise TextclsError("json/jsonl files need fields as a dict {key: (name, Field)}")
        if column_names is not None and table.format in ("csv", "tsv"):
            table.header = column_names
        columns = positional or _plan_columns(fields, header=table.header, path=self.path)
        examples = self._build_examples(table, columns, bad_rows)
        super().__init__(examples, list(_named_fields(fields)), filter_pred)

    def _build_examples(self, table, columns, bad_rows):
        checks = [(column, _is_text(column.field), column.field.is_target) for column in columns]
        examples, skipped = [], defaultdict(int)
        self.empty_texts = 0
        with paused_gc():
            for row in table.rows:
                example = Example()
                problem, empty = None, False
                for column, is_text, is_target in checks:
                    try:
                        raw = _raw_value(row.values, column)
                    except KeyError as exc:
                        raise DataError(_missing_key_message(exc), table.path, row.line) from None
                    except ValueError as exc:  # a one-hot group that is not one-hot
                        problem = ("bad one-hot label", str(exc))
                        break
                    if is_target and (raw is None or (isinstance(raw, str) and raw.strip() in MISSING_VALUES)):
                        problem = ("missing label", f"missing label in column {_column_label(column, table)}")
                        break
                    value = column.field.preprocess("" if raw is None else raw)
                    empty = empty or (is_text and len(value) == 0)
                    setattr(example, column.name, value)
                if problem is None:
                    examples.append(example)
                    self.empty_texts += empty
                elif bad_rows == "skip":
                    skipped[problem[0]] += 1
                else:
                    message = f"{problem[1]}; fix the row or pass bad_rows='skip' (CLI: --bad-rows skip)"
                    raise DataError(message, table.path, row.line)
        for what, count in skipped.items():
            log.warning("%s: rows skipped (%s): %d", table.path, what, count)
        reader_skipped = sum(count for what, count in table.notes.items() if what.endswith(" skipped"))
        self.rows_skipped = reader_skipped + sum(skipped.values())
        if not examples:
            raise DataError("no usable rows", table.path)
        return examples


def _raw_value(values, column: _Column):
    if isinstance(values, list):  # csv/tsv: keys are positions
        if column.group is not None:
            return column.group.decode([values[key] for key in column.keys])
        return values[column.keys[0]]
    if column.group is not None:
        return column.group.decode([json_value(values, key) for key in column.keys])
    return json_value(values, column.keys[0])


def _missing_key_message(error: KeyError) -> str:
    key, part, parent = (error.args + (None, None))[:3]
    where = ""
    if part is not None and part != key:
        where = f" (no {part!r} under {parent!r})" if parent else f" (no {part!r} at the top level)"
    return f"key {key!r} missing from this JSON object{where}; check the key in fields"


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


def _named_fields(fields):
    """The dataset's ``(name, field)`` pairs in the order of the user's spec; ``(name, None)`` entries stay, as in
    legacy torchtext (such an attribute is never read nor batched)."""
    targets = fields.values() if isinstance(fields, dict) else fields
    for target in targets:
        if target is None:
            continue
        if isinstance(target, list):  # several (name, field) pairs reading one JSON key / column
            yield from (pair for pair in target if pair is not None)
        else:
            yield target


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
