"""Issue 15's input cases: empty texts are valid rows for every registered text model (training keeps them and
says how many; evaluation scores every row of a file), ``--bad-rows skip`` on a test file is counted in the run
header and the metrics, and a 200,000-character field reads through the command line from csv, tsv, json and
jsonl. Generated data only."""

from __future__ import annotations

import csv
import json
import random

import pytest
import torch
from cli_helpers import run_cli

from textcls.models.registry import MODELS
from textcls.testing import TOPICS

pytestmark = pytest.mark.usefixtures("one_torch_thread")
QUICK = ["--epochs", "1", "--threads", "1", "--device", "cpu", "--batch-size", "16"]
SMALL = {"lstm": ["--set", "model_options.hidden_size=8"], "bilstm": ["--set", "model_options.hidden_size=8"],
         "multilstm": ["--set", "model_options.hidden_size=8"], "cnn": ["--set", "model_options.num_filters=8"],
         "bag": ["--set", "model_options.buckets=100"]}  # fmt: skip


def _rows(count: int, seed: int, empty_every: int = 0) -> list[tuple[str, str]]:
    """``(text, label)`` rows of the testing topics; every ``empty_every``-th text empty (or only spaces)."""
    rng = random.Random(seed)
    labels = sorted(TOPICS)
    rows = []
    for number in range(count):
        label = labels[number % len(labels)]
        text = " ".join(rng.sample(TOPICS[label], 3) + ["the", "news"])
        if empty_every and number % empty_every == 0:
            text = "" if number % (2 * empty_every) == 0 else "   "
        rows.append((text, label))
    return rows


def _write_csv(path, rows, delimiter=","):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def with_empty(tmp_path_factory):
    folder = tmp_path_factory.mktemp("empty")
    train = _write_csv(folder / "train.csv", _rows(90, 0, empty_every=30))  # 3 empty texts
    test = _write_csv(folder / "test.csv", _rows(40, 1, empty_every=10))  # 4 empty texts
    return train, test


@pytest.mark.parametrize("model", MODELS.names())
def test_every_model_trains_with_empty_texts_and_scores_every_test_row(model, with_empty, tmp_path):
    train, test = with_empty
    run = tmp_path / "run"
    status, out, err = run_cli("train", train, "--test", test, "--valid-split", "0", "--model", model,
                               *SMALL.get(model, []), *QUICK, "--output", run)  # fmt: skip
    assert status == 0, err
    assert "data: 3 empty texts in train kept" in out and "data: 4 empty texts in test kept" in out
    metrics = json.loads((run / "metrics.json").read_text())["test"]
    assert sum(map(sum, metrics["confusion"])) == 40  # every row of the file scored
    assert (metrics["examples"], metrics["empty_texts"], metrics["rows_skipped"]) == (40, 4, 0)

    status, out, err = run_cli("evaluate", run, test, "--output", run.parent / "evaluated.json")
    assert status == 0, err
    assert "examples  40" in out and "empty     4 empty texts" in out
    evaluated = json.loads((run.parent / "evaluated.json").read_text())
    assert evaluated["confusion"] == metrics["confusion"]
    status, out, err = run_cli("predict", run, "", "goal match", "  ")
    assert status == 0, err
    first, _, third = (line.split("\t")[0] for line in out.splitlines())
    assert first == third  # an empty text gets a prediction, the same every time


def test_an_empty_text_is_one_unknown_token_to_every_model(with_empty, tmp_path):
    """The batches give an empty text length 1 (``<unk>``): the same input ``Predictor`` makes of ``""``."""
    from textcls.data.columns import choose_columns
    from textcls.data.loader import TextBatches
    from textcls.jobs.train import make_fields, read_file

    train, _ = with_empty
    text_field, label_field = make_fields({})
    dataset = read_file(train, choose_columns(train), text_field, label_field, {})
    text_field.build_vocab(dataset)
    label_field.build_vocab(dataset)
    batches = TextBatches(dataset, text_field, label_field, batch_size=200, order="sequential")
    tokens, lengths = next(iter(batches)).inputs
    assert lengths[0] == 1 and tokens[0, 0] == text_field.vocab.stoi["<unk>"]
    assert torch.all(lengths > 0)


def test_bad_rows_skipped_from_a_test_file_are_counted_and_named(with_empty, tmp_path):
    train, _ = with_empty
    rows = _rows(20, 2)
    test = tmp_path / "test.csv"
    _write_csv(test, rows[:5] + [("a text without its label", "")] + rows[5:] + [("no label either", "nan")])
    run = tmp_path / "run"
    status, out, err = run_cli("train", train, "--test", test, "--valid-split", "0", "--model", "bag",
                               "--bad-rows", "skip", *QUICK, "--output", run)  # fmt: skip
    assert status == 0, err
    assert "data: 2 rows of the test file skipped (bad rows); test scores are over the 20 rows kept" in out
    metrics = json.loads((run / "metrics.json").read_text())["test"]
    assert (metrics["examples"], metrics["rows_skipped"]) == (20, 2)
    assert sum(map(sum, metrics["confusion"])) == 20
    status, out, err = run_cli("evaluate", run, test, "--json")  # the run's read options: --bad-rows skip
    assert status == 0, err
    assert json.loads(out)["rows_skipped"] == 2
    status, out, err = run_cli("evaluate", run, test)
    assert status == 0, err
    assert "examples  20" in out and "skipped   2 rows of the file (bad rows): not in these scores" in out


BIG = 200_000


@pytest.fixture(scope="module")
def big_rows():
    rng = random.Random(3)
    rows = _rows(30, 4)
    words = TOPICS[rows[2][1]]
    text = " ".join(rng.choice(words) for _ in range(BIG // 4))[:BIG]
    rows[2] = (text, rows[2][1])
    assert len(text) == BIG
    return rows


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json", "jsonl"])
def test_a_200000_character_field_reads_through_the_command_line(fmt, big_rows, tmp_path):
    path = tmp_path / f"big.{fmt}"
    if fmt in ("csv", "tsv"):
        _write_csv(path, big_rows, delimiter="," if fmt == "csv" else "\t")
    else:
        records = [{"text": text, "label": label} for text, label in big_rows]
        body = json.dumps(records) if fmt == "json" else "".join(json.dumps(r) + "\n" for r in records)
        path.write_text(body, encoding="utf-8")
    longest = len(big_rows[2][0].split())
    status, out, err = run_cli("inspect", path)
    assert status == 0, err
    assert "examples        30" in out and f"max {longest}" in out
    run = tmp_path / "run"
    status, out, err = run_cli("train", path, "--test", path, "--valid-split", "0", "--model", "bag", *QUICK,
                               "--output", run)  # fmt: skip
    assert status == 0, err
    assert sum(map(sum, json.loads((run / "metrics.json").read_text())["test"]["confusion"])) == 30
