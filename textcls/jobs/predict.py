"""Using a trained run: ``Predictor`` (top-k labels with probabilities) and ``evaluate_file`` (metrics on a file)."""

from __future__ import annotations

import torch

from textcls.data.dataset import Dataset
from textcls.data.example import Example
from textcls.data.loader import TextBatches
from textcls.errors import TextclsError
from textcls.jobs.rundir import TextRunDir
from textcls.jobs.train import TextData, make_fields, row_counts
from textcls.runs.plots import plot_confusion
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

    def predict(self, texts: list[str], top_k: int = 3, batch_size: int = 256) -> list[list[tuple[str, float]]]:
        """For each text, its ``top_k`` labels with probabilities, most likely first (multi-label: every label
        at or above the threshold, at least the most likely one).

        Args:
            texts: raw texts.
            top_k: labels per text (single-label tasks).
            batch_size: texts per batch.
        """
        texts = list(texts)
        if not texts:
            return []
        outputs = self.trainer.evaluate(self.batches(texts, batch_size), keep_outputs=True)
        probabilities = torch.empty_like(outputs["probabilities"])
        probabilities[torch.tensor(outputs["indices"])] = outputs["probabilities"]
        labels = self.task.labels
        results = []
        for row in probabilities:
            order = torch.argsort(row, descending=True).tolist()
            if self.task.kind == "multilabel":
                chosen = [i for i in order if row[i] >= self.task.threshold] or order[:1]
            else:
                chosen = order[: max(1, top_k)]
            results.append([(str(labels[i]), float(row[i])) for i in chosen])
        return results


def evaluate_file(run_dir, path: str, device: str = "cpu", batch_size: int = 256) -> dict:
    """Metrics of a trained run on a labelled file (same column layout as its training file); writes
    ``evaluation-<file>.json`` and ``confusion-<file>.png`` into the run directory."""
    run = TextRunDir(run_dir)
    config, text_field, task, choice = run.load_setup()
    model = run.load_model(config, text_field, task)
    label_field = make_fields(config["data"])[1]
    label_field.vocab = Vocab(specials=task.labels, unk_token=None)
    file_config = {**config, "files": {"train": path}, "data": {**config["data"], "valid_split": 0}}
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
    trainer = Trainer.for_inference(model, task, device)
    result = trainer.evaluate(_batches(config, data.train, text_field, label_field, batch_size))
    result.update(row_counts(data.train))  # every row kept is scored; empty texts included
    stem = _stem(path)
    run.write_json(f"evaluation-{stem}.json", result)
    if "confusion" in result:
        plot_confusion(result["confusion"], task.labels, run.file(f"confusion-{stem}.png"), title=f"{stem}")
    return result


def _batches(config: dict, dataset, text_field, label_field, batch_size: int) -> TextBatches:
    """Evaluation batches (sorted by length) of ``dataset``, cut to the run's ``data.max_length`` as in training."""
    return TextBatches(
        dataset, text_field, label_field, batch_size=batch_size, order="sorted",
        max_length=config["data"].get("max_length"),
    )  # fmt: skip


def _stem(path) -> str:
    from pathlib import Path

    name = Path(path).name
    for suffix in (".gz", ".csv", ".tsv", ".jsonl", ".json", ".txt"):
        name = name.removesuffix(suffix)
    return name
