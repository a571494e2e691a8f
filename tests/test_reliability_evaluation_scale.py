"""Issue 13 (13d): image evaluation on a one-split source scores the held-out part only, 10,000 classes stay
bounded in time, memory and file sizes, and the CLI reads the book's raw NewsClassification file as given."""

from __future__ import annotations

import json

import pytest
from cli_helpers import run_cli
from generated import write_digits_idx

FAST_IMAGE = ["--model", "fashion-mlp", "--epochs", "1", "--seed", "0", "--device", "cpu", "--threads", "1"]


@pytest.fixture(scope="module")
def image_run(digits, tmp_path_factory):
    """A run trained one epoch on the 1,500 generated digits (one split: 1,200 train, 300 held out)."""
    run_dir = tmp_path_factory.mktemp("image") / "run"
    status, out, err = run_cli("image", "train", "--data", digits, *FAST_IMAGE, "--output", run_dir)
    assert status == 0, err
    return run_dir


def _accuracy(out: str) -> float:
    return float(out.split("accuracy")[1].split("%")[0]) / 100


def test_image_evaluate_on_the_training_source_scores_the_held_out_part(image_run, digits):
    status, out, err = run_cli("image", "evaluate", image_run, digits)
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0] == (
        f"{digits} has one split, the run's training data: scoring the 300 images held out for validation "
        "(of 1,500); --all scores every image, training images included"
    )
    assert lines[1] == "images    300"
    valid = json.loads((image_run / "metrics.json").read_text())["valid"]
    assert _accuracy(out) == pytest.approx(valid["accuracy"], abs=5e-5)  # the same 300 images as training's
    status, out, err = run_cli("image", "evaluate", image_run, digits, "--all")
    assert status == 0, err
    assert out.splitlines()[0] == "images    1,500" and "held out" not in out


def test_image_evaluate_on_another_one_split_source_scores_all_of_it(image_run, tmp_path):
    other = write_digits_idx(tmp_path / "other", count=400, seed=5)
    status, out, err = run_cli("image", "evaluate", image_run, other)
    assert status == 0, err
    assert out.splitlines()[0] == "images    400"


def test_many_class_report_matches_the_dense_matrix_without_building_it():
    """Beyond CONFUSION_LIMIT classes: the most frequent classes' rows and the most frequent cells, exactly."""
    import torch

    from textcls.training import metrics

    classes = metrics.CONFUSION_LIMIT + 50
    generator = torch.Generator().manual_seed(0)
    targets = torch.randint(0, classes, (3000,), generator=generator)
    noise = torch.randint(0, classes, (3000,), generator=generator)
    predictions = torch.where(torch.rand(3000, generator=generator) < 0.6, targets, noise)
    labels = [f"c{i}" for i in range(classes)]
    report = metrics.single_label_report(targets, predictions, labels)
    dense = metrics.confusion_matrix(targets, predictions, classes)
    assert "confusion" not in report and report["per_class_of"] == classes
    assert len(report["per_class"]) == metrics.PER_CLASS_LIMIT
    support = dense.sum(1)
    assert min(r["support"] for r in report["per_class"].values()) >= sorted(support.tolist())[-metrics.PER_CLASS_LIMIT]
    for label, row in report["per_class"].items():
        i = labels.index(label)
        assert row["support"] == support[i] and row["recall"] == pytest.approx(float(dense[i, i] / support[i]))
    assert report["confusion_cells"] == int((dense > 0).sum())
    for true, predicted, count in report["confusion_pairs"]:
        assert dense[labels.index(true), labels.index(predicted)] == count
    counts = [count for _, _, count in report["confusion_pairs"]]
    assert counts == sorted(counts, reverse=True) and counts[0] == int(dense.max())
    assert report["accuracy"] == pytest.approx(float(dense.diag().sum() / 3000))


def _train_many(tmp_path, classes: int):
    from generated import write_many_classes

    files = write_many_classes(tmp_path / f"data{classes}", classes, (4000, 800))
    run = tmp_path / f"run{classes}"
    status, out, err = run_cli("train", files["train"], "--valid", files["valid"], "--model", "bag", "--epochs", "2",
                               "--threads", "1", "--device", "cpu", "--output", run)  # fmt: skip
    assert status == 0, err
    return run, files


def test_many_classes_keep_metrics_and_checkpoints_linear(tmp_path, one_torch_thread):
    """500 → 2,000 classes (4×): metrics.json stays the same size and last.pt grows at most 4× (the output layer
    and its optimizer state), where per-class and confusion data grew 16×; evaluate and predict still work."""
    small, _ = _train_many(tmp_path, 500)
    large, files = _train_many(tmp_path, 2000)
    size = lambda run, name: (run / name).stat().st_size  # noqa: E731
    assert size(large, "metrics.json") < 1.5 * size(small, "metrics.json")
    assert size(large, "metrics.json") < 400_000
    assert size(large, "checkpoints/last.pt") < 4.2 * size(small, "checkpoints/last.pt")
    metrics = json.loads((large / "metrics.json").read_text())
    assert all("per_class" not in epoch["valid"] and "macro_f1" in epoch["valid"] for epoch in metrics["history"])
    assert len(metrics["valid"]["per_class"]) == 100 and metrics["valid"]["per_class_of"] == 2000
    assert 0 < len(metrics["valid"]["confusion_pairs"]) <= 1000
    assert not (large / "confusion.png").exists()
    status, out, err = run_cli("evaluate", large, files["valid"])
    assert status == 0, err
    assert "per class: the 100 most frequent of 2,000 classes" in out and "confusion" not in out
    assert f"accuracy  {metrics['valid']['accuracy']:.2%}" in out
    status, out, err = run_cli("predict", large, "the w1234 of", "--json")
    assert status == 0, err
    labels = [row["label"] for row in json.loads(out)["labels"]]
    assert labels and set(labels) <= {f"c{i}" for i in range(2000)}
