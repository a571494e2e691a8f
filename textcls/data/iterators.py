"""``Batch``, ``Iterator``, ``BucketIterator``, ``BPTTIterator`` and ``FieldCollator`` with the legacy interface.

These follow legacy torchtext (``torchtext.data`` 0.8, ``torchtext.legacy.data`` 0.9-0.11): the same
arguments and defaults, ``batches`` holding lists of examples, ``init_epoch`` / ``create_batches`` / ``data``
to override, ``random_shuffler`` seeded from Python's ``random`` state, ``state_dict`` for resuming mid-epoch.
Which examples share a batch is decided by :mod:`textcls.data.batching`.

The deliberate difference: :class:`BucketIterator` always groups examples of similar length while it
shuffles (training), where legacy did so only with ``sort_within_batch=True``. Extensions: ``max_tokens=``
(a padded-token budget per batch), ``seed=``, ``len()`` with a ``batch_size_fn``, a ``sort_key`` that defaults
to the length of the text fields when the dataset has none.
"""

from __future__ import annotations

import logging
import math
import random

import torch

from textcls.data.batching import RandomShuffler, cut_batches, make_batches
from textcls.data.dataset import Dataset, default_sort_key, text_length_key
from textcls.errors import ArgumentError

log = logging.getLogger(__name__)


class Batch:
    """One mini-batch: an attribute per field holding that field's tensor (or ``(tensor, lengths)``).

    Args:
        data: the examples (``None``: an empty batch, to fill with :meth:`fromvars`).
        dataset: the dataset they come from; its ``fields`` say how to turn each attribute into a tensor.
        device: where the tensors go.
        fields: ``{name: field}`` to use instead of ``dataset.fields`` (textcls extension; ``dataset`` may then
            be ``None``).

    Attributes:
        batch_size: number of examples.
        dataset: the ``dataset`` argument.
        fields: the field names, ``dataset.fields.keys()`` as in legacy (fields given as ``None`` included).
        input_fields: names of the fields that are not targets, in field order.
        target_fields: names of the fields with ``is_target=True``.

    Iterating a batch yields its input value(s), then its target value(s) (a single value, a tuple of several,
    or ``None`` when there are none), so ``text, label = batch`` works.
    """

    def __init__(self, data=None, dataset=None, device=None, fields=None):
        if data is None:
            return
        fields = dataset.fields if fields is None else dict(fields)
        self.batch_size = len(data)
        self.dataset = dataset
        self._set_field_names(fields)
        for name, field in fields.items():
            if field is not None:
                setattr(self, name, field.process([getattr(x, name) for x in data], device=device))

    def _set_field_names(self, fields: dict) -> None:
        self.fields = fields.keys()
        self.input_fields = [k for k, v in fields.items() if v is not None and not v.is_target]
        self.target_fields = [k for k, v in fields.items() if v is not None and v.is_target]

    @classmethod
    def fromvars(cls, dataset, batch_size, train=None, **kwargs):
        """Create a batch directly from tensors given as keyword arguments.

        Args:
            dataset: the dataset whose fields the values belong to.
            batch_size: the number of examples the values hold.
            train: unused (kept for legacy signatures).
            **kwargs: ``name=value`` attributes of the batch.

        ``input_fields`` / ``target_fields`` come from ``dataset.fields`` (legacy left them unset, so such a
        batch could not be unpacked).
        """
        batch = cls()
        batch.batch_size = batch_size
        batch.dataset = dataset
        batch._set_field_names(dataset.fields)
        for name, value in kwargs.items():
            setattr(batch, name, value)
        return batch

    def to(self, device, non_blocking: bool = False) -> Batch:
        """Move every tensor (and ``(tensor, lengths)`` pair) to ``device``; returns ``self`` (textcls extension).

        Args:
            device: the target device.
            non_blocking: passed to ``Tensor.to``.
        """
        for name in self.fields:
            value = getattr(self, name, None)
            if isinstance(value, torch.Tensor):
                setattr(self, name, value.to(device, non_blocking=non_blocking))
            elif isinstance(value, tuple):
                setattr(self, name, tuple(_move(v, device, non_blocking) for v in value))
        return self

    def _get_field_values(self, fields):
        if len(fields) == 0:
            return None
        if len(fields) == 1:
            return getattr(self, fields[0])
        return tuple(getattr(self, f) for f in fields)

    def __iter__(self):
        yield self._get_field_values(self.input_fields)
        yield self._get_field_values(self.target_fields)

    def __len__(self):
        return self.batch_size

    def __str__(self):
        if not self.__dict__:
            return f"Empty {torch.typename(self)} instance"
        lines = "\n".join(
            f"\t[.{name}]:{_short_str(getattr(self, name))}"
            for name in self.fields
            if name is not None and hasattr(self, name)
        )
        dataset_name = getattr(self.dataset, "name", None)
        source = f" from {dataset_name.upper()}" if isinstance(dataset_name, str) and dataset_name else ""
        return f"\n[{torch.typename(self)} of size {self.batch_size}{source}]\n{lines}"

    def __repr__(self):
        return str(self)

    # ``fields`` is a dict keys view (legacy), which does not pickle; DataLoader workers pickle batches.
    def __getstate__(self):
        state = dict(self.__dict__)
        if "fields" in state:
            state["fields"] = list(state["fields"])
        return state

    def __setstate__(self, state):
        if "fields" in state:
            state["fields"] = dict.fromkeys(state["fields"]).keys()
        self.__dict__.update(state)


