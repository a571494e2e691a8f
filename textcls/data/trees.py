"""Penn-Treebank-style bracketed trees (SST's format): :class:`Tree` and :func:`parse_tree`.

Legacy torchtext parsed these with ``nltk.Tree.fromstring``; :func:`parse_tree` reads the same bracketed text
(a label right after each ``(``, leaves are the other tokens) with the same labels, leaves and subtree order,
without importing nltk (which takes seconds). ``Example.fromtree`` builds examples from them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_TOKEN = re.compile(r"\(|\)|[^\s()]+")


class Tree:
    """One node of a bracketed tree.

    Args:
        label: the node's label (``"3"`` in ``(3 (2 It) (4 works))``; ``""`` when the node has none).
        children: sub-trees (:class:`Tree`) and leaves (``str``), in order.
    """

    __slots__ = ("label", "children")

    def __init__(self, label: str, children: list | None = None):
        self.label = label
        self.children = [] if children is None else children

    def leaves(self) -> list[str]:
        """The leaf tokens, left to right (``nltk.Tree.leaves``)."""
        found = []
        stack = [self]
        while stack:
            node = stack.pop()
            if isinstance(node, Tree):
                stack.extend(reversed(node.children))
            else:
                found.append(node)
        return found

    def subtrees(self) -> Iterator[Tree]:
        """This node and every node below it, in pre-order (``nltk.Tree.subtrees``); leaves are not subtrees."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(child for child in reversed(node.children) if isinstance(child, Tree))

    def __repr__(self):
        return f"Tree({self.label!r}, {self.children!r})"


def parse_tree(text: str) -> Tree:
    """Parse one bracketed tree such as ``(3 (2 It) (4 (2 's) (4 good)))``.

    Args:
        text: the tree, on one line or several.

    Returns:
        The root :class:`Tree`.

    Raises:
        ValueError: unbalanced brackets, text outside the tree, or more than one tree.
    """
    stack: list[Tree] = []
    root = None
    expect_label = False
    for match in _TOKEN.finditer(text):
        token = match.group()
        if root is not None:
            raise ValueError(f"text after the end of the tree at character {match.start() + 1}: {token!r}")
        if token == "(":
            node = Tree("")
            if stack:
                stack[-1].children.append(node)
            stack.append(node)
            expect_label = True
        elif token == ")":
            if not stack:
                raise ValueError(f"unmatched ')' at character {match.start() + 1}")
            node = stack.pop()
            if not stack:
                root = node
            expect_label = False
        elif expect_label:
            stack[-1].label = token
            expect_label = False
        elif stack:
            stack[-1].children.append(token)
        else:
            raise ValueError(f"text outside brackets at character {match.start() + 1}: {token!r}")
    if stack:
        raise ValueError(f"{len(stack)} unclosed '('")
    if root is None:
        raise ValueError("no tree found")
    return root


__all__ = ["Tree", "parse_tree"]
