"""Hostile and damaged inputs (issue 13): devices, FIFOs and gzip bombs as data or vectors, predict's input lines,
fastText models that hold no vectors or are cut short, a stray quote, and mixed json/csv files."""

from __future__ import annotations

import csv
import gzip
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cli_helpers import assert_one_line_error, run_cli

from textcls.testing import write_text_corpus

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def text_run(small_run):
    """A small trained ``bag`` run and its corpus (the session's :func:`conftest.small_run`: only read here)."""
    return small_run


def _textcls(*argv, stdin: bytes = b"", env: dict | None = None) -> subprocess.CompletedProcess:
    """``python -m textcls ARGV`` in a child process fed ``stdin`` (bytes), one torch thread."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "textcls", *map(str, argv)], input=stdin, capture_output=True, env=env, timeout=300
    )


def _textcls_at_once(calls: list[tuple[tuple, dict]]) -> list[subprocess.CompletedProcess]:
    """:func:`_textcls` for every ``(argv, keywords)`` of ``calls``, as many at a time as there are cores (each child
    uses one): the results in ``calls``' order."""
    with ThreadPoolExecutor(max(2, len(os.sched_getaffinity(0)))) as pool:
        return list(pool.map(lambda call: _textcls(*call[0], **call[1]), calls))


# --- data and vectors paths must be regular files ------------------------------------------------------------------


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe.csv"
    os.mkfifo(path)  # nobody ever writes to it: opening it for reading would block forever
    return path


def test_a_device_or_fifo_as_the_data_file_is_one_line(tmp_path, fifo):
    for path in ("/dev/zero", fifo):
        status, _, err = run_cli("train", path, "--format", "csv", "--epochs", 1, "--output", tmp_path / "run")
        assert_one_line_error(status, err, str(path), "not a regular file")
        status, _, err = run_cli("inspect", path, "--format", "csv")
        assert_one_line_error(status, err, str(path), "not a regular file")
    assert not (tmp_path / "run").exists()


def test_a_device_or_fifo_as_vectors_is_one_line(tmp_path, fifo):
    corpus = write_text_corpus(tmp_path / "data", rows=(30, 9, 9))
    for path in ("/dev/zero", fifo):
        status, _, err = run_cli("inspect", corpus["train"], "--vectors", path)
        assert_one_line_error(status, err, str(path), "not a regular file", "vectors file")
        status, _, err = run_cli("vectors", "convert", path, tmp_path / "out.txt")
        assert_one_line_error(status, err, str(path), "not a regular file")


def test_a_gzip_bomb_stops_at_the_limit_and_names_how_to_raise_it(tmp_path):
    corpus = write_text_corpus(tmp_path / "data", rows=(30, 9, 9))
    bomb = tmp_path / "bomb.csv.gz"
    bomb.write_bytes(gzip.compress(Path(corpus["train"]).read_bytes() + b"\n" * 5_000_000))
    refused, read = _textcls_at_once(
        [(("inspect", bomb), {"env": {"TEXTCLS_MAX_DECOMPRESSED_BYTES": limit}}) for limit in ("1000000", "10000000")]
    )
    assert_one_line_error(refused.returncode, refused.stderr.decode(), "bomb.csv.gz", "TEXTCLS_MAX_DECOMPRESSED_BYTES")
    assert read.returncode == 0, read.stderr.decode()


# --- predict: one output line per input line, stdin in every form, undecodable input named -----------------------


STDIN_FORMS = [["-"], ["--json", "-"], ["--file", "-"], ["-", "--json"]]
STDIN_LINES = ["match goal team", "", "   ", "market profit"]
UNDECODABLE_STDIN = b"match goal\n\nmarket \xff\n"


@pytest.fixture(scope="module")
def stdin_predictions(text_run) -> dict:
    """``textcls predict RUN FORM`` fed :data:`STDIN_LINES` for every form of :data:`STDIN_FORMS` (keyed by the form
    joined with spaces), and ``predict RUN -`` fed :data:`UNDECODABLE_STDIN` (key ``"undecodable"``), each in its
    own child process, run side by side."""
    run, _ = text_run
    lines = ("\n".join(STDIN_LINES) + "\n").encode()
    calls = [(("predict", run, *form), {"stdin": lines}) for form in STDIN_FORMS]
    calls.append((("predict", run, "-"), {"stdin": UNDECODABLE_STDIN}))
    done = _textcls_at_once(calls)
    return {**{" ".join(form): result for form, result in zip(STDIN_FORMS, done)}, "undecodable": done[-1]}


