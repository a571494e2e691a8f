"""The typed sections of a run's configuration, with the defaults of every setting in one place.

A model's ``textcls/configs/MODEL.yaml`` only holds what that model changes; anything it leaves out takes the
default written here (``training`` is :class:`textcls.training.TrainerConfig`). Build a section from a mapping
with ``Section.from_dict(mapping)`` (values converted to the annotated types, unknown keys rejected, one-line
errors: see :mod:`textcls.conversion`) and write it back with ``to_dict()``.

The ``data`` section of a text run is one flat mapping in YAML: :class:`DataConfig` holds the vocabulary, batching
and vectors settings, and reads the keys of its two groups :class:`ColumnOptions` (which columns) and
:class:`~textcls.read_options.ReadOptions` (how the file is parsed; it lives in :mod:`textcls.read_options`, shared
with the readers of :mod:`textcls.data`, and is re-exported here) from the same mapping. The CLI's "reading the
file" flags are made from the ``help`` metadata of those two groups, so a reader option is declared once.
"""

from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass, field
from typing import Literal

from textcls.conversion import INLINE, SEED_RANGE, Range, bounded, check_ranges, section_from_dict, section_to_dict
from textcls.errors import TextclsError
from textcls.read_options import ReadOptions
from textcls.read_options import cli_flag as _flag

__all__ = ["ColumnOptions", "DataConfig", "ImageDataConfig", "ImageFiles", "PhasesConfig", "ReadOptions", "Section",
           "TextFiles"]  # fmt: skip

AT_LEAST_0, AT_LEAST_1 = Range(0), Range(1)
SHARE = Range(0, 1, high_open=True)  # a share that may be 0 but never all


def _check_read_options(options: ReadOptions) -> None:
    """What a config may say about reading a file: a known encoding, ``csv.reader`` parameters that YAML can
    write (``quoting`` as its number: ``3`` is ``csv.QUOTE_NONE``)."""
    try:
        codecs.lookup(options.encoding)
    except LookupError:
        raise TextclsError(f"data.encoding: unknown encoding {options.encoding!r}; use e.g. utf-8, latin-1") from None
    if options.csv_reader_params:
        allowed = ("delimiter", "quotechar", "escapechar", "doublequote", "skipinitialspace", "strict", "quoting")
        unknown = sorted(set(options.csv_reader_params) - set(allowed))
        if unknown:
            raise TextclsError(f"unknown data.csv_reader_params key(s): {', '.join(unknown)}; valid: "
                               f"{', '.join(allowed)}")  # fmt: skip
        try:
            csv.reader([], **options.csv_reader_params)
        except TypeError as exc:
            raise TextclsError(f"data.csv_reader_params: {exc}") from None


class Section:
    """Mixin of the typed sections: ``from_dict`` / ``to_dict`` (see :mod:`textcls.conversion`); every field
    declared with :func:`~textcls.conversion.bounded` is range-checked when the section is built."""

    SECTION = ""  # the dotted name of the section in a config, for messages

    def __post_init__(self):
        check_ranges(self, self.SECTION)

    @classmethod
    def from_dict(cls, values=None, section: str | None = None):
        """Build from a mapping (``None``: every default; an instance is returned unchanged).

        Args:
            values: the section's mapping.
            section: its name in messages (default: ``SECTION``).
        """
        return section_from_dict(cls, values, cls.SECTION if section is None else section)

    def to_dict(self) -> dict:
        """The mapping ``from_dict`` reads back (every key, with its value)."""
        return section_to_dict(self)


@dataclass
class ColumnOptions(Section):
    """Which columns of the file hold the text and the label (``None``: detected, see
    :mod:`textcls.data.columns`).

    Args:
        text_col: text column(s), joined in this order.
        label_col: the label column.
        columns: names for a header-less file's columns (implies ``no_header``).
        no_header: the file has no header row (columns are named ``col1, col2, ...``).
    """

    SECTION = "data"
    text_col: list[str] | None = _flag(None, "text column(s), comma-separated; several are joined")
    label_col: str | None = _flag(None, "label column (default: detected)")
    columns: list[str] | None = _flag(None, "names for a header-less file's columns, comma-separated")
    no_header: bool = _flag(False, "the file has no header row")


