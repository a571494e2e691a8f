"""Benchmark training: accuracy of every text model against fastText, and the trainer's speed.

Data (``<project>/../shared/data`` or ``--data-dir``): the book's split of AG News
(``ag_news/packt_newsclassification/{train,valid,test}.csv.gz``: 5,000 / 1,000 / 1,600 rows, description only,
read with ``--extra-fields merge --merge-sep ';'``) and the same ids with title + description taken from
``ag_news/test.csv.gz`` (rows 0-4999 / 5000-5999 / 6000-7599). GloVe: ``glove/glove.6B.50d.top100k.txt.gz``.

1. Accuracy: test accuracy, macro-F1 and wall time of ``lstm``, ``multilstm``, ``bilstm`` (random init and GloVe
   50d) with their ``textcls/configs/*.yaml`` defaults, ``bag``, and fastText (``fasttext-numpy2``). ``bag`` and
   fastText are tuned the same way: a grid over learning rate × epochs × word n-grams, best on validation, then tested.
   fastText gets the same tokens (basic_english, lower-cased), a shuffled training file (fixed seed) and an
   explicit ``bucket``. Targets: bilstm + GloVe ≥ 88.0 % (content) / ≥ 89.0 % (title + description) and ≥ fastText's
   best; bag within 0.5 points of fastText at ≤ 2× its wall time.
2. Speed (bilstm 1×128, GloVe, content split, one epoch, median of ``--repeats``): tokens/s of the Trainer against
   a bare hand-written loop on the same model and batches (target ≥ 0.9×), bucketed against random batches, and
   packed against padded sequences.

Run: ``PYTHONPATH=. python scripts/bench_train.py [--quick] [--markdown-out FILE] [--threads 2]``.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import itertools
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from _bench_common import Report, load_average, markdown_table, require_files, shared_data_dir

from textcls import config as cfg
from textcls.config import merge
from textcls.jobs.rundir import build_model
from textcls.jobs.train import TextData, attach_embeddings, train_text
from textcls.training.task import Task
from textcls.training.trainer import Trainer, TrainerConfig, pick_device, seed_everything

AG_CLASSES = {"1": "World", "2": "Sports", "3": "Business", "4": "SciTech"}
PACKT = "ag_news/packt_newsclassification"
GLOVE = "glove/glove.6B.50d.top100k.txt.gz"
MERGE = {"extra_fields": "merge", "merge_sep": ";"}


def title_description_split(data_dir: Path, out: Path) -> dict:
    """Write train/valid/test CSVs (text,label) with title + description for the book's ids."""
    with gzip.open(data_dir / "ag_news/test.csv.gz", "rt", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    files = {}
    for name, (start, stop) in {"train": (0, 5000), "valid": (5000, 6000), "test": (6000, 7600)}.items():
        path = out / f"{name}.csv"
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "label"])
            for label, title, description in rows[start:stop]:
                writer.writerow([f"{title} {description}", AG_CLASSES[label]])
        files[name] = str(path)
    return files


def splits(data_dir: Path, tmp: Path) -> dict:
    content = {name: str(data_dir / PACKT / f"{name}.csv.gz") for name in ("train", "valid", "test")}
    both = title_description_split(data_dir, tmp)
    return {"content": (content, MERGE), "title+description": (both, {})}


def lstm_row(split_name: str, label: str, results: list[dict]) -> list[str]:
    """A table row: test accuracy (mean ± std over seeds, when several), macro-F1, seconds per run, epochs."""
    tests = [r["test"] for r in results]
    accuracy = f"{statistics.mean(tests):.2%}"
    notes = f"{statistics.mean(r['epochs'] for r in results):.0f} epochs"
    if len(results) > 1:
        accuracy += f" ± {statistics.stdev(tests):.2%}"
        notes += f"; {len(results)} seeds: " + " / ".join(f"{t:.2%}" for t in tests)
    seconds = statistics.mean(r["seconds"] for r in results)
    return [split_name, label, accuracy, f"{statistics.mean(r['f1'] for r in results):.3f}", f"{seconds:.0f} s", notes]


