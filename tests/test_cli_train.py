"""``textcls train`` → ``evaluate`` → ``predict`` on news files, resuming a killed run, and the one-line errors.

Data: the generated news corpus of ``conftest.write_news_corpus`` in the layouts of the book's AG News files
(``book/{train,valid,test}.csv.gz``: an id, the text and four one-hot label columns, padded with empty columns,
some rows with an unquoted comma, so reading them needs ``--extra-fields merge --merge-sep ';'``) and of AG News's
header-less ``test.csv.gz``; the real book file (marked ``data``) for its damaged line 13. Models are tiny and
train for one epoch. Most commands run in-process through ``textcls.cli.main``; the resume test runs a real
``python -m textcls train`` and kills it with SIGKILL after its first checkpoint.

Every user mistake must end with exit status 2 and exactly one ``textcls: error: ...`` line, no traceback.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from cli_helpers import assert_one_line_error, head, run_cli

REPO = Path(__file__).resolve().parents[1]
BOOK_LABELS = {"Business", "SciTech", "Sports", "World"}
TINY_LSTM = ["--set", "model_options.hidden_size=16", "--set", "model_options.embedding_dim=16"]
FAST = ["--epochs", "1", "--set", "data.max_length=30", "--seed", "0"]
CPU = ["--device", "cpu"]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models train fastest on one thread (and do not fight other processes on a shared machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --- train → evaluate → predict on the book's files ---------------------------------------------------------------


@pytest.fixture(scope="module")
def book_run(generated, tmp_path_factory):
    """A 1-epoch tiny LSTM trained on the generated book-layout files (train / valid / test)."""
    book = generated.book
    run_dir = tmp_path_factory.mktemp("book") / "run"
    status, out, err = run_cli(
        "train", book / "train.csv.gz", "--valid", book / "valid.csv.gz", "--test", book / "test.csv.gz",
        "--model", "lstm", "--extra-fields", "merge", "--merge-sep", ";", "--batch-size", "256",
        *TINY_LSTM, *FAST, *CPU, "--output", run_dir,
    )  # fmt: skip
    assert status == 0, err
    return run_dir, out


def test_train_writes_a_complete_run_dir(book_run):
    run_dir, out = book_run
    assert "data: train 1,200, valid 300, test 400 examples" in out
    assert "4 classes (multiclass)" in out
    assert "test   accuracy" in out and f"run saved in {run_dir}" in out

    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["format"] == "textcls.run/1"
    assert config["model"] == "lstm"
    assert config["model_options"]["hidden_size"] == 16
    assert (config["data"]["extra_fields"], config["data"]["merge_sep"], config["data"]["max_length"]) == (
        "merge", ";", 30,
    )  # fmt: skip
    assert config["training"]["epochs"] == 1

    labels = json.loads((run_dir / "labels.json").read_text())
    assert labels["kind"] == "multiclass" and set(labels["labels"]) == BOOK_LABELS
    columns = json.loads((run_dir / "columns.json").read_text())
    assert columns["one_hot"] and set(columns["label_columns"]) == BOOK_LABELS
    assert columns["text_columns"] == ["content"]
    assert json.loads((run_dir / "text_field.json").read_text())
    assert json.loads((run_dir / "vocab.json").read_text())

    assert "model" in torch.load(run_dir / "model.pt", weights_only=True)
    for name in ("best.pt", "last.pt"):
        assert torch.load(run_dir / "checkpoints" / name, weights_only=True)["epoch"] == 0

    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert len(metrics["history"]) == 1 and metrics["best_epoch"] == 1
    assert set(metrics["test"]) >= {"loss", "accuracy", "macro_f1", "per_class", "confusion"}
    assert sum(map(sum, metrics["test"]["confusion"])) == 400
    assert sum(map(sum, metrics["valid"]["confusion"])) == 300

    for image in ("curves.png", "confusion.png"):
        assert (run_dir / image).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    assert not list(run_dir.rglob("*.tmp"))


def test_evaluate_prints_accuracy_and_per_class_table(book_run, generated):
    run_dir, _ = book_run
    test_file = generated.book / "test.csv.gz"
    before = sorted(path.name for path in run_dir.iterdir())
    status, out, err = run_cli("evaluate", run_dir, test_file)
    assert status == 0, err
    assert sorted(path.name for path in run_dir.iterdir()) == before  # nothing written into the run
    expected = json.loads((run_dir / "metrics.json").read_text())["test"]
    assert "examples  400" in out
    assert f"accuracy  {expected['accuracy']:.2%}" in out  # the same model on the same file as in training
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["label", "precision"])
    rows = {line.split()[0]: line.split()[1:] for line in lines[header + 1 : header + 5]}
    assert set(rows) == BOOK_LABELS
    assert sum(int(row[3].replace(",", "")) for row in rows.values()) == 400
    assert "confusion (rows: true, columns: predicted):" in out


def parse_prediction(line: str) -> list[tuple[str, float]]:
    labels, _text = line.split("\t", 1)
    parts = labels.split()
    return [(parts[i], float(parts[i + 1])) for i in range(0, len(parts), 2)]


def test_predict_top_k_with_probabilities(book_run):
    run_dir, _ = book_run
    status, out, err = run_cli("predict", run_dir, "Stocks fell on Wall Street", "The team won the cup", "--top-k", "2")
    assert status == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("\tStocks fell on Wall Street")
    for line in lines:
        top = parse_prediction(line)
        assert len(top) == 2 and {label for label, _ in top} <= BOOK_LABELS
        probabilities = [p for _, p in top]
        assert probabilities == sorted(probabilities, reverse=True)
        assert all(0 <= p <= 1 for p in probabilities) and sum(probabilities) <= 1 + 1e-3


def test_predict_json_lines(book_run):
    run_dir, _ = book_run
    status, out, err = run_cli("predict", run_dir, "Oil prices rose", "New chip from Intel", "--json", "--top-k", "9")
    assert status == 0, err
    records = [json.loads(line) for line in out.strip().splitlines()]
    assert [r["text"] for r in records] == ["Oil prices rose", "New chip from Intel"]
    for record in records:
        assert {item["label"] for item in record["labels"]} == BOOK_LABELS  # top-k capped at the 4 classes
        assert sum(item["probability"] for item in record["labels"]) == pytest.approx(1.0, abs=1e-5)


def test_predict_from_stdin_with_file_dash(book_run, monkeypatch):
    run_dir, _ = book_run
    monkeypatch.setattr(sys, "stdin", io.StringIO("Stocks fell on Wall Street\n\nThe team won the cup\n"))
    status, out, err = run_cli("predict", run_dir, "--file", "-", "--top-k", "1")
    assert status == 0, err
    lines = out.splitlines()  # the blank line keeps its place (issue 13: one output line per input line)
    assert [line.split("\t")[1] for line in lines] == ["Stocks fell on Wall Street", "", "The team won the cup"]


def test_predict_from_stdin_with_positional_dash(book_run, monkeypatch):
    """``predict RUN -`` reads standard input, as the help of the ``texts`` argument promises."""
    run_dir, _ = book_run
    monkeypatch.setattr(sys, "stdin", io.StringIO("Stocks fell on Wall Street\nThe team won the cup\n"))
    status, out, err = run_cli("predict", run_dir, "-", "--top-k", "1")
    assert status == 0, err
    lines = out.strip().splitlines()
    assert [line.split("\t")[1] for line in lines] == ["Stocks fell on Wall Street", "The team won the cup"]


def test_predict_from_file(book_run, tmp_path):
    run_dir, _ = book_run
    texts = tmp_path / "texts.txt"
    texts.write_text("Stocks fell on Wall Street\n\nThe team won the cup\n", encoding="utf-8")
    status, out, err = run_cli("predict", run_dir, "--file", texts)
    assert status == 0, err
    assert len(out.splitlines()) == 3  # one line per input line, the blank one too


def test_models_lists_the_five_models():
    status, out, _ = run_cli("models")
    assert status == 0
    assert [line.split()[0] for line in out.strip().splitlines()] == ["bag", "bilstm", "cnn", "lstm", "multilstm"]


# --- header-less AG News with a bag model ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def ag_bag_run(generated, tmp_path_factory):
    """A bag model trained 1 epoch on the generated header-less AG-layout test.csv.gz (1,200 rows), named columns."""
    run_dir = tmp_path_factory.mktemp("agnews") / "run"
    status, out, err = run_cli(
        "train", generated.ag_news, "--columns", "label,title,description",
        "--model", "bag", "--set", "model_options.buckets=1000", "--set", "model_options.embedding_dim=16",
        "--batch-size", "64", *FAST, *CPU, "--output", run_dir,
    )  # fmt: skip
    assert status == 0, err
    return run_dir, out


def test_headerless_ag_news_with_named_columns(ag_bag_run):
    run_dir, out = ag_bag_run
    assert "text: title + description; label: label" in out
    assert "data: train 1,080, valid 120 examples" in out
    columns = json.loads((run_dir / "columns.json").read_text())
    assert columns["has_header"] is False
    assert columns["column_names"] == ["label", "title", "description"]
    labels = json.loads((run_dir / "labels.json").read_text())
    assert labels["kind"] == "multiclass" and sorted(labels["labels"]) == ["1", "2", "3", "4"]
    assert json.loads((run_dir / "metrics.json").read_text())["valid"]["accuracy"] > 0


def test_predict_with_a_bag_model(ag_bag_run):
    """The bag model trains with sparse gradients (SGD); predicting must not need an optimizer for them."""
    run_dir, _ = ag_bag_run
    status, out, err = run_cli("predict", run_dir, "Stocks fell on Wall Street")
    assert status == 0, err
    assert len(parse_prediction(out.strip())) == 3


def test_evaluate_with_a_bag_model(ag_bag_run, generated, tmp_path):
    run_dir, _ = ag_bag_run
    sample = head(generated.ag_news, tmp_path / "sample.csv", 200)
    status, out, err = run_cli("evaluate", run_dir, sample)
    assert status == 0, err
    assert "examples  200" in out


def test_evaluate_file_with_a_label_the_model_never_saw(ag_bag_run, tmp_path):
    run_dir, _ = ag_bag_run
    other = tmp_path / "other.csv"
    other.write_text('"1","Stocks","Stocks fell"\n"5","Weather","Rain is coming"\n', encoding="utf-8")
    status, _, err = run_cli("evaluate", run_dir, other)
    assert_one_line_error(status, err, "'5'", "never saw")


# --- a killed run, resumed ------------------------------------------------------------------------------------


def test_killed_run_resumes_to_the_same_result(generated, tmp_path):
    """``python -m textcls train --epochs 3`` is SIGKILLed once ``checkpoints/last.pt`` exists; ``train --resume``
    must then end with exactly the metrics of an uninterrupted run with the same seed."""
    book = generated.book
    train = head(book / "train.csv.gz", tmp_path / "train.csv", 1201)
    valid = head(book / "valid.csv.gz", tmp_path / "valid.csv", 201)
    test = head(book / "test.csv.gz", tmp_path / "test.csv", 301)
    args = [
        "train", train, "--valid", valid, "--test", test, "--model", "lstm", "--extra-fields", "merge",
        "--merge-sep", ";", "--epochs", "3", "--batch-size", "16", "--set", "data.max_length=30", *TINY_LSTM,
        "--device", "cpu", "--seed", "3",
    ]  # fmt: skip
    killed = tmp_path / "killed"
    last = killed / "checkpoints" / "last.pt"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "textcls", *map(str, args), "--threads", "1", "--output", str(killed)]
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not last.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL, f"the run ended on its own before it was killed: {stderr[-2000:]}"
    done = torch.load(last, weights_only=True)["epoch"] + 1
    assert 1 <= done < 3 and not (killed / "metrics.json").exists()

    status, out, err = run_cli("train", "--resume", killed)
    assert status == 0, err
    assert f"epoch  {done + 1}/3" in out and "epoch  1/3" not in out

    straight = tmp_path / "straight"
    status, _, err = run_cli(*args, "--output", straight)
    assert status == 0, err

    resumed_metrics = json.loads((killed / "metrics.json").read_text())
    straight_metrics = json.loads((straight / "metrics.json").read_text())
    assert resumed_metrics["test"] == straight_metrics["test"]
    assert resumed_metrics["valid"] == straight_metrics["valid"]
    assert resumed_metrics["best_epoch"] == straight_metrics["best_epoch"]
    timing = ("seconds", "examples_per_s", "tokens_per_s")
    strip = lambda history: [{k: v for k, v in row.items() if k not in timing} for row in history]  # noqa: E731
    assert strip(resumed_metrics["history"]) == strip(straight_metrics["history"])


# --- one-line errors ------------------------------------------------------------------------------------------


@pytest.fixture
def csv_files(tmp_path):
    """Tiny csv files for the error cases."""
    files = {
        "two": ["the market rallied today,business", "stocks fell sharply amid fears,business",
                "the match ended in a draw,sports", "the striker scored twice in the final,sports"],
        "one": ["the market rallied today,business", "stocks fell sharply,business", "banks raised rates,business"],
        "unseen": ["the storm is coming,weather"],
        "three": ["the market rallied today,business", "stocks fell sharply,business", "the match ended,sports"],
    }  # fmt: skip
    for name, rows in files.items():
        (tmp_path / f"{name}.csv").write_text("text,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return tmp_path


TRAIN_ERRORS = [
    pytest.param(["missing.csv"], ("missing.csv", "not found"), id="missing-file"),
    pytest.param(["two.csv", "--model", "transformer"], ("unknown model 'transformer'",), id="unknown-model"),
    pytest.param(["two.csv", "--set", "data.bogus=1"], ("bogus",), id="set-data-bogus"),
    pytest.param(["two.csv", "--set", "training.bogus=1"], ("bogus",), id="set-training-bogus"),
    pytest.param(["two.csv", "--set", "model_options.bogus=1"], ("bogus",), id="set-model-options-bogus"),
    pytest.param(["two.csv", "--set", "nosection.key=1"], ("nosection",), id="set-unknown-section"),
    pytest.param(["two.csv", "--set", "training.lr"], ("--set",), id="set-without-value"),
    pytest.param(["one.csv"], ("only one class", "business"), id="one-class"),
    pytest.param(["two.csv", "--test", "unseen.csv"], ("'weather'", "never seen in training"), id="unseen-test-label"),
    pytest.param(["three.csv", "--valid-split", "0.1"], ("validation split is empty",), id="empty-valid-split"),
    pytest.param(["two.csv", "--vectors", "no-such-vectors.txt"], ("no-such-vectors.txt",), id="vectors-missing"),
    pytest.param(["two.csv", "--device", "quantum"], ("quantum",), id="unknown-device"),
]


@pytest.mark.parametrize(("argv", "fragments"), TRAIN_ERRORS)
def test_train_errors_are_one_line(csv_files, monkeypatch, argv, fragments):
    monkeypatch.chdir(csv_files)
    monkeypatch.setenv("TEXTCLS_CACHE_DIR", str(csv_files / "cache"))
    defaults = [] if "--model" in argv else ["--model", "lstm"]
    defaults += [] if "--valid-split" in argv else ["--valid-split", "0"]
    defaults += [] if "--device" in argv else CPU
    status, _, err = run_cli("train", *argv, *defaults, *FAST, "--output", "run")
    assert_one_line_error(status, err, *fragments)


def test_error_in_a_real_process_exits_2_with_one_line(tmp_path):
    """The same contract through ``python -m textcls`` (its exit status comes from ``sys.exit(main())``)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "textcls", "train", str(tmp_path / "missing.csv"), "--model", "bag"]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.stdout == ""
    assert_one_line_error(done.returncode, done.stderr, "missing.csv", "not found")


