"""Predicting from an exported model (``textcls export``) without torch: :class:`ExportPredictor`.

An export directory holds the model (``model.onnx``, or ``model.ts`` for TorchScript), ``vocab.json`` and
``export.json`` (the text field's settings, the run's ``data.max_length``, the task and its labels: plain JSON,
nothing executed). :class:`TextPipeline` reproduces the run's text field from those settings — tokenize (a named
tokenizer of :mod:`textcls.tokenizers`), lower-case, drop stop words, cut to ``fix_length`` / ``max_length``, add
``init_token`` / ``eos_token``, look the tokens up (unknown → ``unk_token``), an empty text as one unknown token,
pad — with numpy, so an ONNX export runs through onnxruntime and this module's process never imports torch
(spaCy's ``thinc`` would import it when it is installed: it is kept from doing so while the tokenizer loads).
A TorchScript export runs through ``torch.jit.load`` (that one needs torch).
"""

from __future__ import annotations

import importlib.abc
import json
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from textcls.errors import TextclsError
from textcls.threads import default_threads
from textcls.tokenizers import get_tokenizer
from textcls.vocab import Vocab

EXPORT_FORMAT = "textcls.export/1"
EXPORT_FILE = "export.json"
MODEL_FILES = {"onnx": "model.onnx", "torchscript": "model.ts"}


def is_export_dir(path) -> bool:
    """Whether ``path`` is a directory written by ``textcls export`` (it holds ``export.json``)."""
    return (Path(path) / EXPORT_FILE).is_file()


