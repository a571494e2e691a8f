"""Legacy ``TabularDataset`` reading (torchtext.data 0.8 / torchtext.legacy.data 0.11): positional field lists
shorter than the rows, csv/tsv quoting, dotted JSON keys, ``(name, None)`` fields — and the textcls rule that
merging overflow fields back into the text never joins a label (or any other real column) into it."""

import csv
import gzip
import json
import logging

import pytest
import torch
from generated import BOOK_DAMAGED_LINE

from textcls.data import Example, Field, Iterator, LabelField, RawField, TabularDataset
from textcls.errors import ArgumentError, DataError

TOPICS = ["Business", "SciTech", "Sports", "World"]
# (id, description, topic): some descriptions hold ';' (HTML entities), which the book's files turned into
# field separators wherever the description was written unquoted
STORIES = [
    ("0", "Oil rose as stocks of crude fell for a third week.", "Business"),
    ("1", "Apple Computer Inc.&lt;AAPL.O&gt; shipped a new video editor.", "SciTech"),
    ("2", "The home side won the final; fans stormed the pitch.", "Sports"),
    ("3", "Leaders met in Geneva, and talks on the treaty resumed.", "World"),
    ("4", "Ivory Coast #39;s neighbours were urged to enforce the embargo.", "World"),
    ("5", "Shares of IBM &lt;IBM.N&gt; slipped; analysts &lt;b&gt;cut&lt;/b&gt; forecasts.", "Business"),
    ("6", "A rare frog was found in Peru, and named after a singer.", "SciTech"),
]
PADDED_WIDTH = 11  # every line of the book's files has this many raw fields, the padding being empty


def _book_line(row_id: str, text: str, topic: str) -> list[str]:
    if "," in text or '"' in text:
        content = '"' + text.replace('"', '""') + '"'  # quoted: its ';' survived
    else:
        content = text.replace(";", ",")  # unquoted: every ';' became a separator
    flags = ["1" if name == topic else "0" for name in TOPICS]
    return [row_id, content, *flags]


def _write_book_like(path, stories=STORIES, padding=True):
    """A file with the book's defects: padded header and rows, and ';' turned into ',' in unquoted texts."""
    lines = [["id", "content", *TOPICS]] + [_book_line(*story) for story in stories]
    out = []
    for fields in lines:
        line = ",".join(fields)
        raw_fields = line.count(",") + 1  # the fields csv will see in an unquoted line (enough for the padding)
        if padding:
            line += "," * max(0, PADDED_WIDTH - raw_fields)
        out.append(line)
    data = ("\n".join(out) + "\n").encode("utf-8")
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def _split_text():
    return Field(tokenize=str.split)


def _warnings(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "textcls" and r.levelno == logging.WARNING]


# ------------------------------------------------------------------------------- short positional field lists
def test_short_field_list_reads_the_first_columns(tmp_path):
    # legacy zipped the fields with the row: later columns are simply not read
    path = tmp_path / "news.csv"
    path.write_text("id,content,Business,SciTech,Sports,World\n7,Markets rallied,1,0,0,0\n8,New chip,0,1,0,0\n")
    content = _split_text()
    ds = TabularDataset(path, format="csv", fields=[("id", None), ("content", content)], skip_header=True)
    assert [ex.content for ex in ds] == [["Markets", "rallied"], ["New", "chip"]]
    assert ds.fields == {"id": None, "content": content}
    assert not hasattr(ds[0], "id")


def test_book_test_datafields_short_list_with_merge_equals_the_descriptions(tmp_path):
    path = _write_book_like(tmp_path / "test.csv.gz")
    test_datafields = [("id", None), ("content", _split_text())]  # as the book wrote it
    ds = TabularDataset(
        path, format="csv", fields=test_datafields, skip_header=True, extra_fields="merge", merge_sep=";"
    )
    assert [" ".join(ex.content) for ex in ds] == [text for _, text, _ in STORIES]


