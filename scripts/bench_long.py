"""Benchmark long documents (issue 15): the LSTM family's encodings measured on real batches, then one table of
accuracy and speed for every model on 20 Newsgroups and the AG book split.

Data (``<project>/../shared/data`` or ``--data-dir``): ``20newsgroups/20news-bydate.tar.gz``, read with
``tarfile``; each post's header block (everything up to the first blank line) is stripped; 10 % of the official
train split (fixed seed 0) validates, the official test split tests. The AG book split
(``ag_news/packt_newsclassification``, description only, ``--extra-fields merge --merge-sep ';'``). GloVe 6B 50d
(``glove/glove.6B.50d.top100k.txt.gz``).

1. ``--part probe``: forward, backward and Adam-step seconds of the BiLSTM (configs/bilstm.yaml; 1×128 and dense
   embedding gradients unless the row says otherwise; random 100-d embedding) on the same real 20NG training
   batches (a fixed sample of posts, bucketed into batches of 32): packed sequences, padded (the LSTM over the
   padding, masked pooling), windows of 64/128/256 tokens encoded as one batch, each cut to the first
   100/256/400/1000 tokens or not cut, token-budget batches, and the long-text settings (1×64, sparse embedding
   gradients with lazy Adam).
2. ``--part table``: test accuracy (mean ± std over ``--seeds``), seconds per epoch, tokens/s and wall time of
   ``bilstm`` (old path ``encoding=packed``, 1×128, dense embedding gradients, ``max_length=400``, and the new
   defaults, which choose their long-text settings on 20NG), ``cnn``, ``bag`` (its
   configs/bag.yaml defaults), fastText (``fasttext-numpy2``: shuffled input, ``bucket`` set, a small grid
   chosen on validation, with and without GloVe ``pretrainedVectors``) and TF-IDF + LinearSVC (C chosen on
   validation). Every run uses ``--threads`` threads (printed).

Run: ``PYTHONPATH=. python scripts/bench_long.py [--part probe|table|all] [--datasets 20ng,ag]
[--models bilstm-old,bilstm,cnn,bag,fasttext,fasttext-glove,svm] [--seeds 3] [--epochs N | 20ng=N,ag=M]
[--model-seeds 20ng:bilstm=1,...] [--old-from-probe 20ng] [--parallel N] [--threads 1] [--markdown-out FILE]``
(``--old-from-probe``: the old path's seconds per epoch estimated from the probe instead of trained;
``--parallel N``: the (dataset, model) jobs in N worker processes).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import random
import statistics
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import torch
from _bench_common import Report, load_average, markdown_table, require_files, shared_data_dir

from textcls import config as cfg
from textcls.jobs.rundir import build_model
from textcls.jobs.train import TextData, train_text
from textcls.training.optim import build_optimizer
from textcls.training.task import Task
from textcls.training.trainer import seed_everything

MODELS = ("bilstm-old", "bilstm", "cnn", "bag", "fasttext", "fasttext-glove", "svm")
OLD_PROBE_ROW = "packed, first 400 (old default)"
LONG_PROBE_ROW = "padded exact, 1×64, sparse embedding (the long-text defaults), first 400"
NG = "20newsgroups/20news-bydate.tar.gz"
PACKT = "ag_news/packt_newsclassification"
GLOVE = "glove/glove.6B.50d.top100k.txt.gz"
MERGE = {"extra_fields": "merge", "merge_sep": ";"}


# --- data ---------------------------------------------------------------------------------------------------
def strip_header(post: str) -> str:
    """A Usenet post without its header block (everything up to the first blank line)."""
    parts = post.split("\n\n", 1)
    return parts[1] if len(parts) > 1 else ""


def twenty_news_files(data_dir: Path, out: Path, valid_share: float = 0.1, seed: int = 0) -> dict:
    """Write 20NG as ``train/valid/test.csv`` (``text,label``): headers stripped, ``valid_share`` of the official
    train split (shuffled with ``seed``) as validation, the official test split as test."""
    rows = {"train": [], "test": []}
    with tarfile.open(data_dir / NG) as tar:
        for member in tar:
            if not member.isfile():
                continue
            split, group = member.name.split("/")[:2]
            text = strip_header(tar.extractfile(member).read().decode("latin-1"))
            rows["train" if split.endswith("train") else "test"].append((" ".join(text.split()), group))
    train = rows["train"]
    random.Random(seed).shuffle(train)
    cut = round(len(train) * valid_share)
    rows = {"train": train[cut:], "valid": train[:cut], "test": rows["test"]}
    files = {}
    for name, split_rows in rows.items():
        path = out / f"20ng_{name}.csv"
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "label"])
            writer.writerows(split_rows)
        files[name] = str(path)
    return files


def datasets(data_dir: Path, tmp: Path, names) -> dict:
    """``{name: (files, data options)}`` for ``20ng`` and ``ag`` (the book split, content column)."""
    found = {}
    if "20ng" in names:
        found["20ng"] = (twenty_news_files(data_dir, tmp), {})
    if "ag" in names:
        found["ag"] = ({name: str(data_dir / PACKT / f"{name}.csv.gz") for name in ("train", "valid", "test")}, MERGE)
    return found


# --- probe --------------------------------------------------------------------------------------------------
def probe(files: dict, data: dict, posts: int, threads: int, slow: bool = False) -> str:
    """Forward/backward seconds of the BiLSTM encodings on the same real batches (see the module docstring)."""
    base = cfg.resolve("bilstm", None, [{"files": files, "data": {**data, "max_length": None}}])
    text_data = TextData(base)
    text_data.build_vocab(base["data"])
    task = Task.from_labels(text_data.label_field.vocab.itos)
    sample = random.Random(0).sample(range(len(text_data.train)), posts)
    examples = [text_data.train[i] for i in sample]
    lengths = sorted(len(ex.text) for ex in examples)
    header = (
        f"probe: {posts} 20NG training posts (seed 0), tokens per post: median {lengths[len(lengths) // 2]}, "
        f"90th percentile {lengths[int(0.9 * len(lengths))]}, max {lengths[-1]}; {threads} thread(s)"
    )

    def run(label, max_length, batch_size=32, max_tokens=None, **options):
        # every row names its encoding: the config's "auto" would be read as padded by a model built without data
        options = {"hidden_size": 128, "sparse_embedding": False, "encoding": "padded", **options}
        from textcls.data.loader import TextBatches

        batches = TextBatches(
            examples, text_data.text_field, text_data.label_field, batch_size=batch_size, max_tokens=max_tokens,
            order="sorted", max_length=max_length,
        )  # fmt: skip
        config = {**base, "model_options": {**base["model_options"], **options}}
        seed_everything(0)
        model = build_model(config, text_data.text_field, task).train()
        optimizer = build_optimizer(model, "adam", 0.002)  # Adam, or LazyAdam with sparse_embedding (as training)
        loss_fn = torch.nn.CrossEntropyLoss()
        forward = backward = update = 0.0
        tokens = 0
        for step in batches:
            tokens_in, step_lengths = step.inputs
            start = time.perf_counter()
            loss = loss_fn(model(tokens_in, step_lengths), step.targets)
            middle = time.perf_counter()
            loss.backward()
            after = time.perf_counter()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            update += time.perf_counter() - after
            backward += after - middle
            forward += middle - start
            tokens += step.tokens
        total = forward + backward + update
        row = [label, f"{tokens:,}", f"{len(batches)}", f"{forward:.2f}", f"{backward:.2f}", f"{update:.2f}",
               f"{tokens / total:,.0f}"]  # fmt: skip
        print(row, flush=True)
        return row

    rows = [
        run("packed, first 100 tokens", 100, encoding="packed"),
        run("packed, first 256", 256, encoding="packed"),
        run(OLD_PROBE_ROW, 400, encoding="packed"),
        run("padded, over the padding (packed: false), first 400", 400, packed=False),
        run("padded exact (encoding padded), first 400", 400, encoding="padded"),
        run("padded exact, sparse embedding (lazy Adam), first 400", 400, encoding="padded", sparse_embedding=True),
        run("padded exact, 1×64, first 400", 400, encoding="padded", hidden_size=64),
        run(LONG_PROBE_ROW, 400, encoding="padded", hidden_size=64, sparse_embedding=True),
        run("padded exact, first 1000", 1000, encoding="padded"),
        run("padded exact, first 1000, token budget 16,000", 1000, batch_size=256, max_tokens=16000, encoding="padded"),
        run("windows of 64, first 1000", 1000, encoding="windows", window=64),
        run("windows of 128, first 1000", 1000, encoding="windows", window=128),
        run("windows of 256, first 1000", 1000, encoding="windows", window=256),
        run("padded exact, whole posts", None, encoding="padded"),
        run("windows of 128, whole posts", None, encoding="windows", window=128),
    ]
    if slow:
        rows.append(run("packed, first 1000", 1000, encoding="packed"))
    table = markdown_table(
        ["bilstm (1×128 unless said), real 20NG batches of 32", "real tokens", "batches", "forward s", "backward s",
         "Adam step s", "tokens/s"],
        rows,
        right=(1, 2, 3, 4, 5, 6),
    )  # fmt: skip
    rates = {row[0]: float(row[6].replace(",", "")) for row in rows}
    return header + "\n\n" + table, rates


# --- table --------------------------------------------------------------------------------------------------
TEXTCLS_RUNS = {
    # label: (model, overrides); "bilstm-old" is today's path: one packed sequence per text, cut at 400 tokens
    "bilstm-old": (
        "bilstm",
        {
            "model_options": {"encoding": "packed", "hidden_size": 128, "sparse_embedding": False},
            "data": {"max_length": 400},
        },
    ),
    "bilstm": ("bilstm", {}),
    "cnn": ("cnn", {}),
    "bag": ("bag", {}),
}
LABELS = {
    "bilstm-old": "bilstm + GloVe, old path (packed, 1×128, dense embedding gradients, first 400)",
    "bilstm": "bilstm + GloVe, new defaults",
    "cnn": "cnn + GloVe",
    "bag": "bag (configs/bag.yaml)",
    "fasttext": "fastText (grid on valid)",
    "fasttext-glove": "fastText + GloVe (grid on valid)",
    "svm": "TF-IDF + LinearSVC (C on valid)",
}


def textcls_run(name: str, files: dict, data: dict, glove: str, seed: int, epochs, threads: int, run_dir) -> dict:
    model, overrides = TEXTCLS_RUNS[name]
    layers = [
        {"files": files, "data": {**data, **({"vectors": glove} if model != "bag" else {})},
         "training": {"progress": False, "seed": seed, "device": "cpu"}},
        overrides,
    ]  # fmt: skip
    if epochs:
        layers.append({"training": {"epochs": epochs}})
    config = cfg.resolve(model, None, layers)
    start = time.perf_counter()
    result = train_text(config, run_dir)
    history = result["history"]
    return {
        "test": result["test"]["accuracy"],
        "valid": result["valid"]["accuracy"],
        "epoch_s": statistics.mean(row["seconds"] for row in history),
        "tokens_s": statistics.mean(row["tokens_per_s"] for row in history),
        "wall": time.perf_counter() - start,
        "note": f"{len(history)} epochs",
    }


def fasttext_runs(files: dict, data: dict, tmp: Path, seeds: int, threads: int, pretrained: Path | None,
                  name: str = "fasttext") -> list:  # fmt: skip
    """fastText: the grid chosen on validation with seed 0, then the best setting with each seed."""
    import fasttext
    from bench_train import fasttext_accuracy, fasttext_file

    text_data = TextData(cfg.resolve("bag", None, [{"files": files, "data": data}]))
    tokens = sum(len(ex.text) for ex in text_data.train)

    def train(options, seed):
        train_file = fasttext_file(text_data.train, tmp / f"{name}_train_{seed}.txt", shuffle_seed=seed)
        extra = {"pretrainedVectors": str(pretrained)} if pretrained else {}
        start = time.perf_counter()
        model = fasttext.train_supervised(
            str(train_file), lr=options["lr"], epoch=options["epoch"], wordNgrams=options["wordNgrams"], dim=50,
            bucket=200_000, thread=threads, seed=seed, verbose=0, **extra,
        )  # fmt: skip
        seconds = time.perf_counter() - start
        return model, seconds

    best, grid_seconds = None, 0.0
    for lr, epoch, ngrams in itertools.product((0.1, 0.25, 0.5), (5, 10), (1, 2)):
        options = {"lr": lr, "epoch": epoch, "wordNgrams": ngrams}
        try:
            model, seconds = train(options, 0)
        except RuntimeError as exc:  # "Encountered NaN": this learning rate diverges; the grid moves on
            print(f"fastText {options}: {exc}", flush=True)
            continue
        grid_seconds += seconds
        valid = fasttext_accuracy(model, text_data.valid)
        if best is None or valid > best[0]:
            best = (valid, options, model, seconds)
    if best is None:
        raise SystemExit("fastText diverged (NaN) at every point of the grid")
    valid, options, model, seconds = best
    note = f"lr {options['lr']}, {options['epoch']} ep, {options['wordNgrams']}-grams; grid {grid_seconds:.0f} s"
    results = []
    redraws = 0
    for seed in range(seeds):
        for attempt in range(5 if seed else 0):  # fasttext-numpy2 ends some runs in NaN at random: draw again
            try:
                model, seconds = train(options, seed)
                break
            except RuntimeError:
                if attempt == 4:
                    raise
                redraws += 1
        results.append({
            "test": fasttext_accuracy(model, text_data.test), "valid": fasttext_accuracy(model, text_data.valid),
            "epoch_s": seconds / options["epoch"], "tokens_s": tokens * options["epoch"] / seconds, "wall": seconds,
            "note": note,
        })  # fmt: skip
    if redraws:
        results[0]["note"] += f"; {redraws} NaN run(s) drawn again"
    return results


def svm_runs(files: dict, data: dict) -> list:
    """TF-IDF (word 1-2-grams, sublinear tf) + LinearSVC on the same tokens, C chosen on validation."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    text_data = TextData(cfg.resolve("bag", None, [{"files": files, "data": data}]))
    split = lambda ds: ([ex.text for ex in ds], [ex.label for ex in ds])  # noqa: E731
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = map(split, (text_data.train, text_data.valid,
                                                                          text_data.test))  # fmt: skip
    start = time.perf_counter()
    vectorizer = TfidfVectorizer(analyzer=lambda tokens: tokens + [" ".join(p) for p in zip(tokens, tokens[1:])],
                                 sublinear_tf=True, min_df=2)  # fmt: skip
    train_m = vectorizer.fit_transform(train_x)
    valid_m, test_m = vectorizer.transform(valid_x), vectorizer.transform(test_x)
    best = None
    for c in (0.1, 0.3, 1.0, 3.0):
        svm = LinearSVC(C=c).fit(train_m, train_y)
        valid = (svm.predict(valid_m) == valid_y).mean()
        if best is None or valid > best[0]:
            best = (valid, c, svm)
    valid, c, svm = best
    seconds = time.perf_counter() - start
    test = float((svm.predict(test_m) == test_y).mean())
    tokens = sum(map(len, train_x))
    return [{"test": test, "valid": float(valid), "epoch_s": seconds, "tokens_s": tokens / seconds, "wall": seconds,
             "note": f"C {c}; deterministic (one run); time includes the C grid"}]  # fmt: skip


