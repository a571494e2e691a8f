"""The TREC question-classification dataset (legacy ``torchtext.datasets.TREC``)."""

from __future__ import annotations

import logging
from pathlib import Path

from textcls.data.example import Example
from textcls.data.fields import Pipeline
from textcls.datasets._common import TrainTestDataset, missing_data_error

log = logging.getLogger("textcls")


class TRECLabel:
    """The label preprocessing TREC installs: the coarse class (``"LOC:city"`` → ``"LOC"``) or the fine one.

    Args:
        fine_grained: keep the 50 fine labels (``"LOC:city"``) instead of the 6 coarse ones.
    """

    def __init__(self, fine_grained: bool = False):
        self.fine_grained = fine_grained

    def __call__(self, label: str) -> str:
        return label if self.fine_grained else label.split(":")[0]


class TREC(TrainTestDataset):
    """Questions labelled with their answer type, one ``LABEL:fine question`` per line.

    The files are ``root/trec/train_5500.label`` and ``root/trec/TREC_10.label``, as published. They are not
    all UTF-8: as in legacy torchtext the one stray byte ``0xF0`` (``sister\\xf0city``) reads as a space; a line
    with any other invalid UTF-8 is read as Latin-1 (and counted in a warning) where legacy stopped with an error.

    Args:
        path: the ``.label`` file.
        text_field: the field reading the question (attribute ``text``).
        label_field: the field reading the label (attribute ``label``); its ``preprocessing`` is set to pick
            the coarse or fine label, as in legacy torchtext.
        fine_grained: use the 50 fine-grained labels (``"NUM:date"``) instead of the 6 coarse ones (``"NUM"``).
        **kwargs: passed to :class:`~textcls.data.Dataset` (``filter_pred``).

    Raises:
        DataError: the file is missing.
    """

    urls = ["http://cogcomp.org/Data/QA/QC/train_5500.label", "http://cogcomp.org/Data/QA/QC/TREC_10.label"]
    name = "trec"
    dirname = ""

    @staticmethod
    def sort_key(ex):
        """Sort (bucket) questions by their number of tokens."""
        return len(ex.text)

    def __init__(self, path, text_field, label_field, fine_grained=False, **kwargs):
        fields = [("text", text_field), ("label", label_field)]
        label_field.preprocessing = Pipeline(TRECLabel(fine_grained))
        file = Path(path).expanduser()
        if not file.is_file():
            raise missing_data_error(type(self), file)
        examples = []
        latin1_lines = []
        with open(file, "rb") as handle:
            for number, raw in enumerate(handle, 1):
                line = _decode(raw)
                if line is None:
                    latin1_lines.append(number)
                    line = raw.replace(b"\xf0", b" ").decode("latin-1")
                if not line.strip():
                    continue
                label, _, text = line.partition(" ")
                examples.append(Example.fromlist([text, label], fields))
        if latin1_lines:
            log.warning(
                "%s: %d line(s) not UTF-8, read as Latin-1 (first: line %d)", file, len(latin1_lines), latin1_lines[0]
            )
        super().__init__(examples, fields, **kwargs)

    @classmethod
    def splits(cls, text_field, label_field, root=".data", train="train_5500.label", test="TREC_10.label", **kwargs):
        """The train and test splits, from ``root/trec/`` (downloaded if missing and the network allows).

        Args:
            text_field: the field for the question.
            label_field: the field for the label.
            root: the folder holding ``trec/`` (legacy ``".data"``).
            train: the training file name, or ``None`` to skip it.
            test: the test file name, or ``None`` to skip it.
            **kwargs: passed to :meth:`Dataset.splits` and the constructor (``fine_grained``, ``filter_pred``,
                ``path``).

        Returns:
            ``(train, test)`` (the splits that were named).
        """
        return super().splits(
            root=root, text_field=text_field, label_field=label_field, train=train, validation=None, test=test, **kwargs
        )


def _decode(raw: bytes) -> str | None:
    """One line as legacy read it (``0xF0`` → space, then UTF-8); ``None`` if it is still not UTF-8."""
    try:
        return raw.replace(b"\xf0", b" ").decode("utf-8")
    except UnicodeDecodeError:
        return None
