"""``textcls export``: a trained text run as an ONNX or TorchScript model, with what is needed to use it.

The export directory::

    DIR/model.onnx (or DIR/model.ts)   the model: (tokens [B, T] int64, lengths [B] int64) → logits [B, outputs],
                                       batch and length axes dynamic
    DIR/vocab.json                     the text vocabulary (the run's own file format)
    DIR/export.json                    format marker, model name, the text field's settings (tokenizer name,
                                       lower-casing, stop words, init/eos, fix_length...), data.max_length, the
                                       task (kind, labels, threshold) and the shortest length to pad a batch to

All of it is JSON or a model file (no pickle). The directory is built next to its target and renamed into place,
so a failed export leaves nothing. The model is traced from its ``forward(tokens, lengths)`` in evaluation mode;
packed LSTMs export as they are (ONNX's LSTM takes the lengths). A trace keeps the branches it took, so the
example batch is as long as the model needs (the CNN's widest filter pads short batches inside its ``forward``):
``min_time`` in ``export.json`` records that width and :class:`~textcls.onnx_predict.TextPipeline` pads every batch
to it (the text-model contract says padding never changes the logits). Probabilities are computed from the
logits by the predictor (:func:`textcls.onnx_predict.probabilities`), as the task head does.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from torch.nn import functional
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from textcls.errors import TextclsError
from textcls.jobs.rundir import TextRunDir
from textcls.models.bag import BagOfNgrams
from textcls.models.lstm import LSTMClassifier
from textcls.onnx_predict import EXPORT_FILE, EXPORT_FORMAT, MODEL_FILES
from textcls.runs.rundir import write_json

FORMATS = tuple(MODEL_FILES)
EXAMPLE_TIME = 16  # the traced example's length; it must be at least the longest min_time of a model
OPSET = 17


def min_time(model: torch.nn.Module) -> int:
    """The shortest batch length the exported model is traced for: the widest CNN filter, else 2 (a bag's
    bigrams need two steps)."""
    return max([2, *getattr(model, "widths", ())])


def export_run(run_dir, format: str = "onnx", output=None, overwrite: bool = False) -> Path:
    """Export run ``run_dir`` to directory ``output`` (default ``RUN/export-FORMAT``); returns its path.

    Args:
        run_dir: a text run directory written by ``textcls train``.
        format: ``"onnx"`` or ``"torchscript"``.
        output: the export directory to write (must not exist, or be empty, unless ``overwrite``).
        overwrite: replace an existing export directory.

    Raises:
        TextclsError: (one line) an unknown format, an output that exists, a run that cannot be exported.
    """
    if format not in FORMATS:
        raise TextclsError(f"unknown export format {format!r}; choose one of {', '.join(FORMATS)}")
    run = TextRunDir(run_dir)
    config, field, task, _ = run.load_setup()
    target = Path(output) if output else run.path / f"export-{format}"
    if target.exists() and (not target.is_dir() or any(target.iterdir())) and not overwrite:
        raise TextclsError(f"{target} exists and is not empty; give another --output or --overwrite")
    field_config = field.to_config()
    if field_config.get("class") != "Field":
        raise TextclsError(f"only runs with a plain text Field export (this run's is {field_config.get('class')})")
    model = run.load_model(config, field, task).eval()
    widest = min_time(model)
    if widest > EXAMPLE_TIME:
        raise TextclsError(f"the model needs batches of at least {widest} tokens; export supports up to {EXAMPLE_TIME}")
    meta = {
        "format": EXPORT_FORMAT,
        "model_format": format,
        "model": config["model"],
        "model_options": config.get("model_options") or {},
        "field": field_config,
        "max_length": config["data"].get("max_length"),
        "min_time": widest,
        "task": {**task.to_dict(), **_run_thresholds(run, task)},
        "inputs": {"tokens": "int64 [batch, time]", "lengths": "int64 [batch]"},
        "outputs": {"logits": "float32 [batch, outputs]"},
        "run": str(run.path),
    }
    pad = field.vocab.stoi[field.pad_token]
    tokens, lengths = example_batch(len(field.vocab), pad)
    target.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        model_file = building / MODEL_FILES[format]
        try:
            run_exported = (_export_onnx if format == "onnx" else _export_torchscript)(
                model, tokens, lengths, model_file
            )
        except (RuntimeError, TypeError, ValueError, NotImplementedError, torch.jit.Error) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            raise TextclsError(f"model {config['model']!r} cannot be exported to {format}: {first}") from None
        verify(model, run_exported, len(field.vocab), pad, config["model"], format)
        field.vocab.save(building / "vocab.json")
        write_json(building / EXPORT_FILE, meta)
        if target.exists():
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        building.rename(target)
    except OSError as exc:
        raise TextclsError(f"cannot write the export to {target}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return target


def example_batch(
    vocab_size: int, pad: int, lengths: tuple[int, ...] = (EXAMPLE_TIME, EXAMPLE_TIME // 2, 1), seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of random ids padded after ``lengths`` (by default the traced example: three texts, the longest
    :data:`EXAMPLE_TIME`)."""
    generator = torch.Generator().manual_seed(seed)
    tokens = torch.randint(0, max(1, vocab_size), (len(lengths), max(lengths)), generator=generator)
    for row, length in enumerate(lengths):
        tokens[row, length:] = pad
    return tokens, torch.tensor(lengths)


TOLERANCE = 1e-4  # on logits: what the export may differ from the model by on the check batch


