"""Using a trained run: ``Predictor`` (labels with probabilities, ``k`` and thresholds), ``evaluate_file``
(metrics on a labelled file; nothing written), ``evaluate_at_k`` (fastText's N / P@k / R@k) and the multi-label
thresholds saved with a run (``resolve_thresholds``)."""

from __future__ import annotations

import torch

from textcls.data.dataset import Dataset
from textcls.data.example import Example
from textcls.data.loader import TextBatches
from textcls.errors import TextclsError
from textcls.jobs.rundir import TextRunDir
from textcls.jobs.train import TextData, make_fields, row_counts
from textcls.training.thresholds import tune_thresholds  # noqa: F401 - part of this module's API
from textcls.training.trainer import Trainer
from textcls.vocab import Vocab


class Predictor:
    """A trained classifier loaded from its run directory.

    Args:
        run_dir: the run directory written by ``textcls train``.
        device: where to run the model (``auto``, ``cpu``, ``cuda``...).
    """

    def __init__(self, run_dir, device: str = "cpu"):
        self.run = TextRunDir(run_dir)
        self.config, self.text_field, self.task, self.choice = self.run.load_setup()
        self.model = self.run.load_model(self.config, self.text_field, self.task)
        self.trainer = Trainer.for_inference(self.model, self.task, device)

    def batches(self, texts: list[str], batch_size: int = 256) -> TextBatches:
        """The model's input for ``texts``: tokenized by the run's text field and numericalized as in training
        (an empty text becomes one unknown token).

        Args:
            texts: raw texts.
            batch_size: texts per batch.
        """
        field = self.text_field
        examples = []
        for text in texts:
            example = Example()
            example.text = field.preprocess(text) or [field.unk_token or field.pad_token]
            examples.append(example)
        return _batches(self.config, Dataset(examples, {"text": field}), field, None, batch_size)

    def probabilities(self, texts: list[str], batch_size: int = 256) -> torch.Tensor:
        """Per-label probabilities ``[len(texts), labels]`` in :attr:`labels` order (multi-class: softmax, summing
        to 1; binary: ``[1 - p, p]``; multi-label: each label's sigmoid).

        Args:
            texts: raw texts.
            batch_size: texts per batch.
        """
        texts = list(texts)
        if not texts:
            return torch.empty(0, self.task.num_classes)
        outputs = self.trainer.evaluate(self.batches(texts, batch_size), keep_outputs=True)
        probabilities = torch.empty_like(outputs["probabilities"])
        probabilities[torch.tensor(outputs["indices"])] = outputs["probabilities"]
        return probabilities

    @property
    def labels(self) -> list[str]:
        """The label names, in the model's output order."""
        return [str(label) for label in self.task.labels]

    def thresholds(self, threshold=None) -> torch.Tensor | None:
        """The per-label decision thresholds ``threshold`` stands for (see :func:`resolve_thresholds`)."""
        return resolve_thresholds(self.run, self.task, threshold)

    def predict(
        self, texts: list[str], top_k: int = 3, batch_size: int = 256, threshold=None
    ) -> list[list[tuple[str, float]]]:
        """For each text, its labels with probabilities, most likely first.

        Single-label: the ``top_k`` most likely labels (``-1``: all), those below ``threshold`` dropped (then a
        text may get none). Multi-label: without ``threshold``, every label at or above its threshold (the ones
        tuned on the validation split and saved in ``thresholds.json``, else 0.5), at least the most likely one;
        with ``threshold``, the labels at or above it (none possible); at most ``top_k`` unless it is ``-1``.

        Args:
            texts: raw texts.
            top_k: labels per text at most (``-1``: every label).
            batch_size: texts per batch.
            threshold: a probability (every label), ``"global"`` / ``"per_class"`` (the tuned ones saved with
                the run), or ``None`` (single-label: no threshold; multi-label: the run's tuned thresholds).
        """
        probabilities = self.probabilities(texts, batch_size)
        kind = "multilabel-default" if self.task.kind == "multilabel" and threshold is None else self.task.kind
        return choose_labels(probabilities, self.labels, top_k, self._limits(threshold), kind)

    def _limits(self, threshold):
        if threshold is None and self.task.kind != "multilabel":
            return None
        return self.thresholds(threshold)


def check_k(k: int) -> int:
    """``k`` as a number of labels: a positive count, or ``-1`` for all (anything else is a one-line error)."""
    if not isinstance(k, int) or isinstance(k, bool) or (k < 1 and k != -1):
        raise TextclsError(f"k must be a positive number of labels or -1 for all, not {k!r}")
    return k


