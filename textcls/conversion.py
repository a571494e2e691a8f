"""Typed configuration sections: build a dataclass from a YAML / ``--set`` mapping, converting every value to its
field's annotated type and rejecting unknown keys, with one-line errors that name the key, the value and the
expected type.

YAML reads ``1e-3`` as a string and ``--set`` values arrive as YAML too, so conversion is lenient where the
meaning is plain (``'1e-3'`` → ``0.001`` for a float, ``'10'`` or ``10.0`` → ``10`` for an int, ``'a,b'`` →
``['a', 'b']`` for a list of strings) and strict otherwise (``'two'`` is not an int, ``1.5`` is not an int, ``yes``
is not a number). Annotations this module does not know (tensors, sequences of ints...) are passed through.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar, Union

from textcls.errors import TextclsError

T = TypeVar("T")
INLINE = "inline"  # field metadata: this sub-section's keys sit in the parent mapping (see section_from_dict)
RANGE = "range"  # field metadata: the Range its (non-null) value must lie in (see check_ranges)
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def field_types(cls) -> dict[str, Any]:
    """The resolved type annotations of a dataclass or a function (``{}`` when they cannot be resolved)."""
    target = cls.__init__ if inspect.isclass(cls) and not dataclasses.is_dataclass(cls) else cls
    try:
        return typing.get_type_hints(target)
    except Exception:  # annotations naming something only a type checker sees: convert nothing
        return {}


def literal_choices(annotation) -> tuple | None:
    """The allowed values of a ``Literal[...]`` (or ``Literal[...] | None``) annotation, else ``None``."""
    if typing.get_origin(annotation) is Literal:
        return typing.get_args(annotation)
    if _is_union(annotation):
        for member in typing.get_args(annotation):
            if typing.get_origin(member) is Literal:
                return typing.get_args(member)
    return None


def convert(value, annotation, key: str):
    """``value`` as ``annotation`` says (see the module docstring); unknown annotations return it unchanged.

    Args:
        value: the raw value (from YAML, ``--set`` or a flag).
        annotation: the target type (``int``, ``float | None``, ``Literal['a', 'b']``, ``list[str]``...).
        key: its dotted name, for the error message (``training.lr``).

    Raises:
        TextclsError: ``key must be <expected>, not <value>``.
    """
    return _convert(value, annotation, key) if _known(annotation) else value


def section_from_dict(cls: type[T], values: Mapping | T | None, section: str = "") -> T:
    """Build the dataclass ``cls`` from ``values``: unknown keys rejected (listing the valid ones), every value
    converted to its field's type, missing ones left at their defaults.

    A field whose metadata has ``inline=True`` is a dataclass whose keys are read from the same mapping (a flat
    YAML section split into typed groups); any other dataclass-typed field reads a nested mapping.

    Args:
        cls: the dataclass.
        values: the mapping (``None``: all defaults; an instance of ``cls`` is returned as it is).
        section: the dotted name of the mapping (``data``, ``training``; ``""`` for a whole config), for messages.
    """
    if isinstance(values, cls):
        return values
    if values is None:
        values = {}
    if not isinstance(values, Mapping):
        raise TextclsError(f"{section or 'the config'} must be a mapping of settings, not {values!r}")
    hints = field_types(cls)
    remaining = dict(values)
    arguments = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        if f.metadata.get(INLINE):
            names = {sub.name for sub in dataclasses.fields(hints[f.name])}
            arguments[f.name] = section_from_dict(
                hints[f.name], {k: remaining.pop(k) for k in list(remaining) if k in names}, section
            )
        elif f.name in remaining:
            value, key = remaining.pop(f.name), _join(section, f.name)
            hint = hints.get(f.name, Any)
            if dataclasses.is_dataclass(hint):
                arguments[f.name] = section_from_dict(hint, value, key)
            else:
                arguments[f.name] = convert(value, hint, key)
    if remaining:
        valid = ", ".join(sorted(section_keys(cls)))
        unknown = ", ".join(sorted(map(str, remaining)))
        if section:
            raise TextclsError(f"unknown {section} setting(s): {unknown}; valid: {valid}")
        raise TextclsError(f"unknown config section(s): {unknown}; sections are {valid}")
    return cls(**arguments)


@dataclasses.dataclass(frozen=True)
class Range:
    """The allowed values of a number: ``Range(low=1)`` is "at least 1", ``Range(0, 1, high_open=True)`` "at least
    0 and below 1", ``Range(0, low_open=True)`` "above 0". Declared once on a config field (``metadata={RANGE:
    Range(...)}``), it is checked for YAML, ``--set`` and flags alike.

    Args:
        low, high: the bounds (``None``: unbounded).
        low_open, high_open: the bound itself is not allowed.
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def __contains__(self, value) -> bool:
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        return self.high is None or not (value > self.high or (self.high_open and value == self.high))

    def __str__(self) -> str:
        parts = []
        if self.low is not None:
            parts.append(f"{'above' if self.low_open else 'at least'} {_plain(self.low)}")
        if self.high is not None:
            parts.append(f"{'below' if self.high_open else 'at most'} {_plain(self.high)}")
        return " and ".join(parts) or "any number"


def _plain(number: float) -> str:
    """``1`` for 1.0, ``4294967295`` for 2**32 - 1, ``0.5`` for 0.5."""
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


def check_range(value, allowed: Range, key: str, nullable: bool = False) -> None:
    """Raise ``key must be <allowed>, not <value>`` when the number ``value`` is outside ``allowed``.

    Args:
        value: the converted value (``None`` passes: the type allows or refuses null).
        allowed: the :class:`Range`.
        key: the option's name for the message (``training.epochs``, ``--threads``).
        nullable: add "or null" to the message (the setting may be left unset).
    """
    if value is not None and value not in allowed:
        raise TextclsError(f"{key} must be {allowed}{' or null' if nullable else ''}, not {value!r}")


