"""Hostile and careless inputs (issue 13): nothing a user passes in runs code, interruptions keep a resumable run,
closed pipes end quietly, and every out-of-range option is one line before any work starts."""

from __future__ import annotations

import builtins
import json
import logging
import os
import pickle
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_helpers import assert_one_line_error, run_cli

from textcls.errors import DataError
from textcls.testing import write_text_corpus

ROOT = Path(__file__).resolve().parents[1]


# --- no code runs from a vectors file ------------------------------------------------------------------------------


class _Payload:
    """Unpickling this creates ``marker`` (what a trojan vectors file would do with ``os.system``)."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return builtins.open, (self.marker, "w")


@pytest.fixture
def trojan(tmp_path):
    """``(marker, {suffix: path})``: pickles carrying the payload, named as gensim files and as a text file."""
    marker = tmp_path / "PWNED"
    paths = {}
    for name in ("trojan.kv", "trojan.model", "trojan.txt"):
        paths[Path(name).suffix] = tmp_path / name
        paths[Path(name).suffix].write_bytes(pickle.dumps(_Payload(marker), protocol=4))
    return marker, paths


def _genuine_kv(path: Path, words=("match", "goal", "market", "profit", "atoms"), dim: int = 6, seed: int = 0):
    """A real gensim ``KeyedVectors`` file (a pickle) of ``words``; returns ``(words, matrix)``."""
    from gensim.models import KeyedVectors

    matrix = np.random.default_rng(seed).normal(size=(len(words), dim)).astype(np.float32)
    keyed = KeyedVectors(vector_size=dim)
    keyed.add_vectors(list(words), matrix)
    keyed.save(str(path))
    return list(words), matrix


def test_a_pickled_vectors_file_is_refused_by_every_command_and_runs_nothing(tmp_path, trojan):
    marker, paths = trojan
    corpus = write_text_corpus(tmp_path / "data", rows=(30, 9, 9))
    for path in paths.values():
        status, _, err = run_cli(
            "train", corpus["train"], "--vectors", path, "--epochs", 1, "--output", tmp_path / "run"
        )
        assert_one_line_error(status, err, "pickle", "textcls vectors convert", "--trust-pickle")
        status, _, err = run_cli("inspect", corpus["train"], "--vectors", path)
        assert_one_line_error(status, err, "pickle", "textcls vectors convert", "--trust-pickle")
        status, _, err = run_cli("vectors", "convert", path, tmp_path / "out.txt")
        assert_one_line_error(status, err, "pickle", "--trust-pickle")
        status, _, err = run_cli(
            "compare-embeddings", corpus["train"], "--embeddings", f"glove:{path}", "--seeds", 1, "--epochs", 1,
            "--output", tmp_path / "compare",
        )  # fmt: skip
        assert_one_line_error(status, err, "pickle", "textcls vectors convert", "--trust-pickle")
    assert not marker.exists()
    assert not (tmp_path / "out.txt").exists()


def test_python_loaders_refuse_a_pickle_unless_trusted(tmp_path, trojan, caplog):
    from textcls.embeddings import Vectors, load_vectors
    from textcls.vocab import Vocab

    marker, paths = trojan
    for path in paths.values():
        with pytest.raises(DataError, match="textcls vectors convert"):
            load_vectors(path)
        with pytest.raises(DataError, match="trust_pickle=True"):
            Vectors(path, cache=False)
        with pytest.raises(DataError, match="pickle"):
            Vocab(Counter(["match", "goal"])).load_vectors(str(path))
    assert not marker.exists()
    words, matrix = _genuine_kv(tmp_path / "real.kv")
    with caplog.at_level(logging.WARNING, logger="textcls"):
        vectors = Vectors(tmp_path / "real.kv", trust_pickle=True)
    assert vectors.itos == words and np.array_equal(vectors.vectors.numpy(), matrix)
    assert any("--trust-pickle" in record.getMessage() for record in caplog.records)


def test_trust_pickle_loads_a_genuine_kv_in_train_and_inspect_with_a_warning(tmp_path, caplog, one_torch_thread):
    corpus = write_text_corpus(tmp_path / "data", rows=(30, 9, 9))
    _genuine_kv(tmp_path / "real.kv")
    status, _, err = run_cli("train", corpus["train"], "--vectors", tmp_path / "real.kv", "--output", tmp_path / "r1")
    assert_one_line_error(status, err, "--trust-pickle")
    with caplog.at_level(logging.WARNING, logger="textcls"):
        status, out, err = run_cli(
            "train", corpus["train"], "--valid", corpus["valid"], "--vectors", tmp_path / "real.kv", "--trust-pickle",
            "--model", "bag", "--epochs", 1, "--output", tmp_path / "r2",
        )  # fmt: skip
        assert status == 0, err
        assert "vectors (6d) cover" in out
        status, out, err = run_cli("inspect", corpus["train"], "--vectors", tmp_path / "real.kv", "--trust-pickle")
        assert status == 0, err
        assert "vectors (6d) cover" in out
    warnings = [r.getMessage() for r in caplog.records if "unpickling" in r.getMessage()]
    assert len(warnings) == 2 and all("any code inside it runs" in message for message in warnings)


@pytest.mark.parametrize("target", ["out.txt", "out.txt.gz", "out.vec", "out.bin"])
def test_vectors_convert_round_trips_exactly(tmp_path, target):
    from gensim.models import KeyedVectors

    from textcls.embeddings import Vectors

    words, matrix = _genuine_kv(tmp_path / "real.kv", words=("match", "goal", "naïve", "日本", "a"), dim=7)
    status, out, err = run_cli("vectors", "convert", tmp_path / "real.kv", tmp_path / target, "--trust-pickle")
    assert status == 0, err
    assert f"wrote 5 vectors of 7 dimensions to {tmp_path / target}" in out
    converted = Vectors(tmp_path / target, cache=False)  # no trust needed: numbers only
    assert converted.itos == words
    assert np.array_equal(converted.vectors.numpy(), matrix)
    reread = KeyedVectors.load_word2vec_format(str(tmp_path / target), binary=target.endswith(".bin"))
    assert list(reread.index_to_key) == words and np.array_equal(reread.vectors, matrix)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["real.kv", target])  # no temporary file left
    status, _, err = run_cli("vectors", "convert", tmp_path / "real.kv", tmp_path / target, "--trust-pickle")
    assert_one_line_error(status, err, "already exists")


def test_vectors_convert_of_a_fasttext_model_keeps_the_words_and_says_the_ngrams_are_dropped(tmp_path, caplog):
    from gensim.models import FastText
    from gensim.models.fasttext import load_facebook_vectors, save_facebook_model

    from textcls.embeddings import Vectors

    sentences = [["the", "match", "goal"], ["the", "market", "profit"]] * 10
    model = FastText(vector_size=4, min_count=1, epochs=2, seed=0, workers=1, bucket=100)
    model.build_vocab(corpus_iterable=sentences)
    model.train(corpus_iterable=sentences, total_examples=len(sentences), epochs=model.epochs)
    save_facebook_model(model, str(tmp_path / "model.bin"))
    with caplog.at_level(logging.WARNING, logger="textcls"):
        status, _, err = run_cli("vectors", "convert", tmp_path / "model.bin", tmp_path / "words.txt")
    assert status == 0, err  # a fastText .bin is parsed, not unpickled: no trust needed
    assert any("character n-grams are not kept" in record.getMessage() for record in caplog.records)
    reference = load_facebook_vectors(str(tmp_path / "model.bin"))
    converted = Vectors(tmp_path / "words.txt", cache=False)
    assert converted.itos == list(reference.index_to_key)
    assert np.array_equal(converted.vectors.numpy(), reference.vectors)
    assert converted.subwords is None


def test_vectors_convert_refuses_what_the_output_format_cannot_hold(tmp_path):
    from textcls.embeddings.convert import write_word2vec

    text = tmp_path / "spaced.txt"
    text.write_text("new york 0.5 0.25\ncity 1 2\n", encoding="utf-8")
    status, _, err = run_cli("vectors", "convert", text, tmp_path / "out.bin")
    assert_one_line_error(status, err, "'new york'", "write a .txt file instead")
    assert not (tmp_path / "out.bin").exists()
    status, _, err = run_cli("vectors", "convert", text, tmp_path / "out.pkl")
    assert_one_line_error(status, err, "out.pkl", ".txt", ".bin")
    status, _, err = run_cli("vectors", "convert", text, tmp_path / "out.vec")
    assert status == 0, err
    assert (tmp_path / "out.vec").read_text(encoding="utf-8").splitlines()[1] == "new york 0.5 0.25"
    with pytest.raises(DataError, match="line break"):
        write_word2vec(["bad\nword"], np.zeros((1, 2)), tmp_path / "x.txt")


def test_word2vec_binary_and_fasttext_bin_are_read_without_unpickling(tmp_path):
    """A pickle named ``.bin`` is parsed as word2vec binary (numbers), never unpickled."""
    marker = tmp_path / "PWNED"
    path = tmp_path / "trojan.bin"
    path.write_bytes(pickle.dumps(_Payload(marker), protocol=4))
    status, _, err = run_cli("vectors", "convert", path, tmp_path / "out.txt", "--trust-pickle")
    assert status == 2 and "Traceback" not in err, err
    assert not marker.exists()


# --- SIGTERM behaves like Ctrl-C ----------------------------------------------------------------------------------


def _textcls(*argv, **kwargs) -> subprocess.Popen:
    """``python -m textcls ARGV`` in a child process (one torch thread), stdout and stderr piped."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "textcls", *map(str, argv)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=env, **kwargs,
    )  # fmt: skip


