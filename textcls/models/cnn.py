"""``cnn``: Kim's (2014) convolutional text classifier — filters of widths 3/4/5 over the embedded tokens, ReLU,
max-over-time pooling over each text's real tokens, dropout, Linear.

No recurrence, so it costs the same per token at any length and trains far faster than the LSTMs on CPU. The
embedding modes are Kim's: ``non-static`` fine-tunes the shared embedding (its freeze schedule, e.g.
``freeze_epochs``, still applies), ``static`` keeps it fixed for the whole training (as ``freeze_embeddings: true``
does), and ``multichannel`` adds a frozen copy of the starting vectors as a second channel next to the fine-tuned
shared embedding; each filter is applied to both channels and the results are added (Kim's rule, computed as one
convolution over the sum of the two channels, which is the same by linearity; the bias counts once).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional

from textcls.embeddings.layer import TextEmbedding
from textcls.errors import TextclsError
from textcls.models.long_texts import SPARSE_EMBEDDING, choose_by_length
from textcls.models.registry import register_model

MODES = ("non-static", "static", "multichannel")


@register_model("cnn")
class KimCNN(nn.Module):
    """Kim (2014) CNN: filters of widths 3/4/5, max-over-time pooling, dropout (static/non-static/multichannel)

    Texts shorter than the widest filter (an empty text included) are padded with zero vectors up to its width
    inside the model, so every text has at least one window per filter; windows that would start after a text's
    last real token (or its zero padding up to that width) are left out of the max, so the logits of a text never
    depend on the batch's padding.

    Args:
        embedding: the token embedding (given by :func:`~textcls.models.registry.get_model`).
        num_outputs: logits to produce (from the task's head).
        filter_sizes: filter widths in tokens, comma-separated (``"3,4,5"``).
        num_filters: filters per width (feature maps).
        dropout: dropout on the pooled features, before the output layer.
        mode: ``"non-static"`` (fine-tune the vectors), ``"static"`` (keep them fixed: sets the embedding's
            ``freeze_embeddings``) or ``"multichannel"`` (a fixed copy of the starting vectors plus the fine-tuned
            ones).
    """

    def __init__(
        self,
        embedding: TextEmbedding,
        num_outputs: int,
        filter_sizes: str = "3,4,5",
        num_filters: int = 100,
        dropout: float = 0.5,
        mode: str = "non-static",
    ):
        super().__init__()
        if mode not in MODES:
            raise TextclsError(f"unknown cnn mode {mode!r}; choose one of {', '.join(MODES)}")
        widths = _widths(filter_sizes)
        if num_filters < 1:
            raise TextclsError(f"cnn num_filters must be at least 1, got {num_filters}")
        self.embedding = embedding
        self.mode = mode
        self.widths = widths
        if mode == "static":
            embedding.always_frozen = True  # what freeze_embeddings: true sets; the freeze schedule keeps it
            embedding.set_frozen(True)
        if mode == "multichannel":
            # The static channel: the trainable rows' starting vectors. Rows the embedding already keeps fixed
            # (``fix_rows_from``) are the same in both channels and are read from the embedding's buffer.
            self.register_buffer("static_rows", embedding.embedding.weight.detach().clone())
        self.convolutions = nn.ModuleList(nn.Conv1d(embedding.dim, num_filters, width) for width in widths)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(num_filters * len(widths), num_outputs)

    @staticmethod
    def choose_options(lengths, options: dict) -> tuple[dict, list[str]]:
        """``sparse_embedding: auto`` settled from the training lengths when a run is built (textcls.jobs.train):
        sparse embedding gradients for long texts (:mod:`textcls.models.long_texts`)."""
        options, line = choose_by_length(lengths, options, SPARSE_EMBEDDING)
        return options, [line] if line else []

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Args: tokens ``[batch, time]`` ids; lengths ``[batch]`` real lengths. Returns logits."""
        lengths = lengths.to(tokens.device)
        widest = max(self.widths)
        if tokens.shape[1] < widest:
            pad = self.embedding.embedding.padding_idx or 0
            tokens = functional.pad(tokens, (0, widest - tokens.shape[1]), value=pad)
        embedded = self.embedding(tokens)
        if self.mode == "multichannel":
            embedded = embedded + self.embedding.dropout(self._static(tokens))
        steps = torch.arange(tokens.shape[1], device=tokens.device)
        real = steps.unsqueeze(0) < lengths.unsqueeze(1)
        embedded = (embedded * real.unsqueeze(-1)).transpose(1, 2)  # [batch, dim, time], zeros after the text
        pooled = []
        for width, convolution in zip(self.widths, self.convolutions):
            features = torch.relu(convolution(embedded))  # [batch, filters, time - width + 1]
            windows = (lengths - width + 1).clamp(min=1)  # a short text: one window over it and zeros
            valid = steps[: features.shape[2]].unsqueeze(0) < windows.unsqueeze(1)
            pooled.append(features.masked_fill(~valid.unsqueeze(1), 0.0).max(dim=2).values)  # ReLU ≥ 0: exact
        return self.output(self.dropout(torch.cat(pooled, dim=1)))

    def _static(self, tokens: torch.Tensor) -> torch.Tensor:
        """The static channel's vectors for ``tokens``."""
        fixed_rows = getattr(self.embedding, "fixed_rows", None)
        if fixed_rows is None:
            return functional.embedding(tokens, self.static_rows)
        first_fixed = self.static_rows.shape[0]
        is_fixed = (tokens >= first_fixed).unsqueeze(-1)
        static = functional.embedding(tokens.clamp(max=first_fixed - 1), self.static_rows)
        return torch.where(is_fixed, functional.embedding((tokens - first_fixed).clamp(min=0), fixed_rows), static)


def _widths(filter_sizes: str) -> tuple[int, ...]:
    try:
        parts = filter_sizes if isinstance(filter_sizes, (list, tuple)) else str(filter_sizes).split(",")
        widths = tuple(int(part) for part in parts if str(part).strip())
    except ValueError:
        widths = ()
    if not widths or min(widths) < 1:
        raise TextclsError(f"cnn filter_sizes={filter_sizes!r}: give positive widths separated by commas, e.g. 3,4,5")
    return widths
