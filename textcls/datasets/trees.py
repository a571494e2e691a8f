"""Bracketed trees for the SST dataset: :class:`Tree` and :func:`parse_tree` (in :mod:`textcls.data.trees`) and
:func:`example_from_tree`, the legacy ``Example.fromtree`` as a function."""

from __future__ import annotations

from textcls.data.example import Example
from textcls.data.trees import Tree, parse_tree


def example_from_tree(data, fields, subtrees: bool = False, example_class=Example):
    """The legacy ``Example.fromtree``: a tree's leaves, joined by spaces, and its root label as an example.

    Args:
        data: a bracketed tree string (or a parsed :class:`Tree`).
        fields: two ``(name, field)`` pairs: the text, then the label.
        subtrees: return one example per subtree (every phrase with its own label), in pre-order.
        example_class: the :class:`~textcls.data.Example` class to build.

    Returns:
        One example, or a list of examples with ``subtrees=True``.
    """
    return example_class.fromtree(data, fields, subtrees=subtrees)


__all__ = ["Tree", "example_from_tree", "parse_tree"]