def summary_row(dataset: str, name: str, results: list) -> list:
    tests = [r["test"] for r in results]
    accuracy = f"{statistics.mean(tests):.1%}"
    if len(tests) > 1:
        accuracy += f" ± {statistics.stdev(tests):.1%}"
    mean = lambda key: statistics.mean(r[key] for r in results)  # noqa: E731
    return [dataset, LABELS[name], accuracy, str(len(results)), f"{mean('epoch_s'):.1f}", f"{mean('tokens_s'):,.0f}",
            f"{mean('wall'):.0f}", results[0]["note"]]  # fmt: skip


def estimated_old_row(dataset: str, files: dict, data: dict, rates: dict) -> list:
    """The old path's seconds per epoch from the probe's rate on the same data (not trained: too slow)."""
    config = cfg.resolve("bilstm", None, [{"files": files, "data": {**data, "max_length": 400}}])
    text_data = TextData(config)
    tokens = sum(min(len(ex.text), 400) or 1 for ex in text_data.train)
    rate = rates[OLD_PROBE_ROW]
    return [dataset, LABELS["bilstm-old"], "not trained", "0", f"≈ {tokens / rate:,.0f}", f"≈ {rate:,.0f}", "",
            f"estimated: {tokens:,} training tokens / the probe's packed rate (too slow to train)"]  # fmt: skip


