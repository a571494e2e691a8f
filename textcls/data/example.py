"""``Example``: one record, with one attribute per field (legacy torchtext semantics)."""

from __future__ import annotations

import json

from textcls.data.trees import Tree, parse_tree
from textcls.errors import DataError


class Example:
    """A single data record whose attributes are the preprocessed values of its fields.

    Build one with :meth:`fromlist` (values by position), :meth:`fromdict` (values by key), :meth:`fromJSON`
    (a JSON object, dotted keys reaching into nested objects and lists) or :meth:`fromtree` (a bracketed parse
    tree). A ``None`` field skips its column. A field entry may also be a list of ``(name, field)`` pairs, or
    the legacy ``((name1, name2), (field1, field2))``, to read one value into several attributes.
    """

    @classmethod
    def fromlist(cls, data, fields):
        """Build an example from values by position.

        Args:
            data: the column values (strings lose a trailing newline, as in legacy torchtext).
            fields: a list of ``(name, field)`` or ``None``, by position; extra values are ignored.
        """
        example = cls()
        for value, entry in zip(data, fields):
            _assign(example, entry, value.rstrip("\n") if isinstance(value, str) else value)
        return example

    @classmethod
    def fromdict(cls, data, fields):
        """Build an example from a mapping.

        Args:
            data: a mapping from keys to raw values.
            fields: ``{key: (name, field)}`` (or a list of such pairs, or ``None`` to check the key only).

        Raises:
            DataError: (a ``ValueError``) when a key of ``fields`` is not in ``data``.
        """
        example = cls()
        for key, entry in fields.items():
            if key not in data:
                raise DataError(f"specified key {key!r} was not found in the input data")
            _assign(example, entry, data[key])
        return example

    @classmethod
    def fromJSON(cls, data, fields):  # noqa: N802 - legacy name
        """Build an example from one JSON object (a string).

        Args:
            data: the JSON text of one object.
            fields: ``{key: (name, field)}``; a dotted key (``"foods.fruits"``) reaches into nested objects, and
                through a list of objects it collects one value per item (``"foods.vegetables.name"``).

        Raises:
            DataError: (a ``ValueError``) when a key, or a part of a dotted key, is not in the object.
        """
        obj = json.loads(data)
        example = cls()
        for key, entry in fields.items():
            try:
                value = json_value(obj, key)
            except KeyError:
                raise DataError(f"specified key {key!r} was not found in the input data") from None
            _assign(example, entry, value)
        return example

    @classmethod
    def fromCSV(cls, data, fields, field_to_index=None):  # noqa: N802 - legacy name
        """Build an example from one csv row.

        Args:
            data: the row's column values.
            fields: a list of ``(name, field)`` by position, or (with ``field_to_index``) ``{column: (name, field)}``.
            field_to_index: ``{column: index}`` into ``data`` for dict ``fields``.
        """
        if field_to_index is None:
            return cls.fromlist(data, fields)
        return cls.fromdict({key: data[index] for key, index in field_to_index.items()}, fields)

    @classmethod
    def fromtree(cls, data, fields, subtrees=False):
        """Build example(s) from a bracketed parse tree such as ``(3 (2 It) (4 (4 works) (2 .)))`` (SST).

        Args:
            data: the tree, as a string (or a parsed :class:`~textcls.data.trees.Tree`).
            fields: two ``(name, field)`` entries: the text (the leaves joined by spaces), then the label.
            subtrees: return one example per subtree (the whole tree first) instead of one for the tree.

        Returns:
            An :class:`Example`, or a list of them with ``subtrees=True``.

        Raises:
            ValueError: the text is not one well-formed bracketed tree.
        """
        tree = data if isinstance(data, Tree) else parse_tree(data)
        if subtrees:
            return [cls.fromlist([" ".join(t.leaves()), t.label], fields) for t in tree.subtrees()]
        return cls.fromlist([" ".join(tree.leaves()), tree.label], fields)

    def __repr__(self):
        return f"Example({vars(self)!r})"

    def __eq__(self, other):
        return isinstance(other, Example) and vars(self) == vars(other)


def json_value(obj, key: str):
    """The value of ``key`` in a parsed JSON object, legacy torchtext style.

    A key present as it is wins; otherwise a dotted key walks nested objects, and a list of objects on the way
    gives a list with one value per item (``"foods.vegetables.name"`` over ``[{"name": ...}, ...]``).

    Args:
        obj: the parsed object (a dict).
        key: the key, possibly dotted.

    Raises:
        KeyError: ``(key, part, parent)`` when the key is missing: ``part`` is the missing part of a dotted key
            and ``parent`` the dotted path it was looked for under (``""`` at the top level).
    """
    if isinstance(obj, dict) and key in obj:
        return obj[key]
    if "." not in key:
        raise KeyError(key, key, "")
    parts = key.split(".")
    value = obj
    for depth, part in enumerate(parts):
        value = _step(value, part, (key, part, ".".join(parts[:depth])))
    return value


def _step(value, part: str, missing: tuple):
    if isinstance(value, list):
        return [_step(item, part, missing) for item in value]
    if not isinstance(value, dict) or part not in value:
        raise KeyError(*missing)
    return value[part]


def _assign(example, entry, value) -> None:
    if entry is None:
        return
    first = entry[0]
    if (
        isinstance(first, tuple)
        and first
        and isinstance(first[0], str)
        and len(entry) == 2
        and all(isinstance(name, str) for name in first)
    ):  # legacy form: ((name1, name2), (field1, field2))
        pairs = list(zip(*entry))
    elif isinstance(first, (tuple, list)):  # several (name, field) pairs reading the same value
        pairs = entry
    else:
        pairs = [entry]
    for name, field in pairs:
        if field is None:
            continue
        setattr(example, name, field.preprocess(value))
