"""Output a user controls: ``-q/--quiet``, ``--log-level`` and ``-v`` on every command (before or after its name),
other libraries' INFO lines hidden, and TensorBoard's per-step scalars and hparams (README "From a run to Python,
and from fastText")."""

from __future__ import annotations

import logging

import pytest
from cli_helpers import run_cli

from textcls.cli import build_parser

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def subcommands(parser, prefix=()):
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield prefix + (name,), sub
                yield from subcommands(sub, prefix + (name,))


def test_every_command_takes_quiet_log_level_and_v():
    for names, sub in subcommands(build_parser()):
        options = {option for action in sub._actions for option in action.option_strings}
        assert {"-q", "--quiet", "--log-level", "-v"} <= options, names


def test_quiet_leaves_standard_error_empty(small_run):
    run, _ = small_run
    status, out, err = run_cli("predict", run, "goal match", "-q")
    assert status == 0 and out and err == ""
    status, out, err = run_cli("--log-level", "warning", "evaluate", run, small_run[1]["test"])
    assert status == 0 and "accuracy" in out and err == ""
    status, out, err = run_cli("predict", run, "goal match")
    assert err.startswith("threads: ")  # the default (info) shows it


def test_v_after_the_command_means_debug(small_run):
    run, _ = small_run
    status, _, err = run_cli("predict", run, "goal match", "-v")
    assert status == 0, err
    assert logging.getLogger("textcls").isEnabledFor(logging.DEBUG)
    status, _, err = run_cli("predict", run, "goal match")
    assert not logging.getLogger("textcls").isEnabledFor(logging.DEBUG)


def test_gensim_info_lines_are_hidden_and_textcls_ones_kept(tmp_path, caplog):
    from textcls.testing import write_text_corpus

    corpus = write_text_corpus(tmp_path / "data", rows=(60, 30, 0))
    status, _, err = run_cli("train", corpus["train"], "--valid", corpus["valid"], "--model", "bag", "--epochs", 1,
                             "--vectors", "word2vec", "--output", tmp_path / "run")  # fmt: skip
    assert status == 0, err
    names = {record.name.split(".")[0] for record in caplog.records if record.levelno < logging.WARNING}
    assert "textcls" in names and "gensim" not in names  # "trained word2vec vectors: ..." is textcls's own
    status, _, err = run_cli("train", corpus["train"], "--valid", corpus["valid"], "--model", "bag", "--epochs", 1,
                             "--vectors", "word2vec", "--output", tmp_path / "run2", "--log-level",
                             "debug")  # fmt: skip
    assert status == 0, err
    assert any(record.name.startswith("gensim") for record in caplog.records)  # debug shows everything


def test_tensorboard_has_per_step_loss_and_lr_and_hparams(small_run):
    event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    run, _ = small_run
    events = event_accumulator.EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    scalars = events.Tags()["scalars"]
    assert {"step/loss", "step/lr", "loss/train", "lr"} <= set(scalars)
    steps = [event.step for event in events.Scalars("step/loss")]
    import math

    import yaml

    batch_size = yaml.safe_load((run / "config.yaml").read_text())["data"]["batch_size"]
    assert steps == list(range(1, math.ceil(120 / batch_size) + 1))  # one epoch of 120 rows: one per batch
    hparams = event_accumulator.EventAccumulator(str(run / "tensorboard" / "hparams"))
    hparams.Reload()
    content = hparams.PluginTagToContent("hparams")
    assert "_hparams_/session_start_info" in content
    assert (
        b"model_options" in content["_hparams_/session_start_info"]
        and b"bag" in content["_hparams_/session_start_info"]
    )
