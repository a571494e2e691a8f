"""Benchmark the data pipeline of ``textcls``: tokenizers, load → vocab → tensors, and padding per batching order.

Data (from ``<project>/../shared/data``, or ``--data-dir``): the AG News test split (``ag_news/test.csv.gz``,
7,600 rows of ``class, title, description``) and the train part of 20 Newsgroups "bydate"
(``20newsgroups/20news-bydate.tar.gz``: 11,314 posts, mail headers stripped up to the first blank line).

Tables (each number is the median of ``--repeats`` runs):

1. Tokenizer speed: tokens/s of every tokenizer in ``available_tokenizers()`` on the AG News texts
   (title + " " + description) and on 2,000 20NG posts spread evenly over the archive (all groups).
2. End to end: seconds per stage and tokens/s to read a file into tokenized examples, build the vocabulary and
   numericalize every batch of a ``BucketIterator`` (batch size 64, default sort key), plus the padding of the
   tensors made. AG News goes through ``TabularDataset`` on the gz csv, read as the CLI reads it (title and
   description joined into one text field) and in the legacy layout (separate title and description attributes
   sharing one field); 20NG through ``tarfile`` + ``Example.fromlist`` + ``Dataset``.
   Target: >= 1,000,000 tokens/s with the default tokenizer ``basic_english`` on this 2-core machine.
3. Padding: padded cells / all cells at batch size 64 for bucketed training batches (``BucketIterator``),
   random batches (``Iterator``, shuffled) and evaluation batches (sorted), on AG News, 20NG cut to 400 tokens
   (lengths ``min(len, 400)``) and 20NG uncut; for uncut 20NG also token-budget batches (``max_tokens`` 25,600
   = 64 x 400, batch size uncapped or capped at 64), with the number of batches and the largest batch in padded
   cells (a proxy for peak activation memory). Target: bucketing padding <= 5 % on AG News and on 20NG cut to 400.

Run: ``PYTHONPATH=. python scripts/bench_data.py [--repeats 3] [--quick] [--markdown-out FILE]``.
Exit status 2 when the data files are missing.
"""

from __future__ import annotations

import argparse
import csv
import gc
import gzip
import io
import math
import os
import platform
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from _bench_common import (
    Report,
    fmt_int,
    fmt_pct,
    fmt_rate,
    load_average,
    markdown_table,
    median,
    median_time,
    require_files,
    shared_data_dir,
)

from textcls.data import (
    BucketIterator,
    Dataset,
    Example,
    Field,
    Iterator,
    LabelField,
    TabularDataset,
    padding_fraction,
)
from textcls.tokenizers import available_tokenizers, get_tokenizer

AG_NEWS = "ag_news/test.csv.gz"
NEWSGROUPS = "20newsgroups/20news-bydate.tar.gz"
DEFAULT_TOKENIZER = "basic_english"  # the CLI's default
BATCH_SIZE = 64
CUT = 400
MAX_TOKENS = BATCH_SIZE * CUT
TOKENS_PER_S_TARGET = 1_000_000
PADDING_TARGET = 0.05
SEED = 0


# --- data ------------------------------------------------------------------------------------------------------
def read_ag_news(path: Path) -> list[tuple[str, str]]:
    """``(label, title + " " + description)`` for each row of the AG News csv."""
    rows = csv.reader(io.StringIO(gzip.decompress(path.read_bytes()).decode("utf-8")))
    return [(label, f"{title} {description}") for label, title, description in rows]


def strip_headers(post: str) -> str:
    """The body of a Usenet post: everything after the first blank line."""
    _, sep, body = post.partition("\n\n")
    return body if sep else ""


def read_20ng(path: Path, split: str = "train") -> list[tuple[str, str]]:
    """``(group, body)`` for each post of one split of the 20 Newsgroups bydate archive, in archive order."""
    prefix = f"20news-bydate-{split}/"
    posts = []
    raw = gzip.decompress(path.read_bytes())  # one pass; tarfile on the gzip stream is ~30 % slower
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as archive:
        for member in archive:
            if member.isfile() and member.name.startswith(prefix):
                group = member.name.split("/")[1]
                text = archive.extractfile(member).read().decode("latin-1")
                posts.append((group, strip_headers(text)))
    return posts


def spread(items: list, count: int) -> list:
    """``count`` items taken at even steps through ``items`` (all of them when there are fewer)."""
    if count >= len(items):
        return list(items)
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


