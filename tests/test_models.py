"""The text classifiers (``lstm``, ``multilstm``, ``bilstm``, ``bag``), the model registry and the task heads.

Every model is built tiny (a vocabulary of 50, vectors of 8, 6 hidden units) and fed a batch of token ids with
varied lengths, so padding is present. Shapes are checked for the three heads (binary → 1 logit, multiclass and
multilabel → one per class), gradients must flow, packed LSTMs must ignore padding, and ``bilstm``'s ``last``
pooling must be the final forward state next to the final backward state.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from textcls.errors import TextclsError
from textcls.models import BagOfNgrams, LSTMClassifier, available_models, get_model
from textcls.training.task import Task

VOCAB = 50
PAD = 1
LENGTHS = [7, 3, 5, 1]  # varied: every example but the first is padded

LSTM_CONFIGS = [
    pytest.param(name, pooling, packed, id=f"{name}-{pooling}-{'packed' if packed else 'padded'}")
    for name in ("lstm", "multilstm", "bilstm")
    for pooling in ("last", "max", "mean")
    for packed in (True, False)
]
ALL_CONFIGS = [*LSTM_CONFIGS, pytest.param("bag", None, None, id="bag")]

TASKS = {
    "binary": Task.from_labels(["neg", "pos"]),
    "multiclass": Task.from_labels(["a", "b", "c", "d"]),
    "multilabel": Task.from_labels(["x", "y", "z"], multilabel=True),
}
LOGITS = {"binary": 1, "multiclass": 4, "multilabel": 3}  # one logit for two classes, else one per class or label


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def build(name: str, pooling: str | None, packed: bool | None, num_outputs: int, **options):
    """A tiny model from the registry, seeded, without dropout unless asked."""
    torch.manual_seed(0)
    if name == "bag":
        options = {"embedding_dim": 8, "buckets": 97, "dropout": 0.0, **options}
    else:
        options = {
            "embedding_dim": 8,
            "hidden_size": 6,
            "dropout": 0.0,
            "pooling": pooling,
            "packed": packed,
            **options,
        }
    return get_model(name, vocab_size=VOCAB, num_outputs=num_outputs, padding_idx=PAD, **options)


def padded_batch(lengths: list[int], seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids ``[B, max(lengths)]`` (real ids in 2..VOCAB-1, ``PAD`` after each length) and the lengths."""
    generator = torch.Generator().manual_seed(seed)
    tokens = torch.randint(2, VOCAB, (len(lengths), max(lengths)), generator=generator)
    for row, length in enumerate(lengths):
        tokens[row, length:] = PAD
    return tokens, torch.tensor(lengths)


def targets_for(task: Task, batch: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(1)
    if task.kind == "multilabel":
        return torch.randint(0, 2, (batch, task.num_classes), generator=generator).float()
    return torch.randint(0, task.num_classes, (batch,), generator=generator)


# --- forward / backward on every model and head ---------------------------------------------------------


@pytest.mark.parametrize("kind", list(TASKS))
@pytest.mark.parametrize(("name", "pooling", "packed"), ALL_CONFIGS)
def test_forward_backward_shapes(name, pooling, packed, kind):
    task = TASKS[kind]
    model = build(name, pooling, packed, task.num_outputs)
    tokens, lengths = padded_batch(LENGTHS)
    logits = model(tokens, lengths)
    assert logits.shape == (len(LENGTHS), LOGITS[kind])

    loss = task.loss_fn()(logits, targets_for(task, len(LENGTHS)))
    assert loss.dim() == 0 and torch.isfinite(loss)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None for g in grads)
    dense = [g.to_dense() if g.is_sparse else g for g in grads]
    assert all(torch.isfinite(g).all() for g in dense)
    assert any(g.abs().sum() > 0 for g in dense)

    probabilities = task.probabilities(logits.detach())
    assert probabilities.shape == (len(LENGTHS), task.num_classes)