def _move(value, device, non_blocking):
    return value.to(device, non_blocking=non_blocking) if isinstance(value, torch.Tensor) else value


def _short_str(value) -> str:
    """Legacy's one-line description of a batch attribute: ``[torch.LongTensor of size 2x3]``."""
    if not torch.is_tensor(value):
        if isinstance(value, tuple):
            return str(tuple(_short_str(v) for v in value))
        return str(value)
    size = "x".join(str(n) for n in value.size())
    device = f" (GPU {value.get_device()})" if value.is_cuda else ""
    return f"[{torch.typename(value)} of size {size}{device}]"


def resolve_device(device) -> torch.device:
    """The ``torch.device`` an iterator's ``device=`` argument names, as legacy torchtext read it.

    Args:
        device: ``None`` (CPU), a string (``"cpu"``, ``"cuda"``, ``"cuda:1"``), a ``torch.device``, or an int;
            an int is the pre-0.4 torchtext form and, as in torchtext 0.8-0.11, means the CPU, with a warning.
    """
    if device is not None and not isinstance(device, (int, str, torch.device)):
        raise ArgumentError(f"device={device!r} is not a device; pass 'cpu', 'cuda', 'cuda:0' or a torch.device")
    if isinstance(device, int):
        log.warning(
            "device=%d: an int device is the old torchtext form and, as in torchtext 0.8-0.11, means the CPU; "
            "pass device='cuda:0' (or a torch.device) to use a GPU",
            device,
        )
        return torch.device("cpu")
    if device is None:
        return torch.device("cpu")
    try:
        return torch.device(device)
    except RuntimeError:
        raise ArgumentError(
            f"device={device!r} is not a device; pass 'cpu', 'cuda', 'cuda:0' or a torch.device"
        ) from None


