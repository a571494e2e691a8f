"""``Example``: one record, with one attribute per field (legacy torchtext semantics)."""

from __future__ import annotations

import json


class Example:
    """A single data record whose attributes are the preprocessed values of its fields.

    Build one with :meth:`fromlist` (values by position) or :meth:`fromdict` (values by key); a ``None`` field
    skips its column. A field entry may also be a tuple of ``(name, field)`` pairs to read one column into
    several attributes.
    """

    @classmethod
    def fromlist(cls, data, fields):
        """Args: data: the column values; fields: a list of ``(name, field)`` or ``None``, by position."""
        example = cls()
        for value, entry in zip(data, fields):
            _assign(example, entry, value.rstrip("\n") if isinstance(value, str) else value)
        return example

    @classmethod
    def fromdict(cls, data, fields):
        """Args: data: a mapping; fields: ``{key: (name, field)}`` (or a list of pairs, or ``None``)."""
        example = cls()
        for key, entry in fields.items():
            if key not in data:
                raise ValueError(f"specified key {key!r} was not found in the input data")
            _assign(example, entry, data[key])
        return example

    @classmethod
    def fromJSON(cls, data, fields):  # noqa: N802 - legacy name
        """Parse one JSON object and read it with :meth:`fromdict`; a dotted key (``"user.name"``) reaches
        into nested objects."""
        obj = json.loads(data)
        flat = {key: _dig(obj, key) for key in fields if "." in key and key not in obj}
        return cls.fromdict({**obj, **{k: v for k, v in flat.items() if v is not _MISSING}}, fields)

    @classmethod
    def fromCSV(cls, data, fields, field_to_index=None):  # noqa: N802 - legacy name
        """Legacy helper: ``data`` is a list of column values; with ``field_to_index`` fields are a dict."""
        if field_to_index is None:
            return cls.fromlist(data, fields)
        return cls.fromdict({key: data[index] for key, index in field_to_index.items()}, fields)

    def __repr__(self):
        return f"Example({vars(self)!r})"

    def __eq__(self, other):
        return isinstance(other, Example) and vars(self) == vars(other)


_MISSING = object()


def _dig(obj, dotted_key: str):
    for part in dotted_key.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return _MISSING
        obj = obj[part]
    return obj


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
