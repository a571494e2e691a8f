"""``textcls compare-embeddings``: the same model trained with different word vectors, several seeds each.

Every choice runs with the same splits (a fixed validation split when there is no validation file), tokenizer,
vocabulary (built from the training split only; the vectors do not extend it), model, embedding size and
hyper-parameters; only how words become vectors changes. Each run is an ordinary run directory under
``OUTPUT/runs/``: a finished run is read back instead of trained again, and an interrupted one resumes from its
last checkpoint, so an interrupted comparison continues where it stopped.

Choices:
  ``random``                      embedding initialised at random, trained
  ``glove:PATH_OR_NAME``          pretrained vectors, fine-tuned from the first epoch
  ``glove-frozen:PATH_OR_NAME``   pretrained vectors, never updated
  ``glove-thaw:PATH_OR_NAME:N``   pretrained vectors, frozen for N epochs, then fine-tuned
  ``word2vec`` / ``fasttext``     trained with gensim on the training split only, then fine-tuned
  ``PATH_OR_NAME``                any vectors file or preset, fine-tuned
"""

from __future__ import annotations

import contextlib
import io
import logging
import multiprocessing
import os
import re
import signal
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from textcls._util import atomic_write, atomic_write_text
from textcls.config import merge, save_yaml
from textcls.errors import TextclsError
from textcls.interrupts import Interrupted
from textcls.jobs.rundir import TextRunDir
from textcls.jobs.train import train_text
from textcls.models.registry import EMBEDDING_OPTIONS, split_options
from textcls.runs.plots import pyplot, save_figure

TRAINED = ("word2vec", "fasttext")


@dataclass(frozen=True)
class EmbeddingChoice:
    """One way of turning words into vectors.

    Attributes:
        label: the choice as written (``glove-frozen:glove.6B.50d``).
        source: vectors file / preset, ``word2vec`` / ``fasttext`` (trained here), or ``None`` (random).
        freeze: never update the vectors.
        freeze_epochs: keep them fixed for this many epochs, then fine-tune.
    """

    label: str
    source: str | None
    freeze: bool = False
    freeze_epochs: int = 0

    @property
    def short(self) -> str:
        """The label with file paths cut to their names (for tables and charts)."""
        return ":".join(Path(part).name if "/" in part else part for part in self.label.split(":"))

    @property
    def slug(self) -> str:
        """A file-name-safe form of the label."""
        return re.sub(r"[^A-Za-z0-9.+-]+", "_", self.label).strip("_")[:80]

    def overrides(self) -> dict:
        """Config changes for this choice (the freeze options at their off values unless the choice freezes, which
        a model with its own embedding table accepts: see :func:`textcls.models.registry.split_options`)."""
        options = {"freeze_embeddings": self.freeze, "freeze_epochs": self.freeze_epochs}
        return {"data": {"vectors": self.source}, "model_options": options}


def parse_choice(text: str) -> EmbeddingChoice:
    """Read one ``--embeddings`` item (see the module docstring)."""
    text = text.strip()
    if text == "random":
        return EmbeddingChoice(text, None)
    if text in TRAINED:
        return EmbeddingChoice(text, text)
    kind, _, rest = text.partition(":")
    if kind == "glove" and rest:
        return EmbeddingChoice(text, rest)
    if kind == "glove-frozen" and rest:
        return EmbeddingChoice(text, rest, freeze=True)
    if kind == "glove-thaw" and rest:
        source, _, epochs = rest.rpartition(":")
        if not source or not epochs.isdigit():
            raise TextclsError(f"{text!r}: write glove-thaw:PATH_OR_NAME:N (N = frozen epochs)")
        return EmbeddingChoice(text, source, freeze_epochs=int(epochs))
    if not text:
        raise TextclsError("an empty item in --embeddings")
    return EmbeddingChoice(text, text)


