"""Classification metrics against values computed by hand (and against scikit-learn where it is installed).

Single label: accuracy, macro-F1, per-class precision/recall/F1/support and the confusion matrix (rows: true
label, columns: predicted). Multi-label: subset accuracy, micro- and macro-F1, per-label scores. Also the
``MetricTracker`` that adds batches up over an epoch.
"""

from __future__ import annotations

import pytest
import torch

from textcls.training.metrics import MetricTracker, confusion_matrix, multilabel_report, single_label_report
from textcls.training.task import Task

# Three classes. Confusion (rows true, columns predicted):
#          a  b  c
#     a [  1  1  0 ]
#     b [  0  2  0 ]
#     c [  1  0  2 ]
TARGETS = torch.tensor([0, 0, 1, 1, 2, 2, 2])
PREDICTIONS = torch.tensor([0, 1, 1, 1, 2, 0, 2])
LABELS = ["a", "b", "c"]
# a: tp 1 fp 1 fn 1 → P 1/2 R 1/2 F1 1/2;  b: tp 2 fp 1 fn 0 → P 2/3 R 1 F1 4/5;  c: tp 2 fp 0 fn 1 → P 1 R 2/3 F1 4/5
EXPECTED_PER_CLASS = {
    "a": {"precision": 1 / 2, "recall": 1 / 2, "f1": 1 / 2, "support": 2},
    "b": {"precision": 2 / 3, "recall": 1.0, "f1": 4 / 5, "support": 2},
    "c": {"precision": 1.0, "recall": 2 / 3, "f1": 4 / 5, "support": 3},
}


def approx_rows(rows: dict) -> dict:
    return {label: {k: pytest.approx(v) for k, v in row.items()} for label, row in rows.items()}


def test_confusion_matrix_rows_are_true_labels():
    matrix = confusion_matrix(torch.tensor([0, 0, 0, 2]), torch.tensor([1, 1, 1, 2]), 3)
    assert matrix.tolist() == [[0, 3, 0], [0, 0, 0], [0, 0, 1]]  # three true 0s predicted as 1: row 0, column 1


def test_single_label_report_by_hand():
    report = single_label_report(TARGETS, PREDICTIONS, LABELS)
    assert report["accuracy"] == pytest.approx(5 / 7)
    assert report["macro_f1"] == pytest.approx((1 / 2 + 4 / 5 + 4 / 5) / 3)
    assert report["per_class"] == approx_rows(EXPECTED_PER_CLASS)
    assert report["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 2]]
    assert list(report["per_class"]) == LABELS  # index order is label order


def test_single_label_report_matches_sklearn():
    metrics = pytest.importorskip("sklearn.metrics")
    report = single_label_report(TARGETS, PREDICTIONS, LABELS)
    assert report["accuracy"] == pytest.approx(metrics.accuracy_score(TARGETS, PREDICTIONS))
    assert report["macro_f1"] == pytest.approx(metrics.f1_score(TARGETS, PREDICTIONS, average="macro"))
    assert report["confusion"] == metrics.confusion_matrix(TARGETS, PREDICTIONS).tolist()
    p, r, f, s = metrics.precision_recall_fscore_support(TARGETS, PREDICTIONS)
    for i, label in enumerate(LABELS):
        row = report["per_class"][label]
        assert (row["precision"], row["recall"], row["f1"], row["support"]) == pytest.approx((p[i], r[i], f[i], s[i]))


def test_class_absent_from_data_and_predictions_is_left_out_of_macro_f1():
    """A label that neither occurs nor is predicted (e.g. a rare class missing from a small validation set)
    does not drag macro-F1 down — as in scikit-learn, which averages over the labels seen."""
    report = single_label_report(torch.tensor([0, 1, 1]), torch.tensor([0, 1, 1]), ["a", "b", "never"])
    assert report["macro_f1"] == pytest.approx(1.0)
    assert report["per_class"]["never"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}


def test_class_predicted_but_absent_from_data_counts_in_macro_f1():
    """A label the model predicts but that never occurs is a real mistake: scikit-learn's macro-F1 averages over
    the labels in the targets *or* the predictions, so here (F1 a = 2/3, F1 b = 0) it is 1/3, not 2/3."""
    report = single_label_report(torch.tensor([0, 0]), torch.tensor([0, 1]), ["a", "b"])
    assert report["per_class"]["a"]["f1"] == pytest.approx(2 / 3)
    assert report["per_class"]["b"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert report["macro_f1"] == pytest.approx(1 / 3)


def test_single_label_report_perfect_and_empty():
    perfect = single_label_report(torch.tensor([1, 0, 1]), torch.tensor([1, 0, 1]), ["x", "y"])
    assert (perfect["accuracy"], perfect["macro_f1"]) == (1.0, 1.0)
    empty = single_label_report(torch.tensor([], dtype=torch.long), torch.tensor([], dtype=torch.long), ["x", "y"])
    assert (empty["accuracy"], empty["macro_f1"]) == (0.0, 0.0)
    assert empty["confusion"] == [[0, 0], [0, 0]]


# Multi-label: 4 examples × 3 labels.
ML_TARGETS = torch.tensor([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]])
ML_PREDICTIONS = torch.tensor([[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 1, 1]])
# x: tp 2 fp 0 fn 0 → 1, 1, 1;  y: tp 1 fp 1 fn 1 → 1/2, 1/2, 1/2;  z: tp 1 fp 0 fn 1 → 1, 1/2, 2/3
# micro: tp 4 fp 1 fn 2 → P 4/5 R 2/3 F1 8/11;  subset accuracy: only row 2 is exact → 1/4


def test_multilabel_report_by_hand():
    report = multilabel_report(ML_TARGETS, ML_PREDICTIONS, ["x", "y", "z"])
    assert report["accuracy"] == pytest.approx(1 / 4)
    assert report["micro_f1"] == pytest.approx(8 / 11)
    assert report["macro_f1"] == pytest.approx((1 + 1 / 2 + 2 / 3) / 3)
    assert report["per_class"] == approx_rows(
        {
            "x": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2},
            "y": {"precision": 1 / 2, "recall": 1 / 2, "f1": 1 / 2, "support": 2},
            "z": {"precision": 1.0, "recall": 1 / 2, "f1": 2 / 3, "support": 2},
        }
    )