def choose_labels(probabilities: torch.Tensor, labels: list[str], k: int, limits, kind: str):
    """The ``(label, probability)`` lists :meth:`Predictor.predict` returns.

    Args:
        probabilities: ``[texts, labels]``.
        labels: label names.
        k: labels per text at most (``-1``: all).
        limits: per-label thresholds ``[labels]`` (a label below its own is dropped), or ``None``.
        kind: the task's kind; a multi-label text with no label over its threshold keeps its most likely one only
            when the thresholds are the run's own (``kind`` ``"multilabel-default"``).
    """
    check_k(k)
    results = []
    for row in probabilities:
        order = torch.argsort(row, descending=True, stable=True).tolist()
        if k != -1:
            order = order[:k]
        chosen = order if limits is None else [i for i in order if row[i] >= limits[i]]
        if not chosen and kind == "multilabel-default":
            chosen = order[:1]
        results.append([(labels[i], float(row[i])) for i in chosen])
    return results


THRESHOLDS_FILE = "thresholds.json"


def resolve_thresholds(run: TextRunDir, task, threshold=None) -> torch.Tensor | None:
    """Per-label thresholds ``[labels]`` for ``threshold``.

    Args:
        run: the run (its ``thresholds.json``: ``{"global": t, "per_class": {label: t}}``, written for a
            multi-label run at the end of training).
        task: its task.
        threshold: a number in [0, 1] (the same for every label); ``"global"`` or ``"per_class"`` (the tuned
            ones; ``per-class`` also accepted); ``None``: ``per_class`` when the run has tuned thresholds, else
            the task's (0.5).

    Raises:
        TextclsError: a value out of range or unknown, or tuned thresholds asked of a run without them.
    """
    labels = [str(label) for label in task.labels]
    if threshold is None or isinstance(threshold, str):
        mode = "per_class" if threshold is None else threshold.replace("-", "_")
        if mode not in ("global", "per_class"):
            try:
                return resolve_thresholds(run, task, float(threshold))
            except ValueError:
                raise TextclsError(
                    f"threshold must be a probability, 'global' or 'per-class', not {threshold!r}"
                ) from None
        if not run.file(THRESHOLDS_FILE).exists():
            if threshold is None:
                return torch.full((len(labels),), float(task.threshold))
            raise TextclsError(
                f"{run.path} has no tuned thresholds ({THRESHOLDS_FILE}: multi-label runs with a validation split "
                "have them); give a number, e.g. --threshold 0.5"
            )
        saved = run.read_json(THRESHOLDS_FILE, _check_thresholds, "thresholds")
        if mode == "global":
            return torch.full((len(labels),), float(saved["global"]))
        return torch.tensor([float(saved["per_class"].get(label, saved["global"])) for label in labels])
    value = float(threshold)
    if not 0.0 <= value <= 1.0:
        raise TextclsError(f"threshold must be between 0 and 1, not {threshold!r}")
    return torch.full((len(labels),), value)


def _check_thresholds(data):
    if not isinstance(data, dict) or not isinstance(data.get("per_class"), dict):
        raise TypeError("thresholds.json must hold 'global' and 'per_class'")
    float(data["global"])
    return data


def read_labelled(run: TextRunDir, config: dict, text_field, task, choice, path: str):
    """The dataset of a labelled file read as the run's training file was (its columns; a fastText file by its
    ``__label__`` words), every label checked against the model's.

    Args:
        run: the run.
        config, text_field, task, choice: its setup (:meth:`~textcls.jobs.rundir.TextRunDir.load_setup`).
        path: the labelled file.

    Returns:
        ``(dataset, label_field)``.

    Raises:
        TextclsError: a label the model never saw, named with the model's labels.
    """
    label_field = make_fields(config["data"])[1]
    label_field.vocab = Vocab(specials=task.labels, unk_token=None)
    data_section = {**config["data"], "valid_split": 0}
    from textcls.data.readers import detect_format

    given_format = config["data"].get("format")
    if detect_format(path, None if given_format == "fasttext" else given_format) == "fasttext":
        from textcls.data.columns import ColumnChoice

        choice = ColumnChoice(["label", "text"], False, ["text"], ["label"], False)
        data_section["format"] = "fasttext"
    file_config = {**config, "files": {"train": path}, "data": data_section}
    data = TextData(file_config, text_field, label_field, choice)
    known = set(task.labels)
    for example in data.train:
        labels = example.label if isinstance(example.label, list) else [example.label]
        for label in labels:
            if label not in known:
                raise TextclsError(
                    f"{path} has label {label!r}, which the model never saw in training "
                    f"(its labels: {', '.join(map(str, task.labels))})"
                )
    return data.train, label_field