def textcls_run(model: str, files: dict, data: dict, run_dir: Path, overrides: dict | None = None) -> dict:
    overrides = overrides or {}
    config = cfg.resolve(
        model,
        None,
        [{"files": files, "data": data, "training": {"progress": False}}, overrides],
    )
    start = time.perf_counter()
    result = train_text(config, run_dir)
    seconds = time.perf_counter() - start
    return {
        "valid": result["valid"]["accuracy"],
        "test": result["test"]["accuracy"],
        "f1": result["test"]["macro_f1"],
        "seconds": seconds,
        "train_seconds": sum(row["seconds"] for row in result["history"]),  # the epochs alone, as fastText's time
        "epochs": len(result["history"]),
    }


def device_name(device: str) -> str:
    if device != "cpu" and torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} (AMP on)"
    return "CPU"


# --- fastText -----------------------------------------------------------------------------------------------
def fasttext_file(dataset, path: Path, shuffle_seed: int | None) -> Path:
    lines = [f"__label__{ex.label} {' '.join(ex.text)}" for ex in dataset]
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(lines)  # fastText does not shuffle its input
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def glove_vec_file(data_dir: Path, path: Path) -> Path:
    with gzip.open(data_dir / GLOVE, "rt", encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    path.write_text(f"{len(lines)} 50\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def fasttext_accuracy(model, dataset) -> float:
    texts = [" ".join(ex.text) for ex in dataset]
    labels, _ = model.predict(texts, k=1)
    return sum(pred[0] == f"__label__{ex.label}" for pred, ex in zip(labels, dataset)) / len(dataset)


def tune_fasttext(files: dict, data: dict, tmp: Path, grid: list[dict], pretrained: Path | None) -> dict:
    import fasttext

    text_data = TextData(cfg.resolve("bag", None, [{"files": files, "data": data}]))
    train_file = fasttext_file(text_data.train, tmp / "ft_train.txt", shuffle_seed=0)
    best = None
    for options in grid:
        extra = {"pretrainedVectors": str(pretrained), "dim": 50} if pretrained else {"dim": 50}
        start = time.perf_counter()
        try:
            model = fasttext.train_supervised(
                str(train_file), lr=options["lr"], epoch=options["epochs"], wordNgrams=options["ngrams"],
                bucket=200_000, thread=2, seed=0, verbose=0, **extra,
            )  # fmt: skip
        except RuntimeError as exc:  # "Encountered NaN": this learning rate diverges; the grid moves on
            print(f"fastText {options}: {exc}", flush=True)
            continue
        seconds = time.perf_counter() - start
        valid = fasttext_accuracy(model, text_data.valid)
        if best is None or valid > best["valid"]:
            best = {"valid": valid, "test": fasttext_accuracy(model, text_data.test), "seconds": seconds, **options}
    return best


def tune_bag(files: dict, data: dict, tmp: Path, grid: list[dict], device: dict) -> dict:
    best = None
    for i, options in enumerate(grid):
        overrides = {
            "training": {"lr": options["lr"], "epochs": options["epochs"], "patience": 0, **device},
            "model_options": {"ngrams": options["ngrams"]},
        }
        result = textcls_run("bag", files, data, tmp / f"bag{i}", overrides)
        if best is None or result["valid"] > best["valid"]:
            best = {**result, **options}
    return best


# --- speed --------------------------------------------------------------------------------------------------
def speed_setup(files: dict, data: dict, device: str, order: str = "bucket", packed: bool = True):
    config = cfg.resolve("bilstm", None, [{"files": files, "data": data, "training": {"device": device}}])
    config["model_options"]["packed"] = packed
    text_data = TextData(config)
    text_data.build_vocab(config["data"])
    attach_embeddings(config, text_data)
    task = Task.from_labels(text_data.label_field.vocab.itos)
    batches = text_data.batches(text_data.train, config["data"], True)
    batches.sampler.order = order
    return config, text_data, task, batches


def trainer_epoch(config, text_data, task, batches) -> float:
    seed_everything(0)
    model = build_model(config, text_data.text_field, task, text_data.text_field.vocab.vectors)
    training = TrainerConfig.from_dict({**config["training"], "epochs": 1, "progress": False})
    trainer = Trainer(model, task, training, run_dir=None, tensorboard=False)
    history = trainer.fit(batches, None)
    return history[-1]["tokens_per_s"]


def bare_epoch(config, text_data, task, batches) -> float:
    """The same epoch as a hand-written loop (AMP on CUDA, as the Trainer): no metrics, hooks or checkpoints."""
    seed_everything(0)
    device = pick_device(config["training"]["device"])
    cuda = device.type == "cuda"
    model = build_model(config, text_data.text_field, task, text_data.text_field.vocab.vectors).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config["training"]["lr"])
    scaler = torch.amp.GradScaler("cuda", enabled=cuda)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    batches.set_epoch(0)
    tokens = 0
    start = time.perf_counter()
    for step in batches:
        tokens_in, lengths = (t.to(device, non_blocking=True) for t in step.inputs)
        targets = step.targets.to(device, non_blocking=True)
        optimizer.zero_grad()
        with torch.autocast(device.type, enabled=cuda):
            loss = loss_fn(model(tokens_in, lengths), targets)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), config["training"]["clip_grad_norm"])
        scaler.step(optimizer)
        scaler.update()
        tokens += step.tokens
    if cuda:
        torch.cuda.synchronize()
    return tokens / (time.perf_counter() - start)


