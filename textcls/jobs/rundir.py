"""The run directory of a text classifier: everything needed to evaluate, predict with, or resume it (the shared
:class:`~textcls.runs.rundir.RunDir` plus the text pieces)::

    RUN/vocab.json        the text vocabulary            RUN/labels.json   the task (kind, label names)
    RUN/text_field.json   how text is tokenized          RUN/columns.json  which columns hold text and label
    RUN/curves.png, RUN/confusion.png, RUN/tensorboard/
"""

from __future__ import annotations

from dataclasses import asdict

import torch

from textcls.config import TextRunConfig
from textcls.conversion import section_from_dict
from textcls.data.columns import ColumnChoice
from textcls.data.fields import Field
from textcls.embeddings.layer import TextEmbedding
from textcls.models import get_model
from textcls.models.registry import split_options
from textcls.runs.rundir import RunDir
from textcls.training.callbacks import Callback
from textcls.training.task import Task
from textcls.vocab import Vocab


class TextRunDir(RunDir):
    """Paths and persistence of one text run.

    Args:
        path: the run directory.
    """

    KIND = "text"
    FORMAT = "textcls.run/1"
    SCHEMA = TextRunConfig
    REQUIRED = ("vocab.json", "text_field.json", "labels.json", "columns.json")

    def save_setup(self, config: dict, text_field: Field, task: Task, choice: ColumnChoice) -> None:
        """Write what a later evaluate/predict/resume needs (the run's header), before training starts, and
        :meth:`~textcls.runs.rundir.RunDir.publish` the run."""
        self.save_config(config)
        text_field.vocab.save(self.file("vocab.json"))
        self.write_json("text_field.json", text_field.to_config())
        self.write_json("labels.json", task.to_dict())
        self.write_json("columns.json", asdict(choice))
        self.publish()

    def load_setup(self) -> tuple[dict, Field, Task, ColumnChoice]:
        """The checked config, the text field (with its vocabulary), the task and the column choice; each file
        is validated (one line naming the one that is damaged)."""
        self.check()
        config = self.config()
        text_field = self.read_json("text_field.json", _field_from_config, "a text field")
        text_field.vocab = self.read_json("vocab.json", Vocab.from_dict, "a vocabulary")
        task = self.read_json("labels.json", Task.from_dict, "a task with its labels")
        choice = self.read_json("columns.json", lambda data: section_from_dict(ColumnChoice, data), "a column choice")
        return config, text_field, task, choice

    def load_model(self, config: dict, text_field: Field, task: Task) -> torch.nn.Module:
        """The configured model with the run's weights (a vocabulary that does not fit them is one line naming
        ``vocab.json`` and the weights file)."""
        return self.load_weights(build_model(config, text_field, task), self.sizes(text_field, task))

    @staticmethod
    def sizes(text_field: Field, task: Task) -> dict[str, int]:
        """The run files that set a weight's first dimension, with their counts (see
        :meth:`~textcls.runs.rundir.RunDir.check_fits`)."""
        return {"vocab.json": len(text_field.vocab), "labels.json": task.num_outputs}


def _field_from_config(data: dict) -> Field:
    if not isinstance(data, dict):
        raise TypeError(f"a mapping of field settings, not {type(data).__name__}")
    return Field.from_config(data)


def build_model(config: dict, text_field: Field, task: Task, vectors: torch.Tensor | None = None) -> torch.nn.Module:
    """The configured model for this vocabulary and task, built by the text-model contract
    (:mod:`textcls.models.registry`): the embedding from ``vectors`` (or random) and the embedding options of
    ``model_options``, its ``<pad>`` row from the field, rows no training text uses kept fixed; then the model
    around it with its own options. The saved config records the vectors' dimension as
    ``model_options.embedding_dim``, so a reloaded model has the same shape."""
    vocab = text_field.vocab
    options = config.get("model_options") or {}
    split_options(config["model"], options)  # one-line errors first (an option named like a given argument too)
    return get_model(
        config["model"],
        num_outputs=task.num_outputs,
        vocab_size=len(vocab),
        padding_idx=vocab.stoi[text_field.pad_token],
        vectors=vectors,
        fix_rows_from=vocab.counted_prefix() if vocab.freqs else None,  # words only the vectors file brought in
        **options,
    )


def model_callbacks(model: torch.nn.Module) -> list[Callback]:
    """The trainer callbacks a model from :func:`build_model` needs: its embedding's freeze schedule, if any."""
    embedding = getattr(model, "embedding", None)
    schedule = embedding.freeze_schedule() if isinstance(embedding, TextEmbedding) else None
    return [schedule] if schedule is not None else []