def evaluate_file(
    run_dir, path: str, device: str = "cpu", batch_size: int = 256, top_k: int | None = None, threshold=None
) -> dict:
    """Metrics of a trained run on a labelled file (same column layout as its training file, or a fastText
    ``__label__`` file). Nothing is written (``textcls evaluate --output FILE`` saves the result).

    Args:
        run_dir: the run directory.
        path: the labelled file.
        device: where to run the model.
        batch_size: texts per batch.
        top_k: also report ``top_k_accuracy`` (the share of texts whose label is among the ``top_k`` most likely;
            single-label runs).
        threshold: multi-label decision thresholds (see :func:`resolve_thresholds`; ``None``: the run's tuned
            ones, else 0.5).

    Returns:
        the report (:func:`~textcls.training.metrics.single_label_report` /
        :func:`~textcls.training.metrics.multilabel_report` keys, ``loss``, ``labels``, the row counts and, with
        ``top_k``, ``top_k_accuracy`` and ``k``).
    """
    run = TextRunDir(run_dir)
    config, text_field, task, choice = run.load_setup()
    model = run.load_model(config, text_field, task)
    dataset, label_field = read_labelled(run, config, text_field, task, choice, path)
    if task.kind == "multilabel":
        task = _with_thresholds(task, resolve_thresholds(run, task, threshold))
    elif threshold is not None:
        raise TextclsError(
            f"a threshold decides the labels of multi-label runs; this one is {task.kind} (its label is the most "
            "likely one): textcls test and predict take --threshold for any run"
        )
    if top_k is not None and task.kind == "multilabel":
        raise TextclsError("--top-k accuracy is for single-label runs; for a multi-label one use textcls test --k K")
    trainer = Trainer.for_inference(model, task, device)
    batches = _batches(config, dataset, text_field, label_field, batch_size)
    result = trainer.evaluate(batches, keep_outputs=top_k is not None)
    if top_k is not None:
        check_k(top_k)
        probabilities, indices = result.pop("probabilities"), result.pop("indices")
        if task.kind != "multilabel":
            gold = torch.tensor([task.labels.index(dataset[i].label) for i in indices])
            k = task.num_classes if top_k == -1 else min(top_k, task.num_classes)
            top = torch.topk(probabilities, k, dim=1).indices
            result["top_k_accuracy"] = float((top == gold.unsqueeze(1)).any(dim=1).double().mean())
            result["k"] = k
    result["labels"] = [str(label) for label in task.labels]
    result.update(row_counts(dataset))  # every row kept is scored; empty texts included
    return result


class _ThresholdTask:
    """A multi-label task that decides each label with its own threshold (a view of the run's task)."""

    def __init__(self, task, limits: torch.Tensor):
        self._task, self._limits = task, limits

    def __getattr__(self, name):
        return getattr(self._task, name)

    def predict(self, logits: torch.Tensor) -> torch.Tensor:
        return (torch.sigmoid(logits.float()) >= self._limits.to(logits.device)).long()


def _with_thresholds(task, limits):
    return _ThresholdTask(task, limits)


def evaluate_at_k(run_dir, path: str, k: int = 1, threshold: float | None = None, device: str = "cpu",
              batch_size: int = 256) -> dict:  # fmt: skip
    """fastText's ``test``: ``N`` (examples), ``P@k`` and ``R@k`` of a run on a labelled file.

    Each text predicts its ``k`` most likely labels (``-1``: all), those with a probability below ``threshold``
    dropped; precision is the correct predicted labels over all predicted labels, recall the correct predicted
    labels over all true labels, both summed over every example (fastText's ``Meter``).

    Args:
        run_dir: the run directory.
        path: the labelled file (a fastText ``__label__`` file, or the run's training layout).
        k: labels predicted per text (``-1``: all).
        threshold: drop predicted labels below this probability (``None``: none dropped).
        device: where to run the model.
        batch_size: texts per batch.

    Returns:
        ``{"N", "k", "threshold", "predicted", "gold", "correct", "precision", "recall"}``.
    """
    from textcls.training.metrics import precision_recall_at_k

    check_k(k)
    if threshold is not None and not 0.0 <= float(threshold) <= 1.0:
        raise TextclsError(f"threshold must be between 0 and 1, not {threshold!r}")
    run = TextRunDir(run_dir)
    config, text_field, task, choice = run.load_setup()
    model = run.load_model(config, text_field, task)
    dataset, label_field = read_labelled(run, config, text_field, task, choice, path)
    trainer = Trainer.for_inference(model, task, device)
    outputs = trainer.evaluate(_batches(config, dataset, text_field, None, batch_size), keep_outputs=True)
    probabilities = torch.empty_like(outputs["probabilities"])
    probabilities[torch.tensor(outputs["indices"])] = outputs["probabilities"]
    index = {label: i for i, label in enumerate(task.labels)}
    gold = []
    for example in dataset:
        labels = example.label if isinstance(example.label, list) else [example.label]
        gold.append({index[label] for label in labels})
    return {**precision_recall_at_k(gold, probabilities, k, threshold), "k": k, "threshold": threshold}


def _batches(config: dict, dataset, text_field, label_field, batch_size: int) -> TextBatches:
    """Evaluation batches (sorted by length) of ``dataset``, cut to the run's ``data.max_length`` as in training."""
    return TextBatches(
        dataset, text_field, label_field, batch_size=batch_size, order="sorted",
        max_length=config["data"].get("max_length"),
    )  # fmt: skip
