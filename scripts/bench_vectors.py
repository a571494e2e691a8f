"""Benchmark loading word vectors with ``textcls.embeddings.Vectors``: first parse, cached load, restricted load.

Data (from ``<project>/../shared/data``, or ``--data-dir``): ``glove/glove.6B.50d.top100k.txt.gz`` (GloVe text,
100,000 words x 50 floats, gzip) and ``ag_news/test.csv.gz`` (for a realistic vocabulary). A second, 400,000-line
file is made by tiling the GloVe file 4 times into a temporary directory (copy k > 0 has every word suffixed
``_copyK``, so all words stay unique: a plain ``_K`` would collide with GloVe's own ``formula_1``; gzip level 9
and mtime 0, as the original; ``--quick``: 2 copies, level 1).
Nothing is written into the repository; all caches go to the temporary directory.

Operations, each measured in a fresh Python process (spawned from this small parent process; the libraries,
pandas included, are imported before the measurement starts, so import time is not counted):

1. first load: ``Vectors(path, cache=EMPTY_TMP_DIR)`` -- the whole-file parse (pandas' C reader) plus writing the
   ``.npy`` + ``.json`` cache. Reported: seconds and lines/s. Target: >= 100,000 lines/s.
2. cached load: a second ``Vectors(path, cache=SAME_DIR)`` (checked to be a cache hit: the cache files are not
   rewritten). Target: <= 0.3 s for the 100k x 50 file.
3. restricted load: ``Vectors(path, cache=False, restrict_to=VOCAB)`` -- the streaming line parser that only keeps
   wanted words. VOCAB is the vocabulary ``attach_vectors`` would ask for: the string entries of ``TEXT.vocab.itos``
   for AG News test (``choose_columns`` + ``read_dataset``, ``Field(tokenize="basic_english")``, about 25k types).
   Target: peak memory <= 2 x the final matrix.

Memory: the timed runs record ``ru_maxrss`` after the operation minus ``ru_maxrss`` after the imports (the
process's resident high-water mark, so this is the resident-memory peak above the baseline; a child's
``ru_maxrss`` starts at its parent's high-water mark, which is why the parent stays small and the tiling and the
vocabulary are built in child processes too). Separate runs (not timed: tracing slows allocation) record the
``tracemalloc`` peak of the operation (NumPy buffers are traced; pandas' C-tokenizer buffers are not, so the
pandas path is underestimated there and RSS is the better guide). "final matrix MB" is ``vectors.vectors`` bytes;
"peak/final" divides the tracemalloc peak by it. MB = 10^6 bytes.

Seconds and RSS are medians of ``--repeats`` timed runs; the tracemalloc peak comes from one traced run per
operation (it is deterministic). ``--profile`` adds, for each operation on the 100k file, the top functions
(cProfile, cumulative time, in one more run) and the allocation sites still alive after the load (tracemalloc).

Run: ``.venv/bin/python scripts/bench_vectors.py [--repeats 3] [--quick] [--markdown-out FILE] [--profile]``.
Exit status 2 when the data files are missing.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _bench_common import (
    Report,
    fmt_int,
    fmt_rate,
    load_average,
    markdown_table,
    median,
    require_files,
    shared_data_dir,
)

GLOVE = "glove/glove.6B.50d.top100k.txt.gz"
AG_NEWS = "ag_news/test.csv.gz"
ROOT = Path(__file__).resolve().parents[1]
TILES = 4
FIRST_LINES_PER_S_TARGET = 100_000
CACHED_SECONDS_TARGET = 0.3
MEMORY_RATIO_TARGET = 2.0
OPERATIONS = ("first", "cached", "restricted")
OPERATION_LABELS = {
    "first": "first load (parse + write cache)",
    "cached": "cached load",
    "restricted": "restricted load (restrict_to=vocab, cache=False)",
}
MB = 1e6


# --- child processes ---------------------------------------------------------------------------------------------
def run_child(spec: dict, tmp: Path) -> dict:
    """Run ``spec`` in a fresh interpreter (this script with ``--child``) and return the JSON it prints."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["TEXTCLS_CACHE_DIR"] = str(tmp / "default-cache")  # nothing may land in the user's cache
    command = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=str(tmp))
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"child {spec['op']} failed (exit {proc.returncode}):\n{tail}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _maxrss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux


