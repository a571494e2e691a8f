"""LazyAdam (sparse embedding gradients with adam / adamw) and sparse-aware gradient clipping."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from textcls.training.lazy_adam import LazyAdam
from textcls.training.optim import build_optimizer, clip_gradients


def _pair(rows=12, dim=5, seed=0):
    """Two embeddings with the same weights, one with sparse gradients."""
    torch.manual_seed(seed)
    dense = nn.Embedding(rows, dim)
    sparse = nn.Embedding(rows, dim, sparse=True)
    sparse.weight.data.copy_(dense.weight.data)
    return dense, sparse


def _loss(embedding, ids, target):
    return ((embedding(ids) - target) ** 2).sum()


@pytest.mark.parametrize("name,decay", [("adam", 0.0), ("adam", 0.01), ("adamw", 0.01)])
def test_every_row_used_each_step_follows_torch_adam(name, decay):
    """When every row is in every batch (repeated ids too), the sparse update is torch.optim.Adam's / AdamW's."""
    dense, sparse = _pair()
    reference = (torch.optim.Adam if name == "adam" else torch.optim.AdamW)(dense.parameters(), lr=0.05,
                                                                           weight_decay=decay)  # fmt: skip
    lazy = LazyAdam(sparse.parameters(), lr=0.05, weight_decay=decay, decoupled=name == "adamw")
    generator = torch.Generator().manual_seed(1)
    for _ in range(25):
        ids = torch.cat([torch.arange(12), torch.randint(0, 12, (20,), generator=generator)])
        target = torch.randn(len(ids), 5, generator=generator)
        for embedding, optimizer in ((dense, reference), (sparse, lazy)):
            optimizer.zero_grad()
            _loss(embedding, ids, target).backward()
            optimizer.step()
    assert sparse.weight.grad is None or sparse.weight.grad.is_sparse
    torch.testing.assert_close(sparse.weight, dense.weight, rtol=1e-5, atol=1e-6)


def test_dense_parameters_follow_torch_adam():
    torch.manual_seed(0)
    model = nn.Linear(6, 3)
    copy = nn.Linear(6, 3)
    copy.load_state_dict(model.state_dict())
    reference, lazy = torch.optim.Adam(model.parameters(), lr=0.01), LazyAdam(copy.parameters(), lr=0.01)
    for step in range(30):
        inputs = torch.randn(8, 6, generator=torch.Generator().manual_seed(step))
        for net, optimizer in ((model, reference), (copy, lazy)):
            optimizer.zero_grad()
            net(inputs).pow(2).mean().backward()
            optimizer.step()
    for mine, theirs in zip(copy.parameters(), model.parameters()):
        torch.testing.assert_close(mine, theirs, rtol=1e-6, atol=1e-7)


def test_rows_a_batch_does_not_use_keep_weights_and_moments():
    _, sparse = _pair()
    lazy = LazyAdam(sparse.parameters(), lr=0.1)
    before = sparse.weight.detach().clone()
    _loss(sparse, torch.tensor([1, 3, 3]), torch.zeros(3, 5)).backward()
    lazy.step()
    lazy.zero_grad()
    state = lazy.state[sparse.weight]
    untouched = [row for row in range(12) if row not in (1, 3)]
    assert torch.equal(sparse.weight[untouched], before[untouched])
    assert not state["exp_avg"][untouched].any() and not state["exp_avg_sq"][untouched].any()
    assert not torch.equal(sparse.weight[[1, 3]], before[[1, 3]])
    momentum = state["exp_avg"][[1, 3]].clone()
    _loss(sparse, torch.tensor([5]), torch.zeros(1, 5)).backward()
    lazy.step()
    assert torch.equal(state["exp_avg"][[1, 3]], momentum)  # not decayed while unused (SparseAdam's rule)


def test_equals_torch_sparse_adam_on_partial_batches():
    """SparseAdam is the reference for lazy rows; its eps sits before the bias correction, so compare at eps≈0."""
    _, sparse = _pair(seed=3)
    _, reference_embedding = _pair(seed=3)
    reference = torch.optim.SparseAdam(reference_embedding.parameters(), lr=0.02, eps=1e-12)
    lazy = LazyAdam(sparse.parameters(), lr=0.02, eps=1e-12)
    generator = torch.Generator().manual_seed(4)
    for _ in range(20):
        ids = torch.randint(0, 12, (6,), generator=generator)
        target = torch.randn(6, 5, generator=generator)
        for embedding, optimizer in ((reference_embedding, reference), (sparse, lazy)):
            optimizer.zero_grad()
            _loss(embedding, ids, target).backward()
            optimizer.step()
    torch.testing.assert_close(sparse.weight, reference_embedding.weight, rtol=1e-5, atol=1e-6)


def test_state_dict_resumes_exactly():
    _, first = _pair()
    _, second = _pair()
    optimizer = LazyAdam(first.parameters(), lr=0.05)
    batches = [(torch.tensor([i % 12, (3 * i) % 12]), torch.randn(2, 5)) for i in range(10)]
    for ids, target in batches[:5]:
        optimizer.zero_grad()
        _loss(first, ids, target).backward()
        optimizer.step()
    second.load_state_dict(first.state_dict())
    resumed = LazyAdam(second.parameters(), lr=0.05)
    resumed.load_state_dict(copy.deepcopy(optimizer.state_dict()))  # as read back from a checkpoint file
    for ids, target in batches[5:]:
        for embedding, opt in ((first, optimizer), (second, resumed)):
            opt.zero_grad()
            _loss(embedding, ids, target).backward()
            opt.step()
    assert torch.equal(first.weight, second.weight)


def test_build_optimizer_gives_lazy_adam_for_sparse_models_and_torch_adam_otherwise():
    sparse_model = nn.Sequential(nn.Embedding(10, 4, sparse=True))
    assert isinstance(build_optimizer(sparse_model, "adam", 0.01), LazyAdam)
    adamw = build_optimizer(sparse_model, "adamw", 0.01, weight_decay=0.1)
    assert isinstance(adamw, LazyAdam) and adamw.defaults["decoupled"]
    assert type(build_optimizer(nn.Sequential(nn.Embedding(10, 4)), "adam", 0.01)) is torch.optim.Adam
    with pytest.raises(ValueError):
        LazyAdam(sparse_model.parameters(), lr=-1)


def test_clip_gradients_counts_sparse_rows_like_their_dense_gradient():
    dense, sparse = _pair()
    linear = nn.Linear(5, 1)
    ids = torch.tensor([2, 2, 7, 0])  # repeated id: its rows add up before the norm is taken
    for embedding in (dense, sparse):
        (linear(embedding(ids)).sum() * 40).backward()
    # linear's gradient was accumulated twice (once per embedding, same weights): halve it to stand for one pass
    linear.weight.grad /= 2
    linear.bias.grad /= 2
    dense_norm = torch.linalg.vector_norm(torch.cat([dense.weight.grad.flatten(), linear.weight.grad.flatten(),
                                                     linear.bias.grad.flatten()]))  # fmt: skip
    norm = clip_gradients([*sparse.parameters(), *linear.parameters()], max_norm=1.0)
    torch.testing.assert_close(norm, dense_norm)
    clipped = torch.cat([sparse.weight.grad.to_dense().flatten(), linear.weight.grad.flatten(),
                         linear.bias.grad.flatten()])  # fmt: skip
    torch.testing.assert_close(torch.linalg.vector_norm(clipped), torch.tensor(1.0), rtol=1e-4, atol=1e-4)
    # the dense path is torch's own: the same result as nn.utils.clip_grad_norm_
    other = [torch.randn(3, requires_grad=True) for _ in range(2)]
    for tensor in other:
        tensor.grad = torch.full((3,), 5.0)
    assert clip_gradients(other, 2.0) == pytest.approx(float(torch.linalg.vector_norm(torch.full((6,), 5.0))))
    assert torch.linalg.vector_norm(torch.cat([t.grad for t in other])) == pytest.approx(2.0, rel=1e-4)
