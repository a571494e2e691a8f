"""``textcls evaluate``'s report: ``--top-k``, macro / weighted averages (as scikit-learn's), the labelled confusion
matrix, ``--json`` and ``--output``, and nothing written into the run directory (README "From a run to Python, and
from fastText")."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from cli_helpers import run_cli

import textcls
from textcls.training.metrics import multilabel_report, single_label_report

pytestmark = pytest.mark.usefixtures("one_torch_thread")
TARGETS = [0, 0, 1, 1, 1, 2, 2, 2, 2, 0]
PREDICTIONS = [0, 1, 1, 1, 2, 2, 2, 0, 2, 0]


def test_macro_and_weighted_averages_match_sklearn():
    metrics = pytest.importorskip("sklearn.metrics")
    report = single_label_report(torch.tensor(TARGETS), torch.tensor(PREDICTIONS), ["a", "b", "c"])
    for average in ("macro", "weighted"):
        precision, recall, f1, _ = metrics.precision_recall_fscore_support(TARGETS, PREDICTIONS, average=average)
        assert report[f"{average}_precision"] == pytest.approx(precision)
        assert report[f"{average}_recall"] == pytest.approx(recall)
        assert report[f"{average}_f1"] == pytest.approx(f1)


def test_multilabel_averages_match_sklearn():
    metrics = pytest.importorskip("sklearn.metrics")
    targets = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]])
    predictions = np.array([[1, 0, 0], [0, 1, 1], [1, 0, 0], [0, 0, 1]])
    report = multilabel_report(torch.tensor(targets), torch.tensor(predictions), ["a", "b", "c"])
    for average in ("macro", "weighted"):
        precision, recall, f1, _ = metrics.precision_recall_fscore_support(
            targets, predictions, average=average, zero_division=0
        )
        assert (report[f"{average}_precision"], report[f"{average}_recall"], report[f"{average}_f1"]) == (
            pytest.approx(precision),
            pytest.approx(recall),
            pytest.approx(f1),
        )


def test_json_output_and_nothing_in_the_run_directory(small_run, tmp_path):
    run, corpus = small_run
    before = sorted(path.name for path in run.iterdir())
    status, out, err = run_cli("evaluate", run, corpus["test"], "--json")
    assert status == 0, err
    report = json.loads(out)
    assert report["labels"] == ["business", "science", "sports"] and report["examples"] == 30
    assert sum(map(sum, report["confusion"])) == 30
    # two test files of the same name in two folders: each report goes where it is asked, nothing is overwritten
    other = tmp_path / "other" / "test.csv"
    other.parent.mkdir()
    other.write_text("\n".join(open(corpus["test"]).read().splitlines()[:11]) + "\n")
    assert run_cli("evaluate", run, corpus["test"], "--output", tmp_path / "a.json")[0] == 0
    assert run_cli("evaluate", run, other, "--output", tmp_path / "b.json")[0] == 0
    assert json.loads((tmp_path / "a.json").read_text()) == report
    assert json.loads((tmp_path / "b.json").read_text())["examples"] == 10
    assert sorted(path.name for path in run.iterdir()) == before


def test_top_k_accuracy_and_the_printed_report(small_run):
    run, corpus = small_run
    status, out, err = run_cli("evaluate", run, corpus["test"], "--top-k", 2)
    assert status == 0, err
    clf = textcls.load(run)
    import csv

    with open(corpus["test"], encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    probabilities = clf.predict_proba([row["text"] for row in rows])
    top2 = np.argsort(-probabilities, axis=1)[:, :2]
    expected = np.mean([clf.labels.index(row["label"]) in top for row, top in zip(rows, top2)])
    assert f"top-2 accuracy  {expected:.2%}" in out
    report = json.loads(run_cli("evaluate", run, corpus["test"], "--json")[1])
    lines = out.splitlines()
    assert f"weighted                 {report['weighted_precision']:.3f}     {report['weighted_recall']:.3f}" in out
    header = lines.index("confusion (rows: true, columns: predicted):") + 1
    assert lines[header].split() == ["business", "science", "sports"]  # the labels over the columns
    assert [int(n) for n in lines[header + 1].split()[1:]] == report["confusion"][0]


def test_a_threshold_for_a_single_label_run_is_refused_in_one_line(small_run):
    from cli_helpers import assert_one_line_error

    run, corpus = small_run
    status, _, err = run_cli("evaluate", run, corpus["test"], "--threshold", "0.5")
    assert_one_line_error(status, err, "a threshold decides the labels of multi-label runs; this one is multiclass")
