"""Bad input files: each mistake is a DataError whose message names the file (and the line where there is one)
and says how to fix or work around it; the recoveries (merge / skip / replace) work and are logged."""

import csv
import gzip
import io
import json
import logging

import pytest
from generated import BOOK_DAMAGED_LINE, BOOK_PADDING

from textcls.data import Field, LabelField, MultiLabelField, OneHot, RawField, TabularDataset
from textcls.data.readers import read_table
from textcls.errors import DataError, TextclsError
from textcls.read_options import ReadOptions

TOPICS = ["Business", "SciTech", "Sports", "World"]
GOOD_ROWS = [
    "1,Shares of the carmaker rose after upbeat earnings,pos",
    "2,The airline cut its forecast for the third time,neg",
    "3,Regulators approved the merger without conditions,pos",
    "4,Analysts expect a weak quarter for retailers,neg",
]


def _csv(tmp_path, lines, name="data.csv", header="id,text,label"):
    path = tmp_path / name
    body = "\n".join(([header] if header is not None else []) + list(lines)) + "\n"
    path.write_bytes(gzip.compress(body.encode()) if name.endswith(".gz") else body.encode())
    return path


def _fields():
    return [("id", None), ("text", Field()), ("label", LabelField())]


def _load(path, **kwargs):
    kwargs.setdefault("fields", _fields())
    kwargs.setdefault("skip_header", True)
    return TabularDataset(path, **kwargs)


def _raises(path, *fragments, line=None, **kwargs):
    """Load ``path``, expect a DataError naming the file (and ``line``), containing every fragment."""
    with pytest.raises(DataError) as info:
        _load(path, **kwargs)
    err = info.value
    message = str(err)
    assert isinstance(err, TextclsError) and isinstance(err, ValueError)
    assert path.name in message, message
    if line is not None:
        assert err.line == line, message
        assert f"{path.name}:{line}:" in message, message
    assert err.path is not None and message.startswith(err.path)
    explanation = message[len(err.path) :]  # the path itself (pytest's tmp dir) must not satisfy a fragment
    for fragment in fragments:
        assert fragment in explanation, f"{fragment!r} not in {message!r}"
    return message


def _warnings(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "textcls" and r.levelno == logging.WARNING]


# ------------------------------------------------------------------------------------------------ the file
def test_missing_file(tmp_path):
    _raises(tmp_path / "nope.csv", "not found")


def test_missing_file_without_extension_says_not_found(tmp_path):
    # a mistyped path must be reported as missing, not as an unsupported file type
    _raises(tmp_path / "train_data", "not found")


def test_directory_with_data_extension(tmp_path):
    (tmp_path / "train.csv").mkdir()
    _raises(tmp_path / "train.csv", "directory")


def test_directory_given_instead_of_file(tmp_path):
    # the usual mistake: passing the folder that holds train/valid/test
    folder = tmp_path / "news"
    folder.mkdir()
    _raises(folder, "directory", format="csv")
    _raises(folder, "directory")


def test_unknown_extension(tmp_path):
    path = tmp_path / "data.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a spreadsheet")
    _raises(path, "unknown extension", "csv, tsv, json, jsonl")


def test_unknown_format_name(tmp_path):
    path = _csv(tmp_path, GOOD_ROWS)
    _raises(path, "unknown format 'parquet'", "csv, tsv, json, jsonl", format="parquet")


@pytest.mark.parametrize("content", [b"", b"\n\n  \n", gzip.compress(b"")], ids=["zero-bytes", "blank", "gz"])
def test_empty_file(tmp_path, content):
    path = tmp_path / ("empty.csv.gz" if content.startswith(b"\x1f\x8b") else "empty.csv")
    path.write_bytes(content)
    _raises(path, "empty")


def test_header_only(tmp_path):
    path = _csv(tmp_path, [])
    _raises(path, "header but no data rows")
    with pytest.raises(DataError, match="header but no data rows"):
        TabularDataset(path, fields={"text": ("text", Field())})


def test_corrupt_gzip(tmp_path):
    path = tmp_path / "data.csv.gz"
    path.write_bytes(gzip.compress(("id,text,label\n" + "\n".join(GOOD_ROWS)).encode())[:30])
    _raises(path, "gzip")


def test_bad_policy_names(tmp_path):
    path = _csv(tmp_path, GOOD_ROWS)
    with pytest.raises(DataError, match="extra_fields"):
        _load(path, extra_fields="ignore")
    with pytest.raises(DataError, match="bad_rows"):
        _load(path, bad_rows="drop")


