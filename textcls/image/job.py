"""The image jobs behind ``textcls image train / evaluate / predict``, on the shared :class:`Trainer`; what
they write is described in :mod:`textcls.image.rundir`."""

from __future__ import annotations

import time
from pathlib import Path

import torch

from textcls import config as cfg
from textcls import distributed
from textcls.errors import TextclsError
from textcls.image.batches import ImageBatches
from textcls.image.data import TORCHVISION, ImageData, ImageSplit, Preprocess, load_images, read_image_file
from textcls.image.models import get_model
from textcls.image.previews import MisclassifiedPreviews, save_training_grid
from textcls.image.rundir import ImageRunDir
from textcls.runs.plots import plot_confusion, plot_learning_curves
from textcls.training.checkpoints import CheckpointFiles
from textcls.training.task import Task
from textcls.training.trainer import Trainer, TrainerConfig, pick_device, seed_everything

DEFAULT_MODEL = "mnist-cnn"


def image_defaults(model: str) -> dict:
    """``configs/image/defaults.yaml`` with its ``models.MODEL`` part merged in."""
    path = cfg.CONFIG_DIR / "image" / "defaults.yaml"
    if not path.exists():
        raise TextclsError(f"{path} is missing from the installation; reinstall textcls")
    defaults = cfg.read_yaml(path)
    per_model = defaults.pop("models", {}) or {}
    return cfg.merge(defaults, per_model.get(model, {}))


def resolve_config(model: str | None, config_file: str | None = None, overrides: list[dict] = ()) -> dict:
    """The resolved config of an image run (:class:`textcls.config.ImageRunConfig`): the typed defaults,
    ``configs/image/defaults.yaml`` and its ``models.MODEL`` part, ``config_file``, then ``overrides``."""
    return cfg.resolve_layers(cfg.ImageRunConfig, image_defaults, model, config_file, overrides, DEFAULT_MODEL)


def _phases(config: dict, model: torch.nn.Module, run: Path) -> list[dict]:
    """One phase, or a frozen phase (``run/phase1``) then an unfrozen one at ``unfreeze_lr``."""
    training, phases = config["training"], config["phases"]
    frozen = phases["freeze_epochs"]
    if frozen <= 0:
        return [{"epochs": int(training["epochs"]), "lr": float(training["lr"]), "freeze": None, "dir": run}]
    if not hasattr(model, "freeze"):
        raise TextclsError(f"model {config['model']!r} has no frozen phase (no freeze()); drop --freeze-epochs")
    if frozen >= int(training["epochs"]):
        raise TextclsError(f"--freeze-epochs {frozen} leaves no unfrozen epochs of --epochs {training['epochs']}")
    return [
        {"epochs": frozen, "lr": float(training["lr"]), "freeze": True, "dir": run / "phase1"},
        {"epochs": int(training["epochs"]) - frozen, "lr": phases["unfreeze_lr"] or training["lr"],
         "freeze": False, "dir": run},
    ]  # fmt: skip


class ImageRun:
    """Data, model and preprocessing of one image run (new, or loaded from its directory)."""

    def __init__(self, config: dict, data: ImageData):
        self.config, self.data = config, data
        self.model = get_model(config["model"], num_classes=len(data.classes), **(config.get("model_options") or {}))
        self.task = Task("multiclass", list(data.classes))
        self.preprocess = Preprocess.for_model(self.model.input_shape, data, config["data"].get("transform", "basic"))

    def batches(self, split: ImageSplit, train: bool, seed: int = 0) -> ImageBatches:
        data = self.config["data"]
        size = data["batch_size"]
        return ImageBatches(split, self.preprocess, size if train else max(size, 256), train, seed,
                            data["num_workers"])  # fmt: skip


def train_image(config: dict, run_dir: str | Path, resume: bool = False, overwrite: bool = False) -> dict:
    """Train, evaluate and save an image classifier; returns the final metrics (also in ``metrics.json``).

    The run is created and locked as a text run is (:meth:`~textcls.runs.rundir.RunDir.training`). Under
    ``torchrun`` every process calls this: rank 0 resolves the config and writes the run, the others load the
    same images and train their parts of each batch (:mod:`textcls.distributed`).

    Args:
        config: the resolved config (:func:`resolve_config`) with ``files.data`` (dataset name or directory).
        run_dir: the run directory (with ``resume``: an existing run to continue).
        resume: continue from the last checkpoint of the unfinished phase.
        overwrite: replace a non-empty ``run_dir`` (refused otherwise, and always while it is being trained).
    """
    device = (config.get("training") or {}).get("device") or "auto"
    with distributed.process_group(device) as group:
        handoff = distributed.Handoff(group)
        if not group.is_main:
            return _train_image(None, handoff.receive(), resume, group)
        run = ImageRunDir(run_dir)
        with handoff, run.training(resume=resume, overwrite=overwrite):
            config = cfg.ImageRunConfig.from_dict(run.config() if resume else config).to_dict()
            pick_device(config["training"]["device"])  # before anything is written: a bad device leaves no run
            handoff.send(config)
            return _train_image(run, config, resume, group)


