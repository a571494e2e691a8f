"""One epoch of ``textcls train --model bag`` on a generated corpus with many classes: seconds, peak memory and
the sizes of ``metrics.json`` and ``checkpoints/last.pt``.

    PYTHONPATH=. python scripts/bench_many_classes.py --classes 10000 --rows 20000

The corpus is :func:`tests.generated.write_many_classes` (``--rows`` training rows, a fifth as many validation
rows); training runs in a child process with one torch thread, so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from generated import write_many_classes  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files = write_many_classes(Path(tmp) / "data", args.classes, (args.rows, args.rows // 5))
        run = Path(tmp) / "run"
        command = [
            sys.executable,
            "-m",
            "textcls",
            "train",
            str(files["train"]),
            "--valid",
            str(files["valid"]),
            "--model",
            "bag",
            "--epochs",
            "1",
            "--threads",
            "1",
            "--device",
            "cpu",
            "--output",
            str(run),
        ]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if done.returncode:
            sys.exit(done.stderr)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
        sizes = {name: (run / name).stat().st_size for name in ("metrics.json", "checkpoints/last.pt", "model.pt")}
        print(f"classes {args.classes:,}  rows {args.rows:,}  seconds {seconds:.1f}  peak RSS {peak:.0f} MiB  "
              + "  ".join(f"{name} {size / 1e6:.2f} MB" for name, size in sizes.items()))  # fmt: skip


if __name__ == "__main__":
    main()
