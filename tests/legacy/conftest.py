"""Fixtures for the legacy download tests: downloads allowed (to 127.0.0.1 only) and a local HTTP server."""

import http.server
import threading

import pytest

from textcls.data.download import OFFLINE_ENV


@pytest.fixture(autouse=True)
def network_allowed(monkeypatch):
    """Downloads are allowed here (they only reach 127.0.0.1); tests that need offline mode set it."""
    monkeypatch.delenv(OFFLINE_ENV, raising=False)


@pytest.fixture
def server():
    """A local HTTP server: ``server.files[path] = bytes`` serves them; ``server.url(path)`` is their URL."""
    files = {}
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            hits.append(self.path)
            body = files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            if isinstance(body, tuple):  # (claimed length, bytes): a transfer cut short
                length, body = body
            else:
                length = len(body)
            self.send_response(200)
            self.send_header("Content-Length", str(length))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    httpd.files, httpd.hits = files, hits
    httpd.url = lambda path: f"http://127.0.0.1:{httpd.server_address[1]}{path}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()
