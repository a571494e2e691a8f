"""The text training job behind ``textcls train``: file → fields/vocab/vectors → model → trainer → run dir."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from textcls.data.columns import choose_columns, read_dataset
from textcls.data.fields import Field, LabelField, MultiLabelField
from textcls.data.loader import TextBatches
from textcls.errors import TextclsError
from textcls.jobs.rundir import TextRunDir, build_model, model_callbacks
from textcls.runs.plots import plot_confusion, plot_learning_curves
from textcls.training.task import Task
from textcls.training.trainer import Trainer, TrainerConfig, seed_everything
from textcls.vocab import Vocab

log = logging.getLogger("textcls")

READ_KEYS = ("extra_fields", "merge_sep", "bad_rows", "encoding")


def make_fields(data: dict) -> tuple[Field, Field]:
    """The text and label fields a config's ``data`` section describes."""
    text = Field(
        tokenize=data.get("tokenizer", "basic_english"),
        lower=bool(data.get("lower", False)),
        batch_first=True,
        include_lengths=True,
    )
    if data.get("multilabel"):
        label = MultiLabelField(separator=data.get("label_sep") or "|")
    else:
        label = LabelField()
    return text, label


def read_options(data: dict) -> dict:
    return {key: data[key] for key in READ_KEYS if data.get(key) is not None}


class TextData:
    """The datasets, fields and column choice of a text run.

    Args:
        config: the resolved config (``files`` and ``data`` sections).
        text_field, label_field: fields to read with (their vocabularies are built here unless given).
        choice: a saved column choice (``None``: detect from the training file).
    """

    def __init__(self, config: dict, text_field=None, label_field=None, choice=None):
        files, data = config["files"], config["data"]
        self.text_field, self.label_field = (text_field, label_field) if text_field else make_fields(data)
        options = read_options(data)
        self.choice = choice or choose_columns(
            files["train"], data.get("text_col"), data.get("label_col"), data.get("columns"),
            bool(data.get("no_header")), data.get("format"), multilabel=bool(data.get("multilabel")),
            encoding=data.get("encoding", "utf-8"),
        )  # fmt: skip
        read = lambda path: read_dataset(  # noqa: E731
            path, self.choice, self.text_field, self.label_field, format=data.get("format"), **options
        )
        self.train = read(files["train"])
        seed = int(data.get("split_seed", config["training"].get("seed", 0)))  # which rows become validation
        if files.get("valid"):
            self.valid = read(files["valid"])
        else:
            share = float(data.get("valid_split") or 0)
            if share <= 0:
                self.valid = None
            else:
                multilabel = bool(data.get("multilabel"))
                parts = self.train.split(1 - share, stratified=not multilabel, strata_field="label", random_state=seed)
                if len(parts) < 2:
                    raise TextclsError(
                        f"the validation split is empty: {len(self.train)} examples × {share} rounds to 0; give "
                        "--valid FILE or a larger --valid-split"
                    )
                self.train, self.valid = parts
        self.test = read(files["test"]) if files.get("test") else None

    def build_vocab(self, data: dict) -> None:
        self.text_field.build_vocab(self.train, min_freq=int(data.get("min_freq") or 1), max_size=data.get("max_size"))
        self.label_field.build_vocab(self.train)
        known = set(self.label_field.vocab.itos)
        for name, dataset in (("validation", self.valid), ("test", self.test)):
            if dataset is None:
                continue
            for example in dataset:
                labels = example.label if isinstance(example.label, list) else [example.label]
                unseen = [label for label in labels if label not in known]
                if unseen:
                    raise TextclsError(
                        f"the {name} data has label {unseen[0]!r}, never seen in training (training labels: "
                        f"{', '.join(map(str, sorted(known, key=str)))})"
                    )

    def batches(self, dataset, data: dict, train: bool, seed: int = 0):
        """Trainer batches for ``dataset`` (bucketed when training, sorted for evaluation)."""
        size = int(data.get("batch_size") or 64)
        return TextBatches(
            dataset, self.text_field, self.label_field,
            batch_size=size if train else max(size, 256),
            max_tokens=data.get("max_tokens") if train else None,
            order="bucket" if train else "sorted", seed=seed, max_length=data.get("max_length"),
        )  # fmt: skip


