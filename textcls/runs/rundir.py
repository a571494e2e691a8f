"""The run directory, as text and image runs share it::

    RUN/config.yaml    resolved configuration, with a format marker naming the kind of run and its version
    RUN/model.pt       the final (best) weights                 RUN/metrics.json   history, final metrics
    RUN/inputs.json    size, time and SHA-256 of every input file (checked by ``--resume``)
    RUN/checkpoints/   the trainer's checkpoints (:class:`~textcls.training.checkpoints.CheckpointFiles`)
    RUN/.lock          the PID of the process training it (locked with ``flock`` while it trains)

Each kind of run subclasses :class:`RunDir` with its marker and the files it adds (text: vocabulary, fields,
columns; image: preprocessing). Nothing in a run directory is executed when read: YAML, JSON, and weights
loaded with ``weights_only=True``; every file is checked when loaded (one line naming it).

A new run is built in a temporary directory next to its target and renamed into place once its header (config
and setup files) is written, so a failed start leaves nothing; while it trains, its ``.lock`` is held, so a second
training or a ``--resume`` of it is refused.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from torch import nn

from textcls._util import atomic_save
from textcls.config import read_yaml, save_yaml
from textcls.config_types import Section
from textcls.errors import TextclsError
from textcls.runs import add_overwrite_option  # noqa: F401  (defined there: the CLI builds its parser without torch)
from textcls.training.checkpoints import CheckpointFiles, load_checkpoint, save_checkpoint

LOCK = ".lock"
INPUTS = "inputs.json"


def write_json(path: str | Path, data) -> Path:
    """Write ``data`` as indented UTF-8 JSON, atomically (a failed write is one line: see
    :func:`~textcls._util.atomic_save`)."""
    text = json.dumps(data, indent=2, ensure_ascii=False)
    return atomic_save(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def default_run_dir(model: str, root: str | Path = "runs") -> Path:
    """``ROOT/MODEL-YYYYmmdd-HHMMSS`` (a suffix is added if it exists)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = Path(root) / f"{model}-{stamp}"
    suffix = 1
    while path.exists():
        suffix += 1
        path = Path(root) / f"{model}-{stamp}-{suffix}"
    return path


def fingerprint(path: str | Path) -> dict:
    """Size, modification time (ns) and SHA-256 of a file, as ``inputs.json`` records it.

    Args:
        path: the file.
    """
    path = Path(path)
    stat = path.stat()
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest.hexdigest()}


def changed_inputs(recorded: dict) -> str | None:
    """What is wrong with the input files ``inputs.json`` recorded (``None``: all as they were). A file whose
    size and time are unchanged is not read again; one whose time changed is compared by its SHA-256."""
    for key, saved in recorded.items():
        path = Path(saved["path"])
        if not path.is_file():
            return f"{key} {path} is missing"
        stat = path.stat()
        if stat.st_size != saved["size"]:
            return f"{key} {path} has changed since the run started ({saved['size']:,} → {stat.st_size:,} bytes)"
        if stat.st_mtime_ns != saved["mtime_ns"] and fingerprint(path)["sha256"] != saved["sha256"]:
            return f"{key} {path} has changed since the run started (different content)"
    return None


def flatten(config: dict, prefix: str = "") -> dict:
    """``{"data": {"lr": 1}}`` → ``{"data.lr": 1}`` (nested mappings joined with dots)."""
    flat = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


