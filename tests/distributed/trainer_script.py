"""A user's own training script on textcls's Trainer, run by the distributed tests with ``torchrun
--nproc_per_node=2`` and as one process; each rank saves what it saw and its final weights.

Usage::

    python trainer_script.py CORPUS_DIR OUT_DIR MODEL[,MODEL...] EPOCHS   # OUT_DIR/MODEL/rank*.{json,pt}
    python trainer_script.py CORPUS_DIR OUT_DIR resume EPOCHS             # OUT_DIR/resume/rank*.pt

A name may carry its own epochs (``NAME:EPOCHS``) and ``resume`` may be one of several names: ``lstm,bag,resume:3 6``
trains both models 6 epochs, then runs the ``resume`` mode with 3, in one launch. The ``resume`` mode trains an
``lstm`` with dropout, a moving average and an embedding frozen for the first epoch twice: straight through, and
stopped after EPOCHS - 1 epochs then resumed from ``last.pt`` in a new Trainer; it saves both final weights. Then
every rank calls ``train_text`` (the whole job) into ``OUT_DIR/api-run`` and saves what it returned as
``OUT_DIR/resume/api-rank*.json``.
"""

import json
import sys
from pathlib import Path

import torch

from textcls import distributed
from textcls.config import TextRunConfig, resolve
from textcls.jobs.rundir import build_model, model_callbacks
from textcls.jobs.train import TextData, train_text
from textcls.training.task import Task
from textcls.training.trainer import Trainer, TrainerConfig, seed_everything


def setup(corpus: Path, model_name: str, epochs: int, options: dict, training: dict):
    seed_everything(0)
    config = TextRunConfig.from_dict(
        {
            "model": model_name,
            "files": {"train": str(corpus / "train.csv"), "valid": str(corpus / "valid.csv")},
            "data": {"batch_size": 16},
            "model_options": options,
            "training": {"epochs": epochs, "device": "cpu", "progress": False, **training},
        }
    )
    data = TextData(config)
    data.build_vocab(config.data)
    task = Task.from_labels(data.label_field.vocab.itos)
    model = build_model(config.to_dict(), data.text_field, task)
    train = data.batches(data.train, config.data, True, seed=0)
    valid = data.batches(data.valid, config.data, False)
    return config, data, task, model, train, valid


def trainer_for(config, task, model, group, run_dir=None, epochs=None) -> Trainer:
    settings = config.to_dict()["training"]
    if epochs is not None:
        settings["epochs"] = epochs
    return Trainer(model, task, TrainerConfig.from_dict(settings), run_dir=run_dir, tensorboard=False,
                   callbacks=model_callbacks(model), distributed=group)  # fmt: skip


def compare_models(corpus: Path, out_root: Path, names: list[str], epochs: int, group) -> None:
    for model_name in names:
        out = out_root / model_name
        options = {} if model_name == "bag" else {"dropout": 0.0, "embedding_dropout": 0.0}
        optimizer = {"optimizer": "adagrad", "lr": 0.5} if model_name == "bag" else {"lr": 0.01}
        training = {"patience": 1, "scheduler": "plateau", **optimizer}
        config, data, task, model, train, valid = setup(corpus, model_name, epochs, options, training)
        trainer = trainer_for(config, task, model, group)
        shards = []
        for epoch in range(2):
            part = train.shard(group.rank, group.world_size)
            part.set_epoch(epoch)
            shards.append([list(map(int, indices)) for indices in part.sampler])
        history = trainer.fit(train, valid)
        info = {"world_size": group.world_size, "history": history, "shards": shards, "train_size": len(data.train)}
        out.mkdir(parents=True, exist_ok=True)
        (out / f"rank{group.rank}.json").write_text(json.dumps(info))
        torch.save(trainer.model.state_dict(), out / f"rank{group.rank}.pt")


def resume_twice(corpus: Path, out_root: Path, epochs: int, group) -> None:
    out = out_root / "resume"
    options = {"dropout": 0.3, "freeze_epochs": 1}
    training = {"ema_decay": 0.9, "patience": 0, "lr": 0.01}
    config, _, task, model, train, valid = setup(corpus, "lstm", epochs, options, training)
    straight = trainer_for(config, task, model, group)
    straight.fit(train, valid)
    config, _, task, model, train, valid = setup(corpus, "lstm", epochs, options, training)
    run_dir = out / "run"
    trainer_for(config, task, model, group, run_dir=run_dir, epochs=epochs - 1).fit(train, valid)
    config, _, task, model, train, valid = setup(corpus, "lstm", epochs, options, training)
    resumed = trainer_for(config, task, model, group, run_dir=run_dir)
    resumed.resume(run_dir / "checkpoints" / "last.pt")
    resumed.fit(train, valid)
    torch.save({"straight": straight.model.state_dict(), "resumed": resumed.model.state_dict()},
               out / f"rank{group.rank}.pt")  # fmt: skip


def main(argv: list[str]) -> None:
    """``CORPUS_DIR OUT_DIR MODEL[,MODEL...] EPOCHS`` (see the module's docstring), on one torch thread; also called
    in the test process itself for the one-process run."""
    corpus, out_root, epochs = Path(argv[0]), Path(argv[1]), int(argv[3])
    names = {}  # name -> its epochs
    for item in argv[2].split(","):
        name, _, own = item.partition(":")
        names[name] = int(own or epochs)
    torch.set_num_threads(1)
    with distributed.process_group("cpu") as group:
        out_root.mkdir(parents=True, exist_ok=True)
        for name, name_epochs in names.items():
            if name != "resume":
                compare_models(corpus, out_root, [name], name_epochs, group)
        if "resume" in names:
            (out_root / "resume").mkdir(exist_ok=True)
            resume_twice(corpus, out_root, names["resume"], group)
            files = {"train": str(corpus / "train.csv"), "test": str(corpus / "test.csv")}
            config = resolve("bag", None, [{"files": files, "training": {"epochs": 2, "progress": False}}])
            result = train_text(config, out_root / "api-run")
            (out_root / "resume" / f"api-rank{group.rank}.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
