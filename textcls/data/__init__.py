"""The legacy-torchtext-style data API: fields, examples, datasets and (bucketed) iterators.

``from textcls.data import Field, LabelField, TabularDataset, BucketIterator`` works like the
``torchtext.data`` (0.8) / ``torchtext.legacy.data`` (0.9-0.11) imports it replaces; the names legacy exported
from that package are exported here too (``batch``, ``pool``, ``get_tokenizer``, ``interleave_keys``, ...).
"""

import collections

import torch

from textcls.data import functional, metrics, utils
from textcls.data.batching import BucketBatchSampler, RandomShuffler, batch, make_batches, padding_fraction, pool
from textcls.data.dataset import Dataset, TabularDataset
from textcls.data.example import Example
from textcls.data.fields import (
    ColumnGroup,
    Concat,
    Field,
    FieldPicklingError,
    LabelField,
    MultiLabelField,
    OneHot,
    Pipeline,
    RawField,
)
from textcls.data.functional import (
    custom_replace,
    generate_sp_model,
    load_sp_model,
    numericalize_tokens_from_iterator,
    sentencepiece_numericalizer,
    sentencepiece_tokenizer,
    simple_space_split,
)
from textcls.data.iterators import Batch, BPTTIterator, BucketIterator, FieldCollator, Iterator
from textcls.data.metrics import bleu_score
from textcls.data.nested import NestedField
from textcls.data.utils import get_tokenizer, interleave_keys
from textcls.tokenizers import Tokenizer
from textcls.vocab import Vocab

# Legacy scripts save a Field with torch.save and read it back with torch.load, whose default (weights_only=True)
# refuses every class it was not told about. These classes pickle data only (the tokenizer travels by name, the
# dtype by its name), so allowing them lets such scripts run unchanged; a field holding any other callable
# (a preprocessing function, a lambda tokenizer) is still refused unless the caller passes weights_only=False.
torch.serialization.add_safe_globals(
    [RawField, Field, LabelField, MultiLabelField, NestedField, Vocab, Tokenizer, collections.Counter]
)

__all__ = [
    "BPTTIterator",
    "Batch",
    "BucketBatchSampler",
    "BucketIterator",
    "ColumnGroup",
    "Concat",
    "Dataset",
    "Example",
    "Field",
    "FieldCollator",
    "FieldPicklingError",
    "Iterator",
    "LabelField",
    "MultiLabelField",
    "NestedField",
    "OneHot",
    "Pipeline",
    "RandomShuffler",
    "RawField",
    "TabularDataset",
    "batch",
    "bleu_score",
    "custom_replace",
    "functional",
    "generate_sp_model",
    "get_tokenizer",
    "interleave_keys",
    "load_sp_model",
    "make_batches",
    "metrics",
    "numericalize_tokens_from_iterator",
    "padding_fraction",
    "pool",
    "sentencepiece_numericalizer",
    "sentencepiece_tokenizer",
    "simple_space_split",
    "utils",
]