# --- table 1: tokenizer speed ----------------------------------------------------------------------------------
def tokens_per_second(name: str, texts: list[str], repeats: int) -> float:
    tokenizer = get_tokenizer(name)
    tokenizer("warm up")  # build it (spaCy pipeline, NLTK data) outside the timing
    seconds, tokenized = median_time(lambda: tokenizer.batch(texts), repeats)
    return sum(map(len, tokenized)) / seconds


def tokenizer_table(ag_texts: list[str], ng_texts: list[str], repeats: int) -> str:
    rows = []
    for name in available_tokenizers():
        ag_rate = tokens_per_second(name, ag_texts, repeats)
        ng_rate = tokens_per_second(name, ng_texts, repeats)
        rows.append([name, fmt_rate(ag_rate), fmt_rate(ng_rate)])
    title = (
        f"### 1. Tokenizer speed (AG News: {fmt_int(len(ag_texts))} texts; "
        f"20NG: {fmt_int(len(ng_texts))} posts spread over all groups)"
    )
    return title + "\n\n" + markdown_table(["tokenizer", "AG tokens/s", "20NG tokens/s"], rows, right=(1, 2))


# --- table 2: end to end -----------------------------------------------------------------------------------------
@dataclass
class PipelineRun:
    """Seconds per stage of one run, the tokens read and the cells of every text tensor made."""

    load: float
    vocab: float
    numericalize: float
    tokens: int
    cells: int
    read: float = 0.0  # file reading alone, where it can be timed apart (20NG tar)

    @property
    def total(self) -> float:
        return self.load + self.vocab + self.numericalize


def numericalize_all(dataset: Dataset, text_names: tuple[str, ...]) -> int:
    """Make every training batch of a BucketIterator (Field.pad + Field.numericalize); return the text cells."""
    cells = 0
    for batch in BucketIterator(dataset, batch_size=BATCH_SIZE, train=True, seed=SEED):
        for name in text_names:
            value = getattr(batch, name)
            cells += (value[0] if isinstance(value, tuple) else value).numel()  # (tensor, lengths) or tensor
    return cells


def ag_pipeline(path: Path, tokenize: str, joined: bool) -> PipelineRun:
    """AG News through TabularDataset: title + description joined into one text field as the CLI reads it
    (``joined``), or the legacy layout with separate title and description attributes sharing one field."""
    label = LabelField()
    if joined:
        text = Field(tokenize=tokenize, include_lengths=True, batch_first=True)  # the CLI's text field
        fields = {("title", "description"): ("text", text), "label": ("label", label)}
        options = {"column_names": ["label", "title", "description"]}
        names = ("text",)
    else:
        text = Field(tokenize=tokenize)
        fields, options = [("label", label), ("title", text), ("description", text)], {}
        names = ("title", "description")
    start = time.perf_counter()
    dataset = TabularDataset(path, format="csv", fields=fields, **options)
    loaded = time.perf_counter()
    text.build_vocab(dataset)
    label.build_vocab(dataset)
    built = time.perf_counter()
    cells = numericalize_all(dataset, names)
    done = time.perf_counter()
    tokens = sum(len(getattr(ex, name)) for ex in dataset.examples for name in names)
    return PipelineRun(loaded - start, built - loaded, done - built, tokens, cells)


def ng_pipeline(path: Path, tokenize: str, limit: int | None) -> PipelineRun:
    text, label = Field(tokenize=tokenize), LabelField()
    fields = [("text", text), ("label", label)]
    start = time.perf_counter()
    posts = read_20ng(path)[:limit]
    read = time.perf_counter()
    dataset = Dataset([Example.fromlist([body, group], fields) for group, body in posts], fields)
    loaded = time.perf_counter()
    text.build_vocab(dataset)
    label.build_vocab(dataset)
    built = time.perf_counter()
    cells = numericalize_all(dataset, ("text",))
    done = time.perf_counter()
    tokens = sum(len(ex.text) for ex in dataset.examples)
    return PipelineRun(loaded - start, built - loaded, done - built, tokens, cells, read=read - start)


def median_run(runs: list[PipelineRun]) -> PipelineRun:
    """Stage-wise medians (the total is then the median of the per-run totals, reported separately)."""
    return PipelineRun(
        load=median([r.load for r in runs]),
        vocab=median([r.vocab for r in runs]),
        numericalize=median([r.numericalize for r in runs]),
        tokens=runs[-1].tokens,
        cells=runs[-1].cells,
        read=median([r.read for r in runs]),
    )


