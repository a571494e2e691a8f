"""Legacy torchtext iterators (``torchtext.legacy.data.iterator`` 0.11.2 / ``torchtext.data.iterator`` 0.8.1).

What scripts written for legacy ``Iterator`` / ``BucketIterator`` / ``BPTTIterator`` rely on: batches sorted
longest first for ``pack_padded_sequence``, the ``splits`` defaults (first split trains, the others are
sorted), ``repeat`` / ``iterations`` / ``epoch``, the ``shuffle`` / ``sort`` flags, ``batch_size_fn`` cutting,
``init_epoch`` / ``create_batches`` / ``data`` for subclasses, ``len()``, ``state_dict`` resumption, the
``device`` forms and shuffles that follow ``random.seed``. Expected values are worked out by hand from legacy's
source, not by running legacy torchtext.
"""

import itertools
import json
import logging
import math
import random

import pytest
import torch
import torch.nn as nn

from textcls.data import Dataset, Example, Field, LabelField, RawField, TabularDataset
from textcls.data.batching import RandomShuffler, batch, pool
from textcls.data.iterators import BPTTIterator, BucketIterator, Iterator
from textcls.errors import ArgumentError

WORDS = "the a film plot actor scene music ending was very quite good bad dull fine long short".split()


def make_dataset(lengths, include_lengths=True, batch_first=True, labels=None):
    """Examples ``id``, ``text`` (``lengths[i]`` tokens) and ``label``; vocabularies built."""
    text = Field(include_lengths=include_lengths, batch_first=batch_first)
    label = LabelField()
    fields = [("id", RawField()), ("text", text), ("label", label)]
    rng = random.Random(len(lengths))
    examples = []
    for i, n in enumerate(lengths):
        words = " ".join(rng.choice(WORDS) for _ in range(n))
        tag = labels[i] if labels else ("pos" if i % 3 else "neg")
        examples.append(Example.fromlist([i, words, tag], fields))
    dataset = Dataset(examples, fields)
    text.build_vocab(dataset)
    label.build_vocab(dataset)
    return dataset


def random_lengths(n, seed=0, low=1, high=30):
    rng = random.Random(seed)
    return [rng.randint(low, high) for _ in range(n)]


def epoch_ids(iterator):
    return [list(b.id) for b in iterator]


def flat(batches):
    return [i for b in batches for i in b]


