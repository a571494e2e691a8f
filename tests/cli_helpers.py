"""Running ``textcls`` in-process from tests, and checking its one-line errors."""

from __future__ import annotations

import contextlib
import gzip
import io
import itertools
import traceback
from pathlib import Path

from textcls.cli import main


def run_cli(*argv) -> tuple[int, str, str]:
    """``textcls ARGV`` in this process: (exit status, stdout, stderr), as ``python -m textcls`` would end — an
    exception that escapes ``main`` prints its traceback and gives status 1."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse errors
            status = exc.code
        except Exception:
            traceback.print_exc()
            status = 1
    return status, out.getvalue(), err.getvalue()


def assert_one_line_error(status: int, err: str, *fragments: str) -> str:
    """Exit status 2, exactly one ``textcls: error:`` line (the last one), no traceback; returns the message."""
    lines = err.strip().splitlines()
    errors = [line for line in lines if line.startswith("textcls: error:")]
    assert status == 2, err
    assert "Traceback" not in err, err
    assert len(errors) == 1 and lines[-1] == errors[0], err
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


def head(source: Path, target: Path, lines: int) -> Path:
    """The first ``lines`` lines of a gzipped file, as a plain file."""
    with gzip.open(source, "rt", encoding="utf-8") as handle:
        target.write_text("".join(itertools.islice(handle, lines)), encoding="utf-8")
    return target


def train_small_run(folder: Path, model: str = "bag") -> tuple[Path, dict]:
    """Train a one-epoch ``model`` run on a small generated corpus in ``folder`` (one torch thread); returns
    ``(run directory, corpus paths)``."""
    import torch

    from textcls.testing import write_text_corpus

    corpus = write_text_corpus(folder / "data", rows=(120, 30, 30))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        status, _, err = run_cli(
            "train", corpus["train"], "--valid", corpus["valid"], "--model", model, "--epochs", 1,
            "--output", folder / "run",
        )  # fmt: skip
    finally:
        torch.set_num_threads(threads)
    assert status == 0, err
    return folder / "run", corpus