def parse_choices(items) -> list[EmbeddingChoice]:
    """``--embeddings`` items (a comma-separated string or a list) → choices, duplicates rejected."""
    if isinstance(items, str):
        items = items.split(",")
    choices = [parse_choice(item) for item in items if item.strip()]
    if not choices:
        raise TextclsError("--embeddings needs at least one choice, e.g. random,glove:FILE,word2vec")
    labels = [c.label for c in choices]
    if len(set(labels)) != len(labels):
        raise TextclsError(f"--embeddings lists a choice twice: {', '.join(labels)}")
    return choices


def common_dim(choices: list[EmbeddingChoice], base: dict, trust_pickle: bool = False) -> int:
    """One embedding size for every choice: the first pretrained file's, else the model's ``embedding_dim``
    (``trust_pickle``: a gensim pickle may be read, as ``--trust-pickle`` allows)."""
    from textcls.embeddings import Vectors

    data = base.get("data", {})
    for choice in choices:
        if choice.source and choice.source not in TRAINED:
            return Vectors(choice.source, vectors_dir=data.get("vectors_dir"), trust_pickle=trust_pickle).dim
    return int(base.get("model_options", {}).get("embedding_dim") or EMBEDDING_OPTIONS["embedding_dim"])


def _run(config: dict, run_dir: Path, trust_pickle: bool = False) -> dict:
    """Train one run, or read back a finished one, or resume an interrupted one."""
    run = TextRunDir(run_dir)
    if run.file("metrics.json").exists():
        return run.read_json("metrics.json")
    if run.checkpoints.last.exists():  # resumed as it was saved
        return train_text(None, run_dir, resume=True, trust_pickle=trust_pickle)
    return train_text(config, run_dir, trust_pickle=trust_pickle, overwrite=True)  # a start that had not ended


def compare_embeddings(
    base: dict,
    embeddings,
    seeds: int = 3,
    output_dir: str | Path = "compare",
    trust_pickle: bool = False,
    jobs: int = 1,
    threads: int | None = None,
):
    """Train ``base``'s model once per embedding choice and seed; write and return the comparison.

    Args:
        base: a resolved training config (:func:`textcls.config.resolve`) with ``files``.
        embeddings: choices (``"random,glove:FILE,word2vec"`` or a list; see the module docstring).
        seeds: runs per choice (seeds 0 … N-1).
        output_dir: where ``runs/``, ``summary.{md,csv,json}``, ``runs.csv``, ``accuracy.png`` and
            ``valid_curves.png`` go.
        trust_pickle: allow gensim pickle vectors files (``--trust-pickle``; they can run code when loaded).
        jobs: runs trained at once, each in its own worker process (``--jobs``; at most the number of runs).
            The tables are the same as with ``jobs=1`` when each run has the same number of threads; a worker's
            output goes to ``OUTPUT/logs/RUN.log``.
        threads: CPU threads of the whole comparison (``--threads``), divided among the ``jobs``; ``None``:
            :mod:`textcls.threads`' rule with ``jobs=2`` or more, this process's setting with ``jobs=1``.

    Raises:
        TextclsError: (one line) a bad choice or option, or a run that failed (named; the other workers are
            stopped).

    Returns:
        a pandas DataFrame with one row per choice (mean ± std of test accuracy and macro-F1, vocabulary
        coverage, epochs to best, seconds); ``.attrs["runs"]`` holds the per-run DataFrame.
    """
    import pandas as pd

    choices = parse_choices(embeddings)
    if seeds < 1:
        raise TextclsError("--seeds must be at least 1")
    if jobs < 1:
        raise TextclsError(f"--jobs must be at least 1, not {jobs}")
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    dim = common_dim(choices, base, trust_pickle)
    shared = {
        "data": {"vectors_vocab": False, "split_seed": base.get("data", {}).get("split_seed") or 0},
        "model_options": {"embedding_dim": dim},
        "training": {"progress": False},
    }
    configs = {choice: merge(merge(base, shared), choice.overrides()) for choice in choices}
    for choice, config in configs.items():  # every choice fits the model before the first run trains
        try:
            split_options(config["model"], config["model_options"])
        except TextclsError as exc:
            raise TextclsError(f"--embeddings {choice.label}: {exc}") from None
    runs_dir = output / "runs"
    planned = [  # (choice, seed, config, run directory), in the order of the tables
        (choice, seed, merge(configs[choice], {"training": {"seed": seed}}), runs_dir / f"{choice.slug}-seed{seed}")
        for choice in choices
        for seed in range(seeds)
    ]
    jobs = min(jobs, len(planned))
    if jobs == 1:
        if threads is not None:
            from textcls.threads import set_threads

            set_threads(threads)
        results = []
        for choice, seed, config, run_dir in planned:
            print(f"compare: {choice.label}, seed {seed} → {run_dir}", flush=True)
            results.append(_run(config, run_dir, trust_pickle))
    else:
        results = _run_parallel(planned, output, trust_pickle, jobs, threads)
    rows, curves = [], {}
    for (choice, seed, _, run_dir), result in zip(planned, results):  # the serial order, whatever finished first
        rows.append(_run_row(choice, seed, result, run_dir))
        curves.setdefault(choice.short, []).append(
            [(row.get("valid") or {}).get("accuracy") for row in result["history"]]
        )
    runs = pd.DataFrame(rows)
    summary = summarise(runs, [c.label for c in choices])
    summary.insert(1, "name", [c.short for c in choices])
    summary.attrs["runs"] = runs
    save_yaml({"embeddings": [c.label for c in choices], "seeds": seeds, "embedding_dim": dim, "base": base},
              output / "comparison.yaml")  # fmt: skip
    write_tables(summary, runs, output)
    plot_accuracy(summary, output / "accuracy.png")
    plot_valid_curves(curves, output / "valid_curves.png")
    return summary


