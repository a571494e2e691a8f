"""The trainer's extension points on generated data (no files needed): typed callbacks (their order and
arguments, the embedding freeze schedule as a callback, also across a resume) and the checkpoint policy (best
and last, top-k, every N epochs, best weights in memory without a run directory, exact resume from any
resumable checkpoint).

The data are four seeded Gaussian blobs in 8 dimensions, reshuffled each epoch; the model is a small MLP with
dropout, so the random state matters for exactness.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from trainer_helpers import Interrupted, StopAfter, metrics_only

from textcls.embeddings.layer import FreezeSchedule, TextEmbedding
from textcls.errors import TextclsError
from textcls.training import Callback, CheckpointPolicy, Step, Task, Trainer, TrainerConfig  # the public names
from textcls.training.checkpoints import CheckpointFiles, load_checkpoint
from textcls.training.trainer import seed_everything

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TASK = Task("multiclass", ["a", "b", "c", "d"])


class Blobs:
    """``size`` points of four seeded Gaussian blobs; batches of ``batch_size``, reshuffled by ``set_epoch``."""

    def __init__(self, size: int = 96, batch_size: int = 16, seed: int = 0, shuffle: bool = True):
        generator = torch.Generator().manual_seed(seed)
        self.labels = torch.arange(size) % 4
        centres = 1.5 * torch.randn(4, 8, generator=generator)
        self.points = centres[self.labels] + torch.randn(size, 8, generator=generator)
        self.batch_size, self.shuffle = batch_size, shuffle
        self.order = torch.arange(size)

    def set_epoch(self, epoch: int) -> None:
        if self.shuffle:
            self.order = torch.randperm(len(self.labels), generator=torch.Generator().manual_seed(epoch))

    def __len__(self) -> int:
        return math.ceil(len(self.labels) / self.batch_size)

    def __iter__(self):
        for start in range(0, len(self.labels), self.batch_size):
            chosen = self.order[start : start + self.batch_size]
            yield Step((self.points[chosen],), self.labels[chosen], indices=chosen.tolist())


TRAIN, VALID = Blobs(seed=0), Blobs(size=48, seed=1, shuffle=False)


def mlp(seed: int = 0) -> nn.Module:
    seed_everything(seed)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 4))


def make_trainer(model, run_dir=None, callbacks=(), checkpoints=None, **values) -> Trainer:
    settings = {"epochs": 4, "lr": 0.01, "device": "cpu", "progress": False, "patience": 0, **values}
    return Trainer(model, TASK, TrainerConfig(**settings), run_dir=run_dir, tensorboard=False, callbacks=callbacks,
                   checkpoints=checkpoints)  # fmt: skip


def weights(model: nn.Module) -> dict:
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[name], b[name].to(a[name].device)) for name in a)


class KeepValidated(Callback):
    """The weights each epoch was validated (and checkpointed) with, by 1-based epoch."""

    def __init__(self):
        self.by_epoch: dict[int, dict] = {}

    def on_epoch_end(self, trainer, result):
        self.by_epoch[result.epoch] = weights(trainer.eval_model())


# --- callbacks ---------------------------------------------------------------------------------------------------


class Recorder(Callback):
    def __init__(self):
        self.events: list[tuple] = []

    def on_fit_start(self, trainer):
        self.events.append(("fit_start", trainer.start_epoch))

    def on_epoch_start(self, trainer, epoch):
        self.events.append(("epoch_start", epoch))

    def after_step(self, trainer, step):
        self.events.append(("step", step))

    def on_checkpoint(self, trainer, checkpoint):
        self.events.append(("checkpoint", checkpoint.kind, checkpoint.epoch, checkpoint.path))

    def on_epoch_end(self, trainer, result):
        self.events.append(("epoch_end", result.epoch, result.best))

    def on_fit_end(self, trainer):
        self.events.append(("fit_end", weights(trainer.model)))


def test_callbacks_are_called_in_order_with_typed_arguments(tmp_path):
    """Two epochs of 6 batches: the hooks arrive in the documented order; the best epoch is checkpointed before
    ``last.pt``; ``on_fit_end`` sees the restored best weights."""
    recorder = Recorder()
    fit = make_trainer(mlp(), tmp_path, callbacks=[recorder], epochs=2, min_delta=1.0)  # epoch 1 stays the best
    fit.fit(TRAIN, VALID)
    files = CheckpointFiles(tmp_path)
    expected = [("fit_start", 0)]
    for epoch in range(2):
        expected += [("epoch_start", epoch)] + [("step", epoch * 6 + i) for i in range(1, 7)]
        if epoch == 0:
            expected.append(("checkpoint", "best", 1, files.best))
        expected += [("checkpoint", "last", epoch + 1, files.last), ("epoch_end", epoch + 1, epoch == 0)]
    assert recorder.events[:-1] == expected
    name, final = recorder.events[-1]
    assert name == "fit_end" and same_weights(final, load_checkpoint(files.best)["model"])


def test_callbacks_must_be_callback_instances():
    with pytest.raises(TypeError, match="Callback instances, got function"):
        make_trainer(mlp(), callbacks=[lambda trainer, result: None])


class EmbeddingClassifier(nn.Module):
    """Mean of a :class:`TextEmbedding` over the tokens, then a linear layer."""

    def __init__(self, embedding: TextEmbedding):
        super().__init__()
        self.embedding = embedding
        self.out = nn.Linear(embedding.dim, 4)

    def forward(self, tokens):
        return self.out(self.embedding(tokens).mean(dim=1))


def token_batches(seed: int = 0) -> list[Step]:
    """Class ``c`` uses the tokens 5c … 5c + 4: 6 batches of 16 texts of 6 tokens."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(96) % 4
    tokens = 5 * labels[:, None] + torch.randint(0, 5, (96, 6), generator=generator)
    return [Step((tokens[i : i + 16],), labels[i : i + 16], indices=list(range(i, i + 16))) for i in range(0, 96, 16)]


