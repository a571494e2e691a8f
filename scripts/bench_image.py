"""Benchmark the image models on the shared trainer: MNIST accuracy in ≤ 5 epochs, and trainer vs bare loop speed.

Data (``<project>/../shared/data`` or ``--data-dir``): ``mnist/t10k-{images-idx3,labels-idx1}-ubyte.gz`` (the MNIST
test images), split 8,000 training / 2,000 held out with seed 0 (``valid_split 0.2``), as ``textcls image train``
does for a directory with one split.

1. Accuracy: ``lenet``, ``mnist-cnn`` and ``mnist-convnet`` with their ``textcls/configs/image/defaults.yaml`` settings,
   5 epochs each: held-out accuracy (target ≥ 97 %), seconds per epoch and training images/s.
2. Speed: images/s of one training epoch through the Trainer against a bare hand-written loop on the same model
   and batches (target ≥ 0.9×): a warm-up epoch, then the two interleaved, median of ``--repeats``.

Run: ``./dev.sh bench image [--epochs 5] [--threads 2] [--markdown-out FILE]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from _bench_common import Report, load_average, markdown_table, require_files, shared_data_dir

from textcls.image.data import load_images
from textcls.image.job import ImageRun, resolve_config, train_image
from textcls.training.trainer import Trainer, TrainerConfig, seed_everything

MODELS = ("lenet", "mnist-cnn", "mnist-convnet")


def accuracy_rows(mnist: Path, epochs: int, tmp: Path) -> list[list[str]]:
    rows = []
    for name in MODELS:
        settings = {"files": {"data": str(mnist)}, "training": {"epochs": epochs, "progress": False, "patience": 0}}
        config = resolve_config(name, None, [settings])
        result = train_image(config, tmp / name)
        history = result["history"]
        accuracy = max(row["valid"]["accuracy"] for row in history)
        per_epoch = statistics.median(row["seconds"] for row in history)
        rate = statistics.median(row["examples_per_s"] for row in history)
        mark = "✓" if accuracy >= 0.97 else "✗"
        rows.append([name, f"{accuracy:.2%} {mark}", f"{len(history)}", f"{per_epoch:.1f} s", f"{rate:,.0f}",
                     f"lr {config['training']['lr']:g}, batch {config['data']['batch_size']}"])  # fmt: skip
        print(rows[-1], flush=True)
    return rows


def _setup(mnist: Path, name: str):
    config = resolve_config(name, None, [{"files": {"data": str(mnist)}, "training": {"device": "cpu"}}])
    data = load_images(str(mnist))
    train_split, _ = data.split_valid(0.2, 0)
    seed_everything(0)
    job = ImageRun(config, data)
    return config, job, job.batches(train_split, True, 0)


def trainer_rate(mnist: Path, name: str) -> float:
    config, job, batches = _setup(mnist, name)
    training = TrainerConfig.from_dict({**config["training"], "epochs": 1, "progress": False, "device": "cpu"})
    history = Trainer(job.model, job.task, training, run_dir=None, tensorboard=False).fit(batches, None)
    return history[-1]["examples_per_s"]


def bare_rate(mnist: Path, name: str) -> float:
    """The same epoch as a hand-written loop: Adam, cross-entropy, nothing else."""
    config, job, batches = _setup(mnist, name)
    model = job.model
    optimizer = torch.optim.Adam(model.parameters(), lr=config["training"]["lr"])
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    images = 0
    start = time.perf_counter()
    for step in batches:
        optimizer.zero_grad()
        loss = loss_fn(model(*step.inputs), step.targets)
        loss.backward()
        optimizer.step()
        images += len(step.targets)
    return images / (time.perf_counter() - start)


def speed_rows(mnist: Path, repeats: int) -> list[list[str]]:
    rows = []
    for name in MODELS:
        bare_rate(mnist, name)  # warm-up: first-call costs (allocator, kernels) stay out of the figures
        bares, trainers = [], []
        for _ in range(repeats):  # interleaved, so a noisy neighbour hurts both alike
            bares.append(bare_rate(mnist, name))
            trainers.append(trainer_rate(mnist, name))
        bare, trainer = statistics.median(bares), statistics.median(trainers)
        ratio = trainer / bare
        rows.append(
            [name, f"{bare:,.0f}", f"{trainer:,.0f}", f"{ratio:.2f}", "≥ 0.90 " + ("✓" if ratio >= 0.9 else "✗")]
        )
        print(rows[-1], flush=True)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=shared_data_dir(__file__))
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--markdown-out", type=Path)
    parser.add_argument("--only", choices=["accuracy", "speed"], help="run one part")
    args = parser.parse_args(argv)
    require_files(args.data_dir, "mnist/t10k-images-idx3-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz")
    mnist = args.data_dir / "mnist"
    torch.set_num_threads(args.threads)
    report = Report()
    report.add(f"torch {torch.__version__}, CPU, {args.threads} threads, load average at start {load_average()}, "
               f"python {sys.version.split()[0]}")  # fmt: skip
    if args.only != "speed":
        with tempfile.TemporaryDirectory() as tmp:
            rows = accuracy_rows(mnist, args.epochs, Path(tmp))
        report.add(markdown_table(["MNIST 8,000 / 2,000", "held-out accuracy", "epochs", "s / epoch",
                                   "train images/s", "settings"], rows, right=(1, 2, 3, 4)))  # fmt: skip
    if args.only != "accuracy":
        rows = speed_rows(mnist, args.repeats)
        report.add(markdown_table(["one epoch, 8,000 images", "bare loop images/s", "Trainer images/s", "× bare",
                                   "target"], rows, right=(1, 2, 3)))  # fmt: skip
    if args.markdown_out:
        report.write(args.markdown_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
