"""The LSTMs' long-text settings (issue 15): ``hidden_size: auto`` and ``sparse_embedding: auto`` settled from the
training lengths when a run is built (64 units and sparse embedding gradients with lazy Adam for long texts, 128
and dense for short ones), printed, saved, rebuilt by evaluate / predict, and overridden by what a user sets."""

from __future__ import annotations

import csv
import random

import pytest
import torch
import yaml
from cli_helpers import assert_one_line_error, run_cli

from textcls.jobs.predict import Predictor
from textcls.models import get_model
from textcls.models.long_texts import LONG_TEXTS_FROM
from textcls.models.lstm import HIDDEN_SIZES, choose_options, choose_size
from textcls.testing import FILLER, write_text_corpus
from textcls.training.lazy_adam import LazyAdam
from textcls.training.optim import build_optimizer

pytestmark = pytest.mark.usefixtures("one_torch_thread")
AUTO = {"hidden_size": "auto", "sparse_embedding": "auto"}


def test_the_median_training_length_decides_and_set_values_are_kept():
    options, line = choose_size([5, LONG_TEXTS_FROM + 1, 400], {**AUTO, "dropout": 0.5})
    assert options == {"hidden_size": 64, "sparse_embedding": True, "dropout": 0.5}
    assert line == "hidden_size 64, sparse_embedding true (chosen for long texts: median 101 tokens > 100)"
    options, line = choose_size([5, LONG_TEXTS_FROM, 400], AUTO)
    assert options == {"hidden_size": HIDDEN_SIZES["short"], "sparse_embedding": False}
    assert "short texts: median 100 tokens ≤ 100" in line
    options, line = choose_size([300] * 5, {"hidden_size": 256, "sparse_embedding": "auto"})
    assert options == {"hidden_size": 256, "sparse_embedding": True} and line.startswith("sparse_embedding true")
    assert choose_size([300] * 5, {"hidden_size": 32, "sparse_embedding": False}) == (
        {"hidden_size": 32, "sparse_embedding": False},
        None,
    )
    options, lines = choose_options([300] * 5, {**AUTO, "encoding": "auto"})
    assert options["encoding"] == "padded" and len(lines) == 2 and lines[1].startswith("hidden_size 64")


def test_a_model_built_without_data_reads_auto_as_the_short_text_settings():
    model = get_model("bilstm", num_outputs=2, vocab_size=30, **AUTO)
    assert model.lstm.hidden_size == HIDDEN_SIZES["short"] and not model.embedding.embedding.sparse
    assert type(build_optimizer(model, "adam", 0.01)) is torch.optim.Adam
    sparse = get_model("bilstm", num_outputs=2, vocab_size=30, hidden_size=8, sparse_embedding=True)
    assert sparse.embedding.embedding.sparse and isinstance(build_optimizer(sparse, "adam", 0.01), LazyAdam)


@pytest.mark.parametrize("option,value,message", [
    ("hidden_size", "big", "model_options.hidden_size must be an integer (int) or one of auto, not 'big'"),
    ("hidden_size", 0, "hidden_size must be at least 1, not 0"),
    ("sparse_embedding", "maybe", "model_options.sparse_embedding must be"),
])  # fmt: skip
def test_bad_values_are_one_line_errors_before_anything_is_written(tmp_path, option, value, message):
    paths = write_text_corpus(tmp_path / "data", rows=(30, 9, 9))
    status, _, err = run_cli(
        *["train", paths["train"], "--valid", paths["valid"], "--model", "bilstm", "--epochs", "1",
         "--set", f"model_options.{option}={value}", "--output", str(tmp_path / "run")]
    )  # fmt: skip
    assert_one_line_error(status, err, message)
    assert not (tmp_path / "run").exists()


def test_sparse_embedding_is_refused_by_a_model_with_its_own_table():
    with pytest.raises(Exception, match="sparse_embedding=True is not available"):
        get_model("bag", num_outputs=2, vocab_size=30, sparse_embedding=True)


def _long_corpus(folder, words: int = LONG_TEXTS_FROM + 5, rows=(90, 30, 30)):
    """The generated corpus with each text lengthened by ``words`` filler words (its two keywords kept)."""
    paths = write_text_corpus(folder, rows=rows)
    rng = random.Random(0)
    for split in ("train", "valid", "test"):
        with open(paths[split], encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        for row in rows[1:]:
            row[0] = " ".join(row[0].split() + rng.choices(FILLER, k=words))
        with open(paths[split], "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(rows)
    return paths


def test_train_on_long_texts_chooses_prints_saves_trains_and_predict_rebuilds_it(tmp_path):
    paths = _long_corpus(tmp_path / "data", rows=(240, 45, 45))
    run = tmp_path / "run"
    status, out, err = run_cli(
        *["train", paths["train"], "--valid", paths["valid"], "--test", paths["test"], "--model", "bilstm",
         "--epochs", "6", "--lr", "0.01", "--set", "training.ema_decay=0", "--output", str(run)]
    )  # fmt: skip
    assert status == 0, err
    assert "model: hidden_size 64, sparse_embedding true (chosen for long texts: median 1" in out
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["model_options"]["hidden_size"] == 64 and saved["model_options"]["sparse_embedding"] is True
    metrics = yaml.safe_load((run / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.9  # lazy Adam trains the sparse embedding and the LSTM
    predictor = Predictor(run)
    assert predictor.model.lstm.hidden_size == 64 and predictor.model.embedding.embedding.sparse
    assert predictor.predict(["goal match " + "the report " * 60])[0][0][0] == "sports"


def test_what_a_user_sets_wins_over_the_long_text_choice(tmp_path):
    paths = _long_corpus(tmp_path / "data")
    run = tmp_path / "run"
    status, out, err = run_cli(
        *["train", paths["train"], "--valid", paths["valid"], "--model", "bilstm", "--epochs", "1",
         "--set", "model_options.hidden_size=24", "--output", str(run)]
    )  # fmt: skip
    assert status == 0, err
    assert "model: sparse_embedding true (chosen for long texts" in out and "hidden_size 64" not in out
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["model_options"]["hidden_size"] == 24


def test_short_texts_keep_the_measured_short_text_settings(tmp_path):
    paths = write_text_corpus(tmp_path / "data", rows=(60, 20, 20))
    run = tmp_path / "run"
    status, out, err = run_cli(
        "train", paths["train"], "--valid", paths["valid"], "--model", "bilstm", "--epochs", "1", "--output", run
    )
    assert status == 0, err
    assert "model: hidden_size 128, sparse_embedding false (chosen for short texts: median" in out
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["model_options"]["hidden_size"] == 128 and saved["model_options"]["sparse_embedding"] is False


def test_cnn_takes_sparse_embedding_gradients_for_long_texts(tmp_path):
    paths = _long_corpus(tmp_path / "data")
    run = tmp_path / "run"
    status, out, err = run_cli(
        "train", paths["train"], "--valid", paths["valid"], "--model", "cnn", "--epochs", "1", "--output", run,
        "--set", "model_options.num_filters=8",
    )  # fmt: skip
    assert status == 0, err
    assert "model: sparse_embedding true (chosen for long texts: median 1" in out
    assert yaml.safe_load((run / "config.yaml").read_text())["model_options"]["sparse_embedding"] is True
    assert Predictor(run).model.embedding.embedding.sparse
