"""Run directories (issue 13): created atomically and locked, not clobbered, absolute and checked input paths,
``--resume`` with ``--epochs``/``--device`` only, full disks, and every run file validated when loaded."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import torch
from cli_helpers import assert_one_line_error, run_cli

from textcls.jobs.rundir import TextRunDir
from textcls.testing import write_text_corpus
from textcls.training.checkpoints import load_checkpoint

FAST = ("--model", "bag", "--threads", "1", "--batch-size", "32")


def _train(files: dict, output: Path, *extra) -> tuple[int, str, str]:
    return run_cli("train", files["train"], "--valid", files["valid"], *FAST, "--output", output, *extra)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict:
    return write_text_corpus(tmp_path_factory.mktemp("corpus"), rows=(120, 30, 30))


@pytest.fixture(scope="module")
def trained(corpus, tmp_path_factory) -> Path:
    """A finished two-epoch run (copy it before changing it)."""
    run = tmp_path_factory.mktemp("trained") / "run"
    status, _, err = _train(corpus, run, "--epochs", "2")
    assert status == 0, err
    return run


@pytest.fixture
def run_copy(trained, tmp_path) -> Path:
    return Path(shutil.copytree(trained, tmp_path / "copy"))


def _history(run: Path) -> int:
    return len(json.loads((run / "metrics.json").read_text())["history"])


def _leftovers(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.name.endswith((".tmp", ".old")))


# --- 1. atomic creation, refusal of a non-empty --output, locking ----------------------------------------------
@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_start_that_fails_on_the_device_leaves_no_directory(corpus, tmp_path, one_torch_thread):
    status, _, err = _train(corpus, tmp_path / "runs" / "new", "--device", "cuda")
    assert_one_line_error(status, err, "cuda")
    assert not (tmp_path / "runs").exists() or list((tmp_path / "runs").iterdir()) == []


def test_a_start_that_fails_late_leaves_no_directory(corpus, tmp_path, one_torch_thread):
    missing = tmp_path / "absent.csv"
    status, _, err = run_cli("train", corpus["train"], "--test", missing, *FAST, "--output", tmp_path / "new")
    assert_one_line_error(status, err, "absent.csv")
    assert list(tmp_path.iterdir()) == []


def test_a_non_empty_output_is_refused_unless_overwrite(corpus, tmp_path, one_torch_thread):
    output = tmp_path / "out"
    output.mkdir()
    (output / "notes.txt").write_text("mine")
    status, _, err = _train(corpus, output, "--epochs", "1")
    assert_one_line_error(status, err, str(output), "not empty", "--overwrite")
    assert (output / "notes.txt").read_text() == "mine"
    status, _, err = _train(corpus, output, "--epochs", "1", "--overwrite")
    assert status == 0, err
    assert not (output / "notes.txt").exists() and (output / "model.pt").exists()
    assert _leftovers(tmp_path) == []


def test_training_into_an_existing_run_names_resume(run_copy, corpus, one_torch_thread):
    status, _, err = _train(corpus, run_copy, "--epochs", "1")
    assert_one_line_error(status, err, f"--resume {run_copy}")


def test_a_run_being_trained_is_locked_against_resume_and_overwrite(run_copy, corpus, one_torch_thread):
    with TextRunDir(run_copy).training(resume=True):  # this process holds the lock, as a training would
        assert (run_copy / ".lock").read_text().strip() == str(os.getpid())
        status, _, err = run_cli("train", "--resume", run_copy, "--epochs", "3")
        assert_one_line_error(status, err, "being trained by another process", f"PID {os.getpid()}")
        status, _, err = _train(corpus, run_copy, "--epochs", "1", "--overwrite")
        assert_one_line_error(status, err, "being trained by another process")
    assert (run_copy / "model.pt").exists() and _history(run_copy) == 2


def test_the_run_directory_gets_the_usual_permissions(trained):
    umask = os.umask(0)
    os.umask(umask)
    assert trained.stat().st_mode & 0o777 == 0o777 & ~umask


# --- 2. absolute, checked input paths ---------------------------------------------------------------------------
def test_saved_paths_are_absolute_and_resume_works_from_another_folder(corpus, tmp_path, monkeypatch, one_torch_thread):
    data = Path(corpus["train"]).parent
    monkeypatch.chdir(data)
    status, _, err = run_cli("train", "train.csv", "--valid", "valid.csv", *FAST, "--epochs", "1", "--output", "run")
    assert status == 0, err
    run = data / "run"
    files = TextRunDir(run).config()["files"]
    assert files["train"] == str(data / "train.csv") and files["valid"] == str(data / "valid.csv")
    elsewhere = tmp_path / "elsewhere"
    (elsewhere).mkdir()
    (elsewhere / "train.csv").write_text("text,label\nsomething else,other\n")  # a decoy with the same name
    monkeypatch.chdir(elsewhere)
    status, _, err = run_cli("train", "--resume", run, "--epochs", "2")
    assert status == 0, err
    assert _history(run) == 2
    shutil.rmtree(run)


def test_resume_refuses_a_changed_or_missing_input_file(run_copy, corpus, tmp_path):
    train = Path(TextRunDir(run_copy).config()["files"]["train"])
    saved = train.read_bytes()
    try:
        train.write_bytes(saved + b"one more row,sports\n")
        status, _, err = run_cli("train", "--resume", run_copy, "--epochs", "3")
        assert_one_line_error(status, err, "files.train", str(train), "changed")
        train.write_bytes(saved.replace(b"sports", b"sporty", 1)[: len(saved)])  # same size, other content
        status, _, err = run_cli("train", "--resume", run_copy, "--epochs", "3")
        assert_one_line_error(status, err, str(train), "different content")
        train.unlink()
        status, _, err = run_cli("train", "--resume", run_copy, "--epochs", "3")
        assert_one_line_error(status, err, str(train), "missing")
    finally:
        train.write_bytes(saved)
    assert _history(run_copy) == 2


# --- 3. --resume takes --epochs and --device, nothing else --------------------------------------------------------
def test_resume_extends_a_finished_run_with_epochs_and_takes_device(run_copy, one_torch_thread):
    status, out, err = run_cli("train", "--resume", run_copy, "--epochs", "4", "--device", "cpu", "--threads", "1")
    assert status == 0, err
    assert _history(run_copy) == 4
    assert TextRunDir(run_copy).config()["training"]["epochs"] == 4  # a later --resume continues to 4
    assert load_checkpoint(run_copy / "checkpoints" / "last.pt")["epoch"] == 3


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (("--batch-size", "8"), "data.batch_size"),
        (("--lr", "0.123"), "training.lr"),
        (("--model", "lstm"), "model"),
        (("--set", "data.min_freq=3"), "data.min_freq"),
    ],
)
def test_resume_refuses_any_other_changed_option(run_copy, flags, named):
    status, _, err = run_cli("train", "--resume", run_copy, *flags)
    assert_one_line_error(status, err, f"--resume cannot change {named}", "--epochs", "--device")
    assert _history(run_copy) == 2


def test_resume_with_an_unchanged_option_is_fine(run_copy, one_torch_thread):
    status, _, err = run_cli("train", "--resume", run_copy, "--batch-size", "32", "--epochs", "3", "--threads", "1")
    assert status == 0, err
    assert _history(run_copy) == 3


# --- 4. full disk -------------------------------------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path):
    """A 2 MiB tmpfs (needs the right to mount; skipped elsewhere)."""
    mount = tmp_path / "small"
    mount.mkdir()
    if (
        shutil.which("mount") is None
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True
        ).returncode
    ):
        pytest.skip("cannot mount a size-limited tmpfs here")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def _fill(folder: Path, leave: int) -> Path:
    """Fill ``folder``'s file system with one file, leaving about ``leave`` bytes."""
    stat = os.statvfs(folder)
    filler = folder / "filler"
    filler.write_bytes(b"\0" * max(0, stat.f_bavail * stat.f_frsize - leave))
    return filler


