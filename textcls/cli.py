"""The ``textcls`` command line.

Every subcommand turns a :class:`~textcls.errors.TextclsError` (a mistake the user can fix) into one line on
stderr and exit status 2; other exceptions are bugs and keep their traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import signal
import sys
import time
from pathlib import Path

from textcls.config_types import ColumnOptions, DataConfig, ReadOptions
from textcls.conversion import Range, check_range, field_types, literal_choices
from textcls.errors import TextclsError
from textcls.interrupts import Interrupted, interruptible_run, sigterm_as_interrupt
from textcls.threads import add_threads_option

log = logging.getLogger("textcls")
TABLE_SECTIONS = (ColumnOptions, ReadOptions)  # the "reading the file" flags: one per field with a help
# the ranges of options that are not config settings (those are declared on their config field)
ALL_LABELS_COMMANDS = ("predict", "evaluate")  # their --top-k -1 means every label
COMMAND_LINE_RANGES = {"threads": Range(1), "top_k": Range(1), "seeds": Range(1), "jobs": Range(1)}


def add_section_flags(group, section) -> None:
    """A flag for each field of the dataclass ``section`` with ``help`` metadata (``--text-col`` for
    ``text_col``): a bool is a switch, a ``Literal`` lists its choices, anything else takes the text, which the
    config converts; the help shows the field's default."""
    types = field_types(section)
    for f in dataclasses.fields(section):
        if "help" not in f.metadata:
            continue
        flag, text = "--" + f.name.replace("_", "-"), f.metadata["help"]
        if f.default not in (None, False, dataclasses.MISSING):
            text += f" (default {f.default!r})"
        if types[f.name] is bool:
            group.add_argument(flag, action="store_true", default=None, help=text)
        else:
            group.add_argument(flag, choices=literal_choices(types[f.name]), help=text)


def add_table_options(parser: argparse.ArgumentParser) -> None:
    """Options that say how to read a user's csv/tsv/json file (shared by every data-reading command): one flag
    per :class:`~textcls.config_types.ColumnOptions` and :class:`~textcls.config_types.ReadOptions` field."""
    group = parser.add_argument_group("reading the file (also --set data.csv_reader_params.KEY=VALUE)")
    for section in TABLE_SECTIONS:
        add_section_flags(group, section)


def add_vectors_options(parser: argparse.ArgumentParser) -> None:
    """Options that choose pretrained word vectors."""
    group = parser.add_argument_group("word vectors")
    group.add_argument("--vectors", help="vectors file (GloVe/word2vec/fastText/gensim) or preset (glove.6B.100d)")
    group.add_argument("--vectors-dir", help="folder holding named vectors files (also $TEXTCLS_VECTORS_DIR)")
    group.add_argument(
        "--lower-fallback", action="store_true", help="give a cased word the vector of its lower-case form"
    )
    add_trust_pickle_option(group)


def add_trust_pickle_option(parser) -> None:
    """``--trust-pickle``: allow gensim pickle vectors files (refused by default: loading one can run code)."""
    parser.add_argument(
        "--trust-pickle", action="store_true",
        help="load gensim .kv/.model vectors files, which are Python pickles that can run code: only files you trust",
    )  # fmt: skip


def given(settings: dict) -> dict:
    """``settings`` without the ``None`` values (flags not given)."""
    return {key: value for key, value in settings.items() if value is not None}


def table_settings(args) -> dict:
    """The file-reading settings given on the command line (a ``data`` section; flags not given left out)."""
    names = [f.name for section in TABLE_SECTIONS for f in dataclasses.fields(section) if "help" in f.metadata]
    return given({name: getattr(args, name) for name in names})


def cmd_tokenizers(args) -> int:
    from textcls.tokenizers import available_tokenizers, get_tokenizer

    for name, summary in available_tokenizers().items():
        line = f"{name:<14} {summary}"
        if args.text:
            line += f"\n{'':<14} {get_tokenizer(name)(args.text)}"
        print(line)
    return 0


