"""Legacy ``Dataset.split`` (torchtext.legacy.data 0.11): split ratio checks (AssertionError / ValueError as legacy
raised them), rounding of split sizes, ``random_state`` as a ``random.getstate()`` tuple drawing the same
examples as legacy's ``RandomShuffler``, and stratified splits over ``strata_field``."""

import random
from collections import Counter

import pytest

from textcls.data import Dataset, Example, Field, LabelField, RawField
from textcls.errors import ArgumentAssertionError, ArgumentError


def _dataset(n=30, labels=3):
    """``n`` examples whose ``label`` cycles through ``labels`` values (10/9/9 for 28 and 3)."""
    fields = [("id", RawField()), ("text", Field()), ("label", LabelField()), ("source", None)]
    examples = [Example.fromlist([i, f"doc {i}", str(i % labels), "web"], fields) for i in range(n)]
    return Dataset(examples, fields)


def _ids(dataset):
    return [ex.id for ex in dataset]


def _legacy_split_ids(n, ratios, state):
    """What legacy's rationed_split drew: ``random.sample(range(n), n)`` under the state, cut at round(r * n)."""
    rnd = random.Random()
    rnd.setstate(state)
    order = rnd.sample(range(n), n)
    train_len = int(round(ratios[0] * n))
    test_len = n - train_len if len(ratios) == 2 else int(round(ratios[1] * n))
    return order[:train_len], order[train_len : train_len + test_len], order[train_len + test_len :]


# ---------------------------------------------------------------------------------------------------- sizes
@pytest.mark.parametrize(
    "split_ratio,sizes",
    [
        (0.7, (21, 9)),
        ([0.7, 0.3], (21, 9)),
        ([0.6, 0.3, 0.1], (18, 3, 9)),  # given as [train, test, valid], returned as (train, valid, test)
        ([6, 3, 1], (18, 3, 9)),  # relative sizes are normalised
        ((0.5, 0.5), (15, 15)),
        ([0.66, 0.33, 0.01], (20, 10)),  # a validation split rounded to nothing is left out
    ],
)
def test_split_sizes(split_ratio, sizes):
    parts = _dataset().split(split_ratio=split_ratio, random_state=random.Random(0).getstate())
    assert tuple(len(part) for part in parts) == sizes
    assert sorted(i for part in parts for i in _ids(part)) == list(range(30))


def test_default_split_ratio_is_seventy_percent():
    train, test = _dataset().split()
    assert (len(train), len(test)) == (21, 9)


# ------------------------------------------------------------------------------------------- argument checks
@pytest.mark.parametrize("split_ratio", [1.1, -1.0, 0.0, 1.0, [0.7], [1, 2, 3, 4]])
def test_ratios_legacy_asserted_raise_assertion_error(split_ratio):
    with pytest.raises(AssertionError) as info:
        _dataset().split(split_ratio=split_ratio)
    assert isinstance(info.value, ArgumentAssertionError)
    assert "split ratio" in str(info.value)


@pytest.mark.parametrize("split_ratio", ["string", 1, None, {"train": 0.7}])
def test_ratio_of_another_type_raises_value_error(split_ratio):
    with pytest.raises(ValueError, match="float or a list") as info:
        _dataset().split(split_ratio=split_ratio)
    assert isinstance(info.value, ArgumentError)


@pytest.mark.parametrize("split_ratio", [[-1, 2], [0, 0], ["a", "b"]])
def test_ratios_that_cannot_split_are_value_errors(split_ratio):
    with pytest.raises(ArgumentError):
        _dataset().split(split_ratio=split_ratio)


def test_unknown_strata_field_is_a_value_error():
    with pytest.raises(ValueError, match="strata_field 'dummy'"):
        _dataset().split(stratified=True, strata_field="dummy")


def test_bad_random_state_is_a_value_error():
    with pytest.raises(ArgumentError, match="random.getstate"):
        _dataset().split(random_state="seed")


