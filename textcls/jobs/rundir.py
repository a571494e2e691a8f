"""A run directory: everything needed to evaluate, predict with, or resume a trained text classifier.

```
RUN/config.yaml       resolved configuration (format marker, model, options, data, training, files)
RUN/vocab.json        the text vocabulary            RUN/labels.json   the task (kind, label names)
RUN/text_field.json   how text is tokenized          RUN/columns.json  which columns hold text and label
RUN/model.pt          best weights (state_dict)      RUN/metrics.json  per-epoch history, final metrics
RUN/curves.png, RUN/confusion.png, RUN/tensorboard/, RUN/checkpoints/{best,last}.pt
```
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import torch

from textcls.config import read_yaml, save_yaml
from textcls.data.columns import ColumnChoice
from textcls.data.fields import Field
from textcls.errors import TextclsError
from textcls.models import Task, get_model
from textcls.models.registry import split_options
from textcls.training.checkpoints import load_checkpoint, save_checkpoint
from textcls.vocab import Vocab

RUN_FORMAT = "textcls.run/1"


def write_json(path: Path, data) -> None:
    """Write JSON atomically."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


class RunDir:
    """Paths and persistence of one run.

    Args:
        path: the run directory.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def file(self, name: str) -> Path:
        return self.path / name

    def save_setup(self, config: dict, text_field: Field, task: Task, choice: ColumnChoice) -> None:
        """Write what a later evaluate/predict/resume needs, before training starts."""
        self.path.mkdir(parents=True, exist_ok=True)
        save_yaml({"format": RUN_FORMAT, **config}, self.file("config.yaml"))
        text_field.vocab.save(self.file("vocab.json"))
        write_json(self.file("text_field.json"), text_field.to_config())
        write_json(self.file("labels.json"), task.to_dict())
        write_json(self.file("columns.json"), asdict(choice))

    def save_weights(self, model: torch.nn.Module) -> Path:
        return save_checkpoint(self.file("model.pt"), {"model": model.state_dict()})

    def check(self) -> None:
        """Raise a one-line error unless this is a complete run directory of this version."""
        if not self.path.is_dir():
            raise TextclsError(f"run directory not found: {self.path}")
        config_path = self.file("config.yaml")
        if not config_path.exists():
            raise TextclsError(f"{self.path} is not a textcls run directory (no config.yaml)")
        found = read_yaml(config_path).get("format")
        if found != RUN_FORMAT:
            raise TextclsError(
                f"{self.path} was written by an incompatible textcls version (format {found!r}, this version reads "
                f"{RUN_FORMAT!r}); train it again"
            )
        for name in ("vocab.json", "text_field.json", "labels.json", "columns.json"):
            if not self.file(name).exists():
                raise TextclsError(f"{self.path} is incomplete: {name} is missing")

    def config(self) -> dict:
        config = read_yaml(self.file("config.yaml"))
        config.pop("format", None)
        return config

    def load_setup(self) -> tuple[dict, Field, Task, ColumnChoice]:
        """Config, text field (with its vocabulary), task and column choice."""
        self.check()
        config = self.config()
        text_field = Field.from_config(json.loads(self.file("text_field.json").read_text(encoding="utf-8")))
        text_field.vocab = Vocab.load(self.file("vocab.json"))
        task = Task.from_dict(json.loads(self.file("labels.json").read_text(encoding="utf-8")))
        choice = ColumnChoice(**json.loads(self.file("columns.json").read_text(encoding="utf-8")))
        return config, text_field, task, choice

    def load_model(self, config: dict, text_field: Field, task: Task) -> torch.nn.Module:
        """The model with its best weights (``model.pt``, else the best checkpoint)."""
        weights = self.file("model.pt")
        if not weights.exists():
            weights = self.file("checkpoints") / "best.pt"
        if not weights.exists():
            raise TextclsError(f"{self.path} has no trained weights (model.pt); did training finish?")
        model = build_model(config, text_field, task)
        try:
            model.load_state_dict(load_checkpoint(weights)["model"])
        except RuntimeError as exc:
            reason = str(exc).splitlines()[0]
            raise TextclsError(f"weights in {weights} do not fit the saved config: {reason}") from None
        model.eval()
        return model


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
