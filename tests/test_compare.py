"""``textcls compare-embeddings`` / ``compare_embeddings``: a small comparison end to end on the generated news
corpus in the book's layout (``conftest.write_news_corpus``, first 800 / 200 / 300 rows) with its GloVe-format
vectors, the choice syntax, resuming an interrupted comparison, and errors."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch
from cli_helpers import assert_one_line_error, head, run_cli
from generated import VECTOR_DIM

from textcls import config as cfg
from textcls.embeddings import load_vectors
from textcls.errors import TextclsError
from textcls.jobs import compare as compare_module
from textcls.jobs.compare import EmbeddingChoice, compare_embeddings, parse_choice, parse_choices
from textcls.vocab import Vocab

TINY = {"model_options": {"hidden_size": 16}, "data": {"max_length": 40, "extra_fields": "merge", "merge_sep": ";"},
        "training": {"epochs": 2, "device": "cpu", "patience": 0}}  # fmt: skip


@pytest.fixture(scope="module")
def book_small(generated, tmp_path_factory):
    folder = tmp_path_factory.mktemp("book")
    book = generated.book
    return {name: str(head(book / f"{name}.csv.gz", folder / f"{name}.csv", rows + 1))
            for name, rows in (("train", 800), ("valid", 200), ("test", 300))}  # fmt: skip


@pytest.fixture(scope="module")
def comparison(book_small, generated, tmp_path_factory):
    torch.set_num_threads(1)
    glove = str(generated.glove)
    output = tmp_path_factory.mktemp("compare")
    base = cfg.resolve("bilstm", None, [{"files": book_small}, TINY])
    choices = ["random", f"glove:{glove}", f"glove-frozen:{glove}", "word2vec"]
    summary = compare_embeddings(base, choices, seeds=2, output_dir=output)
    return base, choices, summary, output, glove


def test_the_table_has_one_row_per_choice_with_means_over_seeds(comparison):
    _, choices, summary, _, _ = comparison
    assert list(summary["embedding"]) == choices
    assert (summary["seeds"] == 2).all() and (summary["evaluated_on"] == "test").all()
    runs = summary.attrs["runs"]
    assert len(runs) == 8 and sorted(set(runs["seed"])) == [0, 1]
    for label in choices:
        accuracies = runs[runs["embedding"] == label]["accuracy"]
        row = summary[summary["embedding"] == label].iloc[0]
        assert row["accuracy_mean"] == pytest.approx(accuracies.mean())
        assert row["accuracy_std"] == pytest.approx(accuracies.std(ddof=1))
        assert 0.0 < row["accuracy_mean"] <= 1.0 and 1 <= row["epochs_to_best"] <= 2
    means = dict(zip(summary["embedding"], summary["accuracy_mean"]))
    assert means[choices[1]] > means["random"] + 0.1  # 800 examples: pretrained vectors make the difference
    coverage = dict(zip(summary["embedding"], summary["coverage_tokens"]))
    assert pd.isna(coverage["random"])
    assert coverage[choices[1]] > 0.9 and coverage[choices[1]] == coverage[choices[2]]
    assert coverage["word2vec"] > 0.5  # trained on the training split: every frequent enough word has a vector


def test_every_choice_shares_the_vocabulary_and_embedding_size(comparison):
    _, _, summary, _, _ = comparison
    run_dirs = summary.attrs["runs"]["run_dir"]
    vocabularies = {tuple(Vocab.load(f"{d}/vocab.json").itos) for d in run_dirs}
    assert len(vocabularies) == 1  # built from the training split only: the vectors do not extend it
    shapes = {torch.load(f"{d}/model.pt", weights_only=True)["model"]["embedding.embedding.weight"].shape
              for d in run_dirs}  # fmt: skip
    assert len(shapes) == 1 and next(iter(shapes))[1] == VECTOR_DIM  # random and word2vec use GloVe's dimensions


def test_frozen_glove_stays_glove_and_fine_tuned_glove_moves(comparison):
    _, choices, summary, _, glove = comparison
    runs = summary.attrs["runs"].set_index(["embedding", "seed"])
    vectors = load_vectors(glove)
    vocab = Vocab.load(f"{runs.loc[(choices[2], 0), 'run_dir']}/vocab.json")
    word = "market"
    index = vocab.stoi[word]

    def row(choice):
        weights = torch.load(f"{runs.loc[(choice, 0), 'run_dir']}/model.pt", weights_only=True)["model"]
        return weights["embedding.embedding.weight"][index]

    assert torch.allclose(row(choices[2]), vectors[word])
    assert not torch.allclose(row(choices[1]), vectors[word])


def test_files_are_written(comparison):
    _, choices, summary, output, _ = comparison
    for name in ("summary.md", "summary.csv", "summary.json", "runs.csv", "accuracy.png", "valid_curves.png",
                 "comparison.yaml"):  # fmt: skip
        assert (output / name).stat().st_size > 0, name
    table = (output / "summary.md").read_text()
    assert table.count("\n") == 2 + len(choices) and "| random |" in table and " ± " in table
    assert json.loads((output / "summary.json").read_text())[0]["embedding"] == "random"
    assert list(pd.read_csv(output / "summary.csv")["embedding"]) == choices


def test_a_rerun_reads_finished_runs_and_resumes_an_interrupted_one(comparison, monkeypatch):
    base, choices, summary, output, _ = comparison
    first = summary.attrs["runs"]
    interrupted = first.iloc[-1]["run_dir"]
    (output / "runs" / interrupted.split("/runs/")[-1] / "metrics.json").unlink()  # killed before it finished
    calls = []
    original = compare_module.train_text

    def counting(config, run_dir, resume=False, **kwargs):
        calls.append((str(run_dir), resume))
        return original(config, run_dir, resume=resume, **kwargs)

    monkeypatch.setattr(compare_module, "train_text", counting)
    again = compare_embeddings(base, choices, seeds=2, output_dir=output)
    assert calls == [(interrupted, True)]
    assert list(again.attrs["runs"]["accuracy"]) == pytest.approx(list(first["accuracy"]))


def test_choice_syntax():
    assert parse_choice("random") == EmbeddingChoice("random", None)
    assert parse_choice("fasttext") == EmbeddingChoice("fasttext", "fasttext")
    assert parse_choice("glove:glove.6B.50d").source == "glove.6B.50d"
    assert parse_choice("glove-frozen:/data/g.txt").freeze is True
    thaw = parse_choice("glove-thaw:/data/g.txt:2")
    assert (thaw.source, thaw.freeze_epochs, thaw.freeze) == ("/data/g.txt", 2, False)
    assert parse_choice("/data/vectors.vec").source == "/data/vectors.vec"
    assert [c.label for c in parse_choices("random, word2vec")] == ["random", "word2vec"]
    with pytest.raises(TextclsError, match="glove-thaw:PATH_OR_NAME:N"):
        parse_choice("glove-thaw:/data/g.txt")
    with pytest.raises(TextclsError, match="twice"):
        parse_choices("random,random")


def test_cli_prints_the_table(book_small, tmp_path):
    status, out, err = run_cli(
        "compare-embeddings", book_small["train"], "--valid", book_small["valid"], "--test", book_small["test"],
        "--extra-fields", "merge", "--merge-sep", ";", "--embeddings", "random,word2vec", "--seeds", "1",
        "--epochs", "1", "--set", "model_options.hidden_size=8", "--set", "model_options.embedding_dim=16",
        "--device", "cpu", "--output", tmp_path / "cmp",
    )  # fmt: skip
    assert status == 0, err
    assert "| random |" in out and "| word2vec |" in out and "comparison saved in" in out
    assert (tmp_path / "cmp" / "accuracy.png").exists()


@pytest.mark.parametrize(
    "embeddings, fragment",
    [("glove-thaw:x", "glove-thaw:PATH_OR_NAME:N"), ("{tmp}/missing.txt", "missing.txt"), ("random,random", "twice")],
)
def test_cli_errors_are_one_line(book_small, tmp_path, embeddings, fragment):
    status, _, err = run_cli(
        "compare-embeddings", book_small["train"], "--extra-fields", "merge", "--merge-sep", ";",
        "--embeddings", embeddings.format(tmp=tmp_path), "--output", tmp_path / "cmp",
    )  # fmt: skip
    assert_one_line_error(status, err, fragment)
