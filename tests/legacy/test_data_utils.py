"""Legacy torchtext's ``data.utils`` (get_tokenizer, interleave_keys, ngrams_iterator, RandomShuffler, ...),
``data.functional`` (custom_replace, simple_space_split, numericalize_tokens_from_iterator, filter_wikipedia_xml,
to_map_style_dataset, the SentencePiece helpers) and ``data.metrics.bleu_score``."""

import importlib.util
import random
import warnings
from collections import Counter

import pytest
import torch

from textcls.data.functional import (
    custom_replace,
    filter_wikipedia_xml,
    generate_sp_model,
    load_sp_model,
    numericalize_tokens_from_iterator,
    sentencepiece_numericalizer,
    sentencepiece_tokenizer,
    simple_space_split,
    to_map_style_dataset,
)
from textcls.data.metrics import bleu_score
from textcls.data.utils import (
    RandomShuffler,
    dtype_to_attr,
    get_tokenizer,
    get_torch_version,
    interleave_keys,
    is_tokenizer_serializable,
    ngrams_iterator,
)
from textcls.errors import ArgumentError, TextclsError
from textcls.vocab import Vocab

SENTENCE = "Stocks fell, again (sharply) on Tuesday; analysts weren't surprised!"
HAS_SENTENCEPIECE = importlib.util.find_spec("sentencepiece") is not None

# --- get_tokenizer ------------------------------------------------------------------------------------------------


def test_none_splits_on_whitespace_and_a_callable_is_returned_unchanged():
    assert get_tokenizer(None)("a  b\tc\n") == ["a", "b", "c"]
    assert get_tokenizer(str.split) is str.split


def test_basic_english_lower_cases_and_splits_off_punctuation():
    assert get_tokenizer("basic_english")(SENTENCE) == (
        "stocks fell , again ( sharply ) on tuesday analysts weren ' t surprised !".split()
    )


def test_toktok_splits_punctuation_and_keeps_case():
    assert get_tokenizer("toktok")(SENTENCE) == [
        "Stocks", "fell", ",", "again", "(", "sharply", ")", "on", "Tuesday", ";", "analysts", "weren", "'", "t",
        "surprised", "!",
    ]  # fmt: skip


def test_spacy_english():
    assert get_tokenizer("spacy")(SENTENCE)[-4:] == ["were", "n't", "surprised", "!"]


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("some other string",), "unknown tokenizer 'some other string'"),
        ((1,), "must be a name or a callable"),
        (("basic_english", "fr"), "only available for English"),
    ],
)
def test_bad_tokenizer_arguments_are_value_errors(args, match):
    with pytest.raises(ValueError, match=match) as error:
        get_tokenizer(*args)
    assert isinstance(error.value, ArgumentError)


@pytest.mark.parametrize(("name", "package"), [("moses", "sacremoses"), ("revtok", "revtok"), ("subword", "revtok")])
def test_tokenizers_of_packages_that_are_not_installed_say_which_to_install(name, package):
    if importlib.util.find_spec(package) is not None:
        pytest.skip(f"{package} is installed")
    with pytest.raises(TextclsError) as error:
        get_tokenizer(name)
    assert f"pip install {package}" in str(error.value) and "\n" not in str(error.value)


def test_is_tokenizer_serializable_answers_as_legacy():
    assert is_tokenizer_serializable("spacy", "en") is False
    assert is_tokenizer_serializable("basic_english", "en") is True
    assert is_tokenizer_serializable(None, "en") is True


# --- small helpers ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("a", "b", "key"), [(0, 0, 0), (1, 0, 0b10), (0, 1, 0b01), (3, 0, 0b1010), (3, 5, 0b011011)])
def test_interleave_keys_alternates_the_bits_of_a_and_b(a, b, key):
    assert interleave_keys(a, b) == key


def test_interleave_keys_sorts_pairs_similar_in_both_lengths_together():
    pairs = [(10, 10), (2, 30), (11, 9), (30, 2), (9, 12)]
    ordered = sorted(pairs, key=lambda pair: interleave_keys(*pair))
    assert set(ordered[:3]) == {(10, 10), (11, 9), (9, 12)}  # the balanced pairs first, the skewed ones apart


def test_get_torch_version_and_dtype_to_attr():
    major, minor = get_torch_version()
    assert torch.__version__.startswith(f"{major}.{minor}")
    for dtype in (torch.int32, torch.int64, torch.float16, torch.float32, torch.bool, torch.uint8):
        name = dtype_to_attr(dtype)
        assert getattr(torch, name) is dtype
    assert dtype_to_attr(torch.long) == "int64"