@dataclass
class DataConfig(Section):
    """The ``data`` section of a text run.

    Args:
        tokenizer: tokenizer name (``textcls tokenizers``).
        lower: lower-case the tokens.
        min_freq: drop rarer tokens from the vocabulary.
        max_size: keep at most this many tokens in the vocabulary (``None``: all).
        max_length: cut texts to this many tokens (``None``: no limit): the text field's own cut
            (:meth:`~textcls.data.Field.ids_batch`), never padded to.
        batch_size: training batch size (evaluation uses at least 256).
        max_tokens: token budget per training batch (padded cells), instead of / on top of ``batch_size``.
        valid_split: share of the training file kept for validation when there is no validation file (0: none).
        split_seed: seed of that split (``None``: ``training.seed``).
        unk_init: vectors for words missing from ``vectors``: ``zeros``, ``normal`` or ``uniform``.
        vectors: a vectors file or preset, or ``word2vec`` / ``fasttext`` (trained on the training split).
        vectors_dir: folder holding named vectors files.
        lower_fallback: give a cased word the vector of its lower-case form.
        vectors_vocab: with ``vectors``, every word of the vectors joins the vocabulary.
        vectors_epochs: epochs of ``word2vec`` / ``fasttext`` training.
        multilabel: several labels per text (``a|b`` label columns, or one-hot columns).
        label_sep: separator of labels in a multi-label column.
        class_weights: per-class loss weights of a single-label run: ``balanced`` (n / (classes × count), from
            the training split) or a JSON (``{label: weight}``) / CSV (``label,weight`` rows) file; ``None``: equal.
        column_options: the :class:`ColumnOptions` keys (in the same mapping).
        read_options: the :class:`ReadOptions` keys (in the same mapping).
    """

    SECTION = "data"
    tokenizer: str = "basic_english"
    lower: bool = True
    min_freq: int = bounded(1, AT_LEAST_1)
    max_size: int | None = bounded(None, AT_LEAST_1)
    max_length: int | None = bounded(None, AT_LEAST_1)
    batch_size: int = bounded(64, AT_LEAST_1)
    max_tokens: int | None = bounded(None, AT_LEAST_1)
    valid_split: float = bounded(0.1, SHARE)
    split_seed: int | None = bounded(None, SEED_RANGE)
    unk_init: Literal["zeros", "normal", "uniform"] | None = "normal"
    vectors: str | None = None
    vectors_dir: str | None = None
    lower_fallback: bool = False
    vectors_vocab: bool = False
    vectors_epochs: int = bounded(5, AT_LEAST_1)
    multilabel: bool = False
    label_sep: str = "|"
    class_weights: str | None = None
    column_options: ColumnOptions = field(default_factory=ColumnOptions, metadata={INLINE: True})
    read_options: ReadOptions = field(default_factory=ReadOptions, metadata={INLINE: True})

    def __post_init__(self):
        super().__post_init__()  # the declared ranges
        _check_read_options(self.read_options)


@dataclass
class TextFiles(Section):
    """The ``files`` section of a text run: the training file and the optional validation and test files."""

    SECTION = "files"
    train: str | None = None
    valid: str | None = None
    test: str | None = None


@dataclass
class ImageDataConfig(Section):
    """The ``data`` section of an image run.

    Args:
        root: where torchvision datasets live (``None``: ``$TEXTCLS_DATA_ROOT`` or ``~/.cache/textcls/images``).
        download: let torchvision download a missing dataset (needs internet).
        transform: preprocessing preset: ``basic``, ``augment`` or ``imagenet``.
        batch_size: training batch size (evaluation uses at least 256).
        valid_split: share of the training images kept for validation (seeded by ``training.seed``).
        num_workers: DataLoader workers for image folders and augmentation.
    """

    SECTION = "data"
    root: str | None = None
    download: bool = False
    transform: Literal["basic", "augment", "imagenet"] = "basic"
    batch_size: int = bounded(64, AT_LEAST_1)
    valid_split: float = bounded(0.2, Range(0, 1, low_open=True, high_open=True))
    num_workers: int = bounded(0, AT_LEAST_0)


@dataclass
class PhasesConfig(Section):
    """The ``phases`` section of an image run: models with ``freeze()`` train only their head for
    ``freeze_epochs``, reload the best weights, then train everything at ``unfreeze_lr`` (``None``: ``training.lr``).
    """

    SECTION = "phases"
    freeze_epochs: int = bounded(0, AT_LEAST_0)
    unfreeze_lr: float | None = bounded(0.0001, Range(0, low_open=True))


@dataclass
class ImageFiles(Section):
    """The ``files`` section of an image run: ``data`` is a dataset name or directory."""

    SECTION = "files"
    data: str | None = None
