"""``textcls image train → evaluate → predict`` on MNIST-like images, an interrupted run resumed exactly, the
frozen first phase of transfer learning, and the one-line errors.

Runs use 1,500 generated digits (``conftest.write_digits_idx``: each digit drawn with a font, scaled, rotated,
shifted and noisy) as a small IDX directory laid out like MNIST's, so each epoch takes a second or two (the
interrupted run and the one it is compared with use 300 such digits);
``scripts/bench_image.py`` makes the full 8,000 / 2,000 run on the real MNIST files.
"""

from __future__ import annotations

import json

import pytest
import torch
import yaml
from cli_helpers import assert_one_line_error, run_cli
from PIL import Image
from test_image_data import write_pngs

from textcls.image import job as image_job
from textcls.image.idx import read_idx
from textcls.image.job import train_image

FAST = ["--epochs", "2", "--seed", "0", "--device", "cpu", "--threads", "1"]


@pytest.fixture(scope="module")
def mnist_small(digits):
    """1,500 generated digits as ``t10k-*`` IDX files (one split: training data)."""
    return digits


@pytest.fixture(scope="module")
def trained_run(mnist_small, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "cnn"
    status, out, err = run_cli("image", "train", "--model", "mnist-cnn", "--data", mnist_small, *FAST,
                               "--output", run_dir)  # fmt: skip
    assert status == 0, err
    return run_dir, out


def test_train_writes_a_complete_run(trained_run):
    run_dir, out = trained_run
    assert "train 1,200, valid 300 images; 10 classes; input (1, 28, 28)" in out
    for name in ("config.yaml", "labels.json", "preprocess.json", "model.pt", "metrics.json", "curves.png",
                 "confusion.png", "samples.png", "misclassified/epoch-01.png", "misclassified/epoch-02.png",
                 "checkpoints/best.pt", "checkpoints/last.pt"):  # fmt: skip
        assert (run_dir / name).exists(), name
    assert list((run_dir / "tensorboard").iterdir())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert len(metrics["history"]) == 2 and metrics["history"][1]["examples_per_s"] > 0
    assert metrics["valid"]["accuracy"] > 0.85  # a small CNN on 1,200 digits, two epochs
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["format"] == "textcls.image-run/1" and config["model"] == "mnist-cnn"


def test_evaluate_and_predict(trained_run, mnist_small, tmp_path):
    run_dir, _ = trained_run
    status, out, err = run_cli("image", "evaluate", run_dir, mnist_small)
    assert status == 0, err
    assert "images    300" in out and out.count("\n") >= 13  # the held-out part of its training source
    accuracy = float(out.split("accuracy")[1].split("%")[0]) / 100
    assert accuracy > 0.85
    images = read_idx(mnist_small / "t10k-images-idx3-ubyte.gz")[:3]
    paths = []
    for i, image in enumerate(images):
        paths.append(tmp_path / f"digit{i}.png")
        Image.fromarray(image).save(paths[-1])
    status, out, err = run_cli("image", "predict", run_dir, *paths, "--json", "--top-k", "2")
    assert status == 0, err
    rows = [json.loads(line) for line in out.strip().splitlines()]
    assert [row["labels"][0]["label"] for row in rows] == ["7", "2", "1"]  # the first three digits
    assert all(len(row["labels"]) == 2 and row["labels"][0]["probability"] > 0.5 for row in rows)


def test_interrupted_run_resumes_to_the_same_result(few_digits, tmp_path, monkeypatch):
    """mnist-convnet (dropout, batch norm): 2 epochs straight equal 1 epoch, a crash, and --resume."""
    settings = {"files": {"data": str(few_digits)}, "training": {"epochs": 2, "device": "cpu", "progress": False}}
    config = image_job.resolve_config("mnist-convnet", None, [settings])
    straight = train_image(config, tmp_path / "straight")

    original = image_job.MisclassifiedPreviews.on_epoch_end

    def crash_after_first_epoch(self, trainer, result):
        original(self, trainer, result)
        if result.epoch == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(image_job.MisclassifiedPreviews, "on_epoch_end", crash_after_first_epoch)
    with pytest.raises(KeyboardInterrupt):
        train_image(config, tmp_path / "resumed")
    monkeypatch.setattr(image_job.MisclassifiedPreviews, "on_epoch_end", original)
    status, _, err = run_cli("image", "train", "--resume", tmp_path / "resumed", "--threads", "1")
    assert status == 0, err
    resumed = json.loads((tmp_path / "resumed" / "metrics.json").read_text())
    assert len(resumed["history"]) == 2
    assert resumed["valid"]["loss"] == pytest.approx(straight["valid"]["loss"], abs=1e-6)
    assert resumed["valid"]["accuracy"] == straight["valid"]["accuracy"]


def test_frozen_first_phase_trains_only_the_head(tmp_path):
    """resnet50-transfer: phase 1 changes the head only; phase 2 (unfrozen) changes the backbone too."""
    write_pngs(tmp_path / "xray", {"NORMAL": 2, "PNEUMONIA": 2}, size=(64, 64), mode="L")
    status, out, err = run_cli(
        "image", "train", "--model", "resnet50-transfer", "--data", tmp_path / "xray", "--set",
        "model_options.pretrained=false", "--epochs", "2", "--freeze-epochs", "1", "--unfreeze-lr", "0.0001",
        "--valid-split", "0.25", "--batch-size", "3", "--device", "cpu", "--output", tmp_path / "run",
    )  # fmt: skip
    assert status == 0, err
    assert "phase: head only (frozen backbone), 1 epochs" in out and "phase: all layers, 1 epochs" in out
    phase1 = torch.load(tmp_path / "run/phase1/checkpoints/last.pt", weights_only=True)["model"]
    final = torch.load(tmp_path / "run/model.pt", weights_only=True)["model"]
    initial_conv = phase1["conv1.weight"]
    assert not torch.equal(initial_conv, final["conv1.weight"])  # the backbone trained in phase 2
    history = json.loads((tmp_path / "run/metrics.json").read_text())["history"]
    assert len(history) == 2


@pytest.mark.parametrize(
    "argv, fragments",
    [
        (["image", "train", "--model", "no-such-net", "--data", "{mnist}"], ("unknown image model", "lenet")),
        (["image", "train", "--model", "lenet", "--data", "{tmp}/nowhere"], ("image data not found",)),
        (["image", "train", "--model", "lenet", "--data", "mnist", "--root", "{tmp}"], ("MNIST", "place")),
        (["image", "train", "--model", "lenet", "--data", "{mnist}", "--freeze-epochs", "1"], ("no frozen phase",)),
        (["image", "train", "--model", "lenet"], ("needs --data",)),
        (["image", "evaluate", "{tmp}/no-run", "{mnist}"], ("run directory not found",)),
        (["image", "predict", "{run}", "{tmp}/missing.png"], ("image not found",)),
        (["image", "train", "--resume", "{tmp}"], ("not a textcls image run",)),
    ],
    ids=[
        "unknown-model",
        "missing-dir",
        "offline-mnist",
        "freeze-without-freeze",
        "no-data",
        "no-run",
        "missing-image",
        "resume-non-run",
    ],  # fmt: skip
)
def test_user_errors_are_one_line(argv, fragments, mnist_small, trained_run, tmp_path):
    values = {"mnist": str(mnist_small), "tmp": str(tmp_path), "run": str(trained_run[0])}
    status, _, err = run_cli(*[arg.format(**values) for arg in argv])
    assert_one_line_error(status, err, *fragments)
