"""The text training job behind ``textcls train``: file → fields/vocab/vectors → model → trainer → run dir."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from textcls import distributed
from textcls.config import TextRunConfig
from textcls.config_types import DataConfig
from textcls.data.columns import ColumnChoice, choose_columns, read_dataset
from textcls.data.fields import Field, LabelField, MultiLabelField
from textcls.data.loader import TextBatches
from textcls.errors import TextclsError
from textcls.jobs.rundir import TextRunDir, build_model, model_callbacks
from textcls.models.registry import MODELS
from textcls.runs.plots import plot_confusion, plot_learning_curves
from textcls.training.checkpoints import load_checkpoint
from textcls.training.task import Task
from textcls.training.trainer import Trainer, pick_device, seed_everything
from textcls.vocab import Vocab

log = logging.getLogger("textcls")


def make_fields(data: DataConfig | dict) -> tuple[Field, Field]:
    """The text and label fields a config's ``data`` section describes."""
    data = DataConfig.from_dict(data)
    text = Field(tokenize=data.tokenizer, lower=data.lower, batch_first=True, include_lengths=True)
    label = MultiLabelField(separator=data.label_sep) if data.multilabel else LabelField()
    return text, label


def choose_file_columns(path, data: DataConfig | dict) -> ColumnChoice:
    """The text and label columns of ``path``, as ``data``'s column options say (detected where unset)."""
    data = DataConfig.from_dict(data)
    columns = data.column_options
    return choose_columns(
        path, columns.text_col, columns.label_col, columns.columns, columns.no_header, multilabel=data.multilabel,
        options=data.read_options,
    )  # fmt: skip


def read_file(path, choice: ColumnChoice, text_field: Field, label_field: Field, data: DataConfig | dict):
    """``path`` read into a dataset with the columns of ``choice`` and ``data``'s read options."""
    return read_dataset(path, choice, text_field, label_field, DataConfig.from_dict(data).read_options)


class TextData:
    """The datasets, fields and column choice of a text run.

    Args:
        config: the run's config (a :class:`~textcls.config.TextRunConfig`, or its mapping).
        text_field, label_field: fields to read with (their vocabularies are built here unless given).
        choice: a saved column choice (``None``: detect from the training file).
    """

    def __init__(self, config: TextRunConfig | dict, text_field=None, label_field=None, choice=None):
        config = TextRunConfig.from_dict(config)
        files, data = config.files, config.data
        if not files.train:
            raise TextclsError("no training file: give FILE (or files.train in --config)")
        self.text_field, self.label_field = (text_field, label_field) if text_field else make_fields(data)
        self.choice = choice or choose_file_columns(files.train, data)
        read = lambda path: read_file(path, self.choice, self.text_field, self.label_field, data)  # noqa: E731
        self.train = read(files.train)
        seed = config.training.seed if data.split_seed is None else data.split_seed  # which rows validate
        if files.valid:
            self.valid = read(files.valid)
        elif data.valid_split <= 0:
            self.valid = None
        else:
            share = data.valid_split
            parts = self.train.split(1 - share, stratified=not data.multilabel, strata_field="label", random_state=seed)
            if len(parts) < 2:
                raise TextclsError(
                    f"the validation split is empty: {len(self.train)} examples × {share} rounds to 0; give "
                    "--valid FILE or a larger --valid-split"
                )
            self.train, self.valid = parts
        self.test = read(files.test) if files.test else None
        self.model_notes: list[str] = []  # run header lines on model options chosen from the data

    def build_vocab(self, data: DataConfig | dict) -> None:
        data = DataConfig.from_dict(data)
        self.text_field.build_vocab(self.train, min_freq=data.min_freq, max_size=data.max_size)
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

    def batches(self, dataset, data: DataConfig | dict, train: bool, seed: int = 0):
        """Trainer batches for ``dataset`` (bucketed when training, sorted for evaluation)."""
        data = DataConfig.from_dict(data)
        return TextBatches(
            dataset, self.text_field, self.label_field,
            batch_size=data.batch_size if train else max(data.batch_size, 256),
            max_tokens=data.max_tokens if train else None,
            order="bucket" if train else "sorted", seed=seed, max_length=data.max_length,
        )  # fmt: skip


def fasttext_multilabel(config: TextRunConfig) -> None:
    """A fastText training file with a line of several labels makes the run multi-label (said in one line)."""
    from textcls.data.readers import detect_format, fasttext_has_multilabel_lines

    data, path = config.data, config.files.train
    if data.multilabel or not path or detect_format(path, data.read_options.format) != "fasttext":
        return
    if fasttext_has_multilabel_lines(path, data.read_options):
        data.multilabel = True
        print("data: fastText lines with several __label__ words: a multi-label model")


