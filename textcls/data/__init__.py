"""The legacy-torchtext-style data API: fields, examples, datasets and (bucketed) iterators.

``from textcls.data import Field, LabelField, TabularDataset, BucketIterator`` works like the
``torchtext.data`` (0.8) / ``torchtext.legacy.data`` (0.9-0.11) imports it replaces.
"""

from textcls.data.batching import BucketBatchSampler, FieldCollator, make_batches, padding_fraction
from textcls.data.dataset import Dataset, TabularDataset
from textcls.data.example import Example
from textcls.data.fields import Field, LabelField, MultiLabelField, OneHot, Pipeline, RawField
from textcls.data.iterators import Batch, BucketIterator, Iterator

__all__ = [
    "Batch",
    "BucketBatchSampler",
    "BucketIterator",
    "Dataset",
    "Example",
    "Field",
    "FieldCollator",
    "Iterator",
    "LabelField",
    "MultiLabelField",
    "OneHot",
    "Pipeline",
    "RawField",
    "TabularDataset",
    "make_batches",
    "padding_fraction",
]
