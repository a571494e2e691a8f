"""Benchmark scale-out: one process with 2 threads, two processes (torchrun, gloo) with 1 thread each, and one
process with 1 thread, for ``bag``, ``bilstm`` and ``lenet``; and ``compare-embeddings --jobs 2`` against
``--jobs 1``.

Every configuration runs the real command line (``textcls train`` / ``textcls image train``, under
``python -m torch.distributed.run --standalone --nproc_per_node=2`` for two processes) for ``--epochs`` epochs and
reads the training examples/s of each epoch after the first from ``metrics.json`` (the first pays for warm-up);
the table shows their median and the wall time of the whole command (start-up included). The global batch is
the same in every configuration (each of two processes trains half of every batch), so the runs train the same
model.

Data (``<project>/../shared/data`` or ``--data-dir``): the book's NewsClassification train/valid files (5,000 /
1,000 rows, content column) for the text models, the MNIST test images (8,000 train / 2,000 held out) for
``lenet``; ``compare-embeddings`` runs ``bag`` with ``random,glove`` × 2 seeds on the book files.

With ``--device cuda`` (a GPU machine) it times 1 GPU with AMP instead.

Run: ``./dev.sh bench distributed [--epochs 3] [--models bag,bilstm,lenet] [--markdown-out FILE]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _bench_common import load_average, markdown_table, require_files, shared_data_dir

TEXT_MODELS = ("bag", "bilstm")
IMAGE_MODELS = ("lenet",)
CPU_LAYOUTS = (("1 process × 1 thread", 1, 1), ("1 process × 2 threads", 1, 2), ("2 processes × 1 thread", 2, 1))


def launcher(processes: int) -> list[str]:
    """The interpreter, under torchrun for several processes."""
    if processes == 1:
        return [sys.executable, "-m"]
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}", "-m"]


def train_command(model: str, data: Path, output: Path, epochs: int, threads: int, device: str) -> list[str]:
    """The ``textcls`` arguments training ``model`` for ``epochs`` epochs into ``output``."""
    common = ["--epochs", str(epochs), "--threads", str(threads), "--device", device, "--output", str(output),
              "--set", "training.patience=0"]  # fmt: skip
    if model in IMAGE_MODELS:
        return ["textcls", "image", "train", "--model", model, "--data", str(data / "mnist"), *common]
    book = data / "ag_news" / "packt_newsclassification"
    return ["textcls", "train", str(book / "train.csv.gz"), "--valid", str(book / "valid.csv.gz"), "--model", model,
            "--extra-fields", "merge", "--merge-sep", ";", *common]  # fmt: skip


def run(command: list[str], threads: int) -> float:
    """Run ``command`` (one line of its output on failure); returns its wall seconds."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"bench_distributed: {' '.join(command)} failed:\n{result.stderr[-2000:]}")
    return seconds


def measure(model: str, data: Path, tmp: Path, epochs: int, processes: int, threads: int, device: str) -> dict:
    output = tmp / f"{model}-{processes}x{threads}-{device}"
    wall = run(launcher(processes) + train_command(model, data, output, epochs, threads, device), threads)
    metrics = json.loads((output / "metrics.json").read_text())
    rates = [row["examples_per_s"] for row in metrics["history"][1:]] or [metrics["history"][0]["examples_per_s"]]
    final = metrics.get("valid") or {}
    return {"rate": statistics.median(rates), "wall": wall, "accuracy": final.get("accuracy"),
            "world_size": metrics.get("world_size", 1)}  # fmt: skip


def compare_ratio(data: Path, tmp: Path, epochs: int) -> tuple[float, float, bool]:
    """Wall seconds of ``compare-embeddings --jobs 1 --threads 1`` and ``--jobs 2 --threads 2`` (1 thread per
    run in both) and whether their summaries are identical."""
    book = data / "ag_news" / "packt_newsclassification"
    glove = data / "glove" / "glove.6B.50d.top100k.txt.gz"
    base = [sys.executable, "-m", "textcls", "compare-embeddings", str(book / "train.csv.gz"), "--valid",
            str(book / "valid.csv.gz"), "--extra-fields", "merge", "--merge-sep", ";", "--model", "bag",
            "--embeddings", f"random,glove:{glove}", "--seeds", "2", "--epochs", str(epochs)]  # fmt: skip
    serial = run(base + ["--jobs", "1", "--threads", "1", "--output", str(tmp / "compare-1")], 1)
    parallel = run(base + ["--jobs", "2", "--threads", "2", "--output", str(tmp / "compare-2")], 2)
    same = _results(tmp / "compare-1") == _results(tmp / "compare-2")
    return serial, parallel, same


def _results(folder: Path) -> list[tuple]:
    """(choice, seed, accuracy, macro-F1, best epoch) of every run of a comparison."""
    with open(folder / "runs.csv", newline="", encoding="utf-8") as handle:
        return [(row["embedding"], row["seed"], row["accuracy"], row["macro_f1"], row["best_epoch"])
                for row in csv.DictReader(handle)]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--models", default="bag,bilstm,lenet")
    parser.add_argument("--device", default="cpu", help="cpu (the three layouts) or cuda (1 GPU, AMP)")
    parser.add_argument("--skip-compare", action="store_true")
    parser.add_argument("--skip-models", action="store_true", help="only the compare-embeddings ratio")
    parser.add_argument("--markdown-out", type=Path)
    args = parser.parse_args(argv)
    data = args.data_dir or shared_data_dir(__file__)
    book = "ag_news/packt_newsclassification"
    require_files(data, f"{book}/train.csv.gz", f"{book}/valid.csv.gz", "mnist/t10k-images-idx3-ubyte.gz",
                  "glove/glove.6B.50d.top100k.txt.gz")  # fmt: skip
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    layouts = CPU_LAYOUTS if args.device == "cpu" else (("1 GPU, AMP", 1, 1),)
    rows, lines = [], [f"load average before: {load_average()}; epochs {args.epochs}; device {args.device}"]
    with tempfile.TemporaryDirectory(prefix="bench-distributed-") as folder:
        tmp = Path(folder)
        for model in [] if args.skip_models else models:
            baseline = None
            for name, processes, threads in layouts:
                result = measure(model, data, tmp, args.epochs, processes, threads, args.device)
                baseline = baseline or result["rate"]
                accuracy = "—" if result["accuracy"] is None else f"{100 * result['accuracy']:.2f} %"
                rows.append([model, name, f"{result['rate']:,.0f}", f"{result['rate'] / baseline:.2f}×",
                             f"{result['wall']:.1f}", accuracy])  # fmt: skip
                print(" | ".join(rows[-1]), flush=True)
        table = markdown_table(["model", "layout", "train examples/s", "vs 1 × 1", "wall s", "valid accuracy"], rows,
                               right=(2, 3, 4, 5))  # fmt: skip
        lines += ["", table]
        if not args.skip_compare and args.device == "cpu":
            serial, parallel, same = compare_ratio(data, tmp, args.epochs)
            lines += ["", f"compare-embeddings (bag, random + glove × 2 seeds, {args.epochs} epochs): --jobs 1 "
                      f"{serial:.1f} s, --jobs 2 {parallel:.1f} s, ratio {parallel / serial:.2f}; "
                      f"identical summaries: {same}"]  # fmt: skip
    lines.append(f"load average after: {load_average()}")
    text = "\n".join(lines)
    print(text)
    if args.markdown_out:
        args.markdown_out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