class Iterator:
    """Iterates a dataset in batches (legacy ``torchtext.data.Iterator``).

    Each epoch (:meth:`init_epoch`) orders the examples (:meth:`data`: sorted by ``sort_key``, shuffled, or as
    they are), cuts them into batches (:meth:`create_batches`) and yields a :class:`Batch` per batch.

    Args:
        dataset: the :class:`~textcls.data.Dataset`.
        batch_size: examples per batch (with ``batch_size_fn``, the size at which a batch is full; may be
            ``None`` with ``max_tokens``).
        sort_key: key to sort examples by (default: ``dataset.sort_key``, else the summed length of the text
            fields — legacy had no such fallback).
        device: device for the tensors: ``None`` (CPU), ``"cuda"``, ``"cuda:1"``, a ``torch.device``; an int
            means the CPU, with a warning, as in torchtext 0.8-0.11.
        batch_size_fn: legacy ``fn(new_example, count, size_so_far) -> size`` for dynamic batch sizes (see
            :func:`textcls.data.batch`).
        train: whether this iterates a training set (sets the ``shuffle`` / ``sort`` defaults).
        repeat: loop over epochs forever (``iterations`` then counts across epochs).
        shuffle: shuffle the examples each epoch (default: ``train``).
        sort: sort the examples by ``sort_key`` (default: ``not train``); takes precedence over ``shuffle``.
        sort_within_batch: order each batch by ``sort_key``, longest first, as
            ``pack_padded_sequence(enforce_sorted=True)`` needs (default: ``sort``). With ``sort`` the batch is
            the reverse of its ascending order, as legacy did.
        max_tokens: also cap batches by padded tokens (``len(batch) × longest sort_key``; textcls extension).
        seed: seed of the shuffling (textcls extension). ``None``, as in legacy, starts from a copy of Python's
            ``random`` state at construction, so ``random.seed(SEED)`` before building iterators reproduces a
            run; building and iterating never change the global state.

    Attributes:
        batches: this epoch's batches, each a list of examples (set by :meth:`create_batches`).
        iterations: batches yielded (reset at each epoch unless ``repeat``).
        random_shuffler: the :class:`~textcls.data.batching.RandomShuffler` all shuffling draws from.
    """

    def __init__(
        self,
        dataset,
        batch_size,
        sort_key=None,
        device=None,
        batch_size_fn=None,
        train: bool = True,
        repeat: bool = False,
        shuffle: bool | None = None,
        sort: bool | None = None,
        sort_within_batch: bool | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
    ):
        self.batch_size, self.train, self.dataset = batch_size, train, dataset
        self.batch_size_fn = batch_size_fn
        self.max_tokens = max_tokens
        self.iterations = 0
        self.repeat = repeat
        self.shuffle = train if shuffle is None else shuffle
        self.sort = (not train) if sort is None else sort
        self.sort_within_batch = self.sort if sort_within_batch is None else sort_within_batch
        self.sort_key = sort_key if sort_key is not None else default_sort_key(dataset)
        self.device = resolve_device(device)
        self.seed = seed
        self.random_shuffler = RandomShuffler(None if seed is None else random.Random(seed).getstate())
        self.batches = None
        self._check_arguments()

        # for state_dict / load_state_dict
        self._iterations_this_epoch = 0
        self._random_state_this_epoch = None
        self._restored_from_state = False

    def _check_arguments(self) -> None:
        if self.batch_size is None and self.max_tokens is None:
            raise ArgumentError("give batch_size (or max_tokens= for a padded-token budget per batch)")
        if self.batch_size is not None and self.batch_size_fn is None and self.batch_size < 1:
            raise ArgumentError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.batch_size_fn is not None and self.max_tokens is not None:
            raise ArgumentError("give batch_size_fn or max_tokens, not both (both decide when a batch is full)")
        if self.sort_key is None and (self.sort or self.sort_within_batch or self.max_tokens is not None):
            raise ArgumentError(
                "this iterator sorts or measures examples but has no sort_key (the dataset has no sort_key and "
                "no text field); pass sort_key=, or sort=False and sort_within_batch=False"
            )

    @classmethod
    def splits(cls, datasets, batch_sizes=None, **kwargs):
        """One iterator per dataset: the first with ``train=True``, the others with ``train=False``.

        So by default the first shuffles and the others are sorted by ``sort_key`` (evaluation); other keyword
        arguments (``shuffle``, ``sort``, ``sort_within_batch``, ...) apply to all of them.

        Args:
            datasets: e.g. ``(train, valid, test)``; the first is the training set.
            batch_sizes: one batch size per dataset (default: ``batch_size`` for all).
            **kwargs: other constructor arguments, e.g. ``batch_size``, ``device``, ``sort_key``.
        """
        if batch_sizes is None:
            if "batch_size" not in kwargs:
                raise ArgumentError("give batch_size= (one for all splits) or batch_sizes= (one per split)")
            batch_sizes = [kwargs.pop("batch_size")] * len(datasets)
        elif "batch_size" in kwargs:
            raise ArgumentError("give batch_size= or batch_sizes=, not both")
        if len(batch_sizes) < len(datasets):
            raise ArgumentError(f"batch_sizes has {len(batch_sizes)} sizes for {len(datasets)} datasets; give one each")
        return tuple(
            cls(dataset, batch_size=batch_sizes[i], train=(i == 0), **kwargs) for i, dataset in enumerate(datasets)
        )

    def data(self) -> list:
        """This epoch's examples in order: sorted by ``sort_key``, shuffled (drawing from ``random_shuffler``),
        or as they are."""
        examples = self.dataset.examples
        return [examples[i] for i in self._ordered_indices(self.random_shuffler)]

    def _ordered_indices(self, shuffler: RandomShuffler, keys: list | None = None) -> list[int]:
        n = len(self.dataset)
        if self.sort:
            keys = keys if keys is not None else self._sort_keys()
            return sorted(range(n), key=keys.__getitem__)
        if self.shuffle:
            return shuffler(range(n))
        return list(range(n))

    def _sort_keys(self) -> list:
        return [self.sort_key(example) for example in self.dataset.examples]

    def _size_fn(self):
        if self.batch_size_fn is None:
            return None
        examples, fn = self.dataset.examples, self.batch_size_fn
        return lambda index, count, size_so_far: fn(examples[index], count, size_so_far)

    def _plan(self, shuffler: RandomShuffler) -> list[list[int]]:
        """This epoch's batches as lists of example indices, drawing any randomness from ``shuffler``."""
        keys = self._sort_keys() if self.max_tokens is not None else None
        return cut_batches(
            self._ordered_indices(shuffler, keys),
            self.batch_size,
            token_counts=keys,
            max_tokens=self.max_tokens,
            size_fn=self._size_fn(),
        )

    def create_batches(self) -> None:
        """Cut this epoch's examples into ``self.batches`` (lists of examples)."""
        examples = self.dataset.examples
        self.batches = [[examples[i] for i in indices] for indices in self._plan(self.random_shuffler)]

    def init_epoch(self) -> None:
        """Set up a new epoch: remember (or, after :meth:`load_state_dict`, restore) the random state, then
        create the batches."""
        if self._restored_from_state:
            self.random_shuffler.random_state = self._random_state_this_epoch
        else:
            self._random_state_this_epoch = self.random_shuffler.random_state
        self.create_batches()
        if self._restored_from_state:
            self._restored_from_state = False
        else:
            self._iterations_this_epoch = 0
        if not self.repeat:
            self.iterations = 0

    @property
    def epoch(self) -> int:
        """Completed epochs as legacy counted them: ``floor(iterations / len(self))``."""
        batches = len(self)
        return math.floor(self.iterations / batches) if batches else 0

    def __len__(self) -> int:
        """Batches per epoch.

        ``ceil(len(dataset) / batch_size)``; with a ``batch_size_fn`` or ``max_tokens`` (where legacy raised
        ``NotImplementedError``), the batches of the current or last epoch, or, before the first, of the
        first epoch (worked out without drawing from ``random_shuffler``).
        """
        if self.batch_size_fn is None and self.max_tokens is None:
            return math.ceil(len(self.dataset) / self.batch_size)
        if isinstance(self.batches, list):
            return len(self.batches)
        return len(self._plan(RandomShuffler(self.random_shuffler.random_state)))

    def __iter__(self):
        while True:
            self.init_epoch()
            for idx, minibatch in enumerate(self.batches):
                if self._iterations_this_epoch > idx:  # fast-forward after load_state_dict
                    continue
                self.iterations += 1
                self._iterations_this_epoch += 1
                if self.sort_within_batch:
                    # pack_padded_sequence wants decreasing lengths: the reverse of the ascending sort
                    if self.sort:
                        minibatch = minibatch[::-1]
                    else:
                        minibatch = sorted(minibatch, key=self.sort_key, reverse=True)
                yield Batch(minibatch, self.dataset, self.device)
            if not self.repeat:
                return

    def state_dict(self) -> dict:
        """Where iteration stands: ``iterations``, ``iterations_this_epoch``, ``random_state_this_epoch``
        (legacy's keys; plain ints and tuples, so ``torch.save`` / ``torch.load(weights_only=True)`` work)."""
        return {
            "iterations": self.iterations,
            "iterations_this_epoch": self._iterations_this_epoch,
            "random_state_this_epoch": self._random_state_this_epoch,
        }

    def load_state_dict(self, state_dict: dict) -> None:
        """Resume from :meth:`state_dict`: the next iteration redraws that epoch and skips the batches already
        yielded.

        Args:
            state_dict: what :meth:`state_dict` returned.
        """
        self.iterations = state_dict["iterations"]
        self._iterations_this_epoch = state_dict["iterations_this_epoch"]
        self._random_state_this_epoch = _as_random_state(state_dict["random_state_this_epoch"])
        self._restored_from_state = True


