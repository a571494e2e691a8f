"""Fields, Pipeline, RawField and Example: every Field option with its legacy torchtext behaviour."""

import json

import pytest
import torch

from textcls.data import Dataset, Example, Field, LabelField, MultiLabelField, Pipeline, RawField
from textcls.errors import TextclsError
from textcls.tokenizers import Tokenizer


def built(field, *data, **kwargs):
    """Return ``field`` after building its vocabulary from lists of tokens."""
    field.build_vocab(list(data), **kwargs)
    return field


# --- preprocess --------------------------------------------------------------------------------------------
def test_default_field_splits_on_whitespace_and_strips_newline():
    field = Field()
    assert isinstance(field.tokenize, Tokenizer) and field.tokenize.name == "whitespace"
    assert field.preprocess("Oil prices  rise,\tagain\n") == ["Oil", "prices", "rise,", "again"]
    assert field.preprocess(["already", "Tokens"]) == ["already", "Tokens"]  # lists are not re-tokenized


def test_lower():
    assert Field(lower=True).preprocess("Wall Street CLOSES") == ["wall", "street", "closes"]
    assert Field(sequential=False, lower=True).preprocess("World") == "world"


@pytest.mark.parametrize(
    ("tokenize", "expected"),
    [
        ("basic_english", ["oil", "prices", "rise", ",", "again", "!"]),
        ("regex", ["Oil", "prices", "rise", ",", "again", "!"]),
        ("char", list("Oil prices rise, again!")),
        (lambda s: s.split(","), ["Oil prices rise", " again!"]),
        (None, ["Oil", "prices", "rise,", "again!"]),
    ],
)
def test_tokenize_by_name_or_callable(tokenize, expected):
    assert Field(tokenize=tokenize).preprocess("Oil prices rise, again!") == expected


def test_tokenizer_language():
    field = Field(tokenize="spacy", tokenizer_language="de")
    assert field.tokenize.language == "de"
    assert field.preprocess("Das ist z.B. gut.") == ["Das", "ist", "z.B.", "gut", "."]
    assert Field(tokenize="spacy").preprocess("Das ist z.B. gut.") != field.preprocess("Das ist z.B. gut.")


def test_stop_words_applied_after_lower():
    field = Field(lower=True, stop_words={"the", "a", "on"})
    assert field.preprocess("The cat sat on A mat") == ["cat", "sat", "mat"]
    assert Field(stop_words=["the"]).preprocess("The the") == ["The"]  # case-sensitive without lower


def test_preprocessing_runs_after_tokenize_lower_and_stop_words():
    seen = []

    def prep(tokens):
        seen.append(list(tokens))
        return tokens[::-1]

    field = Field(lower=True, stop_words={"to"}, preprocessing=prep)
    assert field.preprocess("Back To Work") == ["work", "back"]
    assert seen == [["back", "work"]]
    assert Field(preprocessing=Pipeline(lambda t: t[:3])).preprocess("Reuters reports") == ["Reu", "rep"]


# --- pad ---------------------------------------------------------------------------------------------------
BATCH = [["a", "b", "c", "d"], ["e"]]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, [["a", "b", "c", "d"], ["e", "<pad>", "<pad>", "<pad>"]]),
        ({"pad_first": True}, [["a", "b", "c", "d"], ["<pad>", "<pad>", "<pad>", "e"]]),
        ({"init_token": "<s>", "eos_token": "</s>"}, [["<s>", *"abcd", "</s>"], ["<s>", "e", "</s>", *["<pad>"] * 3]]),
        ({"fix_length": 3}, [["a", "b", "c"], ["e", "<pad>", "<pad>"]]),
        ({"fix_length": 3, "truncate_first": True}, [["b", "c", "d"], ["e", "<pad>", "<pad>"]]),
        ({"fix_length": 3, "pad_first": True}, [["a", "b", "c"], ["<pad>", "<pad>", "e"]]),
        # legacy: max_len = fix_length + (init, eos).count(None) - 2, so init/eos count towards fix_length
        (
            {"fix_length": 4, "init_token": "<s>", "eos_token": "</s>"},
            [["<s>", "a", "b", "</s>"], ["<s>", "e", "</s>", "<pad>"]],
        ),
        ({"fix_length": 3, "init_token": "<s>"}, [["<s>", "a", "b"], ["<s>", "e", "<pad>"]]),
        ({"fix_length": 3, "eos_token": "</s>", "truncate_first": True}, [["c", "d", "</s>"], ["e", "</s>", "<pad>"]]),
        (
            {"fix_length": 4, "init_token": "<s>", "eos_token": "</s>", "pad_first": True},
            [["<s>", "a", "b", "</s>"], ["<pad>", "<s>", "e", "</s>"]],
        ),
        ({"fix_length": 6, "pad_token": "_"}, [[*"abcd", "_", "_"], ["e", *"_____"]]),
    ],
)
def test_pad(kwargs, expected):
    padded = Field(**kwargs).pad(BATCH)
    assert padded == expected
    if "fix_length" in kwargs:
        assert all(len(row) == kwargs["fix_length"] for row in padded)


