"""Tiny trained runs for the export and serve tests (one per model and setting, trained once per session)."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

from cli_helpers import run_cli

# small enough to train in about a second on one thread; each model's own options where it has them
SMALL = {
    "bag": ["model_options.embedding_dim=16", "model_options.buckets=2000"],
    "cnn": ["model_options.embedding_dim=16", "model_options.num_filters=8"],
    "lstm": ["model_options.embedding_dim=16", "model_options.hidden_size=12"],
    "multilstm": ["model_options.embedding_dim=16", "model_options.hidden_size=12"],
    "bilstm": ["model_options.embedding_dim=16", "model_options.hidden_size=12"],
}
_RUNS: dict = {}


def tiny_run(root: Path, model: str, *extra: str, binary: bool = False) -> Path:
    """A one-epoch run of ``model`` on a generated corpus (``binary``: two of its three labels), with the
    ``--set`` values of :data:`SMALL` and ``extra``; cached for the session under ``root``."""
    import torch

    from textcls.testing import write_text_corpus

    key = (model, extra, binary)
    if key in _RUNS:
        return _RUNS[key]
    folder = root / f"{model}-{len(_RUNS)}"
    corpus = write_text_corpus(folder / "data", rows=(120, 30, 30))
    if binary:
        for split in ("train", "valid"):
            path = Path(corpus[split])
            lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
            path.write_text("".join(line for line in lines if not line.rstrip().endswith(",science")), "utf-8")
    sets = [item for value in [*SMALL[model], *extra] for item in ("--set", value)]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        status, _, err = run_cli(
            "train", corpus["train"], "--valid", corpus["valid"], "--model", model, "--epochs", 1,
            "--output", folder / "run", *sets,
        )  # fmt: skip
    finally:
        torch.set_num_threads(threads)
    assert status == 0, err
    _RUNS[key] = folder / "run"
    return folder / "run"


def real_texts(generated) -> list[str]:
    """News descriptions of the generated AG News file (mixed case, punctuation), plus texts of mixed lengths:
    one word, unknown words only, an empty one, and one longer than the runs' ``max_length`` (400 tokens)."""
    with gzip.open(generated.ag_news, "rt", encoding="utf-8") as handle:
        rows = [row[2] for _, row in zip(range(40), csv.reader(handle))]
    return [*rows, "market", "zyxxy qwerty", "", "Prices, shares & profit!", " ".join(rows * 12)]
