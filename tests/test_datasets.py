"""TabularDataset and Dataset: every file format (plain and gzipped), field specs by position and by name,
one-hot and multi-label columns, ``splits`` and the legacy ``Dataset.split`` semantics."""

import csv
import gzip
import io
import json
import random
from collections import Counter

import pytest
import torch

from textcls.data import (
    Dataset,
    Example,
    Field,
    Iterator,
    LabelField,
    MultiLabelField,
    OneHot,
    RawField,
    TabularDataset,
)
from textcls.errors import TextclsError

REVIEWS = [
    ("101", "A gripping thriller, with a twist I never saw coming.", "pos"),
    ("102", 'Dull; the plot drags and the "acting" is wooden.', "neg"),
    ("103", "Beautifully shot but emotionally hollow.", "neg"),
    ("104", "I laughed, I cried, I bought the soundtrack.", "pos"),
    ("105", "Two hours of my life I will never get back.", "neg"),
]
HEADER = ("id", "text", "label")
TOPICS = ["Business", "SciTech", "Sports", "World"]
NEWS = [
    ("0", "Stocks rallied after the central bank held rates.", "Business"),
    ("1", "A new chip doubles battery life in phones.", "SciTech"),
    ("2", "The home side won the final in extra time.", "Sports"),
    ("3", "Leaders met to discuss the border treaty.", "World"),
    ("4", "Oil prices slipped as inventories rose.", "Business"),
    ("5", "Researchers mapped the genome of a rare frog.", "SciTech"),
]


def _write(path, text: str, gz: bool):
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def _delimited(rows, delimiter=",", header=HEADER) -> str:
    if delimiter == "\t":  # TSV as most tools write it: no quoting at all
        return "".join("\t".join(row) + "\n" for row in ([header] if header is not None else []) + list(rows))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _records(rows=REVIEWS):
    return [dict(zip(HEADER, row)) for row in rows]


def _file_text(kind: str) -> str:
    if kind in ("csv", "tsv"):
        return _delimited(REVIEWS, "," if kind == "csv" else "\t")
    if kind in ("jsonl", "json"):  # JSON lines (".json" holding one object per line is also accepted)
        return "".join(json.dumps(record) + "\n" for record in _records())
    if kind == "json-array":
        return json.dumps(_records(), indent=2)
    raise AssertionError(kind)


def _fields():
    return Field(lower=True), LabelField()


def _onehot_rows(rows=NEWS):
    return [(row_id, text, *("1" if topic == label else "0" for topic in TOPICS)) for row_id, text, label in rows]


# ------------------------------------------------------------------------------------------------- formats
@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize("kind", ["csv", "tsv", "jsonl", "json", "json-array"])
def test_every_format_reads_by_name(tmp_path, kind, gz):
    ext = "json" if kind == "json-array" else kind
    path = _write(tmp_path / (f"reviews.{ext}" + (".gz" if gz else "")), _file_text(kind), gz)
    text, label = _fields()
    ds = TabularDataset(path, fields={"text": ("text", text), "label": ("label", label), "id": ("id", RawField())})
    assert len(ds) == len(REVIEWS)
    assert [ex.text for ex in ds] == [body.lower().split() for _, body, _ in REVIEWS]
    assert [ex.label for ex in ds] == [lab for _, _, lab in REVIEWS]
    assert [ex.id for ex in ds] == [row_id for row_id, _, _ in REVIEWS]
    # the attribute generator, legacy style
    assert list(ds.label) == ["pos", "neg", "neg", "pos", "neg"]


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize("kind", ["csv", "tsv"])
def test_explicit_format_overrides_extension(tmp_path, kind, gz):
    path = _write(tmp_path / ("data.dat" + (".gz" if gz else "")), _file_text(kind), gz)
    text, label = _fields()
    ds = TabularDataset(
        path, format=kind.upper(), fields=[("id", None), ("text", text), ("label", label)], skip_header=True
    )
    assert len(ds) == 5
    assert ds[1].text == ["dull;", "the", "plot", "drags", "and", "the", '"acting"', "is", "wooden."]