def cmd_inspect(args) -> int:
    """Run the data pipeline end to end on a file and print what it found and how long each stage took."""
    import random
    import statistics

    from textcls.data import make_batches, padding_fraction
    from textcls.jobs.train import choose_file_columns, make_fields, read_file

    flags = {"tokenizer": args.tokenizer, "lower": args.lower, "min_freq": args.min_freq, "batch_size": args.batch_size}
    data = DataConfig.from_dict({**{k: v for k, v in flags.items() if v is not None}, **table_settings(args)})
    timings = {}
    start = time.perf_counter()
    choice = choose_file_columns(args.file, data)
    text, label = make_fields(data)
    dataset = read_file(args.file, choice, text, label, data)
    timings["read + tokenize"] = time.perf_counter() - start

    start = time.perf_counter()
    text.build_vocab(dataset, min_freq=data.min_freq)
    label.build_vocab(dataset)
    timings["build vocab"] = time.perf_counter() - start

    coverage = None
    if args.vectors:
        start = time.perf_counter()
        coverage = text.vocab.load_vectors(
            args.vectors, vectors_dir=args.vectors_dir, lower_fallback=args.lower_fallback,
            trust_pickle=args.trust_pickle,
        )  # fmt: skip
        timings["load vectors"] = time.perf_counter() - start

    lengths = [len(example.text) for example in dataset]
    start = time.perf_counter()
    bucketed = make_batches(lengths, data.batch_size, order="bucket", rng=random.Random(0))
    for indices in bucketed:
        text.process([dataset[i].text for i in indices])
    timings["bucket + numericalize"] = time.perf_counter() - start
    shuffled = make_batches(lengths, data.batch_size, order="shuffled", rng=random.Random(0))

    tokens = sum(lengths)
    ordered = sorted(lengths)
    counts = {name: 0 for name in label.vocab.itos}
    for example in dataset:
        counts[example.label] += 1
    print(f"file            {args.file}")
    print(f"columns         {choice.describe()}{'' if choice.has_header else ' (no header)'}")
    print(f"examples        {len(dataset):,}")
    print(f"classes         {len(counts)}: " + ", ".join(f"{name} ({n:,})" for name, n in counts.items()))
    print(f"tokenizer       {data.tokenizer}{' + lower' if data.lower else ''}")
    print(
        f"tokens          {tokens:,}  (per text: mean {statistics.fmean(lengths):.1f}, median "
        f"{statistics.median(lengths):g}, 95th pct {ordered[int(0.95 * (len(ordered) - 1))]}, max {ordered[-1]})"
    )
    print(f"vocabulary      {len(text.vocab):,} tokens (min_freq={data.min_freq}, with <unk>, <pad>)")
    if coverage is not None:
        print(f"vectors         {coverage}")
    print(
        f"padding @ {data.batch_size:<5} bucketed {padding_fraction(bucketed, lengths):.1%} vs random batches "
        f"{padding_fraction(shuffled, lengths):.1%}"
    )
    total = sum(timings.values())
    stages = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in timings.items())
    print(f"time            {total:.2f} s ({tokens / total:,.0f} tokens/s): {stages}")
    return 0


def cmd_models(args) -> int:
    from textcls.models import available_models

    for name, summary in available_models().items():
        print(f"{name:<10} {summary}")
    return 0


def flag_layers(args) -> list[dict]:
    """The settings ``textcls train`` was given, as config layers in order: the flags, then each ``--set``."""
    from textcls import config as cfg

    data = {"tokenizer": args.tokenizer, "vectors": args.vectors, "vectors_dir": args.vectors_dir,
            "valid_split": args.valid_split, "batch_size": args.batch_size, "max_length": args.max_length,
            "min_freq": args.min_freq, "label_sep": args.label_sep, **table_settings(args)}  # fmt: skip
    if args.lower_fallback:
        data["lower_fallback"] = True
    if args.multilabel:
        data["multilabel"] = True
    if getattr(args, "class_weights", None):
        data["class_weights"] = args.class_weights
    training = {"epochs": args.epochs, "lr": args.lr, "device": args.device, "seed": args.seed,
                "patience": args.patience}  # fmt: skip
    model_options = {}
    if args.freeze_embeddings:
        model_options["freeze_embeddings"] = True
    if args.freeze_epochs is not None:
        model_options["freeze_epochs"] = args.freeze_epochs
    flags = {
        "model": args.model,
        "data": given(data),
        "training": given(training),
        "model_options": model_options,
        "files": given({"train": args.file, "valid": args.valid, "test": args.test}),  # --config's files stay
    }
    return [flags] + [cfg.parse_assignment(text) for text in args.set or []]


def train_config(args) -> dict:
    """The resolved config of ``textcls train``: model defaults, ``--config``, flags, ``--set``."""
    from textcls import config as cfg

    config = cfg.resolve(None, args.config, flag_layers(args))
    if not config["files"]["train"]:
        raise TextclsError(f"{args.command} needs a FILE (the training data), or files.train in --config")
    return config


