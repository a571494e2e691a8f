"""Benchmark ``textcls serve`` on loopback, PyTorch run vs ONNX export, and the cold start of ``textcls predict``.

Data: AG News's test split (``<project>/../shared/data/ag_news/test.csv.gz``, 7,600 header-less rows
``class, title, description``, or ``--data-dir``): ``bag`` and ``bilstm`` (their default configs) are trained one
epoch on its first ``--train-rows`` rows (or give ``--bag-run`` / ``--bilstm-run``), exported to ONNX, and the
requests are made of the other rows' title + description.

1. Load test: for each model and backend, ``textcls serve`` in its own process (``--threads``, loopback, a free
   port); an ``httpx`` async client sends ``--requests`` requests of ``--texts-per-request`` texts at each
   concurrency of ``--concurrency`` (a fixed number of requests: it stops by itself), after 50 warm-up requests.
   Printed: requests/s, texts/s, p50 / p99 latency (ms), the server process's CPU time per request (Linux: where
   the client, in this process, is the bottleneck, it shows what the server itself could do) and errors (a
   response that is not 200, or a failed request; it must be 0).
2. Cold start: wall time of ``textcls predict RUN "text"`` against ``textcls predict EXPORT "text"`` (the same
   text, a fresh process each, alternated; the median of ``--repeats``).

Run: ``PYTHONPATH=. python scripts/bench_serve.py [--requests 5000] [--concurrency 1,8,32] [--markdown-out FILE]``.
Needs the ``serve`` and ``export`` extras (FastAPI, uvicorn, httpx, onnx, onnxruntime). Exit status 2 when the data
file is missing.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gzip
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _bench_common import Report, load_average, markdown_table, require_files, shared_data_dir

HEADERS = [
    "model",
    "backend",
    "concurrency",
    "requests/s",
    "texts/s",
    "p50 ms",
    "p99 ms",
    "server CPU ms/req",
    "errors",
]
ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def textcls(*argv, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "textcls", *map(str, argv)], env=ENV, **kwargs)


def read_rows(path: Path) -> list[list[str]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def train(model: str, rows: list[list[str]], folder: Path, threads: int) -> Path:
    data = folder / "train.csv"
    with data.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    run = folder / f"{model}-run"
    done = textcls(
        "train", data, "--columns", "label,title,description", "--model", model, "--epochs", 1,
        "--device", "cpu", "--threads", threads, "--output", run, "--overwrite", capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"training {model} failed:\n{done.stderr[-2000:]}")
    return run


def export(run: Path, folder: Path) -> Path:
    target = folder / f"{run.name}-onnx"
    done = textcls("export", run, "--output", target, "--overwrite", "--threads", 1, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"export of {run} failed:\n{done.stderr[-2000:]}")
    return target


class Server:
    """``textcls serve PATH`` in a subprocess on a free loopback port."""

    def __init__(self, path: Path, threads: int):
        command = [sys.executable, "-m", "textcls", "serve", str(path), "--port", "0", "--threads", str(threads)]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
        line = self.process.stdout.readline()
        if " on http://" not in line:
            self.process.kill()
            raise SystemExit(f"textcls serve {path} did not start: {line}{self.process.stderr.read()[-2000:]}")
        self.url = line.split(" on ", 1)[1].split(" ", 1)[0]

    def cpu_seconds(self) -> float | None:
        """The server process's CPU time so far (Linux's /proc; ``None`` elsewhere)."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


async def load(url: str, bodies: list[dict], concurrency: int) -> dict:
    """Send ``bodies`` (in turn) with ``concurrency`` requests in flight; latencies and errors."""
    latencies, errors = [], 0
    queue = iter(bodies)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    # TCP_NODELAY: a request's header and body writes must not wait on the server's delayed ACK
    transport = httpx.AsyncHTTPTransport(limits=limits, socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
    async with httpx.AsyncClient(base_url=url, transport=transport, timeout=60) as client:

        async def worker():
            nonlocal errors
            for body in queue:
                start = time.perf_counter()
                try:
                    response = await client.post("/predict", json=body)
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - start)
                errors += not ok

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "elapsed": elapsed,
        "requests": len(bodies),
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "errors": errors,
    }