@pytest.mark.parametrize("short", [True, False], ids=["short-list", "full-list"])
def test_merge_never_joins_label_columns_into_the_text(tmp_path, short):
    path = _write_book_like(tmp_path / "train.csv")
    label = Field(sequential=False, use_vocab=False)
    fields = [("id", RawField()), ("content", _split_text())]
    if not short:
        fields += [(name, label) for name in TOPICS]
    ds = TabularDataset(path, format="csv", fields=fields, skip_header=True, extra_fields="merge", merge_sep=";")
    for ex, (row_id, text, topic) in zip(ds, STORIES, strict=True):
        assert ex.id == row_id
        assert " ".join(ex.content) == text
        assert not any(token in ("0", "1") or token.endswith((",0", ",1")) for token in ex.content), ex.content
        if not short:
            assert [getattr(ex, name) for name in TOPICS] == ["1" if name == topic else "0" for name in TOPICS]


def test_short_list_without_merge_names_the_first_overflow_line(tmp_path):
    path = _write_book_like(tmp_path / "test.csv")
    with pytest.raises(DataError) as info:
        TabularDataset(path, format="csv", fields=[("id", None), ("content", _split_text())], skip_header=True)
    # line 3 holds story 1, the first unquoted description with a ';' in it; the width is the file's (6 named
    # columns), not the fields list's (2)
    assert info.value.line == 3
    assert "row has 8 fields but the file has 6 columns" in str(info.value)
    assert "extra_fields='merge'" in str(info.value)


def test_short_list_skip_drops_only_the_overflow_rows(tmp_path, caplog):
    path = _write_book_like(tmp_path / "test.csv")
    with caplog.at_level(logging.WARNING, logger="textcls"):
        ds = TabularDataset(
            path,
            format="csv",
            fields=[("id", RawField()), ("content", _split_text())],
            skip_header=True,
            extra_fields="skip",
        )
    overflowing = {"1", "2", "4", "5"}  # unquoted descriptions with ';'
    assert [ex.id for ex in ds] == [row_id for row_id, _, _ in STORIES if row_id not in overflowing]
    assert any("extra fields skipped" in w and w.endswith(": 4") for w in _warnings(caplog)), _warnings(caplog)


def test_short_list_with_a_dict_of_the_same_file_agrees(tmp_path):
    path = _write_book_like(tmp_path / "test.csv")
    by_position = TabularDataset(
        path, fields=[None, ("content", _split_text())], skip_header=True, extra_fields="merge", merge_sep=";"
    )
    by_name = TabularDataset(path, fields={"content": ("content", _split_text())}, extra_fields="merge", merge_sep=";")
    assert [ex.content for ex in by_position] == [ex.content for ex in by_name]


def _check_the_books_short_fields(path, first_id, count, damaged_line):
    """The book's short ``test_datafields`` (id and content only) read a book-style file as the full list does.

    Args:
        path: the book-style file (``id,content,Business,SciTech,Sports,World`` and padding).
        first_id: its first id.
        count: its number of rows.
        damaged_line: its first line whose content has unquoted commas.
    """
    label = Field(sequential=False, use_vocab=False)
    full = [("id", RawField()), ("content", _split_text())] + [(name, label) for name in TOPICS]
    test_datafields = [("id", RawField()), ("content", _split_text())]
    read = {"format": "csv", "skip_header": True, "extra_fields": "merge", "merge_sep": ";"}
    whole = TabularDataset(path, fields=full, **read)
    short = TabularDataset(path, fields=test_datafields, **read)
    assert len(short) == len(whole) == count
    assert [ex.id for ex in short] == [str(i) for i in range(first_id, first_id + count)]
    assert [ex.content for ex in short] == [ex.content for ex in whole]
    # not one text ends with the one-hot flags of its row (the corruption a short list used to cause)
    assert not any(ex.content[-1].endswith((",0", ",1")) for ex in short)
    with pytest.raises(DataError) as info:
        TabularDataset(path, fields=test_datafields, format="csv", skip_header=True)
    assert info.value.line == damaged_line and "the file has 6 columns" in str(info.value)