def resume_config(args, saved: dict) -> dict:
    """The saved config of the run ``--resume`` continues with what the command line gives merged in (the run
    refuses any change but ``--epochs`` and ``--device``)."""
    from textcls import config as cfg

    config = saved
    layers = ([cfg.read_config_file(args.config)] if args.config else []) + flag_layers(args)
    for layer in layers:
        config = cfg.merge(config, {key: value for key, value in layer.items() if value is not None})
    return config


def cmd_train(args) -> int:
    from textcls.distributed import is_main_process
    from textcls.jobs.train import train_text
    from textcls.runs.rundir import default_run_dir
    from textcls.threads import header_before_output, set_threads

    with header_before_output(set_threads(args.threads)):
        if args.resume:
            from textcls.jobs.rundir import TextRunDir

            run = TextRunDir(args.resume)
            run.check()
            config, run_dir, resume = resume_config(args, run.config()), run.path, True
        else:
            config = train_config(args)
            run_dir, resume = args.output or default_run_dir(config["model"]), False
        with interruptible_run(run_dir, "textcls train"):
            result = train_text(
                config, run_dir, resume=resume, trust_pickle=args.trust_pickle, overwrite=args.overwrite
            )
        if is_main_process():  # under torchrun, rank 0 speaks for the run
            _print_final(result, run_dir)
    return 0


def _print_final(result: dict, run_dir) -> None:
    for split in ("valid", "test"):
        metrics = result.get(split)
        if metrics:
            f1 = metrics.get("macro_f1")
            print(
                f"{split:<5}  accuracy {metrics['accuracy']:.2%}  macro-F1 {f1:.3f}  loss {metrics['loss']:.4f}"
                if f1 is not None
                else f"{split:<5}  accuracy {metrics['accuracy']:.2%}  loss {metrics['loss']:.4f}"
            )
    print(f"run saved in {run_dir}/ (model.pt, config.yaml, vocab.json, metrics.json, curves.png, tensorboard/)")
    print(f'  textcls evaluate {run_dir} FILE    textcls predict {run_dir} "some text"')


def cmd_evaluate(args) -> int:
    from textcls.jobs.predict import evaluate_file
    from textcls.threads import set_threads

    note(set_threads(args.threads))  # standard output is the report
    result = evaluate_file(args.run_dir, args.file, device=args.device, top_k=args.top_k, threshold=args.threshold)
    if args.output:
        from textcls.runs.rundir import write_json

        write_json(args.output, result)
    if args.json:
        import json

        print(json.dumps(result, ensure_ascii=False))
    else:
        print("\n".join(evaluation_lines(result)))
        if args.output:
            print(f"saved     {args.output}")
    return 0


def evaluation_lines(result: dict) -> list[str]:
    """The report ``textcls evaluate`` prints: counts, accuracy (and top-k), F1, macro / weighted averages, the
    per-class table and the labelled confusion matrix."""
    from textcls.training.metrics import per_class_lines

    lines = [f"examples  {result['examples']:,}"]
    if result["empty_texts"]:
        lines.append(f"empty     {result['empty_texts']:,} empty texts (each scored as one unknown token)")
    if result["rows_skipped"]:
        lines.append(f"skipped   {result['rows_skipped']:,} rows of the file (bad rows): not in these scores")
    lines.append(f"accuracy  {result['accuracy']:.2%}")
    if "top_k_accuracy" in result:
        lines.append(f"top-{result['k']} accuracy  {result['top_k_accuracy']:.2%}")
    for key in ("macro_f1", "micro_f1"):
        if key in result:
            lines.append(f"{key.replace('_', '-'):<9} {result[key]:.3f}")
    if "weighted_f1" in result:
        lines.append(f"{'average':<20} {'precision':>9} {'recall':>9} {'f1':>9}")
        for kind in ("macro", "weighted"):
            lines.append(f"{kind:<20} {result[f'{kind}_precision']:>9.3f} {result[f'{kind}_recall']:>9.3f} "
                         f"{result[f'{kind}_f1']:>9.3f}")  # fmt: skip
    lines += per_class_lines(result)
    if "confusion" in result:
        labels = list(result["per_class"])
        width = max(6, min(12, max(len(label) for label in labels)))
        lines.append("confusion (rows: true, columns: predicted):")
        lines.append(f"  {'':<18} " + " ".join(f"{label[:width]:>{width}}" for label in labels))
        for label, row in zip(labels, result["confusion"]):
            lines.append(f"  {label[:18]:<18} " + " ".join(f"{count:>{width}}" for count in row))
    return lines