_IN_RUN = False  # in a worker: a run is being trained (SIGTERM interrupts it; between runs it ends the worker)
_STOPPING = False  # the run was interrupted and is unwinding (a second SIGTERM waits for it)


def _stop_worker(signum, frame) -> None:
    global _STOPPING
    if not _IN_RUN:
        os._exit(128 + signum)
    if not _STOPPING:
        _STOPPING = True
        raise Interrupted(signum)


def _stop_workers(executor, seconds: float = 60.0) -> None:
    """End every worker of ``executor``: SIGTERM interrupts a run as Ctrl-C does (its finished epochs stay for
    the next command to resume) and ends an idle worker; one still alive after ``seconds`` is killed."""
    processes = list((getattr(executor, "_processes", None) or {}).values())
    deadline = time.monotonic() + seconds
    while any(process.is_alive() for process in processes) and time.monotonic() < deadline:
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(0.5)
    for process in processes:
        if process.is_alive():
            process.kill()
            process.join()


def _start_worker(threads: int) -> None:
    """A worker's start: ``threads`` torch threads; Ctrl-C is the parent's to handle (it stops the workers with
    SIGTERM, which interrupts a run as Ctrl-C does: its finished epochs stay for the next command to resume)."""
    import torch

    torch.set_num_threads(threads)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_worker)


