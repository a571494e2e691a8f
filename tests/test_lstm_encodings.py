"""The LSTM family's encodings (``textcls/models/lstm.py``, issue 15): ``padded`` (the default: the packed LSTM's
outputs at the cost of a padded one), ``windows`` (long texts read as windows of one batch) and ``packed`` (the old
path), the ``encoding: auto`` choice made from the training data when a run is built, saved and used again at
evaluate / predict time, and the model contract for each encoding."""

from __future__ import annotations

import csv
import json

import pytest
import torch
import yaml
from cli_helpers import assert_one_line_error, run_cli

from textcls.errors import TextclsError
from textcls.jobs.predict import Predictor, evaluate_file
from textcls.jobs.rundir import TextRunDir
from textcls.models import get_model
from textcls.models.lstm import WINDOWS_FROM, choose_encoding
from textcls.testing import check_text_model, write_text_corpus

pytestmark = pytest.mark.usefixtures("one_torch_thread")
VOCAB, PAD = 50, 1
FAMILY = ("lstm", "multilstm", "bilstm")
POOLINGS = ("last", "max", "mean", "max+mean")


def _models(name: str, pooling: str, window: int = 8, **options):
    """The same weights under each encoding: ``{encoding: model}`` (evaluation mode, no dropout)."""
    models = {}
    for encoding in ("packed", "padded", "windows"):
        torch.manual_seed(0)
        models[encoding] = get_model(
            name, num_outputs=3, vocab_size=VOCAB, padding_idx=PAD, embedding_dim=8, hidden_size=6, dropout=0.0,
            pooling=pooling, encoding=encoding, window=window, **options,
        ).eval()  # fmt: skip
    for model in models.values():
        model.load_state_dict(models["packed"].state_dict())
    return models


