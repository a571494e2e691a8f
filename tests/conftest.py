"""Shared pytest fixtures.

Real data: ``../shared/data`` next to the repository root, or the folder that the environment variable
``TEXTCLS_SHARED_DATA`` names (``TEXTCLS_SHARED_DATA=/nonexistent pytest`` runs the suite as a fresh clone elsewhere
would). Tests that need it take the ``shared_data`` fixture and are marked ``@pytest.mark.data``; they skip where the
folder is absent.
"""

import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from generated import write_digits_idx, write_news_corpus

# the suite's commands run with one torch thread unless a test asks for more (textcls.threads honours it): tiny models
# train fastest so, and the tests do not fight each other's processes on a shared machine
os.environ.setdefault("OMP_NUM_THREADS", "1")

SHARED_DATA = Path(
    os.environ.get("TEXTCLS_SHARED_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data"
)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` next to the repository root; tests that need it are skipped where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data directory not found: {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def one_torch_thread():
    """Tiny models train fastest on one thread (and do not fight other processes on a shared machine)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def generated(tmp_path_factory) -> SimpleNamespace:
    """The generated news corpus and vectors of :func:`write_news_corpus` (``ag_news``, ``book``, ``glove``)."""
    return write_news_corpus(tmp_path_factory.mktemp("generated"))


@pytest.fixture(scope="session")
def digits(tmp_path_factory) -> Path:
    """An MNIST-like IDX directory of 1,500 generated digits (:func:`write_digits_idx`)."""
    return write_digits_idx(tmp_path_factory.mktemp("digits"))


@pytest.fixture(scope="session")
def few_digits(tmp_path_factory) -> Path:
    """An MNIST-like IDX directory of 300 generated digits, for the tests that train several runs on it."""
    return write_digits_idx(tmp_path_factory.mktemp("few-digits"), count=300)


def pytest_collection_modifyitems(items):
    """Every test that takes ``shared_data`` is marked ``data`` (``-m "not data"`` leaves them out)."""
    for item in items:
        if "shared_data" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.data)


@pytest.fixture(scope="session")
def small_run(tmp_path_factory):
    """``(run directory, corpus paths)`` of a one-epoch ``bag`` run on a small generated corpus
    (:func:`cli_helpers.train_small_run`), shared by the tests that only read it."""
    from cli_helpers import train_small_run

    return train_small_run(tmp_path_factory.mktemp("small-run"))