def test_bag_padding_row_gets_no_update():
    """The ``<pad>`` row of the bag's table stays zero and receives no gradient."""
    model = build("bag", None, None, 3)
    tokens, lengths = padded_batch(LENGTHS)
    model(tokens, lengths).sum().backward()
    assert torch.equal(model.embedding.weight[PAD], torch.zeros(8))
    assert model.embedding.weight.grad.to_dense()[PAD].abs().sum() == 0


# --- padding invariance ---------------------------------------------------------------------------------


PACKED = [p for p in LSTM_CONFIGS if p.values[2]]
UNIDIRECTIONAL_PADDED = [p for p in LSTM_CONFIGS if not p.values[2] and p.values[0] != "bilstm"]


@pytest.mark.parametrize(("name", "pooling", "packed"), [*PACKED, *UNIDIRECTIONAL_PADDED, ALL_CONFIGS[-1]])
def test_logits_do_not_change_with_extra_padding(name, pooling, packed):
    """An example's logits alone (no padding) equal its logits in a batch with a longer example (padded).

    Holds for packed LSTMs, for one-directional LSTMs run over the padding (padding only comes after the real
    tokens) and for the bag (pads are masked out of the mean).
    """
    model = build(name, pooling, packed, 4).eval()
    tokens, lengths = padded_batch([3, 9, 5, 1], seed=3)
    with torch.no_grad():
        together = model(tokens, lengths)
        for row, length in enumerate(lengths.tolist()):
            alone = model(tokens[row : row + 1, :length], lengths[row : row + 1])
            torch.testing.assert_close(together[row : row + 1], alone, rtol=1e-5, atol=1e-6)
            more_padding = torch.cat([tokens[row : row + 1], torch.full((1, 6), PAD)], dim=1)
            torch.testing.assert_close(model(more_padding, lengths[row : row + 1]), alone, rtol=1e-5, atol=1e-6)


def test_padded_bilstm_is_not_padding_invariant():
    """The comparison mode (``packed=False``) of a bidirectional LSTM reads the padding backwards — so its
    logits do change with padding; packing is what removes that."""
    model = build("bilstm", "last", False, 4).eval()
    tokens, lengths = padded_batch([3, 9], seed=3)
    with torch.no_grad():
        together = model(tokens, lengths)[0]
        alone = model(tokens[:1, :3], lengths[:1])[0]
    assert not torch.allclose(together, alone, atol=1e-6)


# --- what the LSTMs compute ------------------------------------------------------------------------------


@pytest.mark.parametrize("packed", [True, False], ids=["packed", "padded"])
def test_bilstm_last_is_final_forward_and_backward_state(packed):
    """``last`` pooling of ``bilstm`` = forward state after the last real token ‖ backward state after the first
    token, of ``nn.LSTM`` run on the unpadded example."""
    model = build("bilstm", "last", packed, 3).eval()
    tokens, lengths = padded_batch([4, 6, 2], seed=5)
    hidden_size = model.lstm.hidden_size
    with torch.no_grad():
        logits = model(tokens, lengths)
        for row, length in enumerate(lengths.tolist()):
            embedded = model.embedding(tokens[row : row + 1, :length])
            outputs, _ = model.lstm(embedded)
            forward_final = outputs[0, length - 1, :hidden_size]
            backward_final = outputs[0, 0, hidden_size:]
            expected = model.output(torch.cat([forward_final, backward_final]))
            if packed or length == max(lengths):  # the padded mode only agrees where there is no padding
                torch.testing.assert_close(logits[row], expected, rtol=1e-5, atol=1e-6)


def test_lstm_last_is_top_layer_state_at_last_real_token():
    model = build("multilstm", "last", True, 2).eval()
    tokens, lengths = padded_batch([5, 2], seed=7)
    with torch.no_grad():
        logits = model(tokens, lengths)
        for row, length in enumerate(lengths.tolist()):
            outputs, _ = model.lstm(model.embedding(tokens[row : row + 1, :length]))
            torch.testing.assert_close(logits[row], model.output(outputs[0, -1]), rtol=1e-5, atol=1e-6)