@pytest.fixture
def damaged_runs(book_run, tmp_path):
    """Copies of the book run: one whose config says another format version, one whose model.pt is cut short,
    one whose model.pt is not a checkpoint at all."""
    source, _ = book_run
    ignore = shutil.ignore_patterns("tensorboard", "*.png", "checkpoints")
    old = shutil.copytree(source, tmp_path / "old", ignore=ignore)
    config = yaml.safe_load((old / "config.yaml").read_text())
    config["format"] = "textcls.run/0"
    (old / "config.yaml").write_text(yaml.safe_dump(config))
    cut = shutil.copytree(source, tmp_path / "cut", ignore=ignore)
    weights = (cut / "model.pt").read_bytes()
    (cut / "model.pt").write_bytes(weights[: len(weights) // 2])
    garbage = shutil.copytree(source, tmp_path / "garbage", ignore=ignore)
    (garbage / "model.pt").write_bytes(b"not a checkpoint")
    return {"old": old, "cut": cut, "garbage": garbage, "missing": tmp_path / "no-such-run", "good": source}


RUN_ERRORS = [
    pytest.param(["evaluate", "{missing}", "{file}"], ("run directory not found",), id="evaluate-missing-run"),
    pytest.param(["predict", "{missing}", "some text"], ("run directory not found",), id="predict-missing-run"),
    pytest.param(["train", "--resume", "{missing}"], ("run directory not found",), id="resume-missing-run"),
    pytest.param(["evaluate", "{old}", "{file}"], ("incompatible", "textcls.run/0"), id="evaluate-old-format"),
    pytest.param(["predict", "{old}", "some text"], ("incompatible", "textcls.run/0"), id="predict-old-format"),
    pytest.param(["train", "--resume", "{old}"], ("incompatible", "textcls.run/0"), id="resume-old-format"),
    pytest.param(["evaluate", "{good}", "{missing}.csv"], ("not found",), id="evaluate-missing-file"),
    pytest.param(["predict", "{good}", "--file", "{missing}.txt"], ("file not found",), id="predict-missing-file"),
    pytest.param(["predict", "{cut}", "some text"], ("model.pt",), id="predict-truncated-weights"),
    pytest.param(["predict", "{garbage}", "some text"], ("model.pt",), id="predict-garbage-weights"),
    pytest.param(["evaluate", "{garbage}", "{file}"], ("model.pt",), id="evaluate-garbage-weights"),
]


@pytest.mark.parametrize(("argv", "fragments"), RUN_ERRORS)
def test_run_dir_errors_are_one_line(damaged_runs, generated, argv, fragments):
    paths = {**{k: str(v) for k, v in damaged_runs.items()}, "file": str(generated.book / "test.csv.gz")}
    status, _, err = run_cli(*(part.format(**paths) for part in argv))
    assert_one_line_error(status, err, *fragments)


def test_predict_with_nothing_to_predict(book_run, monkeypatch, tmp_path):
    run_dir, _ = book_run
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert_one_line_error(*run_cli("predict", run_dir)[::2], "nothing to predict")
    blank = tmp_path / "blank.txt"
    blank.write_text("\n  \n", encoding="utf-8")
    assert_one_line_error(*run_cli("predict", run_dir, "--file", blank)[::2], "nothing to predict")
