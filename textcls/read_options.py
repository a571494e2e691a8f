"""``ReadOptions``: how a csv/tsv/json/jsonl file is parsed, one value for the readers and the configuration.

:func:`textcls.data.readers.read_table`, :func:`textcls.data.columns.read_dataset` and
:func:`~textcls.data.columns.choose_columns` take one; :class:`~textcls.data.TabularDataset` builds one from its
legacy keyword arguments; the ``data`` section of a run's config reads its keys (:mod:`textcls.config_types`,
which also checks them), and the CLI makes a flag of every field with a ``help``. It lives outside both
:mod:`textcls.data` and the configuration so that neither imports the other, and imports nothing heavy, so
that the CLI builds its flags without importing torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


def cli_flag(default, help: str):
    """A dataclass field with a command-line flag (``--name-with-dashes``) described by ``help``.

    Args:
        default: the field's default.
        help: the flag's help text.
    """
    return field(default=default, metadata={"help": help})


@dataclass
class ReadOptions:
    """How a csv/tsv/json/jsonl file is parsed.

    Args:
        format: ``csv``, ``tsv``, ``json``, ``jsonl`` or ``fasttext`` (``__label__A __label__B text`` lines;
            ``None``: by the file's extension, or ``fasttext`` by content, see
            :func:`~textcls.data.readers.detect_format`).
        extra_fields: rows with too many fields: ``error``, ``merge`` (the overflow goes back into the text,
            joined by ``merge_sep``) or ``skip``.
        merge_sep: separator put back between merged overflow fields.
        bad_rows: rows missing a field or a label: ``error`` or ``skip`` (an empty text is a valid row, kept).
        encoding: the file's text encoding.
        encoding_errors: undecodable bytes: ``strict`` (an error naming the line), ``replace`` or ``ignore``.
        csv_reader_params: extra ``csv.reader`` arguments (``delimiter``, ``quotechar``, ``quoting``, ...); they
            override the format's defaults (config: ``--set data.csv_reader_params.KEY=V``).
    """

    format: Literal["csv", "tsv", "json", "jsonl", "fasttext"] | None = cli_flag(
        None, "file format (default: by extension; '__label__X text' lines: fasttext)"
    )
    extra_fields: Literal["error", "merge", "skip"] = cli_flag(
        "error", "rows with too many fields: stop, merge the overflow into the text, or skip them"
    )
    merge_sep: str = cli_flag(",", "separator put back when merging overflow fields")
    bad_rows: Literal["error", "skip"] = cli_flag("error", "rows missing a field or the label (empty texts are kept)")
    encoding: str = cli_flag("utf-8", "file encoding")
    encoding_errors: Literal["strict", "replace", "ignore"] = cli_flag(
        "strict", "undecodable bytes: stop naming the line, replace them with U+FFFD, or drop them"
    )
    csv_reader_params: dict[str, Any] | None = None