def _pooled_by_hand(outputs: torch.Tensor, pooling: str) -> torch.Tensor:
    """``outputs`` ``[time, features]`` of one unpadded text, pooled the slow, obvious way."""
    parts = {"max": outputs.max(dim=0).values, "mean": outputs.mean(dim=0)}
    return torch.cat([parts[name] for name in pooling.split("+")])


@pytest.mark.parametrize("pooling", ["max", "mean", "max+mean"])
@pytest.mark.parametrize("mean_embedding", [False, True], ids=["", "mean_embedding"])
def test_pooling_and_mean_embedding_use_only_real_tokens(pooling, mean_embedding):
    model = build("bilstm", pooling, True, 2, mean_embedding=mean_embedding).eval()
    width = 2 * 6 * len(pooling.split("+")) + (8 if mean_embedding else 0)
    assert model.output.in_features == width
    tokens, lengths = padded_batch([5, 2], seed=9)
    with torch.no_grad():
        logits = model(tokens, lengths)
        for row, length in enumerate(lengths.tolist()):
            embedded = model.embedding(tokens[row : row + 1, :length])
            outputs, _ = model.lstm(embedded)
            features = _pooled_by_hand(outputs[0], pooling)
            if mean_embedding:
                features = torch.cat([features, embedded[0].mean(dim=0)])
            torch.testing.assert_close(logits[row], model.output(features), rtol=1e-5, atol=1e-6)


def test_multilstm_is_two_layers_with_inter_layer_dropout():
    model = get_model("multilstm", vocab_size=VOCAB, num_outputs=4, embedding_dim=8, hidden_size=6, dropout=0.25)
    assert isinstance(model, LSTMClassifier)
    assert model.lstm.num_layers == 2
    assert model.lstm.dropout == pytest.approx(0.25)
    assert not model.lstm.bidirectional
    assert get_model("multilstm", vocab_size=VOCAB, num_outputs=4, num_layers=3).lstm.num_layers == 3


def test_single_layer_models_have_no_inter_layer_dropout():
    lstm = get_model("lstm", vocab_size=VOCAB, num_outputs=4, dropout=0.5)
    bilstm = get_model("bilstm", vocab_size=VOCAB, num_outputs=4, dropout=0.5)
    assert (lstm.lstm.num_layers, lstm.lstm.dropout, lstm.lstm.bidirectional) == (1, 0.0, False)
    assert (bilstm.lstm.num_layers, bilstm.lstm.dropout, bilstm.lstm.bidirectional) == (1, 0.0, True)
    assert bilstm.output.in_features == 2 * bilstm.lstm.hidden_size
    assert lstm.dropout.p == bilstm.dropout.p == 0.5  # the dropout before the output layer stays


def test_unknown_pooling_is_a_textcls_error():
    with pytest.raises(TextclsError, match="pooling 'median'"):
        get_model("lstm", vocab_size=VOCAB, num_outputs=2, pooling="median")


# --- registry --------------------------------------------------------------------------------------------


def test_available_models_lists_all_five_with_summaries():
    models = available_models()
    assert set(models) == {"bag", "bilstm", "cnn", "lstm", "multilstm"}
    assert all(summary.strip() for summary in models.values())


def test_get_model_builds_the_right_classes():
    assert isinstance(get_model("bag", vocab_size=VOCAB, num_outputs=2, buckets=10), BagOfNgrams)
    for name in ("lstm", "multilstm", "bilstm"):
        assert isinstance(get_model(name, vocab_size=VOCAB, num_outputs=2, hidden_size=4), LSTMClassifier)


def test_unknown_model_names_it_and_the_choices():
    with pytest.raises(TextclsError) as info:
        get_model("transformer", vocab_size=VOCAB, num_outputs=2)
    message = str(info.value)
    assert "'transformer'" in message
    for name in ("bag", "bilstm", "cnn", "lstm", "multilstm"):
        assert name in message