def test_txt_extension_reads_as_tsv(tmp_path):
    path = _write(tmp_path / "reviews.txt", _delimited(REVIEWS, "\t", header=None), gz=False)
    text, label = _fields()
    ds = TabularDataset(path, fields=[("id", None), ("text", text), ("label", label)])
    assert len(ds) == 5 and ds[0].label == "pos"


def test_positional_fields_with_none_skips_and_header(tmp_path):
    path = _write(tmp_path / "reviews.csv", _delimited(REVIEWS), gz=False)
    text, label = _fields()
    for skip in (None, ("id", None)):  # a bare None and the legacy ("name", None) both skip the column
        ds = TabularDataset(path, format="csv", fields=[skip, ("text", text), ("label", label)], skip_header=True)
        assert len(ds) == 5, "the header must not become an example"
        assert not hasattr(ds[0], "id")
        assert ds[0].text[:3] == ["a", "gripping", "thriller,"]
        assert [ex.label for ex in ds] == [lab for _, _, lab in REVIEWS]
        assert ds.fields["text"] is text and ds.fields["label"] is label


def test_without_skip_header_the_header_is_data(tmp_path):
    path = _write(tmp_path / "reviews.csv", _delimited(REVIEWS), gz=False)
    text, label = _fields()
    ds = TabularDataset(path, format="csv", fields=[("id", None), ("text", text), ("label", label)])
    assert len(ds) == 6 and ds[0].label == "label"


def test_dict_fields_pick_columns_by_header_name_in_any_order(tmp_path):
    # columns in a different order than the dict, plus an unused column and spaces around a header name
    rows = [(lab, "x", body, row_id) for row_id, body, lab in REVIEWS]
    path = _write(tmp_path / "r.csv", _delimited(rows, header=("label", "unused", " text ", "id")), gz=False)
    text, label = _fields()
    ds = TabularDataset(path, fields={"text": ("review", text), "label": ("sentiment", label)})
    assert set(ds.fields) == {"review", "sentiment"}
    assert ds.fields["review"] is text and ds.fields["sentiment"] is label
    assert [ex.sentiment for ex in ds] == [lab for _, _, lab in REVIEWS]
    assert list(ds.review)[4] == "two hours of my life i will never get back.".split()


def test_dict_fields_build_vocab_and_batch(tmp_path):
    path = _write(tmp_path / "r.jsonl", _file_text("jsonl"), gz=False)
    text, label = _fields()
    ds = TabularDataset(path, fields={"text": ("review", text), "label": ("sentiment", label)})
    text.build_vocab(ds)
    label.build_vocab(ds)
    assert len(label.vocab) == 2 and label.vocab.itos[0] == "neg"  # most frequent label first
    batch = next(iter(Iterator(ds, batch_size=5, train=False)))
    assert batch.review.shape[1] == 5  # [time, batch] by default
    assert batch.sentiment.shape == (5,) and sorted(batch.sentiment.tolist()) == [0, 0, 0, 1, 1]
    review, sentiment = batch
    assert review is batch.review and sentiment is batch.sentiment


