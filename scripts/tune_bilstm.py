"""Hyper-parameter sweep of bilstm + GloVe 50d on the book split (content, and title + description).

Each variant changes the ``configs/bilstm.yaml`` defaults (the README's sweep ran against the earlier defaults,
batch 64 without a schedule, where ``p_bs32`` won; it is today's ``base``); every (split, variant, seed) run
appends one JSON line (valid / test accuracy, seconds, epochs) to OUT. Choose on the mean validation accuracy
over seeds, not on test.

Run: ``PYTHONPATH=. python scripts/tune_bilstm.py VARIANT[,VARIANT...] SEEDS amp|off OUT.jsonl [DATA_DIR]``, e.g.
``scripts/tune_bilstm.py base,bs32,p_bs32 0,1,2 off sweep.jsonl`` (the README's sweep ran 4 such processes at once on
a GPU machine).
"""

import json
import logging
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_common import shared_data_dir  # noqa: E402
from bench_train import GLOVE, splits, textcls_run  # noqa: E402

from textcls.config import merge  # noqa: E402

logging.getLogger("textcls").setLevel(logging.ERROR)
VARIANTS = {
    "base": {},
    "h256": {"model_options": {"hidden_size": 256}},
    "h64": {"model_options": {"hidden_size": 64}},
    "lr1e-3": {"training": {"lr": 0.001, "epochs": 15, "patience": 4}},
    "edrop.3": {"model_options": {"embedding_dropout": 0.3}},
    "edrop.1": {"model_options": {"embedding_dropout": 0.1}},
    "freeze0": {"model_options": {"freeze_epochs": 0}},
    "freeze2": {"model_options": {"freeze_epochs": 2}},
    "mean": {"model_options": {"pooling": "mean"}},
    "bs32": {"data": {"batch_size": 32}},
    "cosine": {"training": {"scheduler": "cosine", "epochs": 10, "patience": 0}},
    "wd": {"training": {"optimizer": "adamw", "weight_decay": 0.01}},
    "layers2": {"model_options": {"num_layers": 2}},
    "drop.3": {"model_options": {"dropout": 0.3}},
    "novocab": {"data": {"vectors_vocab": False}},
    "plateau": {"training": {"scheduler": "plateau", "gamma": 0.3, "epochs": 15, "patience": 4}},
}


def _combo(*names):
    out = {}
    for n in names:
        out = merge(out, VARIANTS[n])
    return out


for extra in ("bs32", "edrop.3", "h256", "freeze0", "wd"):
    VARIANTS["p_" + extra] = _combo("plateau", extra)
VARIANTS["p_bs32_edrop.3"] = _combo("plateau", "bs32", "edrop.3")


def main() -> None:
    names = sys.argv[1].split(",")
    DATA = Path(sys.argv[5]) if len(sys.argv) > 5 else shared_data_dir(__file__)
    seeds = [int(s) for s in sys.argv[2].split(",")]
    amp = sys.argv[3] == "amp" if len(sys.argv) > 3 else False
    out = Path(sys.argv[4] if len(sys.argv) > 4 else "sweep.jsonl")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for split_name, (files, data) in splits(DATA, tmp).items():
            for name in names:
                for seed in seeds:
                    overrides = merge(VARIANTS[name], {"training": {"seed": seed, "amp": amp}})
                    data_opts = {**data, "vectors": str(DATA / GLOVE), **overrides.pop("data", {})}
                    r = textcls_run("bilstm", files, data_opts, tmp / f"{split_name}-{name}-{seed}", overrides)
                    row = {"split": split_name, "variant": name, "seed": seed, **r}
                    print(json.dumps(row), flush=True)
                    with open(out, "a") as f:
                        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