def test_sigterm_keeps_the_finished_epochs_in_one_line_and_resume_finishes(tmp_path):
    corpus = write_text_corpus(tmp_path / "data", rows=(20000, 300, 30))
    run = tmp_path / "run"
    epochs = 6
    child = _textcls(
        "train", corpus["train"], "--valid", corpus["valid"], "--model", "bag", "--epochs", epochs, "--patience", 0,
        "--threads", 1, "--output", run,
    )  # fmt: skip
    last = run / "checkpoints" / "last.pt"
    deadline = time.monotonic() + 300
    while not last.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert last.exists(), child.communicate()
    child.send_signal(signal.SIGTERM)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err, err
    assert err.strip().splitlines()[-1] == (
        f"textcls: interrupted (SIGTERM): the finished epochs are kept in {run}; continue with: textcls train "
        f"--resume {run}"
    )
    assert not (run / "metrics.json").exists()
    assert not list(run.rglob("*.tmp"))
    done = torch.load(last, weights_only=True)["epoch"] + 1
    assert 1 <= done < epochs, done
    resumed = _textcls("train", "--resume", run)
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    history = json.loads((run / "metrics.json").read_text(encoding="utf-8"))["history"]
    assert [row["epoch"] for row in history] == list(range(1, epochs + 1))


