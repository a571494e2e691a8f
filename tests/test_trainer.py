"""The shared ``Trainer`` on a small dataset: the first 600 rows of the generated news corpus in AG News's layout
(``conftest.write_news_corpus``: header-less ``class,title,description``, 4 classes), read with the column
detection of ``textcls.data.columns`` and batched by ``TextBatches``.

Covered: learning (loss falls, accuracy beats chance), early stopping, the best checkpoint and ``restore_best``,
atomic checkpoints readable with ``weights_only=True``, a NaN loss (error, last good checkpoint kept), gradient
accumulation, ``freeze_epochs`` and exact resumption from ``last.pt``. Models are tiny and runs 1-3 epochs.
"""

from __future__ import annotations

import errno
import gzip
import itertools
import math
import os
from types import SimpleNamespace

import pytest
import torch
from torch import nn
from trainer_helpers import Interrupted, StopAfter, metrics_only

from textcls.data.columns import choose_columns, read_dataset
from textcls.data.dataset import Dataset
from textcls.data.fields import Field, LabelField
from textcls.data.loader import TextBatches
from textcls.errors import TextclsError
from textcls.models import get_model
from textcls.training import checkpoints
from textcls.training.callbacks import Callback
from textcls.training.checkpoints import load_checkpoint, save_checkpoint
from textcls.training.task import Task
from textcls.training.trainer import Trainer, TrainerConfig, seed_everything

ROWS = 600
MAX_LENGTH = 20


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def ag(generated, tmp_path_factory):
    """The first 600 generated AG-layout rows (header-less ``class,title,description``), split 80/20, with
    vocabularies."""
    path = tmp_path_factory.mktemp("ag") / "ag600.csv"
    with gzip.open(generated.ag_news, "rt", encoding="utf-8") as source:
        path.write_text("".join(itertools.islice(source, ROWS)), encoding="utf-8")
    choice = choose_columns(path, columns=["label", "title", "description"])
    assert (choice.text_columns, choice.label_columns) == (["title", "description"], ["label"])
    text = Field(tokenize="basic_english", lower=True, batch_first=True, include_lengths=True)
    label = LabelField()
    dataset = read_dataset(path, choice, text, label)
    assert len(dataset) == ROWS
    train, valid = dataset.split(0.8, stratified=True, random_state=0)
    text.build_vocab(train)
    label.build_vocab(train)
    task = Task.from_labels(label.vocab.itos)
    assert task.kind == "multiclass" and task.num_classes == 4
    return SimpleNamespace(text=text, label=label, train=train, valid=valid, task=task)


def batches(ag, dataset, batch_size: int = 32, order: str = "bucket") -> TextBatches:
    return TextBatches(dataset, ag.text, ag.label, batch_size=batch_size, order=order, max_length=MAX_LENGTH)


def valid_batches(ag) -> TextBatches:
    return batches(ag, ag.valid, batch_size=256, order="sorted")


def make_model(ag, name: str = "bag", seed: int = 0, **options) -> nn.Module:
    """A tiny seeded model: a dense bag (Adam-friendly) or a small LSTM."""
    seed_everything(seed)
    if name == "bag":
        options = {"embedding_dim": 16, "buckets": 1000, "sparse": False, **options}
    else:
        options = {"embedding_dim": 8, "hidden_size": 8, **options}
    return get_model(
        name, vocab_size=len(ag.text.vocab), num_outputs=ag.task.num_outputs,
        padding_idx=ag.text.vocab.stoi["<pad>"], **options,
    )  # fmt: skip


def config(**values) -> TrainerConfig:
    defaults = {"epochs": 3, "lr": 0.05, "device": "cpu", "progress": False, "patience": 0}
    return TrainerConfig(**{**defaults, **values})


def trainer(ag, model, run_dir=None, callbacks=(), **values) -> Trainer:
    return Trainer(model, ag.task, config(**values), run_dir=run_dir, tensorboard=False, callbacks=callbacks)


def weights(model: nn.Module) -> dict:
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[name], b[name]) for name in a)


# --- learning -----------------------------------------------------------------------------------------------