@pytest.mark.parametrize("name", ["lstm", "multilstm", "bilstm", "bag", "cnn"])
def test_unknown_model_option_names_it(name):
    with pytest.raises(TextclsError) as info:
        get_model(name, vocab_size=VOCAB, num_outputs=2, bogus_option=1)
    assert "bogus_option" in str(info.value)
    assert repr(name) in str(info.value)


# --- task heads ------------------------------------------------------------------------------------------


def test_binary_head_one_logit_bce():
    task = Task.from_labels(["neg", "pos"])
    assert (task.kind, task.num_classes, task.num_outputs) == ("binary", 2, 1)
    logits = torch.tensor([[2.0], [-1.0], [0.0]])
    targets = torch.tensor([1, 0, 0])
    expected = F.binary_cross_entropy_with_logits(logits[:, 0], targets.float())
    torch.testing.assert_close(task.loss_fn()(logits, targets), expected)
    probabilities = task.probabilities(logits)
    p = torch.sigmoid(logits[:, 0])
    torch.testing.assert_close(probabilities, torch.stack([1 - p, p], dim=1))
    torch.testing.assert_close(probabilities.sum(dim=1), torch.ones(3))
    assert task.predict(logits).tolist() == [1, 0, 1]  # a logit of 0 (p = 0.5) goes to the second label


def test_multiclass_head_cross_entropy():
    task = Task.from_labels(["a", "b", "c"])
    assert (task.kind, task.num_outputs) == ("multiclass", 3)
    logits = torch.tensor([[1.0, 2.0, 0.5], [3.0, -1.0, 0.0]])
    targets = torch.tensor([1, 2])
    torch.testing.assert_close(task.loss_fn()(logits, targets), F.cross_entropy(logits, targets))
    weights = torch.tensor([1.0, 2.0, 3.0])
    torch.testing.assert_close(task.loss_fn(weights)(logits, targets), F.cross_entropy(logits, targets, weight=weights))
    torch.testing.assert_close(task.probabilities(logits), logits.softmax(dim=1))
    assert task.predict(logits).tolist() == [1, 0]


def test_multilabel_head_bce_per_label_and_threshold():
    task = Task.from_labels(["x", "y", "z"], multilabel=True, threshold=0.7)
    assert (task.kind, task.num_outputs) == ("multilabel", 3)
    logits = torch.tensor([[2.0, 0.5, -3.0], [0.0, 1.0, 0.9]])
    targets = torch.tensor([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]])
    torch.testing.assert_close(task.loss_fn()(logits, targets), F.binary_cross_entropy_with_logits(logits, targets))
    torch.testing.assert_close(task.probabilities(logits), torch.sigmoid(logits))
    # sigmoid: 0.88, 0.62, 0.05 / 0.5, 0.73, 0.71 → at a threshold of 0.7
    assert task.predict(logits).tolist() == [[1, 0, 0], [0, 1, 1]]
    assert Task.from_labels(["x", "y", "z"], multilabel=True).predict(logits).tolist() == [[1, 1, 0], [1, 1, 1]]


def test_task_round_trips_through_dict():
    task = Task.from_labels(["x", "y", "z"], multilabel=True, threshold=0.3)
    assert Task.from_dict(task.to_dict()) == task


@pytest.mark.parametrize("build_task", [lambda: Task.from_labels(["only"]), lambda: Task("multiclass", ["only"])])
def test_one_class_is_a_textcls_error(build_task):
    with pytest.raises(TextclsError, match="only one class"):
        build_task()


def test_no_labels_at_all_is_a_textcls_error():
    """A task with no labels would build a model with zero outputs; every kind should refuse it."""
    with pytest.raises(TextclsError):
        Task("multiclass", [])
    with pytest.raises(TextclsError):
        Task("multilabel", [])


def test_unknown_task_kind_is_a_textcls_error():
    with pytest.raises(TextclsError, match="regression"):
        Task("regression", ["a", "b"])
