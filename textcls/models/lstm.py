"""The LSTM family of text classifiers (the book's LSTMClassifier and its multi-layer and bidirectional kin).

Embedding → LSTM (padding never enters a real token's state: ``encoding`` padded, packed or windows) → pooling
over time → dropout → Linear. Pooling ``last`` takes the final hidden state of the top layer (both directions'
for ``bilstm``: ``hidden[-2]`` ‖ ``hidden[-1]``); ``max`` and ``mean`` pool the top layer's outputs over the
real tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from textcls.embeddings.layer import TextEmbedding
from textcls.errors import TextclsError
from textcls.models.long_texts import SPARSE_EMBEDDING, choose_by_length, median_length
from textcls.models.registry import register_model
from textcls.registry import signature_of

POOLINGS = ("last", "max", "mean", "max+mean")
ENCODINGS = ("auto", "packed", "padded", "windows")
WINDOWS_FROM = 1000
"""``encoding: auto`` reads texts in windows when some training text keeps more than this many tokens."""
HIDDEN_SIZES = {"short": 128, "long": 64}
"""``hidden_size: auto``: LSTM units per direction for short texts and for long ones (a median above
:data:`~textcls.models.long_texts.LONG_TEXTS_FROM` tokens)."""


class LSTMClassifier(nn.Module):
    """LSTM text classifier.

    Args:
        embedding: the token embedding (given by :func:`~textcls.models.registry.get_model`).
        num_outputs: logits to produce (from the task's head).
        hidden_size: LSTM units per direction; ``"auto"`` (the configs'): :data:`HIDDEN_SIZES`, chosen from the
            training texts when a run is built (:func:`choose_size`); a model built without data reads it as 128.
        num_layers: stacked LSTM layers.
        bidirectional: read the text both ways.
        dropout: dropout before the output layer, and between LSTM layers when ``num_layers > 1``.
        pooling: ``"last"``, ``"max"``, ``"mean"`` or ``"max+mean"`` (both, concatenated).
        packed: ``False`` runs the LSTM over the padded batch as it is, the padding too (a comparison mode: the
            backward direction then reads the padding first), whatever ``encoding`` says.
        encoding: how the LSTM reads a batch. ``"packed"``: one packed sequence per text (torch's
            ``pack_padded_sequence``; slow on CPU when lengths differ). ``"padded"``: the LSTM runs over the padded
            batch, one direction at a time, the backward direction over each text reversed within its length, so
            padding never reaches a real token's state: the same outputs as ``"packed"`` at the cost of a plain
            padded LSTM. ``"windows"``: texts longer than ``window`` tokens are cut into consecutive windows of
            ``window`` tokens, all windows of the batch are read as one ``"padded"`` batch (each from a fresh
            state) and pooling runs over the windows' outputs as over one sequence (max / mean over every real
            token; ``last``: the forward state at the text's last token, the backward state at its first); a
            batch whose texts all fit in one window is read exactly as ``"padded"``. ``"auto"`` (the configs'
            default): chosen from the training texts when a run is built (:func:`choose_encoding`) and saved in
            its config; a model built without data reads ``"auto"`` as ``"padded"``.
        window: tokens per window with ``encoding="windows"``.
        mean_embedding: also give the output layer the mean of the embedded tokens (a fastText-like shortcut).
    """

    def __init__(
        self,
        embedding: TextEmbedding,
        num_outputs: int,
        hidden_size: int | Literal["auto"] = 128,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.3,
        pooling: str = "last",
        packed: bool = True,
        mean_embedding: bool = False,
        encoding: str = "padded",
        window: int = 128,
    ):
        super().__init__()
        if pooling not in POOLINGS:
            raise TextclsError(f"unknown pooling {pooling!r}; choose one of {', '.join(POOLINGS)}")
        if encoding not in ENCODINGS:
            raise TextclsError(f"unknown encoding {encoding!r}; choose one of {', '.join(ENCODINGS)}")
        if window < 1:
            raise TextclsError(f"window must be at least 1 token, not {window}")
        if encoding == "windows" and not packed:
            raise TextclsError("packed: false (the comparison mode) reads whole texts; it cannot use encoding windows")
        if hidden_size == "auto":
            hidden_size = HIDDEN_SIZES["short"]
        if hidden_size < 1:
            raise TextclsError(f"hidden_size must be at least 1, not {hidden_size}")
        self.encoding = "padded" if encoding == "auto" else encoding
        self.window = window
        self.embedding = embedding
        self.lstm = nn.LSTM(
            self.embedding.dim,
            hidden_size,
            num_layers=num_layers,
            bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0.0,
            batch_first=True,
        )
        self.pooling = pooling
        self.packed = packed
        self.directions = 2 if bidirectional else 1
        self.dropout = nn.Dropout(dropout)
        self.mean_embedding = mean_embedding
        features = hidden_size * self.directions * (2 if pooling == "max+mean" else 1)
        self.output = nn.Linear(features + (self.embedding.dim if mean_embedding else 0), num_outputs)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Args: tokens ``[batch, time]`` ids; lengths ``[batch]`` real lengths. Returns logits."""
        embedded = self.embedding(tokens)
        if self.encoding != "packed" and self.packed:
            if self.encoding == "windows" and tokens.shape[1] > self.window:
                outputs = self._encode_windows(embedded, lengths)
            else:
                outputs = self._encode_padded(embedded, lengths)
            features = self._last_output(outputs, lengths) if self.pooling == "last" else self._pool(outputs, lengths)
        elif self.packed:
            packed = pack_padded_sequence(embedded, lengths.cpu(), batch_first=True, enforce_sorted=False)
            packed_out, (hidden, _) = self.lstm(packed)
            if self.pooling == "last":
                features = self._last_hidden(hidden)
            else:
                outputs, _ = pad_packed_sequence(packed_out, batch_first=True, total_length=tokens.shape[1])
                features = self._pool(outputs, lengths)
        else:
            outputs, (hidden, _) = self.lstm(embedded)
            features = self._last_output(outputs, lengths) if self.pooling == "last" else self._pool(outputs, lengths)
        if self.mean_embedding:
            features = torch.cat([features, self._masked_mean(embedded, lengths)], dim=-1)
        return self.output(self.dropout(features))

    def _encode_padded(self, embedded: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The top layer's outputs ``[batch, time, features]`` of the padded batch, equal to the packed LSTM's at
        every real token: layer by layer, the forward direction runs over the padded batch (padding comes after
        the real tokens, so it never reaches their states) and the backward one over each text reversed within
        its length (its padding stays at the end), its outputs reversed back."""
        lstm = self.lstm
        batch, time, _ = embedded.shape
        steps = torch.arange(time, device=embedded.device).unsqueeze(0)
        lengths = lengths.to(embedded.device).unsqueeze(1)
        reverse = torch.where(steps < lengths, lengths - 1 - steps, steps)  # [batch, time]: its own inverse
        inputs = embedded
        for layer in range(lstm.num_layers):
            outputs = [self._run_direction(inputs, layer, "")]
            if self.directions == 2:
                index = reverse.unsqueeze(-1)
                flipped = inputs.gather(1, index.expand(-1, -1, inputs.shape[2]))
                backward = self._run_direction(flipped, layer, "_reverse")
                outputs.append(backward.gather(1, index.expand(-1, -1, backward.shape[2])))
            inputs = torch.cat(outputs, dim=-1) if len(outputs) > 1 else outputs[0]
            if layer < lstm.num_layers - 1 and lstm.dropout:
                inputs = nn.functional.dropout(inputs, lstm.dropout, self.training)
        return inputs

    def _run_direction(self, inputs: torch.Tensor, layer: int, suffix: str) -> torch.Tensor:
        """One direction of one layer of ``self.lstm`` over the padded batch ``inputs`` (batch first), from zeros."""
        lstm = self.lstm
        weights = [getattr(lstm, f"{name}_l{layer}{suffix}") for name in ("weight_ih", "weight_hh")]
        if lstm.bias:
            weights += [getattr(lstm, f"{name}_l{layer}{suffix}") for name in ("bias_ih", "bias_hh")]
        zeros = inputs.new_zeros(1, inputs.shape[0], lstm.hidden_size)
        outputs, _, _ = torch._VF.lstm(inputs, (zeros, zeros), weights, lstm.bias, 1, 0.0, self.training, False, True)
        return outputs

    def _encode_windows(self, embedded: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The top layer's outputs ``[batch, time', features]`` (``time'`` rounded up to whole windows): each text
        cut into windows of ``self.window`` steps, all non-empty windows of the batch read as one padded batch
        (:meth:`_encode_padded`), and their outputs put back in place (zeros after each text's end)."""
        batch, time, dim = embedded.shape
        window = self.window
        count = -(-time // window)
        if count * window != time:
            embedded = nn.functional.pad(embedded, (0, 0, 0, count * window - time))
        starts = torch.arange(count, device=lengths.device) * window
        window_lengths = (lengths.view(-1, 1) - starts.view(1, -1)).clamp(min=0, max=window).reshape(-1)
        real = (window_lengths > 0).nonzero().squeeze(1)
        pieces = embedded.reshape(batch * count, window, dim).index_select(0, real.to(embedded.device))
        outputs = self._encode_padded(pieces, window_lengths[real])
        placed = outputs.new_zeros(batch * count, window, outputs.shape[2])
        placed = placed.index_copy(0, real.to(outputs.device), outputs)
        return placed.reshape(batch, count * window, outputs.shape[2])

    def _last_hidden(self, hidden: torch.Tensor) -> torch.Tensor:
        if self.directions == 2:
            return torch.cat([hidden[-2], hidden[-1]], dim=-1)
        return hidden[-1]

    def _last_output(self, outputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Padded mode: forward state at the last real token; backward state at the first token."""
        index = (lengths.to(outputs.device) - 1).clamp(min=0).view(-1, 1, 1).expand(-1, 1, outputs.shape[2])
        last = outputs.gather(1, index).squeeze(1)
        if self.directions == 1:
            return last
        half = outputs.shape[2] // 2
        return torch.cat([last[:, :half], outputs[:, 0, half:]], dim=-1)

    def _pool(self, outputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if self.pooling == "mean":
            return self._masked_mean(outputs, lengths)
        steps = torch.arange(outputs.shape[1], device=outputs.device)
        mask = (steps.unsqueeze(0) < lengths.to(outputs.device).unsqueeze(1)).unsqueeze(-1)
        maximum = outputs.masked_fill(~mask, torch.finfo(outputs.dtype).min).max(dim=1).values
        if self.pooling == "max":
            return maximum
        return torch.cat([maximum, self._masked_mean(outputs, lengths)], dim=-1)

    @staticmethod
    def _masked_mean(sequence: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Mean over the first ``lengths`` steps of ``sequence`` ``[batch, time, features]``."""
        lengths = lengths.to(sequence.device)
        steps = torch.arange(sequence.shape[1], device=sequence.device)
        mask = (steps.unsqueeze(0) < lengths.unsqueeze(1)).unsqueeze(-1)
        return (sequence * mask).sum(dim=1) / lengths.clamp(min=1).unsqueeze(1).to(sequence.dtype)


def choose_encoding(lengths: Sequence[int], options: dict) -> tuple[dict, str]:
    """Resolve ``encoding: auto`` from the training texts' lengths (as cut by ``data.max_length``).

    ``"windows"`` when some text keeps more than :data:`WINDOWS_FROM` tokens (a batch's longest text sets its
    padded length, so a long tail is cheaper read in windows), else ``"padded"`` (exact). Other encodings are
    kept as given.

    Args:
        lengths: the training texts' token counts, after the cut.
        options: the run's ``model_options``.

    Returns:
        the options with the chosen ``encoding``, and a header line saying what was chosen and why.
    """
    options = dict(options)
    window = int(options.get("window", 128))
    median, longest = median_length(lengths), max(lengths, default=0)
    spread = f"training texts: median {median:,} tokens, longest {longest:,}"
    if options.get("encoding", "auto") != "auto":
        return options, f"encoding {options['encoding']} (as configured; {spread})"
    if longest > WINDOWS_FROM:
        options["encoding"] = "windows"
        share = sum(1 for length in lengths if length > window) / len(lengths)
        return options, (
            f"encoding windows of {window} tokens (chosen: {spread} > {WINDOWS_FROM:,}; {share:.0%} of them span "
            "several windows)"
        )
    options["encoding"] = "padded"
    return options, f"encoding padded (chosen: {spread} ≤ {WINDOWS_FROM:,}; exact, as packed)"


def choose_size(lengths: Sequence[int], options: dict) -> tuple[dict, str | None]:
    """Resolve ``hidden_size: auto`` and ``sparse_embedding: auto`` from the training texts' lengths
    (:func:`~textcls.models.long_texts.choose_by_length`): for long texts a 64-unit LSTM and sparse embedding
    gradients (``adam`` then updates only the rows a batch uses), which together train 20 Newsgroups about 3×
    faster on CPU; for short texts 128 units and dense gradients (the settings measured on the AG splits).

    Args:
        lengths: the training texts' token counts, after the cut.
        options: the run's ``model_options``.
    """
    choices = {"hidden_size": (HIDDEN_SIZES["short"], HIDDEN_SIZES["long"]), **SPARSE_EMBEDDING}
    return choose_by_length(lengths, options, choices)


def choose_options(lengths: Sequence[int], options: dict) -> tuple[dict, list[str]]:
    """The LSTMs' options settled from the training texts when a run is built (textcls.jobs.train): ``encoding``
    (:func:`choose_encoding`), then ``hidden_size`` and ``sparse_embedding`` (:func:`choose_size`).

    Args:
        lengths: the training texts' token counts, after the cut.
        options: the run's ``model_options``.

    Returns:
        the settled options and the run header's lines on them.
    """
    options, encoding_line = choose_encoding(lengths, options)
    options, size_line = choose_size(lengths, options)
    return options, [encoding_line] + ([size_line] if size_line else [])


def _preset(summary: str, fixed: dict | None = None, **defaults) -> Callable[..., LSTMClassifier]:
    """A builder of :class:`LSTMClassifier` whose signature is the class's, less the ``fixed`` options (set, and
    not settable: a "bilstm" is bidirectional) and with other ``defaults``; the registry checks options against
    it."""
    fixed = fixed or {}
    signature = signature_of(LSTMClassifier)
    parameters = [
        parameter.replace(default=defaults.get(name, parameter.default))
        for name, parameter in signature.parameters.items()
        if name not in fixed
    ]

    def build(embedding: TextEmbedding, num_outputs: int, **options) -> LSTMClassifier:
        return LSTMClassifier(embedding, num_outputs, **{**defaults, **options, **fixed})

    build.__signature__ = signature.replace(parameters=parameters)
    build.__doc__ = summary
    build.choose_options = choose_options  # settles the "auto" options when a run is built (textcls.jobs.train)
    return build


register_model("lstm")(_preset("Single-layer LSTM, last hidden state → dropout → Linear (the book's LSTMClassifier)"))
register_model("multilstm")(
    _preset(
        "Stacked LSTM (num_layers, default 2) with inter-layer dropout; the top layer's hidden state",
        fixed={"bidirectional": False},
        num_layers=2,
    )
)
register_model("bilstm")(
    _preset(
        "Bidirectional LSTM; last forward and backward states concatenated (hidden[-2] ‖ hidden[-1])",
        fixed={"bidirectional": True},
    )
)