def _current_rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def child_tile(spec: dict) -> dict:
    """Write ``copies`` copies of the GloVe file into one gzip file; copy k > 0 suffixes each word with ``_copyK``."""
    data = gzip.decompress(Path(spec["source"]).read_bytes())
    if not data.endswith(b"\n"):
        data += b"\n"
    first_word = re.compile(rb"^([^ \n]+) ", re.MULTILINE)
    target = Path(spec["target"])
    words: set[bytes] = set()
    lines = 0
    with open(target, "wb") as raw:
        name = target.name[:-3] if target.name.endswith(".gz") else target.name
        with gzip.GzipFile(name, mode="wb", compresslevel=spec["level"], fileobj=raw, mtime=0) as out:
            for copy in range(spec["copies"]):
                chunk = data if copy == 0 else first_word.sub(rb"\g<1>_copy" + str(copy).encode() + b" ", data)
                words.update(line.split(b" ", 1)[0] for line in chunk.splitlines())
                lines += chunk.count(b"\n")
                out.write(chunk)
    return {"lines": lines, "unique_words": len(words), "bytes": target.stat().st_size}


def child_vocab(spec: dict) -> dict:
    """Build the AG News basic_english vocabulary the way the CLI does; write its string entries as JSON."""
    from textcls.data import Field, LabelField
    from textcls.data.columns import choose_columns, read_dataset

    path = spec["ag_news"]
    text, label = Field(tokenize="basic_english"), LabelField()
    dataset = read_dataset(path, choose_columns(path), text, label)
    text.build_vocab(dataset)
    wanted = [token for token in text.vocab.itos if isinstance(token, str)]  # what attach_vectors asks for
    Path(spec["out"]).write_text(json.dumps(wanted), encoding="utf-8")
    return {"types": len(wanted), "examples": len(dataset)}


def _cache_state(cache_dir: str) -> dict[str, int]:
    directory = Path(cache_dir)
    if not directory.is_dir():
        return {}
    return {p.name: p.stat().st_mtime_ns for p in directory.iterdir()}


def child_load(spec: dict) -> dict:
    """One ``Vectors(...)`` load; the result has seconds, memory peaks and the loaded size."""
    import tracemalloc

    import numpy  # noqa: F401  (imported before the baseline: library memory is not the load's)
    import pandas  # noqa: F401  (read_text_vectors imports it lazily)
    import torch  # noqa: F401

    from textcls.embeddings.vectors import Vectors

    op = spec["op_name"]
    # a set, as attach_vectors passes it
    restrict = set(json.loads(Path(spec["restrict"]).read_text(encoding="utf-8"))) if op == "restricted" else None
    cache = spec["cache"] if op != "restricted" else False
    before = _cache_state(spec["cache"])
    if op == "first" and before:
        raise RuntimeError(f"cache dir {spec['cache']} is not empty")
    if op == "cached" and not before:
        raise RuntimeError(f"cache dir {spec['cache']} is empty: no cache to load")

    profiler = None
    if spec.get("cprofile"):
        import cProfile

        profiler = cProfile.Profile()
    gc.collect()
    base_rss, base_maxrss = _current_rss_bytes(), _maxrss_bytes()
    if spec.get("trace"):
        tracemalloc.start(1)
    if profiler is not None:
        profiler.enable()
    start = time.perf_counter()
    vectors = Vectors(spec["path"], cache=cache, restrict_to=restrict)
    seconds = time.perf_counter() - start
    if profiler is not None:
        profiler.disable()
    result = {
        "seconds": seconds,
        "words": len(vectors),
        "dim": vectors.dim,
        "final_bytes": vectors.vectors.numel() * vectors.vectors.element_size(),
        "maxrss_delta": _maxrss_bytes() - base_maxrss,
        "baseline_rss": base_rss,
        "baseline_maxrss": base_maxrss,
    }
    if spec.get("trace"):
        result["traced_current"], result["traced_peak"] = tracemalloc.get_traced_memory()
        if spec.get("sites"):
            result["alloc_sites"] = _top_allocations(tracemalloc.take_snapshot())
        tracemalloc.stop()
    if profiler is not None:
        result["profile"] = _top_functions(profiler)
    if op == "cached" and _cache_state(spec["cache"]) != before:
        raise RuntimeError("the cached load rewrote the cache: it was a miss")
    return result


def _top_functions(profiler, limit: int = 14) -> str:
    import io
    import pstats

    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("cumulative")
    stats.print_stats(limit)
    lines = out.getvalue().splitlines()
    header = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
    return "\n".join(line.rstrip() for line in lines[header:] if line.strip())


def _top_allocations(snapshot, limit: int = 8) -> str:
    """Allocation sites still alive at the end, by size (the peak itself has no snapshot)."""
    import tracemalloc

    snapshot = snapshot.filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    lines = []
    for stat in snapshot.statistics("lineno")[:limit]:
        frame = stat.traceback[0]
        lines.append(f"{stat.size / MB:8.2f} MB  {stat.count:>9,} blocks  {Path(frame.filename).name}:{frame.lineno}")
    return "\n".join(lines)