def embedding_model() -> EmbeddingClassifier:
    seed_everything(0)
    vectors = torch.randn(20, 4, generator=torch.Generator().manual_seed(1))
    return EmbeddingClassifier(TextEmbedding(vectors=vectors, freeze_epochs=1))


def test_freeze_schedule_callback_thaws_the_embedding_also_after_a_resume(tmp_path):
    """``freeze_epochs=1``: frozen in epoch 1, fine-tuned in epoch 2, whether epoch 2 follows directly or in a
    new process resumed from ``last.pt`` (where the model starts frozen again, as built)."""
    batches = token_batches()
    model = embedding_model()
    schedule = model.embedding.freeze_schedule()
    assert isinstance(schedule, FreezeSchedule)
    assert TextEmbedding(vectors=torch.ones(3, 2)).freeze_schedule() is None  # nothing changes between epochs
    start = weights(model)["embedding.embedding.weight"]
    tables = KeepValidated()
    first = make_trainer(model, tmp_path, callbacks=[schedule, tables, StopAfter(1)], epochs=2, restore_best=False)
    with pytest.raises(Interrupted):
        first.fit(batches)
    assert torch.equal(tables.by_epoch[1]["embedding.embedding.weight"], start)  # frozen in epoch 1

    resumed_model = embedding_model()
    assert resumed_model.embedding.frozen
    resumed = make_trainer(resumed_model, tmp_path, callbacks=[resumed_model.embedding.freeze_schedule()], epochs=2,
                           restore_best=False)  # fmt: skip
    resumed.resume(CheckpointFiles(tmp_path).last)
    resumed.fit(batches)
    assert not resumed_model.embedding.frozen
    assert not torch.equal(weights(resumed_model)["embedding.embedding.weight"], start)  # fine-tuned in epoch 2


# --- the checkpoint policy ---------------------------------------------------------------------------------------


def test_default_policy_keeps_best_and_last_only(tmp_path):
    make_trainer(mlp(), tmp_path, epochs=3).fit(TRAIN, VALID)
    assert sorted(p.name for p in CheckpointFiles(tmp_path).folder.iterdir()) == ["best.pt", "last.pt"]


@pytest.mark.parametrize(
    ("monitor", "scores", "kept"),
    [
        # after each epoch, the epochs whose files exist (a tie with the worst kept one keeps the earlier epoch)
        ("accuracy", [0.5, 0.9, 0.7, 0.95, 0.6, 0.9], [{1}, {1, 2}, {2, 3}, {2, 4}, {2, 4}, {2, 4}]),
        ("loss", [0.5, 0.3, 0.4, 0.1], [{1}, {1, 2}, {2, 3}, {2, 4}]),
    ],
)
def test_top_k_keeps_the_k_best_epochs_files(tmp_path, monitor, scores, kept):
    policy = CheckpointPolicy(save_best=False, save_last=False, top_k=2)
    fit = make_trainer(mlp(), tmp_path, checkpoints=policy, monitor=monitor)
    files = CheckpointFiles(tmp_path)
    for epoch, (score, expected) in enumerate(zip(scores, kept), start=1):
        written = fit.checkpointer.after_epoch(fit, epoch, score, improved=False)
        entered = epoch in expected
        assert [(c.kind, c.epoch, c.path) for c in written] == ([("top", epoch, files.top(epoch))] if entered else [])
        assert sorted(p.name for p in files.folder.iterdir()) == sorted(files.top(e).name for e in expected)
        if entered:
            saved = load_checkpoint(files.top(epoch))
            assert (saved["epoch"], saved["score"]) == (epoch - 1, score)


