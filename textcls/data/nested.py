"""``NestedField``: a word-level field whose every word is itself a sequence (characters), as legacy torchtext's.

The nested field tokenizes a text into words; its *nesting field* turns each word into tokens (characters), pads
them and shares one vocabulary with it. A batch becomes a ``[batch, words, chars]`` tensor, e.g. for character
embeddings.
"""

from __future__ import annotations

import torch

from textcls.data.fields import Field, _dtype_from_name, _pad_rows
from textcls.errors import ArgumentError

# The Field constructor arguments a NestedField takes (and so saves in to_config); the others follow the nesting
# field (lower, unk_token, pad_token) or are fixed (sequential, batch_first).
_OWN_ARGUMENTS = (
    "use_vocab",
    "init_token",
    "eos_token",
    "fix_length",
    "dtype",
    "tokenize",
    "tokenizer_language",
    "include_lengths",
    "pad_token",
    "pad_first",
    "truncate_first",
)


class NestedField(Field):
    """A field of words whose tokens are processed by another field (legacy ``data.NestedField``).

    Each word of a text is preprocessed, padded and numericalized by ``nesting_field``; the two fields share one
    vocabulary (built from the nesting field's tokens plus this field's specials) and the batch tensor is
    ``[batch, words, chars]``. A nested field is always sequential and batch-first; it takes ``lower`` and
    ``unk_token`` from the nesting field, and its ``pad_token`` too when the nesting field is sequential.

    Args:
        nesting_field: the :class:`Field` applied to each word (not a NestedField, no ``include_lengths``);
            it is switched to ``batch_first=True``.
        use_vocab: whether values go through a vocabulary.
        init_token: a word prepended to every text (``None``: none); it is padded like a one-character word.
        eos_token: a word appended to every text (``None``: none).
        fix_length: pad or cut every text to this many words, init/eos included (``None``: longest in batch).
        dtype: dtype of the lengths tensors (the ids tensor has the nesting field's dtype).
        preprocessing: callable applied to the list of words before the nesting field sees each word.
        postprocessing: callable ``(batch_ids, vocab)`` applied to the nested id lists before the tensor.
        tokenize: splits a text into words: a tokenizer name, a callable, or ``None`` (whitespace).
        tokenizer_language: language for the spacy and nltk tokenizers.
        include_lengths: make ``pad``/``process`` also return the text lengths (in words) and the word lengths
            (in characters, 0 for padding words).
        pad_token: padding token used when the nesting field is not sequential.
        pad_first: pad texts on the left (words are padded as the nesting field says).
        truncate_first: with ``fix_length``, cut words from the start of the text.

    Raises:
        ArgumentError: when ``nesting_field`` is not a Field, is a NestedField or has ``include_lengths=True``.
    """

    def __init__(
        self,
        nesting_field: Field,
        use_vocab: bool = True,
        init_token: str | None = None,
        eos_token: str | None = None,
        fix_length: int | None = None,
        dtype: torch.dtype = torch.long,
        preprocessing=None,
        postprocessing=None,
        tokenize=None,
        tokenizer_language: str = "en",
        include_lengths: bool = False,
        pad_token: str | None = "<pad>",
        pad_first: bool = False,
        truncate_first: bool = False,
    ):
        if isinstance(nesting_field, NestedField):
            raise ArgumentError("nesting field must not be another NestedField; nest a plain Field (characters)")
        if not isinstance(nesting_field, Field):
            raise ArgumentError(
                f"nesting field must be a Field, not {type(nesting_field).__name__}; e.g. Field(tokenize=list)"
            )
        if nesting_field.include_lengths:
            raise ArgumentError(
                "nesting field cannot have include_lengths=True; set include_lengths on the NestedField instead"
            )
        if nesting_field.sequential:
            pad_token = nesting_field.pad_token
        super().__init__(
            use_vocab=use_vocab,
            init_token=init_token,
            eos_token=eos_token,
            fix_length=fix_length,
            dtype=dtype,
            preprocessing=preprocessing,
            postprocessing=postprocessing,
            lower=nesting_field.lower,
            tokenize=tokenize,
            tokenizer_language=tokenizer_language,
            batch_first=True,
            pad_token=pad_token,
            unk_token=nesting_field.unk_token,
            pad_first=pad_first,
            truncate_first=truncate_first,
            include_lengths=include_lengths,
        )
        self.nesting_field = nesting_field
        self.nesting_field.batch_first = True  # the per-text tensors are stacked as [words, chars]

    def preprocess(self, xs):
        """Split a text into words (tokenize, lower, ``preprocessing``), then preprocess each word with the
        nesting field.

        Args:
            xs: a string, or a list of words.

        Returns:
            The list of preprocessed words (each a list of characters when the nesting field is sequential).
        """
        return [self.nesting_field.preprocess(x) for x in super().preprocess(xs)]

    def pad(self, minibatch):
        """Pad a batch of texts to one number of words and every word to one number of characters.

        Words are padded by the nesting field (to its ``fix_length``, or to the longest word in the batch plus its
        init/eos tokens); texts are then padded with words made only of the nesting field's ``pad_token``. The
        init/eos words of this field are padded like one-character words. With a non-sequential nesting field,
        each text is a list of tokens and is padded as by a plain sequential :class:`Field`.

        Args:
            minibatch: the preprocessed texts of a batch (lists of words).

        Returns:
            The padded texts, or ``(padded, text_lengths, word_lengths)`` when ``include_lengths`` is set (with a
            non-sequential nesting field: ``(padded, text_lengths)``, as :meth:`Field.pad`).
        """
        minibatch = list(minibatch)
        if not self.nesting_field.sequential:
            return super().pad(minibatch)
        inner = self.nesting_field
        inner_head = [] if inner.init_token is None else [inner.init_token]
        inner_tail = [] if inner.eos_token is None else [inner.eos_token]
        if inner.fix_length is None:
            word_width = max((len(word) for text in minibatch for word in text), default=0)
            word_width += len(inner_head) + len(inner_tail)
        else:
            word_width = inner.fix_length
        pad_word = [inner.pad_token] * word_width

        if self.fix_length is None:
            max_words = max(len(text) for text in minibatch)
        else:
            max_words = self.fix_length + (self.init_token, self.eos_token).count(None) - 2
        head = [] if self.init_token is None else [[self.init_token]]
        tail = [] if self.eos_token is None else [[self.eos_token]]
        texts, text_lengths = _pad_rows(minibatch, max_words, head, tail, pad_word, self.pad_first, self.truncate_first)

        max_chars = word_width - len(inner_head) - len(inner_tail)
        padded, word_lengths = [], []
        for text, text_length in zip(texts, text_lengths):
            words, lengths = _pad_rows(
                text, max_chars, inner_head, inner_tail, inner.pad_token, inner.pad_first, inner.truncate_first
            )
            # the padding words came out of the nesting field wrapped in its init/eos: make them pure padding
            n_pad = len(text) - text_length
            pad_slots = range(n_pad) if self.pad_first else range(len(text) - n_pad, len(text))
            for slot in pad_slots:
                words[slot] = list(pad_word)
                lengths[slot] = 0
            padded.append(words)
            word_lengths.append(lengths)
        if self.include_lengths:
            return padded, text_lengths, word_lengths
        return padded

    def build_vocab(self, *args, **kwargs):
        """Build the nesting field's vocabulary from the words of ``args`` and share it, with this field's
        specials (init/eos words) added, between both fields.

        Args:
            *args: :class:`~textcls.data.Dataset` objects (every column read by this field) or iterables of
                preprocessed texts.
            **kwargs: passed to the nesting field's :meth:`Field.build_vocab` (``min_freq``, ``max_size``,
                ``specials``, ...); ``vectors``, ``unk_init`` and ``vectors_cache`` are loaded into the shared
                vocabulary at the end.

        Returns:
            The shared vocabulary (``self.vocab is self.nesting_field.vocab``).
        """
        vectors = kwargs.pop("vectors", None)
        unk_init = kwargs.pop("unk_init", None)
        vectors_cache = kwargs.pop("vectors_cache", None)
        words = [word for source in self._vocab_sources(args) for text in source for word in text]
        self.nesting_field.build_vocab(words, **kwargs)
        super().build_vocab()  # an empty vocabulary holding this field's specials, in legacy order
        self.vocab.extend(self.nesting_field.vocab)
        self.vocab.freqs = self.nesting_field.vocab.freqs.copy()
        if vectors is not None:
            self.vocab.load_vectors(vectors, unk_init=unk_init, cache=vectors_cache)
        self.nesting_field.vocab = self.vocab
        return self.vocab

    def numericalize(self, arrs, device=None):
        """Numericalize each padded text with the nesting field and stack them into ``[batch, words, chars]``.

        Args:
            arrs: the padded texts, or ``(padded, text_lengths, word_lengths)`` when ``include_lengths`` is set.
            device: target device (``None``: CPU).

        Returns:
            The ids tensor, or ``(ids, text_lengths, word_lengths)`` tensors when ``include_lengths`` is set.

        Raises:
            ArgumentError: when ``include_lengths`` is set and ``arrs`` is not the tuple :meth:`pad` returns.
        """
        lengths = ()
        if self.include_lengths:
            expected = 3 if self.nesting_field.sequential else 2
            if not isinstance(arrs, tuple) or len(arrs) != expected:
                raise ArgumentError(
                    f"NestedField has include_lengths=True, so numericalize needs the {expected}-tuple pad returns"
                )
            arrs, *lengths = arrs
        if hasattr(self, "vocab"):
            self.nesting_field.vocab = self.vocab  # e.g. a vocabulary loaded after from_config
        texts = [self.nesting_field._to_tensor(arr, device=device) for arr in arrs]
        padded_batch = torch.stack(texts)
        if self.postprocessing is not None:
            vocab = self.vocab if self.use_vocab else None
            ids = self.postprocessing(padded_batch.tolist(), vocab)
            padded_batch = torch.tensor(ids, dtype=padded_batch.dtype, device=padded_batch.device)
        if self.include_lengths:
            return (padded_batch, *(torch.tensor(x, dtype=self.dtype, device=device) for x in lengths))
        return padded_batch

    # --- persistence ---------------------------------------------------------------------------------
    def to_config(self) -> dict:
        """JSON-able settings of this field and of its nesting field (the shared vocabulary is saved separately).

        Raises:
            TextclsError: when a tokenizer or pre/post-processing of either field is an arbitrary callable.
        """
        config = super().to_config()
        return {
            "class": config["class"],
            "nesting_field": self.nesting_field.to_config(),
            **{name: config[name] for name in _OWN_ARGUMENTS},
        }

    @classmethod
    def _from_config(cls, config: dict) -> NestedField:
        config["dtype"] = _dtype_from_name(config["dtype"])
        return cls(Field.from_config(config.pop("nesting_field")), **config)
