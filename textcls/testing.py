"""Conformance checks for registered models (in the spirit of scikit-learn's ``check_estimator``), and the small
generated datasets they train on.

``check_text_model(name, folder)`` and ``check_image_model(name, folder)`` raise ``AssertionError`` naming the
broken rule of the contract (:mod:`textcls.models.registry` for text models, :mod:`textcls.image.models` for
image models); a test of a new model is one call::

    def test_my_model_follows_the_contract(tmp_path):
        check_text_model("mymodel", tmp_path)

The datasets are written into ``folder`` from a seeded generator (no download, no ``../shared/data``): keyword-per-
class sentences for text, a bright band per class on noise for images. Both are easy enough that one epoch
learns something, and small enough that a check takes seconds on one CPU thread.
"""

from __future__ import annotations

import csv
import io
import math
import random
from pathlib import Path

import numpy as np
import torch

TOPICS = {
    "sports": ("match", "goal", "team", "coach", "league", "striker", "season", "referee"),
    "business": ("market", "shares", "profit", "bank", "investors", "merger", "prices", "revenue"),
    "science": ("atoms", "telescope", "genome", "physics", "laboratory", "species", "orbit", "cells"),
}
FILLER = ("the", "a", "of", "on", "new", "report", "today", "after", "with", "says", "week", "big", "story", "in")
SPLITS = ("train", "valid", "test")