def test_generated_book_file_with_the_books_short_fields(generated):
    """The generated twin of the next test: its train.csv has damaged rows (its test.csv has none)."""
    path = generated.book / "train.csv.gz"
    count = len(gzip.decompress(path.read_bytes()).decode("utf-8").splitlines()) - 1  # the header
    _check_the_books_short_fields(path, 0, count, BOOK_DAMAGED_LINE)


def test_real_book_test_file_with_the_books_short_fields(shared_data):
    path = shared_data / "ag_news" / "packt_newsclassification" / "test.csv.gz"
    _check_the_books_short_fields(path, 6000, 1600, 6)


# --------------------------------------------------------------------------------------- header-less files
def test_headerless_rows_longer_than_the_list_are_read_by_their_first_columns(tmp_path, caplog):
    path = tmp_path / "pos.tsv"
    path.write_text("NN\tdog\textra\nVB\truns\textra\nJJ\tbig\textra\tmore\n")
    with caplog.at_level(logging.WARNING, logger="textcls"):
        ds = TabularDataset(path, format="tsv", fields=[("tag", RawField()), ("word", RawField())])
    assert [(ex.tag, ex.word) for ex in ds] == [("NN", "dog"), ("VB", "runs"), ("JJ", "big")]
    assert any("read by their first 2 columns" in w for w in _warnings(caplog)), _warnings(caplog)