def test_ngrams_iterator_yields_tokens_then_longer_ngrams():
    tokens = ["here", "we", "are", "now"]
    assert list(ngrams_iterator(tokens, 1)) == tokens
    assert list(ngrams_iterator(tokens, 3)) == [*tokens, "here we", "we are", "are now", "here we are", "we are now"]
    assert list(ngrams_iterator(["one"], 3)) == ["one"]


def test_random_shuffler_is_reproducible_and_leaves_the_global_state_alone():
    data = list(range(20))
    random.seed(1)
    state = random.getstate()
    first, second = RandomShuffler(state), RandomShuffler(state)
    global_before = random.getstate()
    one = first(data)
    assert random.getstate() == global_before  # the global generator did not move
    assert one == second(data) and sorted(one) == data and one != data
    assert first(data) != one  # its own state advanced
    assert data == list(range(20))  # a new list, the input untouched


def test_random_shuffler_state_property_is_a_copy_and_can_be_set():
    shuffler = RandomShuffler(random.Random(3).getstate())
    saved = shuffler.random_state
    once = shuffler(list(range(10)))
    shuffler.random_state = saved
    assert shuffler(list(range(10))) == once
    with shuffler.use_internal_state():
        drawn = random.random()
    shuffler.random_state = saved
    shuffler(list(range(10)))
    with shuffler.use_internal_state():
        assert random.random() == drawn


# --- functional ---------------------------------------------------------------------------------------------------


def test_custom_replace_applies_the_patterns_in_order():
    transform = custom_replace([(r"S", "s"), (r"\s+", " ")])
    assert list(transform(["Sentencepiece encode  aS  pieces", "exampleS to   try!"])) == [
        "sentencepiece encode as pieces",
        "examples to try!",
    ]


def test_simple_space_split_and_numericalize_with_a_dict_and_a_vocab():
    lines = ["the cat  sat", "the dog"]
    assert list(simple_space_split(lines)) == [["the", "cat", "sat"], ["the", "dog"]]
    ids = numericalize_tokens_from_iterator({"the": 0, "cat": 1, "sat": 2, "dog": 3}, simple_space_split(lines))
    assert [list(row) for row in ids] == [[0, 1, 2], [0, 3]]
    vocab = Vocab(Counter("the the cat".split()))
    removed = numericalize_tokens_from_iterator(vocab, [["the", "cat", "zebra", "<pad>"]], removed_tokens=["<pad>"])
    assert [list(row) for row in removed] == [[vocab.stoi["the"], vocab.stoi["cat"], vocab.unk_index]]


def test_filter_wikipedia_xml_keeps_lower_case_words_and_spells_digits():
    lines = [
        "<page><title>Cats</title>",
        "#REDIRECT [[Cat]]",
        "The [[domestic cat|cat]] has 4 legs &amp; a tail.{{cite web}}",
        "[[Category:Felines]]",
        "   ",
    ]
    # the category rule is written lower-case and runs before lower-casing, so "Category:" stays as a word
    assert list(filter_wikipedia_xml(lines)) == ["the cat has four legs a tail", "category felines"]
    with pytest.raises(TypeError, match="must support iterator semantics"):
        list(filter_wikipedia_xml(42))


def test_to_map_style_dataset_has_len_and_indexing():
    dataset = to_map_style_dataset(iter(["a", "b", "c"]))
    assert isinstance(dataset, torch.utils.data.Dataset)
    assert len(dataset) == 3 and dataset[1] == "b" and list(dataset) == ["a", "b", "c"]


def test_load_sp_model_rejects_other_types_like_legacy():
    with pytest.raises(TypeError, match="Unsupported type for spm argument: dict. Supported types are: str"):
        load_sp_model({})


@pytest.mark.skipif(HAS_SENTENCEPIECE, reason="sentencepiece is installed")
def test_sentencepiece_functions_without_the_package_are_one_line_errors(tmp_path):
    (tmp_path / "text.txt").write_text("a b c\n", encoding="utf-8")
    for call in (lambda: load_sp_model(str(tmp_path / "m.model")), lambda: generate_sp_model(tmp_path / "text.txt")):
        with pytest.raises(TextclsError, match="pip install sentencepiece"):
            call()