def _batch(lengths, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    tokens = torch.randint(2, VOCAB, (len(lengths), max(lengths)), generator=generator)
    for row, length in enumerate(lengths):
        tokens[row, length:] = PAD
    return tokens, torch.tensor(lengths)


@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("name", FAMILY)
def test_padded_and_windowed_encoding_equal_whole_sequence_encoding_on_texts_shorter_than_the_window(name, pooling):
    models = _models(name, pooling, window=8)
    tokens, lengths = _batch([7, 3, 5, 1])
    with torch.no_grad():
        whole = models["packed"](tokens, lengths)
        for encoding in ("padded", "windows"):
            assert torch.allclose(models[encoding](tokens, lengths), whole, atol=1e-6), encoding


@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("name", [*FAMILY, "bilstm-2-layers"])
def test_padded_encoding_is_exact_at_any_length_and_in_training_mode(name, pooling):
    """The backward direction reads each text reversed within its length: no padding reaches a real token, so the
    logits and every gradient are the packed LSTM's (dropout off, so training mode is deterministic)."""
    options = {"num_layers": 2} if name == "bilstm-2-layers" else {}
    models = _models(name.split("-")[0], pooling, **options)
    tokens, lengths = _batch([60, 3, 41, 1, 17])
    grads = {}
    for encoding in ("packed", "padded"):
        model = models[encoding].train()
        logits = model(tokens, lengths)
        logits.square().sum().backward()
        grads[encoding] = (logits.detach(), {n: p.grad.clone() for n, p in model.named_parameters()})
    assert torch.allclose(grads["padded"][0], grads["packed"][0], atol=1e-5)
    for key, grad in grads["packed"][1].items():
        assert torch.allclose(grads["padded"][1][key], grad, atol=1e-5), key


@pytest.mark.parametrize("name", FAMILY)
def test_windows_read_a_long_text_as_its_windows_and_leave_short_batchmates_unchanged(name):
    """Features (the output layer taken off) of a 11-token text with ``window=4``, max pooling: the elementwise
    max of its three windows' features, each read alone by the whole-sequence model; texts of ≤ 4 tokens in the
    same batch get the logits they get alone."""
    models = _models(name, "max", window=4)
    tokens, lengths = _batch([3, 11, 4])
    with torch.no_grad():
        together = models["windows"](tokens, lengths)
        for row in (0, 2):
            alone = models["packed"](tokens[row : row + 1, : lengths[row]], lengths[row : row + 1])
            assert torch.allclose(together[row : row + 1], alone, atol=1e-6)
        for model in models.values():
            model.output = torch.nn.Identity()
        features = models["windows"](tokens[1:2], lengths[1:2])
        pieces = [tokens[1:2, start : start + 4] for start in (0, 4, 8)]
        expected = torch.stack([models["packed"](p, torch.tensor([p.shape[1]])) for p in pieces]).max(dim=0).values
        assert torch.allclose(features, expected, atol=1e-6)
        assert not torch.allclose(features, models["packed"](tokens[1:2], lengths[1:2]), atol=1e-4)


def test_the_comparison_mode_cannot_be_combined_with_windows_and_unknown_encodings_are_one_line():
    with pytest.raises(TextclsError, match="cannot use encoding windows"):
        get_model("bilstm", num_outputs=2, vocab_size=VOCAB, packed=False, encoding="windows")
    with pytest.raises(TextclsError, match="unknown encoding 'chunks'; choose one of auto, packed, padded, windows"):
        get_model("bilstm", num_outputs=2, vocab_size=VOCAB, encoding="chunks")
    with pytest.raises(TextclsError, match="window must be at least 1"):
        get_model("lstm", num_outputs=2, vocab_size=VOCAB, encoding="windows", window=0)


def test_auto_chooses_padded_for_texts_up_to_the_limit_and_windows_beyond_it_and_keeps_a_given_encoding():
    options, line = choose_encoding([5, 9, WINDOWS_FROM], {"encoding": "auto", "window": 128})
    assert options["encoding"] == "padded" and "median 9 tokens, longest 1,000" in line
    options, line = choose_encoding([5, 300, WINDOWS_FROM + 1], {"encoding": "auto", "window": 64})
    assert options == {"encoding": "windows", "window": 64}
    assert line.startswith("encoding windows of 64 tokens") and "67% of them span several windows" in line
    options, line = choose_encoding([5, 50_000], {"encoding": "packed"})
    assert options == {"encoding": "packed"} and line.startswith("encoding packed (as configured")
    # a model built without data reads auto as padded
    model = get_model("bilstm", num_outputs=2, vocab_size=VOCAB, encoding="auto")
    assert model.encoding == "padded"


def _long_corpus(folder, long_words: int):
    """The generated corpus with every 10th training text made ``long_words`` words long and one empty text."""
    paths = write_text_corpus(folder, rows=(40, 15, 15))
    with open(paths["train"], encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    for index in range(1, len(rows), 20):
        rows[index][0] = " ".join([rows[index][0]] * (long_words // len(rows[index][0].split()) + 1))
    rows[2][0] = ""
    with open(paths["train"], "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return paths


def test_train_chooses_windows_for_long_training_texts_prints_it_saves_it_and_predict_rebuilds_it(tmp_path):
    paths = _long_corpus(tmp_path / "data", long_words=WINDOWS_FROM + 20)
    run = tmp_path / "run"
    status, out, err = run_cli(
        "train", paths["train"], "--valid", paths["valid"], "--model", "bilstm", "--epochs", 1, "--output", run,
        "--set", "data.max_length=2000", "--set", "model_options.hidden_size=4", "--set", "model_options.window=64",
        "--set", "model_options.embedding_dim=4",
    )  # fmt: skip
    assert status == 0, err
    assert "model: encoding windows of 64 tokens (chosen: training texts: median" in out
    config = yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8"))
    assert config["model_options"]["encoding"] == "windows" and config["model_options"]["window"] == 64
    saved, text_field, task, _ = TextRunDir(run).load_setup()
    model = TextRunDir(run).load_model(saved, text_field, task)
    assert model.encoding == "windows" and model.window == 64
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    loaded = evaluate_file(run, paths["valid"])
    assert loaded["confusion"] == metrics["valid"]["confusion"]
    assert loaded["loss"] == pytest.approx(metrics["valid"]["loss"], rel=1e-6)
    with open(paths["valid"], encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    predicted = Predictor(run).predict([row["text"] for row in rows], top_k=1)
    accuracy = sum(p[0][0] == row["label"] for p, row in zip(predicted, rows)) / len(rows)
    assert accuracy == pytest.approx(metrics["valid"]["accuracy"])


def test_train_keeps_the_exact_padded_encoding_for_short_texts_and_the_old_path_stays_reachable(tmp_path):
    paths = write_text_corpus(tmp_path / "data", rows=(60, 30, 30))
    results = {}
    for extra in ([], ["--set", "model_options.encoding=packed"]):
        run = tmp_path / f"run{len(extra)}"
        status, out, err = run_cli(
            "train", paths["train"], "--valid", paths["valid"], "--model", "lstm", "--epochs", 1, "--output", run,
            "--set", "model_options.hidden_size=8", *extra,
        )  # fmt: skip
        assert status == 0, err
        encoding = yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8"))["model_options"]["encoding"]
        results[encoding] = json.loads((run / "metrics.json").read_text(encoding="utf-8"))["valid"]
        assert f"model: encoding {encoding} (" in out
    assert set(results) == {"padded", "packed"}
    assert results["padded"]["loss"] == pytest.approx(results["packed"]["loss"], abs=1e-5)  # the same model
    # a run saved before encodings existed (no encoding in its config) is rebuilt as padded: the same outputs
    old = tmp_path / "run2"
    config = yaml.safe_load((old / "config.yaml").read_text(encoding="utf-8"))
    del config["model_options"]["encoding"], config["model_options"]["window"]
    (old / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    saved, text_field, task, _ = TextRunDir(old).load_setup()
    assert TextRunDir(old).load_model(saved, text_field, task).encoding == "padded"
    loaded = evaluate_file(old, paths["valid"])
    assert loaded["loss"] == pytest.approx(results["packed"]["loss"], abs=1e-5)
    assert loaded["confusion"] == results["packed"]["confusion"]


def test_an_unknown_encoding_is_a_one_line_error_before_anything_is_written(tmp_path):
    paths = write_text_corpus(tmp_path / "data", rows=(30, 9, 9))
    status, _, err = run_cli(
        "train", paths["train"], "--model", "bilstm", "--output", tmp_path / "run", "--set",
        "model_options.encoding=chunks",
    )  # fmt: skip
    assert_one_line_error(status, err, "unknown encoding 'chunks'")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("encoding", ["windows", "padded"])
@pytest.mark.parametrize("name", FAMILY)
def test_every_lstm_model_follows_the_contract_with_each_encoding(name, encoding, tmp_path):
    """``window: 2`` makes the contract's texts (1-10 tokens) span several windows."""
    check_text_model(name, tmp_path, {"hidden_size": 8, "encoding": encoding, "window": 2})