def _as_random_state(state):
    """A ``random.getstate()`` tuple again after a round trip that turned tuples into lists (JSON)."""
    if state is None:
        return None
    version, internal, gauss_next = state
    return (version, tuple(internal), gauss_next)


class BucketIterator(Iterator):
    """An :class:`Iterator` that batches examples of similar length together, so batches hold little padding.

    How each epoch is batched:

    - ``sort=True`` (the default with ``train=False``): all examples sorted by ``sort_key``, cut in order
      (as legacy).
    - ``shuffle=True, sort=False`` (the default with ``train=True``): bucketed — shuffle, sort pools of 100
      batches' worth of examples by ``sort_key``, cut them, shuffle all batches (see
      :func:`textcls.data.make_batches`). **Deliberately different from legacy**, which sorted the pools only
      with ``sort_within_batch=True`` (otherwise its batches were random) and shuffled the batches within each
      pool rather than across the epoch. Without any sort key (no ``sort_key``, no text field) the batches
      are random, as legacy's were.
    - ``shuffle=False, sort=False``: as legacy — pools taken in dataset order, sorted by ``sort_key`` only if
      ``sort_within_batch``, batches in order.

    Takes the :class:`Iterator` arguments.
    """

    def _plan(self, shuffler: RandomShuffler) -> list[list[int]]:
        if self.sort:
            return super()._plan(shuffler)
        if self.shuffle:
            if self.sort_key is None:
                return super()._plan(shuffler)
            order = "bucket"
        elif self.sort_within_batch:
            order = "pooled"
        else:
            return super()._plan(shuffler)
        return make_batches(
            self._sort_keys(),
            self.batch_size,
            max_tokens=self.max_tokens,
            size_fn=self._size_fn(),
            order=order,
            rng=shuffler.rng,
        )