def test_loss_decreases_and_accuracy_beats_chance(ag, capsys):
    fit = trainer(ag, make_model(ag))
    history = fit.fit(batches(ag, ag.train), valid_batches(ag))
    assert [row["epoch"] for row in history] == [1, 2, 3]
    losses = [row["train"]["loss"] for row in history]
    assert losses[0] > losses[1] > losses[2]
    assert history[-1]["valid"]["loss"] < history[0]["valid"]["loss"]
    assert history[-1]["train"]["accuracy"] > 0.8
    assert history[-1]["valid"]["accuracy"] > 0.45  # chance is 0.25
    final = fit.evaluate(valid_batches(ag))
    assert set(final) >= {"loss", "accuracy", "macro_f1", "per_class", "confusion"}
    assert sum(map(sum, final["confusion"])) == len(ag.valid)
    assert "epoch  3/3" in capsys.readouterr().out  # one line per epoch


def test_evaluate_keeps_outputs_in_dataset_order(ag):
    fit = trainer(ag, make_model(ag))
    result = fit.evaluate(valid_batches(ag), keep_outputs=True)
    assert result["probabilities"].shape == (len(ag.valid), 4)
    assert sorted(result["indices"]) == list(range(len(ag.valid)))
    torch.testing.assert_close(result["probabilities"].sum(dim=1), torch.ones(len(ag.valid)))


# --- early stopping, best checkpoint ------------------------------------------------------------------------


def test_early_stopping_after_patience_epochs_without_improvement(ag, tmp_path, caplog):
    """With lr=0 nothing changes: epoch 1 is the best, then ``patience`` stale epochs stop the run."""
    model = make_model(ag)
    before = weights(model)
    fit = trainer(ag, model, tmp_path, lr=0.0, epochs=10, patience=2)
    with caplog.at_level("INFO", logger="textcls"):
        history = fit.fit(batches(ag, ag.train), valid_batches(ag))
    assert len(history) == 3  # 1 best + 2 without improvement
    assert [row["best"] for row in history] == [True, False, False]
    assert (fit.best_epoch, fit.stale_epochs) == (1, 2)
    assert same_weights(weights(model), before)
    assert "early stopping" in caplog.text
    assert load_checkpoint(tmp_path / "checkpoints" / "last.pt")["epoch"] == 2  # 0-based index of epoch 3


def test_patience_zero_never_stops(ag):
    history = trainer(ag, make_model(ag), lr=0.0, epochs=3, patience=0).fit(batches(ag, ag.train), valid_batches(ag))
    assert len(history) == 3


@pytest.mark.parametrize("monitor", ["accuracy", "loss"])
def test_best_checkpoint_is_the_best_monitored_epoch(ag, tmp_path, monitor):
    model = make_model(ag)
    fit = trainer(ag, model, tmp_path, lr=0.2, epochs=3, monitor=monitor)
    history = fit.fit(batches(ag, ag.train), valid_batches(ag))
    scores = [row["valid"][monitor] for row in history]
    best = scores.index(min(scores) if monitor == "loss" else max(scores)) + 1  # the first epoch reaching it
    assert fit.best_epoch == best
    assert [row["best"] for row in history][best - 1]
    saved = load_checkpoint(tmp_path / "checkpoints" / "best.pt")
    assert saved["epoch"] + 1 == best
    assert same_weights(weights(model), saved["model"])  # restore_best loaded it


@pytest.mark.parametrize("restore_best", [True, False])
def test_restore_best_loads_best_weights_not_last(ag, tmp_path, restore_best):
    """With ``min_delta`` = 1 no later epoch counts as an improvement, so epoch 1 stays the best while the
    weights keep training; ``restore_best`` decides which weights the model ends with."""
    model = make_model(ag)
    fit = trainer(ag, model, tmp_path, epochs=3, min_delta=1.0, restore_best=restore_best)
    fit.fit(batches(ag, ag.train), valid_batches(ag))
    best = load_checkpoint(tmp_path / "checkpoints" / "best.pt")
    last = load_checkpoint(tmp_path / "checkpoints" / "last.pt")
    assert (best["epoch"], last["epoch"], fit.best_epoch) == (0, 2, 1)
    assert not same_weights(best["model"], last["model"])
    assert same_weights(weights(model), best["model"] if restore_best else last["model"])


# --- checkpoint files -----------------------------------------------------------------------------------------