def test_a_full_disk_ends_in_one_line_and_keeps_the_last_good_checkpoint(corpus, small_disk, one_torch_thread):
    run = small_disk / "run"
    status, _, err = _train(corpus, run, "--epochs", "1")
    assert status == 0, err
    config = (run / "config.yaml").read_bytes()
    filler = _fill(small_disk, 0)
    status, _, err = run_cli("train", "--resume", run, "--epochs", "3")  # config.yaml cannot be rewritten
    assert_one_line_error(status, err, "cannot write", "config.yaml", "No space left on device")
    assert (run / "config.yaml").read_bytes() == config and _leftovers(small_disk) == []
    filler.unlink()
    filler = _fill(small_disk, 8192)  # room for config.yaml, not for the next checkpoint
    status, _, err = run_cli("train", "--resume", run, "--epochs", "3", "--threads", "1")
    message = assert_one_line_error(status, err, "cannot write", "No space left on device", "last good checkpoint")
    assert "checkpoints" in message and _leftovers(small_disk) == []
    assert load_checkpoint(run / "checkpoints" / "last.pt")["epoch"] == 0  # epoch 1's state, whole
    filler.unlink()
    status, _, err = run_cli("train", "--resume", run, "--threads", "1")
    assert status == 0, err
    assert _history(run) == 3


