"""Fields: how one column becomes a tensor (legacy torchtext ``Field`` names and behaviours).

A field does three jobs, each a method: ``preprocess`` (str → tokens, at load time), ``pad`` (a batch of token
lists → equal lengths) and ``numericalize`` (→ tensor). ``build_vocab`` counts tokens from datasets.

Fields compare equal when their attributes are equal and pickle with the standard :mod:`pickle` (named
tokenizers by name, the dtype by its name), as legacy torchtext fields did; a field whose tokenizer or
pre/post-processing is a lambda or a local function cannot be pickled (:class:`FieldPicklingError`).
"""

from __future__ import annotations

import pickle
import types
from collections import Counter
from collections.abc import Callable, Iterable
from itertools import chain

import numpy as np
import torch

from textcls._util import paused_gc
from textcls.errors import ArgumentError, TextclsError
from textcls.tokenizers import Tokenizer, get_tokenizer
from textcls.vocab import Vocab


class FieldPicklingError(TextclsError, pickle.PicklingError):
    """A field (or pipeline) holds a callable that :mod:`pickle` cannot store (a lambda or a local function)."""


def _unpicklable_name(value) -> str | None:
    """The qualified name of ``value`` (or of a function inside a :class:`Pipeline`) when pickle cannot store it
    by reference: lambdas and functions defined inside another function."""
    if isinstance(value, Pipeline):
        names = (_unpicklable_name(pipe.convert_token) for pipe in value.pipes)
        return next((name for name in names if name is not None), None)
    if isinstance(value, types.FunctionType) and ("<lambda>" in value.__qualname__ or "<locals>" in value.__qualname__):
        return value.__qualname__
    return None


def _refuse_unpicklable(owner, attributes: Iterable[str]) -> None:
    for attribute in attributes:
        name = _unpicklable_name(getattr(owner, attribute, None))
        if name is not None:
            raise FieldPicklingError(
                f"cannot pickle this {type(owner).__name__}: its {attribute} is {name!r}, a lambda or local "
                "function; use a module-level function (or a tokenizer name such as tokenize='basic_english')"
            )


class Pipeline:
    """Legacy ``data.Pipeline``: applies ``convert_token`` to a value, or to each item of a list.

    Pipelines compose: ``Pipeline(f).add_before(g)`` applies ``g`` then ``f``; ``add_after`` appends. Each step
    maps a list element-wise, and extra positional arguments of a call go to every step.

    Args:
        convert_token: the function applied to the value (or to each list item); ``None``: the identity.

    Raises:
        ArgumentError: when ``convert_token`` is neither ``None`` nor callable.
    """

    def __init__(self, convert_token: Callable | None = None):
        if convert_token is None:
            self.convert_token = Pipeline.identity  # a static method, not a lambda, so pipelines pickle
        elif callable(convert_token):
            self.convert_token = convert_token
        else:
            raise ArgumentError(
                f"Pipeline convert_token {convert_token!r} is not None or callable; pass a function such as str.lower"
            )
        self.pipes = [self]

    def __call__(self, x, *args):
        """Apply every step of this pipeline, in order, to ``x`` (extra ``args`` go to each step)."""
        for pipe in self.pipes:
            x = pipe.call(x, *args)
        return x

    def call(self, x, *args):
        """Apply only this pipeline's own ``convert_token`` to ``x`` (element-wise when ``x`` is a list).

        Args:
            x: the value, or a list of values.
            *args: passed to ``convert_token`` after the value.
        """
        if isinstance(x, list):
            return [self.convert_token(token, *args) for token in x]
        return self.convert_token(x, *args)

    def add_before(self, pipeline) -> Pipeline:
        """Run ``pipeline`` (a :class:`Pipeline` or a callable) before this one's steps; returns ``self``.

        Args:
            pipeline: the pipeline or callable to run first.
        """
        if not isinstance(pipeline, Pipeline):
            pipeline = Pipeline(pipeline)
        self.pipes = pipeline.pipes[:] + self.pipes[:]
        return self

    def add_after(self, pipeline) -> Pipeline:
        """Run ``pipeline`` (a :class:`Pipeline` or a callable) after this one's steps; returns ``self``.

        Args:
            pipeline: the pipeline or callable to run last.
        """
        if not isinstance(pipeline, Pipeline):
            pipeline = Pipeline(pipeline)
        self.pipes = self.pipes[:] + pipeline.pipes[:]
        return self

    @staticmethod
    def identity(x):
        """Return ``x`` unchanged (the default step; a named function so that pipelines pickle)."""
        return x

    def _steps(self) -> list:
        return [pipe.convert_token for pipe in self.pipes]

    def __getstate__(self):
        _refuse_unpicklable(self, ["convert_token"])
        return self.__dict__

    def __eq__(self, other):
        # steps, not `pipes`: a pipeline is one of its own pipes, so comparing those would recurse
        if not isinstance(other, Pipeline):
            return NotImplemented
        return self._steps() == other._steps()

    def __hash__(self):
        return len(self.pipes)

    def __repr__(self):
        steps = ", ".join(getattr(step, "__qualname__", repr(step)) for step in self._steps())
        return f"Pipeline({steps})"