def test_headerless_row_shorter_than_the_list_is_an_error_unless_skipped(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text("pos,great film,2020\nneg\npos,fine,2022\n")
    fields = [("label", LabelField()), ("text", _split_text())]
    with pytest.raises(DataError) as info:
        TabularDataset(path, format="csv", fields=fields)
    assert info.value.line == 2 and "pairs.csv:2:" in str(info.value)
    assert "fields list reads 2 columns" in str(info.value) and "bad_rows='skip'" in str(info.value)
    ds = TabularDataset(path, format="csv", fields=fields, bad_rows="skip")
    assert [ex.label for ex in ds] == ["pos", "pos"]


def test_headerless_merge_uses_the_files_width_not_the_lists(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text("pos,great film,2020\nneg,dull,2021\npos,cheap, and fast,2022\n")
    ds = TabularDataset(
        path, format="csv", fields=[("label", LabelField()), ("text", _split_text())], extra_fields="merge"
    )
    assert [ex.text for ex in ds] == [["great", "film"], ["dull"], ["cheap,", "and", "fast"]]


def test_headerless_full_list_still_flags_overflow(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text("pos,great film,2020\npos,cheap, and fast,2022\n")
    fields = [("label", LabelField()), ("text", _split_text()), ("year", RawField())]
    with pytest.raises(DataError) as info:
        TabularDataset(path, format="csv", fields=fields)
    assert info.value.line == 2 and "4 fields" in str(info.value)


def test_headerless_overflow_in_the_first_row_is_still_caught(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text("pos,cheap, and fast,2022\npos,great film,2020\nneg,dull,2021\n")
    fields = [("label", LabelField()), ("text", _split_text()), ("year", RawField())]
    with pytest.raises(DataError) as info:
        TabularDataset(path, format="csv", fields=fields)
    assert info.value.line == 1 and "4 fields" in str(info.value)
    ds = TabularDataset(path, format="csv", fields=fields, extra_fields="merge")
    assert [ex.year for ex in ds] == ["2022", "2020", "2021"]


# ---------------------------------------------------------------------------------------------------- quoting
@pytest.mark.parametrize("delimiter", [",", "\t"], ids=["csv", "tsv"])
def test_quotes_and_quoted_newlines_as_csv_reader_reads_them(tmp_path, delimiter):
    path = tmp_path / ("q.csv" if delimiter == "," else "q.tsv")
    with path.open("w", newline="") as f:
        writer = csv.writer(f, delimiter=delimiter, lineterminator="\n")
        writer.writerows([['He said "hi"', "1"], ["two\nlines", "0"], ["plain", "1"]])
    assert '"He said ""hi"""' in path.read_text()
    ds = TabularDataset(path, fields=[("text", RawField()), ("label", RawField())])
    assert [ex.text for ex in ds] == ['He said "hi"', "two\nlines", "plain"]
    assert [ex.label for ex in ds] == ["1", "0", "1"]


def test_legacy_newlines_in_text_file(tmp_path):
    # the file of legacy's test_input_with_newlines_in_text: quoted fields holding a newline, both formats
    for delimiter, fmt in ((",", "csv"), ("\t", "tsv")):
        path = tmp_path / f"newline.{fmt}"
        path.write_text(
            f'"hello \n world"{delimiter}1\n"there is a \n newline"{delimiter}0\n"no newline"{delimiter}1\n'
        )
        ds = TabularDataset(path, format=fmt, fields=[("text", Field(lower=True)), ("label", LabelField())])
        assert [ex.text for ex in ds] == [["hello", "world"], ["there", "is", "a", "newline"], ["no", "newline"]]
        assert [ex.label for ex in ds] == ["1", "0", "1"]


def test_tsv_quote_none_reads_quotes_as_characters(tmp_path):
    path = tmp_path / "raw.tsv"
    path.write_text('"Best film ever" says critic\tpos\n5" screen\tneg\n')
    ds = TabularDataset(
        path, fields=[("text", RawField()), ("label", RawField())], csv_reader_params={"quoting": csv.QUOTE_NONE}
    )
    assert [ex.text for ex in ds] == ['"Best film ever" says critic', '5" screen']


def test_stray_quote_error_names_the_line_and_quote_none(tmp_path):
    path = tmp_path / "stray.tsv"
    path.write_text('text\tlabel\n"Wow, great\tpos\nfine\tneg\nok\tpos\n')
    fields = [("text", RawField()), ("label", RawField())]
    with pytest.raises(DataError) as info:
        TabularDataset(path, fields=fields, skip_header=True)
    assert info.value.line == 2 and "spans several lines" in str(info.value) and "QUOTE_NONE" in str(info.value)
    ds = TabularDataset(path, fields=fields, skip_header=True, csv_reader_params={"quoting": csv.QUOTE_NONE})
    assert [ex.text for ex in ds] == ['"Wow, great', "fine", "ok"]


def test_csv_reader_params_reach_csv_reader(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("text;label\nbonjour, monde;fr\nhello, world;en\n")
    ds = TabularDataset(
        path,
        fields={"text": ("text", RawField()), "label": ("label", RawField())},
        csv_reader_params={"delimiter": ";"},
    )
    assert [(ex.text, ex.label) for ex in ds] == [("bonjour, monde", "fr"), ("hello, world", "en")]


def test_fields_longer_than_csv_field_limit(tmp_path):
    # legacy lifted csv's 128 KiB field limit; a long document is a legitimate field
    document = "word " * 40_000
    path = tmp_path / "long.csv"
    path.write_text(f'"{document}",pos\nshort,neg\n')
    ds = TabularDataset(path, fields=[("text", _split_text()), ("label", RawField())])
    assert len(ds[0].text) == 40_000
    assert csv.field_size_limit() == 131072  # and the process-wide limit is left as it was


# ---------------------------------------------------------------------------------------------- dotted JSON
FOODS = [
    {"foods": {"fruits": ["Apple", "Banana"], "vegetables": [{"name": "Broccoli"}, {"name": "Cabbage"}]}},
    {"foods": {"fruits": ["Cherry"], "vegetables": [{"name": "Leek", "color": "green"}]}},
]


def _jsonl(path, records):
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def test_dotted_keys_reach_into_objects_and_lists(tmp_path):
    path = _jsonl(tmp_path / "foods.jsonl", FOODS)
    ds = TabularDataset(
        path, format="json", fields={"foods.vegetables.name": ("vegs", Field()), "foods.fruits": ("fruits", Field())}
    )
    assert [ex.vegs for ex in ds] == [["Broccoli", "Cabbage"], ["Leek"]]
    assert [ex.fruits for ex in ds] == [["Apple", "Banana"], ["Cherry"]]


def test_invalid_dotted_key_is_a_value_error_naming_the_record(tmp_path):
    path = _jsonl(tmp_path / "foods.jsonl", FOODS)
    with pytest.raises(ValueError) as info:
        TabularDataset(path, format="json", fields={"foods.vegetables.color": ("colors", Field())})
    assert isinstance(info.value, DataError) and info.value.line == 1
    assert "'foods.vegetables.color'" in str(info.value) and "no 'color' under 'foods.vegetables'" in str(info.value)


def test_example_from_json_dotted_keys_and_errors():
    fields = {"foods.vegetables.name": ("vegs", RawField()), "foods.fruits": [("fruits", RawField()), ("n", None)]}
    example = Example.fromJSON(json.dumps(FOODS[0]), fields)
    assert vars(example) == {"vegs": ["Broccoli", "Cabbage"], "fruits": ["Apple", "Banana"]}
    with pytest.raises(ValueError, match="foods.vegetables.color"):
        Example.fromJSON(json.dumps(FOODS[0]), {"foods.vegetables.color": ("c", RawField())})
    with pytest.raises(ValueError, match="food.fruits"):
        Example.fromJSON(json.dumps(FOODS[0]), {"food.fruits": ("c", RawField())})


def test_a_key_with_a_dot_in_its_name_is_read_as_it_is(tmp_path):
    path = _jsonl(tmp_path / "dots.jsonl", [{"user.name": "ann", "user": {"name": "not this"}}])
    ds = TabularDataset(path, fields={"user.name": ("name", RawField())})
    assert ds[0].name == "ann"


# --------------------------------------------------------------------------------------- (name, None) fields
def test_name_none_entries_stay_in_fields_and_are_never_batched(tmp_path):
    path = tmp_path / "nums.tsv"
    path.write_text("0.1\t1\tfirst\n0.5\t12\tsecond\n")
    number = Field(sequential=False, use_vocab=False, dtype=torch.float)
    ds = TabularDataset(path, format="tsv", fields=[("x", number), ("count", None), ("note", None)])
    assert list(ds.fields.items()) == [("x", number), ("count", None), ("note", None)]
    batch = next(iter(Iterator(ds, batch_size=2, shuffle=False, sort=False)))
    assert torch.allclose(batch.x, torch.tensor([0.1, 0.5]))
    assert not hasattr(batch, "count") and not hasattr(ds[0], "count")


def test_name_none_in_a_dict_spec(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("id,text,label\n1,good,pos\n")
    text = _split_text()
    ds = TabularDataset(path, fields={"id": ("id", None), "text": ("text", text), "label": None})
    assert ds.fields == {"id": None, "text": text}
    assert vars(ds[0]) == {"text": ["good"]}


def test_home_in_the_path_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "pos.tsv").write_text("dog\tNN\n")
    ds = TabularDataset("~/pos.tsv", format="tsv", fields=[("word", RawField()), ("tag", RawField())])
    assert (ds[0].word, ds[0].tag) == ("dog", "NN")


def test_unknown_csv_reader_param_is_an_argument_error(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("good,pos\n")
    with pytest.raises(ArgumentError, match="csv_reader_params.*'quotchar'"):
        TabularDataset(path, fields=[("text", RawField()), ("label", RawField())], csv_reader_params={"quotchar": "'"})