def verify(model, run_exported, vocab_size: int, pad: int, name: str, format: str) -> None:
    """Refuse an export whose logits differ from ``model``'s on a batch of another shape than the traced one
    (five texts of 1 to 23 tokens), by more than :data:`TOLERANCE`: a trace that kept a branch of one shape, or an
    operation the exporter got wrong, is an error and not a silent model.

    Args:
        model: the PyTorch model (evaluation mode).
        run_exported: ``(tokens, lengths)`` numpy int64 arrays → the exported model's logits.
        vocab_size: ids to draw from.
        pad: the ``<pad>`` id.
        name: the model's name, for the message.
        format: the export format, for the message.

    Raises:
        TextclsError: the logits differ.
    """
    tokens, lengths = example_batch(vocab_size, pad, (23, 9, 4, 2, 1), seed=1)
    with torch.no_grad():
        expected = model(tokens, lengths).float().numpy()
    got = run_exported(tokens.numpy(), lengths.numpy())
    difference = float(abs(got - expected).max()) if got.shape == expected.shape else float("inf")
    if not difference <= TOLERANCE:
        raise TextclsError(
            f"the {format} export of model {name!r} gives other logits than the model (by {difference:.3g} on a "
            "check batch of other lengths than the traced one); not exported"
        )


class _PaddedBag(torch.nn.Module):
    """``bag`` for ONNX, whose exporter has no ``EmbeddingBag`` with ``padding_idx``: the same mean of the word
    and bigram vectors, written as a lookup and a masked mean over the ids that are not ``padding_idx`` (an
    all-padding bag is the zero vector, as ``EmbeddingBag`` makes it); the parity tests hold it to 1e-5."""

    def __init__(self, bag: BagOfNgrams):
        super().__init__()
        self.bag = bag

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        ids = self.bag.bag_ids(tokens, lengths)
        vectors = functional.embedding(ids, self.bag.embedding.weight)
        keep = (ids != self.bag.padding_idx).unsqueeze(-1).to(vectors.dtype)
        pooled = (vectors * keep).sum(dim=1) / keep.sum(dim=1).clamp(min=1.0)
        return self.bag.output(self.bag.dropout(pooled))


class _PackedLastFromOutputs(torch.nn.Module):
    """A packed LSTM with ``pooling: last`` for ONNX, whose exporter fails on the final hidden state of a packed
    LSTM whose outputs go unused: the same features read from the outputs instead — the forward direction's
    output at each text's last real token and the backward direction's at its first, which are the top layer's
    final states (``LSTMClassifier._last_output``); the parity tests hold it to 1e-5."""

    def __init__(self, lstm: LSTMClassifier):
        super().__init__()
        self.model = lstm

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        model = self.model
        embedded = model.embedding(tokens)
        packed = pack_padded_sequence(embedded, lengths.cpu(), batch_first=True, enforce_sorted=False)
        packed_out, _ = model.lstm(packed)
        outputs, _ = pad_packed_sequence(packed_out, batch_first=True, total_length=tokens.shape[1])
        features = model._last_output(outputs, lengths)
        if model.mean_embedding:
            features = torch.cat([features, model._masked_mean(embedded, lengths)], dim=-1)
        return model.output(model.dropout(features))


def onnx_module(model: torch.nn.Module) -> torch.nn.Module:
    """The module that is exported to ONNX for ``model``: the model itself, or for ``bag`` and packed LSTMs with
    ``pooling: last`` the equivalent written with operations the ONNX exporter has (see the classes above)."""
    if isinstance(model, BagOfNgrams):
        return _PaddedBag(model).eval()
    if isinstance(model, LSTMClassifier) and model.packed and model.pooling == "last":
        return _PackedLastFromOutputs(model).eval()
    return model


def _export_onnx(model, tokens, lengths, path: Path) -> Callable:
    """Write ``path``; returns a function running it on onnxruntime."""
    model = onnx_module(model)
    try:
        import onnx  # noqa: F401  (the exporter needs it)
        import onnxruntime  # noqa: F401  (the export is checked with it)
    except ImportError:
        raise TextclsError("ONNX export needs onnx and onnxruntime: pip install 'textcls[export]'") from None
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporter's notes on tracing packed sequences and its deprecation
        torch.onnx.export(
            model, (tokens, lengths), str(path), input_names=["tokens", "lengths"], output_names=["logits"],
            dynamic_axes={"tokens": {0: "batch", 1: "time"}, "lengths": {0: "batch"}, "logits": {0: "batch"}},
            opset_version=OPSET, dynamo=False,
        )  # fmt: skip
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda tokens, lengths: session.run(None, {"tokens": tokens, "lengths": lengths})[0]


def _export_torchscript(model, tokens, lengths, path: Path) -> Callable:
    """Write ``path`` (a trace); returns a function running the saved file."""
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # TracerWarnings: the lengths' .cpu() and the CNN's length check
        traced = torch.jit.trace(model, (tokens, lengths), check_trace=False)
        torch.jit.save(traced, str(path))
        loaded = torch.jit.load(str(path), map_location="cpu").eval()

    def run(tokens, lengths):
        with torch.no_grad():
            return loaded(torch.from_numpy(tokens), torch.from_numpy(lengths)).float().numpy()

    return run


def _run_thresholds(run, task) -> dict:
    """A multi-label run's per-label decision thresholds (tuned on its validation split, else the task's), so that
    an export predicts the run's labels: ``{"thresholds": [...]}``, or nothing for single-label runs."""
    if task.kind != "multilabel":
        return {}
    from textcls.jobs.predict import resolve_thresholds

    return {"thresholds": [float(t) for t in resolve_thresholds(run, task, None)]}
