"""Hyper-parameter sweep of bilstm + GloVe 50d on the book split (content, and title + description).

Each variant changes the ``textcls/configs/bilstm.yaml`` defaults (the README's sweep ran against the earlier defaults,
batch 64 without a schedule, where ``p_bs32`` won; it is today's ``base``); every (split, variant, seed) run
appends one JSON line (valid / test accuracy, seconds, epochs) to OUT. Choose on the mean validation accuracy
over seeds, not on test.

Run: ``PYTHONPATH=. python scripts/tune_bilstm.py VARIANT[,VARIANT...] [--seeds 0,1,2] [--amp] [--out F.jsonl]
[--split content|title+description] [--data DIR]``, e.g. ``scripts/tune_bilstm.py base,bs32,p_bs32 --amp`` (the
README's sweep ran 4 such processes at once on a GPU machine).
"""

import argparse
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
    "maxmean": {"model_options": {"pooling": "max+mean"}},
    "embmean": {"model_options": {"mean_embedding": True}},
    "ema.99": {"training": {"ema_decay": 0.99}},
    "ema.995": {"training": {"ema_decay": 0.995}},
    "loss": {"training": {"monitor": "loss"}},
    "noema": {"training": {"ema_decay": 0.0}},
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", help="comma-separated names, or combinations like a+b: " + ", ".join(VARIANTS))
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default 0,1,2)")
    parser.add_argument("--amp", action="store_true", help="mixed precision (on a GPU)")
    parser.add_argument("--out", default="sweep.jsonl", help="JSON lines appended here")
    parser.add_argument("--split", choices=("content", "title+description"), help="only this split")
    parser.add_argument("--data", type=Path, help="the shared data directory (default ../shared/data)")
    args = parser.parse_args()
    data_dir = args.data or shared_data_dir(__file__)
    names = args.variants.split(",")
    unknown = [part for name in names for part in name.split("+") if part not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant {unknown[0]!r}")
    seeds = [int(s) for s in args.seeds.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for split_name, (files, data) in splits(data_dir, tmp).items():
            if args.split and split_name != args.split:
                continue
            for name in names:
                for seed in seeds:
                    overrides = merge(_combo(*name.split("+")), {"training": {"seed": seed, "amp": args.amp}})
                    data_opts = {**data, "vectors": str(data_dir / GLOVE), **overrides.pop("data", {})}
                    r = textcls_run("bilstm", files, data_opts, tmp / f"{split_name}-{name}-{seed}", overrides)
                    row = {"split": split_name, "variant": name, "seed": seed, **r}
                    print(json.dumps(row), flush=True)
                    with open(args.out, "a") as f:
                        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