def test_checkpoints_are_atomic_and_weights_only(ag, tmp_path):
    fit = trainer(ag, make_model(ag, "lstm"), tmp_path, epochs=2, scheduler="step")
    fit.fit(batches(ag, ag.train), valid_batches(ag))
    directory = tmp_path / "checkpoints"
    assert sorted(p.name for p in directory.iterdir()) == ["best.pt", "last.pt"]
    assert not list(tmp_path.rglob("*.tmp"))
    last = torch.load(directory / "last.pt", weights_only=True)
    assert set(last) >= {"model", "optimizer", "scheduler", "scaler", "epoch", "history", "rng", "best_score"}
    assert last["epoch"] == 1 and len(last["history"]) == 2
    best = torch.load(directory / "best.pt", weights_only=True)
    assert set(best) == {"model", "epoch"}


def test_a_failed_write_leaves_the_old_checkpoint_intact(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "last.pt", {"epoch": 1, "weights": torch.ones(3)})

    def crash(fd):  # the new file is written (to the temporary name) but cannot be committed to disk
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(checkpoints.os, "fsync", crash)
    with pytest.raises(TextclsError, match="cannot write .*last.pt: No space left on device"):
        save_checkpoint(path, {"epoch": 2, "weights": torch.zeros(3)})
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]
    state = load_checkpoint(path)
    assert state["epoch"] == 1 and torch.equal(state["weights"], torch.ones(3))


def truncated_checkpoint(path):
    """The first half of a real checkpoint (what a full disk or a copy cut short leaves)."""
    whole = save_checkpoint(path.with_name("whole.pt"), {"model": {"w": torch.randn(64, 64)}, "epoch": 1})
    path.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda path: path.write_bytes(b""), id="empty"),
        pytest.param(lambda path: path.write_bytes(b"not a checkpoint"), id="text"),
        pytest.param(truncated_checkpoint, id="truncated"),
    ],
)
def test_damaged_checkpoint_is_a_textcls_error(tmp_path, damage):
    """Whatever the damage, reading gives the one-line ``TextclsError`` (not pickle's or the OS's exception)."""
    bad = tmp_path / "last.pt"
    damage(bad)
    with pytest.raises(TextclsError, match="cannot read checkpoint"):
        load_checkpoint(bad)


def test_missing_checkpoint_is_a_textcls_error(tmp_path):
    with pytest.raises(TextclsError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")


# --- NaN loss -------------------------------------------------------------------------------------------------


class NanFromEpoch(nn.Module):
    """Wraps a model; its logits become NaN from 0-based epoch ``start`` on (set by its :meth:`schedule`
    callback at the start of each epoch)."""

    def __init__(self, inner: nn.Module, start: int):
        super().__init__()
        self.inner = inner
        self.start = start
        self.poisoned = False

    def schedule(self) -> Callback:
        model = self

        class Poison(Callback):
            def on_epoch_start(self, trainer, epoch):
                model.poisoned = epoch >= model.start

        return Poison()

    def forward(self, tokens, lengths):
        logits = self.inner(tokens, lengths)
        return logits * float("nan") if self.poisoned else logits


def test_nan_loss_stops_with_error_and_keeps_last_good_checkpoint(ag, tmp_path):
    model = NanFromEpoch(make_model(ag), start=1)
    fit = trainer(ag, model, tmp_path, callbacks=[model.schedule()], epochs=3)
    with pytest.raises(TextclsError, match=r"loss became nan in epoch 2, batch 1"):
        fit.fit(batches(ag, ag.train), valid_batches(ag))
    last = torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=True)
    assert last["epoch"] == 0 and len(last["history"]) == 1
    assert all(math.isfinite(v) for v in last["history"][0]["train"].values())
    assert same_weights(last["model"], weights(model))  # the NaN batch never updated the weights
    # and the checkpoint can seed a new run
    healthy = NanFromEpoch(make_model(ag, seed=1), start=99)
    resumed = trainer(ag, healthy, tmp_path, callbacks=[healthy.schedule()], epochs=2)
    resumed.resume(tmp_path / "checkpoints" / "last.pt")
    assert len(resumed.fit(batches(ag, ag.train), valid_batches(ag))) == 2


