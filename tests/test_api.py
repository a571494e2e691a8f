"""The Python API (README "From a run to Python, and from fastText"): ``textcls.load`` / ``textcls.train`` and the
``Classifier`` they return; the README's example runs literally; ``import textcls`` does not import torch."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import textcls
from textcls.errors import TextclsError

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def readme_section() -> str:
    return README.split("## From a run to Python, and from fastText", 1)[1].split("\n## ", 1)[0]


def test_the_readme_example_runs_literally(tmp_path, monkeypatch):
    block = re.search(r"```python\n(.*?)```", readme_section(), flags=re.S).group(1)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)  # the README's own code, as a user pastes it
    clf = namespace["clf"]
    assert isinstance(namespace["labels"], list) and all(label in clf.labels for label in namespace["labels"])
    assert len(namespace["top2"][0]) == 2 and namespace["top2"][0][0][1] >= namespace["top2"][0][1][1]
    everything = namespace["everything"]
    assert all(p >= 0.1 for _, p in everything) and isinstance(everything[0], tuple)
    probabilities = namespace["probabilities"]
    assert probabilities.shape == (1, 3) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-6)
    assert (tmp_path / "runs" / "tour" / "model.pt").exists()


def test_import_textcls_does_not_import_torch_and_load_is_there():
    code = (
        "import sys, textcls; print('torch' in sys.modules, callable(textcls.load), callable(textcls.train), "
        "'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True", "True", "False"]  # torch comes when load/train run, not with the import


def test_predict_forms_match_predict_proba(small_run):
    run, _ = small_run
    clf = textcls.load(run)
    texts = ["goal match team", "shares market bank", "atoms telescope"]
    probabilities = clf.predict_proba(texts)
    assert probabilities.shape == (3, len(clf.labels)) and probabilities.dtype == np.float32
    assert clf.predict(texts) == [clf.labels[i] for i in probabilities.argmax(axis=1)]
    pairs = clf.predict(texts, k=-1)
    assert [len(row) for row in pairs] == [3, 3, 3]
    for row, probs in zip(pairs, probabilities):
        assert [label for label, _ in row] == [clf.labels[i] for i in np.argsort(-probs, kind="stable")]
        assert [p for _, p in row] == pytest.approx(sorted(probs, reverse=True), abs=1e-6)
    kept = clf.predict(texts, k=-1, threshold=0.34)
    assert kept == [[(label, p) for label, p in row if p >= 0.34] for row in pairs]
    assert clf.predict(texts[0]) == clf.predict(texts)[0]  # one text: its result alone
    assert clf.predict_proba(texts[0]).shape == (3,)
    assert clf.kind == "multiclass" and "valid" in clf.metrics


def test_evaluate_takes_a_file_or_pairs_and_writes_nothing(small_run):
    run, corpus = small_run
    clf = textcls.load(run)
    before = sorted(path.name for path in run.iterdir())
    from_file = clf.evaluate(corpus["valid"])
    import csv

    with open(corpus["valid"], encoding="utf-8") as handle:
        pairs = [(row["text"], row["label"]) for row in csv.DictReader(handle)]
    from_pairs = clf.evaluate(pairs)
    assert from_pairs["confusion"] == from_file["confusion"] and from_pairs["examples"] == len(pairs)
    assert from_file["accuracy"] == pytest.approx(clf.metrics["valid"]["accuracy"])
    assert sorted(path.name for path in run.iterdir()) == before


def test_train_trains_as_the_command_does(small_run, tmp_path):
    run, corpus = small_run  # train_small_run: textcls train TRAIN --valid VALID --model bag --epochs 1
    clf = textcls.train(corpus["train"], model="bag", valid=corpus["valid"], epochs=1, output=tmp_path / "run")
    command = textcls.load(run).metrics["valid"]
    assert clf.metrics["valid"]["confusion"] == command["confusion"]
    assert clf.metrics["valid"]["loss"] == pytest.approx(command["loss"], rel=1e-6)


def test_train_refuses_an_unknown_setting_in_one_line(tmp_path):
    with pytest.raises(TextclsError, match="unknown setting 'epoch'; settings are: .*epochs"):
        textcls.train("whatever.csv", model="bag", output=tmp_path / "run", epoch=2)
    assert not (tmp_path / "run").exists()


def test_predict_refuses_a_bad_k(small_run):
    run, _ = small_run
    with pytest.raises(TextclsError, match="k must be a positive number of labels or -1"):
        textcls.load(run).predict(["goal"], k=0)