def test_sigint_says_what_was_kept(tmp_path):
    """Ctrl-C: one line, status 130, saying whether epochs were kept (and how to resume) or none had finished."""
    corpus = write_text_corpus(tmp_path / "data", rows=(20000, 300, 30))
    run = tmp_path / "run"
    # --patience 0: no early stop, so the run is still training when the signal comes (bag separates this corpus
    # in an epoch or two, and early stopping used to end the run first on a busy machine)
    # started as a terminal's foreground job is: SIGINT at its default (a child inherits an ignored SIGINT, as
    # background jobs get it and as pytest-xdist's workers have it, and Python then never raises KeyboardInterrupt)
    child = _textcls("train", corpus["train"], "--model", "bag", "--epochs", 50, "--patience", 0, "--threads", 1,
                     "--output", run, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    deadline = time.monotonic() + 300
    while not (run / "config.yaml").exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 128 + signal.SIGINT, err
    assert "Traceback" not in err, err
    kept = (run / "checkpoints" / "last.pt").exists()
    detail = f"continue with: textcls train --resume {run}" if kept else "no epoch had finished"
    line = err.strip().splitlines()[-1]
    assert line.startswith("textcls: interrupted (SIGINT): ") and line.endswith(detail), line


# --- a closed pipe on standard output ends quietly ---------------------------------------------------------------


@pytest.fixture(scope="module")
def text_run(small_run):
    """A small trained ``bag`` run and its corpus (the session's :func:`conftest.small_run`: only read here)."""
    return small_run


def _quiet(err: str) -> None:
    for word in ("Traceback", "BrokenPipe", "Exception ignored"):
        assert word not in err, err


@pytest.mark.parametrize("command", ["predict", "models"])
def test_a_reader_that_closed_the_pipe_ends_the_command_quietly(text_run, tmp_path, command):
    run, _ = text_run
    lines = tmp_path / "texts.txt"
    lines.write_text("".join(f"match goal team {i}\n" for i in range(5000)), encoding="utf-8")
    argv = ["predict", run, "--file", lines] if command == "predict" else ["-v", "models"]
    child = _textcls(*argv)
    child.stdout.close()  # the reader is gone before the first line is written
    err = child.stderr.read()
    child.wait(timeout=120)
    _quiet(err)
    assert child.returncode == 128 + signal.SIGPIPE, err


@pytest.mark.parametrize("pipeline", ["predict {run} --file {lines} | head -1", "-v models | head -2"])
def test_head_of_a_pipeline_gets_its_lines_and_nothing_else_is_said(text_run, tmp_path, pipeline):
    run, _ = text_run
    lines = tmp_path / "texts.txt"
    lines.write_text("".join(f"match goal team {i}\n" for i in range(20000)), encoding="utf-8")
    command = f"{sys.executable} -m textcls " + pipeline.format(run=run, lines=lines)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env, timeout=300)
    _quiet(done.stderr)
    assert done.returncode == 0
    expected = 1 if pipeline.startswith("predict") else 2
    assert len(done.stdout.splitlines()) == expected, done.stdout