def read_export(path) -> dict:
    """The checked ``export.json`` of export directory ``path`` (one line naming what is wrong)."""
    path = Path(path)
    file = path / EXPORT_FILE
    if not path.is_dir():
        raise TextclsError(f"export directory not found: {path}")
    try:
        meta = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TextclsError(
            f"{path} is not a textcls export (no {EXPORT_FILE}); write one with textcls export RUN"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TextclsError(f"{file} is damaged (not JSON: {exc}); export the run again") from None
    if not isinstance(meta, dict) or meta.get("format") != EXPORT_FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise TextclsError(f"{file} has format {found!r}, not {EXPORT_FORMAT!r}; export the run again")
    for key in ("model_format", "field", "task", "max_length", "min_time"):
        if key not in meta:
            raise TextclsError(f"{file} is damaged: {key!r} is missing; export the run again")
    if meta["model_format"] not in MODEL_FILES:
        raise TextclsError(f"{file}: unknown model_format {meta['model_format']!r}; export the run again")
    return meta


class _BlockTorch(importlib.abc.MetaPathFinder):
    """Makes ``import torch`` fail (so libraries that use torch only when it is there, like thinc, go without)."""

    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError(f"{name} is not imported by textcls's torch-free predictor")
        return None


@contextmanager
def _without_torch():
    """While the block runs, ``import torch`` fails, unless torch is already imported."""
    if "torch" in sys.modules:
        yield
        return
    blocker = _BlockTorch()
    sys.meta_path.insert(0, blocker)
    try:
        yield
    finally:
        sys.meta_path.remove(blocker)


class TextPipeline:
    """The run's text field without torch: raw texts → padded ids ``[B, T]`` and lengths ``[B]`` (int64).

    Args:
        field: the field settings (what :meth:`textcls.data.Field.to_config` wrote).
        vocab: the text vocabulary.
        max_length: the run's ``data.max_length`` (``None``: no cut).
        min_time: pad every batch to at least this many steps (the width an exported model was traced for).

    Raises:
        TextclsError: a field this pipeline cannot reproduce (not a plain ``Field``, or without a vocabulary).
    """

    def __init__(self, field: dict, vocab: Vocab, max_length: int | None = None, min_time: int = 1):
        if field.get("class", "Field") != "Field" or not field.get("sequential", True) or not field.get("use_vocab"):
            raise TextclsError(f"the export's text field ({field.get('class')}) is not a plain sequential Field")
        with _without_torch():
            self.tokenize = get_tokenizer(field.get("tokenize"), field.get("tokenizer_language", "en"))
            self.tokenize("warm up")  # load the tokenizer now (spaCy), while torch is kept out
        self.lower = bool(field.get("lower"))
        stop_words = field.get("stop_words")
        self.stop_words = None if stop_words is None else set(stop_words)
        self.init_token, self.eos_token = field.get("init_token"), field.get("eos_token")
        self.fix_length = field.get("fix_length")
        self.truncate_first, self.pad_first = bool(field.get("truncate_first")), bool(field.get("pad_first"))
        self.pad_token, self.unk_token = field.get("pad_token", "<pad>"), field.get("unk_token", "<unk>")
        self.vocab = vocab
        self.max_length = max_length
        self.min_time = max(1, int(min_time))
        self.pad_index = vocab.stoi[self.pad_token]

    def tokens(self, text: str) -> list[str]:
        """The field's ``preprocess``: tokenize, lower-case, drop stop words."""
        tokens = self.tokenize(text.rstrip("\n"))
        if self.lower:
            tokens = [token.lower() for token in tokens]
        if self.stop_words is not None:
            tokens = [token for token in tokens if token not in self.stop_words]
        return tokens

    def ids(self, text: str) -> list[int]:
        """The ids the run's model sees for ``text`` (the field's ``ids_batch`` and the empty-text stand-in)."""
        tokens = self.tokens(text) or [self.unk_token or self.pad_token]  # as Predictor makes an empty text
        limits = [limit for limit in (self.max_length, self._fixed_body()) if limit is not None]
        if limits:
            limit = min(limits)
            tokens = tokens[len(tokens) - limit :] if self.truncate_first and len(tokens) > limit else tokens[:limit]
        tokens = ([self.init_token] if self.init_token else []) + tokens + ([self.eos_token] if self.eos_token else [])
        lookup = self.vocab.stoi
        try:
            return [lookup[token] for token in tokens]
        except KeyError as exc:
            raise TextclsError(
                f"value {exc.args[0]!r} is not in the vocabulary, and the field has no unk_token"
            ) from None

    def _fixed_body(self) -> int | None:
        if self.fix_length is None:
            return None
        return self.fix_length + (self.init_token, self.eos_token).count(None) - 2

    def pad(self, rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Id lists → ``(tokens [B, T], lengths [B])`` int64, padded as the field pads (at least ``min_time``)."""
        lengths = np.array([len(row) for row in rows], dtype=np.int64)
        width = max(int(lengths.max(initial=0)), self.fix_length or 0, self.min_time)
        out = np.full((len(rows), width), self.pad_index, dtype=np.int64)
        for line, row in zip(out, rows):
            if row:
                if self.pad_first:
                    line[width - len(row) :] = row
                else:
                    line[: len(row)] = row
        return out, lengths


def probabilities(logits: np.ndarray, kind: str) -> np.ndarray:
    """Per-class probabilities ``[B, classes]`` from logits, as :meth:`textcls.training.task.Task.probabilities`
    computes them (binary: ``[1 - p, p]``)."""
    logits = np.asarray(logits, dtype=np.float64)
    if kind == "multiclass":
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        return (shifted / shifted.sum(axis=1, keepdims=True)).astype(np.float32)
    p = 1.0 / (1.0 + np.exp(-logits))
    if kind == "binary":
        p = p.reshape(-1)
        return np.stack([1.0 - p, p], axis=1).astype(np.float32)
    return p.astype(np.float32)


def top_labels(row: np.ndarray, labels: list, kind: str, threshold, k: int) -> list[tuple[str, float]]:
    """One text's labels with probabilities, most likely first: the ``k`` most likely (``k < 1``: all), or for
    multi-label every label at or above its threshold (at least the most likely one), as ``Predictor`` does.

    Args:
        row: the text's probabilities.
        labels: label names by index.
        kind: the task kind.
        threshold: the multi-label threshold: one for every label, or one per label.
        k: labels per text (multi-label: at most, before the thresholds).
    """
    order = np.argsort(-row, kind="stable").tolist()
    if kind == "multilabel":
        limits = np.broadcast_to(np.asarray(threshold, dtype=np.float64), row.shape)
        order = order if k < 1 else order[:k]
        chosen = [i for i in order if row[i] >= limits[i]] or order[:1]
    else:
        chosen = order if k < 1 else order[:k]
    return [(str(labels[i]), float(row[i])) for i in chosen]


class ExportPredictor:
    """A classifier loaded from an export directory; an ONNX export runs on onnxruntime without torch.

    Args:
        path: the export directory (``textcls export RUN``).
        threads: intra-op threads for onnxruntime / torch (``None``: :func:`textcls.threads.default_threads`).
        batch_size: texts per model call (texts are sorted by length first, to pad little).
    """

    def __init__(self, path, threads: int | None = None, batch_size: int = 256):
        self.path = Path(path)
        self.meta = read_export(self.path)
        self.format = self.meta["model_format"]
        try:
            vocab = Vocab.load(self.path / "vocab.json")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise TextclsError(
                f"{self.path / 'vocab.json'} is missing or damaged ({exc}); export the run again"
            ) from None
        self.pipeline = TextPipeline(self.meta["field"], vocab, self.meta["max_length"], self.meta["min_time"])
        task = self.meta["task"]
        self.kind, self.labels = task["kind"], list(task["labels"])
        self.threshold = task.get("thresholds") or float(task.get("threshold", 0.5))  # per label, or for all
        self.batch_size = batch_size
        self.threads = threads or default_threads()
        model_file = self.path / MODEL_FILES[self.format]
        if not model_file.is_file():
            raise TextclsError(f"{self.path} is incomplete: {model_file.name} is missing; export the run again")
        self._run = self._onnx(model_file) if self.format == "onnx" else self._torchscript(model_file)

    def _onnx(self, model_file: Path):
        try:
            import onnxruntime
        except ImportError:
            raise TextclsError(
                "predicting from an ONNX export needs onnxruntime: pip install 'textcls[export]'"
            ) from None
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # warnings about unused initializers are not the user's business
        session = onnxruntime.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
        return lambda tokens, lengths: session.run(None, {"tokens": tokens, "lengths": lengths})[0]

    def _torchscript(self, model_file: Path):
        import warnings

        import torch

        torch.set_num_threads(self.threads)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load's deprecation note
            module = torch.jit.load(str(model_file), map_location="cpu").eval()

        def run(tokens, lengths):
            with torch.inference_mode():
                return module(torch.from_numpy(tokens), torch.from_numpy(lengths)).float().numpy()

        return run

    def logits(self, texts: list[str]) -> np.ndarray:
        """The model's logits ``[len(texts), outputs]`` for raw ``texts`` (in their order)."""
        rows = [self.pipeline.ids(text) for text in texts]
        order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
        out = None
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            tokens, lengths = self.pipeline.pad([rows[i] for i in chunk])
            logits = np.asarray(self._run(tokens, lengths), dtype=np.float32)
            if out is None:
                out = np.empty((len(rows), logits.shape[1]), dtype=np.float32)
            out[chunk] = logits
        return out if out is not None else np.empty((0, 0), dtype=np.float32)

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Per-class probabilities ``[len(texts), len(labels)]``, columns in :attr:`labels` order."""
        texts = list(texts)
        if not texts:
            return np.empty((0, len(self.labels)), dtype=np.float32)
        return probabilities(self.logits(texts), self.kind)

    def predict(self, texts: list[str], top_k: int = 3) -> list[list[tuple[str, float]]]:
        """For each text, its ``top_k`` labels with probabilities (as :meth:`textcls.jobs.predict.Predictor.predict`).

        Args:
            texts: raw texts.
            top_k: labels per text (single-label tasks; ``< 1``: all).
        """
        return [top_labels(row, self.labels, self.kind, self.threshold, top_k) for row in self.predict_proba(texts)]