def pipeline_table(ag_path: Path, ng_path: Path, repeats: int, ng_limit: int | None) -> str:
    both, default = (DEFAULT_TOKENIZER, "whitespace"), (DEFAULT_TOKENIZER,)
    cases = [  # (data, run, tokenizers)
        ("AG News, CLI layout (title+description joined)", lambda tok: ag_pipeline(ag_path, tok, True), both),
        ("AG News, legacy layout (title, description fields)", lambda tok: ag_pipeline(ag_path, tok, False), default),
        ("20NG train (tar + Examples)", lambda tok: ng_pipeline(ng_path, tok, ng_limit), both),
    ]
    rows, notes = [], []
    for dataset_name, run, tokenizers in cases:
        for tokenize in tokenizers:
            runs = []
            for _ in range(max(1, repeats)):
                gc.collect()  # garbage of the previous run is not charged to this one
                runs.append(run(tokenize))
            stages, total = median_run(runs), median([r.total for r in runs])
            rate = stages.tokens / total
            padding = 1 - stages.tokens / stages.cells
            rows.append(
                [dataset_name, tokenize, fmt_int(stages.tokens), f"{stages.load:.3f}", f"{stages.vocab:.3f}",
                 f"{stages.numericalize:.3f}", f"{total:.3f}", fmt_rate(rate), fmt_pct(padding)]
            )  # fmt: skip
            if tokenize == DEFAULT_TOKENIZER:
                verdict = "met" if rate >= TOKENS_PER_S_TARGET else "NOT met"
                notes.append(
                    f"- Target >= {fmt_rate(TOKENS_PER_S_TARGET)} tokens/s end to end, {dataset_name}, "
                    f"{tokenize}: {fmt_rate(rate)} tokens/s, **{verdict}**"
                )
            if stages.read:
                rest = stages.tokens / (total - stages.read)
                notes.append(
                    f"- {dataset_name}, {tokenize}: load includes {stages.read:.3f} s of tar.gz reading "
                    f"(the script's, not textcls's); without it {fmt_rate(rest)} tokens/s"
                )
    headers = ["data", "tokenizer", "tokens", "load s", "vocab s", "numericalize s", "total s", "tokens/s",
               "padding"]  # fmt: skip
    title = (
        f"### 2. End to end: read + tokenize → vocab → numericalize (BucketIterator, batch size {BATCH_SIZE}; "
        "padding = padded cells of the text tensors)"
    )
    return title + "\n\n" + markdown_table(headers, rows, right=range(2, 9)) + "\n\n" + "\n".join(notes)


# --- table 3: padding --------------------------------------------------------------------------------------------
def text_dataset(pairs: list[tuple[str, str]], tokenize: str) -> Dataset:
    """A Dataset of ``(label, text)`` pairs with fields label / text."""
    fields = [("label", LabelField()), ("text", Field(tokenize=tokenize))]
    return Dataset([Example.fromlist(pair, fields) for pair in pairs], fields)


def batch_stats(iterator: Iterator, lengths: list[int], repeats: int) -> tuple[float, int, int]:
    """Median padding fraction, number of batches and largest batch (padded cells) over ``repeats`` epochs."""
    fractions, counts, largest = [], [], []
    for epoch in range(max(1, repeats)):
        iterator.epoch = epoch
        iterator.create_batches()
        batches = iterator.batches
        fractions.append(padding_fraction(batches, lengths))
        counts.append(len(batches))
        largest.append(max(len(batch) * max(lengths[i] for i in batch) for batch in batches))
    return median(fractions), int(median(counts)), int(median(largest))


def padding_cases(dataset: Dataset, cap: int | None, token_budget: bool) -> list[tuple[str, Iterator]]:
    """(label, iterator) for each batching order measured on ``dataset``."""
    key = (lambda ex: len(ex.text)) if cap is None else (lambda ex: min(len(ex.text), cap))
    common = {"sort_key": key, "seed": SEED}
    cases = [
        ("BucketIterator, train (bucketed)", BucketIterator(dataset, BATCH_SIZE, train=True, **common)),
        ("Iterator, train (random)", Iterator(dataset, BATCH_SIZE, train=True, **common)),
        ("BucketIterator, eval (sorted)", BucketIterator(dataset, BATCH_SIZE, train=False, **common)),
    ]
    if token_budget:
        for size, label in ((None, "uncapped"), (BATCH_SIZE, f"<= {BATCH_SIZE}")):
            iterator = BucketIterator(dataset, size, train=True, max_tokens=MAX_TOKENS, **common)
            cases.append((f"BucketIterator, max_tokens {fmt_int(MAX_TOKENS)}, batch {label}", iterator))
    return cases