# --- the NaN message names flags that exist ------------------------------------------------------------------------


def test_a_diverging_loss_names_flags_that_train_and_image_train_take(tmp_path, one_torch_thread):
    import re
    import shlex

    from textcls.cli import build_parser
    from textcls.config import parse_assignment
    from textcls.training.trainer import TrainerConfig

    corpus = write_text_corpus(tmp_path / "data", rows=(60, 15, 15))
    status, _, err = run_cli(
        "train", corpus["train"], "--model", "bag", "--epochs", 2, "--lr", "1e30", "--set", "training.optimizer=sgd",
        "--set", "training.clip_grad_norm=0", "--output", tmp_path / "run",
    )  # fmt: skip
    message = assert_one_line_error(status, err, "the training loss became", "--lr 1e+29 (now 1e+30)")
    assert "--set training.clip_grad_norm=5 (now off)" in message
    status, _, err = run_cli(
        "train", corpus["train"], "--model", "bag", "--epochs", 2, "--lr", "1e30", "--set", "training.optimizer=sgd",
        "--set", "training.clip_grad_norm=5", "--output", tmp_path / "clipped",
    )  # fmt: skip
    assert_one_line_error(status, err, "--lr 1e+29 (now 1e+30)", "--set training.clip_grad_norm=1 (now 5)")
    suggested = re.findall(r"(--[a-z-]+) (\S+)", message)
    assert [flag for flag, _ in suggested] == ["--lr", "--set"]
    for command in (["train", "data.csv"], ["image", "train"]):
        args = build_parser().parse_args(command + shlex.split(" ".join(f"{f} {v}" for f, v in suggested)))
        assert args.lr == 1e29
        assignment = parse_assignment(args.set[0])
        assert TrainerConfig.from_dict(assignment["training"]).clip_grad_norm == 5


# --- every option is range-checked before any work starts --------------------------------------------------------

TEXT_CASES = [
    (["--epochs", "0"], "training.epochs must be at least 1, not 0"),
    (["--epochs", "-1"], "training.epochs must be at least 1, not -1"),
    (["--batch-size", "0"], "data.batch_size must be at least 1, not 0"),
    (["--batch-size", "-5"], "data.batch_size must be at least 1, not -5"),
    (["--lr", "-1"], "training.lr must be at least 0, not -1.0"),
    (["--seed", "-1"], "training.seed must be at least 0 and at most 4294967295, not -1"),
    (["--patience", "-1"], "training.patience must be at least 0 or null, not -1"),
    (["--threads", "0"], "--threads must be at least 1, not 0"),
    (["--set", "data.max_length=0"], "data.max_length must be at least 1 or null, not 0"),
    (["--set", "training.lr=["], "training.lr must be a number (float), not '['"),
    (["--set", "training.gamma=1"], "training.gamma must be above 0 and below 1, not 1.0"),
    (["--set", "training.accumulation_steps=0"], "training.accumulation_steps must be at least 1, not 0"),
    (["--valid-split", "1.5"], "data.valid_split must be at least 0 and below 1, not 1.5"),
]