def attach_embeddings(config: dict, text_data: TextData):
    """Give the vocabulary the configured vectors (a file/preset, or ``word2vec``/``fasttext`` trained on the
    training split); returns the coverage report or ``None``."""
    from textcls.embeddings import attach_vectors, fill_vectors, train_vectors

    data = config["data"]
    source = data.get("vectors")
    if not source:
        return None
    vocab = text_data.text_field.vocab
    if source in ("word2vec", "fasttext"):
        dim = int(config["model_options"].get("embedding_dim") or 100)
        trained = train_vectors(
            (example.text for example in text_data.train), method=source, dim=dim,
            seed=int(config["training"].get("seed", 0)), epochs=int(data.get("vectors_epochs", 5) or 5),
        )  # fmt: skip
        coverage = fill_vectors(vocab, trained.lookup, trained.dim, data.get("unk_init"))
    else:
        if data.get("vectors_vocab"):
            # every word of the vectors joins the vocabulary: words that only occur at test time keep their
            # pretrained meaning instead of becoming <unk> (no test data is looked at)
            from textcls.embeddings import Vectors

            source = Vectors(source, vectors_dir=data.get("vectors_dir"))
            vocab.extend(source)
        coverage = attach_vectors(
            vocab, source, unk_init=data.get("unk_init"), lower_fallback=bool(data.get("lower_fallback")),
            vectors_dir=data.get("vectors_dir"),
        )  # fmt: skip
    config["model_options"]["embedding_dim"] = coverage.dim  # the saved model's shape
    return coverage


def train_text(config: dict, run_dir: str | Path, resume: bool = False) -> dict:
    """Run the whole training job; returns the final metrics (also written to ``run_dir/metrics.json``).

    Args:
        config: the resolved config (see :func:`textcls.config.resolve`) with a ``files`` section.
        run_dir: the run directory (created; with ``resume``, an existing run to continue).
        resume: continue from the run's last checkpoint.
    """
    started = time.perf_counter()
    run = TextRunDir(run_dir)
    training = TrainerConfig.from_dict(dict(config["training"]))
    seed_everything(training.seed)
    data = config["data"]
    if resume:
        saved_config, text_field, task, choice = run.load_setup()
        label_field = make_fields(saved_config["data"])[1]
        label_field.vocab = Vocab(specials=task.labels, unk_token=None)  # the saved label order
        text_data = TextData(saved_config, text_field, label_field, choice)
        config, coverage = saved_config, None
        vectors = None
    else:
        text_data = TextData(config)
        text_data.build_vocab(data)
        coverage = attach_embeddings(config, text_data)
        if coverage is not None:
            print(f"vectors: {coverage}")
        multilabel = bool(data.get("multilabel"))
        task = Task.from_labels(text_data.label_field.vocab.itos, multilabel=multilabel)
        vectors = text_data.text_field.vocab.vectors
    model = build_model(config, text_data.text_field, task, vectors)  # before writing: a bad option leaves no run
    if not resume:
        run.save_setup(config, text_data.text_field, task, text_data.choice)
    sizes = ", ".join(
        f"{name} {len(ds):,}" for name, ds in (("train", text_data.train), ("valid", text_data.valid),
                                               ("test", text_data.test)) if ds is not None
    )  # fmt: skip
    params = sum(p.numel() for p in model.parameters())
    print(
        f"data: {sizes} examples; {text_data.choice.describe()}; vocabulary {len(text_data.text_field.vocab):,}; "
        f"{task.num_classes} classes ({task.kind})"
    )
    print(f"model: {config['model']} ({params:,} parameters)")
    train_batches = text_data.batches(text_data.train, data, True, training.seed)
    valid_batches = text_data.batches(text_data.valid, data, False) if text_data.valid is not None else None
    trainer = Trainer(model, task, training, run_dir=run.path, callbacks=model_callbacks(model))
    if resume:
        trainer.resume(run.checkpoints.last)
    history = trainer.fit(train_batches, valid_batches)
    run.save_weights(trainer.model)
    result = {"history": history, "best_epoch": trainer.best_epoch, "monitor": training.monitor}
    if coverage is not None:
        result["vectors_coverage"] = {"types": coverage.type_rate, "tokens": coverage.token_rate}
    if valid_batches is not None:
        result["valid"] = trainer.evaluate(valid_batches)
    if text_data.test is not None:
        result["test"] = trainer.evaluate(text_data.batches(text_data.test, data, False))
    result["seconds"] = time.perf_counter() - started
    run.write_json("metrics.json", result)
    plot_learning_curves(history, run.file("curves.png"), training.monitor)
    final = result.get("test") or result.get("valid")
    if final and "confusion" in final:
        plot_confusion(final["confusion"], task.labels, run.file("confusion.png"))
    return result
