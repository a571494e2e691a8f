"""What text and image runs share (``textcls.runs``) and the atomic write behind every file a run keeps.

Covered without data files: the run-directory checks of both kinds (missing directory, no ``config.yaml``,
another kind's or version's format marker, a missing file), weights from ``model.pt`` or else the best
checkpoint, weights that do not fit, image code importing no text package, ``default_run_dir``, ``write_json`` /
``save_yaml`` / plots leaving no temporary files, and a failed write keeping the old file.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import torch

import textcls
from textcls._util import atomic_write, atomic_write_text
from textcls.config import read_yaml, save_yaml
from textcls.errors import TextclsError
from textcls.image.data import Preprocess
from textcls.image.job import ImagePredictor
from textcls.image.models import get_model
from textcls.image.rundir import ImageRunDir
from textcls.jobs.rundir import TextRunDir
from textcls.runs.plots import plot_confusion, plot_learning_curves
from textcls.runs.rundir import default_run_dir, write_json
from textcls.training.checkpoints import save_checkpoint
from textcls.training.task import Task

KINDS = [TextRunDir, ImageRunDir]


def complete_run(kind, path):
    """A run directory of ``kind`` whose files exist (their contents do not matter to :meth:`check`)."""
    run = kind(path)
    run.save_config({"model": "lenet"})
    for name in kind.REQUIRED:
        run.write_json(name, {})
    return run


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.KIND)
def test_a_complete_run_passes_the_check_and_keeps_its_config(kind, tmp_path):
    run = complete_run(kind, tmp_path / "run")
    run.check()
    assert run.config() == {"model": "lenet"}
    assert read_yaml(run.file("config.yaml"))["format"] == kind.FORMAT


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.KIND)
def test_run_directory_mistakes_are_one_line_errors(kind, tmp_path):
    other = ImageRunDir if kind is TextRunDir else TextRunDir
    with pytest.raises(TextclsError, match="run directory not found"):
        kind(tmp_path / "nowhere").check()
    (tmp_path / "empty").mkdir()
    with pytest.raises(TextclsError, match=f"not a textcls {kind.KIND} run directory \\(no config.yaml\\)"):
        kind(tmp_path / "empty").check()
    complete_run(other, tmp_path / "other")
    with pytest.raises(TextclsError) as error:
        kind(tmp_path / "other").check()
    message = str(error.value)
    assert "incompatible" in message and other.FORMAT in message and kind.FORMAT in message
    run = complete_run(kind, tmp_path / "partial")
    run.file(kind.REQUIRED[-1]).unlink()
    with pytest.raises(TextclsError, match=f"incomplete: {kind.REQUIRED[-1]} is missing"):
        run.check()


def image_run(path, labels=("a", "b")) -> tuple[ImageRunDir, torch.nn.Module]:
    torch.manual_seed(0)
    model = get_model("lenet", num_classes=len(labels))
    run = ImageRunDir(path)
    run.save_setup({"model": "lenet", "model_options": {}}, Task("multiclass", list(labels)),
                   Preprocess((1, 28, 28), (0.5,), (0.5,)))  # fmt: skip
    return run, model


def test_weights_come_from_model_pt_else_the_best_checkpoint(tmp_path):
    run, model = image_run(tmp_path / "run")
    with pytest.raises(TextclsError, match=r"no trained weights \(model.pt\); did training finish"):
        ImagePredictor(run.path)
    save_checkpoint(run.checkpoints.best, {"model": model.state_dict(), "epoch": 0})  # an unfinished run
    loaded = ImagePredictor(run.path).model
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in model.state_dict().items())
    assert not loaded.training
    trained = get_model("lenet", num_classes=2)  # other weights, now the final ones
    run.save_weights(trained)
    loaded = ImagePredictor(run.path).model
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in trained.state_dict().items())


def test_weights_that_do_not_fit_the_config_are_a_one_line_error(tmp_path):
    run, _ = image_run(tmp_path / "run", labels=("a", "b", "c"))
    run.save_weights(get_model("lenet", num_classes=2))  # the config says 3 classes
    with pytest.raises(TextclsError) as error:
        ImagePredictor(run.path)
    message = str(error.value)
    assert "model.pt do not fit the saved config" in message and "\n" not in message


def test_image_code_imports_no_text_package():
    """Image code shares only the neutral packages (runs, training, config, registry, errors) with text code."""
    text_packages = ("textcls.jobs", "textcls.models", "textcls.data", "textcls.embeddings", "textcls.vocab")
    package = Path(textcls.__file__).parent / "image"
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            for name in names:
                assert not name.startswith(text_packages), f"{path.name} imports {name}"


def test_default_run_dir_never_reuses_a_directory(tmp_path):
    first = default_run_dir("bag", root=tmp_path)
    assert first.parent == tmp_path and first.name.startswith("bag-")
    first.mkdir()
    second = default_run_dir("bag", root=tmp_path)
    assert second != first and second.name.startswith(first.name) and second.name.endswith("-2")


def test_run_files_are_written_whole_and_leave_no_temporary_files(tmp_path):
    write_json(tmp_path / "metrics.json", {"accuracy": 0.5, "label": "é"})
    save_yaml({"model": "bag", "training": {"lr": 0.001}}, tmp_path / "config.yaml")
    history = [
        {"epoch": 1, "train": {"loss": 1.0, "accuracy": 0.4}, "valid": {"loss": 1.1, "accuracy": 0.3}},
        {"epoch": 2, "train": {"loss": 0.5, "accuracy": 0.8}, "valid": {"loss": 0.7, "accuracy": 0.6}},
    ]
    plot_learning_curves(history, tmp_path / "curves.png")
    plot_confusion([[3, 1], [0, 4]], ["a", "b"], tmp_path / "confusion.png")
    assert json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8")) == {"accuracy": 0.5, "label": "é"}
    assert read_yaml(tmp_path / "config.yaml")["training"]["lr"] == 0.001
    for name in ("curves.png", "confusion.png"):
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml", "confusion.png", "curves.png", "metrics.json"]


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary_one(tmp_path):
    path = atomic_write_text(tmp_path / "deep" / "file.txt", "old")  # missing folders are created

    def half_then_crash(tmp):
        tmp.write_text("half", encoding="utf-8")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, half_then_crash)
    assert path.read_text(encoding="utf-8") == "old"
    assert [p.name for p in path.parent.iterdir()] == ["file.txt"]
