"""The ``textcls`` command line.

Every subcommand turns a :class:`~textcls.errors.TextclsError` (a mistake the user can fix) into one line on
stderr and exit status 2; other exceptions are bugs and keep their traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

from textcls.errors import TextclsError

log = logging.getLogger("textcls")


def _csv_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def add_table_options(parser: argparse.ArgumentParser) -> None:
    """Options that say how to read a user's csv/tsv/json file (shared by every data-reading command)."""
    group = parser.add_argument_group("reading the file")
    group.add_argument("--format", choices=["csv", "tsv", "json", "jsonl"], help="file format (default: extension)")
    group.add_argument("--text-col", type=_csv_list, help="text column(s), comma-separated; several are joined")
    group.add_argument("--label-col", help="label column (default: detected)")
    group.add_argument("--columns", type=_csv_list, help="names for a header-less file's columns, comma-separated")
    group.add_argument("--no-header", action="store_true", help="the file has no header row")
    group.add_argument(
        "--extra-fields",
        choices=["error", "merge", "skip"],
        default="error",
        help="rows with too many fields: stop (default), merge the overflow into the text, or skip them",
    )
    group.add_argument("--merge-sep", default=",", help="separator put back when merging overflow fields")
    group.add_argument("--bad-rows", choices=["error", "skip"], default="error", help="rows missing text or label")
    group.add_argument("--encoding", default="utf-8", help="file encoding (default utf-8)")


def read_options(args) -> dict:
    """The reader keyword arguments chosen by :func:`add_table_options`."""
    return {
        "extra_fields": args.extra_fields,
        "merge_sep": args.merge_sep,
        "bad_rows": args.bad_rows,
        "encoding": args.encoding,
    }


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

    from textcls.data import Field, LabelField, make_batches, padding_fraction
    from textcls.data.columns import choose_columns, read_dataset

    timings = {}
    start = time.perf_counter()
    choice = choose_columns(
        args.file, args.text_col, args.label_col, args.columns, args.no_header, args.format, encoding=args.encoding
    )
    text = Field(tokenize=args.tokenizer, lower=args.lower, include_lengths=True, batch_first=True)
    label = LabelField()
    dataset = read_dataset(args.file, choice, text, label, format=args.format, **read_options(args))
    timings["read + tokenize"] = time.perf_counter() - start

    start = time.perf_counter()
    text.build_vocab(dataset, min_freq=args.min_freq)
    label.build_vocab(dataset)
    timings["build vocab"] = time.perf_counter() - start

    lengths = [len(example.text) for example in dataset]
    start = time.perf_counter()
    bucketed = make_batches(lengths, args.batch_size, order="bucket", rng=random.Random(0))
    for indices in bucketed:
        text.process([dataset[i].text for i in indices])
    timings["bucket + numericalize"] = time.perf_counter() - start
    shuffled = make_batches(lengths, args.batch_size, order="shuffled", rng=random.Random(0))

    tokens = sum(lengths)
    ordered = sorted(lengths)
    counts = {name: 0 for name in label.vocab.itos}
    for example in dataset:
        counts[example.label] += 1
    print(f"file            {args.file}")
    print(f"columns         {choice.describe()}{'' if choice.has_header else ' (no header)'}")
    print(f"examples        {len(dataset):,}")
    print(f"classes         {len(counts)}: " + ", ".join(f"{name} ({n:,})" for name, n in counts.items()))
    print(f"tokenizer       {args.tokenizer}{' + lower' if args.lower else ''}")
    print(
        f"tokens          {tokens:,}  (per text: mean {statistics.fmean(lengths):.1f}, median "
        f"{statistics.median(lengths):g}, 95th pct {ordered[int(0.95 * (len(ordered) - 1))]}, max {ordered[-1]})"
    )
    print(f"vocabulary      {len(text.vocab):,} tokens (min_freq={args.min_freq}, with <unk>, <pad>)")
    print(
        f"padding @ {args.batch_size:<5} bucketed {padding_fraction(bucketed, lengths):.1%} vs random batches "
        f"{padding_fraction(shuffled, lengths):.1%}"
    )
    total = sum(timings.values())
    stages = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in timings.items())
    print(f"time            {total:.2f} s ({tokens / total:,.0f} tokens/s): {stages}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="textcls", description="PyTorch text classification toolkit.")
    parser.add_argument("-v", "--verbose", action="store_true", help="more logging")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    tokenizers = commands.add_parser("tokenizers", help="list the named tokenizers")
    tokenizers.add_argument("text", nargs="?", help="show each tokenizer's output on this text")
    tokenizers.set_defaults(run=cmd_tokenizers)

    inspect = commands.add_parser("inspect", help="run the data pipeline on a file and summarise it")
    inspect.add_argument("file", help="csv / tsv / json / jsonl file (optionally .gz)")
    inspect.add_argument("--tokenizer", default="basic_english", help="tokenizer name (see 'textcls tokenizers')")
    inspect.add_argument("--lower", action="store_true", help="lower-case tokens")
    inspect.add_argument("--min-freq", type=int, default=1, help="drop rarer tokens from the vocabulary")
    inspect.add_argument("--batch-size", type=int, default=64, help="batch size for the padding figures")
    add_table_options(inspect)
    inspect.set_defaults(run=cmd_inspect)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``textcls`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s: %(message)s", stream=sys.stderr
    )
    try:
        return args.run(args)
    except TextclsError as exc:
        print(f"textcls: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("textcls: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