def test_exploding_learning_rate_is_a_textcls_error(ag):
    fit = trainer(ag, make_model(ag, "lstm"), optimizer="sgd", lr=1e38, momentum=0.0, clip_grad_norm=None)
    with pytest.raises(TextclsError, match=r"the training loss became (nan|inf)"):
        fit.fit(batches(ag, ag.train), valid_batches(ag))


# --- gradient accumulation --------------------------------------------------------------------------------------


def test_accumulating_two_batches_of_8_equals_one_batch_of_16(ag):
    """SGD without momentum or dropout: one update from 2 × 8 accumulated examples equals one from 16."""
    sixteen = Dataset(ag.train.examples[:16], ag.train.fields)
    options = {"dropout": 0.0, "embedding_dropout": 0.0}
    settings = {"epochs": 1, "optimizer": "sgd", "momentum": 0.0, "lr": 0.5, "clip_grad_norm": None}
    start = weights(make_model(ag, "lstm", **options))

    whole = make_model(ag, "lstm", **options)
    trainer(ag, whole, **settings).fit(batches(ag, sixteen, 16, "sequential"))
    halves = make_model(ag, "lstm", **options)
    trainer(ag, halves, accumulation_steps=2, **settings).fit(batches(ag, sixteen, 8, "sequential"))

    assert not same_weights(weights(whole), start)
    for name, tensor in weights(whole).items():
        torch.testing.assert_close(weights(halves)[name], tensor, rtol=1e-5, atol=1e-6, msg=name)


@pytest.mark.parametrize(("examples", "steps"), [(32, 2), (40, 3)])
def test_accumulation_steps_the_optimizer_less_often(ag, examples, steps):
    """4 batches of 8 with ``accumulation_steps=2`` → 2 updates; 5 batches → 3 (the last, partial one flushes)."""
    data = Dataset(ag.train.examples[:examples], ag.train.fields)
    calls = []

    class CountSteps(Callback):
        def after_step(self, trainer, step):
            calls.append(step)

    fit = trainer(ag, make_model(ag), callbacks=[CountSteps()], epochs=1, accumulation_steps=2)
    fit.fit(batches(ag, data, 8, "sequential"))
    assert len(calls) == steps
    assert calls == list(range(1, steps + 1)) and fit.optimizer_steps == steps


# --- freezing ------------------------------------------------------------------------------------------------


def test_freeze_epochs_keeps_embeddings_fixed_for_the_first_epoch(ag):
    pretrained = torch.randn(len(ag.text.vocab), 8, generator=torch.Generator().manual_seed(0))
    model = make_model(ag, "lstm", freeze_epochs=1, vectors=pretrained)
    snapshots = []  # (embedding table, an LSTM weight, embedding frozen?) before training and after each epoch

    def snapshot():
        state = weights(model)
        snapshots.append((state["embedding.embedding.weight"], state["lstm.weight_ih_l0"], model.embedding.frozen))

    class Snapshot(Callback):
        def on_epoch_end(self, trainer, result):
            snapshot()

    snapshot()
    fit = trainer(ag, model, callbacks=[model.embedding.freeze_schedule(), Snapshot()], epochs=2, restore_best=False)
    fit.fit(batches(ag, ag.train), valid_batches(ag))
    (table_0, lstm_0, _), (table_1, lstm_1, frozen_1), (table_2, _, frozen_2) = snapshots
    assert (frozen_1, frozen_2) == (True, False)
    assert torch.equal(table_1, table_0)  # frozen during epoch 1 ...
    assert not torch.equal(lstm_1, lstm_0)  # ... while the rest of the model trained
    assert not torch.equal(table_2, table_1)  # fine-tuned in epoch 2


def test_freeze_epochs_ignored_for_random_vectors(ag):
    model = make_model(ag, "lstm", freeze_epochs=1)
    assert not model.embedding.frozen  # nothing pretrained to protect: random vectors train from the start


