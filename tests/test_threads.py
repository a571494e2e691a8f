"""CPU threads (:mod:`textcls.threads`): the default rule, ``--threads`` on every command that computes and the
``threads:`` header line each prints, and ``compare-embeddings --jobs N`` giving the serial run's results."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from cli_helpers import assert_one_line_error, run_cli

from textcls import threads as threads_module
from textcls.testing import TOPICS, write_image_folder, write_text_corpus
from textcls.threads import available_cores, choose_threads, default_threads, local_processes, set_threads

FAST_TEXT = ["--model", "bag", "--epochs", "1", "--seed", "0", "--device", "cpu"]


@pytest.fixture(autouse=True)
def _keep_torch_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def cores(monkeypatch):
    """Pretend the process may run on ``n`` cores, with no OMP_NUM_THREADS nor torchrun."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)

    def pretend(n: int) -> None:
        monkeypatch.setattr(threads_module.os, "sched_getaffinity", lambda pid: set(range(n)), raising=False)

    return pretend


def test_the_default_is_the_cores_available_divided_by_the_local_processes(cores, monkeypatch):
    cores(4)
    assert (available_cores(), local_processes(), default_threads()) == (4, 1, 4)
    assert choose_threads(None) == (4, "threads: 4 (4 cores available; --threads N to change)")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")  # torchrun --nproc_per_node=2
    assert (local_processes(), default_threads(), default_threads(local=4)) == (2, 2, 1)
    assert choose_threads(None) == (
        2, "threads: 2 per process (4 cores available ÷ 2 local processes; --threads N to change)"
    )  # fmt: skip
    cores(3)
    assert default_threads() == 1 and default_threads(local=8) == 1  # never 0


def test_without_an_affinity_mask_the_cpu_count_is_used(cores, monkeypatch):
    monkeypatch.delattr(threads_module.os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(threads_module.os, "cpu_count", lambda: 6)
    assert available_cores() == 6


def test_threads_option_and_omp_num_threads_come_first_and_jobs_divide(cores, monkeypatch):
    cores(8)
    assert choose_threads(3) == (3, "threads: 3 (--threads 3)")
    assert choose_threads(4, divide_by=2) == (2, "threads: 2 per process × 2 processes (--threads 4)")
    assert choose_threads(None, divide_by=2)[0] == 4
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert choose_threads(None) == (1, "threads: 1 (OMP_NUM_THREADS=1; --threads N to change)")
    assert choose_threads(2)[0] == 2
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")  # torchrun set OMP_NUM_THREADS=1 itself: the cores decide
    assert choose_threads(None) == (
        4, "threads: 4 per process (8 cores available ÷ 2 local processes; --threads N to change)"
    )  # fmt: skip


def test_set_threads_sets_torch(cores):
    cores(2)
    assert set_threads(1) == "threads: 1 (--threads 1)" and torch.get_num_threads() == 1
    set_threads(None)
    assert torch.get_num_threads() == 2


def test_a_bad_omp_num_threads_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "many")
    status, _, err = run_cli("predict", tmp_path, "some text")
    assert_one_line_error(status, err, "OMP_NUM_THREADS='many'", "--threads N")


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("threads")
    corpus = write_text_corpus(folder / "data", rows=(90, 30, 30))
    status, out, err = run_cli("train", corpus["train"], "--valid", corpus["valid"], *FAST_TEXT, "--threads", 1,
                               "--output", folder / "run")  # fmt: skip
    assert status == 0, err
    return folder / "run", corpus, out


def test_train_prints_the_threads_line_first(text_run):
    _, _, out = text_run
    assert out.splitlines()[0] == "threads: 1 (--threads 1)"
    assert out.splitlines()[1].startswith("data: ")


def test_a_train_that_fails_before_its_header_prints_nothing_on_stdout(tmp_path):
    status, out, err = run_cli("train", tmp_path / "missing.csv", *FAST_TEXT, "--threads", 1)
    assert_one_line_error(status, err, "missing.csv")
    assert out == ""


def test_evaluate_and_predict_print_it_on_stderr_and_keep_stdout_for_results(text_run):
    run, corpus, _ = text_run
    status, out, err = run_cli("evaluate", run, corpus["test"], "--threads", 1)
    assert status == 0, err
    assert err.splitlines() == ["threads: 1 (--threads 1)"] and out.splitlines()[0].split() == ["examples", "30"]
    assert torch.get_num_threads() == 1
    status, out, err = run_cli("predict", run, "--json", "--threads", 1, "match goal")
    assert status == 0, err
    assert err.splitlines() == ["threads: 1 (--threads 1)"] and out.startswith('{"text": "match goal"')


def test_without_threads_the_commands_print_the_rule(text_run, cores):
    run, _, _ = text_run
    cores(2)
    status, _, err = run_cli("predict", run, "match goal")
    assert status == 0, err
    assert err.splitlines() == ["threads: 2 (2 cores available; --threads N to change)"]


@pytest.mark.parametrize("command", [["train", "x.csv"], ["evaluate", "r", "x.csv"], ["predict", "r", "text"],
                                     ["compare-embeddings", "x.csv", "--embeddings", "random"],
                                     ["image", "train", "--data", "d"], ["image", "evaluate", "r", "d"],
                                     ["image", "predict", "r", "x.png"]])  # fmt: skip
