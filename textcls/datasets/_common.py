"""What the built-in datasets share: the legacy ``iters`` recipe and the "file not found" message."""

from __future__ import annotations

import os
from pathlib import Path

from textcls.data.dataset import Dataset
from textcls.data.download import archive_kind, missing_files_message, url_filename
from textcls.errors import DataError


def legacy_iters(dataset_cls, batch_size=32, device=0, root=".data", vectors=None, **kwargs):
    """The legacy ``<Dataset>.iters``: default fields, vocabularies from the training split, bucketed iterators.

    Args:
        dataset_cls: the dataset class (``IMDB``, ``SST``, ``TREC``).
        batch_size: examples per batch.
        device: where batches go (legacy default ``0``; see :class:`~textcls.data.BucketIterator`).
        root: the folder holding ``<name>/``.
        vectors: pretrained vectors for the text vocabulary (a name, a :class:`~textcls.vocab.Vectors`, or a
            list of them).
        **kwargs: passed to ``dataset_cls.splits``.

    Returns:
        One :class:`~textcls.data.BucketIterator` per split, the first one training.
    """
    from textcls.data.fields import Field
    from textcls.data.iterators import BucketIterator

    text = Field()
    label = Field(sequential=False)
    splits = dataset_cls.splits(text, label, root=root, **kwargs)
    text.build_vocab(splits[0], vectors=vectors)
    label.build_vocab(splits[0])
    return BucketIterator.splits(splits, batch_size=batch_size, device=device)


class TrainTestDataset(Dataset):
    """A built-in classification dataset with a training and a test split (IMDB, TREC): the shared ``iters``."""

    @classmethod
    def iters(cls, batch_size=32, device=0, root=".data", vectors=None, **kwargs):
        """Iterators over the splits with default fields (``Field()`` text, ``Field(sequential=False)`` label).

        Args:
            batch_size: examples per batch.
            device: where batches go (legacy default ``0``).
            root: the folder holding the dataset's ``<name>/`` folder.
            vectors: pretrained vectors for the text vocabulary (see ``Vocab.load_vectors``).
            **kwargs: passed to :meth:`splits` (TREC: ``fine_grained``).

        Returns:
            ``(train_iter, test_iter)``.
        """
        return legacy_iters(cls, batch_size=batch_size, device=device, root=root, vectors=vectors, **kwargs)


def missing_data_error(dataset_cls, path) -> DataError:
    """A one-line error for a split file or folder of a built-in dataset that is not on disk.

    It names the download it comes from and the folder to put that in: the file itself for a dataset of
    plain files (TREC), the archive, extracted into the dataset's folder, otherwise.

    Args:
        dataset_cls: the dataset class, with its ``urls``, ``name`` and ``dirname``.
        path: the missing file or folder.
    """
    path = Path(path)
    entries = [url_filename(entry) for entry in dataset_cls.urls]
    same_name = [entry for entry in entries if entry[1] == path.name]
    if same_name:
        return DataError(missing_files_message(dataset_cls.__name__, same_name, path.parent))
    archives = [entry for entry in entries if archive_kind(entry[1])] or entries
    folder = _dataset_folder(path, dataset_cls.dirname)
    sources = ", ".join(f"{filename} (from {url})" for url, filename in archives)
    message = f"{dataset_cls.__name__} data not found: {path}; put {sources} in {os.path.join(str(folder), '')}"
    extracted = folder / dataset_cls.dirname
    if dataset_cls.dirname and extracted.is_dir():
        message += f" and remove the incomplete {os.path.join(str(extracted), '')} so that it is extracted again"
    return DataError(message)


def _dataset_folder(path: Path, dirname: str) -> Path:
    """The ``root/<name>`` folder above ``path`` (the parent of its ``dirname`` part), else ``path``'s parent."""
    if dirname:
        for ancestor in path.parents:
            if ancestor.name == dirname:
                return ancestor.parent
    return path.parent