@pytest.mark.parametrize("form", STDIN_FORMS)
def test_predict_reads_stdin_in_every_form_and_keeps_blank_lines(stdin_predictions, form):
    lines = STDIN_LINES
    done = stdin_predictions[" ".join(form)]
    err = done.stderr.decode()
    assert done.returncode == 0, err
    out = done.stdout.decode().splitlines()
    assert len(out) == len(lines), out
    if "--json" in form:
        assert [json.loads(line)["text"] for line in out] == lines
    else:
        assert [line.split("\t", 1)[1] for line in out] == lines
    warnings = [line for line in err.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 1 and "2 of 4 inputs empty or blank (number 2, 3)" in warnings[0], err


def test_predict_names_the_undecodable_line_of_a_file_and_of_stdin(text_run, stdin_predictions, tmp_path):
    run, _ = text_run
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"match goal\ncaf\xe9 market\n")
    status, out, err = run_cli("predict", run, "--file", bad)
    assert_one_line_error(status, err, f"{bad}:2:", "0xe9", "UTF-8")
    assert out == ""
    done = stdin_predictions["undecodable"]  # UNDECODABLE_STDIN: its third line is not UTF-8
    assert_one_line_error(done.returncode, done.stderr.decode(), "standard input:3:", "0xff", "UTF-8")
    assert done.stdout == b""


def test_predict_refuses_a_device_as_its_file_and_mixing_dash_with_texts(text_run):
    run, _ = text_run
    status, _, err = run_cli("predict", run, "--file", "/dev/zero")
    assert_one_line_error(status, err, "/dev/zero", "not a regular file", "--file -")
    status, _, err = run_cli("predict", run, "match goal", "-")
    assert_one_line_error(status, err, "'-'", "standard input")


# --- fastText .bin files that hold no vectors, or are cut short ----------------------------------------------------


def _skipgram_bin(path: Path) -> Path:
    from gensim.models import FastText
    from gensim.models.fasttext import save_facebook_model

    sentences = [["the", "match", "goal"], ["the", "market", "profit"]] * 10
    model = FastText(vector_size=4, min_count=1, epochs=1, seed=0, workers=1, bucket=100)
    model.build_vocab(corpus_iterable=sentences)
    model.train(corpus_iterable=sentences, total_examples=len(sentences), epochs=model.epochs)
    save_facebook_model(model, str(path))
    return path


def _supervised_bin(tmp_path: Path) -> Path:
    """A fastText classifier (``fasttext supervised``), made by fasttext itself or, without it, by patching the
    labels count of a vectors model's header (what gensim and textcls look at first)."""
    target = tmp_path / "classifier.bin"
    try:
        import fasttext
    except ImportError:
        raw = bytearray(_skipgram_bin(tmp_path / "skipgram.bin").read_bytes())
        raw[72:76] = (2).to_bytes(4, "little")  # after magic, version, 12 ints, a double: size, nwords, nlabels
        target.write_bytes(bytes(raw))
        return target
    train = tmp_path / "sup.txt"
    train.write_text("".join(f"__label__{'ab'[i % 2]} word{i % 2} other\n" for i in range(200)), encoding="utf-8")
    # fasttext-numpy2 ends some runs on so tiny a file in "Encountered NaN", at a rate that depends on the process
    # (measured: softmax 11-33 of 40, one-vs-all 2 of 30): draw again, up to 40 times (≈ 0.2 s each)
    for attempt in range(40):
        try:
            model = fasttext.train_supervised(str(train), dim=8, epoch=5, bucket=0, thread=1, verbose=0, loss="ova")
            break
        except RuntimeError:
            if attempt == 39:
                raise
    model.save_model(str(target))
    return target


def test_a_supervised_fasttext_model_as_vectors_is_one_line(tmp_path):
    corpus = write_text_corpus(tmp_path / "data", rows=(30, 9, 9))
    path = _supervised_bin(tmp_path)
    status, _, err = run_cli("inspect", corpus["train"], "--vectors", path)
    assert_one_line_error(status, err, "supervised fastText classifier", "not word vectors", ".vec")
    status, _, err = run_cli("vectors", "convert", path, tmp_path / "out.txt")
    assert_one_line_error(status, err, "supervised fastText classifier")