def test_threads_0_is_refused_in_one_line_by_every_command(command):
    status, _, err = run_cli(*command, "--threads", "0")
    assert_one_line_error(status, err, "--threads must be at least 1, not 0")


def test_jobs_0_is_refused_in_one_line():
    status, _, err = run_cli("compare-embeddings", "x.csv", "--embeddings", "random", "--jobs", "0")
    assert_one_line_error(status, err, "--jobs must be at least 1, not 0")


def test_image_commands_print_the_threads_line(tmp_path):
    data = write_image_folder(tmp_path / "images", per_class=(8, 3))
    status, out, err = run_cli("image", "train", "--data", data, "--model", "fashion-mlp", "--epochs", 1,
                               "--device", "cpu", "--threads", 1, "--output", tmp_path / "run")  # fmt: skip
    assert status == 0, err
    assert out.splitlines()[0] == "threads: 1 (--threads 1)"
    status, out, err = run_cli("image", "evaluate", tmp_path / "run", data, "--threads", 1)
    assert status == 0, err
    assert err.splitlines() == ["threads: 1 (--threads 1)"] and out.splitlines()[0].startswith("images ")
    image = next((data / "test" / "c0").iterdir())
    status, out, err = run_cli("image", "predict", tmp_path / "run", image, "--threads", 1)
    assert status == 0, err
    assert err.splitlines() == ["threads: 1 (--threads 1)"] and out.rstrip().endswith(str(image))


# --- compare-embeddings --jobs ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compare_inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compare-jobs")
    corpus = write_text_corpus(folder / "data", rows=(90, 30, 30))
    words = sorted({word for topic in TOPICS.values() for word in topic} | {"the", "a", "of", "on"})
    generator = torch.Generator().manual_seed(0)
    glove = folder / "glove.txt"
    glove.write_text("".join(w + " " + " ".join(f"{v:.4f}" for v in torch.randn(8, generator=generator).tolist())
                             + "\n" for w in words), encoding="utf-8")  # fmt: skip
    args = [corpus["train"], "--valid", corpus["valid"], "--test", corpus["test"], "--model", "bag",
            "--embeddings", f"random,glove:{glove}", "--seeds", 2, "--epochs", 2, "--device", "cpu"]  # fmt: skip
    return folder, args


def _tables(output):
    ignored = ["seconds", "run_dir"]  # wall time, and the folder each comparison was written in
    summary = pd.read_csv(output / "summary.csv").drop(columns=["seconds"])
    runs = pd.read_csv(output / "runs.csv").drop(columns=ignored)
    return summary, runs, sorted(path.name for path in (output / "runs").iterdir())


def test_jobs_2_gives_the_serial_comparison(compare_inputs):
    folder, args = compare_inputs
    status, serial_out, err = run_cli("compare-embeddings", *args, "--threads", 1, "--jobs", 1,
                                      "--output", folder / "serial")  # fmt: skip
    assert status == 0, err
    status, out, err = run_cli("compare-embeddings", *args, "--threads", 2, "--jobs", 2,
                               "--output", folder / "parallel")  # fmt: skip
    assert status == 0, err
    assert serial_out.splitlines()[0] == "threads: 1 (--threads 1)"
    assert out.splitlines()[0] == "threads: 1 per process × 2 processes (--threads 2)"
    assert "compare: 4 runs, 2 at a time (1 thread each)" in out and out.count(" done (") == 4
    serial, parallel = _tables(folder / "serial"), _tables(folder / "parallel")
    pd.testing.assert_frame_equal(serial[0], parallel[0], check_exact=True)  # every accuracy, F1 and coverage
    pd.testing.assert_frame_equal(serial[1], parallel[1], check_exact=True)
    assert serial[2] == parallel[2] and len(serial[2]) == 4  # the same run directories
    logs = sorted(path.name for path in (folder / "parallel" / "logs").iterdir())
    assert logs == [name + ".log" for name in parallel[2]]
    assert "data: train 90" in (folder / "parallel" / "logs" / logs[0]).read_text()


def test_jobs_2_reads_back_finished_runs_and_trains_the_missing_one(compare_inputs):
    folder, args = compare_inputs
    output = folder / "parallel"
    before = pd.read_csv(output / "runs.csv")
    removed = sorted((output / "runs").iterdir())[-1]
    (removed / "metrics.json").unlink()  # stopped before it finished: it resumes from its last checkpoint
    status, out, err = run_cli("compare-embeddings", *args, "--threads", 2, "--jobs", 2, "--output", output)
    assert status == 0, err
    assert out.count("finished earlier") == 3 and "compare: 1 run, 1 at a time (1 thread each)" in out
    after = pd.read_csv(output / "runs.csv")
    assert list(after["accuracy"]) == list(before["accuracy"])


def test_a_failing_worker_run_is_one_line(compare_inputs, tmp_path):
    _, args = compare_inputs
    output = tmp_path / "cmp"
    (output / "runs").mkdir(parents=True)
    (output / "runs" / "random-seed1").write_text("in the way")  # the run directory cannot be made
    status, _, err = run_cli("compare-embeddings", *args[:8], "random", "--seeds", 2, "--epochs", 1, "--device",
                             "cpu", "--threads", 2, "--jobs", 2, "--output", output)  # fmt: skip
    assert_one_line_error(status, err, "compare: random, seed 1", "is a file, not a directory")
