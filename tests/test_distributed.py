"""Data-parallel training with torchrun on CPU (gloo), 2 processes: the real launcher, process group and DDP.

Each check starts ``python -m torch.distributed.run --standalone --nproc_per_node=2`` as a user would: a user's
own Trainer script (``tests/distributed/trainer_script.py``), ``-m textcls train`` and ``-m textcls image train``.
The one-process runs they are compared with, and the one-line errors of a single process, run in the test process.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from cli_helpers import assert_one_line_error, run_cli

from textcls.distributed import Distributed, Handoff, shard_batches, timeout_seconds
from textcls.errors import TextclsError
from textcls.testing import write_text_corpus

SCRIPT = Path(__file__).parent / "distributed" / "trainer_script.py"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "TEXTCLS_DIST_TIMEOUT": "60"}


def torchrun(args: list[str], cwd: Path, processes: int = 2, timeout: int = 240) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
    result = subprocess.run(command + args, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def one_process(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable] + args, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    write_text_corpus(folder, rows=(300, 60, 60))
    return folder


@pytest.fixture(scope="module")
def script_folder(corpus, tmp_path_factory) -> Path:
    """The Trainer script run by 2 processes (one launch: ``lstm`` with no dropout and ``bag`` with sparse gradients,
    with early stopping (patience 1) and a plateau schedule, then the ``resume`` mode) and, for ``lstm`` and ``bag``,
    by this process alone (the same script's ``main``, not in any process group)."""
    folder = tmp_path_factory.mktemp("script")
    torchrun([str(SCRIPT), str(corpus), str(folder / "two"), "lstm,bag,resume:3", "6"], folder)
    threads = torch.get_num_threads()
    try:
        _load_script().main([str(corpus), str(folder / "one"), "lstm,bag", "6"])
    finally:
        torch.set_num_threads(threads)
    return folder


def _load_script():
    spec = importlib.util.spec_from_file_location("trainer_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(params=["lstm", "bag"])
def script_runs(request, script_folder):
    def read(name: str, rank: int):
        folder = script_folder / name / request.param
        info = json.loads((folder / f"rank{rank}.json").read_text())
        return info, torch.load(folder / f"rank{rank}.pt", weights_only=True)

    return {"two": [read("two", 0), read("two", 1)], "one": read("one", 0)}


def test_shards_of_an_epoch_are_disjoint_and_cover_the_training_data(script_runs):
    (info0, _), (info1, _) = script_runs["two"]
    for epoch in range(2):
        part0 = [i for batch in info0["shards"][epoch] for i in batch]
        part1 = [i for batch in info1["shards"][epoch] for i in batch]
        assert not set(part0) & set(part1)
        assert sorted(part0 + part1) == list(range(info0["train_size"]))
        assert len(info0["shards"][epoch]) == len(info1["shards"][epoch])  # the same number of steps
    assert info0["shards"][0] != info0["shards"][1]  # re-shuffled with the epoch
    assert all(sum(row["examples_per_rank"]) == info0["train_size"] for row in info0["history"])


def test_every_rank_makes_the_same_early_stopping_and_schedule_decisions(script_runs):
    (info0, _), (info1, _) = script_runs["two"]
    assert len(info0["history"]) == len(info1["history"])  # stopped after the same epoch
    assert [row["lr"] for row in info0["history"]] == [row["lr"] for row in info1["history"]]
    assert [row["valid"] for row in info0["history"]] == [row["valid"] for row in info1["history"]]


def test_weights_are_identical_on_every_rank(script_runs):
    (_, weights0), (_, weights1) = script_runs["two"]
    assert weights0.keys() == weights1.keys()
    for name in weights0:
        assert torch.equal(weights0[name], weights1[name]), name


def test_two_processes_follow_the_one_process_run_on_the_same_global_batches(script_runs):
    (two, weights), _ = script_runs["two"]
    one, single = script_runs["one"]
    assert two["world_size"] == 2 and one["world_size"] == 1
    for row2, row1 in zip(two["history"], one["history"], strict=True):
        assert row2["train"]["loss"] == pytest.approx(row1["train"]["loss"], rel=1e-4, abs=1e-6)
        assert row2["valid"]["loss"] == pytest.approx(row1["valid"]["loss"], rel=1e-4, abs=1e-6)
        assert row2["valid"]["accuracy"] == row1["valid"]["accuracy"]
    for name in weights:
        assert torch.allclose(weights[name].float(), single[name].float(), rtol=1e-3, atol=1e-3), name  # float sums
        # are added in another order (sparse adagrad amplifies that on rarely seen rows)


def test_a_resumed_run_with_dropout_average_and_a_thawed_embedding_is_exact_on_every_rank(script_folder):
    weights = [torch.load(script_folder / "two" / "resume" / f"rank{rank}.pt", weights_only=True) for rank in (0, 1)]
    for rank in weights:
        for name, tensor in rank["straight"].items():
            assert torch.equal(tensor, rank["resumed"][name]), name  # each rank's random state came back
    for name, tensor in weights[0]["resumed"].items():  # the embedding thawed after epoch 1 was synchronised too
        assert torch.equal(tensor, weights[1]["resumed"][name]), name


def test_train_text_from_a_users_torchrun_script(script_folder):
    results = [json.loads((script_folder / "two" / "resume" / f"api-rank{rank}.json").read_text()) for rank in (0, 1)]
    for key in ("test", "valid", "best_epoch", "world_size"):  # every rank returns the same metrics
        assert results[0].get(key) == results[1].get(key), key
    for row0, row1 in zip(results[0]["history"], results[1]["history"], strict=True):
        assert (row0["train"], row0["valid"], row0["lr"]) == (row1["train"], row1["valid"], row1["lr"])
    assert results[0]["world_size"] == 2 and results[0]["test"]["examples"] == 60
    written = json.loads((script_folder / "two" / "api-run" / "metrics.json").read_text())
    assert written["test"]["accuracy"] == results[0]["test"]["accuracy"]


def test_cli_writes_one_run_directory_and_a_resumed_run_finishes_like_an_uninterrupted_one(
    corpus, tmp_path, one_torch_thread
):
    """The multi-node command of the README, with both "nodes" (one process each) on this machine, writes one run
    directory (the global rank 0's); ``torchrun --standalone --nproc_per_node=2 ... --resume`` continues it to the
    end an uninterrupted one-process run reaches, and one process may not resume it."""
    base = ["train", str(corpus / "train.csv"), "--valid", str(corpus / "valid.csv"), "--test",
            str(corpus / "test.csv"), "--model", "lstm", "--set", "model_options.dropout=0",
            "--set", "model_options.embedding_dropout=0", "--threads", "1"]  # fmt: skip
    runs = tmp_path / "runs"
    port = _free_port()
    nodes = []
    for node, output in ((0, runs / "two"), (1, runs / "node1")):
        command = [sys.executable, "-m", "torch.distributed.run", "--nnodes=2", f"--node_rank={node}",
                   "--nproc_per_node=1", "--master_addr=127.0.0.1", f"--master_port={port}", "-m", "textcls",
                   *base, "--epochs", "2", "--output", str(output)]  # fmt: skip
        nodes.append(subprocess.Popen(command, cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True))  # fmt: skip
    outputs = [node.communicate(timeout=240) for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], outputs
    first = outputs[0][0]
    assert first.count("epoch  1/2") == 1 and "epoch" not in outputs[1][0]  # rank 0 alone prints
    assert "distributed: 2 processes (gloo)" in first
    assert sorted(p.name for p in runs.iterdir()) == ["two"]  # one run directory, no rank's leftovers
    metrics = json.loads((runs / "two" / "metrics.json").read_text())
    assert metrics["world_size"] == 2
    assert all(sum(row["examples_per_rank"]) == 300 and len(row["examples_per_rank"]) == 2
               for row in metrics["history"])  # fmt: skip
    resumed = torchrun(["-m", "textcls", "train", "--resume", str(runs / "two"), "--epochs", "3"], tmp_path)
    assert resumed.stdout.count("epoch  3/3") == 1 and "epoch  1/3" not in resumed.stdout  # rank 0 alone prints
    assert "distributed: 2 processes (gloo)" in resumed.stdout
    status, _, err = run_cli("train", "--resume", runs / "two", "--epochs", "4")  # one process, this one
    assert_one_line_error(
        status, err, "was written by 2 processes; resume it with as many (torchrun --nproc_per_node=2), not 1"
    )
    status, _, err = run_cli(*base, "--epochs", "3", "--output", tmp_path / "one")
    assert status == 0, err
    history = json.loads((runs / "two" / "metrics.json").read_text())["history"]
    straight = json.loads((tmp_path / "one" / "metrics.json").read_text())["history"]
    assert len(history) == len(straight) == 3
    for row, expected in zip(history, straight):
        assert row["train"]["loss"] == pytest.approx(expected["train"]["loss"], rel=1e-4)
        assert row["valid"]["loss"] == pytest.approx(expected["valid"]["loss"], rel=1e-4)


def test_image_training_with_two_processes(digits, tmp_path):
    run = tmp_path / "lenet"
    result = torchrun(["-m", "textcls", "image", "train", "--model", "lenet", "--data", str(digits), "--epochs", "1",
                       "--threads", "1", "--output", str(run)], tmp_path)  # fmt: skip
    assert result.stdout.count("epoch  1/1") == 1
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["world_size"] == 2
    seen = metrics["history"][0]["examples_per_rank"]
    assert len(seen) == 2 and abs(seen[0] - seen[1]) <= len(metrics["history"]) * 1 + 16
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lenet"]
    assert (run / "model.pt").exists() and metrics["valid"]["accuracy"] > 0


def _rank_pid(launcher: int, rank: int) -> int | None:
    listing = subprocess.run(["ps", "-o", "pid=", "--ppid", str(launcher)], capture_output=True, text=True).stdout
    for pid in map(int, listing.split()):
        try:
            environment = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"RANK={rank}".encode() in environment:
            return pid
    return None


def test_a_killed_rank_ends_the_others_with_one_clear_line(corpus, tmp_path):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "textcls",
               "train", str(corpus / "train.csv"), "--valid", str(corpus / "valid.csv"), "--model", "lstm",
               "--epochs", "500", "--threads", "1", "--output", str(tmp_path / "run")]  # fmt: skip
    launcher = subprocess.Popen(command, cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)  # fmt: skip
    try:
        for line in launcher.stdout:
            if line.startswith("epoch  2/"):
                break
        victim = _rank_pid(launcher.pid, 1)
        assert victim is not None
        os.kill(victim, signal.SIGKILL)
        killed = time.monotonic()
        rest = launcher.stdout.read()
        launcher.wait(timeout=90)
    finally:
        launcher.kill()
    assert time.monotonic() - killed < 90
    assert launcher.returncode != 0
    lines = [line for line in rest.splitlines() if line.startswith("textcls: ")]
    assert len(lines) == 1, rest[-3000:]
    assert "lost contact with the others" in lines[0] or "interrupted" in lines[0], lines
    assert (tmp_path / "run" / "checkpoints" / "last.pt").exists()  # the finished epochs are kept


def test_a_hung_rank_ends_the_run_after_the_timeout(corpus, tmp_path):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "textcls",
               "train", str(corpus / "train.csv"), "--valid", str(corpus / "valid.csv"), "--model", "lstm",
               "--epochs", "500", "--threads", "1", "--output", str(tmp_path / "run")]  # fmt: skip
    env = {**ENV, "TEXTCLS_DIST_TIMEOUT": "5"}
    launcher = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)  # fmt: skip
    victim = None
    try:
        for line in launcher.stdout:
            if line.startswith("epoch  2/"):
                break
        victim = _rank_pid(launcher.pid, 1)
        os.kill(victim, signal.SIGSTOP)  # alive but silent: only the timeout can tell
        stopped = time.monotonic()
        rest = ""
        for line in launcher.stdout:
            rest += line
            if line.startswith("textcls: "):
                waited = time.monotonic() - stopped
                os.kill(victim, signal.SIGCONT)  # so that torchrun's SIGTERM can end it
                break
        rest += launcher.stdout.read()
        launcher.wait(timeout=120)
    finally:
        if victim is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        launcher.kill()
    assert 4 < waited < 60
    lines = [line for line in rest.splitlines() if line.startswith("textcls: ")]
    assert "lost contact with the others (Timed out" in lines[0], rest[-3000:]  # rank 0's reason comes first
    assert "TEXTCLS_DIST_TIMEOUT=5 s" in lines[0]
    assert len(lines) <= 2  # then, at most, the woken rank's own line as torchrun stops it


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- the pieces, in one process ----------------------------------------------------------------------------------
def test_single_process_helpers_talk_to_nobody():
    single = Distributed()
    assert not single.enabled and single.is_main
    assert single.sum([1.0, 2.0]) == [1.0, 2.0]
    assert single.gather("x") == ["x"]
    assert single.broadcast(3) == 3
    with Handoff(single) as handoff:
        handoff.send("setup")