def flat_hparams(config: dict) -> dict:
    """The settings TensorBoard's HParams tab shows: the model, its options and the data/training sections
    (``section.key``; ``None`` as ``"none"``), files left out."""
    flat = {"model": config["model"]}
    for section in ("model_options", "data", "training"):
        for key, value in (config.get(section) or {}).items():
            flat[f"{section}.{key}"] = "none" if value is None else value
    return flat


def final_metrics(result: dict) -> dict:
    """``hparam/SPLIT_METRIC`` of the final validation/test scores (numbers only), for the HParams tab."""
    metrics = {}
    for split in ("valid", "test"):
        for name in ("accuracy", "macro_f1", "micro_f1", "loss"):
            value = (result.get(split) or {}).get(name)
            if isinstance(value, (int, float)):
                metrics[f"hparam/{split}_{name}"] = value
    return metrics


def tuned_thresholds(trainer: Trainer, batches, dataset, task: Task) -> dict:
    """Multi-label thresholds tuned on the validation split (see :func:`textcls.jobs.predict.tune_thresholds`),
    saved as the run's ``thresholds.json`` and used by ``predict`` / ``evaluate`` unless told otherwise."""
    import torch

    from textcls.training.thresholds import tune_thresholds

    outputs = trainer.evaluate(batches, keep_outputs=True)
    probabilities = torch.empty_like(outputs["probabilities"])
    probabilities[torch.tensor(outputs["indices"])] = outputs["probabilities"]
    index = {label: i for i, label in enumerate(task.labels)}
    targets = torch.zeros_like(probabilities, dtype=torch.bool)
    for row, example in enumerate(dataset):
        for label in example.label:
            targets[row, index[label]] = True
    return tune_thresholds(probabilities, targets, task.labels)


def class_weights(spec: str | None, dataset, task: Task):
    """The per-class loss weights ``data.class_weights`` asks for (``None``: none).

    Args:
        spec: ``balanced`` (``n / (classes × count)`` over ``dataset``, as scikit-learn's), a JSON file
            ``{label: weight}`` or a CSV/TSV file of ``label,weight`` rows (a header row allowed); labels it does
            not name weigh 1.
        dataset: the training split.
        task: the run's task (its labels, in order).

    Raises:
        TextclsError: a multi-label run, an unreadable file, a label the training data does not have, or a
            weight that is not a positive number (one line each).
    """
    if not spec:
        return None
    import torch

    if task.kind == "multilabel":
        raise TextclsError("--class-weights applies to single-label runs (binary or multi-class), not multi-label")
    labels = [str(label) for label in task.labels]
    if spec == "balanced":
        counts = {label: 0 for label in labels}
        for example in dataset:
            counts[str(example.label)] += 1
        total = sum(counts.values())
        return torch.tensor([total / (len(labels) * max(1, counts[label])) for label in labels])
    given = _read_class_weights(spec)
    unknown = [label for label in given if label not in labels]
    if unknown:
        raise TextclsError(
            f"{spec}: label {unknown[0]!r} is not a label of the training data (labels: {', '.join(labels)})"
        )
    return torch.tensor([given.get(label, 1.0) for label in labels])


def _read_class_weights(spec: str) -> dict[str, float]:
    import csv
    import json

    from textcls._util import check_input_file

    path = check_input_file(spec, "class weights file", stdin_hint="")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise TextclsError(f"{path}: not UTF-8 text") from None
    if path.suffix.lower() == ".json":
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TextclsError(f"{path}: not JSON ({exc.msg}, line {exc.lineno})") from None
        if not isinstance(raw, dict):
            raise TextclsError(f"{path}: must be a JSON object {{label: weight}}")
        pairs = [(str(label), value, None) for label, value in raw.items()]
    else:
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
        rows = [
            row for row in csv.reader(text.splitlines(), delimiter=delimiter) if row and any(c.strip() for c in row)
        ]
        pairs = []
        for number, row in enumerate(rows, start=1):
            if len(row) != 2:
                raise TextclsError(f"{path}:{number}: expected 'label,weight', got {len(row)} fields")
            pairs.append((row[0].strip(), row[1].strip(), number))
        if pairs and _not_number(pairs[0][1]):
            pairs = pairs[1:]  # a header row
    weights = {}
    for label, value, number in pairs:
        where = f"{path}:{number}" if number else str(path)
        if isinstance(value, bool) or _not_number(value) or not float(value) > 0 or float(value) == float("inf"):
            raise TextclsError(f"{where}: the weight of {label!r} must be a positive number, not {value!r}")
        weights[label] = float(value)
    return weights