def _run_logged(config: dict, run_dir: Path, trust_pickle: bool, log_path: Path) -> dict:
    """:func:`_run` in a worker, its printed output and log records kept in ``log_path`` (written when it ends)."""
    global _IN_RUN
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    _IN_RUN = True
    try:
        with contextlib.redirect_stdout(buffer):
            return _run(config, run_dir, trust_pickle)
    except TextclsError as exc:  # a plain TextclsError: the message crosses to the parent whole
        raise TextclsError(str(exc)) from None
    finally:
        _IN_RUN = False
        root.removeHandler(handler)
        atomic_write_text(log_path, buffer.getvalue())


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _run_parallel(planned: list, output: Path, trust_pickle: bool, jobs: int, threads: int | None) -> list[dict]:
    """The ``planned`` runs in ``jobs`` worker processes; their results in ``planned``'s order. A finished run is
    read back here; a failed run stops the others and raises its error, named."""
    from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait

    from textcls.threads import choose_threads

    per_worker, _ = choose_threads(threads, jobs)
    logs = output / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    results: dict[int, dict] = {}
    for index, (choice, seed, _, run_dir) in enumerate(planned):
        metrics = TextRunDir(run_dir).file("metrics.json")
        if metrics.exists():
            results[index] = TextRunDir(run_dir).read_json("metrics.json")
            print(f"compare: {choice.label}, seed {seed}: finished earlier ({run_dir})", flush=True)
    pending = [index for index in range(len(planned)) if index not in results]
    if not pending:
        return [results[index] for index in range(len(planned))]
    jobs = min(jobs, len(pending))
    print(f"compare: {_count(len(pending), 'run')}, {jobs} at a time ({_count(per_worker, 'thread')} each); "
          f"each run's output in {logs}/", flush=True)  # fmt: skip
    context = multiprocessing.get_context("spawn")  # torch after fork is fragile
    executor = ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker, initargs=(per_worker,))
    futures = {}
    try:
        for index in pending:
            choice, seed, config, run_dir = planned[index]
            log_path = logs / f"{Path(run_dir).name}.log"
            futures[executor.submit(_run_logged, config, run_dir, trust_pickle, log_path)] = index
        remaining = set(futures)
        while remaining:
            done, remaining = wait(remaining, return_when=FIRST_EXCEPTION)
            for future in sorted(done, key=futures.get):
                index = futures[future]
                choice, seed, _, run_dir = planned[index]
                error = future.exception()
                if error is not None:
                    if isinstance(error, TextclsError):
                        raise TextclsError(f"compare: {choice.label}, seed {seed} ({run_dir}): {error}") from None
                    raise error
                results[index] = result = future.result()
                on = "test" if result.get("test") else "valid"
                print(f"compare: {choice.label}, seed {seed} done ({len(results)} of {len(planned)}): {on} accuracy "
                      f"{result[on]['accuracy']:.2%} → {run_dir}", flush=True)  # fmt: skip
    except BaseException:
        _stop_workers(executor)  # the pool sees its workers gone and fails the runs not done (none is cancelled
        executor.shutdown(wait=True)  # here: Python 3.11's pool raises on a cancelled run once it is broken)
        raise
    executor.shutdown(wait=True)
    return [results[index] for index in range(len(planned))]


def _run_row(choice: EmbeddingChoice, seed: int, result: dict, run_dir: Path) -> dict:
    evaluated = "test" if result.get("test") else "valid"
    metrics = result[evaluated]
    coverage = result.get("vectors_coverage") or {}
    return {
        "embedding": choice.label,
        "seed": seed,
        "evaluated_on": evaluated,
        "accuracy": metrics["accuracy"],
        "macro_f1": metrics.get("macro_f1"),
        "valid_accuracy": (result.get("valid") or {}).get("accuracy"),
        "coverage_tokens": coverage.get("tokens"),
        "coverage_types": coverage.get("types"),
        "best_epoch": result.get("best_epoch"),
        "epochs": len(result["history"]),
        "seconds": result.get("seconds"),
        "run_dir": str(run_dir),
    }


def _present(values) -> list[float]:
    return [v for v in values if v is not None and v == v]  # None and NaN (missing coverage) left out