@pytest.mark.skipif(not HAS_SENTENCEPIECE, reason="sentencepiece is not installed (not a dependency)")
def test_sentencepiece_train_load_tokenize_numericalize(tmp_path):
    corpus = tmp_path / "corpus.txt"
    words = "the cat sat on the mat while the dog ran after the fish".split()
    rng = random.Random(0)
    corpus.write_text("".join(" ".join(rng.choices(words, k=12)) + "\n" for _ in range(300)), encoding="utf-8")
    generate_sp_model(corpus, vocab_size=25, model_prefix=tmp_path / "spm")
    model = load_sp_model(str(tmp_path / "spm.model"))
    with open(tmp_path / "spm.model", "rb") as handle:
        assert load_sp_model(handle).GetPieceSize() == model.GetPieceSize() == 25
    (pieces,) = sentencepiece_tokenizer(model)(["the cat sat"])
    (ids,) = sentencepiece_numericalizer(model)(["the cat sat"])
    assert "".join(pieces).replace("\u2581", " ").strip() == "the cat sat"
    assert [model.IdToPiece(i) for i in ids] == pieces


# --- bleu_score ---------------------------------------------------------------------------------------------------


def test_bleu_perfect_match_is_one_and_a_missing_order_is_zero():
    reference = ["the", "cat", "sat", "on", "the", "mat"]
    assert bleu_score([reference], [[reference, ["other"]]]) == 1.0
    assert bleu_score([["the", "cat", "sat"]], [[reference]]) == 0.0  # no 4-gram at all
    assert bleu_score([[]], [[[]]]) == 0.0


def test_bleu_brevity_penalty_alone():
    # all n-grams match; the candidate has 4 tokens, the reference 5: exp(1 - 5/4)
    score = bleu_score([["a", "b", "c", "d"]], [[["a", "b", "c", "d", "e"]]])
    assert score == pytest.approx(0.7788007830714049, abs=1e-7)


def test_bleu_by_hand_with_bigrams():
    # unigrams 2/3, bigrams 1/2, geometric mean sqrt(1/3); brevity penalty exp(1 - 4/3)
    score = bleu_score([["the", "cat", "sat"]], [[["the", "cat", "is", "here"]]], max_n=2, weights=[0.5, 0.5])
    assert score == pytest.approx((1 / 3) ** 0.5 * 2.718281828459045 ** (-1 / 3), rel=1e-6)


def test_bleu_clips_counts_by_the_most_in_any_one_reference():
    candidate = [["the", "the", "the", "cat"]]
    assert bleu_score(candidate, [[["the", "cat"], ["a", "cat"]]], 1, [1]) == pytest.approx(2 / 4)
    assert bleu_score(candidate, [[["the", "cat"], ["the", "the", "dog"]]], 1, [1]) == pytest.approx(3 / 4)


def test_bleu_pools_counts_over_the_corpus():
    # sentence 1: 2 of 2 unigrams match, sentence 2: 0 of 2; pooled 2/4 (not the mean of per-sentence BLEU)
    candidates = [["a", "b"], ["c", "d"]]
    references = [[["a", "b"]], [["e", "f"]]]
    assert bleu_score(candidates, references, 1, [1]) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("references", "penalty"), [([["a", "b"], list("abcd")], 1.0), ([list("abcd"), ["a", "b"]], 0.7165313)]
)
def test_bleu_takes_the_first_reference_of_closest_length_on_a_tie(references, penalty):
    # the candidate has 3 tokens; references of 2 and 4 are equally close: legacy takes the first one listed
    assert bleu_score([["a", "b", "c"]], [references], 1, [1]) == pytest.approx(penalty, rel=1e-6)


def test_bleu_argument_checks_are_assertion_errors():
    with pytest.raises(AssertionError, match="weights"):
        bleu_score([["a"]], [[["a"]]], max_n=2)
    with pytest.raises(AssertionError, match="same length"):
        bleu_score([["a"], ["b"]], [[["a"]]])


def test_bleu_equals_nltk_corpus_bleu_on_random_corpora():
    from nltk.translate.bleu_score import corpus_bleu

    rng = random.Random(0)
    words = list("abcdef")
    compared = 0
    for _ in range(300):
        max_n = rng.randint(1, 4)
        weights = [1 / max_n] * max_n
        size = rng.randint(1, 4)
        # nltk counts a sentence shorter than n as one n-gram and breaks length ties towards the shorter
        # reference; the corpora here have neither, so the two definitions agree
        candidates = [rng.choices(words, k=rng.randint(max_n, 9)) for _ in range(size)]
        references = [[rng.choices(words, k=length)] for length in (rng.randint(1, 9) for _ in range(size))]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nltk warns when an order has no match
            expected = corpus_bleu(references, candidates, weights=weights)
        assert bleu_score(candidates, references, max_n, weights) == pytest.approx(expected, abs=1e-6)
        compared += expected > 0
    assert compared > 50  # enough non-zero scores were compared


def test_bleu_accepts_any_sequences_of_tokens():
    assert bleu_score((("a", "b"),), ((("a", "b"),),), 2, (0.5, 0.5)) == 1.0
    assert isinstance(bleu_score([["a"]], [[["a"]]], 1, [1]), float)