def test_top_k_and_every_n_during_training_and_across_a_resume(tmp_path):
    """``top_k=2, every_n_epochs=2`` over 5 epochs, monitoring the validation loss: the top-k files are the two
    lowest-loss epochs of the history, holding the weights validated then; ``epoch-002.pt`` and ``epoch-004.pt``
    hold the resumable state. A run interrupted after epoch 3 and resumed ends with the same files and weights."""
    policy = CheckpointPolicy(top_k=2, every_n_epochs=2)
    validated = KeepValidated()
    straight = make_trainer(mlp(), tmp_path / "straight", [validated], policy, epochs=5, monitor="loss")
    history = straight.fit(TRAIN, VALID)
    files = CheckpointFiles(tmp_path / "straight")
    losses = [row["valid"]["loss"] for row in history]
    top = sorted(range(1, 6), key=lambda epoch: (losses[epoch - 1], epoch))[:2]
    expected = ["best.pt", "last.pt", "epoch-002.pt", "epoch-004.pt"] + [files.top(e).name for e in top]
    assert sorted(p.name for p in files.folder.iterdir()) == sorted(expected)
    for epoch in top:
        saved = load_checkpoint(files.top(epoch))
        assert saved["score"] == losses[epoch - 1] and same_weights(saved["model"], validated.by_epoch[epoch])
    for epoch in (2, 4):
        state = load_checkpoint(files.every(epoch))
        assert state["epoch"] == epoch - 1 and len(state["history"]) == epoch and "optimizer" in state

    interrupted = make_trainer(mlp(), tmp_path / "resumed", [StopAfter(3)], policy, epochs=5, monitor="loss")
    with pytest.raises(Interrupted):
        interrupted.fit(TRAIN, VALID)
    resumed = make_trainer(mlp(seed=5), tmp_path / "resumed", checkpoints=policy, epochs=5, monitor="loss")
    resumed.resume(CheckpointFiles(tmp_path / "resumed").last)
    assert metrics_only(resumed.fit(TRAIN, VALID)) == metrics_only(history)
    again = CheckpointFiles(tmp_path / "resumed")
    assert sorted(p.name for p in again.folder.iterdir()) == sorted(expected)
    for epoch in top:
        assert same_weights(load_checkpoint(again.top(epoch))["model"], load_checkpoint(files.top(epoch))["model"])
    assert same_weights(weights(resumed.model), weights(straight.model))


def test_resume_from_an_every_n_checkpoint_is_exact(tmp_path):
    """5 epochs straight == resuming the state ``every_n_epochs=2`` kept after epoch 2 and training 3 more."""
    straight = make_trainer(mlp(), tmp_path / "a", checkpoints=CheckpointPolicy(every_n_epochs=2), epochs=5,
                            restore_best=False)  # fmt: skip
    history = straight.fit(TRAIN, VALID)
    torch.manual_seed(99)
    resumed = make_trainer(mlp(seed=3), tmp_path / "b", epochs=5, restore_best=False)
    resumed.resume(CheckpointFiles(tmp_path / "a").every(2))
    assert resumed.start_epoch == 2
    assert metrics_only(resumed.fit(TRAIN, VALID)) == metrics_only(history)
    assert same_weights(weights(resumed.model), weights(straight.model))


def test_save_last_false_and_save_best_false_write_only_what_is_asked(tmp_path):
    make_trainer(mlp(), tmp_path / "no-last", checkpoints=CheckpointPolicy(save_last=False), epochs=2).fit(TRAIN, VALID)
    assert [p.name for p in CheckpointFiles(tmp_path / "no-last").folder.iterdir()] == ["best.pt"]
    validated = KeepValidated()
    fit = make_trainer(mlp(), tmp_path / "no-best", [validated], CheckpointPolicy(save_best=False), epochs=3,
                       min_delta=1.0)  # fmt: skip
    fit.fit(TRAIN, VALID)
    assert [p.name for p in CheckpointFiles(tmp_path / "no-best").folder.iterdir()] == ["last.pt"]
    assert same_weights(weights(fit.model), validated.by_epoch[1])  # restore_best from memory


@pytest.mark.parametrize("restore_best", [True, False])
def test_without_a_run_directory_the_best_weights_are_kept_in_memory(restore_best):
    """Nothing is written; with ``restore_best`` the model ends with the best epoch's weights (epoch 1 here:
    ``min_delta`` = 1 makes no later epoch an improvement), else with the last ones."""
    validated, recorder = KeepValidated(), Recorder()
    fit = make_trainer(mlp(), None, [validated, recorder], epochs=3, min_delta=1.0, restore_best=restore_best)
    fit.fit(TRAIN, VALID)
    checkpoints = [event for event in recorder.events if event[0] == "checkpoint"]
    assert checkpoints == ([("checkpoint", "best", 1, None)] if restore_best else [])
    assert same_weights(weights(fit.model), validated.by_epoch[1 if restore_best else 3])
    assert not same_weights(validated.by_epoch[1], validated.by_epoch[3])


@pytest.mark.parametrize("values", [{"top_k": -1}, {"every_n_epochs": 1.5}, {"top_k": True}])
def test_policy_rejects_impossible_counts(values):
    with pytest.raises(TextclsError, match="whole number"):
        CheckpointPolicy(**values)
