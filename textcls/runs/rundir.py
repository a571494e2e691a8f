"""The run directory, as text and image runs share it::

    RUN/config.yaml    resolved configuration, with a format marker naming the kind of run and its version
    RUN/model.pt       the final (best) weights                 RUN/metrics.json   history, final metrics
    RUN/checkpoints/   the trainer's checkpoints (:class:`~textcls.training.checkpoints.CheckpointFiles`)

Each kind of run subclasses :class:`RunDir` with its marker and the files it adds (text: vocabulary, fields,
columns; image: preprocessing). Nothing in a run directory is executed when read: YAML, JSON, and weights
loaded with ``weights_only=True``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import ClassVar

from torch import nn

from textcls._util import atomic_write_text
from textcls.config import read_yaml, save_yaml
from textcls.errors import TextclsError
from textcls.training.checkpoints import CheckpointFiles, load_checkpoint, save_checkpoint


def write_json(path: str | Path, data) -> Path:
    """Write ``data`` as indented UTF-8 JSON, atomically."""
    return atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False))


def default_run_dir(model: str, root: str | Path = "runs") -> Path:
    """``ROOT/MODEL-YYYYmmdd-HHMMSS`` (a suffix is added if it exists)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = Path(root) / f"{model}-{stamp}"
    suffix = 1
    while path.exists():
        suffix += 1
        path = Path(root) / f"{model}-{stamp}-{suffix}"
    return path


class RunDir:
    """Paths and persistence of one run directory; subclasses set the class attributes below.

    Attributes:
        KIND: the kind of run, as users read it (``"text"``, ``"image"``).
        FORMAT: the marker saved as ``format`` in ``config.yaml``; a directory with another marker is refused.
        REQUIRED: the files besides ``config.yaml`` that a complete run directory of this kind holds.

    Args:
        path: the run directory.
    """

    KIND: ClassVar[str]
    FORMAT: ClassVar[str]
    REQUIRED: ClassVar[tuple[str, ...]] = ()
    CONFIG = "config.yaml"
    WEIGHTS = "model.pt"

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.checkpoints = CheckpointFiles(self.path)

    def file(self, name: str) -> Path:
        """``RUN/name``."""
        return self.path / name

    def write_json(self, name: str, data) -> Path:
        """Write ``RUN/name`` as JSON (atomically)."""
        return write_json(self.file(name), data)

    def read_json(self, name: str):
        """Read ``RUN/name`` as JSON."""
        return json.loads(self.file(name).read_text(encoding="utf-8"))

    def save_config(self, config: dict) -> None:
        """Create the directory and write ``config.yaml`` with this kind's format marker."""
        self.path.mkdir(parents=True, exist_ok=True)
        save_yaml({"format": self.FORMAT, **config}, self.file(self.CONFIG))

    def check(self) -> None:
        """Raise a one-line error unless this is a complete run directory of this kind and version."""
        if not self.path.is_dir():
            raise TextclsError(f"run directory not found: {self.path}")
        if not self.file(self.CONFIG).exists():
            raise TextclsError(f"{self.path} is not a textcls {self.KIND} run directory (no {self.CONFIG})")
        found = read_yaml(self.file(self.CONFIG)).get("format")
        if found != self.FORMAT:
            raise TextclsError(
                f"{self.path} has format {found!r}, incompatible with this version's {self.KIND} runs "
                f"({self.FORMAT!r}); train it again"
            )
        for name in self.REQUIRED:
            if not self.file(name).exists():
                raise TextclsError(f"{self.path} is incomplete: {name} is missing")

    def config(self) -> dict:
        """The saved configuration, without its format marker (call :meth:`check` first)."""
        config = read_yaml(self.file(self.CONFIG))
        config.pop("format", None)
        return config

    def save_weights(self, model: nn.Module) -> Path:
        """Write the final weights, ``model.pt``."""
        return save_checkpoint(self.file(self.WEIGHTS), {"model": model.state_dict()})

    def load_weights(self, model: nn.Module) -> nn.Module:
        """Load the run's weights into ``model`` (``model.pt``, else the best checkpoint of an unfinished run) and
        put it in evaluation mode.

        Raises:
            TextclsError: (one line) when there are no weights, they cannot be read, or they do not fit ``model``.
        """
        weights = self.file(self.WEIGHTS)
        if not weights.exists():
            weights = self.checkpoints.best
        if not weights.exists():
            raise TextclsError(f"{self.path} has no trained weights ({self.WEIGHTS}); did training finish?")
        try:
            model.load_state_dict(load_checkpoint(weights)["model"])
        except RuntimeError as exc:
            reason = str(exc).splitlines()[0]
            raise TextclsError(f"weights in {weights} do not fit the saved config: {reason}") from None
        return model.eval()