def note(line: str) -> None:
    """A line for standard error that ``--quiet`` (or ``--log-level warning``) leaves out."""
    if log.isEnabledFor(logging.INFO):
        print(line, file=sys.stderr)


def cmd_test(args) -> int:
    """fastText's ``test``: N, P@k, R@k (three significant digits, as fastText prints them)."""
    from textcls.jobs.predict import evaluate_at_k
    from textcls.threads import set_threads

    note(set_threads(args.threads))
    result = evaluate_at_k(args.run_dir, args.file, k=args.k, threshold=args.threshold, device=args.device)
    if args.json:
        import json

        print(json.dumps({key: None if value != value else value for key, value in result.items()}))  # NaN: null
        return 0
    k = args.k
    print(f"N\t{result['N']}")
    print(f"P@{k}\t{result['precision']:.3g}")
    print(f"R@{k}\t{result['recall']:.3g}")
    return 0


def add_test_command(commands) -> None:
    """``textcls test RUN FILE [--k K] [--threshold T]``: fastText's ``test`` (N, P@k, R@k)."""
    test = commands.add_parser(
        "test", help="fastText's test: N, precision and recall at k (P@k, R@k) of a run on a labelled file"
    )
    test.add_argument("run_dir")
    test.add_argument("file", help="labelled file: fastText '__label__X text' lines, or the training file's layout")
    test.add_argument("--k", "-k", type=int, default=1, help="labels predicted per text (-1: all; default 1)")
    test.add_argument("--threshold", type=float, help="drop predicted labels with a lower probability")
    test.add_argument("--json", action="store_true", help="print one JSON object (with the counts)")
    test.add_argument("--device", default="cpu")
    add_threads_option(test)
    test.set_defaults(run=cmd_test)


def read_predict_lines(handle, name: str) -> list[str]:
    """The lines of a binary ``handle`` as texts, one per line (blank ones kept, so the output lines up).

    Args:
        handle: a file opened in binary mode (or ``sys.stdin.buffer``; a text stream's lines are taken as
            they are).
        name: how to name it in an error (the path, or ``standard input``).

    Raises:
        TextclsError: a line that is not valid UTF-8 (named by its number).
    """
    texts = []
    for number, raw in enumerate(handle, start=1):
        if isinstance(raw, str):  # a text stream without a binary buffer (standard input replaced in-process)
            texts.append(raw.rstrip("\r\n"))
            continue
        try:
            texts.append(raw.decode("utf-8").rstrip("\r\n"))
        except UnicodeDecodeError as exc:
            raise TextclsError(
                f"{name}:{number}: byte 0x{raw[exc.start]:02x} is not valid UTF-8; re-encode the input as UTF-8 "
                "(e.g. iconv -f latin1 -t utf-8)"
            ) from None
    return texts


def predict_texts(args) -> list[str]:
    """The texts ``predict`` classifies: its arguments, ``--file``, or standard input (``-``, or piped in)."""
    from textcls._util import check_input_file

    texts = list(args.texts or [])
    if "-" in texts:
        if len(texts) > 1 or args.file:
            raise TextclsError("'-' reads the texts from standard input: give it alone, without other texts or --file")
        texts, args.file = [], "-"
    if args.file == "-" or (not texts and not args.file and not sys.stdin.isatty()):
        return texts + read_predict_lines(getattr(sys.stdin, "buffer", sys.stdin), "standard input")
    if args.file:
        path = check_input_file(args.file, "text file", stdin_hint=" (or --file - for standard input)")
        with open(path, "rb") as handle:
            return texts + read_predict_lines(handle, str(path))
    return texts


def fasttext_texts(texts: list[str], format: str | None) -> list[str]:
    """``predict``'s texts with fastText's ``__label__`` words taken out, as fastText's ``predict`` does, when
    ``format`` is ``fasttext`` or (``None``) the first non-blank text starts with ``__label__``."""
    from textcls.fasttext_lines import FASTTEXT_PREFIX, split_fasttext_line

    first = next((text.lstrip() for text in texts if text.strip()), "")
    if format == "fasttext" or (format is None and first.startswith(FASTTEXT_PREFIX)):
        return [split_fasttext_line(text)[1] for text in texts]
    return texts