def test_bom_is_ignored_in_header(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeff".encode() + _delimited(REVIEWS).encode())
    text, label = _fields()
    ds = TabularDataset(path, fields={"id": ("id", RawField()), "text": ("text", text), "label": ("label", label)})
    assert ds[0].id == "101"


def test_quoted_multiline_text_is_one_example(tmp_path):
    rows = [("1", "first line\nsecond line", "pos"), ("2", "plain", "neg")]
    path = _write(tmp_path / "m.csv", _delimited(rows), gz=False)
    text, label = _fields()
    ds = TabularDataset(path, fields={"text": ("text", text), "label": ("label", label)})
    assert [ex.text for ex in ds] == [["first", "line", "second", "line"], ["plain"]]


# ------------------------------------------------------------------------------------------------- one-hot
def test_onehot_columns_in_positional_list(tmp_path):
    path = _write(tmp_path / "news.csv", _delimited(_onehot_rows(), header=("id", "content", *TOPICS)), gz=False)
    text, label = Field(lower=True), LabelField()
    ds = TabularDataset(
        path, fields=[("id", None), ("content", text), ("topic", OneHot(label, TOPICS))], skip_header=True
    )
    assert [ex.topic for ex in ds] == [lab for _, _, lab in NEWS]
    assert ds.fields["topic"] is label
    label.build_vocab(ds)
    assert sorted(label.vocab.itos) == sorted(TOPICS)


def test_onehot_columns_in_positional_list_gz_tsv_without_header(tmp_path):
    path = _write(tmp_path / "news.tsv.gz", _delimited(_onehot_rows(), "\t", header=None), gz=True)
    label = LabelField()
    ds = TabularDataset(path, fields=[None, ("content", Field()), ("topic", OneHot(label, TOPICS))])
    assert [ex.topic for ex in ds] == [lab for _, _, lab in NEWS]


def test_onehot_columns_via_tuple_key_in_dict(tmp_path):
    # indicator columns not adjacent, and not in the OneHot order in the file
    header = ("World", "id", "Sports", "content", "Business", "SciTech")
    rows = []
    for row_id, body, lab in NEWS:
        flags = {topic: "1" if topic == lab else "0" for topic in TOPICS}
        rows.append((flags["World"], row_id, flags["Sports"], body, flags["Business"], flags["SciTech"]))
    path = _write(tmp_path / "news.csv", _delimited(rows, header=header), gz=False)
    text, label = Field(), LabelField()
    ds = TabularDataset(path, fields={"content": ("text", text), tuple(TOPICS): ("label", label)})
    assert [ex.label for ex in ds] == [lab for _, _, lab in NEWS]
    assert set(ds.fields) == {"text", "label"} and ds.fields["label"] is label
    text.build_vocab(ds)
    label.build_vocab(ds)
    batch = next(iter(Iterator(ds, batch_size=6, train=False, sort=False)))
    assert [label.vocab.itos[i] for i in batch.label.tolist()] == [lab for _, _, lab in NEWS]


def test_onehot_json_with_numbers_and_booleans(tmp_path):
    lines = []
    for _, body, lab in NEWS:
        record = {"text": body, **{t: int(t == lab) for t in TOPICS[:2]}, **{t: t == lab for t in TOPICS[2:]}}
        lines.append(json.dumps(record))
    path = _write(tmp_path / "news.jsonl", "\n".join(lines) + "\n", gz=False)
    ds = TabularDataset(path, fields={"text": ("text", Field()), tuple(TOPICS): ("label", LabelField())})
    assert [ex.label for ex in ds] == [lab for _, _, lab in NEWS]


# ---------------------------------------------------------------------------------------------- multi-label
MOVIES = [
    ("Heat", "A cop hunts a crew of thieves across Los Angeles.", "crime|drama"),
    ("Up", "An old man ties balloons to his house and flies away.", "animation|comedy| drama"),
    ("Alien", "The crew of a ship meets a deadly creature.", "horror|scifi"),
    ("Clue", "Guests at a mansion try to solve a murder.", "comedy"),
]


def test_multilabel_from_separator_column(tmp_path):
    path = _write(tmp_path / "movies.csv", _delimited(MOVIES, header=("title", "plot", "genres")), gz=False)
    plot, genres = Field(), MultiLabelField()
    ds = TabularDataset(path, fields={"plot": ("plot", plot), "genres": ("genres", genres)})
    assert ds[1].genres == ["animation", "comedy", "drama"]
    plot.build_vocab(ds)
    genres.build_vocab(ds)
    assert set(genres.vocab.itos) == {"crime", "drama", "animation", "comedy", "horror", "scifi"}
    batch = next(iter(Iterator(ds, batch_size=4, train=False, sort=False)))
    assert batch.genres.dtype == torch.float and batch.genres.shape == (4, 6)
    assert batch.genres.sum(1).tolist() == [2, 3, 2, 1]
    for row, (_, _, tags) in zip(batch.genres, MOVIES):
        on = {genres.vocab.itos[i] for i in row.nonzero().flatten().tolist()}
        assert on == {t.strip() for t in tags.split("|")}


@pytest.mark.parametrize("by", ["list", "dict"])
def test_multilabel_from_onehot_columns(tmp_path, by):
    tags = ["crime", "drama", "comedy"]
    rows = [
        ("Heat", "cops and thieves", "1", "1", "0"),
        ("Clue", "a murder mystery farce", "0", "0", "1"),
        ("Fargo", "a kidnapping goes wrong", "1", "1", "1"),
    ]
    path = _write(tmp_path / "m.csv", _delimited(rows, header=("title", "plot", *tags)), gz=False)
    plot, field = Field(), MultiLabelField()
    if by == "list":
        fields = [("title", None), ("plot", plot), ("tags", OneHot(field, tags))]
        ds = TabularDataset(path, fields=fields, skip_header=True)
    else:
        ds = TabularDataset(path, fields={"plot": ("plot", plot), tuple(tags): ("tags", field)})
    assert [ex.tags for ex in ds] == [["crime", "drama"], ["comedy"], ["crime", "drama", "comedy"]]
    plot.build_vocab(ds)
    field.build_vocab(ds)
    batch = next(iter(Iterator(ds, batch_size=3, train=False, sort=False)))
    assert batch.tags.sum(1).tolist() == [2, 1, 3]


# --------------------------------------------------------------------------------------------------- splits
def test_tabular_splits(tmp_path):
    for name, rows in (("train", REVIEWS), ("valid", REVIEWS[:2]), ("test", REVIEWS[2:])):
        _write(tmp_path / f"{name}.csv", _delimited(rows), gz=False)
    text, label = _fields()
    fields = [("id", None), ("text", text), ("label", label)]
    train, valid, test = TabularDataset.splits(
        path=tmp_path,
        train="train.csv",
        validation="valid.csv",
        test="test.csv",
        format="csv",
        fields=fields,
        skip_header=True,
    )
    assert (len(train), len(valid), len(test)) == (5, 2, 3)
    assert all(isinstance(d, TabularDataset) for d in (train, valid, test))
    assert test[0].text == REVIEWS[2][1].lower().split()
    pair = TabularDataset.splits(
        path=str(tmp_path), train="train.csv", test="test.csv", fields=fields, skip_header=True
    )
    assert [len(d) for d in pair] == [5, 3]


def _numbered_dataset(n=100):
    text, label = Field(), LabelField()
    fields = [("id", RawField()), ("text", text), ("label", label)]
    examples = [Example.fromlist([i, f"doc number {i}", "even" if i % 2 == 0 else "odd"], fields) for i in range(n)]
    return Dataset(examples, fields)


def _ids(ds):
    return [ex.id for ex in ds]


def test_split_float_ratio():
    ds = _numbered_dataset()
    train, test = ds.split(0.7, random_state=1)
    assert (len(train), len(test)) == (70, 30)
    assert sorted(_ids(train) + _ids(test)) == list(range(100))
    assert _ids(train) != list(range(70)), "split must shuffle"
    assert set(train.fields) == set(ds.fields)


def test_split_two_ratios_is_train_test():
    train, test = _numbered_dataset().split([0.8, 0.2], random_state=1)
    assert (len(train), len(test)) == (80, 20)
    train, test = _numbered_dataset().split([4, 1], random_state=1)  # relative sizes
    assert (len(train), len(test)) == (80, 20)


def test_split_three_ratios_returns_train_valid_test():
    # legacy torchtext: ratios are given as [train, test, valid] but the splits come back as (train, valid, test)
    ds = _numbered_dataset()
    train, valid, test = ds.split([0.5, 0.3, 0.2], random_state=3)
    assert (len(train), len(valid), len(test)) == (50, 20, 30)
    assert sorted(_ids(train) + _ids(valid) + _ids(test)) == list(range(100))


def test_split_random_state_reproducible():
    ds = _numbered_dataset()
    first = [_ids(part) for part in ds.split([0.6, 0.2, 0.2], random_state=42)]
    again = [_ids(part) for part in ds.split([0.6, 0.2, 0.2], random_state=42)]
    other = [_ids(part) for part in ds.split([0.6, 0.2, 0.2], random_state=43)]
    assert first == again
    assert first != other
    state = random.Random(7).getstate()
    assert [_ids(p) for p in ds.split(0.5, random_state=state)] == [_ids(p) for p in ds.split(0.5, random_state=state)]


def test_split_bad_ratios():
    ds = _numbered_dataset()
    for bad in (1.0, 0.0, 1.5, [0.5], [0.2, 0.3, 0.4, 0.1], [-1, 2]):
        with pytest.raises(TextclsError):
            ds.split(bad)
    with pytest.raises(TextclsError, match="strata_field"):
        ds.split(0.5, stratified=True, strata_field="nope")


def test_stratified_split_small():
    ds = _numbered_dataset()
    train, test = ds.split(0.7, stratified=True, random_state=0)
    assert Counter(train.label) == {"even": 35, "odd": 35}
    assert Counter(test.label) == {"even": 15, "odd": 15}


@pytest.fixture(scope="module")
def ag_news(generated):
    label = LabelField()
    fields = [("label", label), ("title", None), ("text", Field(tokenize="basic_english"))]
    return TabularDataset(generated.ag_news, format="csv", fields=fields)


@pytest.fixture(scope="module")
def ag_rows(generated):
    """The generated AG-News-like file's rows ``(class, title, description)``, read with the csv module."""
    return list(csv.reader(io.StringIO(gzip.decompress(generated.ag_news.read_bytes()).decode("utf-8"))))


def test_ag_news_loads(ag_news, ag_rows):
    assert len(ag_news) == len(ag_rows) == 1200
    assert Counter(ag_news.label) == Counter(row[0] for row in ag_rows) == {"1": 300, "2": 300, "3": 300, "4": 300}
    # basic_english lowercases and splits off punctuation (the generated descriptions have only ',' and '.')
    expected = [row[2].lower().replace(",", " , ").replace(".", " . ").split() for row in ag_rows]
    assert ag_news[0].text[:4] == expected[0][:4]
    assert [ex.text for ex in ag_news] == expected


def test_stratified_split_keeps_ag_news_label_proportions(ag_news, ag_rows):
    per_class = Counter(row[0] for row in ag_rows)
    train, test = ag_news.split(0.8, stratified=True, strata_field="label", random_state=0)
    assert Counter(train.label) == {c: round(0.8 * n) for c, n in per_class.items()} == {c: 240 for c in "1234"}
    assert Counter(test.label) == {c: n - round(0.8 * n) for c, n in per_class.items()}
    train, valid, test = ag_news.split([0.7, 0.2, 0.1], stratified=True, strata_field="label", random_state=0)
    # legacy semantics: the test split takes the middle ratio, the validation split the rest
    assert Counter(train.label) == {c: round(0.7 * n) for c, n in per_class.items()}
    assert Counter(valid.label) == {c: n - round(0.7 * n) - round(0.2 * n) for c, n in per_class.items()}
    assert Counter(test.label) == {c: round(0.2 * n) for c, n in per_class.items()} == {c: 60 for c in "1234"}
    # the classes are interleaved, not left in blocks
    assert len(set(list(train.label)[:40])) == 4
    seen = {id(ex) for part in (train, valid, test) for ex in part}
    assert len(seen) == len(ag_rows)


def test_unstratified_split_of_ag_news_is_reproducible(ag_news, ag_rows):
    a = ag_news.split(0.9, random_state=5)
    b = ag_news.split(0.9, random_state=5)
    assert [len(p) for p in a] == [round(0.9 * len(ag_rows)), len(ag_rows) - round(0.9 * len(ag_rows))] == [1080, 120]
    assert [ex.text for ex in a[1]] == [ex.text for ex in b[1]]


def test_filter_pred(tmp_path):
    path = _write(tmp_path / "reviews.csv", _delimited(REVIEWS), gz=False)
    text, label = _fields()
    ds = TabularDataset(
        path, fields={"text": ("text", text), "label": ("label", label)}, filter_pred=lambda ex: ex.label == "pos"
    )
    assert len(ds) == 2 and set(ds.label) == {"pos"}
