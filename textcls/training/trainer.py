"""One trainer for every model in textcls (text classifiers and image CNNs).

The model owns the maths (``forward``); the trainer owns the engineering: device, mixed precision, gradient
accumulation and clipping, optimizer and schedule, metrics, early stopping, checkpoints (as a
:class:`~textcls.training.checkpoints.CheckpointPolicy` says), exact resume, TensorBoard and progress bars. It
keeps no global state. Its one extension point is :class:`~textcls.training.callbacks.Callback`.

Batches are iterables of :class:`~textcls.training.step.Step` with an optional ``set_epoch(epoch)``.

In a distributed run (a :class:`~textcls.distributed.Distributed` with several processes, as ``torchrun``
starts them) the same code runs on every rank: the model is wrapped in ``DistributedDataParallel``; each rank
trains on its part of every global batch (``batches.shard(rank, world_size)``, which :class:`TextBatches` and
:class:`ImageBatches` provide) and its loss is weighted so that the averaged gradient is the one of the whole
batch; training and validation metrics are gathered over all ranks, so early stopping and the schedule decide
the same everywhere; rank 0 alone writes checkpoints, TensorBoard and the console.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from textcls import distributed as dist
from textcls.conversion import SEED_RANGE, Range, bounded, check_ranges, section_from_dict
from textcls.errors import TextclsError
from textcls.training.callbacks import Callback
from textcls.training.checkpoints import (
    Checkpointer,
    CheckpointFiles,
    CheckpointPolicy,
    load_checkpoint,
    rng_state,
    set_rng_state,
)
from textcls.training.metrics import MetricTracker, epoch_summary
from textcls.training.optim import build_optimizer, build_scheduler, clip_gradients
from textcls.training.reporting import Reporter
from textcls.training.task import Task

log = logging.getLogger("textcls")


@dataclass
class TrainerConfig:
    """Training settings (every field is a CLI flag / YAML key of the same name).

    Args:
        epochs: passes over the training data.
        lr: learning rate.
        optimizer: ``adam``, ``adamw``, ``sgd`` or ``adagrad``.
        weight_decay: L2 penalty.
        momentum: SGD momentum.
        scheduler: ``none``, ``step``, ``cosine``, ``plateau`` or ``linear``.
        step_size: StepLR period in epochs.
        gamma: StepLR / plateau factor.
        clip_grad_norm: clip the gradient norm to this (``None``/0: no clipping).
        accumulation_steps: add up gradients over this many batches per optimizer step.
        amp: mixed precision on CUDA (ignored on CPU).
        device: ``auto`` (cuda, then mps, then cpu), ``cpu``, ``cuda``, ``cuda:1``, ``mps``.
        monitor: validation metric for early stopping and the best checkpoint (``accuracy``, ``macro_f1``,
            ``micro_f1``, ``loss``).
        patience: stop after this many epochs without improvement (``None``/0: never stop early).
        min_delta: smallest change that counts as an improvement.
        seed: random seed.
        progress: show a progress bar (``None``: only on a terminal).
        restore_best: load the best weights when training ends (from ``best.pt``, or from memory without a run
            directory).
        ema_decay: keep an exponential moving average of the weights with this decay per optimizer step (e.g.
            0.99) and validate, checkpoint and finish with the average (``0``: off).
    """

    epochs: int = bounded(10, Range(1))
    lr: float = bounded(1e-3, Range(0))  # 0 is allowed: nothing moves (a check of the loop)
    optimizer: str = "adam"
    weight_decay: float = bounded(0.0, Range(0))
    momentum: float = bounded(0.9, Range(0, 1))
    scheduler: str = "none"
    step_size: int = bounded(1, Range(1))
    gamma: float = bounded(0.5, Range(0, 1, low_open=True, high_open=True))
    clip_grad_norm: float | None = bounded(5.0, Range(0))
    accumulation_steps: int = bounded(1, Range(1))
    amp: bool = True
    device: str = "auto"
    monitor: str = "accuracy"
    patience: int | None = bounded(3, Range(0))
    min_delta: float = bounded(0.0, Range(0))
    seed: int = bounded(0, SEED_RANGE)
    progress: bool | None = None
    restore_best: bool = True
    ema_decay: float = bounded(0.0, Range(0, 1, high_open=True))

    def __post_init__(self):
        check_ranges(self, "training")  # the ranges above, one line naming the key (training.epochs ...)

    @classmethod
    def from_dict(cls, values: dict) -> TrainerConfig:
        """Build from a dict (a config's ``training`` section): each value converted to its field's type
        (``'1e-3'`` → ``0.001``), unknown keys and wrong types rejected in one line (:mod:`textcls.conversion`)."""
        return section_from_dict(cls, values, "training")


def pick_device(name: str = "auto") -> torch.device:
    """``auto`` → cuda if available, else mps, else cpu; otherwise the named device (checked)."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise TextclsError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TextclsError("device 'cuda' asked for, but no CUDA GPU is available here; use --device cpu")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise TextclsError("device 'mps' asked for, but MPS is not available here; use --device cpu")
    return device


def densify_sparse_embeddings(model: nn.Module) -> list[str]:
    """Make every sparse-gradient embedding of ``model`` produce dense gradients (NCCL all-reduces dense tensors
    only); returns the names of the modules changed (the maths is the same: sgd and adagrad take both)."""
    changed = []
    for name, module in model.named_modules():
        if isinstance(module, (nn.Embedding, nn.EmbeddingBag)) and module.sparse:
            module.sparse = False
            changed.append(name)
    if changed:
        log.info("dense gradients for %s: NCCL cannot all-reduce sparse ones", ", ".join(changed))
    return changed


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch."""
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@dataclass
class EpochResult:
    """What one epoch measured (``epoch`` is 1-based; ``best``: the monitored metric improved)."""

    epoch: int
    train: dict
    valid: dict | None
    lr: float
    seconds: float
    examples_per_s: float
    tokens_per_s: float
    best: bool = False
    examples_per_rank: list[int] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


class Trainer:
    """Trains a model on batches of :class:`~textcls.training.step.Step`.

    Args:
        model: the ``nn.Module``; ``model(*step.inputs)`` gives logits.
        task: the :class:`~textcls.training.task.Task` (loss, predictions, label names).
        config: a :class:`TrainerConfig`.
        run_dir: where checkpoints (``run_dir/checkpoints/``) and TensorBoard events go (``None``: nothing is
            written).
        tensorboard: write TensorBoard scalars under ``run_dir/tensorboard``.
        class_weights: optional per-class loss weights (multi-class).
        callbacks: :class:`~textcls.training.callbacks.Callback` instances, called in this order (on every rank
            of a distributed run).
        checkpoints: which checkpoints to keep (default: ``best.pt`` and ``last.pt``).
        distributed: this process's place in a data-parallel run (``None``: the process group this process has
            joined, if any, else one process). Only rank 0 writes ``run_dir`` and TensorBoard.
    """

    def __init__(
        self,
        model: nn.Module,
        task: Task,
        config: TrainerConfig | None = None,
        run_dir: str | Path | None = None,
        tensorboard: bool = True,
        class_weights: torch.Tensor | None = None,
        callbacks: Sequence[Callback] = (),
        checkpoints: CheckpointPolicy | None = None,
        distributed: dist.Distributed | None = None,
    ):
        self.config = config or TrainerConfig()
        self.task = task
        self.distributed = distributed or dist.current()
        self.device = self.distributed.place(pick_device(self.config.device))
        self.model = model.to(self.device)
        self.network: nn.Module = self.model  # what training steps call: the model, or its DDP wrapper
        self._trainable: tuple | None = None
        self.loss_fn = task.loss_fn(class_weights.to(self.device) if class_weights is not None else None)
        main = self.distributed.is_main
        self.run_dir = Path(run_dir) if run_dir is not None and main else None
        tensorboard = tensorboard and main
        for callback in callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(f"trainer callbacks must be Callback instances, got {type(callback).__name__}")
        self.callbacks: list[Callback] = list(callbacks)
        policy = checkpoints or CheckpointPolicy()
        files = CheckpointFiles(self.run_dir) if self.run_dir is not None else None
        self.checkpointer = Checkpointer(
            policy, files,
            keep_best_in_memory=main and self.config.restore_best and (files is None or not policy.save_best),
        )  # fmt: skip
        self.use_amp = bool(self.config.amp and self.device.type == "cuda")
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        self.optimizer = None  # built on first use: evaluation-only trainers never need one
        self.scheduler = None
        self.scheduler_every = None
        self.history: list[dict] = []
        self.start_epoch = 0
        self.best_score: float | None = None
        self.best_epoch: int | None = None
        self.stale_epochs = 0
        self.optimizer_steps = 0
        self.reporter = Reporter(self.run_dir if tensorboard else None, progress=self.config.progress and main)
        self.average = copy.deepcopy(self.model).requires_grad_(False) if self.config.ema_decay else None
        self.average_updates = 0

    @classmethod
    def for_inference(cls, model: nn.Module, task: Task, device: str = "cpu") -> Trainer:
        """A trainer that only runs :meth:`evaluate`: no progress bars, TensorBoard or checkpoints.

        Args:
            model: the trained model.
            task: its task.
            device: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
        """
        return cls(model, task, TrainerConfig(device=device, progress=False), tensorboard=False)

    def eval_model(self) -> nn.Module:
        """The weights that are validated and checkpointed: the moving average with ``ema_decay``, else the model.

        Buffers (batch-norm statistics, fixed embedding rows) are not averaged but copied from the model here.
        """
        if self.average is None:
            return self.model
        with torch.no_grad():
            for averaged, current in zip(self.average.buffers(), self.model.buffers()):
                averaged.copy_(current)
        return self.average

    @torch.no_grad()
    def _update_average(self) -> None:
        """``average ← decay × average + (1 − decay) × weights`` after an optimizer step (the first one copies).

        Frozen parameters are skipped: they equal their average already (this keeps a frozen embedding free)."""
        first = self.average_updates == 0
        for averaged, current in zip(self.average.parameters(), self.model.parameters()):
            if first:
                averaged.copy_(current)
            elif current.requires_grad:
                averaged.lerp_(current, 1.0 - self.config.ema_decay)
        self.average_updates += 1

    def _ensure_optimizer(self) -> torch.optim.Optimizer:
        if self.optimizer is None:
            config = self.config
            self.optimizer = build_optimizer(
                self.model, config.optimizer, config.lr, config.weight_decay, config.momentum
            )
        return self.optimizer

    # --- checkpoints -------------------------------------------------------------------------------
    def state(self, epoch: int) -> dict:
        """Everything :meth:`resume` needs to continue exactly after 0-based ``epoch``."""
        return {
            "model": self.model.state_dict(),
            "average": None
            if self.average is None
            else {
                "weights": self.average.state_dict(),
                "updates": self.average_updates,
            },
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "scaler": self.scaler.state_dict(),
            "epoch": epoch,
            "history": self.history,
            "best_score": self.best_score,
            "best_epoch": self.best_epoch,
            "stale_epochs": self.stale_epochs,
            "optimizer_steps": self.optimizer_steps,
            "checkpoints": self.checkpointer.state_dict(),
            "rng": rng_state(),
            "rng_ranks": getattr(self, "_rank_rng", None),
            "world_size": self.distributed.world_size,
        }

    def resume(self, checkpoint: str | Path) -> None:
        """Continue from a resumable checkpoint (``last.pt``, or an every-N ``epoch-NNN.pt``): model, optimizer,
        scheduler, epoch, history, checkpoint bookkeeping and random state.

        In a distributed run rank 0 reads the file and sends its content to the others (the path is not read
        there), and each rank takes back its own random state."""
        group = self.distributed
        state = load_checkpoint(checkpoint, map_location="cpu") if group.is_main else None
        state = group.broadcast(state)
        if state.get("world_size", 1) != group.world_size:
            raise TextclsError(
                f"{checkpoint} was written by {state.get('world_size', 1)} processes; resume it with as many "
                f"(torchrun --nproc_per_node={state.get('world_size', 1)}), not {group.world_size}"
            )
        self.model.load_state_dict(state["model"])
        if self.average is not None and state.get("average") is not None:
            self.average.load_state_dict(state["average"]["weights"])
            self.average_updates = int(state["average"]["updates"])
        self._ensure_optimizer().load_state_dict(state["optimizer"])
        self._pending_scheduler_state = state["scheduler"]
        self.scaler.load_state_dict(state["scaler"])
        self.history = list(state["history"])
        self.start_epoch = int(state["epoch"]) + 1
        self.best_score, self.best_epoch = state["best_score"], state["best_epoch"]
        self.stale_epochs = int(state["stale_epochs"])
        self.optimizer_steps = int(state.get("optimizer_steps", 0))
        self.checkpointer.load_state_dict(state.get("checkpoints"))
        ranks = state.get("rng_ranks")
        set_rng_state(ranks[group.rank] if ranks else state["rng"])
        log.info("resumed from %s after epoch %d", checkpoint, self.start_epoch)

    # --- the loop ----------------------------------------------------------------------------------
    def fit(self, train_batches, valid_batches=None) -> list[dict]:
        """Train for ``config.epochs`` (minus those already done when resumed); returns the history.

        Raises:
            TextclsError: when the loss becomes NaN or infinite (the last good checkpoint is kept).
        """
        config = self.config
        self._ensure_optimizer()
        train_batches = self._shard(train_batches)
        resumed_lrs = [group["lr"] for group in self.optimizer.param_groups]
        steps_per_epoch = math.ceil(len(train_batches) / config.accumulation_steps)
        self.scheduler, self.scheduler_every = build_scheduler(
            self.optimizer, config.scheduler, config.epochs, steps_per_epoch, config.step_size, config.gamma,
            mode="min" if config.monitor == "loss" else "max",
        )  # fmt: skip
        pending = getattr(self, "_pending_scheduler_state", None)
        if pending is not None and self.scheduler is not None:
            self.scheduler.load_state_dict(pending)
            # a new scheduler resets the learning rates to their start values; put the resumed ones back
            for group, lr in zip(self.optimizer.param_groups, resumed_lrs):
                group["lr"] = lr
        if self.start_epoch >= config.epochs:
            log.info("nothing to do: %d of %d epochs already done", self.start_epoch, config.epochs)
        for callback in self.callbacks:
            callback.on_fit_start(self)
        with dist.lost_contact(self.distributed):  # a dead or silent rank: one line, not a traceback or a hang
            for epoch in range(self.start_epoch, config.epochs):
                result = self._run_epoch(epoch, train_batches, valid_batches)
                self.history.append(result.to_dict())
                stop = self._after_epoch(epoch, result)
                for callback in self.callbacks:
                    callback.on_epoch_end(self, result)
                if stop:
                    log.info("early stopping: no improvement in %s for %d epochs", config.monitor, config.patience)
                    break
            self._load_final_weights()
        for callback in self.callbacks:
            callback.on_fit_end(self)
        self.reporter.close()
        return self.history

    def _shard(self, batches, required: bool = True):
        """This rank's part of ``batches`` in a distributed run (``batches`` itself in one process)."""
        group = self.distributed
        if not group.enabled:
            return batches
        if not hasattr(batches, "shard"):
            if not required:
                return None
            raise TextclsError(
                f"distributed training needs batches with shard(rank, world_size) (TextBatches and ImageBatches "
                f"have it); {type(batches).__name__} has none"
            )
        return batches.shard(group.rank, group.world_size)

    def _wrap(self) -> None:
        """(Re)wrap the model in ``DistributedDataParallel`` when the set of trainable parameters changed (the
        first epoch, or an embedding unfrozen by a callback): DDP only synchronises what required gradients
        when it was built."""
        group = self.distributed
        trainable = tuple(p.requires_grad for p in self.model.parameters())
        if not group.enabled or trainable == self._trainable:
            return
        from torch.nn.parallel import DistributedDataParallel

        self._trainable = trainable
        if not any(trainable):
            self.network = self.model
            return
        if group.backend == "nccl":
            densify_sparse_embeddings(self.model)  # NCCL cannot all-reduce sparse gradients
        # batch-norm statistics follow rank 0, as DDP does by default; other buffers are fixed (no traffic)
        has_norm = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.model.modules())
        device_ids = [self.device.index] if self.device.type == "cuda" else None
        # torch renamed broadcast_buffers to forward_sync_buffers (both sync every buffer once, at construction)
        renamed = "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters
        sync = {"forward_sync_buffers" if renamed else "broadcast_buffers": has_norm}
        with dist.lost_contact(group):
            self.network = DistributedDataParallel(self.model, device_ids=device_ids, **sync)

    def _load_final_weights(self) -> None:
        """The best weights with ``restore_best``, else the moving average (with ``ema_decay``), else the last;
        in a distributed run rank 0 loads them and sends them to the others."""
        group = self.distributed
        if group.is_main:
            self._load_final_weights_here()
        group.broadcast_weights(self.model)
        if self.average is not None:  # from now on the model and its average are the same finished weights
            self.average.load_state_dict(self.model.state_dict())
        group.check_same_weights(self.model)

    def _load_final_weights_here(self) -> None:
        best = None
        if self.config.restore_best and self.best_epoch is not None:
            best = self.checkpointer.best_weights(self.best_epoch, map_location=self.device)
            if best is None:
                log.warning("restore_best: the weights of epoch %d were not kept (save_best off); keeping the "
                            "final ones", self.best_epoch)  # fmt: skip
        if best is not None:
            self.model.load_state_dict(best)
        elif self.average is not None:
            self.model.load_state_dict(self.average.state_dict())

    def _run_epoch(self, epoch: int, train_batches, valid_batches) -> EpochResult:
        config = self.config
        for callback in self.callbacks:
            callback.on_epoch_start(self, epoch)
        if hasattr(train_batches, "set_epoch"):
            train_batches.set_epoch(epoch)
        self._wrap()
        group = self.distributed
        self.model.train()
        tracker = MetricTracker(self.task)
        tokens = 0
        start = time.perf_counter()
        steps = len(train_batches)
        bar = self.reporter.progress(steps, f"epoch {epoch + 1}/{config.epochs}")
        self.optimizer.zero_grad(set_to_none=True)
        for index, step in enumerate(train_batches):
            step = step.to(self.device, non_blocking=True)
            last_in_epoch = index + 1 == steps
            stepping = (index + 1) % config.accumulation_steps == 0 or last_in_epoch
            with self._sync_gradients(stepping):
                with torch.autocast(self.device.type, enabled=self.use_amp):
                    logits = self.network(*step.inputs)
                    loss = self.loss_fn(logits, step.targets)
                loss_value = float(loss.detach())
                weight = 1.0
                if group.enabled:  # the whole batch's size and loss: one decision, one gradient scale everywhere
                    local = step.targets.shape[0]
                    batch_examples, loss_sum = group.sum([local, loss_value * local])
                    weight = local * group.world_size / batch_examples
                    loss_value_all = loss_sum / batch_examples
                else:
                    loss_value_all = loss_value
                if not math.isfinite(loss_value_all):
                    bar.close()
                    raise TextclsError(self._diverged_message(loss_value_all, epoch, index))
                self.scaler.scale(loss * (weight / config.accumulation_steps)).backward()
            if stepping:
                self._optimizer_step()
                self.reporter.step(self.optimizer_steps, loss_value_all, self.optimizer.param_groups[0]["lr"])
            tracker.update(loss_value, logits, step.targets)
            tokens += step.tokens
            bar.update(1, loss=tracker.loss, acc=tracker.accuracy)
        bar.close()
        seconds = time.perf_counter() - start
        examples_per_rank = [int(n) for n in group.gather(tracker.examples)]
        tokens = int(group.sum([tokens])[0])
        tracker = tracker.gathered(group)
        train = tracker.report()
        valid = self.evaluate(valid_batches) if valid_batches is not None else None
        lr = self.optimizer.param_groups[0]["lr"]
        if self.scheduler_every == "epoch":
            self.scheduler.step()
        elif self.scheduler_every == "metric":
            self.scheduler.step(self._score(valid or train))
        return EpochResult(
            epoch=epoch + 1,
            train={k: v for k, v in train.items() if k in ("loss", "accuracy", "macro_f1", "micro_f1")},
            valid=epoch_summary(valid),
            lr=lr,
            seconds=seconds,
            examples_per_s=tracker.examples / seconds if seconds > 0 else 0.0,
            tokens_per_s=tokens / seconds if seconds > 0 else 0.0,
            examples_per_rank=examples_per_rank,
        )

    def _sync_gradients(self, stepping: bool):
        """Let DDP all-reduce the gradients only on the batch that ends an accumulation (``no_sync`` before)."""
        if stepping or self.network is self.model:
            return contextlib.nullcontext()
        return self.network.no_sync()

    def _diverged_message(self, loss_value: float, epoch: int, index: int) -> str:
        """What to say when the loss is NaN or infinite: where, what was kept, and the two settings that help
        (named as the ``train`` commands take them: ``--lr``, ``--set training.clip_grad_norm=N``)."""
        kept = " (the checkpoint of the last finished epoch is kept)" if epoch > 0 and self.run_dir else ""
        lr, clip = self.config.lr, self.config.clip_grad_norm
        clipping = (
            f"clip gradients harder with --set training.clip_grad_norm={clip / 5:g} (now {clip:g})"
            if clip
            else "clip gradients with --set training.clip_grad_norm=5 (now off)"
        )
        return (
            f"the training loss became {loss_value} in epoch {epoch + 1}, batch {index + 1}; stopped{kept}: lower "
            f"the learning rate with --lr {lr / 10:g} (now {lr:g}), or {clipping}"
        )

    def _optimizer_step(self) -> None:
        if self.config.clip_grad_norm:
            self.scaler.unscale_(self.optimizer)
            clip_gradients(self.model.parameters(), self.config.clip_grad_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        if self.average is not None:
            self._update_average()
        if self.scheduler_every == "batch":
            self.scheduler.step()
        self.optimizer_steps += 1
        for callback in self.callbacks:
            callback.after_step(self, self.optimizer_steps)

    def _score(self, metrics: dict) -> float:
        monitor = self.config.monitor
        if monitor not in metrics:
            valid = ", ".join(k for k, v in metrics.items() if isinstance(v, float))
            raise TextclsError(f"cannot monitor {monitor!r}; metrics are: {valid}")
        return float(metrics[monitor])

    def _after_epoch(self, epoch: int, result: EpochResult) -> bool:
        """Improvement, the checkpoint policy, the epoch line; returns True to stop early."""
        config = self.config
        score = self._score(result.valid or result.train)
        sign = -1.0 if config.monitor == "loss" else 1.0
        improved = self.best_score is None or sign * (score - self.best_score) > config.min_delta
        if improved:
            self.best_score, self.best_epoch, self.stale_epochs = score, epoch + 1, 0
            result.best = True
            self.history[-1]["best"] = True
        else:
            self.stale_epochs += 1
        if self.distributed.enabled:  # each rank's random state, for an exact resume (a collective: every rank)
            self._rank_rng = self.distributed.gather(rng_state())
        for checkpoint in self.checkpointer.after_epoch(self, epoch + 1, score, improved):
            for callback in self.callbacks:
                callback.on_checkpoint(self, checkpoint)
        if self.distributed.is_main:
            self.reporter.epoch(result, config.epochs)
        return bool(config.patience) and self.stale_epochs >= config.patience

    @torch.no_grad()
    def evaluate(self, batches, keep_outputs: bool = False) -> dict:
        """Loss and metrics of the model on ``batches`` (with ``keep_outputs``, also ``probabilities`` and
        ``indices`` in the dataset's order of the batches).

        In a distributed run (without ``keep_outputs``) every rank scores its part of each batch and the metrics
        are over the whole of ``batches``, each example counted once, on every rank."""
        group = self.distributed
        sharded = None if keep_outputs else self._shard(batches, required=False)
        if sharded is not None:
            batches = sharded
        model = self.eval_model()
        model.eval()
        tracker = MetricTracker(self.task)
        probabilities, indices = [], []
        for step in batches:
            step = step.to(self.device, non_blocking=True)
            with torch.autocast(self.device.type, enabled=self.use_amp):
                logits = model(*step.inputs)
            if step.targets is not None:
                loss = self.loss_fn(logits, step.targets)
                tracker.update(float(loss), logits, step.targets)
            if keep_outputs:
                probabilities.append(self.task.probabilities(logits).cpu())
                indices.extend(step.indices)
        if sharded is not None:
            tracker = tracker.gathered(group)
        result = tracker.report() if tracker.examples else {}
        if keep_outputs:
            result["probabilities"] = torch.cat(probabilities) if probabilities else torch.empty(0)
            result["indices"] = indices
        return result