class RunDir:
    """Paths and persistence of one run directory; subclasses set the class attributes below.

    Attributes:
        KIND: the kind of run, as users read it (``"text"``, ``"image"``).
        FORMAT: the marker saved as ``format`` in ``config.yaml``; a directory with another marker is refused.
        SCHEMA: the typed config ``config.yaml`` is checked against (unknown keys, types, ranges).
        REQUIRED: the files besides ``config.yaml`` that a complete run directory of this kind holds.
        RESUMABLE: the settings ``--resume`` may change (dotted keys); any other change is refused.

    Args:
        path: the run directory.
    """

    KIND: ClassVar[str]
    FORMAT: ClassVar[str]
    SCHEMA: ClassVar[type[Section]]
    REQUIRED: ClassVar[tuple[str, ...]] = ()
    RESUMABLE: ClassVar[tuple[str, ...]] = ("training.epochs", "training.device")
    CONFIG = "config.yaml"
    WEIGHTS = "model.pt"

    def __init__(self, path: str | Path):
        self.target = Path(path)
        self._at(self.target)
        self._lock: int | None = None
        self._overwrite = False

    def _at(self, path: Path) -> None:
        self.path = path
        self.checkpoints = CheckpointFiles(path)

    def file(self, name: str) -> Path:
        """``RUN/name``."""
        return self.path / name

    def write_json(self, name: str, data) -> Path:
        """Write ``RUN/name`` as JSON (atomically)."""
        return write_json(self.file(name), data)

    def read_json(self, name: str, build: Callable | None = None, what: str = ""):
        """Read ``RUN/name`` as JSON, and build it with ``build`` (a one-line error naming the file when it is
        truncated, not JSON, or of the wrong shape).

        Args:
            name: the file.
            build: makes the object from the JSON value (``None``: the value itself); any ``KeyError``,
                ``TypeError``, ``ValueError`` or ``AttributeError`` it raises means a wrong shape.
            what: what the file should hold, for the message.
        """
        path = self.file(name)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise TextclsError(f"{self.path} is incomplete: {name} is missing") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise TextclsError(f"{path} is damaged (truncated or not JSON: {exc}); train the run again") from None
        if build is None:
            return data
        try:
            return build(data)
        except TextclsError as exc:
            raise TextclsError(f"{path}: {exc}") from None
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise TextclsError(
                f"{path} is damaged: not {what or 'what this run wrote'} ({type(exc).__name__}: {exc}); train the run "
                "again"
            ) from None

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
        """The saved configuration, without its format marker, checked against :attr:`SCHEMA` (call
        :meth:`check` first).

        Raises:
            TextclsError: (one line naming ``config.yaml``) for an unknown key or a value of the wrong type.
        """
        config = read_yaml(self.file(self.CONFIG))
        config.pop("format", None)
        try:
            self.SCHEMA.from_dict(config)
        except TextclsError as exc:
            raise TextclsError(f"{self.file(self.CONFIG)}: {exc} (was it edited? train the run again)") from None
        return config

    def resumed_config(self, given: dict | None) -> dict:
        """The saved config with what ``given`` changes among :attr:`RESUMABLE` (``--epochs``, ``--device``).

        Args:
            given: the caller's config (``None``: the saved one as it is); paths as :meth:`absolute_paths` makes
                them.

        Raises:
            TextclsError: (one line) naming the first other setting ``given`` changes.
        """
        saved = self.SCHEMA.from_dict(self.config()).to_dict()
        if given is None:
            return saved
        given = self.SCHEMA.from_dict(given).to_dict()
        old, new = flatten(saved), flatten(given)
        for key in sorted(set(old) | set(new)):
            if key not in self.RESUMABLE and old.get(key) != new.get(key):
                flags = " and ".join("--" + name.split(".")[-1] for name in self.RESUMABLE)
                raise TextclsError(
                    f"--resume cannot change {key} ({old.get(key)!r} → {new.get(key)!r}); only {flags} may change "
                    f"when resuming (or train a new run with --output)"
                )
        for key in self.RESUMABLE:
            section, name = key.split(".")
            saved[section][name] = given[section][name]
        return saved

    def record_inputs(self, files: dict[str, str]) -> None:
        """Write ``inputs.json``: the fingerprint of each input file (``{"files.train": PATH, ...}``)."""
        self.write_json(INPUTS, {key: fingerprint(path) for key, path in files.items()})

    def check_inputs(self) -> None:
        """Refuse (one line naming it) an input file that is missing or changed since the run started."""
        if not self.file(INPUTS).exists():
            return  # a run from before inputs were recorded
        problem = self.read_json(INPUTS, _check_inputs_shape, "a mapping of input fingerprints")
        if problem:
            raise TextclsError(f"cannot resume {self.path}: {problem}; restore it, or train a new run")

    # --- creating and locking ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def training(self, resume: bool = False, overwrite: bool = False):
        """Hold this run while the body trains it.

        A new run is written into a temporary directory next to the target (``.NAME-XXXX.tmp``) until
        :meth:`publish` renames it into place; if the body fails before that, nothing is left. The run's
        ``.lock`` is held (``flock``) until the body ends.

        Args:
            resume: the run exists; lock it (refused while another process trains it).
            overwrite: replace an existing non-empty target (refused while it is being trained).

        Raises:
            TextclsError: (one line) when the target is not empty (without ``overwrite``) or is being trained.
        """
        target = self.target
        if resume:
            self.check()
            self._lock = self._acquire(target)
            try:
                yield self
            finally:
                self._release()
            return
        if target.exists() and not target.is_dir():
            raise TextclsError(f"--output {target} is a file, not a directory; give another --output")
        if target.is_dir() and any(target.iterdir()):
            if not overwrite:
                hint = f"continue it with --resume {target}, " if self.file(self.CONFIG).exists() else ""
                raise TextclsError(
                    f"--output {target} is not empty; {hint}give another --output, or pass --overwrite to replace it"
                )
            self._release(self._acquire(target))  # refuse to replace a run that is being trained
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", suffix=".tmp", dir=target.parent))
        umask = os.umask(0)
        os.umask(umask)
        staging.chmod(0o777 & ~umask)  # as mkdir would make it (mkdtemp's is private)
        self._at(staging)
        self._overwrite = overwrite
        try:
            self._lock = self._acquire(staging)
            yield self
        except BaseException:
            if self.path == staging:
                shutil.rmtree(staging, ignore_errors=True)
            raise
        finally:
            self._release()
            self._at(target)

    def publish(self) -> None:
        """Move a new run from its temporary directory into place (called once its header is written); an
        existing target is replaced only with ``overwrite`` (and not while it is being trained). Nothing to do
        outside :meth:`training`."""
        staging, target = self.path, self.target
        if staging == target:
            return
        old = None
        if self._overwrite and target.is_dir() and any(target.iterdir()):
            self._release(self._acquire(target))  # a training may have started in it meanwhile
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}-", suffix=".old", dir=target.parent))
            os.replace(target, old)
        try:
            os.rename(staging, target)
        except OSError as exc:
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                message = f"{target} was created by another training meanwhile; give another --output"
                raise TextclsError(message) from None
            raise
        self._at(target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def _acquire(self, folder: Path) -> int:
        """Lock ``folder/.lock`` for this process (its PID written in it); a one-line error when it is held."""
        path = folder / LOCK
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise TextclsError(
                f"{self.target} is being trained by another process (PID {holder}); wait for it to end, or give "
                "another --output"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return fd

    def _release(self, fd: int | None = None) -> None:
        """Unlock and close ``fd`` (default: this run's lock)."""
        if fd is None:
            fd, self._lock = self._lock, None
        if fd is not None:
            os.close(fd)  # closing drops the flock

    # --- weights ------------------------------------------------------------------------------------------
    def save_weights(self, model: nn.Module) -> Path:
        """Write the final weights, ``model.pt``."""
        return save_checkpoint(self.file(self.WEIGHTS), {"model": model.state_dict()})

    def check_fits(self, weights: Path, state: dict, model: nn.Module, sizes: dict[str, int] | None = None) -> None:
        """Refuse (one line naming both files) weights whose shapes do not fit the run's files.

        Args:
            weights: the checkpoint file ``state`` was read from.
            state: its content (a mapping with ``model``).
            model: the model built from the run's files.
            sizes: ``{file: count}`` for the run files that set a weight's first dimension (``vocab.json``: its
                words); a weight that differs is reported as a mismatch between that file and the weights.
        """
        if not isinstance(state, dict) or not isinstance(state.get("model"), dict):
            raise TextclsError(f"{weights} is not a textcls weights file (no 'model' entry); train the run again")
        expected = model.state_dict()
        for key, tensor in state["model"].items():
            shape = getattr(tensor, "shape", None)
            want = getattr(expected.get(key), "shape", None)
            if shape is None or want is None or tuple(shape) == tuple(want) or not want:
                continue
            for name, count in (sizes or {}).items():
                if want[0] == count and shape[0] != count:
                    raise TextclsError(
                        f"{self.file(name)} ({count:,} entries) does not match the weights in {weights} ({key} has "
                        f"{shape[0]:,} rows): the run directory mixes two trainings; train it again"
                    )

    def load_weights(self, model: nn.Module, sizes: dict[str, int] | None = None) -> nn.Module:
        """Load the run's weights into ``model`` (``model.pt``, else the best checkpoint of an unfinished run) and
        put it in evaluation mode.

        Args:
            model: the model built from the run's files.
            sizes: see :meth:`check_fits`.

        Raises:
            TextclsError: (one line) when there are no weights, they cannot be read, or they do not fit ``model``.
        """
        weights = self.file(self.WEIGHTS)
        if not weights.exists():
            weights = self.checkpoints.best
        if not weights.exists():
            raise TextclsError(f"{self.path} has no trained weights ({self.WEIGHTS}); did training finish?")
        state = load_checkpoint(weights)
        self.check_fits(weights, state, model, sizes)
        try:
            model.load_state_dict(state["model"])
        except RuntimeError as exc:
            reason = str(exc).splitlines()[0]
            raise TextclsError(f"weights in {weights} do not fit the saved config: {reason}") from None
        return model.eval()


def _check_inputs_shape(data: dict) -> str | None:
    if not isinstance(data, dict):
        raise TypeError("not a mapping")
    return changed_inputs(data)