def write_text_corpus(folder: str | Path, rows: tuple[int, int, int] = (240, 60, 60), seed: int = 0) -> dict:
    """Write ``train.csv``, ``valid.csv`` and ``test.csv`` (columns ``text,label``; labels ``sports``,
    ``business``, ``science`` in turn): each text is 4-10 filler words and two keywords of its label, shuffled.

    Args:
        folder: where the files go (created).
        rows: rows of train, valid and test.
        seed: the generator's seed (the same seed writes the same files).

    Returns:
        ``{"train": path, "valid": path, "test": path}`` (strings: a config's ``files`` section).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    labels = list(TOPICS)
    paths = {}
    for split, count in zip(SPLITS, rows):
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["text", "label"])
        for row in range(count):
            label = labels[row % len(labels)]
            words = rng.choices(FILLER, k=rng.randint(4, 10)) + rng.sample(TOPICS[label], 2)
            rng.shuffle(words)
            writer.writerow([" ".join(words), label])
        paths[split] = str(folder / f"{split}.csv")
        Path(paths[split]).write_text(out.getvalue(), encoding="utf-8")
    return paths


def write_image_folder(
    folder: str | Path, classes: int = 3, per_class: tuple[int, int] = (8, 3), size: int = 12, seed: int = 0
) -> Path:
    """Write an image folder: ``train/CLASS/*.png`` and ``test/CLASS/*.png``, grey ``size``×``size`` noise with a
    bright horizontal band whose place is the class.

    Args:
        folder: where it goes (created).
        classes: number of classes (``c0``, ``c1``, ...).
        per_class: images per class in train and test.
        size: width and height in pixels.
        seed: the generator's seed.

    Returns:
        ``folder`` (what ``textcls image train --data`` takes).
    """
    from PIL import Image

    folder = Path(folder)
    rng = np.random.default_rng(seed)
    band = max(1, size // classes)
    for split, count in zip(("train", "test"), per_class):
        for label in range(classes):
            target = folder / split / f"c{label}"
            target.mkdir(parents=True, exist_ok=True)
            for index in range(count):
                pixels = rng.integers(0, 70, (size, size))
                pixels[label * band : (label + 1) * band] += 150
                Image.fromarray(pixels.astype(np.uint8), mode="L").save(target / f"{index}.png")
    return folder


_QUICK_TRAINING = {"epochs": 1, "device": "cpu", "progress": False, "patience": 0, "seed": 0}


def check_text_model(name: str, folder: str | Path, options: dict | None = None) -> None:
    """Check registered text model ``name`` against the text-model contract.

    With its default options (``configs/NAME.yaml`` when there is one, else its builder's) plus ``options``:

    1. it builds for a binary and a multi-class head, every trainable parameter gets a gradient, and
       ``forward(tokens, lengths)`` returns float logits ``[batch, num_outputs]``;
    2. a model given the shared embedding keeps it as ``self.embedding``;
    3. the logits of a text do not change with the padding after it (evaluation mode);
    4. ``textcls``'s train job trains it one epoch on :func:`write_text_corpus` data and saves the run;
    5. the run loaded back predicts what the trained model did: the same validation loss and confusion matrix
       (``evaluate_file``), and ``Predictor`` gives the same accuracy.

    Args:
        name: a registered text model.
        folder: an empty folder for the data and the run.
        options: ``model_options`` to use (e.g. smaller layers).

    Raises:
        AssertionError: naming the rule ``name`` breaks.
    """
    from textcls import config as cfg
    from textcls.jobs.predict import Predictor, evaluate_file
    from textcls.jobs.train import train_text
    from textcls.models.registry import build_embedding, get_model, split_options, takes_embedding

    folder = Path(folder)
    paths = write_text_corpus(folder / "data")
    quick = {"files": paths, "model_options": options or {}, "training": _QUICK_TRAINING, "data": {"batch_size": 16}}
    config = cfg.resolve(name, None, [quick])
    embedding_options, own = split_options(name, config.get("model_options") or {})
    vocab_size, pad, lengths = 40, 1, torch.tensor([7, 3, 5, 1])
    tokens = torch.randint(
        2, vocab_size, (len(lengths), int(lengths.max())), generator=torch.Generator().manual_seed(0)
    )
    for row, length in enumerate(lengths.tolist()):
        tokens[row, length:] = pad
    for num_outputs in (1, 3):  # a binary head, a multi-class one
        torch.manual_seed(0)
        if takes_embedding(name):
            embedding = build_embedding(vocab_size, pad, **embedding_options)
            model = get_model(name, num_outputs=num_outputs, embedding=embedding, **own)
            assert getattr(model, "embedding", None) is embedding, (
                f"model {name!r} must keep the embedding it is given as self.embedding"
            )
        else:
            model = get_model(name, num_outputs=num_outputs, vocab_size=vocab_size, padding_idx=pad,
                              **config.get("model_options") or {})  # fmt: skip
        logits = model(tokens, lengths)
        assert logits.shape == (len(lengths), num_outputs) and logits.is_floating_point(), (
            f"model {name!r}: forward(tokens, lengths) must return float logits [batch, {num_outputs}], "
            f"got {tuple(logits.shape)} {logits.dtype}"
        )
        logits.square().sum().backward()
        unused = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
        assert not unused, f"model {name!r}: parameters {unused} get no gradient (unused in forward?)"
    _check_padding_invariance(name, model.eval(), tokens, lengths, pad)

    run = folder / "run"
    result = train_text(config, run)
    loaded = evaluate_file(run, paths["valid"])
    trained = result["valid"]
    assert loaded["confusion"] == trained["confusion"] and math.isclose(
        loaded["loss"], trained["loss"], rel_tol=1e-6, abs_tol=1e-7
    ), f"model {name!r}: loaded from its run directory it predicts differently from the model trained"
    with open(paths["valid"], encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    predicted = Predictor(run).predict([row["text"] for row in rows], top_k=1)
    accuracy = sum(p[0][0] == row["label"] for p, row in zip(predicted, rows)) / len(rows)
    assert math.isclose(accuracy, trained["accuracy"]), (
        f"model {name!r}: Predictor's accuracy {accuracy:.4f} differs from the trained model's "
        f"{trained['accuracy']:.4f}"
    )


def _check_padding_invariance(name: str, model, tokens: torch.Tensor, lengths: torch.Tensor, pad: int) -> None:
    with torch.no_grad():
        together = model(tokens, lengths)
        for row, length in enumerate(lengths.tolist()):
            alone = model(tokens[row : row + 1, :length], lengths[row : row + 1])
            more = torch.cat([tokens[row : row + 1], torch.full((1, 5), pad)], dim=1)
            for padded in (together[row : row + 1], model(more, lengths[row : row + 1])):
                assert torch.allclose(padded, alone, rtol=1e-5, atol=1e-6), (
                    f"model {name!r}: the logits of a text change with the padding after it (mask positions >= lengths)"
                )


def check_image_model(
    name: str, folder: str | Path, options: dict | None = None, per_class: tuple[int, int] = (8, 3)
) -> None:
    """Check registered image model ``name`` against the image-model contract.

    With its default options (``configs/image/defaults.yaml``) plus ``options``:

    1. it has an ``input_shape`` ``(channels, height, width)`` and maps a batch of that shape to float logits
       ``[batch, num_classes]``;
    2. ``textcls``'s image job trains it one epoch on :func:`write_image_folder` data and saves the run;
    3. the run loaded back (``ImagePredictor``) gives the same test loss and confusion matrix as the trained
       model.

    Args:
        name: a registered image model.
        folder: an empty folder for the images and the run.
        options: ``model_options`` to use (e.g. ``{"pretrained": False}``).
        per_class: training and test images per class (3 classes; a quarter of the training images validate).

    Raises:
        AssertionError: naming the rule ``name`` breaks.
    """
    from textcls.image.job import ImagePredictor, resolve_config, train_image
    from textcls.image.models import get_model

    folder = Path(folder)
    options = options or {}
    model = get_model(name, num_classes=3, **options).eval()
    shape = getattr(model, "input_shape", None)
    assert isinstance(shape, tuple) and len(shape) == 3, f"image model {name!r} needs input_shape = (C, H, W)"
    with torch.no_grad():
        logits = model(torch.randn(2, *shape))
    assert logits.shape == (2, 3) and logits.is_floating_point(), (
        f"image model {name!r}: forward must return float logits [batch, num_classes], got {tuple(logits.shape)}"
    )
    data = str(write_image_folder(folder / "images", per_class=per_class))
    quick = {"files": {"data": data}, "model_options": options, "training": _QUICK_TRAINING,
             "data": {"batch_size": 16, "valid_split": 0.25}, "phases": {"freeze_epochs": 0}}  # fmt: skip
    config = resolve_config(name, None, [quick])
    run = folder / "run"
    trained = train_image(config, run)["test"]
    loaded = ImagePredictor(run).evaluate(data)
    assert loaded["confusion"] == trained["confusion"] and math.isclose(
        loaded["loss"], trained["loss"], rel_tol=1e-6, abs_tol=1e-7
    ), f"image model {name!r}: loaded from its run directory it predicts differently from the model trained"