def _not_number(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return True
    return False


def row_counts(dataset) -> dict[str, int]:
    """``examples`` (every one is scored), ``empty_texts`` among them, and ``rows_skipped`` (rows of the file left
    out by ``--bad-rows skip`` / ``--extra-fields skip``; 0 for a split made from the training file)."""
    empty = sum(1 for example in dataset if len(example.text) == 0)
    return {"examples": len(dataset), "empty_texts": empty, "rows_skipped": getattr(dataset, "rows_skipped", 0)}


def row_notes(text_data: TextData) -> list[str]:
    """The run header's lines on empty texts (kept; each gets a prediction) and skipped rows, per split."""
    lines = []
    for name in ("train", "valid", "test"):
        dataset = getattr(text_data, name)
        if dataset is None:
            continue
        counts = row_counts(dataset)
        if counts["empty_texts"]:
            lines.append(f"data: {counts['empty_texts']:,} empty texts in {name} kept")
        if counts["rows_skipped"]:
            scored = "" if name == "train" else f"; {name} scores are over the {counts['examples']:,} rows kept"
            lines.append(f"data: {counts['rows_skipped']:,} rows of the {name} file skipped (bad rows){scored}")
    return lines


def attach_embeddings(config: TextRunConfig | dict, text_data: TextData, trust_pickle: bool = False):
    """Give the vocabulary the configured vectors (a file/preset, or ``word2vec``/``fasttext`` trained on the
    training split, as large as ``model_options.embedding_dim``); returns the coverage report or ``None``.

    Args:
        config: the run's config.
        text_data: its data (the vocabulary receives the vectors).
        trust_pickle: load a gensim pickle as ``data.vectors`` (``--trust-pickle``; never read from a config).
    """
    from textcls.embeddings import attach_vectors, fill_vectors, train_vectors

    config = TextRunConfig.from_dict(config)
    data = config.data
    source = data.vectors
    if not source:
        return None
    vocab = text_data.text_field.vocab
    if source in ("word2vec", "fasttext"):
        dim = int(config.model_options.get("embedding_dim") or 100)
        trained = train_vectors(
            (example.text for example in text_data.train), method=source, dim=dim, seed=config.training.seed,
            epochs=data.vectors_epochs,
        )  # fmt: skip
        return fill_vectors(vocab, trained.lookup, trained.dim, data.unk_init)
    if data.vectors_vocab:
        # every word of the vectors joins the vocabulary: words that only occur at test time keep their
        # pretrained meaning instead of becoming <unk> (no test data is looked at)
        from textcls.embeddings import Vectors

        source = Vectors(source, vectors_dir=data.vectors_dir, trust_pickle=trust_pickle)
        vocab.extend(source)
    return attach_vectors(
        vocab, source, unk_init=data.unk_init, lower_fallback=data.lower_fallback, vectors_dir=data.vectors_dir,
        trust_pickle=trust_pickle,
    )  # fmt: skip


def absolute_paths(config: TextRunConfig | dict) -> dict:
    """The resolved config with its input paths absolute (``files.*``, and ``data.vectors`` / ``data.vectors_dir``
    where they are paths), so that a run resumed or evaluated from another folder reads the same files."""
    config = TextRunConfig.from_dict(config).to_dict()
    for key, value in config["files"].items():
        if value and value != "-":
            config["files"][key] = str(Path(value).expanduser().absolute())
    data = config["data"]
    if data.get("vectors") and data["vectors"] not in ("word2vec", "fasttext") and Path(data["vectors"]).is_file():
        data["vectors"] = str(Path(data["vectors"]).absolute())
    weights = data.get("class_weights")
    if weights and weights != "balanced" and Path(weights).expanduser().is_file():
        data["class_weights"] = str(Path(weights).expanduser().absolute())
    if data.get("vectors_dir"):
        data["vectors_dir"] = str(Path(data["vectors_dir"]).expanduser().absolute())
    return config


def input_files(config: dict) -> dict[str, str]:
    """The input files of a config from :func:`absolute_paths` that ``inputs.json`` records, by config key."""
    files = {f"files.{key}": path for key, path in config["files"].items() if path and Path(path).is_file()}
    vectors = config["data"].get("vectors")
    if vectors and Path(vectors).is_absolute() and Path(vectors).is_file():
        files["data.vectors"] = vectors
    return files


def train_text(
    config: TextRunConfig | dict | None,
    run_dir: str | Path,
    resume: bool = False,
    trust_pickle: bool = False,
    overwrite: bool = False,
) -> dict:
    """Run the whole training job; returns the final metrics (also written to ``run_dir/metrics.json``).

    A new run is built in a temporary directory and moved into place once its header is written (a failed start
    leaves nothing); the run is locked while it trains (:meth:`~textcls.runs.rundir.RunDir.training`).

    Started by ``torchrun`` (or inside a process group the caller joined), every process calls this with the same
    arguments: rank 0 reads the data, builds the vocabulary and writes the run; the others receive its setup, read
    their own copy of the data and train their parts of each batch (:mod:`textcls.distributed`); every rank
    returns the same metrics.

    Args:
        config: the run's config (:func:`textcls.config.resolve`'s mapping, or a
            :class:`~textcls.config.TextRunConfig`); any missing setting takes its default. With ``resume``:
            ``None`` (the saved one), or the saved one with ``training.epochs`` / ``training.device`` changed
            (any other change is refused in one line).
        run_dir: the run directory (created; with ``resume``, an existing run to continue).
        resume: continue from the run's last checkpoint (its input files must be unchanged).
        trust_pickle: load gensim pickle vectors (``--trust-pickle``); refused by default, as they can run code.
        overwrite: replace a non-empty ``run_dir`` (refused otherwise, and always while it is being trained).
    """
    with distributed.process_group(_configured_device(config, run_dir, resume)) as group:
        handoff = distributed.Handoff(group)
        if not group.is_main:
            return _train(None, config, resume, trust_pickle, handoff)
        run = TextRunDir(run_dir)
        with handoff, run.training(resume=resume, overwrite=overwrite):
            return _train(run, config, resume, trust_pickle, handoff)


def _configured_device(config, run_dir, resume: bool) -> str:
    """The ``training.device`` a run will use (given, else saved when resuming), which picks the backend."""
    given = TextRunConfig.from_dict(config).training.device if config is not None else None
    if given is None or (resume and config is None):
        try:
            return TextRunDir(run_dir).config()["training"]["device"]
        except (TextclsError, KeyError, TypeError):
            return "auto"
    return given


def _prepare(run: TextRunDir, config, resume: bool, trust_pickle: bool):
    """Rank 0's part of :func:`_train`: config, data, vocabulary and vectors, the run's header written."""
    if resume:
        saved = run.resumed_config(None if config is None else absolute_paths(config))
        run.check_inputs()
        _, text_field, task, choice = run.load_setup()
        config = TextRunConfig.from_dict(saved)
        pick_device(config.training.device)
        if saved != TextRunConfig.from_dict(run.config()).to_dict():
            run.save_config(saved)  # the new epochs / device, for a later --resume
        seed_everything(config.training.seed)
        label_field = make_fields(config.data)[1]
        label_field.vocab = Vocab(specials=task.labels, unk_token=None)  # the saved label order
        return config, TextData(config, text_field, label_field, choice), task, None
    config = TextRunConfig.from_dict(absolute_paths(config))
    pick_device(config.training.device)  # before anything is written: a bad device leaves no run
    fasttext_multilabel(config)
    seed_everything(config.training.seed)
    text_data = TextData(config)
    text_data.build_vocab(config.data)
    coverage = attach_embeddings(config, text_data, trust_pickle)
    if coverage is not None:
        config.model_options["embedding_dim"] = coverage.dim  # the saved model's shape
        print(f"vectors: {coverage}")
    text_data.model_notes = choose_model_options(config, text_data)
    task = Task.from_labels(text_data.label_field.vocab.itos, multilabel=config.data.multilabel)
    class_weights(config.data.class_weights, text_data.train, task)  # a bad weights file leaves no run
    return config, text_data, task, coverage


def choose_model_options(config: TextRunConfig, text_data: TextData) -> list[str]:
    """Settle the model options that depend on the data (the LSTMs' ``auto`` options) in ``config`` before the
    model is built and the config saved, so that evaluate / predict / resume rebuild the same model; returns the
    run header's lines on what was chosen (none for a model without such options).

    Args:
        config: the new run's config (its ``model_options`` are updated in place).
        text_data: its data; the training texts' lengths, cut at ``data.max_length``, decide.
    """
    choose = getattr(MODELS.builder(config.model), "choose_options", None)
    if choose is None:
        return []
    cut = config.data.max_length
    lengths = [max(1, min(len(example.text), cut or len(example.text))) for example in text_data.train]
    config.model_options, lines = choose(lengths, config.model_options)
    return [f"model: {line}" for line in lines]


def _train(run: TextRunDir | None, config, resume: bool, trust_pickle: bool, handoff: distributed.Handoff) -> dict:
    """The body of :func:`train_text`: on rank 0 with ``run`` held, on the other ranks with ``run=None``."""
    started = time.perf_counter()
    group = handoff.group
    main = group.is_main
    if main:
        config, text_data, task, coverage = _prepare(run, config, resume, trust_pickle)
        vectors = None if resume else text_data.text_field.vocab.vectors
        model = build_model(config.to_dict(), text_data.text_field, task, vectors)  # a bad option leaves no run
        if not resume:
            resolved = config.to_dict()
            run.record_inputs(input_files(resolved))
            run.save_setup(resolved, text_data.text_field, task, text_data.choice)
        resume_from = run.checkpoints.last if resume and run.checkpoints.last.exists() else None
        if resume_from is not None:  # else: stopped before its first epoch ended; start it again
            run.check_fits(resume_from, load_checkpoint(resume_from), model, run.sizes(text_data.text_field, task))
        handoff.send((config.to_dict(), text_data.text_field, task, text_data.choice, resume_from is not None))
    else:
        saved, text_field, task, choice, resumed = handoff.receive()
        config = TextRunConfig.from_dict(saved)
        seed_everything(config.training.seed)
        label_field = make_fields(config.data)[1]
        label_field.vocab = Vocab(specials=task.labels, unk_token=None)
        text_data = TextData(config, text_field, label_field, choice)
        coverage, resume_from = None, (True if resumed else None)
        model = build_model(config.to_dict(), text_field, task, text_field.vocab.vectors)
    training, data = config.training, config.data
    if main:
        _print_header(config, text_data, task, model, group)
    train_batches = text_data.batches(text_data.train, data, True, training.seed)
    valid_batches = text_data.batches(text_data.valid, data, False) if text_data.valid is not None else None
    weights = class_weights(data.class_weights, text_data.train, task)
    if main and weights is not None:
        print("class weights: " + ", ".join(f"{label} {w:.3g}" for label, w in zip(task.labels, weights.tolist())))
    trainer = Trainer(model, task, training, run_dir=run.path if main else None, callbacks=model_callbacks(model),
                      distributed=group, class_weights=weights)  # fmt: skip
    if resume_from is not None:
        trainer.resume(resume_from)
    history = trainer.fit(train_batches, valid_batches)
    result = {"history": history, "best_epoch": trainer.best_epoch, "monitor": training.monitor,
              "world_size": group.world_size}  # fmt: skip
    if coverage is not None:
        result["vectors_coverage"] = {"types": coverage.type_rate, "tokens": coverage.token_rate}
    if valid_batches is not None:
        result["valid"] = {**trainer.evaluate(valid_batches), **row_counts(text_data.valid)}
    thresholds = None
    if main and task.kind == "multilabel" and valid_batches is not None:
        thresholds = tuned_thresholds(trainer, valid_batches, text_data.valid, task)
        result["thresholds"] = thresholds
    if text_data.test is not None:
        test_batches = text_data.batches(text_data.test, data, False)
        result["test"] = {**trainer.evaluate(test_batches), **row_counts(text_data.test)}
    result["seconds"] = time.perf_counter() - started
    if main:
        run.save_weights(trainer.model)
        if thresholds is not None:
            run.write_json("thresholds.json", thresholds)
        trainer.reporter.hparams(flat_hparams(config.to_dict()), final_metrics(result))
        run.write_json("metrics.json", result)
        plot_learning_curves(history, run.file("curves.png"), training.monitor)
        final = result.get("test") or result.get("valid")
        if final and "confusion" in final:
            plot_confusion(final["confusion"], task.labels, run.file("confusion.png"))
    group.gather(None)  # every rank returns once the run is written (a caller may load it next)
    return result


def _print_header(config: TextRunConfig, text_data: TextData, task: Task, model, group) -> None:
    """The run's header lines: data, model and, with several processes, how they share the batches."""
    sizes = ", ".join(
        f"{name} {len(ds):,}" for name, ds in (("train", text_data.train), ("valid", text_data.valid),
                                               ("test", text_data.test)) if ds is not None
    )  # fmt: skip
    params = sum(p.numel() for p in model.parameters())
    print(
        f"data: {sizes} examples; {text_data.choice.describe()}; vocabulary {len(text_data.text_field.vocab):,}; "
        f"{task.num_classes} classes ({task.kind})"
    )
    for line in row_notes(text_data):
        print(line)
    print(f"model: {config.model} ({params:,} parameters)")
    for line in text_data.model_notes:
        print(line)
    if group.enabled:
        print(f"distributed: {group.world_size} processes ({group.backend}); each trains its part of every batch "
              f"of {config.data.batch_size}")  # fmt: skip