def cmd_predict(args) -> int:
    import json

    from textcls.onnx_predict import is_export_dir

    texts = fasttext_texts(predict_texts(args), args.format)
    if not any(text.strip() for text in texts):
        raise TextclsError("nothing to predict: give texts, --file FILE, or text on standard input ('-')")
    exported = is_export_dir(args.run_dir)
    if exported:  # an export directory: onnxruntime, and no torch import (it starts in a fraction of the time)
        from textcls.threads import choose_threads

        threads, line = choose_threads(args.threads)
        note(line)
    else:
        from textcls.threads import set_threads

        note(set_threads(args.threads))  # standard output is the predictions
    blank = [number for number, text in enumerate(texts, start=1) if not text.strip()]
    if blank:
        shown = ", ".join(map(str, blank[:10])) + (", ..." if len(blank) > 10 else "")
        log.warning(
            "%d of %d inputs empty or blank (number %s): predicted from no words, so the label means nothing",
            len(blank), len(texts), shown,
        )  # fmt: skip
    if exported:
        from textcls.onnx_predict import ExportPredictor

        if args.device != "cpu":
            raise TextclsError("an export directory predicts on the CPU; drop --device (or predict from the run)")
        if args.threshold is not None:
            raise TextclsError("--threshold needs the run directory (an export keeps the run's own threshold)")
        predictor = ExportPredictor(args.run_dir, threads=threads)
        k = args.top_k if args.top_k is not None else (-1 if predictor.kind == "multilabel" else 3)
        results = predictor.predict(texts, top_k=k)
    else:
        from textcls.jobs.predict import Predictor

        predictor = Predictor(args.run_dir, device=args.device)
        k = args.top_k if args.top_k is not None else (-1 if predictor.task.kind == "multilabel" else 3)
        results = predictor.predict(texts, top_k=k, threshold=args.threshold)
    for text, labels in zip(texts, results):
        if args.json:
            print(json.dumps({"text": text, "labels": [{"label": name, "probability": p} for name, p in labels]}))
        else:
            shown = "  ".join(f"{label} {prob:.3f}" for label, prob in labels)
            print(f"{shown}\t{text[:80]}")
    return 0


def cmd_export(args) -> int:
    from textcls.export import export_run
    from textcls.threads import set_threads

    print(set_threads(args.threads), file=sys.stderr)
    path = export_run(args.run_dir, args.format, args.output, overwrite=args.overwrite)
    print(f"exported {args.run_dir} as {args.format} to {path}/ (model, vocab.json, export.json)")
    print(f'  textcls predict {path} "some text"    textcls serve {path}')
    return 0


def cmd_serve(args) -> int:
    from textcls.serve import Limits, serve

    limits = Limits(
        max_body_bytes=args.max_body_bytes, max_texts=args.max_texts, max_text_chars=args.max_text_chars,
        max_batch_texts=args.max_batch_texts, batch_wait_ms=args.batch_wait_ms,
    )  # fmt: skip
    return serve(args.run_or_export, host=args.host, port=args.port, limits=limits, threads=args.threads)


def cmd_vectors_convert(args) -> int:
    from textcls.embeddings.convert import convert_vectors

    count, dim = convert_vectors(args.source, args.target, trust_pickle=args.trust_pickle, vectors_dir=args.vectors_dir)
    print(f"wrote {count:,} vectors of {dim} dimensions to {args.target}")
    return 0