def speed_table(files: dict, data: dict, repeats: int, device: str) -> str:
    def median_rate(fn, **setup_kwargs):
        setup = speed_setup(files, data, device, **setup_kwargs)
        return statistics.median(fn(*setup) for _ in range(repeats))

    bare = median_rate(bare_epoch)
    trainer = median_rate(trainer_epoch)
    shuffled = median_rate(trainer_epoch, order="shuffled")
    padded = median_rate(trainer_epoch, packed=False)
    rows = [
        ["bare loop (bucketed, packed)", f"{bare:,.0f}", "1.00", ""],
        [
            "Trainer (bucketed, packed)",
            f"{trainer:,.0f}",
            f"{trainer / bare:.2f}",
            "≥ 0.90" + (" ✓" if trainer >= 0.9 * bare else " ✗"),
        ],
        ["Trainer, random batches", f"{shuffled:,.0f}", f"{shuffled / bare:.2f}", ""],
        ["Trainer, padded (not packed)", f"{padded:,.0f}", f"{padded / bare:.2f}", ""],
    ]
    return markdown_table(
        [f"bilstm 1×128 + GloVe 50d, one epoch, {device_name(device)}", "real tokens/s", "× bare", "target"],
        rows,
        right=(1, 2),
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=shared_data_dir(__file__))
    parser.add_argument("--markdown-out", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=5, help="seeds for the bilstm + GloVe rows (mean ± std)")
    parser.add_argument("--device", default="cpu", help="training device: cpu, cuda (AMP on), auto")
    parser.add_argument("--quick", action="store_true", help="one split, few epochs, small grids (smoke test)")
    parser.add_argument("--no-fasttext", action="store_true", help="skip the fastText rows (e.g. on a GPU machine)")
    parser.add_argument(
        "--only", choices=["accuracy", "baselines", "speed"], help="one part (baselines: bag and fastText rows only)"
    )
    args = parser.parse_args(argv)
    require_files(args.data_dir, f"{PACKT}/train.csv.gz", "ag_news/test.csv.gz", GLOVE)
    torch.set_num_threads(args.threads)
    device = {"device": args.device}
    report = Report()
    report.add(
        f"torch {torch.__version__}, device {device_name(args.device)}, {args.threads} threads, "
        f"load average at start {load_average()}, python {sys.version.split()[0]}"
    )
    glove = str(args.data_dir / GLOVE)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        all_splits = splits(args.data_dir, tmp)
        if args.quick:
            all_splits = {"content": all_splits["content"]}
        if args.only != "speed":
            quick = {"training": {"epochs": 1}} if args.quick else {}
            grid_bag = [
                {"lr": lr, "epochs": ep, "ngrams": ng}
                for lr, ep, ng in itertools.product((0.25, 0.5, 1.0), (2, 3, 5), (1, 2))
            ]
            grid_ft = [
                {"lr": lr, "epochs": ep, "ngrams": ng}
                for lr, ep, ng in itertools.product((0.1, 0.25, 0.5, 1.0), (5, 10, 25), (1, 2))
            ]
            if args.quick:
                grid_bag, grid_ft = grid_bag[:2], grid_ft[:2]
            rows = []
            for split_name, (files, data) in all_splits.items():
                runs = [
                    ("lstm + GloVe", "lstm", {**data, "vectors": glove}),
                    ("multilstm + GloVe", "multilstm", {**data, "vectors": glove}),
                    ("bilstm, random init", "bilstm", data),
                    ("bilstm + GloVe", "bilstm", {**data, "vectors": glove}),
                ]
                for label, model, run_data in runs if args.only != "baselines" else ():
                    seeds = range(args.seeds) if label == "bilstm + GloVe" else range(1)
                    results = [
                        textcls_run(model, files, run_data, tmp / f"{split_name}-{model}-{label[-5:]}-{seed}",
                                    merge(quick, {"training": {"seed": seed, **device}}))
                        for seed in seeds
                    ]  # fmt: skip
                    rows.append(lstm_row(split_name, label, results))
                    print(rows[-1], flush=True)
                defaults = cfg.resolve("bag", None, [])
                default_options = {
                    "lr": defaults["training"]["lr"], "epochs": defaults["training"]["epochs"],
                    "ngrams": defaults["model_options"]["ngrams"],
                }  # fmt: skip
                for label, grid in (("bag (configs/bag.yaml)", [default_options]), ("bag (tuned on valid)", grid_bag)):
                    bag = tune_bag(files, data, tmp / split_name, grid, device)
                    notes = f"lr {bag['lr']}, {bag['epochs']} ep, {bag['ngrams']}-grams; {bag['seconds']:.0f} s in all"
                    rows.append([split_name, label, f"{bag['test']:.2%}", f"{bag['f1']:.3f}",
                                 f"{bag['train_seconds']:.1f} s training", notes])  # fmt: skip
                    print(rows[-1], flush=True)
                for pretrained in (
                    () if args.no_fasttext else (None, glove_vec_file(args.data_dir, tmp / "glove50.vec"))
                ):
                    ft = tune_fasttext(files, data, tmp, grid_ft, pretrained)
                    label = "fastText + GloVe (tuned)" if pretrained else "fastText (tuned on valid)"
                    rows.append([split_name, label, f"{ft['test']:.2%}", "", f"{ft['seconds']:.1f} s training",
                                 f"lr {ft['lr']}, {ft['epochs']} ep, {ft['ngrams']}-grams"])  # fmt: skip
                    print(rows[-1], flush=True)
            report.add(
                markdown_table(
                    ["split", "model", "test accuracy", "macro-F1", "wall time", "notes"], rows, right=(2, 3, 4)
                )
            )
        if args.only not in ("accuracy", "baselines"):
            files, data = all_splits["content"]
            report.add(speed_table(files, {**data, "vectors": glove}, 1 if args.quick else args.repeats, args.device))
    if args.markdown_out:
        report.write(args.markdown_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