@pytest.mark.parametrize(
    ("kwargs", "lengths"),
    [
        ({}, [4, 1]),
        ({"init_token": "<s>", "eos_token": "</s>"}, [6, 3]),
        ({"fix_length": 3}, [3, 1]),
        ({"fix_length": 4, "init_token": "<s>", "eos_token": "</s>"}, [4, 3]),
        ({"fix_length": 4, "init_token": "<s>", "eos_token": "</s>", "pad_first": True}, [4, 3]),
    ],
)
def test_include_lengths(kwargs, lengths):
    field = built(Field(include_lengths=True, batch_first=True, **kwargs), *BATCH)
    padded, pad_lengths = field.pad(BATCH)
    assert pad_lengths == lengths
    tensor, tensor_lengths = field.process(BATCH)
    assert tensor_lengths.tolist() == lengths
    assert tensor_lengths.dtype == torch.long
    assert tensor.shape == (2, len(padded[0]))
    assert tensor.tolist() == [field.vocab.lookup_indices(row) for row in padded]


def test_include_lengths_needs_tuple_in_numericalize():
    field = built(Field(include_lengths=True), *BATCH)
    with pytest.raises(ValueError):
        field.numericalize([["a"]])


def test_non_sequential_pad_is_identity():
    assert LabelField().pad(["pos", "neg"]) == ["pos", "neg"]


# --- numericalize / process ----------------------------------------------------------------------------------
def test_batch_first_and_time_first_shapes():
    batch = [["the", "cat", "sat"], ["a", "dog"]]
    time_first = built(Field(), *batch)
    batch_first = built(Field(batch_first=True), *batch)
    x_t, x_b = time_first.process(batch), batch_first.process(batch)
    assert x_t.shape == (3, 2) and x_b.shape == (2, 3)
    assert torch.equal(x_t, x_b.t()) and x_t.is_contiguous()
    assert x_b[1].tolist() == [batch_first.vocab["a"], batch_first.vocab["dog"], batch_first.vocab["<pad>"]]
    assert x_t.dtype == torch.long


@pytest.mark.parametrize("dtype", [torch.int32, torch.int64, torch.float32])
def test_dtype(dtype):
    field = built(Field(dtype=dtype), ["a", "b"])
    assert field.process([["a", "b"]]).dtype == dtype


def test_pad_and_unk_tokens():
    field = built(Field(pad_token="<blank>", batch_first=True), ["x", "y"])
    assert field.vocab.itos[:2] == ["<unk>", "<blank>"]
    out = field.process([["x", "y"], ["zzz"]])
    assert out.tolist() == [[2, 3], [0, 1]]  # unknown -> <unk> (0), padding -> <blank> (1)


def test_custom_unk_token_maps_unknown_words():
    field = built(Field(unk_token="<oov>", batch_first=True), ["x"])
    assert field.vocab.itos[:2] == ["<oov>", "<pad>"]
    assert field.process([["x", "never-seen"]]).tolist() == [[2, 0]]


def test_unk_token_none_raises_at_numericalize():
    field = built(Field(unk_token=None), ["x"])
    assert "<unk>" not in field.vocab.itos
    assert field.process([["x"]]).tolist() == [[1]]
    with pytest.raises(TextclsError, match="never-seen"):
        field.process([["x", "never-seen"]])


def test_numericalize_before_build_vocab_is_textcls_error():
    with pytest.raises(TextclsError, match="build_vocab"):
        Field().process([["a"]])


def test_postprocessing_receives_ids_and_vocab():
    calls = []

    def post(arr, vocab):
        calls.append((arr, vocab))
        return [[i * 10 for i in row] for row in arr]

    field = built(Field(postprocessing=post, batch_first=True), ["a", "b"])
    out = field.process([["a", "b"], ["b"]])
    assert calls == [([[2, 3], [3, 1]], field.vocab)]
    assert out.tolist() == [[20, 30], [30, 10]]