def test_timeout_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("TEXTCLS_DIST_TIMEOUT", "12")
    assert timeout_seconds() == 12
    monkeypatch.setenv("TEXTCLS_DIST_TIMEOUT", "soon")
    with pytest.raises(TextclsError, match="TEXTCLS_DIST_TIMEOUT='soon'"):
        timeout_seconds()


def test_world_size_without_torchrun_is_one_line(corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    for name in ("RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    status, _, err = run_cli("train", corpus / "train.csv", "--model", "bag", "--output", tmp_path / "run")
    assert status == 2
    assert err.strip().splitlines() == [
        "textcls: error: WORLD_SIZE is set but RANK, MASTER_ADDR, MASTER_PORT is not: start several processes with "
        "torchrun (torchrun --nproc_per_node=N -m textcls train ...), or unset WORLD_SIZE"
    ]


def test_a_failed_start_on_rank_0_stops_the_others_at_once(corpus, tmp_path):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "textcls",
               "train", str(corpus / "train.csv"), "--model", "bag", "--output", str(taken)]  # fmt: skip
    started = time.monotonic()
    result = subprocess.run(command, cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=240)
    assert time.monotonic() - started < 50  # not the 60 s collective timeout: rank 1 was told
    assert result.returncode != 0
    assert f"textcls: error: --output {taken} is not empty" in result.stderr
    assert "textcls: error: rank 0 stopped before training: --output" in result.stderr
    assert (taken / "notes.txt").read_text() == "mine"


def test_densify_sparse_embeddings_for_nccl():
    from textcls.models.registry import get_model
    from textcls.training.optim import has_sparse_gradients
    from textcls.training.trainer import densify_sparse_embeddings

    model = get_model("bag", vocab_size=50, num_outputs=3)
    assert has_sparse_gradients(model)
    assert densify_sparse_embeddings(model)
    assert not has_sparse_gradients(model)


def test_shard_batches_needs_an_example_per_rank():
    assert shard_batches([[0, 1, 2]], 1, 2) == [[1]]
    with pytest.raises(TextclsError, match="2 examples cannot be shared by 3 processes"):
        shard_batches([[0], [1]], 0, 3)
