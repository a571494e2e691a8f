"""``textcls serve``: an HTTP JSON prediction service for a run or an export directory (FastAPI + uvicorn, the
``serve`` extra: ``pip install 'textcls[serve]'``).

Endpoints::

    POST /predict   {"texts": ["...", ...], "k": 3}  →  {"predictions": [{"labels": [...], "probabilities": [...]}]}
    GET  /health    {"status": "ok", "model": ..., "backend": "onnx" | "torchscript" | "pytorch", "requests": N,
                     "model_calls": N, "texts": N}
    GET  /labels    {"labels": [...], "kind": "multiclass" | "binary" | "multilabel"}

``k`` is the labels per text, most likely first (default 1; ``-1``: all); a multi-label model returns every label at
or above its threshold instead, as ``textcls predict`` does. Requests are grouped: a batcher takes the requests
that arrived within ``batch_wait_ms`` of the first waiting one (up to ``max_batch_texts`` texts) and makes one
model call for all of them, in one worker thread. Bad input is a 4xx with one line, ``{"error": "..."}``: a body
over ``max_body_bytes`` or more than ``max_texts`` texts or a text over ``max_text_chars`` characters (413),
a body that is not UTF-8 JSON (400), a field that is unknown, missing or of the wrong type, no texts, or a blank
text (422); a full queue is 503. The request models forbid unknown fields and coerce nothing (``"k": "3"`` is an
error). It listens on 127.0.0.1 (loopback only) unless ``--host`` names another address.
"""

# no "from __future__ import annotations": FastAPI reads the endpoints' annotations (Request) at run time

import asyncio
import json
import logging
import socket
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from textcls.errors import TextclsError
from textcls.onnx_predict import is_export_dir, top_labels

log = logging.getLogger("textcls")
LOOPBACK = "127.0.0.1"


@dataclass
class Limits:
    """What one request may hold, and how requests are grouped.

    Args:
        max_body_bytes: largest request body (bytes).
        max_texts: most texts in one request.
        max_text_chars: longest text (characters).
        max_batch_texts: most texts in one grouped model call.
        batch_wait_ms: how long the batcher waits for more requests after the first one (milliseconds).
        max_queue: requests waiting at most (more: 503).
    """

    max_body_bytes: int = 1_000_000
    max_texts: int = 256
    max_text_chars: int = 20_000
    max_batch_texts: int = 512
    batch_wait_ms: int = 2
    max_queue: int = 4096

    OPTIONS: ClassVar[tuple] = (  # the ones textcls serve has flags for: (name, help)
        ("max_body_bytes", "largest request body in bytes"),
        ("max_texts", "most texts in one request"),
        ("max_text_chars", "longest text in characters"),
        ("max_batch_texts", "most texts in one grouped model call"),
        ("batch_wait_ms", "milliseconds the batcher waits to group requests"),
    )

    def check(self) -> None:
        """Raise a one-line :class:`TextclsError` for a limit below its minimum (1; ``batch_wait_ms`` 0)."""
        for name, value in vars(self).items():
            if value < (0 if name == "batch_wait_ms" else 1):
                raise TextclsError(f"--{name.replace('_', '-')} must be at least {0 if name == 'batch_wait_ms' else 1}")


class RunBackend:
    """A run directory's PyTorch model behind the service's interface (``predict_proba``, ``labels``...).

    Args:
        path: the run directory.
    """

    backend = "pytorch"

    def __init__(self, path):
        import torch

        from textcls.jobs.predict import Predictor

        self._torch = torch
        self.predictor = Predictor(path)
        task = self.predictor.task
        self.kind, self.labels = task.kind, list(task.labels)
        self.threshold = self.predictor.thresholds().tolist() if task.kind == "multilabel" else task.threshold
        self.model = self.predictor.config["model"]

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Per-class probabilities ``[len(texts), len(labels)]`` (what :class:`~textcls.jobs.predict.Predictor`
        computes)."""
        outputs = self.predictor.trainer.evaluate(self.predictor.batches(texts), keep_outputs=True)
        probabilities = self._torch.empty_like(outputs["probabilities"])
        probabilities[self._torch.tensor(outputs["indices"])] = outputs["probabilities"]
        return probabilities.numpy()


class ExportBackend:
    """An export directory (:class:`~textcls.onnx_predict.ExportPredictor`) behind the service's interface.

    Args:
        path: the export directory.
        threads: onnxruntime's (or torch's) intra-op threads.
    """

    def __init__(self, path, threads: int | None = None):
        from textcls.onnx_predict import ExportPredictor

        self.predictor = ExportPredictor(path, threads=threads)
        self.backend = self.predictor.format
        self.kind, self.labels, self.threshold = self.predictor.kind, self.predictor.labels, self.predictor.threshold
        self.model = self.predictor.meta["model"]

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Per-class probabilities ``[len(texts), len(labels)]``."""
        return self.predictor.predict_proba(texts)


