"""The LSTM family of text classifiers (the book's LSTMClassifier and its multi-layer and bidirectional kin).

Embedding → LSTM (packed sequences, so padding never enters the recurrence) → pooling over time → dropout →
Linear. Pooling ``last`` takes the final hidden state of the top layer (both directions' for ``bilstm``:
``hidden[-2]`` ‖ ``hidden[-1]``); ``max`` and ``mean`` pool the top layer's outputs over the real tokens.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from textcls.embeddings.layer import TextEmbedding
from textcls.errors import TextclsError
from textcls.models.registry import register_model
from textcls.registry import signature_of

POOLINGS = ("last", "max", "mean", "max+mean")


class LSTMClassifier(nn.Module):
    """LSTM text classifier.

    Args:
        embedding: the token embedding (given by :func:`~textcls.models.registry.get_model`).
        num_outputs: logits to produce (from the task's head).
        hidden_size: LSTM units per direction.
        num_layers: stacked LSTM layers.
        bidirectional: read the text both ways.
        dropout: dropout before the output layer, and between LSTM layers when ``num_layers > 1``.
        pooling: ``"last"``, ``"max"``, ``"mean"`` or ``"max+mean"`` (both, concatenated).
        packed: use ``pack_padded_sequence`` (``False`` runs the LSTM over the padding too; for comparison).
        mean_embedding: also give the output layer the mean of the embedded tokens (a fastText-like shortcut).
    """

    def __init__(
        self,
        embedding: TextEmbedding,
        num_outputs: int,
        hidden_size: int = 128,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.3,
        pooling: str = "last",
        packed: bool = True,
        mean_embedding: bool = False,
    ):
        super().__init__()
        if pooling not in POOLINGS:
            raise TextclsError(f"unknown pooling {pooling!r}; choose one of {', '.join(POOLINGS)}")
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
        if self.packed:
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