CHILD_OPS = {"tile": child_tile, "vocab": child_vocab, "load": child_load}


def child_main(spec_json: str) -> int:
    spec = json.loads(spec_json)
    print(json.dumps(CHILD_OPS[spec["op"]](spec)), flush=True)
    return 0


# --- the benchmark -----------------------------------------------------------------------------------------------
def measure_file(path: Path, lines: int, vocab_file: Path, tmp: Path, repeats: int, profile: bool) -> dict:
    """Timed runs (``repeats`` x 3 operations, a fresh cache dir each time), then one traced run per operation."""
    timed: dict[str, list[dict]] = {op: [] for op in OPERATIONS}
    for repeat in range(max(1, repeats)):
        cache = tmp / f"cache-{path.name}-{repeat}"
        for op in OPERATIONS:
            spec = {"op": "load", "op_name": op, "path": str(path), "cache": str(cache), "restrict": str(vocab_file)}
            timed[op].append(run_child(spec, tmp))
        _remove_tree(cache)
    traced: dict[str, dict] = {}
    cache = tmp / f"cache-{path.name}-traced"
    for op in OPERATIONS:
        spec = {"op": "load", "op_name": op, "path": str(path), "cache": str(cache), "restrict": str(vocab_file),
                "trace": True}  # fmt: skip
        traced[op] = run_child({**spec, "sites": profile}, tmp)
    _remove_tree(cache)
    if profile:  # cProfile slows the Python-level code: its own runs, timings not used in the table
        cache = tmp / f"cache-{path.name}-profiled"
        for op in OPERATIONS:
            spec = {"op": "load", "op_name": op, "path": str(path), "cache": str(cache), "restrict": str(vocab_file),
                    "cprofile": True}  # fmt: skip
            traced[op]["profile"] = run_child(spec, tmp)["profile"]
        _remove_tree(cache)
    return {"lines": lines, "timed": timed, "traced": traced}


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def result_rows(label: str, measured: dict, is_reference: bool) -> tuple[list[list[str]], list[str], list[str]]:
    """Table rows, notes and warnings for one file."""
    rows, notes, warnings, spread = [], [], [], []
    lines = measured["lines"]
    for op in OPERATIONS:
        runs, traced = measured["timed"][op], measured["traced"][op]
        seconds = median([r["seconds"] for r in runs])
        rss = median([r["maxrss_delta"] for r in runs])
        final = traced["final_bytes"]
        peak = traced["traced_peak"]
        ratio = peak / final if final else float("nan")
        rate = lines / seconds
        lines_cell = fmt_rate(rate) if op != "cached" else "—"
        if op == "first":
            target, met = f">= {fmt_rate(FIRST_LINES_PER_S_TARGET)} lines/s", rate >= FIRST_LINES_PER_S_TARGET
        elif op == "cached" and is_reference:
            target, met = f"<= {CACHED_SECONDS_TARGET} s", seconds <= CACHED_SECONDS_TARGET
        elif op == "restricted":
            target, met = f"peak <= {MEMORY_RATIO_TARGET:g}x final", ratio <= MEMORY_RATIO_TARGET
        else:
            target, met = "— (target is for 100k x 50)", None
        verdict = "—" if met is None else ("yes" if met else "**NO**")
        rows.append([label, OPERATION_LABELS[op], f"{seconds:.3f}", lines_cell, f"{peak / MB:.1f}", f"{rss / MB:.1f}",
                     f"{final / MB:.2f}", f"{ratio:.2f}", target, verdict])  # fmt: skip
        words = {r["words"] for r in runs} | {traced["words"]}
        spread.append(f"{op} " + " / ".join(f"{r['seconds']:.3f}" for r in runs))
        if op == "restricted":
            notes.append(
                f"- {label}, restricted load: {fmt_int(traced['words'])} of the vocabulary's words found; "
                f"RSS peak / final = {rss / final:.2f}"
            )
        if len(words) != 1:
            warnings.append(f"- {label}, {op}: the number of loaded words differs between runs: {sorted(words)}")
        if op == "first" and traced["words"] != lines:
            warnings.append(f"- {label}: {fmt_int(traced['words'])} words loaded from {fmt_int(lines)} lines")
        for run in runs:
            if run["baseline_maxrss"] > 1.05 * run["baseline_rss"] + 8 * MB:
                warnings.append(
                    f"- {label}, {op}: ru_maxrss baseline {run['baseline_maxrss'] / MB:.0f} MB exceeds the resident "
                    f"{run['baseline_rss'] / MB:.0f} MB: the RSS delta may be understated"
                )
                break
    notes.append(f"- {label}, seconds of each timed run: {'; '.join(spread)}")
    return rows, notes, warnings