def test_multilabel_report_matches_sklearn():
    metrics = pytest.importorskip("sklearn.metrics")
    report = multilabel_report(ML_TARGETS, ML_PREDICTIONS, ["x", "y", "z"])
    assert report["accuracy"] == pytest.approx(metrics.accuracy_score(ML_TARGETS, ML_PREDICTIONS))
    assert report["micro_f1"] == pytest.approx(metrics.f1_score(ML_TARGETS, ML_PREDICTIONS, average="micro"))
    assert report["macro_f1"] == pytest.approx(metrics.f1_score(ML_TARGETS, ML_PREDICTIONS, average="macro"))


def test_tracker_adds_batches_up_weighted_by_size():
    task = Task.from_labels(["a", "b", "c"])
    tracker = MetricTracker(task)
    # batch 1: 3 examples, mean loss 1.0, predictions 0, 1, 2 for targets 0, 1, 1
    tracker.update(1.0, torch.eye(3), torch.tensor([0, 1, 1]))
    # batch 2: 1 example, mean loss 3.0, prediction 2 for target 2
    tracker.update(3.0, torch.tensor([[0.0, 0.0, 5.0]]), torch.tensor([2]))
    assert tracker.loss == pytest.approx((3 * 1.0 + 1 * 3.0) / 4)
    assert tracker.accuracy == pytest.approx(3 / 4)
    report = tracker.report()
    assert report["loss"] == pytest.approx(1.5)
    assert report["accuracy"] == pytest.approx(3 / 4)
    assert report["confusion"] == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]


def test_tracker_binary_head_uses_one_logit():
    tracker = MetricTracker(Task.from_labels(["neg", "pos"]))
    tracker.update(0.5, torch.tensor([[2.0], [-2.0], [1.0], [-0.5]]), torch.tensor([1, 0, 0, 0]))
    report = tracker.report()
    assert report["accuracy"] == pytest.approx(3 / 4)
    assert report["confusion"] == [[2, 1], [0, 1]]


def test_tracker_multilabel_is_subset_accuracy():
    tracker = MetricTracker(Task.from_labels(["x", "y"], multilabel=True))
    logits = torch.tensor([[3.0, -3.0], [3.0, 3.0], [-3.0, -3.0]])
    tracker.update(0.2, logits, torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 0.0]]))
    assert tracker.accuracy == pytest.approx(2 / 3)
    assert tracker.report()["micro_f1"] == pytest.approx(2 * 2 / (2 * 2 + 1))  # tp 2, fp 1, fn 0


def test_tracker_without_task_keeps_only_the_loss():
    tracker = MetricTracker(None)
    tracker.update(2.0, torch.zeros(2, 3), torch.tensor([0, 1]))
    assert tracker.report() == {"loss": 2.0}