# ---------------------------------------------------------------------------------------------- the header
def test_misnamed_column_suggests_close_match(tmp_path):
    path = _csv(tmp_path, GOOD_ROWS)
    message = _raises(
        path,
        "'lable'",
        "did you mean 'label'?",
        "columns are: id, text, label",
        line=1,
        fields={"text": ("text", Field()), "lable": ("label", LabelField())},
    )
    assert "not found in the header" in message


def test_misnamed_onehot_column(tmp_path):
    path = _csv(tmp_path, ["0,rates rise,1,0,0,0"], header="id,content," + ",".join(TOPICS))
    _raises(
        path,
        "'SciTec'",
        "did you mean 'SciTech'?",
        line=1,
        fields={"content": ("text", Field()), ("Business", "SciTec", "Sports", "World"): ("label", LabelField())},
    )


# --------------------------------------------------------------------------------------------- ragged rows
RAGGED = [
    GOOD_ROWS[0],
    "2,Prices fell 3,5% in a week,neg",  # an unquoted comma inside the text: line 3 of the file
    GOOD_ROWS[2],
    "4,Apple Inc.&lt,AAPL.O&gt, on Tuesday shipped a new app,pos",  # two of them: line 5
]


def test_too_many_fields_is_an_error_naming_the_line(tmp_path):
    path = _csv(tmp_path, RAGGED)
    _raises(path, "4 fields", "3 columns", "extra_fields='merge'", "extra_fields='skip'", line=3)


def test_too_many_fields_merge_rejoins_text(tmp_path, caplog):
    path = _csv(tmp_path, RAGGED)
    with caplog.at_level(logging.WARNING, logger="textcls"):
        ds = _load(
            path,
            extra_fields="merge",
            fields=[("id", None), ("text", Field(tokenize=str.split)), ("label", LabelField())],
        )
    assert len(ds) == 4
    assert ds[1].text == "Prices fell 3,5% in a week".split()
    assert ds[3].text == "Apple Inc.&lt,AAPL.O&gt, on Tuesday shipped a new app".split()
    assert [ex.label for ex in ds] == ["pos", "neg", "pos", "pos"]
    assert any("merged" in w and w.endswith(": 2") for w in _warnings(caplog)), _warnings(caplog)


def test_merge_without_text_field_is_still_an_error(tmp_path):
    path = _csv(tmp_path, RAGGED)
    _raises(
        path,
        "4 fields",
        line=3,
        extra_fields="merge",
        fields=[("id", None), ("text", RawField()), ("label", LabelField())],
    )


def test_merge_sep_semicolon(tmp_path):
    path = _csv(tmp_path, RAGGED)
    ds = _load(
        path,
        extra_fields="merge",
        merge_sep=";",
        fields=[("id", RawField()), ("text", Field(tokenize=str.split)), ("label", LabelField())],
    )
    assert " ".join(ds[3].text) == "Apple Inc.&lt;AAPL.O&gt; on Tuesday shipped a new app"
    assert [ex.id for ex in ds] == ["1", "2", "3", "4"]


def test_merge_into_middle_column_by_header_name(tmp_path):
    path = _csv(tmp_path, ["7,pos,great, cheap, and fast,2024"], header="id,label,review,year")
    ds = TabularDataset(
        path,
        extra_fields="merge",
        fields={
            "review": ("review", Field(tokenize=str.split)),
            "label": ("label", LabelField()),
            "year": ("year", RawField()),
        },
    )
    assert ds[0].review == ["great,", "cheap,", "and", "fast"]
    assert (ds[0].label, ds[0].year) == ("pos", "2024")


def test_merge_into_last_column(tmp_path):
    # AG News layout: label first, text last
    path = _csv(tmp_path, ["3,Oil rose 2,5% on supply fears", "4,New phone launched"], header="label,text")
    ds = _load(path, extra_fields="merge", fields=[("label", LabelField()), ("text", Field(tokenize=str.split))])
    assert ds[0].text == ["Oil", "rose", "2,5%", "on", "supply", "fears"]
    assert [ex.label for ex in ds] == ["3", "4"]