def summarise(runs, order: list[str]):
    """One row per choice: mean and std over seeds."""
    import pandas as pd

    rows = []
    for label in order:
        group = runs[runs["embedding"] == label]
        row = {"embedding": label, "seeds": len(group)}
        for column, name in (("accuracy", "accuracy"), ("macro_f1", "macro_f1")):
            values = _present(group[column])
            row[f"{name}_mean"] = statistics.mean(values) if values else None
            row[f"{name}_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
        for column, name in (("coverage_tokens", "coverage_tokens"), ("coverage_types", "coverage_types"),
                             ("best_epoch", "epochs_to_best"), ("seconds", "seconds")):  # fmt: skip
            values = _present(group[column])
            row[name] = statistics.mean(values) if values else None
        row["evaluated_on"] = group["evaluated_on"].iloc[0]
        rows.append(row)
    return pd.DataFrame(rows)


def markdown(summary) -> str:
    """The summary as a Markdown table."""
    on = summary["evaluated_on"].iloc[0] if len(summary) else "test"
    header = f"| embedding | {on} accuracy | {on} macro-F1 | coverage (tokens / types) | epochs to best | seconds |"
    lines = [header, "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for row in summary.itertuples():
        name = getattr(row, "name", row.embedding)
        coverage = "—" if row.coverage_tokens is None or row.coverage_tokens != row.coverage_tokens else (
            f"{row.coverage_tokens:.1%} / {row.coverage_types:.1%}")  # fmt: skip
        lines.append(
            f"| {name} | {row.accuracy_mean:.2%} ± {row.accuracy_std:.2%} | {row.macro_f1_mean:.3f} ± "
            f"{row.macro_f1_std:.3f} | {coverage} | {row.epochs_to_best:.1f} | {row.seconds:.0f} |"
        )
    return "\n".join(lines) + "\n"


def write_tables(summary, runs, output: Path) -> None:
    """``summary.md``, ``summary.csv``, ``summary.json`` and ``runs.csv`` in ``output`` (each atomically)."""
    atomic_write_text(output / "summary.md", markdown(summary))
    atomic_write(output / "summary.csv", lambda tmp: summary.to_csv(tmp, index=False))
    atomic_write_text(output / "summary.json", summary.to_json(orient="records", indent=2))
    atomic_write(output / "runs.csv", lambda tmp: runs.to_csv(tmp, index=False))


def plot_accuracy(summary, path: Path) -> Path:
    """Bars of mean accuracy with ± std error bars, one per choice."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(max(5.0, 1.3 * len(summary) + 2), 4))
    means = [100 * v for v in summary["accuracy_mean"]]
    stds = [100 * v for v in summary["accuracy_std"]]
    bars = axis.bar(range(len(summary)), means, yerr=stds, capsize=6, color="#4c72b0")
    for bar, value in zip(bars, means):
        axis.text(bar.get_x() + bar.get_width() / 2, value + 0.3, f"{value:.1f}", ha="center", va="bottom")
    names = summary["name"] if "name" in summary else summary["embedding"]
    axis.set_xticks(range(len(summary)), list(names), rotation=20, ha="right")
    low = max(0.0, min(m - s for m, s in zip(means, stds)) - 5)
    axis.set_ylim(low, min(100.0, max(m + s for m, s in zip(means, stds)) + 3))
    on = summary["evaluated_on"].iloc[0]
    axis.set(ylabel=f"{on} accuracy (%)", title=f"{on} accuracy, mean ± std over {int(summary['seeds'].max())} seeds")
    axis.grid(axis="y", alpha=0.3)
    return save_figure(figure, path, dpi=110)


def plot_valid_curves(curves: dict[str, list[list]], path: Path) -> Path:
    """Validation accuracy per epoch: the mean over seeds per choice, with the seeds' range shaded."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(7, 4))
    for label, runs in curves.items():
        length = max(len(run) for run in runs)
        epochs, means, lows, highs = [], [], [], []
        for epoch in range(length):
            values = [run[epoch] for run in runs if epoch < len(run) and run[epoch] is not None]
            if values:
                epochs.append(epoch + 1)
                means.append(100 * statistics.mean(values))
                lows.append(100 * min(values))
                highs.append(100 * max(values))
        (line,) = axis.plot(epochs, means, "-o", markersize=3, label=label)
        axis.fill_between(epochs, lows, highs, color=line.get_color(), alpha=0.15)
    axis.set(xlabel="epoch", ylabel="validation accuracy (%)", title="validation accuracy (mean, range over seeds)")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    return save_figure(figure, path, dpi=110)
