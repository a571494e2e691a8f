"""Issue 13 (13e): the CLI reads the book's raw NewsClassification file as given. Where the overflow of rows split
by an unquoted separator is unambiguous (one text column, then only label columns that the trailing fields read
as), it is merged back with a warning giving the count and the separator; anything else stays a one-line error
that names ``--merge-sep``; library calls keep their explicit ``extra_fields=`` behaviour."""

from __future__ import annotations

import csv
import gzip
import json
import logging

import pytest
from cli_helpers import assert_one_line_error, head, run_cli
from generated import BOOK_DAMAGED_LINE

from textcls.conversion import section_from_dict
from textcls.data import TabularDataset
from textcls.data.columns import ColumnChoice, choose_columns, read_dataset
from textcls.data.fields import Field, LabelField, RawField
from textcls.data.readers import read_table
from textcls.errors import DataError
from textcls.read_options import ReadOptions

FAST = ["--epochs", "1", "--seed", "0", "--device", "cpu", "--threads", "1", "--set", "data.max_length=30"]


def _repaired(path) -> tuple[list[str], int]:
    """The README's repair rule: strip the trailing empty fields, the text is ``';'.join(fields[1:-4])``; and the
    number of rows it repairs (more than 6 fields)."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[1:]
    texts, split = [], 0
    for fields in rows:
        while fields and fields[-1] == "":
            fields.pop()
        texts.append(";".join(fields[1:-4]))
        split += len(fields) > 6
    return texts, split


def _merge_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "had the text split by" in r.getMessage()]


def test_cli_trains_on_the_generated_book_file_merging_the_split_rows(generated, tmp_path, caplog):
    train = generated.book / "train.csv.gz"
    _, split = _repaired(train)
    assert split > 1
    with caplog.at_level(logging.WARNING, logger="textcls"):
        status, _, err = run_cli("train", train, "--model", "bag", *FAST, "--output", tmp_path / "run")
    assert status == 0, err
    assert _merge_warnings(caplog) == [
        f"train.csv.gz: {split} rows had the text split by ';' — merged back (pass --extra-fields skip to drop them "
        "instead)"
    ]
    columns = json.loads((tmp_path / "run" / "columns.json").read_text())
    assert columns["overflow_sep"] == ";" and columns["text_columns"] == ["content"]
    # the saved choice reads the same file again (its split rows merged with the saved separator)
    status, out, err = run_cli("evaluate", tmp_path / "run", train)
    assert status == 0, err
    assert out.splitlines()[0].split() == ["examples", "1,200"]


def test_inspect_reads_the_raw_book_file(generated, caplog):
    with caplog.at_level(logging.WARNING, logger="textcls"):
        status, out, err = run_cli("inspect", generated.book / "train.csv.gz")
    assert status == 0, err
    assert "1,200" in out and len(_merge_warnings(caplog)) == 1


def test_user_sentence_bilstm_on_a_small_raw_book_file(generated, tmp_path, caplog):
    small = head(generated.book / "train.csv.gz", tmp_path / "train.csv", 120)
    with caplog.at_level(logging.WARNING, logger="textcls"):
        status, _, err = run_cli("train", small, "--model", "bilstm", *FAST, "--output", tmp_path / "run")
    assert status == 0, err
    assert len(_merge_warnings(caplog)) == 1 and "by ';'" in _merge_warnings(caplog)[0]


def test_cli_extra_fields_skip_is_obeyed(generated, tmp_path, caplog):
    train = generated.book / "train.csv.gz"
    with caplog.at_level(logging.WARNING, logger="textcls"):
        status, _, err = run_cli(
            "train", train, "--model", "bag", *FAST, "--extra-fields", "skip", "--output", tmp_path / "run"
        )
    assert status == 0, err
    assert _merge_warnings(caplog) == []
    assert json.loads((tmp_path / "run" / "columns.json").read_text())["overflow_sep"] is None


def test_a_given_merge_sep_is_used_as_given(generated):
    options = ReadOptions(merge_sep=" | ")
    assert choose_columns(generated.book / "train.csv.gz", options=options).overflow_sep == " | "


@pytest.mark.data
def test_real_book_file_merges_as_the_readme_repair_rule(shared_data, caplog):
    train = shared_data / "ag_news" / "packt_newsclassification" / "train.csv.gz"
    texts, split = _repaired(train)
    assert split == 397
    with caplog.at_level(logging.WARNING, logger="textcls"):
        choice = choose_columns(train)
    assert choice.overflow_sep == ";"
    assert _merge_warnings(caplog)[0].startswith("train.csv.gz: 397 rows had the text split by ';'")
    dataset = read_dataset(train, choice, Field(tokenize=str.split), LabelField())
    assert [example.text for example in dataset] == [text.split() for text in texts]


def _write(path, lines: list[str]):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_overflow_with_a_column_after_the_text_that_is_no_label_stays_one_line(tmp_path):
    rows = [f"a long enough text number {i} here,{'ab'[i % 2]},note {i}" for i in range(20)]
    path = _write(tmp_path / "data.csv", ["text,label,note", *rows, "split, text here,a,note x"])
    status, _, err = run_cli("train", path, "--model", "bag", *FAST, "--output", tmp_path / "run")
    assert_one_line_error(status, err, "data.csv:22:", "--extra-fields merge --merge-sep SEP")


@pytest.mark.parametrize(
    "bad_row, line",
    [("9,split; text,here,2,0", 6), ("9,split text,here,1,1", 6)],
    ids=["not-0/1", "two-ones"],
)
def test_overflow_whose_labels_do_not_parse_stays_one_line(tmp_path, bad_row, line):
    rows = [f"{i},a long enough text number {i} here,{i % 2},{1 - i % 2}" for i in range(4)]
    ok = "8,a split; text,with a piece,0,1"
    path = _write(tmp_path / "data.csv", ["id,content,A,B", *rows[:3], ok, bad_row, rows[3]])
    status, _, err = run_cli("train", path, "--model", "bag", *FAST, "--output", tmp_path / "run")
    assert_one_line_error(status, err, "--merge-sep SEP")
    assert choose_columns(path).overflow_sep is None


def test_single_label_column_merges_with_the_file_delimiter_when_the_label_was_seen(tmp_path):
    rows = [f"a long enough text number {i} here,{'ab'[i % 2]}" for i in range(6)]
    path = _write(tmp_path / "data.csv", ["text,label", *rows, "one, two, three,b"])
    choice = choose_columns(path)
    assert choice.overflow_sep == ","
    dataset = read_dataset(path, choice, Field(tokenize=str.split), LabelField())
    assert dataset[-1].text == ["one,", "two,", "three"]
    unseen = _write(tmp_path / "unseen.csv", ["text,label", *rows, "one, two, three,c"])
    assert choose_columns(unseen).overflow_sep is None


def test_library_calls_keep_their_explicit_extra_fields_behaviour(generated):
    train = generated.book / "train.csv.gz"
    fields = {"content": ("text", RawField()), ("Business", "SciTech", "Sports", "World"): ("label", LabelField())}
    with pytest.raises(DataError, match=rf":{BOOK_DAMAGED_LINE}:.*--extra-fields merge --merge-sep SEP"):
        TabularDataset(train, fields=fields, skip_header=True)
    with pytest.raises(DataError, match=rf":{BOOK_DAMAGED_LINE}:"):
        read_table(train, has_header=True)
    merged = read_table(train, ReadOptions(extra_fields="merge", merge_sep=";"), has_header=True, merge_column=1)
    assert [row.values[1] for row in merged.rows] == _repaired(train)[0]


def test_a_saved_column_choice_without_overflow_sep_still_loads():
    old = {"column_names": ["text", "label"], "has_header": True, "text_columns": ["text"]}
    choice = section_from_dict(ColumnChoice, {**old, "label_columns": ["label"], "one_hot": False})
    assert choice.overflow_sep is None