@pytest.mark.parametrize(("options", "message"), TEXT_CASES, ids=[" ".join(case[0]) for case in TEXT_CASES])
def test_text_train_options_out_of_range_are_one_line_and_write_nothing(tmp_path, options, message):
    corpus = write_text_corpus(tmp_path / "data", rows=(30, 9, 9))
    status, out, err = run_cli("train", corpus["train"], "--model", "bag", "--output", tmp_path / "run", *options)
    assert_one_line_error(status, err, message)
    assert not (tmp_path / "run").exists()
    assert "split_ratio" not in err


IMAGE_CASES = [
    (["--epochs", "0"], "training.epochs must be at least 1, not 0"),
    (["--batch-size", "-5"], "data.batch_size must be at least 1, not -5"),
    (["--lr", "-1"], "training.lr must be at least 0, not -1.0"),
    (["--seed", "-1"], "training.seed must be at least 0"),
    (["--valid-split", "1.5"], "data.valid_split must be above 0 and below 1, not 1.5"),
    (["--workers", "-1"], "data.num_workers must be at least 0, not -1"),
    (["--freeze-epochs", "-1"], "phases.freeze_epochs must be at least 0, not -1"),
    (["--unfreeze-lr", "0"], "phases.unfreeze_lr must be above 0 or null, not 0.0"),
    (["--threads", "-2"], "--threads must be at least 1, not -2"),
    (["--set", "training.lr=["], "training.lr must be a number (float), not '['"),
]


@pytest.mark.parametrize(("options", "message"), IMAGE_CASES, ids=[" ".join(case[0]) for case in IMAGE_CASES])
def test_image_train_options_out_of_range_are_one_line_and_write_nothing(tmp_path, options, message):
    from textcls.testing import write_image_folder

    images = write_image_folder(tmp_path / "images", per_class=(2, 1))
    status, _, err = run_cli("image", "train", "--data", images, "--output", tmp_path / "run", *options)
    assert_one_line_error(status, err, message)
    assert not (tmp_path / "run").exists()


def test_predict_top_k_and_compare_seeds_are_range_checked(text_run, tmp_path):
    run, corpus = text_run
    status, _, err = run_cli("predict", run, "--top-k", 0, "match goal")
    assert_one_line_error(status, err, "--top-k must be at least 1, not 0")
    status, _, err = run_cli(
        "compare-embeddings", corpus["train"], "--embeddings", "random", "--seeds", 0, "--output", tmp_path / "cmp"
    )
    assert_one_line_error(status, err, "--seeds must be at least 1, not 0")
    assert not (tmp_path / "cmp").exists()


def test_ranges_hold_for_python_and_yaml_too(tmp_path):
    from textcls.config import resolve
    from textcls.config_types import DataConfig
    from textcls.errors import TextclsError
    from textcls.training.trainer import TrainerConfig

    with pytest.raises(TextclsError, match=r"^training\.epochs must be at least 1, not 0$"):
        TrainerConfig(epochs=0)
    with pytest.raises(TextclsError, match=r"^data\.max_tokens must be at least 1 or null, not 0$"):
        DataConfig(max_tokens=0)
    config = tmp_path / "config.yaml"
    config.write_text("training:\n  momentum: 1.5\n", encoding="utf-8")
    with pytest.raises(TextclsError, match=r"^training\.momentum must be at least 0 and at most 1, not 1\.5$"):
        resolve("bag", str(config))
    assert TrainerConfig(patience=None, clip_grad_norm=None).patience is None  # null stays allowed where it is


def test_image_training_interrupted_says_how_to_resume(tmp_path):
    """``textcls image train`` shares the text command's interruption report (its resume command named)."""
    from textcls.cli import Interrupted, interruptible_run

    (tmp_path / "run" / "phase1" / "checkpoints").mkdir(parents=True)
    (tmp_path / "run" / "phase1" / "checkpoints" / "last.pt").write_bytes(b"")
    with pytest.raises(Interrupted) as caught, interruptible_run(tmp_path / "run", "textcls image train"):
        raise Interrupted(signal.SIGTERM)
    assert caught.value.signum == signal.SIGTERM
    assert caught.value.detail.endswith(f"continue with: textcls image train --resume {tmp_path / 'run'}")
    with pytest.raises(Interrupted) as caught, interruptible_run(tmp_path / "empty", "textcls image train"):
        raise KeyboardInterrupt
    assert caught.value.signum == signal.SIGINT and caught.value.detail == "no epoch had finished"