def load_backend(path, threads: int | None = None):
    """:class:`ExportBackend` for an export directory, else :class:`RunBackend` (torch's threads set first).

    Args:
        path: a run directory or an export directory.
        threads: CPU threads (``None``: :mod:`textcls.threads`'s rule).
    """
    if is_export_dir(path):
        from textcls.threads import choose_threads

        return ExportBackend(path, threads=choose_threads(threads)[0])
    from textcls.threads import set_threads

    set_threads(threads)
    return RunBackend(path)


class RequestError(Exception):
    """Bad input: answered with ``status`` and the one-line ``reason``."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


class Batcher:
    """Groups waiting requests into one model call, made in one worker thread.

    Args:
        backend: what predicts (``predict_proba``).
        limits: ``max_batch_texts``, ``batch_wait_ms``, ``max_queue``.
    """

    def __init__(self, backend, limits: Limits):
        self.backend, self.limits = backend, limits
        self.queue: asyncio.Queue | None = None
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="textcls-model")
        self.requests = self.model_calls = self.texts = 0
        self._task = None

    async def start(self) -> None:
        """Start grouping (in the server's event loop)."""
        self.queue = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop grouping, and the worker thread."""
        if self._task is not None:
            self._task.cancel()
        self.executor.shutdown(wait=False, cancel_futures=True)

    async def predict(self, texts: list[str]) -> np.ndarray:
        """The probabilities of ``texts``, computed in a grouped call (503 when ``max_queue`` requests wait).

        Args:
            texts: the request's texts.
        """
        if self.queue.qsize() >= self.limits.max_queue:
            raise RequestError(503, f"the server is busy ({self.queue.qsize()} requests waiting); retry later")
        future = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((texts, future))
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        held = None  # a request that did not fit into the last group: it starts the next one
        while True:
            first = held if held is not None else await self.queue.get()
            held = None
            group, count = [first], len(first[0])
            if self.queue.empty() and self.limits.batch_wait_ms > 0:
                await asyncio.sleep(self.limits.batch_wait_ms / 1000)  # let concurrent requests arrive
            while count < self.limits.max_batch_texts and not self.queue.empty():
                item = self.queue.get_nowait()
                if count + len(item[0]) > self.limits.max_batch_texts:
                    held = item
                    break
                group.append(item)
                count += len(item[0])
            group = [(texts, future) for texts, future in group if not future.cancelled()]
            if not group:
                continue
            texts = [text for item, _ in group for text in item]
            try:
                probabilities = await loop.run_in_executor(self.executor, self.backend.predict_proba, texts)
            except Exception as exc:  # a bug or a broken model, not the client's input: 500 for every request
                log.exception("the model failed on a group of %d requests", len(group))
                for _, future in group:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.requests += len(group)
            self.model_calls += 1
            self.texts += len(texts)
            start = 0
            for item, future in group:
                if not future.done():
                    future.set_result(probabilities[start : start + len(item)])
                start += len(item)


async def read_body(request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes (declared or sent)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestError(413, f"request body of {int(declared):,} bytes is over the limit of {limit:,}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise RequestError(413, f"request body is over the limit of {limit:,} bytes")
    return bytes(body)


def _one_line(error) -> str:
    """The first pydantic validation error as one line naming the field (an unknown field first: ``{"text": ...}``
    is a misspelt ``texts`` rather than a missing one)."""
    errors = error.errors()
    first = next((item for item in errors if item.get("type") == "extra_forbidden"), errors[0])
    where = ".".join(str(part) for part in first.get("loc", ())) or "body"
    if first.get("type") == "extra_forbidden":
        return f"unknown field {where!r}; the fields are texts and k"
    if first.get("type") == "missing":
        return f"field {where!r} is required"
    return f"{where}: {first.get('msg', 'invalid')}"


def create_app(backend, limits: Limits | None = None):
    """The FastAPI application serving ``backend`` (see the module docstring for its endpoints).

    Args:
        backend: a :class:`RunBackend`, an :class:`ExportBackend`, or any object with ``predict_proba(texts)``,
            ``labels``, ``kind``, ``threshold``, ``model`` and ``backend``.
        limits: input limits and batching (default :class:`Limits`).
    """
    from contextlib import asynccontextmanager

    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from pydantic import BaseModel, ConfigDict, ValidationError
    from starlette.exceptions import HTTPException

    limits = limits or Limits()
    limits.check()
    batcher = Batcher(backend, limits)

    class PredictRequest(BaseModel):
        """``POST /predict``'s body: the texts and how many labels each (``-1``: all)."""

        model_config = ConfigDict(extra="forbid", strict=True)
        texts: list[str]
        k: int = 1

    class Prediction(BaseModel):
        labels: list[str]
        probabilities: list[float]

    class PredictResponse(BaseModel):
        predictions: list[Prediction]

    @asynccontextmanager
    async def lifespan(app):
        await batcher.start()
        yield
        await batcher.stop()

    app = FastAPI(title="textcls", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.batcher = batcher

    def error(status: int, reason: str) -> JSONResponse:
        return JSONResponse({"error": reason}, status_code=status)

    @app.exception_handler(RequestError)
    async def _request_error(request, exc: RequestError):
        return error(exc.status, exc.reason)

    @app.exception_handler(HTTPException)
    async def _http_error(request, exc: HTTPException):  # 404, 405: one line too
        return error(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request, exc: RequestValidationError):
        return error(422, _one_line(exc))

    @app.exception_handler(Exception)
    async def _bug(request, exc: Exception):
        log.exception("error while answering %s", request.url.path)
        return error(500, f"internal error ({type(exc).__name__}); see the server's log")

    @app.get("/health")
    async def health():
        return {
            "status": "ok", "model": backend.model, "backend": backend.backend, "labels": len(backend.labels),
            "requests": batcher.requests, "model_calls": batcher.model_calls, "texts": batcher.texts,
        }  # fmt: skip

    @app.get("/labels")
    async def labels():
        return {"labels": [str(label) for label in backend.labels], "kind": backend.kind}

    @app.post("/predict", response_model=PredictResponse)
    async def predict(request: Request):
        body = await read_body(request, limits.max_body_bytes)
        try:
            data = json.loads(body.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise RequestError(400, f"request body is not UTF-8 (byte {exc.start})") from None
        except json.JSONDecodeError as exc:
            raise RequestError(400, f"request body is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise RequestError(422, f"request body must be a JSON object with texts, not {type(data).__name__}")
        try:
            query = PredictRequest.model_validate(data)
        except ValidationError as exc:
            raise RequestError(422, _one_line(exc)) from None
        if not query.texts:
            raise RequestError(422, "texts is empty; give at least one text")
        if len(query.texts) > limits.max_texts:
            raise RequestError(413, f"{len(query.texts):,} texts is over the limit of {limits.max_texts:,} a request")
        for number, text in enumerate(query.texts):
            if len(text) > limits.max_text_chars:
                raise RequestError(
                    413, f"texts.{number} has {len(text):,} characters, over the limit of {limits.max_text_chars:,}"
                )
            if not text.strip():
                raise RequestError(
                    422, f"texts.{number} is empty or blank; a label predicted from no words means nothing"
                )
        if query.k == 0 or query.k < -1:
            raise RequestError(422, f"k must be at least 1, or -1 for all labels; got {query.k}")
        probabilities = await batcher.predict(query.texts)
        chosen = [top_labels(row, backend.labels, backend.kind, backend.threshold, query.k) for row in probabilities]
        return {
            "predictions": [
                {"labels": [label for label, _ in pairs], "probabilities": [p for _, p in pairs]} for pairs in chosen
            ]
        }

    return app


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (``port`` 0: a free one), ``TCP_NODELAY`` set; a one-line error
    when it cannot be."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # accepted connections inherit it: without, a response's header and body writes wait on the client's delayed
    # ACK (about 40 ms a request; uvicorn sets it only on sockets it opens itself)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise TextclsError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(2048)
    return sock


def server_for(app, sock: socket.socket):
    """A uvicorn server for ``app`` on the bound socket ``sock`` (its access log off)."""
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=2)
    return uvicorn.Server(config)


class ServerThread:
    """A service running in a background thread on ``host``, on a free port (tests, benchmarks, notebooks).

    Args:
        app: the application (:func:`create_app`).
        host: the address (default loopback).

    Attributes:
        url: ``http://HOST:PORT``.
    """

    def __init__(self, app, host: str = LOOPBACK):
        self.sock = bind(host, 0)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        self.server = server_for(app, self.sock)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> "ServerThread":
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("the server thread stopped before it started")
            self.thread.join(0.01)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


def serve(
    path, host: str | None = None, port: int = 8000, limits: Limits | None = None, threads: int | None = None
) -> int:
    """Serve a run or export directory until interrupted; returns the exit status.

    Args:
        path: a run directory or an export directory.
        host: the address to listen on (``None``: 127.0.0.1).
        port: the port (0: a free one, printed).
        limits: input limits and batching.
        threads: CPU threads for the model.
    """
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise TextclsError("textcls serve needs FastAPI and uvicorn: pip install 'textcls[serve]'") from None
    if not 0 <= port <= 65535:
        raise TextclsError(f"--port must be between 0 and 65535, not {port}")
    limits = limits or Limits()
    limits.check()
    if not Path(path).is_dir():
        raise TextclsError(f"run or export directory not found: {path}")
    host = host or LOOPBACK
    backend = load_backend(path, threads)
    app = create_app(backend, limits)
    sock = bind(host, port)
    where = f"http://{host}:{sock.getsockname()[1]}"
    scope = "loopback only" if host in (LOOPBACK, "localhost", "::1") else "reachable from other machines"
    print(
        f"serving {backend.model} ({backend.backend}) from {path} on {where} ({scope}): POST /predict, GET /health, "
        "GET /labels; Ctrl-C stops",
        flush=True,
    )
    server = server_for(app, sock)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    print("textcls serve: stopped", file=sys.stderr, flush=True)
    return 0
