"""The train job's vocabulary options: ``data.vectors_vocab`` adds every word of the vectors to the vocabulary."""

import csv

import torch

from textcls import config as cfg
from textcls.jobs.train import TextData, attach_embeddings


def _write_data(path):
    rows = [("good movie great fun", "pos"), ("bad movie awful plot", "neg")] * 5
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(rows)


def _setup(tmp_path, vectors_vocab: bool):
    _write_data(tmp_path / "train.csv")
    (tmp_path / "vectors.txt").write_text("good 1 0\nbad 0 1\nexcellent 0.9 0.1\nterrible 0.1 0.9\n", encoding="utf-8")
    config = cfg.resolve(
        "bilstm",
        None,
        [{"files": {"train": str(tmp_path / "train.csv")},
          "data": {"vectors": str(tmp_path / "vectors.txt"), "vectors_vocab": vectors_vocab, "valid_split": 0}}],
    )  # fmt: skip
    data = TextData(config)
    data.build_vocab(config["data"])
    coverage = attach_embeddings(config, data)
    return data.text_field.vocab, coverage


def test_vectors_vocab_adds_the_vectors_words_with_their_vectors(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTCLS_CACHE_DIR", str(tmp_path / "cache"))
    vocab, coverage = _setup(tmp_path, vectors_vocab=True)
    assert "excellent" in vocab and "terrible" in vocab  # never in the training text
    assert torch.allclose(vocab.vectors[vocab.stoi["excellent"]], torch.tensor([0.9, 0.1]))
    # coverage still speaks of the training vocabulary only: 2 of its 7 words have vectors
    assert (coverage.types_found, coverage.types_total) == (2, 7)


def test_without_vectors_vocab_only_training_words(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTCLS_CACHE_DIR", str(tmp_path / "cache"))
    vocab, coverage = _setup(tmp_path, vectors_vocab=False)
    assert "excellent" not in vocab
    assert (coverage.types_found, coverage.types_total) == (2, 7)


def test_multilabel_one_hot_columns_with_empty_rows_train_and_predict(tmp_path, capsys):
    """One-hot label columns where some rows have no label at all are read as a multi-label target."""
    import json
    import random

    from textcls.cli import main

    rng = random.Random(0)
    with open(tmp_path / "tags.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "sports", "politics"])
        for _ in range(200):
            sports, politics = rng.random() < 0.5, rng.random() < 0.5
            words = (["goal", "match", "team"] if sports else ["weather"]) + (
                ["vote", "senate"] if politics else ["today"]
            )
            rng.shuffle(words)
            writer.writerow([" ".join(words), int(sports), int(politics)])
    run = tmp_path / "run"
    assert main(["train", str(tmp_path / "tags.csv"), "--multilabel", "--model", "bag", "--epochs", "8",
                 "--device", "cpu", "--output", str(run)]) == 0  # fmt: skip
    task = json.loads((run / "labels.json").read_text())
    assert task["kind"] == "multilabel" and sorted(task["labels"]) == ["politics", "sports"]
    capsys.readouterr()
    assert main(["predict", str(run), "--json", "goal vote match senate"]) == 0
    labels = {row["label"] for row in json.loads(capsys.readouterr().out)["labels"]}
    assert labels == {"sports", "politics"}


def test_words_only_the_vectors_know_stay_out_of_the_trainable_rows(tmp_path, monkeypatch, capsys):
    """The vectors-only words (never in training text) sit in a fixed buffer: the optimizer sees the 9 training
    rows (2 specials + 7 words); a saved run reloads with the same split and predicts with those words."""
    import json

    from textcls.cli import main
    from textcls.jobs.rundir import build_model
    from textcls.training.task import Task

    monkeypatch.setenv("TEXTCLS_CACHE_DIR", str(tmp_path / "cache"))
    vocab, _ = _setup(tmp_path, vectors_vocab=True)
    assert vocab.counted_prefix() == 9 and len(vocab) == 11
    text_field = type("FieldStub", (), {"vocab": vocab, "pad_token": "<pad>"})()
    model = build_model({"model": "bilstm", "model_options": {"hidden_size": 4}}, text_field,
                        Task.from_labels(["neg", "pos"]), vocab.vectors)  # fmt: skip
    assert model.embedding.embedding.weight.shape == (9, 2)
    assert torch.equal(model.embedding.fixed_rows, vocab.vectors[9:])
    assert sum(p.numel() for p in model.embedding.parameters()) == 9 * 2

    run = tmp_path / "run"
    assert main(["train", str(tmp_path / "train.csv"), "--model", "bilstm", "--vectors", str(tmp_path / "vectors.txt"),
                 "--epochs", "2", "--valid-split", "0", "--device", "cpu", "--output", str(run)]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["predict", str(run), "--json", "excellent movie", "terrible plot"]) == 0
    predictions = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["text"] for row in predictions] == ["excellent movie", "terrible plot"]
