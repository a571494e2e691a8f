"""``--class-weights balanced|FILE`` (config ``data.class_weights``) reaches the trainer's loss; bad files are one
line (README "From a run to Python, and from fastText")."""

from __future__ import annotations

import csv

import pytest
import torch
from cli_helpers import assert_one_line_error, run_cli

from textcls.jobs.train import class_weights
from textcls.training.task import Task

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def write_imbalanced(path, counts: dict[str, int]) -> str:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for label, count in counts.items():
            for number in range(count):
                writer.writerow([f"{label} word{number % 7} more words here", label])
    return str(path)


class Example:
    def __init__(self, label):
        self.label = label


def test_balanced_is_n_over_classes_times_count():
    dataset = [Example("a")] * 6 + [Example("b")] * 2
    weights = class_weights("balanced", dataset, Task("binary", ["a", "b"]))
    assert weights.tolist() == pytest.approx([8 / (2 * 6), 8 / (2 * 2)])


def test_multilabel_runs_refuse_class_weights():
    from textcls.errors import TextclsError

    with pytest.raises(TextclsError, match="applies to single-label runs"):
        class_weights("balanced", [], Task("multilabel", ["a", "b"]))


def test_the_binary_weighted_loss_is_the_weighted_mean():
    task = Task("binary", ["a", "b"])
    loss = task.loss_fn(torch.tensor([1.0, 3.0]))
    logits, targets = torch.tensor([[0.5], [-1.0], [2.0]]), torch.tensor([0, 1, 1])
    each = torch.nn.functional.binary_cross_entropy_with_logits(logits[:, 0], targets.float(), reduction="none")
    weights = torch.tensor([1.0, 3.0, 3.0])
    assert float(loss(logits, targets)) == pytest.approx(float((each * weights).sum() / weights.sum()))


def test_train_prints_and_uses_the_weights(tmp_path):
    train = write_imbalanced(tmp_path / "train.csv", {"rare": 10, "common": 30, "other": 20})
    (tmp_path / "weights.json").write_text('{"rare": 4, "common": 0.5}')
    status, out, err = run_cli("train", train, "--model", "bag", "--epochs", 1, "--class-weights",
                               tmp_path / "weights.json", "--output", tmp_path / "run")  # fmt: skip
    assert status == 0, err
    assert "class weights: common 0.5, other 1, rare 4" in out
    assert (tmp_path / "run" / "config.yaml").read_text().count("class_weights: " + str(tmp_path / "weights.json"))
    status, out, err = run_cli("train", train, "--model", "bag", "--epochs", 1, "--class-weights", "balanced",
                               "--valid-split", 0, "--output", tmp_path / "run2")  # fmt: skip
    assert status == 0, err
    assert "class weights: common 0.667, other 1, rare 2" in out  # 60 / (3 × 30), 60 / (3 × 20), 60 / (3 × 10)


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("w.json", '{"rare": 2, "unseen": 1}', "label 'unseen' is not a label of the training data"),
        ("w.csv", "label,weight\nrare,-1\n", "the weight of 'rare' must be a positive number"),
        ("w.csv", "rare,2,3\n", "expected 'label,weight', got 3 fields"),
        ("w.json", "[1, 2]", "must be a JSON object"),
    ],
)
def test_bad_weights_are_one_line(tmp_path, name, content, message):
    train = write_imbalanced(tmp_path / "train.csv", {"rare": 10, "common": 30})
    (tmp_path / name).write_text(content)
    status, _, err = run_cli("train", train, "--model", "bag", "--epochs", 1, "--class-weights", tmp_path / name,
                             "--output", tmp_path / "run")  # fmt: skip
    assert_one_line_error(status, err, message)
    assert not (tmp_path / "run").exists()  # refused before the run is started