def test_postprocessing_without_vocab_gets_none():
    calls = []
    field = Field(sequential=False, use_vocab=False, postprocessing=lambda arr, vocab: calls.append(vocab) or arr)
    assert field.process(["1", "2"]).tolist() == [1, 2]
    assert calls == [None]


@pytest.mark.parametrize(
    ("dtype", "values", "expected"),
    [
        (torch.long, ["3", "4", 5], [3, 4, 5]),
        (torch.long, ["1.0", "2"], [1, 2]),
        (torch.float, ["1.5", "-2", 3], [1.5, -2.0, 3.0]),
        (torch.float64, ["0.25"], [0.25]),
        (torch.bool, ["0", "1"], [False, True]),
    ],
)
def test_numbers_from_strings_without_vocab(dtype, values, expected):
    field = Field(sequential=False, use_vocab=False, dtype=dtype)
    out = field.process([field.preprocess(v) for v in values])
    assert out.dtype == dtype and out.tolist() == expected
    assert not hasattr(field, "vocab")


def test_non_numeric_string_without_vocab_is_textcls_error():
    with pytest.raises(TextclsError, match="not a number"):
        Field(sequential=False, use_vocab=False).process(["3", "three"])


def test_sequential_numbers_without_vocab():
    field = Field(use_vocab=False, preprocessing=Pipeline(int), pad_token=0, batch_first=True, include_lengths=True)
    batch = [field.preprocess("4 8 15"), field.preprocess("16")]
    assert batch == [[4, 8, 15], [16]]
    tensor, lengths = field.process(batch)
    assert tensor.tolist() == [[4, 8, 15], [16, 0, 0]] and lengths.tolist() == [3, 1]


def test_is_target():
    assert Field().is_target is False
    assert Field(is_target=True).is_target is True
    assert LabelField().is_target is True and MultiLabelField().is_target is True


# --- build_vocab -------------------------------------------------------------------------------------------
@pytest.fixture
def news_dataset():
    text, label = Field(lower=True), LabelField()
    fields = [("title", text), ("body", text), ("label", label), ("id", None)]
    rows = [
        ("Stocks fall", "stocks fall again on wall street", "Business", "1"),
        ("Team wins", "the team wins the cup", "Sports", "2"),
        ("Oil up", "oil prices up", "Business", "3"),
    ]
    examples = [Example.fromlist(row, fields) for row in rows]
    return Dataset(examples, fields), text, label


def test_build_vocab_over_dataset_counts_every_column_of_the_field(news_dataset):
    dataset, text, label = news_dataset
    vocab = text.build_vocab(dataset)
    assert vocab is text.vocab
    assert vocab.itos[:2] == ["<unk>", "<pad>"]
    assert vocab.freqs["stocks"] == 2 and vocab.freqs["the"] == 2 and vocab.freqs["cup"] == 1
    # titles and bodies both counted; frequency descending, ties alphabetical
    assert vocab.itos[2:] == "fall oil stocks team the up wins again cup on prices street wall".split()
    assert "business" not in vocab.freqs and "Business" not in vocab.freqs  # the label column is not counted
    assert "1" not in vocab.freqs


def test_build_vocab_over_several_datasets_and_kwargs(news_dataset):
    dataset, text, _ = news_dataset
    text.build_vocab(dataset, dataset, min_freq=4, specials=["<mask>"])
    assert text.vocab.itos == ["<unk>", "<pad>", "<mask>", *"fall oil stocks team the up wins".split()]
    text.build_vocab(dataset, max_size=1)
    assert text.vocab.itos == ["<unk>", "<pad>", "fall"]


def test_build_vocab_specials_order_with_init_eos():
    field = Field(init_token="<s>", eos_token="</s>")
    field.build_vocab([["b", "a", "b"]], specials=["<mask>", "<s>"])
    assert field.vocab.itos == ["<unk>", "<pad>", "<s>", "</s>", "<mask>", "b", "a"]


def test_build_vocab_over_plain_iterables():
    field = Field()
    field.build_vocab((tokens for tokens in [["x", "y"], ["y"]]), [["z", "y"]])
    assert field.vocab.itos == ["<unk>", "<pad>", "y", "x", "z"]
    assert field.vocab.freqs == {"x": 1, "y": 3, "z": 1}


