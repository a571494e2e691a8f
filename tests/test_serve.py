"""``textcls serve``: real HTTP requests on 127.0.0.1 to a uvicorn server (in a thread, and one ``textcls serve``
process): good requests, malformed JSON, oversized bodies, empty texts, unknown fields, concurrent clients."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from export_helpers import real_texts, tiny_run

from textcls.export import export_run
from textcls.serve import ExportBackend, Limits, RunBackend, ServerThread, create_app

REPO = Path(__file__).resolve().parents[1]
LIMITS = Limits(max_body_bytes=20_000, max_texts=8, max_text_chars=2_000, batch_wait_ms=20)


@pytest.fixture(scope="module")
def bag_run(tmp_path_factory):
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield tiny_run(tmp_path_factory.mktemp("serve-runs"), "bag")
    torch.set_num_threads(threads)


@pytest.fixture(scope="module", params=["onnx", "pytorch"])
def server(request, bag_run):
    """A server for the bag run's ONNX export, and one for the run itself."""
    if request.param == "onnx":
        backend = ExportBackend(export_run(bag_run, "onnx", bag_run.parent / "serve-onnx"), threads=1)
    else:
        backend = RunBackend(bag_run)
    with ServerThread(create_app(backend, LIMITS)) as running:
        running.backend = backend
        yield running


def post(server, body, **kwargs) -> httpx.Response:
    if not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    return httpx.post(server.url + "/predict", content=body, headers={"content-type": "application/json"}, **kwargs)


def assert_error(response: httpx.Response, status: int, *fragments: str) -> None:
    assert response.status_code == status, response.text
    reason = response.json()["error"]
    assert "\n" not in reason
    for fragment in fragments:
        assert fragment in reason, reason


def test_good_requests(server, generated):
    texts = real_texts(generated)[:5]
    response = post(server, {"texts": texts, "k": 2})
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    expected = server.backend.predict_proba(texts)
    labels = server.backend.labels
    for prediction, row in zip(predictions, expected):
        order = np.argsort(-row)
        assert prediction["labels"] == [labels[i] for i in order[:2]]
        np.testing.assert_allclose(prediction["probabilities"], row[order[:2]], atol=1e-6)
    every = post(server, {"texts": texts[:1], "k": -1}).json()["predictions"][0]
    assert sorted(every["labels"]) == sorted(labels) and sum(every["probabilities"]) == pytest.approx(1, abs=1e-5)
    assert len(post(server, {"texts": texts[:1]}).json()["predictions"][0]["labels"]) == 1  # k defaults to 1
    form = {"content-type": "application/x-www-form-urlencoded"}  # what curl -d sends
    as_curl_sends_it = httpx.post(server.url + "/predict", content=b'{"texts": ["a b"]}', headers=form)
    assert as_curl_sends_it.status_code == 200, as_curl_sends_it.text
    assert httpx.get(server.url + "/labels").json() == {"labels": labels, "kind": "multiclass"}
    health = httpx.get(server.url + "/health").json()
    assert health["status"] == "ok" and health["model"] == "bag" and health["labels"] == 3


def test_bad_input_is_a_4xx_with_one_line(server):
    assert_error(post(server, b'{"texts": ["a",'), 400, "not JSON")
    assert_error(post(server, b"\xff\xfe"), 400, "not UTF-8")
    assert_error(post(server, {"texts": ["x" * 100] * 4, "pad": "y" * 30_000}), 413, "over the limit of 20,000")
    assert_error(post(server, {"texts": ["text"] * 9}), 413, "9 texts", "limit of 8")
    assert_error(post(server, {"texts": ["x" * 2_001]}), 413, "texts.0 has 2,001 characters")
    assert_error(post(server, {"texts": []}), 422, "texts is empty")
    assert_error(post(server, {"texts": ["fine", "  "]}), 422, "texts.1 is empty or blank")
    assert_error(post(server, {"texts": ["a"], "top_k": 3}), 422, "unknown field 'top_k'")
    assert_error(post(server, {"text": "a"}), 422, "unknown field 'text'")
    assert_error(post(server, {"k": 2}), 422, "field 'texts' is required")
    assert_error(post(server, {"texts": "a single string"}), 422, "texts")
    assert_error(post(server, {"texts": ["a", 3]}), 422, "texts.1")
    assert_error(post(server, {"texts": ["a"], "k": "3"}), 422, "k:")
    assert_error(post(server, {"texts": ["a"], "k": 0}), 422, "k must be at least 1")
    assert_error(post(server, [1, 2]), 422, "JSON object")
    assert_error(post(server, "null"), 422, "JSON object")
    assert_error(httpx.get(server.url + "/predict"), 405, "Method Not Allowed")
    assert_error(httpx.get(server.url + "/nothing"), 404, "Not Found")
    assert post(server, {"texts": ["still fine"]}).status_code == 200


def test_a_body_larger_than_declared_limit_is_refused_while_streaming(server):
    def chunks():
        yield b'{"texts": ["'
        for _ in range(30):
            yield b"x" * 1_000
        yield b'"]}'

    response = httpx.post(server.url + "/predict", content=chunks())  # chunked: no Content-Length
    assert_error(response, 413, "over the limit of 20,000 bytes")


def test_concurrent_clients_are_grouped_and_each_gets_its_own_answer(server, generated):
    texts = real_texts(generated)[:40]
    expected = server.backend.predict_proba(texts)
    before = httpx.get(server.url + "/health").json()

    def ask(i: int):
        with httpx.Client(timeout=30) as client:
            return i, client.post(server.url + "/predict", json={"texts": texts[i : i + 1], "k": -1}).json()

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(ask, range(40)))
    labels = server.backend.labels
    for i, answer in answers:
        got = dict(zip(answer["predictions"][0]["labels"], answer["predictions"][0]["probabilities"]))
        np.testing.assert_allclose([got[label] for label in labels], expected[i], atol=1e-5)
    after = httpx.get(server.url + "/health").json()
    assert after["requests"] - before["requests"] == 40
    assert after["model_calls"] - before["model_calls"] < 40  # requests waiting together went in one call


def test_serve_command_listens_on_loopback(bag_run):
    """``textcls serve`` as users start it: it says where it listens (127.0.0.1 when --host is not given) and
    answers there."""
    exported = export_run(bag_run, "onnx", bag_run.parent / "serve-cli")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "textcls", "serve", str(exported), "--port", "0", "--threads", "1"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = process.stdout.readline()
        assert "on http://127.0.0.1:" in line and "(loopback only)" in line, line + process.stderr.read()
        url = line.split(" on ", 1)[1].split(" ", 1)[0]
        response = httpx.post(url + "/predict", json={"texts": ["market shares"], "k": 1}, timeout=30)
        assert response.status_code == 200 and len(response.json()["predictions"]) == 1
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_serve_errors_are_one_line(tmp_path, bag_run):
    from cli_helpers import assert_one_line_error, run_cli

    status, _, err = run_cli("serve", tmp_path / "missing")
    assert_one_line_error(status, err, "run or export directory not found")
    status, _, err = run_cli("serve", bag_run, "--port", "70000")
    assert_one_line_error(status, err, "--port must be between 0 and 65535")
    status, _, err = run_cli("serve", bag_run, "--max-texts", "0")
    assert_one_line_error(status, err, "--max-texts must be at least 1")