def add_vectors_commands(commands) -> None:
    """``textcls vectors convert IN OUT``: any vectors file textcls reads → word2vec text or binary."""
    vectors = commands.add_parser("vectors", help="word-vector files: convert to a safe format")
    sub = vectors.add_subparsers(dest="vectors_command", metavar="COMMAND")
    sub.required = True
    convert = sub.add_parser(
        "convert", help="write vectors as word2vec text (.txt, .vec, .txt.gz) or binary (.bin), loadable untrusted"
    )
    convert.add_argument("source", help="vectors file or preset (a gensim .kv/.model needs --trust-pickle)")
    convert.add_argument("target", help="the file to write: .txt, .vec, .txt.gz, .vec.gz or .bin (must not exist)")
    convert.add_argument("--vectors-dir", help="folder holding named vectors files (also $TEXTCLS_VECTORS_DIR)")
    add_trust_pickle_option(convert)
    convert.set_defaults(run=cmd_vectors_convert)


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """The data, model and training options shared by ``train`` and ``compare-embeddings``."""
    parser.add_argument("file", nargs="?", help="training data (csv / tsv / json / jsonl, optionally .gz)")
    parser.add_argument("--valid", help="validation file (default: a stratified split of the training file)")
    parser.add_argument("--test", help="test file, evaluated once at the end")
    parser.add_argument("--model", help="model name (see 'textcls models'; default: --config's, else bilstm)")
    parser.add_argument("--config", help="YAML file overriding the model's defaults (a run's config.yaml works too)")
    parser.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE", help="override any config value")
    parser.add_argument("--tokenizer", help="tokenizer name (see 'textcls tokenizers')")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lr", type=float, help="learning rate")
    parser.add_argument("--patience", type=int, help="early stopping patience in epochs (0: off)")
    parser.add_argument("--max-length", type=int, help="cut texts to this many tokens")
    parser.add_argument("--min-freq", type=int, help="drop rarer tokens from the vocabulary")
    parser.add_argument("--valid-split", type=float, help="validation share when there is no --valid (0.1)")
    parser.add_argument("--multilabel", action="store_true", help="several labels per text (label column 'a|b')")
    parser.add_argument("--label-sep", help="separator of labels in a multi-label column (default '|')")
    parser.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--seed", type=int)
    add_threads_option(parser)
    add_table_options(parser)