def epochs_for(spec: str | None, dataset: str) -> int | None:
    """``--epochs``: ``N`` for every dataset, or ``20ng=N,ag=M``."""
    if not spec:
        return None
    if "=" not in spec:
        return int(spec)
    parts = dict(part.split("=") for part in spec.split(","))
    return int(parts[dataset]) if dataset in parts else None


def seeds_for(args, dataset: str, name: str) -> int:
    """``--seeds``, or what ``--model-seeds`` (``20ng:bilstm=1,ag:bilstm-old=1``) gives this dataset and model."""
    for part in filter(None, args.model_seeds.split(",")):
        key, value = part.split("=")
        if key == f"{dataset}:{name}":
            return int(value)
    return args.seeds


def model_rows(dataset: str, files: dict, data: dict, name: str, args, tmp: Path, rates: dict) -> list:
    """One model's table row on one dataset (a worker process's job with ``--parallel``)."""
    from bench_train import glove_vec_file

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    seeds = seeds_for(args, dataset, name)
    if name == "bilstm-old" and dataset in args.old_from_probe.split(","):
        if OLD_PROBE_ROW not in rates:
            raise SystemExit(f"--old-from-probe {dataset} needs the probe (--part all)")
        row = estimated_old_row(dataset, files, data, rates)
        print(row, flush=True)
        return row
    if name in TEXTCLS_RUNS:
        epochs = epochs_for(args.epochs, dataset)
        results = [
            textcls_run(name, files, data, str(args.data_dir / GLOVE), seed, epochs, args.threads,
                        tmp / f"{dataset}-{name}-{seed}")
            for seed in range(seeds)
        ]  # fmt: skip
    elif name.startswith("fasttext"):
        vec = glove_vec_file(args.data_dir, tmp / f"glove50-{dataset}-{name}.vec") if name == "fasttext-glove" else None
        results = fasttext_runs(files, data, tmp / dataset, seeds, args.threads, vec, name)
    else:
        results = svm_runs(files, data)
    row = summary_row(dataset, name, results)
    print(row, f"({time.perf_counter() - started:.0f} s)", flush=True)
    return row