class BPTTIterator(Iterator):
    """Contiguous streams for language modelling with backpropagation through time (legacy ``BPTTIterator``).

    The dataset holds one example whose ``text`` attribute is the whole corpus (a ``LanguageModelingDataset``
    such as ``WikiText2``). The token stream is padded to a multiple of ``batch_size``, cut into
    ``batch_size`` rows and walked ``bptt_len`` steps at a time; each :class:`Batch` has ``text`` and
    ``target`` (the same stream one step ahead), ``[bptt_len, batch_size]`` or ``[batch_size, bptt_len]``
    with ``batch_first``. ``shuffle`` / ``sort`` do not apply.

    Unlike legacy, the field's ``eos_token`` is left as it is (legacy set it to ``None``, which its
    numericalize ignored anyway), and ``text, target = batch`` works (``target`` is the target field).

    Args:
        dataset: the one-example dataset with a ``text`` field.
        batch_size: number of parallel streams.
        bptt_len: steps per batch.
        **kwargs: other :class:`Iterator` arguments (``device``, ``repeat``, ...).
    """

    def __init__(self, dataset, batch_size, bptt_len, **kwargs):
        if bptt_len < 1:
            raise ArgumentError(f"bptt_len must be at least 1, got {bptt_len}")
        self.bptt_len = bptt_len
        super().__init__(dataset, batch_size, **kwargs)

    def _check_arguments(self) -> None:
        if self.batch_size is None or self.batch_size < 1:
            raise ArgumentError(f"batch_size must be at least 1, got {self.batch_size}")
        if "text" not in self.dataset.fields or len(self.dataset) != 1:
            raise ArgumentError(
                "BPTTIterator needs a dataset of one example with a 'text' field (a LanguageModelingDataset); "
                f"this one has {len(self.dataset)} examples and fields {list(self.dataset.fields)}"
            )

    def __len__(self) -> int:
        return math.ceil((len(self.dataset[0].text) / self.batch_size - 1) / self.bptt_len)

    def _stream(self) -> torch.Tensor:
        """The corpus as ids, ``[steps, batch_size]``: column ``j`` is the ``j``-th contiguous slice."""
        text = self.dataset[0].text
        field = self.dataset.fields["text"]
        padded_length = math.ceil(len(text) / self.batch_size) * self.batch_size
        text = list(text) + [field.pad_token] * (padded_length - len(text))
        ids = field.numericalize([text], device=self.device)
        return ids.view(self.batch_size, -1).t().contiguous()

    def __iter__(self):
        data = self._stream()
        field = self.dataset.fields["text"]
        dataset = Dataset(examples=self.dataset.examples, fields=[("text", field), ("target", field)])
        while True:
            for i in range(0, len(self) * self.bptt_len, self.bptt_len):
                self.iterations += 1
                seq_len = min(self.bptt_len, len(data) - i - 1)
                text, target = data[i : i + seq_len], data[i + 1 : i + 1 + seq_len]
                if field.batch_first:
                    text, target = text.t().contiguous(), target.t().contiguous()
                batch = Batch.fromvars(dataset, self.batch_size, text=text, target=target)
                batch.input_fields, batch.target_fields = ["text"], ["target"]
                yield batch
            if not self.repeat:
                return


class FieldCollator:
    """``collate_fn`` that turns a list of examples into a :class:`Batch` using their fields.

    For ``DataLoader(dataset, batch_sampler=BucketBatchSampler(...), collate_fn=FieldCollator(dataset.fields))``.

    Args:
        fields: ``{name: field}`` (``dataset.fields``).
        sort_within_batch: order each batch by ``sort_key``, longest first (what
            ``pack_padded_sequence(enforce_sorted=True)`` wants).
        sort_key: key for that ordering (default: the summed length of the text fields).
    """

    def __init__(self, fields: dict, sort_within_batch: bool = False, sort_key=None):
        self.fields = dict(fields)
        self.sort_within_batch = sort_within_batch
        self.sort_key = sort_key or text_length_key(self.fields)
        if sort_within_batch and self.sort_key is None:
            raise ArgumentError("sort_within_batch needs a sort_key: the fields have no text field; pass sort_key=")

    def __call__(self, examples) -> Batch:
        examples = list(examples)
        if self.sort_within_batch:
            examples.sort(key=self.sort_key, reverse=True)
        return Batch(examples, fields=self.fields)