# ------------------------------------------------------------------------------------------------ randomness
@pytest.mark.parametrize("ratios", [[0.7, 0.3], [0.5, 0.3, 0.2]])
def test_random_state_draws_the_legacy_examples(ratios):
    state = random.Random(1234).getstate()
    parts = _dataset().split(split_ratio=ratios, random_state=state)
    train_ids, test_ids, valid_ids = _legacy_split_ids(30, ratios, state)
    expected = (train_ids, valid_ids, test_ids) if len(ratios) == 3 else (train_ids, test_ids)
    assert tuple(_ids(part) for part in parts) == expected


def test_seeding_idiom_random_state_none_uses_the_global_state_without_advancing_it():
    # the common legacy idiom: split(random_state=random.seed(SEED)), i.e. random_state=None after seeding
    dataset = _dataset()
    train, _ = dataset.split(random_state=random.seed(7))
    random.seed(7)
    expected_train, _, _ = _legacy_split_ids(30, [0.7, 0.3], random.getstate())
    assert _ids(train) == expected_train
    random.seed(7)
    before = random.getstate()
    again, _ = dataset.split()
    assert random.getstate() == before, "legacy's RandomShuffler restored the global state"
    assert _ids(again) == expected_train


def test_int_seed_is_reproducible():
    dataset = _dataset()
    first = [_ids(part) for part in dataset.split([0.6, 0.2, 0.2], random_state=42)]
    assert first == [_ids(part) for part in dataset.split([0.6, 0.2, 0.2], random_state=42)]
    assert first != [_ids(part) for part in dataset.split([0.6, 0.2, 0.2], random_state=43)]


# ------------------------------------------------------------------------------------------------ stratified
@pytest.mark.parametrize(
    "n,split_ratio,sizes",
    [
        (30, 0.7, (21, 9)),
        (30, [0.7, 0.3], (21, 9)),
        (28, [0.7, 0.3], (7 + 6 + 6, 3 + 3 + 3)),  # classes of 10, 9 and 9
        (28, [0.6, 0.3, 0.1], (6 + 5 + 5, 1 + 1 + 1, 3 + 3 + 3)),
    ],
)
def test_stratified_sizes_are_rounded_per_class(n, split_ratio, sizes):
    parts = _dataset(n).split(split_ratio=split_ratio, stratified=True, strata_field="label")
    assert tuple(len(part) for part in parts) == sizes
    totals = Counter(_dataset(n).label)
    for part, size in zip(parts, sizes):
        counts = Counter(part.label)
        assert sum(counts.values()) == size
        share = size / n
        assert all(abs(counts[c] - share * totals[c]) <= 1 for c in totals), counts


def test_stratified_split_draws_each_class_as_legacy_did():
    # legacy: one shuffler shared by the classes, each class split by rationed_split (in textcls the classes go
    # in sorted order, legacy's went in set order); the splits are then shuffled so classes interleave
    state = random.Random(5).getstate()
    dataset = _dataset(28)
    train, test = dataset.split([0.7, 0.3], stratified=True, random_state=state)
    rnd = random.Random()
    rnd.setstate(state)
    expected_train, expected_test = set(), set()
    for label in ("0", "1", "2"):
        group = [ex.id for ex in dataset if ex.label == label]
        order = rnd.sample(range(len(group)), len(group))
        cut = int(round(0.7 * len(group)))
        expected_train |= {group[i] for i in order[:cut]}
        expected_test |= {group[i] for i in order[cut:]}
    assert set(_ids(train)) == expected_train and set(_ids(test)) == expected_test
    assert len({ex.label for ex in list(train)[:6]}) > 1, "classes are interleaved, not in blocks"


# ------------------------------------------------------------------------------------------- what comes back
def test_splits_are_datasets_with_the_fields_and_sort_key():
    dataset = _dataset()
    dataset.sort_key = lambda ex: len(ex.text)
    for part in dataset.split([0.6, 0.2, 0.2], random_state=3):
        assert type(part) is Dataset
        assert part.fields == dataset.fields and part.fields["source"] is None
        assert part.sort_key is dataset.sort_key
