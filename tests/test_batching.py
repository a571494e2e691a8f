"""Batching: make_batches / BucketBatchSampler / FieldCollator and the legacy Iterator / BucketIterator.

Every order must yield each example exactly once per epoch, respect batch_size and max_tokens, and bucketing
must cut padding well below random batching on realistic text (the generated AG-News-like corpus)."""

import itertools
import math
import pickle
import random
from collections import Counter

import pytest
import torch
from torch.utils.data import DataLoader

from textcls.data import (
    Batch,
    BucketBatchSampler,
    BucketIterator,
    Dataset,
    Example,
    Field,
    FieldCollator,
    Iterator,
    LabelField,
    RawField,
    TabularDataset,
    make_batches,
    padding_fraction,
)

ORDERS = ["bucket", "sorted", "shuffled", "sequential"]
N = 2000


@pytest.fixture(scope="module")
def lengths():
    rng = random.Random(1234)
    # a long-tailed length distribution, like real text
    return [max(1, min(400, int(rng.lognormvariate(3.3, 0.7)))) for _ in range(N)]


def _flat(batches):
    return [i for batch in batches for i in batch]


def _assert_partition(batches, n):
    flat = _flat(batches)
    assert len(flat) == n, "an example is missing or repeated"
    assert sorted(flat) == list(range(n))
    assert all(batches), "empty batch"


# ------------------------------------------------------------------------------------------- make_batches
LIMITS = {
    "batch_size": dict(batch_size=32),
    "max_tokens": dict(max_tokens=1500),
    "both": dict(batch_size=24, max_tokens=1200),
}


@pytest.mark.parametrize("limit", list(LIMITS))
@pytest.mark.parametrize("order", ORDERS)
def test_every_example_once_and_limits_respected(lengths, order, limit):
    kwargs = LIMITS[limit]
    batches = make_batches(lengths, order=order, rng=random.Random(0), pool_factor=10, **kwargs)
    _assert_partition(batches, N)
    if "batch_size" in kwargs:
        assert max(len(b) for b in batches) <= kwargs["batch_size"]
    if "max_tokens" in kwargs:
        for batch in batches:
            longest = max(lengths[i] for i in batch)
            assert len(batch) == 1 or len(batch) * longest <= kwargs["max_tokens"], (len(batch), longest)
        # token-capped batches are not needlessly small: most are more than half full
        fill = [len(b) * max(lengths[i] for i in b) / kwargs["max_tokens"] for b in batches]
        if "batch_size" not in kwargs and order in ("bucket", "sorted"):
            assert sum(f > 0.5 for f in fill) > 0.8 * len(fill)


@pytest.mark.parametrize("order", ["sorted", "shuffled", "sequential"])
def test_batch_size_only_gives_full_batches(lengths, order):
    batches = make_batches(lengths, 64, order=order, rng=random.Random(0))
    assert len(batches) == math.ceil(N / 64)
    assert [len(b) for b in batches[:-1]] == [64] * (len(batches) - 1)
    assert len(batches[-1]) == N - 64 * (len(batches) - 1)


def test_bucket_batches_are_full_except_one_per_pool(lengths):
    pool_factor = 5
    batches = make_batches(lengths, 32, order="bucket", rng=random.Random(0), pool_factor=pool_factor)
    # pools hold a whole number of batches, so only the last pool leaves a short batch
    assert len(batches) == math.ceil(N / 32)
    assert sum(len(b) < 32 for b in batches) == 1