def bench_table(found: dict, models: list, args, tmp: Path, rates: dict) -> str:
    """One table over every dataset and model; with ``--parallel N``, the (dataset, model) jobs in N worker
    processes (``--threads`` each), the rows in the table's order."""
    for dataset in found:
        (tmp / dataset).mkdir(exist_ok=True)
    jobs = [
        (dataset, files, data, name, args, tmp, rates) for dataset, (files, data) in found.items() for name in models
    ]
    if args.parallel > 1 and len(jobs) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # the longest jobs first, so that the workers finish together
        order = sorted(range(len(jobs)), key=lambda i: JOB_COST.get((jobs[i][0], jobs[i][3]), 1), reverse=True)
        with ProcessPoolExecutor(args.parallel, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {i: pool.submit(model_rows, *jobs[i]) for i in order}
            rows = [futures[i].result() for i in range(len(jobs))]
    else:
        rows = [model_rows(*job) for job in jobs]
    return markdown_table(
        ["data", "model", "test accuracy", "runs", "s / epoch", "tokens/s", "wall s / run", "notes"],
        rows,
        right=(2, 3, 4, 5, 6),
    )


JOB_COST = {("20ng", "bilstm"): 40, ("20ng", "cnn"): 25, ("ag", "bilstm"): 15, ("20ng", "fasttext-glove"): 8,
            ("20ng", "fasttext"): 6, ("ag", "bilstm-old"): 6}  # fmt: skip
"""Rough minutes per (dataset, model) job on one thread here: the scheduling order of ``--parallel``."""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=shared_data_dir(__file__))
    parser.add_argument("--part", choices=["probe", "table", "all"], default="all")
    parser.add_argument("--datasets", default="20ng,ag", help="comma-separated: 20ng, ag")
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated: {', '.join(MODELS)}")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per model (mean ± std)")
    parser.add_argument("--epochs", help="textcls models' epochs: N, or per dataset 20ng=N,ag=M (default: configs)")
    parser.add_argument("--model-seeds", default="", help="seeds per dataset and model: 20ng:bilstm=1,ag:cnn=2")
    parser.add_argument("--parallel", type=int, default=1, help="worker processes for the (dataset, model) jobs")
    parser.add_argument("--old-from-probe", default="", help="datasets whose old-path row is estimated from the probe")
    parser.add_argument("--probe-posts", type=int, default=256, help="20NG posts in the probe's batches")
    parser.add_argument("--probe-slow", action="store_true", help="also probe packed at 1000 tokens (minutes)")
    parser.add_argument("--threads", type=int, default=1, help="threads per run (torch, fastText)")
    parser.add_argument("--markdown-out", type=Path)
    args = parser.parse_args(argv)
    names = [name for name in args.datasets.split(",") if name]
    models = [name for name in args.models.split(",") if name]
    unknown = sorted(set(models) - set(MODELS)) + sorted(set(names) - {"20ng", "ag"})
    if unknown:
        parser.error(f"unknown model or dataset: {', '.join(unknown)}")
    require_files(
        args.data_dir, GLOVE, *([NG] if "20ng" in names else []), *([f"{PACKT}/train.csv.gz"] if "ag" in names else [])
    )
    torch.set_num_threads(args.threads)
    report = Report()
    report.add(
        f"torch {torch.__version__}, CPU, {args.threads} thread(s) per run, load average at start {load_average()}, "
        f"python {sys.version.split()[0]}"
    )
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        found = datasets(args.data_dir, tmp, names if args.part != "probe" else ["20ng"])
        rates = {}
        if args.part in ("probe", "all") and "20ng" in found:
            text, rates = probe(*found["20ng"], args.probe_posts, args.threads, args.probe_slow)
            report.add(text)
        if args.part in ("table", "all"):
            report.add(bench_table(found, models, args, tmp, rates))
    if args.markdown_out:
        report.write(args.markdown_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