def test_an_oserror_while_saving_a_checkpoint_is_one_line(corpus, tmp_path, monkeypatch, one_torch_thread):
    """Where no small file system can be mounted: the write itself fails as a full disk makes it fail."""
    import textcls.training.checkpoints as checkpoints

    calls, fsync = [], os.fsync

    def failing_fsync(fd):
        calls.append(fd)
        if len(calls) > 2:  # epoch 1's best.pt and last.pt are written; epoch 2's first checkpoint fails
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        fsync(fd)

    monkeypatch.setattr(checkpoints.os, "fsync", failing_fsync)
    run = tmp_path / "run"
    status, _, err = _train(corpus, run, "--epochs", "3")
    monkeypatch.undo()
    assert_one_line_error(status, err, "cannot write", "No space left on device", "last good checkpoint")
    assert load_checkpoint(run / "checkpoints" / "last.pt")["epoch"] == 0 and _leftovers(tmp_path) == []
    status, _, err = run_cli("train", "--resume", run, "--threads", "1")
    assert status == 0, err
    assert _history(run) == 3


# --- 5. every run file validated ----------------------------------------------------------------------------------
def _using(run: Path, corpus: dict) -> list[tuple]:
    return [("evaluate", run, corpus["test"]), ("predict", run, "a text"), ("train", "--resume", run, "--epochs", "3")]


def test_an_unknown_key_in_config_yaml_is_refused_by_evaluate_predict_and_resume(run_copy, corpus):
    config = run_copy / "config.yaml"
    config.write_text(config.read_text().replace("training:\n", "training:\n  warmup_stepz: 10\n"))
    for argv in _using(run_copy, corpus):
        status, _, err = run_cli(*argv)
        assert_one_line_error(status, err, str(config), "warmup_stepz")


@pytest.mark.parametrize("name", ["labels.json", "text_field.json", "vocab.json", "columns.json"])
@pytest.mark.parametrize("damage", ["truncated", "wrong shape"])
def test_a_damaged_run_file_is_one_line_naming_it(run_copy, corpus, name, damage):
    path = run_copy / name
    text = path.read_text()
    path.write_text(text[: len(text) // 2] if damage == "truncated" else json.dumps({"labels": 5, "column_names": 5}))
    for argv in _using(run_copy, corpus):
        status, _, err = run_cli(*argv)
        assert_one_line_error(status, err, str(path))


def test_a_vocabulary_that_does_not_match_the_weights_names_both_files(run_copy, corpus, tmp_path, one_torch_thread):
    other = tmp_path / "other-run"
    status, _, err = _train(corpus, other, "--epochs", "1", "--set", "data.max_size=10")
    assert status == 0, err
    assert len(json.loads((other / "vocab.json").read_text())["itos"]) != len(
        json.loads((run_copy / "vocab.json").read_text())["itos"]
    )
    shutil.copy(other / "vocab.json", run_copy / "vocab.json")  # one training's vocabulary, the other's weights
    weights = [run_copy / "model.pt", run_copy / "model.pt", run_copy / "checkpoints" / "last.pt"]  # resume: last.pt
    for argv, checked in zip(_using(run_copy, corpus), weights):
        status, _, err = run_cli(*argv)
        assert_one_line_error(status, err, str(run_copy / "vocab.json"), str(checked), "mixes two trainings")


def test_image_runs_are_created_the_same_way(digits, tmp_path):
    output = tmp_path / "out"
    output.mkdir()
    (output / "notes.txt").write_text("mine")
    status, _, err = run_cli("image", "train", "--data", digits, "--epochs", "1", "--output", output)
    assert_one_line_error(status, err, "not empty", "--overwrite")
    if not torch.cuda.is_available():
        new = tmp_path / "new"
        status, _, err = run_cli("image", "train", "--data", digits, "--device", "cuda", "--output", new)
        assert_one_line_error(status, err, "cuda")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_two_trainings_started_together_into_one_output_give_one_run(corpus, tmp_path, one_torch_thread):
    from textcls.errors import TextclsError

    output = tmp_path / "out"
    first = TextRunDir(output)
    with pytest.raises(TextclsError, match="created by another training meanwhile"):
        with first.training():  # started, its header not yet written
            status, _, err = _train(corpus, output, "--epochs", "1")  # the second one finishes first
            assert status == 0, err
            first.publish()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # the first one's temporary directory is gone
    assert _history(output) == 1 and TextRunDir(output).config()["model"] == "bag"