def profile_block(label: str, measured: dict) -> str:
    parts = [f"### Profile: {label}"]
    for op in OPERATIONS:
        traced = measured["traced"][op]
        parts.append(f"#### {OPERATION_LABELS[op]}\n\ncProfile (cumulative):\n\n```\n{traced['profile']}\n```")
        parts.append(
            f"tracemalloc: peak {traced['traced_peak'] / MB:.2f} MB, still alive after the load "
            f"{traced['traced_current'] / MB:.2f} MB; largest live allocation sites:\n\n"
            f"```\n{traced['alloc_sites']}\n```"
        )
    return "\n\n".join(parts)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per measurement; the median is reported")
    parser.add_argument("--data-dir", type=Path, default=shared_data_dir(__file__), help="the shared data dir")
    parser.add_argument("--markdown-out", type=Path, help="also write the report to this Markdown file")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 repeat, 2 tiled copies, fast gzip")
    parser.add_argument("--profile", action="store_true", help="add cProfile/tracemalloc details (100k file)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.child is not None:
        return child_main(args.child)
    glove, ag_news = require_files(args.data_dir, GLOVE, AG_NEWS)
    repeats = 1 if args.quick else max(1, args.repeats)
    copies, level = (2, 1) if args.quick else (TILES, 9)

    report = Report()
    report.add(
        f"## textcls word-vectors loading benchmark\n\nPython {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"load average {load_average()} at start; seconds and RSS: median of {repeats} run(s), each operation in a "
        "fresh process" + (" (--quick)" if args.quick else "")
    )
    with tempfile.TemporaryDirectory(prefix="bench_vectors_") as tmp_name:
        tmp = Path(tmp_name)
        vocab_file = tmp / "vocab.json"
        vocab = run_child({"op": "vocab", "ag_news": str(ag_news), "out": str(vocab_file)}, tmp)
        tiled = tmp / f"glove.6B.50d.tiled{copies}x.txt.gz"
        start = time.perf_counter()
        tile = run_child({"op": "tile", "source": str(glove), "target": str(tiled), "copies": copies,
                          "level": level}, tmp)  # fmt: skip
        tile_seconds = time.perf_counter() - start
        if tile["unique_words"] != tile["lines"]:
            print(f"warning: the tiled file has {tile['lines'] - tile['unique_words']} repeated words", file=sys.stderr)

        files = [
            (f"{glove.name} (100k x 50)", glove, 100_000, True),
            (f"tiled x{copies} ({copies * 100}k x 50)", tiled, tile["lines"], False),
        ]
        rows, notes, warnings, profiles = [], [], [], []
        for label, path, lines, is_reference in files:
            measured = measure_file(path, lines, vocab_file, tmp, repeats, args.profile and is_reference)
            file_rows, file_notes, file_warnings = result_rows(label, measured, is_reference)
            rows += file_rows
            notes += file_notes
            warnings += file_warnings
            if args.profile and is_reference:
                profiles.append(profile_block(label, measured))

    headers = ["file", "operation", "seconds", "lines/s", "peak MB (tracemalloc)", "RSS Δ MB (ru_maxrss)",
               "final matrix MB", "peak/final", "target", "met?"]  # fmt: skip
    table = markdown_table(headers, rows, right=range(2, 8))
    context = [
        f"- Vocabulary: {fmt_int(vocab['types'])} basic_english types (specials included) of AG News test "
        f"({fmt_int(vocab['examples'])} rows).",
        f"- Tiled file: {fmt_int(tile['lines'])} lines ({fmt_int(tile['unique_words'])} distinct words), "
        f"{tile['bytes'] / MB:.1f} MB gzip (level {level}), written in {tile_seconds:.1f} s.",
        "- peak/final uses the tracemalloc peak; the pandas parser's own buffers are not traced (see RSS Δ).",
        f"- Parent process ru_maxrss {_maxrss_bytes() / MB:.0f} MB (children inherit it as their ru_maxrss floor).",
    ]
    report.add(table + "\n\n" + "\n".join(context + notes))
    if warnings:
        report.add("Warnings:\n\n" + "\n".join(warnings))
    for block in profiles:
        report.add(block)
    report.add(f"Load average at the end: {load_average()} (timings are noisy when it exceeds the CPU count).")
    if args.markdown_out is not None:
        report.write(args.markdown_out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
