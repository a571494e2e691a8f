"""The Stanford Sentiment Treebank (legacy ``torchtext.datasets.SST``)."""

from __future__ import annotations

import os
from pathlib import Path

from textcls.data.dataset import Dataset
from textcls.data.fields import Pipeline
from textcls.datasets._common import legacy_iters, missing_data_error
from textcls.datasets.trees import example_from_tree, parse_tree
from textcls.errors import DataError

TREE_LABELS = ("0", "1", "2", "3", "4")


class SSTLabel:
    """The label preprocessing SST installs: a tree's sentiment ``0``-``4`` as a word.

    Three classes (``negative``, ``neutral``, ``positive``: 0 and 1 are both negative, 3 and 4 positive), or
    five with ``fine_grained`` (``very negative`` for 0, ``very positive`` for 4).

    Args:
        fine_grained: use the five classes.
    """

    def __init__(self, fine_grained: bool = False):
        self.fine_grained = fine_grained

    def __call__(self, label):
        pre = "very " if self.fine_grained else ""
        names = {"0": pre + "negative", "1": "negative", "2": "neutral", "3": "positive", "4": pre + "positive"}
        return names.get(label) if label is not None else None


class SST(Dataset):
    """Sentences (and, optionally, all their phrases) labelled with sentiment, one PTB tree per line.

    The files are those of ``trainDevTestTrees_PTB.zip``: ``root/sst/trees/{train,dev,test}.txt``, each line a
    tree such as ``(3 (2 It) (4 (2 's) (4 good)))``. An example's text is the tree's leaves joined by spaces
    (then tokenized by ``text_field``); its label is the root's sentiment, named as :class:`SSTLabel` does.

    Args:
        path: the tree file.
        text_field: the field reading the sentence (attribute ``text``).
        label_field: the field reading the label (attribute ``label``); its ``preprocessing`` is set to name
            the sentiment, as in legacy torchtext.
        subtrees: one example per phrase (every subtree with its own label) as well as each full sentence.
        fine_grained: five classes instead of three.
        **kwargs: passed to :class:`~textcls.data.Dataset`, e.g. ``filter_pred=lambda ex: ex.label !=
            "neutral"`` for the binary task.

    Raises:
        DataError: the file is missing, a line is not a tree, or a label is not 0-4 (with file and line).
    """

    urls = ["http://nlp.stanford.edu/sentiment/trainDevTestTrees_PTB.zip"]
    dirname = "trees"
    name = "sst"

    @staticmethod
    def sort_key(ex):
        """Sort (bucket) sentences by their number of tokens."""
        return len(ex.text)

    def __init__(self, path, text_field, label_field, subtrees=False, fine_grained=False, **kwargs):
        fields = [("text", text_field), ("label", label_field)]
        label_field.preprocessing = Pipeline(SSTLabel(fine_grained))
        file = Path(path).expanduser()
        if not file.is_file():
            raise missing_data_error(type(self), file)
        examples = []
        with open(file, encoding="utf-8") as handle:
            for number, line in _numbered_lines(handle, file):
                if not line.strip():
                    continue
                tree = _parse(line, file, number, subtrees)
                built = example_from_tree(tree, fields, subtrees)
                examples.extend(built if subtrees else [built])
        super().__init__(examples, fields, **kwargs)

    @classmethod
    def splits(
        cls,
        text_field,
        label_field,
        root=".data",
        train="train.txt",
        validation="dev.txt",
        test="test.txt",
        train_subtrees=False,
        **kwargs,
    ):
        """The train, validation and test splits, from ``root/sst/trees/`` (extracted or downloaded if missing).

        Args:
            text_field: the field for the sentence.
            label_field: the field for the label.
            root: the folder holding ``sst/`` (legacy ``".data"``).
            train: the training file name, or ``None`` to skip it.
            validation: the validation file name, or ``None`` to skip it.
            test: the test file name, or ``None`` to skip it.
            train_subtrees: add every phrase of the training trees as an example (validation and test keep
                whole sentences).
            **kwargs: passed to the constructor (``fine_grained``, ``filter_pred``).

        Returns:
            ``(train, validation, test)`` (the splits that were named).
        """
        path = cls.download(root)
        files = ((train, train_subtrees), (validation, False), (test, False))
        return tuple(
            cls(os.path.join(path, name), text_field, label_field, subtrees=subtrees, **kwargs)
            for name, subtrees in files
            if name is not None
        )

    @classmethod
    def iters(cls, batch_size=32, device=0, root=".data", vectors=None, **kwargs):
        """Iterators over the splits with default fields (``Field()`` text, ``Field(sequential=False)`` label).

        Args:
            batch_size: examples per batch.
            device: where batches go (legacy default ``0``).
            root: the folder holding ``sst/``.
            vectors: pretrained vectors for the text vocabulary (see ``Vocab.load_vectors``).
            **kwargs: passed to :meth:`splits` (``fine_grained``, ``train_subtrees``, ``filter_pred``).

        Returns:
            ``(train_iter, val_iter, test_iter)``.
        """
        return legacy_iters(cls, batch_size=batch_size, device=device, root=root, vectors=vectors, **kwargs)


def _numbered_lines(handle, file: Path):
    number = 0
    try:
        for number, line in enumerate(handle, 1):
            yield number, line
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text (byte {exc.start}); re-save the file as UTF-8", file, number + 1) from None


def _parse(line: str, file: Path, number: int, subtrees: bool):
    """Parse one line's tree, checking the labels that become examples (the root's, or every node's)."""
    try:
        tree = parse_tree(line)
    except ValueError as exc:
        raise DataError(f"not a bracketed (PTB) sentiment tree: {exc}", file, number) from None
    nodes = tree.subtrees() if subtrees else [tree]
    bad = next((node.label for node in nodes if node.label not in TREE_LABELS), None)
    if bad is not None:
        raise DataError(f"tree label {bad!r} is not a sentiment 0-4", file, number)
    return tree