def cmd_compare(args) -> int:
    from textcls.jobs.compare import compare_embeddings, markdown, parse_choices
    from textcls.runs.rundir import default_run_dir
    from textcls.threads import header_before_output, set_threads

    jobs = min(args.jobs, len(parse_choices(args.embeddings)) * args.seeds)
    with header_before_output(set_threads(args.threads, divide_by=jobs)):
        config = train_config(args)
        output = Path(args.output) if args.output else default_run_dir(config["model"], root="compare")
        try:
            summary = compare_embeddings(
                config, args.embeddings, seeds=args.seeds, output_dir=output, trust_pickle=args.trust_pickle,
                jobs=jobs, threads=args.threads,
            )  # fmt: skip
        except KeyboardInterrupt as exc:
            kept = f"finished runs and epochs are kept in {output}; rerun the same command to continue"
            raise Interrupted(getattr(exc, "signum", signal.SIGINT), kept) from None
        print(markdown(summary), end="")
        print(f"comparison saved in {output}/ (summary.md/.csv/.json, runs.csv, accuracy.png, valid_curves.png, runs/)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="textcls", description="PyTorch text classification toolkit.")
    add_output_options(parser)
    parser.add_argument(
        "--model-module", action="append", metavar="FILE_OR_MODULE",
        help="import this .py file or module first, so the models it registers can be used (repeatable)",
    )  # fmt: skip
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    tokenizers = commands.add_parser("tokenizers", help="list the named tokenizers")
    tokenizers.add_argument("text", nargs="?", help="show each tokenizer's output on this text")
    tokenizers.set_defaults(run=cmd_tokenizers)

    inspect = commands.add_parser("inspect", help="run the data pipeline on a file and summarise it")
    inspect.add_argument("file", help="csv / tsv / json / jsonl file (optionally .gz)")
    inspect.add_argument("--tokenizer", help=f"tokenizer name ('textcls tokenizers'; default {DataConfig.tokenizer})")
    inspect.add_argument("--lower", action=argparse.BooleanOptionalAction, help="lower-case tokens (default: yes)")
    inspect.add_argument("--min-freq", type=int, help=f"drop rarer tokens (default {DataConfig.min_freq})")
    inspect.add_argument("--batch-size", type=int, help=f"batch size of the padding figures ({DataConfig.batch_size})")
    add_vectors_options(inspect)
    add_table_options(inspect)
    inspect.set_defaults(run=cmd_inspect)

    models = commands.add_parser("models", help="list the text models")
    models.set_defaults(run=cmd_models)

    train = commands.add_parser("train", help="train a text classifier on a csv/tsv/json file")
    add_training_arguments(train)
    freeze = train.add_mutually_exclusive_group()
    freeze.add_argument("--freeze-embeddings", action="store_true", help="keep pretrained vectors fixed")
    freeze.add_argument("--freeze-epochs", type=int, help="keep vectors fixed for N epochs, then fine-tune")
    train.add_argument("--output", help="run directory (default runs/MODEL-TIMESTAMP)")
    train.add_argument(
        "--resume", metavar="RUN_DIR",
        help="continue an interrupted run (or extend a finished one with --epochs N in total; --device may change)",
    )  # fmt: skip
    from textcls.runs import add_overwrite_option

    add_overwrite_option(train)
    add_vectors_options(train)
    add_class_weights_option(train)
    train.set_defaults(run=cmd_train)

    compare = commands.add_parser(
        "compare-embeddings", help="train one model with several embedding choices and seeds; table and charts"
    )
    add_training_arguments(compare)
    compare.add_argument(
        "--embeddings", required=True,
        help="comma-separated: random, glove:PATH, glove-frozen:PATH, glove-thaw:PATH:N, word2vec, fasttext, PATH",
    )  # fmt: skip
    compare.add_argument("--seeds", type=int, default=3, help="runs per choice (seeds 0..N-1; default 3)")
    compare.add_argument(
        "--jobs", type=int, default=1,
        help="runs trained at once, each in its own process with --threads divided among them (default 1)",
    )  # fmt: skip
    compare.add_argument("--output", help="comparison folder (default compare/MODEL-TIMESTAMP); reruns resume")
    compare.add_argument("--vectors-dir", help="folder holding named vectors files (also $TEXTCLS_VECTORS_DIR)")
    add_trust_pickle_option(compare)
    compare.set_defaults(run=cmd_compare, vectors=None, lower_fallback=False, freeze_embeddings=False,
                         freeze_epochs=None, resume=None, overwrite=False)  # fmt: skip

    evaluate = commands.add_parser("evaluate", help="metrics of a trained run on a labelled file")
    evaluate.add_argument("run_dir")
    evaluate.add_argument("file")
    evaluate.add_argument("--device", default="cpu")
    add_evaluate_options(evaluate)
    add_threads_option(evaluate)
    evaluate.set_defaults(run=cmd_evaluate)
    add_test_command(commands)

    predict = commands.add_parser("predict", help="top-k labels with probabilities for texts")
    predict.add_argument("run_dir", help="a run directory, or an export directory (textcls export: no torch)")
    predict.add_argument("texts", nargs="*", help="texts to classify (or --file, or '-' for standard input)")
    predict.add_argument("--file", help="one text per line ('-': standard input)")
    predict.add_argument(
        "--top-k", "--k", "-k", dest="top_k", type=int,
        help="labels per text (-1: all; default 3, multi-label: all over the threshold)",
    )  # fmt: skip
    predict.add_argument(
        "--threshold", help="drop labels with a lower probability (multi-label: also global / per-class, tuned)"
    )
    predict.add_argument(
        "--format", choices=["fasttext", "text"],
        help="fasttext: leave out the __label__ words of each line (default: so when the first line starts with one)",
    )  # fmt: skip
    predict.add_argument("--json", action="store_true", help="one JSON object per line")
    predict.add_argument("--device", default="cpu")
    add_threads_option(predict)
    predict.set_defaults(run=cmd_predict)

    from textcls.onnx_predict import MODEL_FILES

    export = commands.add_parser(
        "export", help="write a run's model as ONNX or TorchScript, with vocabulary and labels"
    )
    export.add_argument("run_dir")
    export.add_argument("--format", choices=list(MODEL_FILES), default="onnx", help="model format (default onnx)")
    export.add_argument("--output", help="export directory (default RUN/export-FORMAT)")
    export.add_argument("--overwrite", action="store_true", help="replace a non-empty --output directory")
    add_threads_option(export)
    export.set_defaults(run=cmd_export)

    from textcls.serve import Limits

    serve = commands.add_parser("serve", help="an HTTP JSON prediction service (FastAPI + uvicorn) for a run or export")
    serve.add_argument("run_or_export", help="a run directory or an export directory")
    serve.add_argument(
        "--host", help="address to listen on (default 127.0.0.1, loopback only; give another one explicitly)"
    )
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free one)")
    for name, what in Limits.OPTIONS:
        default = getattr(Limits, name)
        serve.add_argument("--" + name.replace("_", "-"), type=int, default=default, help=f"{what} (default {default})")
    add_threads_option(serve)
    serve.set_defaults(run=cmd_serve)

    add_vectors_commands(commands)

    from textcls.image.cli import add_image_commands

    add_image_commands(commands)
    add_output_options_everywhere(parser)
    return parser


