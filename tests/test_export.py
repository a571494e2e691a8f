"""``textcls export`` (ONNX, TorchScript) and the torch-free predictor of :mod:`textcls.onnx_predict`: the same
probabilities as the PyTorch model for every text model, the same ids as the run's field, and no torch import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, run_cli
from export_helpers import real_texts, tiny_run

from textcls.data.fields import Field
from textcls.export import export_run
from textcls.onnx_predict import ExportPredictor, TextPipeline
from textcls.serve import RunBackend
from textcls.vocab import Vocab

REPO = Path(__file__).resolve().parents[1]
CASES = [
    ("bag", ()),
    ("cnn", ()),
    ("lstm", ()),
    ("multilstm", ()),
    ("bilstm", ()),
    ("bilstm", ("model_options.pooling=last",)),  # the exporter's packed final-state path, both directions
    ("lstm", ("model_options.pooling=mean", "model_options.mean_embedding=true")),
]


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("export-runs")


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
@pytest.mark.parametrize(("model", "extra"), CASES, ids=[f"{m}{'-' + '-'.join(e) if e else ''}" for m, e in CASES])
def test_export_probabilities_equal_the_pytorch_model(runs_root, generated, one_torch_thread, model, extra, fmt):
    run = tiny_run(runs_root, model, *extra)
    texts = real_texts(generated)
    expected = RunBackend(run).predict_proba(texts)
    exported = export_run(run, fmt, runs_root / f"{run.parent.name}-{fmt}")
    predictor = ExportPredictor(exported, threads=1)
    got = predictor.predict_proba(texts)
    assert got.shape == expected.shape == (len(texts), 3)
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    assert predictor.predict(texts[:3], top_k=2)[0][0][0] == predictor.labels[int(expected[0].argmax())]
    assert sorted(path.name for path in exported.iterdir()) == sorted(
        ["export.json", "vocab.json", "model.onnx" if fmt == "onnx" else "model.ts"]
    )
    assert not [path for path in exported.parent.iterdir() if path.name.startswith(".")]  # no temporary left


def test_binary_export_gives_both_probabilities(runs_root, generated, one_torch_thread):
    run = tiny_run(runs_root, "bag", binary=True)
    texts = real_texts(generated)
    expected = RunBackend(run).predict_proba(texts)
    got = ExportPredictor(export_run(run, "onnx", runs_root / "binary-onnx"), threads=1).predict_proba(texts)
    assert got.shape == (len(texts), 2)
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-6)


def test_multilabel_export_gives_the_runs_labels(runs_root, generated, one_torch_thread):
    from textcls.jobs.predict import Predictor

    run = tiny_run(runs_root, "bag", "data.multilabel=true")
    texts = real_texts(generated)
    expected = RunBackend(run).predict_proba(texts)
    predictor = ExportPredictor(export_run(run, "onnx", runs_root / "multilabel-onnx"), threads=1)
    assert predictor.kind == "multilabel"
    np.testing.assert_allclose(predictor.predict_proba(texts), expected, atol=1e-5, rtol=0)
    want = [[label for label, _ in row] for row in Predictor(run).predict(texts)]
    assert [[label for label, _ in row] for row in predictor.predict(texts)] == want


FIELD_SETTINGS = [
    {"lower": True},
    {"lower": False, "stop_words": ["the", "of", "a"]},
    {"lower": True, "init_token": "<s>", "eos_token": "</s>"},
    {"fix_length": 12, "truncate_first": True},
    {"pad_first": True, "init_token": "<s>"},
]
TOKENIZERS = ["basic_english", "whitespace", "regex", "nltk", "toktok", "tweet", "char", "spacy"]


@pytest.mark.parametrize("tokenizer", TOKENIZERS)
def test_pipeline_gives_the_fields_ids(generated, tokenizer):
    """The torch-free pipeline, rebuilt from the field's saved settings, gives the ids and padding of the field
    itself (as ``Predictor`` feeds the model: an empty text is one unknown token; ``max_length`` cuts)."""
    texts = real_texts(generated)[:-1][-25:]  # the long text is left out (slow to tokenize ten times): max_length cuts
    texts.append(" ".join(texts[:5]))
    for settings in FIELD_SETTINGS[:2] if tokenizer == "spacy" else FIELD_SETTINGS:  # spaCy: 0.5 s to load
        field = Field(tokenize=tokenizer, batch_first=True, include_lengths=True, **settings)
        counter = Counter(token for text in texts[:20] for token in field.preprocess(text))
        specials = ["<unk>", "<pad>", *[t for t in (field.init_token, field.eos_token) if t]]
        field.vocab = Vocab(counter, specials=specials)
        config = json.loads(json.dumps(field.to_config()))
        for max_length in (None, 7):
            pipeline = TextPipeline(config, field.vocab, max_length=max_length)
            expected = [field.ids(field.preprocess(text) or [field.unk_token], max_length) for text in texts]
            got = [pipeline.ids(text) for text in texts]
            assert got == expected, (tokenizer, settings, max_length)
            tokens, lengths = field.pad_ids(expected, batch_first=True)
            padded, got_lengths = pipeline.pad(got)
            assert padded.tolist() == tokens.tolist() and got_lengths.tolist() == lengths.tolist()


PREDICT_WITHOUT_TORCH = """
import sys
from textcls.cli import main
status = main(["predict", sys.argv[1], "--json", "--threads", "1", "market shares profit", "coach league"])
print("TORCH" if "torch" in sys.modules else "NO-TORCH", status)
"""


@pytest.mark.parametrize("tokenizer", ["basic_english", "spacy"])
def test_predict_from_an_onnx_export_imports_no_torch(runs_root, one_torch_thread, tokenizer):
    """``textcls predict EXPORT`` in a fresh process: the predictions, and no torch in ``sys.modules`` (spaCy's
    thinc imports torch when it can: the predictor keeps it out)."""
    run = tiny_run(runs_root, "bag", "data.tokenizer=" + tokenizer)
    exported = export_run(run, "onnx", runs_root / f"no-torch-{tokenizer}")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", PREDICT_WITHOUT_TORCH, str(exported)], capture_output=True, text=True, env=env,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[-1] == "NO-TORCH 0", done.stdout + done.stderr
    predictions = [json.loads(line) for line in lines[:-1]]
    assert [p["text"] for p in predictions] == ["market shares profit", "coach league"]
    expected = RunBackend(run).predict_proba(["market shares profit", "coach league"])
    for prediction, row in zip(predictions, expected):
        assert len(prediction["labels"]) == 3
        assert prediction["labels"][0]["probability"] == pytest.approx(float(row.max()), abs=1e-5)


def test_export_and_predict_from_the_command_line(runs_root, one_torch_thread):
    run = tiny_run(runs_root, "cnn")
    status, out, err = run_cli("export", run, "--format", "torchscript", "--threads", "1")
    assert status == 0, err
    exported = run / "export-torchscript"
    assert f"to {exported}/" in out and (exported / "model.ts").is_file()
    meta = json.loads((exported / "export.json").read_text())
    assert meta["model"] == "cnn" and meta["min_time"] == 5
    assert meta["task"]["labels"] == ["business", "science", "sports"]
    assert meta["field"]["tokenize"]["name"] == "basic_english" and meta["field"]["lower"] is True
    status, out, err = run_cli("predict", exported, "a", "--top-k", "1", "--json")  # one token: padded to width 5
    assert status == 0, err
    assert len(json.loads(out)["labels"]) == 1
    status, _, err = run_cli("export", run, "--format", "torchscript")
    assert_one_line_error(status, err, "exists and is not empty", "--overwrite")
    status, _, err = run_cli("export", run, "--format", "torchscript", "--overwrite", "--threads", "1")
    assert status == 0, err


def test_export_errors_are_one_line(runs_root, tmp_path):
    status, _, err = run_cli("export", tmp_path / "missing")
    assert_one_line_error(status, err, "run directory not found")
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "export.json").write_text("{not json")
    status, _, err = run_cli("predict", damaged, "text")
    assert_one_line_error(status, err, "export.json is damaged")
    (damaged / "export.json").write_text(json.dumps({"format": "textcls.export/0"}))
    status, _, err = run_cli("predict", damaged, "text")
    assert_one_line_error(status, err, "format 'textcls.export/0'", "export the run again")


def test_an_export_that_gives_other_logits_is_refused():
    """:func:`textcls.export.verify` compares the exported model with the model on a batch of other lengths than
    the traced one (here the "export" is a second bag with other weights: what a wrong trace would amount to)."""
    import torch

    from textcls.errors import TextclsError
    from textcls.export import verify
    from textcls.models import get_model

    torch.manual_seed(0)
    model = get_model("bag", num_outputs=3, vocab_size=50, padding_idx=1, embedding_dim=8, buckets=100).eval()
    other = get_model("bag", num_outputs=3, vocab_size=50, padding_idx=1, embedding_dim=8, buckets=100).eval()

    def run(module):
        return lambda tokens, lengths: module(torch.from_numpy(tokens), torch.from_numpy(lengths)).detach().numpy()

    verify(model, run(model), 50, 1, "bag", "onnx")  # the same model passes
    with pytest.raises(TextclsError, match="gives other logits than the model"):
        verify(model, run(other), 50, 1, "bag", "onnx")