def test_label_field_orders_by_frequency_and_has_no_unk_or_pad(news_dataset):
    dataset, _, label = news_dataset
    label.build_vocab(dataset)
    assert label.vocab.itos == ["Business", "Sports"]
    assert label.pad_token is None and label.unk_token is None and label.sequential is False
    out = label.process(["Sports", "Business", "Sports"])
    assert out.tolist() == [1, 0, 1] and out.dtype == torch.long and out.shape == (3,)
    with pytest.raises(TextclsError):
        label.process(["World"])


def test_label_field_ties_alphabetical_and_dtype():
    label = LabelField(dtype=torch.float)
    label.build_vocab(["neg", "pos", "neu", "pos", "neg", "pos"])
    assert label.vocab.itos == ["pos", "neg", "neu"]
    assert label.process(["neu"]).dtype == torch.float


# --- MultiLabelField ---------------------------------------------------------------------------------------
def test_multi_label_field_multi_hot():
    field = MultiLabelField(lower=True)
    values = [field.preprocess(v) for v in ["Sports | World", "world", ["Business", "SPORTS"], "world|"]]
    assert values == [["sports", "world"], ["world"], ["business", "sports"], ["world"]]
    field.build_vocab(values)
    assert field.vocab.itos == ["world", "sports", "business"]
    out = field.process(values)
    assert out.dtype == torch.float32 and out.shape == (4, 3)
    assert out.tolist() == [[1, 1, 0], [1, 0, 0], [0, 1, 1], [1, 0, 0]]
    with pytest.raises(TextclsError):
        field.process([["science"]])


def test_multi_label_field_separator_and_dataset():
    field = MultiLabelField(separator=";")
    examples = [Example.fromlist([v], [("tags", field)]) for v in ["a;b", "b", ""]]
    dataset = Dataset(examples, [("tags", field)])
    field.build_vocab(dataset)
    assert field.vocab.itos == ["b", "a"]
    assert field.process(dataset.column("tags")).tolist() == [[1, 1], [1, 0], [0, 0]]


# --- persistence -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "field",
    [
        Field(),
        Field(lower=True, tokenize="basic_english", include_lengths=True, batch_first=True, fix_length=5),
        Field(tokenize="spacy", tokenizer_language="de", init_token="<s>", eos_token="</s>", pad_first=True),
        Field(tokenize="regex", stop_words=["the", "a"], truncate_first=True, unk_token=None, pad_token="_"),
        Field(sequential=False, use_vocab=False, dtype=torch.float),
        LabelField(),
        LabelField(dtype=torch.float64),
        MultiLabelField(separator=";", lower=True),
    ],
    ids=lambda f: type(f).__name__,
)
def test_to_config_from_config_round_trip(field):
    config = json.loads(json.dumps(field.to_config()))
    rebuilt = Field.from_config(config)
    assert type(rebuilt) is type(field)
    assert rebuilt.to_config() == field.to_config()
    for attr in ("sequential", "use_vocab", "init_token", "eos_token", "fix_length", "dtype", "lower", "pad_token",
                 "unk_token", "include_lengths", "batch_first", "pad_first", "truncate_first", "stop_words",
                 "is_target"):  # fmt: skip
        assert getattr(rebuilt, attr) == getattr(field, attr), attr
    text = "The Team wins; the cup"
    assert rebuilt.preprocess(text) == field.preprocess(text)
    if isinstance(field, MultiLabelField):
        assert rebuilt.separator == field.separator


def test_from_config_unknown_class():
    with pytest.raises(TextclsError, match="unknown field class 'NoSuchField'"):
        Field.from_config({**Field().to_config(), "class": "NoSuchField"})


def test_from_config_damaged_config():
    with pytest.raises(TextclsError, match="damaged NestedField config"):
        Field.from_config({**Field().to_config(), "class": "NestedField"})  # no nesting_field
    with pytest.raises(TextclsError, match="damaged Field config"):
        Field.from_config({**Field().to_config(), "dtype": "no_such_dtype"})


@pytest.mark.parametrize(
    "field",
    [Field(tokenize=lambda s: s.split()), Field(preprocessing=str.upper), Field(postprocessing=lambda a, v: a)],
)
def test_to_config_refuses_callables(field):
    with pytest.raises(TextclsError):
        field.to_config()


# --- Pipeline, RawField ------------------------------------------------------------------------------------
def test_pipeline():
    assert Pipeline(str.upper)("ab") == "AB"
    assert Pipeline(str.upper)(["ab", "c"]) == ["AB", "C"]
    assert Pipeline()(["x", 1]) == ["x", 1]
    assert Pipeline(lambda token, offset: token + offset)([1, 2], 10) == [11, 12]


