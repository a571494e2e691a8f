"""Helpers shared by the benchmark scripts: median timing, number formatting, Markdown tables, the data directory.

Kept small and dependency-free so every ``scripts/bench_*.py`` can import it (run the scripts with the project
root on ``PYTHONPATH``, or from the ``scripts`` directory).
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def median_time(fn: Callable[[], Any], repeats: int = 3, warmup: int = 0) -> tuple[float, Any]:
    """Call ``fn`` ``warmup`` times untimed, then ``repeats`` times; return (median seconds, last result).

    A full garbage collection runs before each timed call, so garbage left by earlier work is not charged to it.
    """
    for _ in range(warmup):
        fn()
    times, result = [], None
    for _ in range(max(1, repeats)):
        result = None
        gc.collect()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def median(values: Sequence[float]) -> float:
    """Median of a non-empty sequence."""
    return statistics.median(values)


def load_average() -> str:
    """The 1-minute load average (``"n/a"`` where the OS has none): timings are noisy when it exceeds the CPUs."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except (AttributeError, OSError):
        return "n/a"


def fmt_rate(value: float) -> str:
    """A rate as ``1.23 M`` / ``456 k`` / ``789``."""
    if value >= 1e6:
        return f"{value / 1e6:.2f} M"
    if value >= 1e3:
        return f"{value / 1e3:.0f} k"
    return f"{value:.0f}"


def fmt_int(value: int) -> str:
    """An integer with thousands separators."""
    return f"{value:,}"


def fmt_pct(fraction: float) -> str:
    """A fraction as a percentage with one decimal."""
    return f"{100 * fraction:.1f} %"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], right: Sequence[int] = ()) -> str:
    """A Markdown table; columns whose index is in ``right`` are right-aligned (numbers)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row):
        padded = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))]
        return "| " + " | ".join(padded) + " |"

    rule = ["-" * (w - 1) + ":" if i in right else "-" * w for i, w in enumerate(widths)]
    return "\n".join([line(cells[0]), "| " + " | ".join(rule) + " |"] + [line(row) for row in cells[1:]])


class Report:
    """Collects Markdown blocks, printing each as it is added; :meth:`write` saves them all to a file."""

    def __init__(self) -> None:
        self.blocks: list[str] = []

    def add(self, text: str) -> None:
        self.blocks.append(text.rstrip())
        print(text.rstrip() + "\n", flush=True)

    def write(self, path: str | Path) -> None:
        Path(path).write_text("\n\n".join(self.blocks) + "\n", encoding="utf-8")


def shared_data_dir(script: str | Path) -> Path:
    """The shared data directory next to the project root: ``<root>/../shared/data`` for ``<root>/scripts/x.py``."""
    return Path(script).resolve().parents[1].parent / "shared" / "data"


def require_files(data_dir: Path, *relative: str) -> list[Path]:
    """Paths of ``relative`` files under ``data_dir``; exit with status 2 and one line when any is missing."""
    paths = [data_dir / name for name in relative]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"error: data file(s) not found: {', '.join(missing)} (pass --data-dir DIR)", file=sys.stderr)
        raise SystemExit(2)
    return paths