def add_evaluate_options(evaluate) -> None:
    """``evaluate``'s report options: ``--top-k``, ``--threshold``, ``--json``, ``--output FILE``."""
    evaluate.add_argument("--top-k", type=int, help="also report top-K accuracy (the label among the K most likely)")
    evaluate.add_argument(
        "--threshold", help="multi-label decision threshold: a probability, global or per-class (default: tuned)"
    )
    evaluate.add_argument("--json", action="store_true", help="print the whole report as one JSON object")
    evaluate.add_argument("--output", help="also save the report as JSON in this file (nothing is written otherwise)")


def add_class_weights_option(train) -> None:
    """``--class-weights balanced|FILE`` (config ``data.class_weights``)."""
    train.add_argument(
        "--class-weights", metavar="balanced|FILE",
        help="loss weight per class: balanced (n / (classes x count)), or a JSON {label: weight} / CSV label,weight",
    )  # fmt: skip


LOG_LEVELS = ("debug", "info", "warning", "error")


def add_output_options(parser, default=None) -> None:
    """``-v/--verbose``, ``-q/--quiet`` and ``--log-level`` (on the main parser, and on every subcommand, where
    a flag not given leaves the main parser's value: ``default`` ``argparse.SUPPRESS``)."""
    taken = {option for action in parser._actions for option in action.option_strings}
    if "--quiet" in taken:
        return
    kwargs = {} if default is None else {"default": default}
    if "-v" not in taken:
        parser.add_argument("-v", "--verbose", action="store_true", help="more logging (debug)", **kwargs)
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors on stderr", **kwargs)
    parser.add_argument("--log-level", choices=LOG_LEVELS, help="textcls's logging level (default info)", **kwargs)


def add_output_options_everywhere(parser) -> None:
    """:func:`add_output_options` on every subcommand (nested ones too)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                add_output_options(sub, default=argparse.SUPPRESS)
                add_output_options_everywhere(sub)


def setup_logging(args) -> int:
    """Configure logging from ``--log-level`` / ``--quiet`` / ``-v``: textcls's messages at that level, other
    libraries' (gensim, ...) at warning and above only (all of them with debug); returns the level."""
    name = args.log_level or ("debug" if args.verbose else "warning" if args.quiet else "info")
    level = getattr(logging, name.upper())
    logging.basicConfig(level=min(level, logging.WARNING), format="%(levelname)s: %(message)s", stream=sys.stderr)
    logging.getLogger().setLevel(logging.DEBUG if level <= logging.DEBUG else logging.WARNING)
    logging.getLogger("textcls").setLevel(level)
    return level


def _silence_stdout() -> None:
    """Point standard output at ``/dev/null`` so that the interpreter's final flush of what is still buffered
    cannot fail a second time on the closed pipe."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (captured output)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``textcls`` console script; returns the exit status."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if getattr(args, "command", None) == "predict":  # texts may follow options: predict RUN --json "text"
        args.texts = list(args.texts or []) + [item for item in extra if item == "-" or not item.startswith("-")]
        extra = [item for item in extra if item != "-" and item.startswith("-")]
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    setup_logging(args)
    if getattr(args, "run", None) is cmd_train and not args.file and not args.resume and not args.config:
        parser.error("train needs a FILE (or --config with files.train, or --resume RUN_DIR)")
    from textcls.registry import import_model_module

    # SIGTERM stays an interrupt until the reason is printed: torchrun stops the other ranks with SIGTERM as soon
    # as one fails, which must not cut off the line that says why
    with sigterm_as_interrupt():
        try:
            for name, allowed in COMMAND_LINE_RANGES.items():
                if name == "top_k" and getattr(args, name, None) == -1 and args.command in ALL_LABELS_COMMANDS:
                    continue  # -1: every label
                check_range(getattr(args, name, None), allowed, "--" + name.replace("_", "-"))
            for spec in args.model_module or []:
                import_model_module(spec)
            status = args.run(args)
            sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
            return status
        except BrokenPipeError:  # the reader went away (textcls predict ... | head -1): stop quietly, as cat does
            _silence_stdout()
            return 128 + signal.SIGPIPE
        except TextclsError as exc:
            print(f"textcls: error: {exc}", file=sys.stderr, flush=True)
            return 2
        except KeyboardInterrupt as exc:
            signum = getattr(exc, "signum", signal.SIGINT)
            detail = getattr(exc, "detail", "")
            print(f"textcls: interrupted ({signal.Signals(signum).name}){': ' + detail if detail else ''}",
                  file=sys.stderr, flush=True)  # fmt: skip
            return 128 + signum


if __name__ == "__main__":
    sys.exit(main())
