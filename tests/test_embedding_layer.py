"""TextEmbedding: built from a vocabulary's vectors (a copy), a zero <pad> row without gradient, freeze and the
freeze_epochs schedule (with an optimizer built over all parameters at the start), dropout in train mode only, and
sparse gradients."""

from collections import Counter

import pytest
import torch
from torch import nn

from textcls.embeddings import TextEmbedding
from textcls.errors import TextclsError
from textcls.vocab import Vocab

DIM = 6


@pytest.fixture(autouse=True)
def isolated_caches(tmp_path, monkeypatch):
    """Nothing goes to ~/.cache: the vectors cache and the named-vectors directory live under tmp_path."""
    monkeypatch.setenv("TEXTCLS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TEXTCLS_VECTORS_DIR", str(tmp_path / "vectors_dir"))


@pytest.fixture
def vocab(tmp_path):
    """A vocabulary (<unk>, <pad>, 5 words) whose vectors come from a file; 'zebra' has none."""
    words = ["the", "cat", "sat", "mat"]
    generator = torch.Generator().manual_seed(0)
    table = torch.randn(len(words), DIM, generator=generator)
    path = tmp_path / "vectors.txt"
    path.write_text("".join(f"{w} {' '.join(repr(float(x)) for x in row)}\n" for w, row in zip(words, table)))
    vocab = Vocab(Counter({"the": 5, "cat": 3, "sat": 2, "zebra": 2, "mat": 1}))
    torch.manual_seed(0)
    vocab.load_vectors(str(path), unk_init="normal")
    return vocab


def _batch(vocab, *sentences):
    """``[batch, time]`` ids, padded with <pad>."""
    width = max(len(s) for s in sentences)
    pad = vocab.stoi["<pad>"]
    return torch.tensor([[vocab.stoi[t] for t in s] + [pad] * (width - len(s)) for s in sentences])


class _Model(nn.Module):
    """Embedding, mean over time, a linear head: something to train."""

    def __init__(self, embedding):
        super().__init__()
        self.embedding = embedding
        self.head = nn.Linear(embedding.dim, 2)

    def forward(self, tokens):
        return self.head(self.embedding(tokens).mean(dim=1))


def _step(model, optimizer, tokens):
    optimizer.zero_grad()
    loss = nn.functional.cross_entropy(model(tokens), torch.tensor([0, 1]))
    loss.backward()
    optimizer.step()


def test_from_vocab_weights_equal_the_vocab_vectors(vocab):
    layer = TextEmbedding.from_vocab(vocab)
    assert layer.dim == DIM
    assert layer.embedding.padding_idx == vocab.stoi["<pad>"]
    assert torch.equal(layer.embedding.weight.detach(), vocab.vectors)
    assert torch.count_nonzero(layer.embedding.weight[vocab.stoi["<pad>"]]) == 0
    tokens = _batch(vocab, ["the", "cat"], ["zebra"])
    assert torch.equal(layer(tokens).detach(), vocab.vectors[tokens])
    assert layer.embedding.weight.data_ptr() != vocab.vectors.data_ptr()  # a copy


def test_pad_row_is_zero_and_gets_no_gradient(vocab):
    vectors = vocab.vectors.clone()
    vectors[vocab.stoi["<pad>"]] = 1.0  # even when the given vectors have a non-zero pad row
    layer = TextEmbedding(vectors=vectors, padding_idx=vocab.stoi["<pad>"])
    assert torch.count_nonzero(layer.embedding.weight[vocab.stoi["<pad>"]]) == 0
    tokens = _batch(vocab, ["the", "cat", "sat"], ["mat"])
    layer(tokens).pow(2).sum().backward()
    grad = layer.embedding.weight.grad
    assert torch.count_nonzero(grad[vocab.stoi["<pad>"]]) == 0
    assert torch.count_nonzero(grad[vocab.stoi["the"]]) > 0
    assert torch.count_nonzero(grad[vocab.stoi["zebra"]]) == 0  # not in the batch


def test_training_changes_the_layer_not_the_vocab_vectors(vocab):
    before = vocab.vectors.clone()
    model = _Model(TextEmbedding.from_vocab(vocab))
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    _step(model, optimizer, _batch(vocab, ["the", "cat"], ["sat", "mat"]))
    assert not torch.equal(model.embedding.embedding.weight.detach(), before)
    assert torch.equal(vocab.vectors, before)
    assert torch.count_nonzero(model.embedding.embedding.weight[vocab.stoi["<pad>"]]) == 0


def test_freeze_keeps_the_vectors_fixed(vocab):
    model = _Model(TextEmbedding.from_vocab(vocab, freeze=True))
    weight = model.embedding.embedding.weight
    assert model.embedding.frozen and not weight.requires_grad
    head_before = model.head.weight.detach().clone()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)  # frozen weight included
    for epoch in range(3):
        model.embedding.apply_schedule(epoch)
        _step(model, optimizer, _batch(vocab, ["the", "cat"], ["sat", "mat"]))
        assert weight.grad is None
        assert torch.equal(weight.detach(), vocab.vectors)
    assert model.embedding.frozen
    assert not torch.equal(model.head.weight.detach(), head_before)  # the rest trains