class RawField:
    """A field with no vocabulary and no tensor: values pass through ``preprocessing``/``postprocessing``.

    Fields compare equal when all their attributes are equal (legacy ``Field.__eq__``); their hash is a
    constant, as in legacy torchtext, because their attributes change (``build_vocab``).

    Args:
        preprocessing: callable applied to each value when the example is built.
        postprocessing: callable applied to the list of values of a batch.
        is_target: whether the field is a prediction target (goes to ``Batch.target_fields``).
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__module__.startswith("textcls."):  # a user's subclass must not shadow a textcls class by name
            _FIELD_CLASSES[cls.__name__] = cls

    def __init__(self, preprocessing=None, postprocessing=None, is_target: bool = False):
        self.preprocessing = preprocessing
        self.postprocessing = postprocessing
        self.is_target = is_target

    def preprocess(self, x):
        """Apply ``preprocessing`` (if any) to one value."""
        return self.preprocessing(x) if self.preprocessing is not None else x

    def process(self, batch, *args, **kwargs):
        """Apply ``postprocessing`` (if any) to the list of values of a batch."""
        return self.postprocessing(batch) if self.postprocessing is not None else batch

    def __getstate__(self):
        _refuse_unpicklable(self, ["preprocessing", "postprocessing"])
        return dict(self.__dict__)

    def __eq__(self, other):
        if not isinstance(other, RawField):
            return False
        return self.__dict__ == other.__dict__

    def __hash__(self):
        # legacy returns a constant: the attributes a field is compared by change after construction
        return 42


_PYTHON_TYPE = {
    torch.float16: float, torch.bfloat16: float, torch.float32: float, torch.float64: float,
    torch.uint8: int, torch.int8: int, torch.int16: int, torch.int32: int, torch.int64: int, torch.bool: bool,
}  # fmt: skip

# Field classes that Field.from_config may rebuild, by class name (filled by RawField subclasses in textcls).
_FIELD_CLASSES: dict[str, type] = {}


def _field_class(name: str) -> type | None:
    # NestedField is there too: importing this module runs textcls/data/__init__.py, which imports textcls.data.nested
    return _FIELD_CLASSES.get(name)


def _cut(x, max_len: int | None, truncate_first: bool) -> list:
    """``x`` cut to ``max_len`` items (from the start when ``truncate_first``); ``None``: all of it."""
    if max_len is None:
        return list(x)
    if max_len <= 0:
        return []
    return list(x[-max_len:] if truncate_first else x[:max_len])


def _pad_rows(rows, max_len: int, head: list, tail: list, pad, pad_first: bool, truncate_first: bool):
    """Cut each row to ``max_len`` items, wrap it in ``head``/``tail`` and pad it with ``pad`` to one width.

    Returns ``(padded, lengths)``; a length counts head and tail items but not padding.
    """
    padded, lengths = [], []
    for x in rows:
        padding = [pad] * max(0, max_len - len(x))
        sequence = head + _cut(x, max_len, truncate_first) + tail
        padded.append(padding + sequence if pad_first else sequence + padding)
        lengths.append(len(sequence))
    return padded, lengths


def _is_dataset(value) -> bool:
    """Whether ``value`` is a dataset (it has ``fields`` and a ``column`` method), told without importing
    :mod:`textcls.data.dataset`, which imports this module."""
    return isinstance(getattr(value, "fields", None), dict) and callable(getattr(value, "column", None))


class Field(RawField):
    """Defines how a column is tokenized, turned into ids and padded into a tensor.

    Args:
        sequential: whether the value is a sequence to tokenize (``False`` for labels and numbers).
        use_vocab: map tokens to ids through a :class:`Vocab` (``False``: values are numbers already).
        init_token: token prepended to every sequence (``None``: none).
        eos_token: token appended to every sequence (``None``: none).
        fix_length: pad or cut every sequence to this many tokens (``None``: the longest in the batch).
        dtype: tensor dtype (``torch.long``).
        preprocessing: callable applied to the tokens after tokenizing and before numericalizing.
        postprocessing: callable ``(batch_ids, vocab)`` applied after numericalizing, before the tensor.
        lower: lower-case the text.
        tokenize: a tokenizer name (``"basic_english"``, ``"spacy"``, ...), a callable, or ``None``
            (whitespace split).
        tokenizer_language: language (or spaCy model) for the spacy and nltk tokenizers.
        include_lengths: make ``process`` return ``(tensor, lengths)``.
        batch_first: put the batch dimension first (``[batch, time]``) instead of ``[time, batch]``.
        pad_token: padding token (``None`` for non-sequential fields).
        unk_token: unknown-word token (``None``: unknown tokens are an error).
        pad_first: pad on the left.
        truncate_first: with ``fix_length``, cut tokens from the start instead of the end.
        stop_words: tokens to drop after tokenizing (and lower-casing).
        is_target: whether the field is a prediction target.

    Raises:
        ArgumentError: when ``stop_words`` cannot be made into a set.
    """

    vocab_cls = Vocab
    # legacy names: the Python number type each dtype converts strings with when use_vocab=False, and the
    # attributes __getstate__ stores in another form
    dtypes = _PYTHON_TYPE
    ignore = ["dtype", "tokenize"]

    def __init__(
        self,
        sequential: bool = True,
        use_vocab: bool = True,
        init_token: str | None = None,
        eos_token: str | None = None,
        fix_length: int | None = None,
        dtype: torch.dtype = torch.long,
        preprocessing=None,
        postprocessing=None,
        lower: bool = False,
        tokenize=None,
        tokenizer_language: str = "en",
        include_lengths: bool = False,
        batch_first: bool = False,
        pad_token: str | None = "<pad>",
        unk_token: str | None = "<unk>",
        pad_first: bool = False,
        truncate_first: bool = False,
        stop_words: Iterable[str] | None = None,
        is_target: bool = False,
    ):
        super().__init__(preprocessing=preprocessing, postprocessing=postprocessing, is_target=is_target)
        self.sequential = sequential
        self.use_vocab = use_vocab
        self.init_token = init_token
        self.eos_token = eos_token
        self.unk_token = unk_token
        self.fix_length = fix_length
        self.dtype = dtype
        self.lower = lower
        self.tokenizer_args = (tokenize, tokenizer_language)
        self.tokenize = get_tokenizer(tokenize, tokenizer_language)
        self.include_lengths = include_lengths
        self.batch_first = batch_first
        self.pad_token = pad_token if sequential else None
        self.pad_first = pad_first
        self.truncate_first = truncate_first
        try:
            self.stop_words = None if stop_words is None else set(stop_words)
        except TypeError:
            raise ArgumentError(
                f"stop_words must be convertible to a set, got {type(stop_words).__name__}; pass a list of tokens"
            ) from None

    # --- pickling (legacy __getstate__/__setstate__: the dtype travels by name) ----------------------
    def __getstate__(self):
        _refuse_unpicklable(self, ["tokenize", "preprocessing", "postprocessing"])
        state = {key: value for key, value in self.__dict__.items() if key not in self.ignore}
        state["dtype"] = str(self.dtype).split(".")[-1]  # "int64": plain data, not a torch object
        state["tokenize"] = self.tokenize  # a named Tokenizer pickles as (name, language, options)
        return state

    def __setstate__(self, state):
        state = dict(state)
        try:
            state["dtype"] = _dtype_from_name(state["dtype"])
        except TypeError as exc:
            raise pickle.UnpicklingError(f"pickled {type(self).__name__} is damaged: {exc}") from None
        if state.get("tokenize") is None:  # legacy pickles drop tokenizers they cannot store (spaCy)
            state["tokenize"] = get_tokenizer(*state["tokenizer_args"])
        self.__dict__.update(state)

    # --- preprocess ----------------------------------------------------------------------------------
    def preprocess(self, x):
        """Tokenize (sequential fields), lower-case, drop stop words, then apply ``preprocessing``.

        Args:
            x: one raw value (a string, or an already tokenized list).
        """
        if self.sequential and isinstance(x, str):
            x = self.tokenize(x.rstrip("\n"))
        if self.lower:
            x = [token.lower() for token in x] if isinstance(x, list) else x.lower()
        if self.sequential and self.use_vocab and self.stop_words is not None:
            x = [token for token in x if token not in self.stop_words]
        if self.preprocessing is not None:
            return self.preprocessing(x)
        return x

    # --- batch → tensor ------------------------------------------------------------------------------
    def process(self, batch, device=None):
        """Pad a list of preprocessed values and turn it into a tensor (plus lengths when asked).

        Args:
            batch: the preprocessed values of a batch.
            device: target device (``None``: CPU).
        """
        if self._has_fast_path():
            return self._pad_and_numericalize(list(batch), device)
        return self.numericalize(self.pad(batch), device=device)

    def _has_fast_path(self) -> bool:
        """Whether ``process`` may skip ``pad`` + ``numericalize``: a vocabulary field that does not override them
        (a subclass's ``pad`` or ``numericalize``, e.g. :class:`NestedField`'s, must run)."""
        kind = type(self)
        return (
            self.sequential
            and self.use_vocab
            and self.postprocessing is None
            and self.pad_token is not None
            and kind.pad is Field.pad
            and kind.numericalize is Field.numericalize
            and kind._to_tensor is Field._to_tensor
        )

    def _pad_and_numericalize(self, batch, device=None):
        """``numericalize(pad(batch))`` in one pass: :meth:`ids_batch` then :meth:`pad_ids` (tests check equality)."""
        var, lengths = self.pad_ids(self.ids_batch(batch), device=device)
        return (var, lengths) if self.include_lengths else var

    # --- the one numericalization path (Field.process, the iterators, the trainer's TextBatches, Predictor) ----
    def _body_limit(self, max_length: int | None = None) -> int | None:
        """How many tokens of a text are kept before ``init_token``/``eos_token`` are added: ``fix_length`` minus
        those tokens, and at most ``max_length`` (``None``: no limit)."""
        limits = [limit for limit in (max_length, self._fixed_body()) if limit is not None]
        return min(limits) if limits else None

    def _fixed_body(self) -> int | None:
        if self.fix_length is None:
            return None
        return self.fix_length + (self.init_token, self.eos_token).count(None) - 2

    def ids_batch(self, batch, max_length: int | None = None) -> list[list[int]]:
        """The ids of each preprocessed text of ``batch``: cut (``fix_length``, ``truncate_first``, and
        ``max_length``), wrapped in ``init_token``/``eos_token``, looked up in the vocabulary (unknown tokens
        become ``unk_token``'s id; with ``unk_token=None`` an unknown token is an error).

        Args:
            batch: token lists (what :meth:`preprocess` returns).
            max_length: also keep at most this many tokens of each text, init/eos not counted; unlike
                ``fix_length`` it never pads (the trainer's ``data.max_length``). ``None``: no extra cut.

        Raises:
            TextclsError: when the field has no vocabulary, or a token is unknown and there is no ``unk_token``.
        """
        if not hasattr(self, "vocab"):
            raise TextclsError("the field has no vocabulary yet; call field.build_vocab(train_data) first")
        lookup = self.vocab.stoi.__getitem__  # keeps the <unk> fallback of the vocabulary's stoi
        head = [] if self.init_token is None else [self.init_token]
        tail = [] if self.eos_token is None else [self.eos_token]
        limit, truncate_first = self._body_limit(max_length), self.truncate_first
        try:
            if not head and not tail and limit is None:
                return [list(map(lookup, x)) for x in batch]
            return [list(map(lookup, head + _cut(x, limit, truncate_first) + tail)) for x in batch]
        except KeyError as exc:
            raise TextclsError(
                f"value {exc.args[0]!r} is not in the vocabulary (it never occurred when the vocabulary "
                "was built, and this field has no unk_token)"
            ) from None

    def ids(self, tokens, max_length: int | None = None) -> list[int]:
        """The ids of one preprocessed text (see :meth:`ids_batch`).

        Args:
            tokens: the text's tokens.
            max_length: keep at most this many tokens, init/eos not counted (``None``: no extra cut).
        """
        return self.ids_batch([tokens], max_length)[0]

    def pad_ids(self, rows, device=None, batch_first: bool | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Pad id lists (from :meth:`ids_batch`) into one tensor: to ``fix_length`` (or the longest row), with the
        pad token's id, on the left when ``pad_first``.

        Args:
            rows: id lists, already cut and wrapped in init/eos.
            device: target device (``None``: CPU).
            batch_first: ``[batch, time]`` (``True``) or ``[time, batch]``; ``None``: the field's ``batch_first``.

        Returns:
            ``(ids, lengths)``: the tensor in the field's dtype and the lengths (init/eos counted, not padding).
        """
        rows = list(rows)
        lengths = [len(row) for row in rows]
        width = max(lengths, default=0) if self.fix_length is None else max(self.fix_length, *lengths, 0)
        out = np.full((len(rows), width), self.vocab.stoi[self.pad_token], dtype=np.int64)
        for line, ids, length in zip(out, rows, lengths):
            if length:
                if self.pad_first:
                    line[width - length :] = ids
                else:
                    line[:length] = ids
        var = torch.from_numpy(out).to(self.dtype)
        batch_first = self.batch_first if batch_first is None else batch_first
        var = (var if batch_first else var.t()).contiguous()
        if device is not None:
            var = var.to(device)
        return var, torch.tensor(lengths, dtype=self.dtype, device=device)

    def pad(self, minibatch):
        """Pad token lists to the longest (or ``fix_length``), adding init/eos tokens.

        Args:
            minibatch: the preprocessed values of a batch.

        Returns:
            The padded lists, or ``(padded, lengths)`` when ``include_lengths`` is set; lengths count init/eos
            tokens but not padding. Non-sequential fields pass through unchanged.
        """
        minibatch = list(minibatch)
        if not self.sequential:
            return minibatch
        max_len = max(len(x) for x in minibatch) if self.fix_length is None else self._fixed_body()
        head = [] if self.init_token is None else [self.init_token]
        tail = [] if self.eos_token is None else [self.eos_token]
        padded, lengths = _pad_rows(minibatch, max_len, head, tail, self.pad_token, self.pad_first, self.truncate_first)
        if self.include_lengths:
            return padded, lengths
        return padded

    def numericalize(self, arr, device=None):
        """Turn padded values into a tensor on ``device``.

        Args:
            arr: padded lists (or ``(padded, lengths)`` when ``include_lengths``).
            device: target device (``None``: CPU).

        Raises:
            ArgumentError: when ``include_lengths`` is set and ``arr`` is not a ``(data, lengths)`` tuple, or
                ``use_vocab=False`` with a dtype that has no Python number type.
        """
        if self.include_lengths and not isinstance(arr, tuple):
            raise ArgumentError(
                "Field has include_lengths=True, so numericalize needs a (data, lengths) tuple, as pad returns"
            )
        lengths = None
        if isinstance(arr, tuple):
            arr, lengths = arr
            lengths = torch.tensor(lengths, dtype=self.dtype, device=device)
        var = self._to_tensor(arr, device)
        if self.include_lengths:
            return var, lengths
        return var

    def _to_tensor(self, arr, device=None) -> torch.Tensor:
        """Numericalize padded values (no lengths): ids through the vocabulary, ``postprocessing``, tensor."""
        if self.use_vocab:
            if not hasattr(self, "vocab"):
                raise TextclsError("the field has no vocabulary yet; call field.build_vocab(train_data) first")
            stoi = self.vocab.stoi
            try:
                arr = [[stoi[x] for x in ex] for ex in arr] if self.sequential else [stoi[x] for x in arr]
            except KeyError as exc:
                raise TextclsError(
                    f"value {exc.args[0]!r} is not in the vocabulary (it never occurred when the vocabulary "
                    "was built, and this field has no unk_token)"
                ) from None
            if self.postprocessing is not None:
                arr = self.postprocessing(arr, self.vocab)
        else:
            if self.dtype not in self.dtypes:
                raise ArgumentError(
                    f"Field dtype {self.dtype} cannot be used with use_vocab=False (no Python number type for it); "
                    "use a float, int or bool dtype"
                )
            convert = self.dtypes[self.dtype]
            if not self.sequential:
                arr = [_to_number(x, convert) for x in arr]
            if self.postprocessing is not None:
                arr = self.postprocessing(arr, None)
        var = torch.tensor(arr, dtype=self.dtype, device=device)
        if self.sequential and not self.batch_first:
            var = var.t_()
        if self.sequential:
            var = var.contiguous()
        return var

    # --- vocabulary ----------------------------------------------------------------------------------
    def build_vocab(self, *args, **kwargs):
        """Count tokens from datasets (every column read by this field) or iterables of values.

        Args:
            *args: :class:`~textcls.data.Dataset` objects or plain iterables of preprocessed values.
            **kwargs: passed to :class:`Vocab` (``max_size``, ``min_freq``, ``specials``, ``vectors``,
                ``unk_init``, ``vectors_cache``, ``specials_first``).

        Returns:
            The new vocabulary (also set as ``self.vocab``).
        """
        counter = Counter()
        with paused_gc():
            for data in self._vocab_sources(args):
                if self.sequential:
                    counter.update(chain.from_iterable(data))
                else:
                    values = list(data)
                    try:
                        counter.update(values)
                    except TypeError:  # list-valued (multi-label) values
                        counter.update(chain.from_iterable(values))
        specials = [self.unk_token, self.pad_token, self.init_token, self.eos_token] + list(kwargs.pop("specials", []))
        specials = list(dict.fromkeys(tok for tok in specials if tok is not None))
        if isinstance(self.vocab_cls, type) and issubclass(self.vocab_cls, Vocab):
            kwargs.setdefault("unk_token", self.unk_token)  # a legacy-signature vocab_cls has no unk_token
        self.vocab = self.vocab_cls(counter, specials=specials, **kwargs)
        return self.vocab

    def _vocab_sources(self, args) -> list:
        """The columns of ``args`` to count: every column of a Dataset read by this field, or the iterable."""
        sources = []
        for arg in args:
            if _is_dataset(arg):
                sources += [arg.column(name) for name, field in arg.fields.items() if field is self]
            else:
                sources.append(arg)
        return sources

    # --- persistence ---------------------------------------------------------------------------------
    def to_config(self) -> dict:
        """JSON-able settings from which :meth:`from_config` rebuilds this field (vocab saved separately).

        Raises:
            TextclsError: when the tokenizer or pre/post-processing is an arbitrary callable.
        """
        tokenize, language = self.tokenizer_args
        if isinstance(self.tokenize, Tokenizer):
            tokenize = self.tokenize.to_config()
        elif tokenize is not None:
            raise TextclsError("this Field's tokenizer is a custom callable; use a named tokenizer to save it")
        if self.preprocessing is not None or self.postprocessing is not None:
            raise TextclsError("a Field with preprocessing/postprocessing callables cannot be saved as JSON")
        return {
            "class": type(self).__name__,
            "sequential": self.sequential, "use_vocab": self.use_vocab, "init_token": self.init_token,
            "eos_token": self.eos_token, "fix_length": self.fix_length, "dtype": str(self.dtype).split(".")[-1],
            "lower": self.lower, "tokenize": tokenize, "tokenizer_language": language,
            "include_lengths": self.include_lengths, "batch_first": self.batch_first,
            "pad_token": self.pad_token, "unk_token": self.unk_token, "pad_first": self.pad_first,
            "truncate_first": self.truncate_first, "is_target": self.is_target,
            "stop_words": None if self.stop_words is None else sorted(self.stop_words),
        }  # fmt: skip

    @classmethod
    def from_config(cls, config: dict) -> Field:
        """Rebuild a field saved with :meth:`to_config` (any textcls Field class, named by ``config["class"]``).

        Args:
            config: the dict :meth:`to_config` returned (after a JSON round trip).

        Raises:
            TextclsError: when ``config["class"]`` is not a textcls field class.
        """
        config = dict(config)
        name = config.pop("class", "Field")
        kind = _field_class(name)
        if kind is None:
            known = ", ".join(sorted(_FIELD_CLASSES))
            raise TextclsError(f"unknown field class {name!r} in saved config; expected one of: {known}")
        try:
            return kind._from_config(config)
        except (KeyError, TypeError, AttributeError) as exc:
            raise TextclsError(
                f"damaged {name} config ({type(exc).__name__}: {exc}); save the field again with to_config()"
            ) from None

    @classmethod
    def _from_config(cls, config: dict) -> Field:
        """Build this class from its :meth:`to_config` keyword arguments (``class`` already removed)."""
        config["dtype"] = _dtype_from_name(config["dtype"])
        return cls(**config)


def _dtype_from_name(name: str) -> torch.dtype:
    """``torch.int64`` from ``"int64"`` (how fields store their dtype in configs and pickles)."""
    dtype = getattr(torch, str(name), None)
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"{name!r} is not a torch dtype")
    return dtype


_BOOL_STRINGS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


def _to_number(value, convert):
    if isinstance(value, str) and convert is bool:
        if value.strip().lower() not in _BOOL_STRINGS:
            raise TextclsError(f"value {value!r} is not a boolean (expected 0/1/true/false)")
        return _BOOL_STRINGS[value.strip().lower()]
    if isinstance(value, str):
        try:
            return convert(float(value)) if convert is int else convert(value)
        except ValueError:
            raise TextclsError(f"value {value!r} is not a number (field has use_vocab=False)") from None
    return value


class LabelField(Field):
    """A non-sequential target field with no unknown token (labels map to 0..C-1 by frequency).

    Accepts the :class:`Field` arguments (``dtype``, ``use_vocab``, ``preprocessing``, ...);
    ``sequential=False``, ``unk_token=None`` and ``is_target=True`` are fixed.
    """

    def __init__(self, **kwargs):
        kwargs.update(sequential=False, unk_token=None, is_target=True)
        super().__init__(**kwargs)


class MultiLabelField(Field):
    """A target whose value is a set of labels, batched as a multi-hot float tensor ``[batch, classes]``.

    Args:
        separator: splits a string value into labels (``"|"``); list values are taken as they are.
        **kwargs: other :class:`Field` arguments (``lower``, ``preprocessing``).
    """

    def __init__(self, separator: str = "|", **kwargs):
        self.separator = separator
        kwargs.update(sequential=False, unk_token=None, is_target=True, dtype=kwargs.get("dtype", torch.float))
        super().__init__(**kwargs)

    def preprocess(self, x):
        if isinstance(x, str):
            x = [label.strip() for label in x.split(self.separator) if label.strip()]
        x = list(x)
        if self.lower:
            x = [label.lower() for label in x]
        return self.preprocessing(x) if self.preprocessing is not None else x

    def numericalize(self, arr, device=None):
        if not hasattr(self, "vocab"):
            raise TextclsError("the field has no vocabulary yet; call field.build_vocab(train_data) first")
        out = torch.zeros(len(arr), len(self.vocab), dtype=self.dtype)
        stoi = self.vocab.stoi
        for row, labels in enumerate(arr):
            for label in labels:
                if label not in self.vocab:
                    raise TextclsError(f"label {label!r} is not in the label vocabulary")
                out[row, stoi[label]] = 1
        return out.to(device) if device is not None else out

    def to_config(self) -> dict:
        return {**super().to_config(), "separator": self.separator}


class ColumnGroup:
    """Several file columns read into one attribute by one field (base of :class:`OneHot` and :class:`Concat`).

    Args:
        field: the field that receives the combined value.
        columns: the column names, in file order.
    """

    def __init__(self, field: Field, columns: Iterable[str]):
        self.field = field
        self.columns = list(columns)
        if not self.columns:
            raise TextclsError(f"{type(self).__name__} needs at least one column name")

    def decode(self, values: list[str]):
        """Combine the raw column values into the one value the field preprocesses."""
        raise NotImplementedError


class Concat(ColumnGroup):
    """Joins several text columns (``title`` and ``description``) into one text, separated by ``sep``.

    Use it in a positional field list, ``("text", Concat(TEXT, ["title", "description"]))``, or with a header
    as a tuple key of a dict of fields whose field is a text field: ``{("title", "description"): ("text", TEXT)}``.

    Args:
        field: the text field.
        columns: the column names, in file order.
        sep: the separator put between the texts.
    """

    def __init__(self, field: Field, columns: Iterable[str], sep: str = " "):
        super().__init__(field, columns)
        self.sep = sep

    def decode(self, values: list[str]) -> str:
        parts = [(value if isinstance(value, str) else str(value)).strip() for value in values]
        return self.sep.join([part for part in parts if part])


class OneHot(ColumnGroup):
    """Reads several 0/1 indicator columns (``Business, SciTech, Sports, World``) as one label.

    Use it in a positional field list, where it consumes ``len(columns)`` columns:
    ``("label", OneHot(LABEL, ["Business", "SciTech", "Sports", "World"]))``, or, with a header, use a tuple of
    column names as the key of a dict of fields: ``{("Business", ...): ("label", LABEL)}``.

    The field receives the name of the column holding 1 (single label: exactly one must be set), or the list of
    such names when the field is a :class:`MultiLabelField`.

    Args:
        field: the label field that receives the column name(s).
        columns: the indicator column names, in file order.
    """

    @property
    def multi_label(self) -> bool:
        return isinstance(self.field, MultiLabelField)

    def decode(self, values: list[str]) -> str | list[str]:
        """Return the chosen column name(s) from the indicator values; raise ``ValueError`` when invalid."""
        on = []
        for column, value in zip(self.columns, values):
            text = str(value).strip()
            if text in ("1", "1.0", "true", "True"):
                on.append(column)
            elif text not in ("0", "0.0", "false", "False"):
                raise ValueError(f"one-hot column {column!r} holds {text!r}, expected 0 or 1")
        if self.multi_label:
            return on
        if len(on) != 1:
            raise ValueError(f"one-hot columns {', '.join(self.columns)} have {len(on)} ones, expected exactly 1")
        return on[0]
