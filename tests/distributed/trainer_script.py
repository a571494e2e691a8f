"""A user's own training script on textcls's Trainer, run by the distributed tests once with ``torchrun
--nproc_per_node=2`` and once as one process: each rank saves its history, shard indices and final weights.

Usage: python trainer_script.py CORPUS_DIR OUT_DIR MODEL [EPOCHS]
"""

import json
import sys
from pathlib import Path

import torch

from textcls import distributed
from textcls.config import TextRunConfig
from textcls.jobs.rundir import build_model
from textcls.jobs.train import TextData
from textcls.training.task import Task
from textcls.training.trainer import Trainer, TrainerConfig, seed_everything

corpus, out, model_name = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
epochs = int(sys.argv[4]) if len(sys.argv) > 4 else 3
torch.set_num_threads(1)
with distributed.process_group("cpu") as group:
    seed_everything(0)
    options = {"dropout": 0.0, "embedding_dropout": 0.0} if model_name != "bag" else {}
    optimizer = {"optimizer": "adagrad", "lr": 0.5} if model_name == "bag" else {"lr": 0.01}
    config = TextRunConfig.from_dict(
        {
            "model": model_name,
            "files": {"train": str(corpus / "train.csv"), "valid": str(corpus / "valid.csv")},
            "data": {"batch_size": 16},
            "model_options": options,
            "training": {"epochs": epochs, "device": "cpu", "progress": False, **optimizer},
        }
    )
    data = TextData(config)
    data.build_vocab(config.data)
    task = Task.from_labels(data.label_field.vocab.itos)
    model = build_model(config.to_dict(), data.text_field, task)
    train = data.batches(data.train, config.data, True, seed=0)
    valid = data.batches(data.valid, config.data, False)
    trainer = Trainer(
        model, task, TrainerConfig.from_dict(config.to_dict()["training"]), tensorboard=False, distributed=group
    )
    shards = []
    for epoch in range(2):
        part = trainer._shard(train)
        part.set_epoch(epoch)
        shards.append([list(map(int, indices)) for indices in part.sampler])
    history = trainer.fit(train, valid)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"rank{group.rank}.json").write_text(
        json.dumps(
            {
                "world_size": group.world_size,
                "history": history,
                "shards": shards,
                "train_size": len(data.train),
                "valid": trainer.evaluate(valid)["accuracy"],
            }
        )
    )
    torch.save(trainer.model.state_dict(), out / f"rank{group.rank}.pt")
