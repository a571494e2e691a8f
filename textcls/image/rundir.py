"""The run directory of an image classifier: what every run holds (:class:`~textcls.runs.rundir.RunDir`)
plus::

    RUN/labels.json      the task (class names)          RUN/preprocess.json   input shape, normalisation, preset
    RUN/samples.png      training images                  RUN/misclassified/epoch-NN.png   predicted/actual
    RUN/curves.png, RUN/confusion.png, RUN/tensorboard/   (RUN/phase1/ holds a frozen first phase's checkpoints)
"""

from __future__ import annotations

from torch import nn

from textcls.config import ImageRunConfig
from textcls.image.data import Preprocess
from textcls.image.models import get_model
from textcls.runs.rundir import RunDir
from textcls.training.task import Task


class ImageRunDir(RunDir):
    """Paths and persistence of one image run.

    Args:
        path: the run directory.
    """

    KIND = "image"
    FORMAT = "textcls.image-run/1"
    SCHEMA = ImageRunConfig
    REQUIRED = ("labels.json", "preprocess.json")

    def save_setup(self, config: dict, task: Task, preprocess: Preprocess) -> None:
        """Write what a later evaluate/predict/resume needs (the run's header), before training starts, and
        :meth:`~textcls.runs.rundir.RunDir.publish` the run."""
        self.save_config(config)
        self.write_json("labels.json", task.to_dict())
        self.write_json("preprocess.json", preprocess.to_dict())
        self.publish()

    def load_setup(self) -> tuple[dict, Task, Preprocess]:
        """The checked config, the task and the preprocessing (each file validated: one line naming it)."""
        self.check()
        return (
            self.config(),
            self.read_json("labels.json", Task.from_dict, "a task with its labels"),
            self.read_json("preprocess.json", Preprocess.from_dict, "image preprocessing settings"),
        )

    def load_model(self, config: dict, task: Task) -> nn.Module:
        """The configured model with the run's weights (never downloads pretrained ones: they are replaced)."""
        options = dict(config.get("model_options") or {})
        if "pretrained" in options:
            options["pretrained"] = False
        return self.load_weights(get_model(config["model"], num_classes=task.num_classes, **options))