def _train_image(run: ImageRunDir | None, config: dict, resume: bool, group: distributed.Distributed) -> dict:
    """The body of :func:`train_image`: on rank 0 with ``run`` held, elsewhere with ``run=None``."""
    started = time.perf_counter()
    main = group.is_main
    seed = int(config["training"].get("seed", 0))
    seed_everything(seed)
    data_config = config["data"]
    data = load_images(config["files"]["data"], data_config["root"], data_config["download"])
    job = ImageRun(config, data)
    train_split, valid_split = data.split_valid(data_config["valid_split"], seed)
    if main and not resume:
        run.save_setup(config, job.task, job.preprocess)
        save_training_grid(train_split, data.classes, run.file("samples.png"), seed=seed)
    say = print if main else (lambda *args, **kwargs: None)
    params = sum(p.numel() for p in job.model.parameters())
    sizes = f"train {len(train_split):,}, valid {len(valid_split):,}" + (
        f", test {len(data.test):,}" if data.test else ""
    )
    say(f"data: {data.name}: {sizes} images; {len(data.classes)} classes; input {tuple(job.preprocess.shape)}")
    say(f"model: {config['model']} ({params:,} parameters)")
    if group.enabled:
        say(f"distributed: {group.world_size} processes ({group.backend}); each trains its part of every batch "
            f"of {config['data']['batch_size']}")  # fmt: skip
    train_batches = job.batches(train_split, True, seed)
    valid_batches = job.batches(valid_split, False)
    history: list[dict] = []
    trainer = None
    callbacks = (
        [MisclassifiedPreviews(valid_split, valid_batches, data.classes, run.file("misclassified"))] if main else []
    )
    for phase in _phases(config, job.model, run.path if main else Path(".")):
        if phase["freeze"] is not None:
            (job.model.freeze if phase["freeze"] else job.model.unfreeze)()
            say(f"phase: {'head only (frozen backbone)' if phase['freeze'] else 'all layers'}, "
                f"{phase['epochs']} epochs at lr {phase['lr']:g}")  # fmt: skip
        training = TrainerConfig.from_dict({**config["training"], "epochs": phase["epochs"], "lr": phase["lr"]})
        trainer = Trainer(job.model, job.task, training, run_dir=phase["dir"] if main else None, callbacks=callbacks,
                          distributed=group)  # fmt: skip
        last = CheckpointFiles(phase["dir"]).last
        if group.broadcast(main and resume and last.exists()):  # rank 0 decides: only it has the run
            trainer.resume(last)
        history += trainer.fit(train_batches, valid_batches)  # ends with the phase's best weights loaded
    result = {"history": history, "valid": trainer.evaluate(valid_batches), "world_size": group.world_size}
    if data.test is not None:
        result["test"] = trainer.evaluate(job.batches(data.test, False))
    result["seconds"] = time.perf_counter() - started
    if not main:
        group.gather(None)  # returns once rank 0 has written the run (a caller may load it next)
        return result
    run.save_weights(job.model)
    run.write_json("metrics.json", result)
    plot_learning_curves(history, run.file("curves.png"), training.monitor)
    final = result.get("test") or result["valid"]
    if "confusion" in final:
        plot_confusion(final["confusion"], data.classes, run.file("confusion.png"))
    group.gather(None)
    return result


class ImagePredictor:
    """A trained image run, ready to evaluate data or classify image files.

    Args:
        run_dir: the run directory.
        device: ``cpu``, ``cuda``, ``auto``.
    """

    def __init__(self, run_dir: str | Path, device: str = "cpu"):
        run = ImageRunDir(run_dir)
        self.config, self.task, self.preprocess = run.load_setup()
        self.model = run.load_model(self.config, self.task)
        self.trainer = Trainer.for_inference(self.model, self.task, device)  # moves the model to the device
        self.device = self.trainer.device

    def evaluate(self, spec: str, root: str | None = None, everything: bool = False) -> dict:
        """Metrics on ``spec``'s test split; a source with one split is the run's own training data when it is the
        directory the run trained on (the same resolved path as its ``files.data``): then only the validation part
        held out of training (the run's ``valid_split`` and ``seed``) is scored, unless ``everything``.

        Args:
            spec: dataset name or directory.
            root: where torchvision datasets live.
            everything: score all images of a one-split source, training images included.

        Returns:
            The metrics, with ``images`` (how many were scored) and ``scope``: ``test``, ``held-out`` (with
            ``of``: the source's size) or ``all``.
        """
        data = load_images(spec, root, split="test")
        if len(data.classes) != self.task.num_classes:
            raise TextclsError(f"{spec} has {len(data.classes)} classes; the model was trained on "
                               f"{self.task.num_classes} ({', '.join(map(str, self.task.labels))})")  # fmt: skip
        scope, extra = "test", {}
        split = data.test
        if split is None:
            split, scope = data.train, "all"
            if not everything and self._trained_on(spec):
                _, split = data.split_valid(self.config["data"]["valid_split"], int(self.config["training"]["seed"]))
                scope, extra = "held-out", {"of": len(data.train)}
        batches = ImageBatches(split, self.preprocess, 256, train=False)
        return {"images": len(split), "scope": scope, **extra, **self.trainer.evaluate(batches)}

    def _trained_on(self, spec: str) -> bool:
        """Whether one-split ``data`` is the source this run carved its training and validation images from."""
        trained = str(self.config["files"].get("data") or "")
        if not trained or trained in TORCHVISION or spec in TORCHVISION:
            return False
        return Path(trained).resolve() == Path(spec).resolve()

    @torch.no_grad()
    def predict(self, paths: list[str], top_k: int = 3) -> list[list[tuple[str, float]]]:
        """Top-``k`` ``(label, probability)`` for each image file."""
        results = []
        for path in paths:
            image = read_image_file(path)
            logits = self.model(self.preprocess.batch(image.unsqueeze(0)).to(self.device))
            probabilities = self.task.probabilities(logits)[0]
            top = probabilities.topk(min(top_k, len(probabilities)))
            results.append([(str(self.task.labels[i]), float(p)) for p, i in zip(top.values, top.indices)])
        return results