def test_windows_line_endings_keep_line_numbers(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(b"id,text,label\r\n1,fine row,pos\r\n2,fine too,neg\r\n3,one,two,three,pos\r\n")
    _raises(path, "5 fields", line=4)
    ds = _load(path, extra_fields="skip")
    assert [ex.text for ex in ds] == [["fine", "row"], ["fine", "too"]]


def test_too_many_fields_skip(tmp_path, caplog):
    path = _csv(tmp_path, RAGGED)
    with caplog.at_level(logging.WARNING, logger="textcls"):
        ds = _load(path, extra_fields="skip")
    assert len(ds) == 2
    assert [ex.text[0] for ex in ds] == ["Shares", "Regulators"]
    assert any("extra fields skipped" in w and w.endswith(": 2") for w in _warnings(caplog)), _warnings(caplog)


def test_too_few_fields(tmp_path, caplog):
    path = _csv(tmp_path, [GOOD_ROWS[0], GOOD_ROWS[1], "3,no label here", GOOD_ROWS[3]])
    _raises(path, "2 fields", "3 columns", "bad_rows='skip'", line=4)
    with caplog.at_level(logging.WARNING, logger="textcls"):
        ds = _load(path, bad_rows="skip")
    assert [ex.label for ex in ds] == ["pos", "neg", "neg"]
    assert any("too few fields skipped" in w and w.endswith(": 1") for w in _warnings(caplog)), _warnings(caplog)


def test_trailing_empty_columns_are_dropped_and_logged(tmp_path, caplog):
    lines = [row + ",,," for row in GOOD_ROWS]
    lines[2] = GOOD_ROWS[2]  # one row without the padding
    path = _csv(tmp_path, lines, header="id,text,label,,,")
    with caplog.at_level(logging.WARNING, logger="textcls"):
        ds = _load(path)
        by_name = TabularDataset(path, fields={"text": ("text", Field()), "label": ("label", LabelField())})
    assert [ex.label for ex in ds] == ["pos", "neg", "pos", "neg"]
    assert [ex.label for ex in by_name] == ["pos", "neg", "pos", "neg"]
    warnings = _warnings(caplog)
    assert any("padding columns dropped" in w and w.endswith(": 3") for w in warnings), warnings
    assert any("trailing empty fields trimmed" in w and w.endswith(": 3") for w in warnings), warnings


def test_trailing_empty_fields_without_header(tmp_path):
    path = _csv(tmp_path, [row + ",," for row in GOOD_ROWS], header=None)
    ds = _load(path, skip_header=False)
    assert len(ds) == 4 and ds[3].label == "neg"


def test_line_numbers_count_multiline_records(tmp_path):
    lines = ['1,"a quoted text\nthat spans\nthree lines",pos', "2,fine,neg", "3,one,too,many,neg"]
    path = _csv(tmp_path, lines)
    _raises(path, "5 fields", line=6)


def test_malformed_quoting_names_line(tmp_path):
    path = _csv(tmp_path, [GOOD_ROWS[0], '2,"quoted" then junk,neg'])
    _raises(path, "malformed", line=3, csv_reader_params={"strict": True})


# ----------------------------------------------------------------------------------------- missing values
@pytest.mark.parametrize("text", ["", "   ", '""'])
def test_an_empty_text_is_a_valid_row_kept_and_counted(tmp_path, text):
    path = _csv(tmp_path, [GOOD_ROWS[0], f"2,{text},neg", GOOD_ROWS[2]])
    for bad_rows in ("error", "skip"):  # not a bad row: --bad-rows skip keeps it too
        ds = _load(path, bad_rows=bad_rows)
        assert [ex.label for ex in ds] == ["pos", "neg", "pos"] and ds[1].text == []
        assert (ds.empty_texts, ds.rows_skipped) == (1, 0)


def test_an_empty_text_without_header_is_kept(tmp_path):
    path = _csv(tmp_path, [GOOD_ROWS[0], "2,,neg"], header=None)
    ds = _load(path, skip_header=False)
    assert len(ds) == 2 and ds.empty_texts == 1


@pytest.mark.parametrize("label", ["", "nan", "NaN", " null "])
def test_missing_label(tmp_path, label, caplog):
    path = _csv(tmp_path, [GOOD_ROWS[0], GOOD_ROWS[1], f"3,Markets were closed for the holiday,{label}"])
    _raises(path, "missing label", "'label'", line=4)
    with caplog.at_level(logging.WARNING, logger="textcls"):
        ds = _load(path, bad_rows="skip")
    assert len(ds) == 2
    assert any("missing label" in w for w in _warnings(caplog)), _warnings(caplog)


def test_missing_multilabel(tmp_path):
    path = _csv(tmp_path, ["1,a film,drama|crime", "2,another film,"], header="id,plot,genres")
    _raises(
        path,
        "missing label",
        "'genres'",
        line=3,
        fields=[("id", None), ("plot", Field()), ("genres", MultiLabelField())],
    )


def test_every_row_bad_and_skipped(tmp_path):
    path = _csv(tmp_path, ["1,a text,", "2,another,nan"])
    _raises(path, "no usable rows", bad_rows="skip")


# ------------------------------------------------------------------------------------------------ encoding
LATIN1 = "id,text,label\n1,plain ascii,pos\n2,a caf\xe9 opened downtown,pos\n3,na\xefve plan,neg\n".encode("latin-1")


@pytest.mark.parametrize("name", ["latin.csv", "latin.csv.gz"])
def test_non_utf8_bytes_name_the_line(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(gzip.compress(LATIN1) if name.endswith(".gz") else LATIN1)
    _raises(path, "0xe9", "utf-8", "encoding='latin-1'", "encoding_errors='replace'", line=3)


def test_encoding_errors_replace(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(LATIN1)
    ds = _load(path, encoding_errors="replace")
    assert ds[1].text == ["a", "caf\ufffd", "opened", "downtown"]
    assert ds[2].text[0] == "na\ufffdve"


def test_latin1_encoding(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(LATIN1)
    ds = _load(path, encoding="latin-1")
    assert ds[1].text == ["a", "café", "opened", "downtown"]
    assert ds[2].text[0] == "naïve"


# ---------------------------------------------------------------------------------------------------- JSON
def _jsonl(tmp_path, lines, name="data.jsonl"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


JSON_FIELDS = {"text": ("text", Field()), "label": ("label", LabelField())}


def test_invalid_json_line(tmp_path):
    lines = ['{"text": "fine", "label": "a"}', "", '{"text": "broken, "label": "b"}']
    _raises(_jsonl(tmp_path, lines), "invalid JSON", line=3, fields=JSON_FIELDS)


def test_json_line_not_an_object(tmp_path):
    _raises(
        _jsonl(tmp_path, ['{"text": "fine", "label": "a"}', '["text", "b"]']),
        "not a JSON object",
        line=2,
        fields=JSON_FIELDS,
    )


def test_invalid_json_array_names_line(tmp_path):
    path = tmp_path / "data.json"
    path.write_text('[\n  {"text": "ok", "label": "a"},\n  {"text": "bad" "label": "b"}\n]\n')
    _raises(path, "invalid JSON", line=3, fields=JSON_FIELDS)


def test_json_object_missing_key(tmp_path):
    lines = ['{"text": "fine", "label": "a"}', '{"text": "fine too", "label": "b"}', '{"text": "no label"}']
    _raises(_jsonl(tmp_path, lines), "'label'", "missing", line=3, fields=JSON_FIELDS)


def test_json_null_label_and_empty_text(tmp_path):
    lines = ['{"text": "fine", "label": "a"}', '{"text": "x", "label": null}']
    _raises(_jsonl(tmp_path, lines), "missing label", line=2, fields=JSON_FIELDS)
    lines = ['{"text": "fine", "label": "a"}', '{"text": "", "label": "b"}']
    ds = TabularDataset(_jsonl(tmp_path, lines, "b.jsonl"), fields=JSON_FIELDS, bad_rows="skip")
    assert len(ds) == 2 and ds.empty_texts == 1 and ds[1].text == []


def test_jsonl_text_with_unicode_line_separator(tmp_path):
    # JSON Lines are separated by "\n" only; U+2028 / U+0085 are legal unescaped inside a JSON string
    # (json.dumps(..., ensure_ascii=False) writes them raw) and must not split a record
    records = [{"text": "first part\u2028second part", "label": "a"}, {"text": "caf\u00e9\u0085menu", "label": "b"}]
    path = _jsonl(tmp_path, [json.dumps(r, ensure_ascii=False) for r in records])
    ds = TabularDataset(path, fields=JSON_FIELDS)
    assert [ex.label for ex in ds] == ["a", "b"]
    assert ds[0].text == ["first", "part", "second", "part"]


def test_json_needs_dict_fields(tmp_path):
    path = _jsonl(tmp_path, ['{"text": "fine", "label": "a"}'])
    with pytest.raises(TextclsError, match="dict"):
        TabularDataset(path, fields=[("text", Field()), ("label", LabelField())])


# -------------------------------------------------------------------------------------------------- one-hot
def _onehot_csv(tmp_path, bad_row):
    lines = ["0,Stocks rallied,1,0,0,0", "1,New chip ships,0,1,0,0", bad_row, "3,Border talks resume,0,0,0,1"]
    return _csv(tmp_path, lines, header="id,content," + ",".join(TOPICS))


def _onehot_fields():
    return [("id", None), ("content", Field()), ("label", OneHot(LabelField(), TOPICS))]


def test_onehot_row_with_two_ones(tmp_path, caplog):
    path = _onehot_csv(tmp_path, "2,Sports business deal,1,0,1,0")
    _raises(path, "2 ones", "exactly 1", line=4, fields=_onehot_fields())
    with caplog.at_level(logging.WARNING, logger="textcls"):
        ds = _load(path, fields=_onehot_fields(), bad_rows="skip")
    assert [ex.label for ex in ds] == ["Business", "SciTech", "World"]
    assert _warnings(caplog)


def test_onehot_row_with_no_ones(tmp_path):
    _raises(_onehot_csv(tmp_path, "2,Unlabelled story,0,0,0,0"), "0 ones", line=4, fields=_onehot_fields())


def test_onehot_non_binary_value(tmp_path):
    path = _onehot_csv(tmp_path, "2,A match report,0,0,2,0")
    _raises(path, "'Sports'", "'2'", "0 or 1", line=4, fields=_onehot_fields())
    with pytest.raises(DataError, match="'yes'"):
        TabularDataset(
            _onehot_csv(tmp_path, "2,A match report,0,0,yes,0"),
            fields={"content": ("text", Field()), tuple(TOPICS): ("label", LabelField())},
        )


def test_read_table_reports_notes(tmp_path):
    path = _csv(tmp_path, [row + ",," for row in RAGGED], header="id,text,label,,")
    table = read_table(path, ReadOptions(extra_fields="merge"), has_header=True, merge_column="text")
    assert table.header == ["id", "text", "label"]
    assert [row.line for row in table.rows] == [2, 3, 4, 5]
    assert table.rows[3].values == ["4", "Apple Inc.&lt,AAPL.O&gt, on Tuesday shipped a new app", "pos"]
    assert table.notes["empty padding columns dropped from the header"] == 2
    assert table.notes["rows with trailing empty fields trimmed"] == 4


# ------------------------------------------------------------------ the book's defective files (Packt)
AG_CLASS_TO_COLUMN = {"1": "World", "2": "Sports", "3": "Business", "4": "SciTech"}


@pytest.fixture(scope="module")
def ag_rows(shared_data):
    """AG News test.csv rows as (class, title, description); the Packt ``id`` is the 0-based row index."""
    text = gzip.decompress((shared_data / "ag_news" / "test.csv.gz").read_bytes()).decode("utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 7600
    return rows


def _packt_fields():
    label = Field(sequential=False, use_vocab=False)
    return [("id", RawField()), ("content", Field()), *[(name, label) for name in TOPICS]]


def _assert_default_read_names_the_damaged_line(path, line):
    with pytest.raises(DataError) as info:
        TabularDataset(path, format="csv", fields=_packt_fields(), skip_header=True)
    assert info.value.line == line
    assert f"{path.name}:{line}:" in str(info.value)
    assert "6 columns" in str(info.value) and "extra_fields='merge'" in str(info.value)


def _merged_packt_rows(path, caplog, truth, first_id, count, merged=True):
    """Read a book file with ``extra_fields='merge', merge_sep=';'`` and check every row against ``truth`` (an id's
    AG class and description, known independently of the file's own columns).

    Args:
        path: the book-style file.
        caplog: pytest's log capture (cleared first).
        truth: ``truth(id) -> (ag_class, description)``.
        first_id: the file's first id.
        count: its number of rows.
        merged: whether some of its rows need merging (and a warning says so).

    Returns:
        ``(dataset, ids whose merged text differs from the description)``.
    """
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="textcls"):
        ds = TabularDataset(
            path, format="csv", fields=_packt_fields(), skip_header=True, extra_fields="merge", merge_sep=";"
        )
    assert len(ds) == count
    assert [int(ex.id) for ex in ds] == list(range(first_id, first_id + count))
    assert any("merged" in w for w in _warnings(caplog)) == merged
    mismatched_text = []
    for ex in ds:
        ag_class, description = truth(int(ex.id))
        flags = [getattr(ex, name) for name in TOPICS]
        assert sorted(flags) == ["0", "0", "0", "1"], (ex.id, flags)
        assert TOPICS[flags.index("1")] == AG_CLASS_TO_COLUMN[ag_class], ex.id
        if ex.content != description.split():
            mismatched_text.append(ex.id)
    return ds, mismatched_text


def test_packt_file_default_read_names_line_13(generated):
    _assert_default_read_names_the_damaged_line(generated.book / "train.csv.gz", BOOK_DAMAGED_LINE)
    assert BOOK_DAMAGED_LINE == 13  # as in the book's train.csv


@pytest.mark.parametrize("split", ["train", "valid", "test"])
def test_packt_file_merge_recovers_every_row(generated, caplog, split):
    """The generated book files: a row's class is its id's AG class (``1 + id % 4``); its description is what the
    csv module reads from the content and the fields that its unquoted commas split off, joined back with ';'."""
    path = generated.book / f"{split}.csv.gz"
    rows = [next(csv.reader([line])) for line in gzip.decompress(path.read_bytes()).decode("utf-8").splitlines()[1:]]
    descriptions = [";".join(row[1 : -len(TOPICS) - BOOK_PADDING]) for row in rows]
    overflowing = [row_id for row_id, row in enumerate(rows) if len(row) > 2 + len(TOPICS) + BOOK_PADDING]
    truth = lambda row_id: (str(1 + row_id % 4), descriptions[row_id])  # noqa: E731
    ds, mismatched_text = _merged_packt_rows(path, caplog, truth, 0, len(rows), merged=bool(overflowing))
    assert mismatched_text == []
    # only train.csv has damaged rows (the first on line 13); the ';' they lost are back
    assert [int(ex.id) for ex in ds if "AAPL.O&gt;" in " ".join(ex.content)] == overflowing
    assert (BOOK_DAMAGED_LINE - 2 in overflowing and len(overflowing) > 1) if split == "train" else overflowing == []


def test_real_packt_files(shared_data, ag_rows, caplog):
    """The book's own files: the ids are AG test.csv rows, and each merged row is AG's class and description."""
    folder = shared_data / "ag_news" / "packt_newsclassification"
    _assert_default_read_names_the_damaged_line(folder / "train.csv.gz", 13)
    truth = lambda row_id: (ag_rows[row_id][0], ag_rows[row_id][2])  # noqa: E731
    for split, first_id, count in [("train", 0, 5000), ("valid", 5000, 1000), ("test", 6000, 1600)]:
        ds, mismatched_text = _merged_packt_rows(folder / f"{split}.csv.gz", caplog, truth, first_id, count)
        # the merged text equals AG's description (whitespace aside) everywhere but two rows whose source text the
        # book's own preprocessing altered (an HTML width="1" became width="World")
        assert mismatched_text == {"train": ["2586"], "valid": ["5181"], "test": []}[split]
        if split == "train":
            assert "Inc.&lt;AAPL.O&gt;" in " ".join(ds[11].content)
            assert ds[11].content[:6] == ["LOS", "ANGELES", "(Reuters)", "-", "Apple", "Computer"]


def test_one_read_options_value_reads_as_the_legacy_keywords_do(tmp_path):
    """``read_dataset`` / ``choose_columns`` take one ``ReadOptions``; ``TabularDataset``'s legacy keywords build the
    same one, so both read the same examples (here: overflow fields merged back with ';', a latin-1 byte replaced)."""
    from textcls.data.columns import choose_columns, read_dataset

    path = tmp_path / "semi.csv"
    path.write_bytes(b"text;label\ncaf\xe9 good;pos\nbad;film;neg\n")
    options = ReadOptions(extra_fields="merge", merge_sep=";", encoding_errors="replace",
                          csv_reader_params={"delimiter": ";"})  # fmt: skip
    choice = choose_columns(path, options=options)
    assert (choice.text_columns, choice.label_columns) == (["text"], ["label"])
    text, label = Field(), LabelField()
    read = read_dataset(path, choice, text, label, options)
    legacy = TabularDataset(path, fields={"text": ("text", Field()), "label": ("label", LabelField())},
                            extra_fields="merge", merge_sep=";", encoding_errors="replace",
                            csv_reader_params={"delimiter": ";"})  # fmt: skip
    assert [vars(e) for e in read] == [vars(e) for e in legacy]
    assert [e.text for e in read] == [["caf\ufffd", "good"], ["bad;film"]]
    with pytest.raises(DataError, match="byte 0xe9 is not valid utf-8"):  # the defaults: strict decoding
        read_dataset(path, choice, Field(), LabelField(), ReadOptions(csv_reader_params={"delimiter": ";"}))