# --- resume ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scheduler", "ema_decay"), [("none", 0.0), ("cosine", 0.0), ("linear", 0.0), ("plateau", 0.9)]
)
def test_resume_is_exact(ag, tmp_path, scheduler, ema_decay):
    """3 epochs in one go == 2 epochs, interrupted, then a new trainer resumed from ``last.pt`` for the 3rd.

    The LSTM has dropout, so the random state must be restored too; weights must match bit for bit on CPU (with
    ``ema_decay``, the moving average is restored as well).
    """
    options = {"dropout": 0.3, "embedding_dropout": 0.1}
    settings = {"epochs": 3, "lr": 0.01, "scheduler": scheduler, "restore_best": False, "ema_decay": ema_decay}
    train, valid = batches(ag, ag.train), valid_batches(ag)

    straight = trainer(ag, make_model(ag, "lstm", **options), tmp_path / "straight", **settings)
    straight_history = straight.fit(train, valid)

    first = trainer(ag, make_model(ag, "lstm", **options), tmp_path / "resumed", callbacks=[StopAfter(2)], **settings)
    with pytest.raises(Interrupted):
        first.fit(train, valid)
    assert load_checkpoint(tmp_path / "resumed" / "checkpoints" / "last.pt")["epoch"] == 1

    torch.manual_seed(12345)  # a different random state and initial weights, which resume must overwrite
    second = trainer(ag, make_model(ag, "lstm", seed=7, **options), tmp_path / "resumed", **settings)
    second.resume(tmp_path / "resumed" / "checkpoints" / "last.pt")
    assert second.start_epoch == 2
    resumed_history = second.fit(train, valid)

    assert metrics_only(resumed_history) == metrics_only(straight_history)
    assert same_weights(weights(second.model), weights(straight.model))
    assert second.evaluate(valid) == straight.evaluate(valid)


def test_resume_of_a_finished_run_trains_nothing(ag, tmp_path):
    done = trainer(ag, make_model(ag), tmp_path, epochs=2, restore_best=False)
    done.fit(batches(ag, ag.train))
    again = trainer(ag, make_model(ag, seed=3), tmp_path, epochs=2, restore_best=False)
    again.resume(tmp_path / "checkpoints" / "last.pt")
    assert len(again.fit(batches(ag, ag.train))) == 2
    assert same_weights(weights(again.model), weights(done.model))


def test_ema_validates_and_finishes_with_the_moving_average_of_the_weights(ag, tmp_path):
    """The averaged weights are ``decay × average + (1 - decay) × weights`` after every optimizer step (the first
    step copies); training itself is unchanged, validation and the best checkpoint use the average."""
    decay = 0.8
    settings = {"epochs": 2, "lr": 0.01, "restore_best": False}
    train, valid = batches(ag, ag.train), valid_batches(ag)
    plain = trainer(ag, make_model(ag, "lstm", dropout=0.3), **settings)
    plain._ensure_optimizer()
    snapshots = []
    plain.optimizer.register_step_post_hook(lambda *_: snapshots.append(weights(plain.model)))
    plain_history = plain.fit(train, valid)
    validated = []  # the weights each epoch validated and checkpointed: the moving average

    class KeepValidated(Callback):
        def on_epoch_end(self, trainer, result):
            validated.append(weights(trainer.eval_model()))

    averaged = trainer(ag, make_model(ag, "lstm", dropout=0.3), tmp_path, callbacks=[KeepValidated()],
                       ema_decay=decay, **settings)  # fmt: skip
    averaged_history = averaged.fit(train, valid)

    expected = snapshots[0]
    for snapshot in snapshots[1:]:
        expected = {name: decay * expected[name] + (1 - decay) * snapshot[name] for name in expected}
    final = weights(averaged.model)
    for name, tensor in expected.items():
        torch.testing.assert_close(final[name], tensor, rtol=1e-5, atol=1e-6)
    assert [row["train"] for row in averaged_history] == [row["train"] for row in plain_history]  # same training
    assert averaged_history[-1]["valid"] == averaged.evaluate(valid)  # validated with the average
    assert averaged_history[-1]["valid"] != plain_history[-1]["valid"]
    assert same_weights(validated[-1], final)
    best = load_checkpoint(tmp_path / "checkpoints" / "best.pt")
    best_epoch = max(range(2), key=lambda i: averaged_history[i]["valid"]["accuracy"])
    assert best["epoch"] == best_epoch
    assert same_weights(best["model"], validated[best_epoch])  # the best checkpoint holds the average