def padding_table(ag_pairs: list[tuple[str, str]], ng_pairs: list[tuple[str, str]], repeats: int) -> str:
    ag, ng = text_dataset(ag_pairs, DEFAULT_TOKENIZER), text_dataset(ng_pairs, DEFAULT_TOKENIZER)
    ag_lengths = [len(ex.text) for ex in ag.examples]
    ng_lengths = [len(ex.text) for ex in ng.examples]
    ng_cut = [min(n, CUT) for n in ng_lengths]
    data = [
        # name, dataset, lengths, length cap, also token-budget batching, bucketing has the padding target
        ("AG News", ag, ag_lengths, None, False, True),
        (f"20NG cut to {CUT}", ng, ng_cut, CUT, False, True),
        ("20NG uncut", ng, ng_lengths, None, True, False),
    ]
    rows, notes = [], []
    for name, dataset, lengths, cap, token_budget, has_target in data:
        for label, iterator in padding_cases(dataset, cap, token_budget):
            fraction, count, largest = batch_stats(iterator, lengths, repeats)
            rows.append([name, label, fmt_pct(fraction), fmt_int(count), fmt_int(largest)])
            if has_target and "bucketed" in label:
                verdict = "met" if fraction <= PADDING_TARGET else "NOT met"
                notes.append(f"- Target bucketing padding <= {fmt_pct(PADDING_TARGET)}, {name}: "
                             f"{fmt_pct(fraction)}, **{verdict}**")  # fmt: skip
        if cap is not None:  # what Field(fix_length=cap) gives: every row padded (or cut) to exactly `cap`
            fixed = 1 - sum(lengths) / (len(lengths) * cap)
            count = math.ceil(len(lengths) / BATCH_SIZE)
            rows.append([name, f"Field(fix_length={cap}), any order", fmt_pct(fixed), fmt_int(count),
                         fmt_int(BATCH_SIZE * cap)])  # fmt: skip
    title = (
        f"### 3. Padding fraction (padded cells / all cells), batch size {BATCH_SIZE}, {DEFAULT_TOKENIZER} tokens "
        f"(AG News: {fmt_int(len(ag_lengths))} title + description texts, 20NG train: {fmt_int(len(ng_lengths))} posts)"
    )
    headers = ["data", "batching", "padding", "batches", "largest batch (cells)"]
    return title + "\n\n" + markdown_table(headers, rows, right=(2, 3, 4)) + "\n\n" + "\n".join(notes)


# --- main --------------------------------------------------------------------------------------------------------
def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement; the median is reported")
    parser.add_argument("--data-dir", type=Path, default=shared_data_dir(__file__), help="the shared data dir")
    parser.add_argument("--markdown-out", type=Path, help="also write the tables to this Markdown file")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 repeat, small subsets")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    ag_path, ng_path = require_files(args.data_dir, AG_NEWS, NEWSGROUPS)
    repeats = 1 if args.quick else args.repeats
    ag_pairs, ng_pairs = read_ag_news(ag_path), read_20ng(ng_path)
    ag_texts = [text for _, text in ag_pairs]
    ng_texts = [text for _, text in ng_pairs]
    if args.quick:
        ag_texts = ag_texts[:1000]
    ng_sample = spread(ng_texts, 200 if args.quick else 2000)

    report = Report()
    report.add(
        f"## textcls data pipeline benchmark\n\nPython {platform.python_version()}, torch {torch.__version__}, "
        f"{os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, load average {load_average()} at start; "
        f"median of {repeats} run(s)" + (" (--quick)" if args.quick else "")
    )
    report.add(tokenizer_table(ag_texts, ng_sample, repeats))
    report.add(pipeline_table(ag_path, ng_path, repeats, ng_limit=2000 if args.quick else None))
    report.add(padding_table(ag_pairs, ng_pairs, repeats))
    report.add(f"Load average at the end: {load_average()} (timings are noisy when it exceeds the CPU count).")
    if args.markdown_out is not None:
        report.write(args.markdown_out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
