"""fastText's ``__label__`` files (train, evaluate, test, predict) and ``textcls test``'s N / P@k / R@k, which follow
fastText's ``Meter`` (README "From a run to Python, and from fastText")."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
import torch
from cli_helpers import assert_one_line_error, run_cli

from textcls.data.readers import detect_format, read_table, split_fasttext_line
from textcls.testing import write_text_corpus
from textcls.training.metrics import precision_recall_at_k

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# three examples, three labels: the second has one wrong guess first, the third two true labels
PROBABILITIES = torch.tensor([[0.6, 0.3, 0.1], [0.5, 0.4, 0.1], [0.2, 0.1, 0.7]])
GOLD = [{0}, {1}, {0, 2}]


@pytest.mark.parametrize(
    "k,threshold,predicted,correct",
    [
        (1, None, 3, 2),  # predictions 0, 0, 2: right, wrong, right
        (2, None, 6, 4),  # {0,1} 1 right, {0,1} 1 right, {2,0} 2 right
        (2, 0.35, 4, 3),  # 0.3 and 0.2 dropped: {0}, {0,1}, {2}
        (-1, 0.5, 3, 2),  # all labels, only those >= 0.5: {0}, {0}, {2}
        (-1, None, 9, 4),  # every label of every text: recall 1
    ],
)
def test_precision_and_recall_at_k_by_hand(k, threshold, predicted, correct):
    result = precision_recall_at_k(GOLD, PROBABILITIES, k, threshold)
    assert (result["N"], result["predicted"], result["gold"], result["correct"]) == (3, predicted, 4, correct)
    assert result["precision"] == pytest.approx(correct / predicted)
    assert result["recall"] == pytest.approx(correct / 4)


def test_nothing_predicted_is_nan_as_in_fasttext():
    result = precision_recall_at_k(GOLD, PROBABILITIES, 1, threshold=0.95)
    assert result["predicted"] == 0 and math.isnan(result["precision"]) and result["recall"] == 0.0


def test_fasttext_lines_are_read_as_fasttext_does(tmp_path):
    path = tmp_path / "cooking.train"
    path.write_text("__label__baking __label__bread how to knead dough\n\n  stale __label__bread  crust\n")
    assert detect_format(path) == "fasttext"
    assert split_fasttext_line("  stale __label__bread  crust") == (["bread"], "stale crust")
    rows = [row.values for row in read_table(path).rows]
    assert rows == [
        {"label": ["baking", "bread"], "text": "how to knead dough"},
        {"label": "bread", "text": "stale crust"},
    ]
    (tmp_path / "plain.txt").write_text("a\tb\n")
    assert detect_format(tmp_path / "plain.txt") == "tsv"  # .txt without __label__ stays tab-separated


def write_fasttext(corpus: dict, folder: Path, extra_label_every: int = 0) -> dict:
    """The corpus's csv files as fastText files (``__label__X text``; with ``extra_label_every``, every n-th line
    also gets ``__label__news``)."""
    paths = {}
    for split, source in corpus.items():
        with open(source, encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        lines = []
        for number, row in enumerate(rows):
            extra = " __label__news" if extra_label_every and number % extra_label_every == 0 else ""
            lines.append(f"__label__{row['label']}{extra} {row['text']}")
        paths[split] = folder / f"{split}.txt"
        paths[split].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return paths


@pytest.fixture(scope="module")
def fasttext_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fasttext")
    files = write_fasttext(write_text_corpus(folder / "csv", rows=(120, 30, 30)), folder)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        status, out, err = run_cli("train", files["train"], "--valid", files["valid"], "--model", "bag",
                                   "--epochs", 2, "--output", folder / "run")  # fmt: skip
    finally:
        torch.set_num_threads(threads)
    assert status == 0, err
    return folder / "run", files, out


def test_a_fasttext_file_trains_and_test_prints_n_p_r(fasttext_run):
    run, files, out = fasttext_run
    assert "label: label" in out and "3 classes (multiclass)" in out
    status, out, err = run_cli("evaluate", run, files["test"], "--json")
    assert status == 0, err
    accuracy = json.loads(out)["accuracy"]
    status, out, err = run_cli("test", run, files["test"])
    assert status == 0, err
    # single-label: P@1 = R@1 = accuracy (one prediction and one true label per text)
    assert out.splitlines() == ["N\t30", f"P@1\t{accuracy:.3g}", f"R@1\t{accuracy:.3g}"]
    status, out, err = run_cli("test", run, files["test"], "--k", -1)
    assert status == 0, err
    assert out.splitlines() == ["N\t30", f"P@-1\t{1 / 3:.3g}", "R@-1\t1"]  # every label: 30 right of 90 guesses


def test_test_with_a_threshold_counts_what_predict_keeps(fasttext_run):
    run, files, _ = fasttext_run
    status, out, err = run_cli("test", run, files["test"], "--k", 2, "--threshold", 0.3, "--json")
    assert status == 0, err
    result = json.loads(out)
    status, out, err = run_cli("predict", run, "--file", files["test"], "--k", 2, "--threshold", 0.3, "--json")
    assert status == 0, err
    predicted = [json.loads(line)["labels"] for line in out.splitlines()]
    gold = [line.split()[0].removeprefix("__label__") for line in files["test"].read_text().splitlines()]
    assert result["predicted"] == sum(len(labels) for labels in predicted)
    assert result["correct"] == sum(any(p["label"] == g for p in labels) for labels, g in zip(predicted, gold))
    assert all(p["probability"] >= 0.3 for labels in predicted for p in labels)


def test_predict_leaves_the_label_words_out(fasttext_run):
    run, files, _ = fasttext_run
    first = files["test"].read_text().splitlines()[0]
    status, out, err = run_cli("predict", run, first, "--json")
    assert status == 0, err
    assert json.loads(out)["text"] == split_fasttext_line(first)[1]  # the text that was scored
    status, with_labels, _ = run_cli("predict", run, first)
    status, without, _ = run_cli("predict", run, split_fasttext_line(first)[1])
    assert with_labels == without


def test_a_line_with_several_labels_trains_a_multilabel_run_with_tuned_thresholds(tmp_path):
    files = write_fasttext(write_text_corpus(tmp_path / "csv", rows=(90, 30, 30)), tmp_path, extra_label_every=3)
    status, out, err = run_cli("train", files["train"], "--valid", files["valid"], "--model", "bag", "--epochs", 2,
                               "--output", tmp_path / "run")  # fmt: skip
    assert status == 0, err
    assert "a multi-label model" in out and "(multilabel)" in out
    thresholds = json.loads((tmp_path / "run" / "thresholds.json").read_text())
    assert set(thresholds["per_class"]) == {"business", "news", "science", "sports"}
    assert all(0 < t < 1 for t in [thresholds["global"], *thresholds["per_class"].values()])
    status, out, err = run_cli("evaluate", tmp_path / "run", files["test"], "--json", "--threshold", "0.999")
    assert status == 0, err
    assert json.loads(out)["micro_f1"] == 0.0  # nothing reaches 0.999: the threshold given is the one used
    reports = {}
    for threshold in (None, "per-class", "global", str(thresholds["global"])):
        status, out, err = run_cli("evaluate", tmp_path / "run", files["test"], "--json",
                                   *(["--threshold", threshold] if threshold else []))  # fmt: skip
        assert status == 0, err
        reports[threshold] = json.loads(out)
    assert reports[None] == reports["per-class"]  # the tuned per-label thresholds are the default
    assert reports["global"] == reports[str(thresholds["global"])]
    import textcls

    clf = textcls.load(tmp_path / "run")
    texts = ["goal match team", "shares market"]
    probabilities = clf.predict_proba(texts)
    limits = [thresholds["per_class"][label] for label in clf.labels]
    expected = []
    for row in probabilities:
        over = [i for i in sorted(range(len(row)), key=lambda i: -row[i]) if row[i] >= limits[i]]
        expected.append([clf.labels[i] for i in over or [int(row.argmax())]])
    assert clf.predict(texts) == expected  # per text, the list of its labels over their thresholds
    status, out, err = run_cli("test", tmp_path / "run", files["test"], "--k", -1)
    assert status == 0, err
    gold = sum(len(split_fasttext_line(line)[0]) for line in files["test"].read_text().splitlines())
    assert out.splitlines() == ["N\t30", f"P@-1\t{gold / 120:.3g}", "R@-1\t1"]


def test_format_fasttext_reads_any_file_name(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("".join(f"__label__{'ab'[i % 2]} text number {i} here\n" for i in range(20)))
    status, out, err = run_cli("inspect", path, "--format", "fasttext")
    assert status == 0, err
    assert "examples        20" in out and "classes         2: a (10), b (10)" in out


def test_bad_k_and_threshold_are_one_line(fasttext_run):
    run, files, _ = fasttext_run
    status, _, err = run_cli("test", run, files["test"], "--k", 0)
    assert_one_line_error(status, err, "k must be a positive number of labels or -1")
    status, _, err = run_cli("test", run, files["test"], "--threshold", 2)
    assert_one_line_error(status, err, "threshold must be between 0 and 1")