TRUNCATED_CUTS = [0.5, 0.05]


@pytest.fixture(scope="module")
def truncated_inspections(tmp_path_factory) -> dict:
    """``textcls inspect TRAIN --vectors CUT.bin`` for a skipgram ``.bin`` cut to half and to 5 % of its bytes (an
    interrupted download; 0.05 stops inside the header), each in its own child process, side by side; by cut."""
    folder = tmp_path_factory.mktemp("truncated")
    corpus = write_text_corpus(folder / "data", rows=(30, 9, 9))
    whole = _skipgram_bin(folder / "whole.bin").read_bytes()
    calls = []
    for cut in TRUNCATED_CUTS:
        path = folder / str(cut) / "cut.bin"
        path.parent.mkdir()
        path.write_bytes(whole[: int(len(whole) * cut)])
        calls.append((("inspect", corpus["train"], "--vectors", path), {}))
    return dict(zip(TRUNCATED_CUTS, _textcls_at_once(calls)))


@pytest.mark.parametrize("cut", TRUNCATED_CUTS)
def test_a_truncated_fasttext_model_is_one_line_not_a_hang(truncated_inspections, cut):
    done = truncated_inspections[cut]
    assert_one_line_error(done.returncode, done.stderr.decode(), "cut.bin", "truncated fastText model")


def test_a_damaged_fasttext_header_is_one_line(tmp_path):
    raw = bytearray(_skipgram_bin(tmp_path / "whole.bin").read_bytes())
    raw[8:12] = (-5).to_bytes(4, "little", signed=True)  # dim
    (tmp_path / "damaged.bin").write_bytes(bytes(raw))
    status, _, err = run_cli("vectors", "convert", tmp_path / "damaged.bin", tmp_path / "out.txt")
    assert_one_line_error(status, err, "damaged fastText model header")


# --- a stray quote swallowing rows ---------------------------------------------------------------------------------


def _stray_quote_corpus(tmp_path: Path) -> Path:
    """300 rows where row 100's text opens a quote that only a quote inside row 101's text closes."""
    corpus = write_text_corpus(tmp_path / "data", rows=(300, 9, 9))
    lines = Path(corpus["train"]).read_text(encoding="utf-8").split("\n")
    lines[100] = '"' + lines[100]
    lines[101] = lines[101].replace(" ", ' "quoted" ', 1)
    Path(corpus["train"]).write_text("\n".join(lines), encoding="utf-8")
    return Path(corpus["train"])


def test_an_unclosed_quote_is_named_with_its_line_and_the_fix_works(tmp_path, one_torch_thread):
    train = _stray_quote_corpus(tmp_path)
    status, _, err = run_cli("inspect", train)
    assert_one_line_error(status, err, f"{train}:101:", "closed only on line 102", "data.csv_reader_params.quoting=3")
    status, out, err = run_cli(
        "train", train, "--model", "bag", "--epochs", 1, "--valid-split", 0.1, "--output", tmp_path / "run",
        "--set", "data.csv_reader_params.quoting=3",
    )  # fmt: skip
    assert status == 0, err
    assert "train 270, valid 30 examples" in out, out  # every one of the 300 rows


def test_genuine_quoted_multiline_texts_are_kept(tmp_path):
    from textcls.data.readers import read_table

    path = tmp_path / "multi.csv"
    rows = [["text", "label"]] + [[f"plain text {i}", "ab"[i % 2]] for i in range(20)]
    rows += [["first line\nsecond line, with a comma\nlast", "a"], ["b", "label first\nthen a"]]
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    table = read_table(path, has_header=True)
    assert [row.values for row in table.rows[-2:]] == rows[-2:]


# --- each file's header follows its own format ---------------------------------------------------------------------


def test_a_jsonl_training_file_with_a_csv_validation_file_reads_its_header(tmp_path, one_torch_thread):
    corpus = write_text_corpus(tmp_path / "data", rows=(60, 30, 9))
    with open(corpus["train"], encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    status, out, err = run_cli(
        "train", train, "--valid", corpus["valid"], "--model", "bag", "--epochs", 1, "--output", tmp_path / "run"
    )
    assert status == 0, err
    assert "train 60, valid 30 examples" in out, out