def test_freeze_epochs_unfreezes_after_the_schedule(vocab):
    model = _Model(TextEmbedding.from_vocab(vocab, freeze_epochs=2))
    weight = model.embedding.embedding.weight
    assert model.embedding.frozen  # from construction, before any apply_schedule
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)  # built once, over all parameters
    tokens = _batch(vocab, ["the", "cat"], ["sat", "mat"])
    for epoch in range(4):
        model.embedding.apply_schedule(epoch)
        before = weight.detach().clone()
        _step(model, optimizer, tokens)
        if epoch < 2:
            assert model.embedding.frozen and weight.grad is None, epoch
            assert torch.equal(weight.detach(), before), epoch
        else:
            assert not model.embedding.frozen, epoch
            assert not torch.equal(weight.detach(), before), epoch
            changed = (weight.detach() != before).any(dim=1)
            assert changed[vocab.stoi["the"]] and not changed[vocab.stoi["zebra"]]
            assert not changed[vocab.stoi["<pad>"]]


def test_set_frozen_by_hand(vocab):
    layer = TextEmbedding.from_vocab(vocab)
    assert not layer.frozen
    layer.set_frozen(True)
    assert layer.frozen
    layer.set_frozen(False)
    assert not layer.frozen


def test_dropout_in_train_mode_only(vocab):
    layer = TextEmbedding.from_vocab(vocab, dropout=0.5)
    tokens = _batch(vocab, ["the", "cat", "sat", "mat"] * 50)
    plain = vocab.vectors[tokens]
    layer.eval()
    assert torch.equal(layer(tokens).detach(), plain)
    layer.train()
    torch.manual_seed(0)
    out = layer(tokens).detach()
    dropped = out == 0
    assert 0.4 < dropped.float().mean() < 0.6
    assert torch.allclose(out[~dropped], plain[~dropped] * 2)  # survivors scaled by 1 / (1 - p)
    assert not torch.equal(layer(tokens).detach(), out)  # a new mask each call
    no_dropout = TextEmbedding.from_vocab(vocab).train()
    assert torch.equal(no_dropout(tokens).detach(), plain)


def test_sparse_gradients(vocab):
    model = _Model(TextEmbedding.from_vocab(vocab, sparse=True))
    weight = model.embedding.embedding.weight
    tokens = _batch(vocab, ["the", "cat"], ["sat"])
    nn.functional.cross_entropy(model(tokens), torch.tensor([0, 1])).backward()
    assert weight.grad.is_sparse
    dense = weight.grad.to_dense()
    assert torch.count_nonzero(dense[vocab.stoi["<pad>"]]) == 0
    assert torch.count_nonzero(dense[vocab.stoi["mat"]]) == 0
    assert torch.count_nonzero(dense[vocab.stoi["the"]]) > 0
    before = weight.detach().clone()
    torch.optim.SparseAdam([weight], lr=0.1).step()
    changed = (weight.detach() != before).any(dim=1)
    assert changed.tolist() == [vocab.itos[i] in ("the", "cat", "sat") for i in range(len(vocab))]


def test_without_vectors_needs_a_dim(vocab):
    plain = Vocab(Counter({"a": 2, "b": 1}))
    with pytest.raises(TextclsError, match="give the embedding dim"):
        TextEmbedding.from_vocab(plain)
    layer = TextEmbedding.from_vocab(plain, dim=4)
    assert layer.embedding.weight.shape == (4, 4)
    assert torch.count_nonzero(layer.embedding.weight[plain.stoi["<pad>"]]) == 0
    assert torch.count_nonzero(layer.embedding.weight[plain.stoi["a"]]) == 4  # random N(0, 1)
    with pytest.raises(TextclsError, match="needs vectors, or num_embeddings and dim"):
        TextEmbedding()
    no_pad = Vocab(Counter({"a": 1}), specials=["<unk>"])
    assert TextEmbedding.from_vocab(no_pad, dim=3).embedding.padding_idx is None


def test_fixed_rows_train_exactly_like_the_full_layer_under_adam(vocab):
    """Rows no training text uses, moved to a buffer: same losses and weights as the full layer after Adam
    steps (their zero gradients never moved them), the same lookups for them, and fewer trainable parameters."""
    vocab.extend(["apple", "river"])  # words a vectors file would add: never in the training batches
    vocab.vectors = torch.cat([vocab.vectors, torch.randn(2, DIM, generator=torch.Generator().manual_seed(1))])
    first_fixed = vocab.counted_prefix()
    assert first_fixed == len(vocab) - 2
    torch.manual_seed(0)
    full = _Model(TextEmbedding.from_vocab(vocab))
    split = _Model(TextEmbedding.from_vocab(vocab))
    split.load_state_dict(full.state_dict())
    split.embedding.fix_rows_from(first_fixed)
    assert split.embedding.embedding.num_embeddings == first_fixed
    assert sum(p.numel() for p in split.parameters()) == sum(p.numel() for p in full.parameters()) - 2 * DIM
    optimizers = [torch.optim.Adam(m.parameters(), lr=0.1) for m in (full, split)]
    for batch in (["the", "cat"], ["sat", "mat"]), (["zebra", "the"], ["cat"]), (["mat"], ["sat", "sat"]):
        for model, optimizer in zip((full, split), optimizers):
            _step(model, optimizer, _batch(vocab, *batch))
    torch.testing.assert_close(split.embedding.embedding.weight, full.embedding.embedding.weight[:first_fixed])
    torch.testing.assert_close(split.head.weight, full.head.weight)
    unseen = _batch(vocab, ["apple", "the"], ["river", "<pad>"])
    torch.testing.assert_close(split(unseen), full(unseen))
    assert "embedding.fixed_rows" in split.state_dict()


def test_counted_prefix_without_extension_is_the_whole_vocabulary(vocab):
    assert vocab.counted_prefix() == len(vocab)