# ------------------------------------------------------------------ sort_within_batch and packed sequences
@pytest.fixture
def review_files(tmp_path):
    """A small train / valid CSV of reviews (header ``text,label``) with lengths from 1 to 25 words."""
    rng = random.Random(3)
    for name, rows in (("train.csv", 90), ("valid.csv", 40)):
        lines = ["text,label"]
        for _ in range(rows):
            good = rng.random() < 0.5
            words = [rng.choice(WORDS[:11]) for _ in range(rng.randint(1, 24))] + ["good" if good else "bad"]
            lines.append(f"{' '.join(words)},{'pos' if good else 'neg'}")
        (tmp_path / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path


def test_sort_within_batch_gives_longest_first_lengths_that_pack(review_files, one_torch_thread):
    TEXT = Field(include_lengths=True, batch_first=True)
    LABEL = LabelField(dtype=torch.float)
    fields = [("text", TEXT), ("label", LABEL)]
    train, valid = TabularDataset.splits(
        path=review_files, train="train.csv", validation="valid.csv", format="csv", fields=fields, skip_header=True
    )
    TEXT.build_vocab(train)
    LABEL.build_vocab(train)
    train_it, valid_it = BucketIterator.splits(
        (train, valid), batch_size=16, sort_within_batch=True, sort_key=lambda x: len(x.text), device="cpu"
    )
    torch.manual_seed(0)
    embedding = nn.Embedding(len(TEXT.vocab), 8, padding_idx=TEXT.vocab.stoi["<pad>"])
    lstm = nn.LSTM(8, 6, batch_first=True)
    seen = 0
    for iterator in (train_it, valid_it):
        for b in iterator:
            (tokens, lengths), target = b
            assert lengths.tolist() == sorted(lengths.tolist(), reverse=True)
            assert tokens.shape == (len(b), int(lengths[0])) and target.shape == (len(b),)
            packed = nn.utils.rnn.pack_padded_sequence(embedding(tokens), lengths, batch_first=True)  # enforce_sorted
            _, (hidden, _) = lstm(packed)
            # the packed batch gives each text the state it gets alone: lengths and padding are right
            for row in (0, len(b) - 1):
                alone = embedding(tokens[row : row + 1, : lengths[row]])
                _, (hidden_alone, _) = lstm(alone)
                assert torch.allclose(hidden[0, row], hidden_alone[0, 0], atol=1e-6)
            seen += len(b)
    assert seen == len(train) + len(valid) == 130


def test_sorted_iterator_reverses_each_batch_like_legacy():
    # legacy: sort=True sorts ascending (stable), then sort_within_batch reverses the batch, so equal lengths
    # come in reverse dataset order (sorted(..., reverse=True) would keep them in dataset order)
    ds = make_dataset([2, 5, 2, 5, 3, 2])
    batches = epoch_ids(Iterator(ds, batch_size=3, train=False))
    assert batches == [[5, 2, 0], [3, 1, 4]]
    unsorted_within = epoch_ids(Iterator(ds, batch_size=3, train=False, sort_within_batch=False))
    assert unsorted_within == [[0, 2, 5], [4, 1, 3]]


def test_shuffled_batches_sorted_longest_first_by_sort_key():
    ds = make_dataset(random_lengths(60))
    it = Iterator(ds, batch_size=7, sort_within_batch=True, seed=1)
    for b in it:
        keys = [len(ds[i].text) for i in b.id]
        assert keys == sorted(keys, reverse=True)
        assert b.text[1].tolist() == keys


# ----------------------------------------------------------------------------------------- splits
def test_splits_first_trains_the_others_evaluate_sorted():
    train, valid, test = make_dataset(random_lengths(50, 1)), make_dataset(random_lengths(30, 2)), make_dataset([4])
    its = BucketIterator.splits((train, valid, test), batch_sizes=(8, 16, 4))
    flags = [(it.train, it.shuffle, it.sort, it.sort_within_batch, it.batch_size) for it in its]
    assert flags == [(True, True, False, False, 8), (False, False, True, True, 16), (False, False, True, True, 4)]
    assert [len(it) for it in its] == [7, 2, 1]
    valid_batches = epoch_ids(its[1])
    assert [len(b) for b in valid_batches] == [16, 14]
    ascending = [len(valid[i].text) for b in valid_batches for i in reversed(b)]
    assert ascending == sorted(ascending)
    assert epoch_ids(its[1]) == valid_batches  # evaluation order does not change between epochs


def test_splits_keyword_arguments_reach_every_iterator():
    train, valid = make_dataset(random_lengths(40, 3)), make_dataset(random_lengths(25, 4))
    a, b = Iterator.splits((train, valid), batch_size=10, sort=False, sort_within_batch=True, device="cpu")
    assert (a.sort, b.sort, a.shuffle, b.shuffle) == (False, False, True, False)
    assert a.batch_size == b.batch_size == 10 and a.sort_within_batch and b.sort_within_batch
    # valid: dataset order, each batch longest first
    batches = epoch_ids(b)
    assert sorted(flat(batches)) == list(range(25))
    assert [sorted(x) for x in batches] == [list(range(s, min(s + 10, 25))) for s in (0, 10, 20)]


def test_splits_argument_mistakes():
    ds = make_dataset([3, 4])
    with pytest.raises(ArgumentError, match="batch_size"):
        Iterator.splits((ds, ds))
    with pytest.raises(ArgumentError, match="not both"):
        Iterator.splits((ds, ds), batch_size=2, batch_sizes=(2, 2))
    with pytest.raises(ArgumentError, match="one each"):
        Iterator.splits((ds, ds, ds), batch_sizes=(2, 2))


# ------------------------------------------------------------------------------ shuffle / sort flags
def test_shuffle_sort_flags():
    lengths = [5, 1, 4, 2, 3, 6, 1]
    ds = make_dataset(lengths)
    as_is = Iterator(ds, batch_size=3, shuffle=False, sort=False)
    assert epoch_ids(as_is) == [[0, 1, 2], [3, 4, 5], [6]]
    by_key = Iterator(ds, batch_size=3, shuffle=False, sort=True, sort_within_batch=False)
    assert epoch_ids(by_key) == [[1, 6, 3], [4, 2, 0], [5]]  # ascending, ties in dataset order
    sort_wins = Iterator(ds, batch_size=3, shuffle=True, sort=True, sort_within_batch=False, seed=0)
    assert epoch_ids(sort_wins) == [[1, 6, 3], [4, 2, 0], [5]]
    shuffled = Iterator(ds, batch_size=3, seed=2)
    epochs = [flat(epoch_ids(shuffled)) for _ in range(4)]
    assert all(sorted(e) == list(range(7)) for e in epochs)
    assert len({tuple(e) for e in epochs}) > 1


def test_data_method_returns_the_epoch_order():
    ds = make_dataset([3, 1, 2])
    assert [ex.id for ex in Iterator(ds, 2, train=False).data()] == [1, 2, 0]
    assert [ex.id for ex in Iterator(ds, 2, shuffle=False).data()] == [0, 1, 2]
    random.seed(11)
    expected = random.sample(range(3), 3)
    random.seed(11)
    assert [ex.id for ex in Iterator(ds, 2).data()] == expected


def test_bucket_iterator_buckets_while_training_without_sort_within_batch():
    # the README's deliberate difference: legacy's batches were random here
    ds = make_dataset(random_lengths(800, 5, 1, 60))
    lengths = [len(ex.text) for ex in ds]

    def padding(iterator):
        cells = real = 0
        for b in iterator:
            keys = [lengths[i] for i in b.id]
            cells += len(keys) * max(keys)
            real += sum(keys)
        return 1 - real / cells

    bucketed = BucketIterator(ds, batch_size=16, seed=0)
    assert not bucketed.sort_within_batch
    assert padding(bucketed) < 0.1 < 0.3 < padding(Iterator(ds, batch_size=16, seed=0))


def test_bucket_iterator_without_shuffle_or_sort_pools_like_legacy():
    # legacy pool(): chunks of 100 * batch_size in dataset order, sorted only with sort_within_batch, not shuffled
    lengths = random_lengths(230, 6)
    ds = make_dataset(lengths)
    plain = BucketIterator(ds, batch_size=2, shuffle=False, sort=False)
    assert flat(epoch_ids(plain)) == list(range(230))
    pooled = epoch_ids(BucketIterator(ds, batch_size=2, shuffle=False, sort=False, sort_within_batch=True))
    order = sorted(range(200), key=lengths.__getitem__) + sorted(range(200, 230), key=lengths.__getitem__)
    expected = [sorted(order[i : i + 2], key=lengths.__getitem__, reverse=True) for i in range(0, 230, 2)]
    assert pooled == expected


def test_bucket_iterator_without_any_sort_key_batches_randomly():
    # numbers only: nothing to bucket by; legacy's random batches still work, sorting asks for a sort_key
    number = Field(sequential=False, use_vocab=False)
    fields = [("x", number), ("y", Field(sequential=False, use_vocab=False, is_target=True))]
    ds = Dataset([Example.fromlist([str(i), str(i % 2)], fields) for i in range(10)], fields)
    x = torch.cat([b.x for b in BucketIterator(ds, batch_size=4, seed=0)])
    assert sorted(x.tolist()) == list(range(10))
    with pytest.raises(ArgumentError, match="sort_key"):
        BucketIterator(ds, batch_size=4, train=False)
    descending = Iterator(ds, 4, train=False, sort_key=lambda e: -int(e.x), sort_within_batch=False)
    assert torch.cat([b.x for b in descending]).tolist() == list(range(9, -1, -1))


def test_sort_key_defaults_to_the_datasets_own():
    ds = make_dataset([3, 1, 2, 5])
    ds.sort_key = lambda ex: -len(ex.text)  # legacy datasets such as IMDB set a sort_key
    assert epoch_ids(Iterator(ds, batch_size=4, train=False, sort_within_batch=False)) == [[3, 0, 2, 1]]
    by_argument = Iterator(ds, batch_size=4, train=False, sort_within_batch=False, sort_key=lambda ex: ex.id)
    assert epoch_ids(by_argument) == [[0, 1, 2, 3]]


# ----------------------------------------------------------------------------- repeat, iterations, epoch
def test_repeat_loops_forever_and_counts_epochs_like_legacy():
    ds = make_dataset(random_lengths(20, 7))
    it = Iterator(ds, batch_size=6, repeat=True, seed=3)
    assert len(it) == 4
    seen, epochs = [], []
    for b in itertools.islice(it, 11):
        seen.append(list(b.id))
        epochs.append(it.epoch)
    assert it.iterations == 11
    assert epochs == [0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]  # floor(iterations / len)
    assert sorted(flat(seen[:4])) == sorted(flat(seen[4:8])) == list(range(20))
    assert seen[:4] != seen[4:8]


def test_without_repeat_iterations_restart_each_epoch():
    ds = make_dataset(random_lengths(20, 8))
    it = Iterator(ds, batch_size=6)
    assert len(list(it)) == 4 and it.iterations == 4 and it.epoch == 1
    first = next(iter(it))
    assert it.iterations == 1 and it.epoch == 0 and len(first) == 6


# ------------------------------------------------------------------------------------ batch_size_fn
def tokens(example, count, size_so_far):
    return size_so_far + len(example.text)


@pytest.mark.parametrize(
    "lengths, limit, expected",
    [
        # overflow: the new example starts the next batch, its size restarts at fn(ex, 1, 0)
        ([2, 2, 3, 1, 5, 1], 5, [[0, 1], [2, 3], [4], [5]]),
        # an exact hit closes the batch at once
        ([2, 3, 5, 1], 5, [[0, 1], [2], [3]]),
        # a restarted size equal to the limit does not close the batch; the next example overflows it
        ([4, 5, 2, 2], 5, [[0], [1], [2, 3]]),
        # a first example above the limit: legacy yielded an empty batch first (and failed to build it)
        ([7, 1, 1], 5, [[0], [1, 2]]),
    ],
)
def test_batch_size_fn_cuts_like_legacy(lengths, limit, expected):
    ds = make_dataset(lengths)
    it = Iterator(ds, batch_size=limit, batch_size_fn=tokens, shuffle=False, sort=False)
    assert epoch_ids(it) == expected
    assert len(it) == len(expected)
    assert list(batch(lengths, limit, lambda n, count, so_far: so_far + n)) == [
        [lengths[i] for i in b] for b in expected
    ]


def test_batch_default_size_is_the_count():
    assert list(batch(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]


def test_padded_token_batch_size_fn_in_every_order():
    # the Annotated Transformer's batch_size_fn: count × longest so far
    longest = {"n": 0}

    def padded_tokens(example, count, size_so_far):
        longest["n"] = len(example.text) if count == 1 else max(longest["n"], len(example.text))
        return count * longest["n"]

    ds = make_dataset(random_lengths(300, 9))
    for cls, train in ((Iterator, True), (Iterator, False), (BucketIterator, True)):
        it = cls(ds, batch_size=60, batch_size_fn=padded_tokens, train=train, seed=0)
        expected = len(it)
        batches = epoch_ids(it)
        assert len(batches) == expected
        assert sorted(flat(batches)) == list(range(300))
        for b in batches:
            assert len(b) == 1 or len(b) * max(len(ds[i].text) for i in b) <= 60


def test_batch_size_fn_and_max_tokens_exclude_each_other():
    ds = make_dataset([3, 4])
    with pytest.raises(ArgumentError, match="not both"):
        Iterator(ds, 10, batch_size_fn=tokens, max_tokens=20)
    with pytest.raises(ArgumentError, match="at least 1"):
        Iterator(ds, 0)


def test_pool_function_follows_legacy():
    keys = [5, 3, 9, 1, 7, 2, 8]
    assert list(pool(keys, 2, key=lambda x: x)) == [[5, 3], [9, 1], [7, 2], [8]]
    assert list(pool(keys, 2, key=lambda x: x, sort_within_batch=True)) == [[1, 2], [3, 5], [7, 8], [9]]
    random.seed(0)
    shuffled = list(pool(keys, 2, key=lambda x: x, sort_within_batch=True, shuffle=True))
    assert sorted(shuffled) == [[1, 2], [3, 5], [7, 8], [9]] and shuffled != [[1, 2], [3, 5], [7, 8], [9]]
    shuffler = RandomShuffler(random.Random(1).getstate())
    again = RandomShuffler(random.Random(1).getstate())
    assert list(pool(keys, 2, lambda x: x, random_shuffler=shuffler, shuffle=True)) == list(
        pool(keys, 2, lambda x: x, random_shuffler=again, shuffle=True)
    )


# ------------------------------------------------------------------------------------- init_epoch, len
def test_init_epoch_creates_batches_of_examples():
    ds = make_dataset(random_lengths(10, 10))
    it = Iterator(ds, batch_size=4, seed=5)
    it.init_epoch()
    first = it.batches
    assert [len(b) for b in first] == [4, 4, 2]
    assert all(isinstance(ex, Example) for b in first for ex in b)
    it.init_epoch()
    assert [[ex.id for ex in b] for b in it.batches] != [[ex.id for ex in b] for b in first]


def test_len_counts_batches():
    ds = make_dataset(random_lengths(101, 11))
    assert len(Iterator(ds, batch_size=10)) == 11
    assert len(BucketIterator(ds, batch_size=101)) == 1
    it = BucketIterator(ds, batch_size=32, max_tokens=120, seed=2)
    state = it.random_shuffler.random_state
    expected = len(it)
    assert it.random_shuffler.random_state == state  # len() does not draw from the shuffler
    assert len(epoch_ids(it)) == expected


def test_subclass_overriding_create_batches_like_the_annotated_transformer():
    class MyIterator(Iterator):
        def create_batches(self):
            if self.train:

                def pooled(d, random_shuffler):
                    for p in batch(d, self.batch_size * 100):
                        p_batch = batch(sorted(p, key=self.sort_key), self.batch_size, self.batch_size_fn)
                        yield from random_shuffler(list(p_batch))

                self.batches = pooled(self.data(), self.random_shuffler)
            else:
                self.batches = [sorted(b, key=self.sort_key) for b in batch(self.data(), self.batch_size)]

    ds = make_dataset(random_lengths(50, 12))
    train_it = MyIterator(ds, batch_size=8, sort_key=lambda x: len(x.text), repeat=False, train=True, seed=0)
    batches = epoch_ids(train_it)
    assert sorted(flat(batches)) == list(range(50))
    spans = [max(len(ds[i].text) for i in b) - min(len(ds[i].text) for i in b) for b in batches]
    assert sum(spans) / len(spans) < 5  # sorted before cutting: similar lengths together
    valid_it = MyIterator(ds, batch_size=8, sort_key=lambda x: len(x.text), train=False)
    assert len(epoch_ids(valid_it)) == math.ceil(50 / 8)


# ------------------------------------------------------------------------------ state_dict round trip
def test_state_dict_resumes_mid_epoch(tmp_path):
    ds = make_dataset(random_lengths(40, 13))
    random.seed(21)
    it = BucketIterator(ds, batch_size=5, repeat=True)
    stream = iter(it)
    run = [list(b.id) for b in itertools.islice(stream, 8 + 3)]  # one epoch of 8, then 3 batches into the next
    state = it.state_dict()
    assert set(state) == {"iterations", "iterations_this_epoch", "random_state_this_epoch"}
    assert state["iterations"] == 11 and state["iterations_this_epoch"] == 3
    rest = [list(b.id) for b in itertools.islice(stream, 5 + 8)]
    assert sorted(flat(run[8:] + rest[:5])) == list(range(40))  # the second epoch, split by the save

    torch.save(state, tmp_path / "iterator.pt")
    loaded = torch.load(tmp_path / "iterator.pt", weights_only=True)
    random.seed(99)  # a different global state: the saved state must decide
    resumed = BucketIterator(ds, batch_size=5, repeat=True)
    resumed.load_state_dict(loaded)
    assert [list(b.id) for b in itertools.islice(resumed, 5 + 8)] == rest
    assert resumed.iterations == 11 + 13 and resumed.epoch == 3

    from_json = BucketIterator(ds, batch_size=5, repeat=True)
    from_json.load_state_dict(json.loads(json.dumps(state)))
    assert [list(b.id) for b in itertools.islice(from_json, 5)] == rest[:5]


def test_state_dict_before_any_epoch_and_without_repeat():
    ds = make_dataset(random_lengths(12, 14))
    it = Iterator(ds, batch_size=4, seed=1)
    assert it.state_dict() == {"iterations": 0, "iterations_this_epoch": 0, "random_state_this_epoch": None}
    gen = iter(it)
    first = [list(next(gen).id)]
    state = it.state_dict()
    rest = [list(b.id) for b in gen]
    again = Iterator(ds, batch_size=4, seed=77)
    again.load_state_dict(state)
    assert [list(b.id) for b in again] == rest and len(first + rest) == 3


# ---------------------------------------------------------------------------------- random reproducibility
def test_shuffle_follows_python_random_state_like_legacy():
    ds = make_dataset(random_lengths(30, 15))
    random.seed(1234)
    before = random.getstate()
    it = Iterator(ds, batch_size=7)
    epochs = [flat(epoch_ids(it)) for _ in range(2)]
    assert random.getstate() == before  # legacy read the global state and never advanced it
    random.seed(1234)
    expected = [random.sample(range(30), 30), random.sample(range(30), 30)]
    assert epochs == expected


def test_random_seed_before_building_reproduces_bucket_runs():
    ds = make_dataset(random_lengths(200, 16))

    def run(seed):
        random.seed(seed)
        train_it, valid_it = BucketIterator.splits((ds, ds), batch_size=16)
        return [epoch_ids(train_it) for _ in range(2)], epoch_ids(valid_it)

    first, second, other = run(3), run(3), run(4)
    assert first == second
    assert first[0] != other[0] and first[1] == other[1]  # evaluation is sorted: no randomness
    assert first[0][0] != first[0][1]  # epochs differ


def test_seed_argument_overrides_the_global_state():
    ds = make_dataset(random_lengths(60, 17))
    random.seed(1)
    a = epoch_ids(BucketIterator(ds, batch_size=8, seed=5))
    random.seed(2)
    b = epoch_ids(BucketIterator(ds, batch_size=8, seed=5))
    assert a == b != epoch_ids(BucketIterator(ds, batch_size=8, seed=6))


# ---------------------------------------------------------------------------------------------- device
@pytest.mark.parametrize("device", [None, "cpu", torch.device("cpu")])
def test_device_forms(device):
    it = Iterator(make_dataset([2, 3]), batch_size=2, device=device)
    assert it.device == torch.device("cpu")
    (ids, (tokens, lengths)), label = next(iter(it))  # inputs: the RawField id and the text, in field order
    assert sorted(ids) == [0, 1]
    assert tokens.device.type == lengths.device.type == label.device.type == "cpu"


@pytest.mark.parametrize("device", [-1, 0])
def test_int_device_means_cpu_with_a_warning_like_legacy(device, caplog):
    with caplog.at_level(logging.WARNING, logger="textcls"):
        it = Iterator(make_dataset([2, 3]), batch_size=2, device=device)
    assert it.device == torch.device("cpu")
    assert "int device" in caplog.text and "cuda:0" in caplog.text


def test_bad_device_is_an_argument_error():
    with pytest.raises(ArgumentError, match="not a device"):
        Iterator(make_dataset([2]), batch_size=1, device="gpu-please")
    with pytest.raises(ArgumentError, match="not a device"):
        Iterator(make_dataset([2]), batch_size=1, device=1.5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_device_puts_every_tensor_there():
    it = Iterator(make_dataset([2, 3, 4]), batch_size=3, device="cuda", train=False)
    b = next(iter(it))
    (tokens, lengths), label = b.text, b.label
    assert tokens.is_cuda and lengths.is_cuda and label.is_cuda
    assert "(GPU 0)" in str(next(iter(it)))


# ------------------------------------------------------------------------------------------ BPTTIterator
def language_model_dataset(n_tokens, batch_first):
    text = Field(batch_first=batch_first, eos_token="<eos>")
    fields = [("text", text)]
    words = [f"t{i}" for i in range(n_tokens)]
    ds = Dataset([Example.fromlist([" ".join(words)], fields)], fields)
    text.build_vocab(ds)
    return ds, text


@pytest.mark.parametrize("batch_first", [False, True])
def test_bptt_iterator_walks_contiguous_streams(batch_first):
    ds, text = language_model_dataset(23, batch_first)
    it = BPTTIterator(ds, batch_size=2, bptt_len=3)
    assert len(it) == math.ceil((23 / 2 - 1) / 3) == 4
    # 23 tokens + 1 pad -> 2 streams of 12: t0..t11 and t12..t22 <pad>
    streams = [[f"t{i}" for i in range(12)], [f"t{i}" for i in range(12, 23)] + ["<pad>"]]
    batches = list(it)
    assert len(batches) == 4 and it.iterations == 4
    for b, start, steps in zip(batches, (0, 3, 6, 9), (3, 3, 3, 2)):
        x, y = b  # text, target
        if batch_first:
            x, y = x.t(), y.t()
        assert x.shape == y.shape == (steps, 2)
        for col in range(2):
            assert [text.vocab.itos[i] for i in x[:, col].tolist()] == streams[col][start : start + steps]
            assert [text.vocab.itos[i] for i in y[:, col].tolist()] == streams[col][start + 1 : start + 1 + steps]
        assert b.batch_size == 2 and list(b.fields) == ["text", "target"]
    assert text.eos_token == "<eos>"  # legacy set it to None as a side effect


def test_bptt_iterator_splits_and_repeat():
    train, _ = language_model_dataset(40, False)
    valid, _ = language_model_dataset(40, False)
    train_it, valid_it = BPTTIterator.splits((train, valid), batch_size=4, bptt_len=5, repeat=True)
    assert train_it.train and not valid_it.train and train_it.bptt_len == 5
    assert len(train_it) == 2
    assert len(list(itertools.islice(train_it, 5))) == 5 and train_it.epoch == 2
    with pytest.raises(ArgumentError, match="one example"):
        BPTTIterator(make_dataset([3, 4]), batch_size=2, bptt_len=3)