def test_raw_field():
    raw = RawField()
    assert raw.preprocess("  keep As is\n") == "  keep As is\n"
    assert raw.process(["a", "b"]) == ["a", "b"] and raw.is_target is False
    raw = RawField(preprocessing=str.strip, postprocessing=lambda batch: [len(x) for x in batch], is_target=True)
    assert raw.preprocess("  abc ") == "abc"
    assert raw.process(["abc", "de"]) == [3, 2] and raw.is_target is True


# --- Example -----------------------------------------------------------------------------------------------
def test_example_fromlist_skips_none_fields():
    text, label = Field(lower=True), LabelField()
    example = Example.fromlist(["Hello World", "pos", "ignored"], [("text", text), ("label", label), None])
    assert vars(example) == {"text": ["hello", "world"], "label": "pos"}
    assert Example.fromlist(["a", "b"], [("text", text), ("id", None)]) == Example.fromlist(["a"], [("text", text)])


def test_example_fromlist_strips_trailing_newline_of_every_value():
    example = Example.fromlist(["good movie", "pos\n"], [("text", Field()), ("label", LabelField())])
    assert example.label == "pos"  # legacy fromlist rstrips "\n" from every string value


def test_example_fromlist_one_column_into_several_attributes():
    words, chars = Field(), Field(tokenize="char")
    example = Example.fromlist(["ab c"], [(("words", words), ("chars", chars))])
    assert vars(example) == {"words": ["ab", "c"], "chars": ["a", "b", " ", "c"]}


def test_example_fromlist_legacy_tuple_of_names_form():
    # legacy torchtext (and textcls Dataset's field flattening) accept ((name1, name2), (field1, field2))
    words, chars = Field(), Field(tokenize="char")
    example = Example.fromlist(["ab c"], [(("words", "chars"), (words, chars))])
    assert vars(example) == {"words": ["ab", "c"], "chars": ["a", "b", " ", "c"]}


def test_example_fromdict():
    text, label = Field(), LabelField()
    data = {"text": "a b", "label": "neg", "extra": 1}
    example = Example.fromdict(data, {"text": [("text", text), ("raw", RawField())], "label": ("y", label)})
    assert vars(example) == {"text": ["a", "b"], "raw": "a b", "y": "neg"}
    assert vars(Example.fromdict(data, {"text": ("text", text), "extra": None})) == {"text": ["a", "b"]}
    with pytest.raises(ValueError, match="missing"):
        Example.fromdict(data, {"missing": ("m", text)})


def test_example_fromjson():
    fields = {"review": ("text", Field(lower=True)), "stars": ("stars", Field(sequential=False, use_vocab=False))}
    example = Example.fromJSON(json.dumps({"review": "Great Phone", "stars": 5, "id": 7}), fields)
    assert vars(example) == {"text": ["great", "phone"], "stars": 5}


def test_example_fromjson_nested_keys():
    example = Example.fromJSON('{"user": {"name": "Ann Lee"}, "label": "x"}', {"user.name": ("name", Field())})
    assert example.name == ["Ann", "Lee"]  # legacy fromJSON resolves dotted keys into nested objects


@pytest.mark.parametrize("init_token", [None, "<s>"])
@pytest.mark.parametrize("eos_token", [None, "</s>"])
@pytest.mark.parametrize("fix_length", [None, 1, 3, 6])
@pytest.mark.parametrize("pad_first", [False, True])
@pytest.mark.parametrize("truncate_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_process_fast_path_equals_pad_then_numericalize(init_token, eos_token, fix_length, pad_first, truncate_first,
                                                        batch_first):  # fmt: skip
    field = Field(init_token=init_token, eos_token=eos_token, fix_length=fix_length, pad_first=pad_first,
                  truncate_first=truncate_first, batch_first=batch_first, include_lengths=True)  # fmt: skip
    batch = [["a", "b", "c", "d"], ["b"], ["c", "unseen", "a"]]
    field.build_vocab([["a", "b", "c", "d", "a"]])
    fast_tensor, fast_lengths = field.process(batch)
    slow_tensor, slow_lengths = field.numericalize(field.pad(batch))
    assert torch.equal(fast_tensor, slow_tensor)
    assert torch.equal(fast_lengths, slow_lengths)
    if fix_length is None:  # nothing cut: the unseen word is there, as <unk>
        assert field.vocab.stoi["<unk>"] in fast_tensor.flatten().tolist()
