"""The IMDB movie-review sentiment dataset (legacy ``torchtext.datasets.IMDB``)."""

from __future__ import annotations

from pathlib import Path

from textcls.data.example import Example
from textcls.datasets._common import TrainTestDataset, missing_data_error
from textcls.errors import DataError

LABELS = ("pos", "neg")


class IMDB(TrainTestDataset):
    """Movie reviews labelled ``"pos"`` or ``"neg"``, one review per ``.txt`` file.

    The files are in the layout of ``aclImdb_v1.tar.gz``: ``root/imdb/aclImdb/{train,test}/{pos,neg}/*.txt``.

    Args:
        path: a split folder (``.../aclImdb/train``), holding ``pos/`` and ``neg/``.
        text_field: the field reading the review (attribute ``text``).
        label_field: the field reading ``"pos"``/``"neg"`` (attribute ``label``).
        **kwargs: passed to :class:`~textcls.data.Dataset` (``filter_pred``).

    Raises:
        DataError: the folder is missing or holds no reviews, or a review is not UTF-8.
    """

    urls = ["http://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"]
    name = "imdb"
    dirname = "aclImdb"

    @staticmethod
    def sort_key(ex):
        """Sort (bucket) reviews by their number of tokens."""
        return len(ex.text)

    def __init__(self, path, text_field, label_field, **kwargs):
        fields = [("text", text_field), ("label", label_field)]
        folder = Path(path)
        if not folder.is_dir():
            raise missing_data_error(type(self), folder)
        examples = []
        for label in LABELS:
            # sorted: the same order on every file system (legacy used glob order)
            for file in sorted((folder / label).glob("*.txt")):
                examples.append(Example.fromlist([_read_review(file), label], fields))
        if not examples:
            raise DataError("no reviews found: expected pos/*.txt and neg/*.txt in this folder", folder)
        super().__init__(examples, fields, **kwargs)

    @classmethod
    def splits(cls, text_field, label_field, root=".data", train="train", test="test", **kwargs):
        """The train and test splits, from ``root/imdb/aclImdb/`` (extracted or downloaded if missing).

        Args:
            text_field: the field for the review text.
            label_field: the field for the label.
            root: the folder holding ``imdb/`` (legacy ``".data"``).
            train: the training split's folder name, or ``None`` to skip it.
            test: the test split's folder name, or ``None`` to skip it.
            **kwargs: passed to :meth:`Dataset.splits` and the constructor (``path``, ``filter_pred``).

        Returns:
            ``(train, test)`` (the splits that were named).
        """
        return super().splits(
            root=root, text_field=text_field, label_field=label_field, train=train, validation=None, test=test, **kwargs
        )


def _read_review(file: Path) -> str:
    """A review's text: the whole file (aclImdb reviews are one line each; legacy read only the first line)."""
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text (byte {exc.start}); re-save the file as UTF-8", file) from None