def check_ranges(obj, section: str = "") -> None:
    """Check every field of the dataclass ``obj`` that declares a :class:`Range` (``metadata={RANGE: ...}``).

    Args:
        obj: a config section (a dataclass instance).
        section: its dotted name, for messages (``training``).
    """
    hints = field_types(type(obj))
    for f in dataclasses.fields(obj):
        allowed = f.metadata.get(RANGE)
        if allowed is not None:
            nullable = type(None) in typing.get_args(hints.get(f.name))
            check_range(getattr(obj, f.name), allowed, _join(section, f.name), nullable)


def bounded(default, allowed: Range, **metadata):
    """A dataclass field whose value must lie in ``allowed`` (checked by :func:`check_ranges`).

    Args:
        default: the field's default.
        allowed: its :class:`Range`.
        **metadata: further field metadata (``help=``).
    """
    return dataclasses.field(default=default, metadata={RANGE: allowed, **metadata})


SEED_RANGE = Range(0, 2**32 - 1)  # what numpy and torch accept as a seed


def section_keys(cls) -> list[str]:
    """The keys a mapping for ``cls`` may hold (inline sub-sections' keys included)."""
    keys = []
    hints = field_types(cls)
    for f in dataclasses.fields(cls):
        if f.metadata.get(INLINE):
            keys += section_keys(hints[f.name])
        elif f.init:
            keys.append(f.name)
    return keys


def section_to_dict(obj) -> dict:
    """The mapping :func:`section_from_dict` reads back (inline sub-sections flattened, nested ones nested)."""
    result = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            value = section_to_dict(value)
            if f.metadata.get(INLINE):
                result.update(value)
                continue
        elif isinstance(value, (dict, list)):
            value = type(value)(value)
        result[f.name] = value
    return result


def convert_arguments(function: Callable, values: Mapping, section: str) -> dict:
    """``values`` with each keyword argument of ``function`` converted to its annotated type; keys the
    signature does not name, or names without a usable annotation, are left as they are (rejecting unknown
    options is the caller's business).

    Args:
        function: a function or class (its ``__init__`` annotations).
        values: keyword arguments.
        section: the dotted name of the mapping (``model_options``), for messages.
    """
    hints = field_types(function)
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return dict(values)
    return {
        key: convert(value, hints[key], _join(section, key)) if key in parameters and key in hints else value
        for key, value in values.items()
    }


def describe(annotation) -> str:
    """An expected type in words: ``an integer (int)``, ``one of error, merge, skip``, ``a number (float) or null``."""
    if _is_union(annotation):
        members = [m for m in typing.get_args(annotation) if m is not type(None)]
        text = " or ".join(describe(m) for m in members)
        return text + " or null" if len(members) < len(typing.get_args(annotation)) else text
    if typing.get_origin(annotation) is Literal:
        return "one of " + ", ".join(map(str, typing.get_args(annotation)))
    origin = typing.get_origin(annotation) or annotation
    names = {bool: "true or false", int: "an integer (int)", float: "a number (float)", str: "a string",
             list: "a list (or one comma-separated string)", dict: "a mapping"}  # fmt: skip
    return names.get(origin, getattr(annotation, "__name__", str(annotation)))


def _join(section: str, key: str) -> str:
    return f"{section}.{key}" if section else key


def _is_union(annotation) -> bool:
    return typing.get_origin(annotation) in (Union, types.UnionType)


def _fail(value, annotation, key: str):
    raise TextclsError(f"{key} must be {describe(annotation)}, not {value!r}")


def _convert(value, annotation, key: str):
    if annotation is Any:
        return value
    if _is_union(annotation):
        members = typing.get_args(annotation)
        if value is None:
            return None if type(None) in members else _fail(value, annotation, key)
        for member in members:
            if member is not type(None):
                try:
                    return _convert(value, member, key)
                except TextclsError:
                    continue
        return _fail(value, annotation, key)
    origin = typing.get_origin(annotation)
    if origin is Literal:
        choices = typing.get_args(annotation)
        for choice in choices:
            if value == choice or (isinstance(value, (int, float)) and str(value) == str(choice)):
                return choice
        return _fail(value, annotation, key)
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
            return value.strip().lower() in _TRUE
        return _fail(value, annotation, key)
    if annotation is int:
        number = _number(value)
        if number is not None and float(number).is_integer():
            return int(number)
        return _fail(value, annotation, key)
    if annotation is float:
        number = _number(value)
        return float(number) if number is not None else _fail(value, annotation, key)
    if annotation is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        return _fail(value, annotation, key)
    if annotation is list or origin is list:
        (item,) = typing.get_args(annotation) or (Any,)
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, (list, tuple)):
            return _fail(value, annotation, key)
        return [_convert(element, item, f"{key}[{i}]") for i, element in enumerate(value)]
    if annotation is dict or origin is dict:
        return dict(value) if isinstance(value, Mapping) else _fail(value, annotation, key)
    return value  # unreachable for the annotations _known accepts


def _known(annotation) -> bool:
    """Whether :func:`_convert` handles ``annotation``."""
    if annotation in (Any, bool, int, float, str, list, dict, type(None)):
        return True
    if _is_union(annotation):
        return all(_known(member) for member in typing.get_args(annotation))
    origin = typing.get_origin(annotation)
    if origin is list:
        return all(_known(item) for item in typing.get_args(annotation))
    return origin in (Literal, dict)


def _number(value) -> int | float | None:
    """An int or float from a number or a numeric string (``'1e-3'``); ``None`` for anything else (bools too)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            return float(text)
        except ValueError:
            return None
    return None