def test_order_semantics(lengths):
    assert _flat(make_batches(lengths, 50, order="sequential")) == list(range(N))
    ordered = [lengths[i] for i in _flat(make_batches(lengths, 50, order="sorted"))]
    assert ordered == sorted(lengths)
    shuffled = _flat(make_batches(lengths, 50, order="shuffled", rng=random.Random(0)))
    assert shuffled != list(range(N))
    # bucket: each batch holds similar lengths, but the batches themselves come in random length order
    bucket = make_batches(lengths, 50, order="bucket", rng=random.Random(0))
    spans = [max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in bucket]
    assert sorted(spans)[len(spans) // 2] <= 2
    firsts = [min(lengths[i] for i in b) for b in bucket]
    assert firsts != sorted(firsts)


def test_long_example_gets_its_own_batch():
    keys = [5, 6, 500, 7, 8, 9]
    batches = make_batches(keys, max_tokens=100, order="sequential")
    _assert_partition(batches, 6)
    assert [2] in batches
    for batch in batches:
        assert len(batch) == 1 or len(batch) * max(keys[i] for i in batch) <= 100


def test_token_counts_differ_from_sort_keys():
    # sort by one key, cap by another (e.g. padded length including <sos>/<eos>)
    keys = list(range(100))
    counts = [k + 2 for k in keys]
    batches = make_batches(keys, token_counts=counts, max_tokens=200, order="sorted")
    _assert_partition(batches, 100)
    assert all(len(b) == 1 or len(b) * max(counts[i] for i in b) <= 200 for b in batches)


def test_same_seed_same_batches_new_seed_new_batches(lengths):
    for order in ("bucket", "shuffled"):
        a = make_batches(lengths, 32, order=order, rng=random.Random(5))
        b = make_batches(lengths, 32, order=order, rng=random.Random(5))
        c = make_batches(lengths, 32, order=order, rng=random.Random(6))
        assert a == b
        assert a != c


def test_make_batches_bad_arguments(lengths):
    with pytest.raises(ValueError, match="order"):
        make_batches(lengths, 32, order="random")
    with pytest.raises(ValueError, match="batch_size, max_tokens"):
        make_batches(lengths)
    with pytest.raises(ValueError, match="at least 1"):
        make_batches(lengths, 0)


def test_legacy_size_fn_in_make_batches():
    keys = [3] * 10
    # legacy default: size = count
    batches = make_batches(keys, 4, size_fn=lambda index, count, so_far: count, order="sequential")
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_padding_fraction_definition():
    assert padding_fraction([[0, 1]], [2, 4]) == pytest.approx(0.25)
    assert padding_fraction([[0], [1]], [2, 4]) == 0.0
    assert padding_fraction([], []) == 0.0


# ------------------------------------------------------------------------------------------- AG News
@pytest.fixture(scope="module")
def ag_news(generated):
    text = Field(tokenize="basic_english", batch_first=True, include_lengths=True)
    label = LabelField()
    fields = [("label", label), ("title", None), ("text", text)]
    ds = TabularDataset(generated.ag_news, format="csv", fields=fields)
    text.build_vocab(ds)
    label.build_vocab(ds)
    return ds


def _random_batch_padding(lengths, batch_size=64, seed=0):
    """The padding share of batches of a random permutation, counted by hand: what bucketing must cut."""
    order = random.Random(seed).sample(range(len(lengths)), len(lengths))
    chunks = [[lengths[i] for i in order[start : start + batch_size]] for start in range(0, len(order), batch_size)]
    padded = sum(max(chunk) * len(chunk) for chunk in chunks)
    return (padded - sum(lengths)) / padded


def test_bucket_padding_far_below_random_on_ag_news(ag_news):
    lens = [len(ex.text) for ex in ag_news]
    bucket = make_batches(lens, 64, order="bucket", rng=random.Random(0))
    shuffled = make_batches(lens, 64, order="shuffled", rng=random.Random(0))
    random_padding = _random_batch_padding(lens)
    assert random_padding > 0.15  # the generated lengths vary enough for bucketing to matter
    assert padding_fraction(bucket, lens) < 0.1 and padding_fraction(bucket, lens) < random_padding / 5
    assert padding_fraction(shuffled, lens) > 0.75 * random_padding


def _tensor_padding(iterator):
    pad = real = 0
    for batch in iterator:
        tokens, lens = batch.text
        pad += tokens.numel() - int(lens.sum())
        real += int(lens.sum())
    return pad / (pad + real)


def test_bucket_iterator_tensors_hold_little_padding(ag_news):
    bucketed = _tensor_padding(BucketIterator(ag_news, batch_size=64, seed=0))
    plain = _tensor_padding(Iterator(ag_news, batch_size=64, seed=0))
    random_padding = _random_batch_padding([len(ex.text) for ex in ag_news])
    assert bucketed < 0.1 and bucketed < random_padding / 5 and plain > 0.75 * random_padding


def test_bucket_iterator_on_ag_news_covers_each_example_once_with_correct_lengths(ag_news):
    it = BucketIterator(ag_news, batch_size=64, seed=1, sort_within_batch=True, max_tokens=4000)
    pad_id = ag_news.fields["text"].vocab.stoi["<pad>"]
    total = 0
    for batch in it:
        tokens, lens = batch.text
        assert tokens.shape[0] == lens.shape[0] == batch.label.shape[0] <= 64
        assert tokens.shape[0] == 1 or tokens.numel() <= 4000
        assert lens.tolist() == sorted(lens.tolist(), reverse=True)
        assert int(lens[0]) == tokens.shape[1]
        for row, n in zip(tokens, lens.tolist()):
            assert (row[n:] == pad_id).all() and (row[:n] != pad_id).all()
        total += len(batch)
    assert total == len(ag_news) == 1200


# ---------------------------------------------------------------------------------- a synthetic dataset
def _dataset(n=300, seed=0, include_lengths=True, batch_first=True):
    rng = random.Random(seed)
    text = Field(include_lengths=include_lengths, batch_first=batch_first)
    label = LabelField()
    fields = [("id", RawField()), ("text", text), ("label", label)]
    examples = []
    for i in range(n):
        words = [f"w{rng.randrange(50)}" for _ in range(rng.randint(1, 40))]
        examples.append(Example.fromlist([i, " ".join(words), "long" if len(words) > 20 else "short"], fields))
    ds = Dataset(examples, fields)
    text.build_vocab(ds)
    label.build_vocab(ds)
    return ds


def _epoch_ids(iterator):
    return [list(batch.id) for batch in iterator]


@pytest.mark.parametrize("cls", [Iterator, BucketIterator])
@pytest.mark.parametrize("mode", ["train", "eval", "sequential"])
def test_iterators_cover_every_example_once(cls, mode):
    ds = _dataset()
    kwargs = {"train": mode == "train"}
    if mode == "sequential":
        kwargs.update(shuffle=False, sort=False)
    it = cls(ds, batch_size=32, seed=0, **kwargs)
    for _ in range(2):
        batches = _epoch_ids(it)
        assert sorted(_flat(batches)) == list(range(300))
        assert all(len(b) <= 32 for b in batches)
        assert len(batches) == len(it) == math.ceil(300 / 32)
    if mode == "sequential":
        assert _flat(batches) == list(range(300))


def test_lengths_are_correct_and_tensors_padded():
    ds = _dataset()
    it = Iterator(ds, batch_size=17, train=False)
    text_field = ds.fields["text"]
    for batch in it:
        tokens, lens = batch.text
        assert tokens.dtype == torch.long and lens.dtype == torch.long
        assert tokens.shape == (len(batch), int(lens.max()))
        for i, row_id in enumerate(batch.id):
            example = ds[row_id]
            assert int(lens[i]) == len(example.text)
            assert text_field.vocab.lookup_tokens(tokens[i, : lens[i]].tolist()) == example.text


def test_time_major_default_layout():
    ds = _dataset(include_lengths=False, batch_first=False)
    batch = next(iter(Iterator(ds, batch_size=10, train=False)))
    assert batch.text.shape[1] == 10  # [time, batch]


@pytest.mark.parametrize("train", [True, False])
def test_sort_within_batch_descending(train):
    ds = _dataset()
    for batch in BucketIterator(ds, batch_size=20, sort_within_batch=True, train=train):
        lens = batch.text[1].tolist()
        assert lens == sorted(lens, reverse=True)
        assert [len(ds[i].text) for i in batch.id] == lens


def test_eval_iterator_is_sorted_across_batches():
    ds = _dataset()
    batches = list(Iterator(ds, batch_size=25, train=False))
    for prev, nxt in zip(batches, batches[1:]):
        assert int(prev.text[1].max()) <= int(nxt.text[1].min())


def test_epochs_differ_and_same_seed_repeats():
    ds = _dataset()
    for cls in (Iterator, BucketIterator):
        it = cls(ds, batch_size=32, seed=11)
        first, second = _epoch_ids(it), _epoch_ids(it)
        assert first != second
        again = cls(ds, batch_size=32, seed=11)
        assert _epoch_ids(again) == first and _epoch_ids(again) == second


def test_repeat_keeps_going_across_epochs():
    ds = _dataset(n=100)
    it = BucketIterator(ds, batch_size=16, repeat=True, seed=0)
    per_epoch = len(it)
    assert per_epoch == 7
    batches = [list(b.id) for b in itertools.islice(it, 3 * per_epoch + 2)]
    assert len(batches) == 3 * per_epoch + 2
    for epoch in range(3):
        assert sorted(_flat(batches[epoch * per_epoch : (epoch + 1) * per_epoch])) == list(range(100))
    assert it.epoch == 3
    assert batches[:per_epoch] != batches[per_epoch : 2 * per_epoch]


def test_len_with_max_tokens_matches_iteration():
    ds = _dataset()
    for train in (True, False):
        it = BucketIterator(ds, batch_size=64, max_tokens=300, train=train, seed=4)
        expected = len(it)
        batches = list(it)
        assert len(batches) == expected
        for batch in batches:
            tokens, _ = batch.text
            assert len(batch) == 1 or tokens.numel() <= 300


def test_legacy_batch_size_fn():
    ds = _dataset()
    state = {"longest": 0}

    def tokens_in_batch(new, count, so_far):  # the Annotated Transformer's batch_size_fn
        if count == 1:
            state["longest"] = 0
        state["longest"] = max(state["longest"], len(new.text))
        return count * state["longest"]

    it = Iterator(ds, batch_size=200, batch_size_fn=tokens_in_batch, train=False)
    batches = list(it)
    assert len(batches) == len(it)
    assert sorted(_flat([b.id for b in batches])) == list(range(300))
    for batch in batches:
        tokens, _ = batch.text
        assert len(batch) == 1 or tokens.numel() <= 200
    assert max(len(b) for b in batches) > 5  # short sequences are grouped, not one per batch

    summed = Iterator(
        ds,
        batch_size=150,
        batch_size_fn=lambda new, count, so_far: so_far + len(new.text),
        train=False,
        sort=False,
        shuffle=False,
    )
    for batch in summed:
        assert len(batch) == 1 or sum(len(ds[i].text) for i in batch.id) <= 150


def test_iterator_splits_first_trains_rest_sorted():
    train, valid, test = _dataset(seed=1), _dataset(n=120, seed=2), _dataset(n=90, seed=3)
    it_train, it_valid, it_test = BucketIterator.splits((train, valid, test), batch_sizes=(16, 32, 64), seed=0)
    assert (it_train.train, it_valid.train, it_test.train) == (True, False, False)
    assert it_train.shuffle and not it_train.sort
    assert it_valid.sort and it_test.sort and not it_valid.shuffle
    assert [len(it) for it in (it_train, it_valid, it_test)] == [19, 4, 2]
    assert max(len(b) for b in it_train) == 16
    for it, ds in ((it_valid, valid), (it_test, test)):
        order = [len(ds[i].text) for b in it for i in reversed(b.id)]
        assert order == sorted(order)
        assert _epoch_ids(it) == _epoch_ids(it)  # evaluation order is deterministic
    first = _epoch_ids(it_train)
    assert first != _epoch_ids(it_train)

    a, b = Iterator.splits((train, valid), batch_size=50)
    assert (len(a), len(b)) == (6, 3)
    assert a.shuffle and b.sort


def test_batch_unpacking_and_device():
    text = Field(include_lengths=True, batch_first=True)
    label = LabelField()
    fields = [("text", text), ("label", label)]
    examples = [
        Example.fromlist([t, lab], fields)
        for t, lab in [("good film", "pos"), ("bad", "neg"), ("not good at all", "neg")]
    ]
    ds = Dataset(examples, fields)
    text.build_vocab(ds)
    label.build_vocab(ds)
    for device in (-1, "cpu", torch.device("cpu")):
        batch = next(iter(Iterator(ds, batch_size=3, train=False, device=device)))
        (tokens, lens), target = batch
        assert tokens.device.type == lens.device.type == target.device.type == "cpu"
        assert tokens.shape == (3, 4) and lens.tolist() == [4, 2, 1]
        assert [label.vocab.itos[i] for i in target.tolist()] == ["neg", "pos", "neg"]
        assert batch.input_fields == ["text"] and batch.target_fields == ["label"]
        assert "Batch of size 3]" in repr(batch) and "[.label]:[torch.LongTensor of size 3]" in repr(batch)


# ---------------------------------------------------------------------- BucketBatchSampler + DataLoader
def test_sampler_epochs_and_seed(lengths):
    sampler = BucketBatchSampler(lengths, batch_size=32, seed=3)
    epoch0 = list(sampler)
    assert list(sampler) == epoch0
    _assert_partition(epoch0, N)
    sampler.set_epoch(1)
    epoch1 = list(sampler)
    _assert_partition(epoch1, N)
    assert epoch1 != epoch0
    assert list(BucketBatchSampler(lengths, batch_size=32, seed=3)) == epoch0
    other = BucketBatchSampler(lengths, batch_size=32, seed=4)
    assert list(other) != epoch0
    assert len(sampler) == len(epoch1)


@pytest.mark.parametrize("kwargs", [dict(batch_size=30), dict(batch_size=None, max_tokens=2000)])
def test_sampler_replicas_split_each_global_batch(lengths, kwargs):
    replicas = [BucketBatchSampler(lengths, seed=9, num_replicas=2, rank=r, **kwargs) for r in (0, 1)]
    full = list(BucketBatchSampler(lengths, seed=9, **kwargs))
    shards = [list(s) for s in replicas]
    assert len(shards[0]) == len(shards[1])  # the same number of steps on both ranks
    for part0, part1 in zip(*shards):
        assert part0 and part1 and not set(part0) & set(part1)
    if "max_tokens" not in kwargs:  # step t of the two ranks is batch t of one process
        assert [sorted(a + b) for a, b in zip(*shards)] == [sorted(batch) for batch in full]
    seen = Counter(_flat(shards[0] + shards[1]))
    assert set(seen) == set(range(N)) and sum(seen.values()) == N  # disjoint, and every example once
    for sampler in replicas:
        sampler.set_epoch(2)
    again = [list(s) for s in replicas]
    assert again != shards and sorted(_flat(again[0] + again[1])) == list(range(N))
    with pytest.raises(ValueError):
        BucketBatchSampler(lengths, num_replicas=2, rank=2)


def test_sampler_shard_is_a_copy_with_balanced_lengths(lengths):
    whole = BucketBatchSampler(lengths, batch_size=30, seed=0)
    before = list(whole)
    parts = [list(whole.shard(r, 2)) for r in (0, 1)]
    assert list(whole) == before  # the original still yields whole batches
    for part0, part1 in zip(*parts):
        assert abs(len(part0) - len(part1)) <= 1
        longest = max(lengths[i] for i in part0 + part1)
        assert abs(sum(lengths[i] for i in part0) - sum(lengths[i] for i in part1)) <= longest


def test_shard_batches_folds_a_last_batch_smaller_than_the_ranks():
    from textcls.distributed import shard_batches

    batches = [[0, 1, 2, 3], [4, 5, 6, 7], [8]]
    parts = [shard_batches(batches, r, 2) for r in (0, 1)]
    assert [len(p) for p in parts] == [2, 2]
    assert sorted(parts[0][1] + parts[1][1]) == [4, 5, 6, 7, 8]
    with pytest.raises(ValueError, match="cannot be shared by 3 processes"):
        shard_batches([[0, 1]], 0, 3)


def _loader_batches(ds, sampler, workers, sort_within_batch=False):
    loader = DataLoader(
        ds,
        batch_sampler=sampler,
        num_workers=workers,
        collate_fn=FieldCollator(ds.fields, sort_within_batch=sort_within_batch),
    )
    return list(loader)


def test_dataloader_with_workers_matches_single_process():
    ds = _dataset(n=400)
    lens = [len(ex.text) for ex in ds]
    sampler = BucketBatchSampler(lens, batch_size=24, seed=2)
    single = _loader_batches(ds, sampler, 0, sort_within_batch=True)
    multi = _loader_batches(ds, sampler, 2, sort_within_batch=True)
    assert isinstance(multi[0], Batch)
    assert len(single) == len(multi) == len(sampler)
    for a, b in zip(single, multi):
        assert list(a.id) == list(b.id)
        assert torch.equal(a.text[0], b.text[0]) and torch.equal(a.text[1], b.text[1])
        assert torch.equal(a.label, b.label)
        assert a.text[1].tolist() == sorted(a.text[1].tolist(), reverse=True)
    assert sorted(_flat([list(b.id) for b in multi])) == list(range(400))


def test_field_collator_builds_batches_like_iterator():
    ds = _dataset(n=50)
    collate = FieldCollator(ds.fields)
    batch = collate([ds[3], ds[1], ds[2]])
    assert list(batch.id) == [3, 1, 2]
    tokens, lens = batch.text
    assert lens.tolist() == [len(ds[i].text) for i in (3, 1, 2)]
    with pytest.raises(ValueError, match="sort_key"):
        FieldCollator({"label": ds.fields["label"]}, sort_within_batch=True)


def test_field_collator_pickles():
    # DataLoader workers started with "spawn" (macOS, Windows) or "forkserver" (Linux from Python 3.14) receive
    # the collate_fn by pickling, so it must not hold a local lambda
    ds = _dataset(n=20)
    for sort_within_batch in (False, True):
        collate = pickle.loads(pickle.dumps(FieldCollator(ds.fields, sort_within_batch=sort_within_batch)))
        batch = collate([ds[0], ds[1], ds[2]])
        lens = batch.text[1].tolist()
        assert lens == (sorted(lens, reverse=True) if sort_within_batch else [len(ds[i].text) for i in (0, 1, 2)])


def test_dataloader_with_spawned_workers():
    ds = _dataset(n=200)
    sampler = BucketBatchSampler([len(ex.text) for ex in ds], batch_size=24, seed=2)
    loader = DataLoader(
        ds, batch_sampler=sampler, num_workers=2, collate_fn=FieldCollator(ds.fields), multiprocessing_context="spawn"
    )
    batches = list(loader)
    assert [list(b.id) for b in batches] == list(sampler)