def cold_start(run: Path, exported: Path, text: str, repeats: int, threads: int) -> tuple[float, float]:
    times = {"run": [], "export": []}
    for _ in range(repeats):
        for name, path in (("run", run), ("export", exported)):
            start = time.perf_counter()
            done = textcls("predict", path, text, "--threads", threads, capture_output=True, text=True)
            times[name].append(time.perf_counter() - start)
            if done.returncode != 0:
                raise SystemExit(f"textcls predict {path} failed:\n{done.stderr[-2000:]}")
    return statistics.median(times["run"]), statistics.median(times["export"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=shared_data_dir(__file__))
    parser.add_argument("--requests", type=int, default=5000, help="requests per concurrency level (5000)")
    parser.add_argument("--concurrency", default="1,8,32", help="comma-separated concurrency levels (1,8,32)")
    parser.add_argument("--texts-per-request", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="the server's threads (1)")
    parser.add_argument("--train-rows", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3, help="cold starts per side (3)")
    parser.add_argument("--models", default="bag,bilstm")
    parser.add_argument("--bag-run", type=Path)
    parser.add_argument("--bilstm-run", type=Path)
    parser.add_argument("--markdown-out", type=Path)
    args = parser.parse_args()
    (path,) = require_files(args.data_dir, "ag_news/test.csv.gz")
    rows = read_rows(path)
    texts = [f"{title} {description}" for _, title, description in rows[args.train_rows :]]
    levels = [int(level) for level in args.concurrency.split(",")]
    report = Report()
    report.add(
        f"bench_serve: {args.requests:,} requests of {args.texts_per_request} text(s) per concurrency level, "
        f"server threads {args.threads}, {os.cpu_count()} CPUs, load {load_average()}, Python "
        f"{platform.python_version()}"
    )
    table, starts = [], []
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as scratch:
        scratch = Path(scratch)
        for model in args.models.split(","):
            run = getattr(args, f"{model}_run", None) or train(model, rows[: args.train_rows], scratch, args.threads)
            exported = export(run, scratch)
            for backend, served in (("pytorch", run), ("onnx", exported)):
                server = Server(served, args.threads)
                try:
                    k = args.texts_per_request
                    bodies = [
                        {"texts": [texts[(i * k + j) % len(texts)] for j in range(k)], "k": 3}
                        for i in range(args.requests)
                    ]
                    asyncio.run(load(server.url, bodies[:50], 4))  # warm-up
                    for level in levels:
                        cpu_before = server.cpu_seconds()
                        result = asyncio.run(load(server.url, bodies, level))
                        cpu_after = server.cpu_seconds()
                        cpu = "n/a" if cpu_before is None else f"{(cpu_after - cpu_before) / len(bodies) * 1e3:.2f}"
                        rate = result["requests"] / result["elapsed"]
                        table.append([
                            model, backend, level, f"{rate:,.0f}", f"{rate * k:,.0f}", f"{result['p50'] * 1e3:.1f}",
                            f"{result['p99'] * 1e3:.1f}", cpu, result["errors"],
                        ])  # fmt: skip
                        print(" | ".join(map(str, table[-1])), flush=True)
                finally:
                    server.stop()
            run_s, export_s = cold_start(run, exported, texts[0][:200], args.repeats, args.threads)
            starts.append([model, f"{run_s:.2f}", f"{export_s:.2f}", f"{run_s / export_s:.1f}x"])
    report.add(
        markdown_table(
            HEADERS,
            table,
            right=tuple(range(2, len(HEADERS))),
        )
    )
    report.add(
        markdown_table(
            ["model", "textcls predict RUN (s)", "textcls predict EXPORT (s)", "faster"], starts, right=(1, 2, 3)
        )
    )
    if args.markdown_out:
        report.write(args.markdown_out)
    errors = sum(row[-1] for row in table)
    if errors:
        print(f"bench_serve: {errors} errors", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
