"""``cnn`` (Kim 2014, ``textcls/models/cnn.py``): masking, short and empty texts, the embedding modes, and training
to high accuracy on the generated news corpus. The contract checks run in ``tests/test_model_contract.py``."""

from __future__ import annotations

import json

import pytest
import torch
from cli_helpers import assert_one_line_error, run_cli

from textcls.embeddings.layer import FreezeSchedule
from textcls.errors import TextclsError
from textcls.models import get_model
from textcls.models.cnn import MODES, KimCNN

pytestmark = pytest.mark.usefixtures("one_torch_thread")
VOCAB, PAD = 30, 1


def _model(mode: str = "non-static", **options) -> KimCNN:
    torch.manual_seed(0)
    vectors = torch.randn(VOCAB, 8)
    options = {"num_filters": 6, **options}
    return get_model("cnn", num_outputs=3, vectors=vectors, padding_idx=PAD, mode=mode, **options)


@pytest.mark.parametrize("mode", MODES)
def test_a_text_s_logits_do_not_change_with_the_padding_of_a_longer_text_in_its_batch(mode):
    model = _model(mode).eval()
    text = torch.tensor([[5, 6, 7, 8, 9, 10]])
    alone = model(text, torch.tensor([6]))
    for extra in (1, 4, 20):
        longer = torch.randint(2, VOCAB, (1, 6 + extra), generator=torch.Generator().manual_seed(extra))
        batch = torch.cat([torch.cat([text, torch.full((1, extra), PAD)], dim=1), longer])
        together = model(batch, torch.tensor([6, 6 + extra]))
        assert torch.allclose(together[:1], alone, atol=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_texts_shorter_than_the_widest_filter_and_empty_texts_get_deterministic_logits(mode):
    model = _model(mode).eval()
    one_token = model(torch.tensor([[7]]), torch.tensor([1]))
    assert one_token.shape == (1, 3) and torch.isfinite(one_token).all()
    batch = torch.tensor([[7, PAD, PAD, PAD, PAD, PAD, PAD], [3, 4, 5, 6, 7, 8, 9], [PAD] * 7])
    logits = model(batch, torch.tensor([1, 7, 0]))
    assert torch.allclose(logits[0], one_token[0], atol=1e-6)  # padded to 5 inside, or by the batch: the same
    empty = model(torch.tensor([[PAD]]), torch.tensor([0]))
    again = model(torch.tensor([[PAD]]), torch.tensor([0]))
    assert torch.allclose(logits[2], empty[0], atol=1e-6) and torch.equal(empty, again)
    assert not torch.allclose(one_token, empty)  # the one token counts


def _train_steps(model: KimCNN, steps: int = 5) -> None:
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    generator = torch.Generator().manual_seed(1)
    model.train()
    for epoch in range(steps):
        for callback in filter(None, [model.embedding.freeze_schedule()]):
            callback.on_epoch_start(None, epoch)
        tokens = torch.randint(2, VOCAB, (8, 9), generator=generator)
        loss = torch.nn.functional.cross_entropy(model(tokens, torch.full((8,), 9)), torch.arange(8) % 3)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def test_multichannel_keeps_its_static_channel_fixed_while_the_fine_tuned_one_and_non_static_change():
    multichannel, non_static = _model("multichannel"), _model("non-static")
    start = multichannel.embedding.embedding.weight.detach().clone()
    assert torch.equal(multichannel.static_rows, start) and "static_rows" in multichannel.state_dict()
    _train_steps(multichannel)
    _train_steps(non_static)
    assert torch.equal(multichannel.static_rows, start)
    assert not torch.allclose(multichannel.embedding.embedding.weight, start)
    assert not torch.allclose(non_static.embedding.embedding.weight, start)


def test_static_freezes_the_shared_embedding_for_the_whole_run_even_with_a_freeze_schedule():
    model = _model("static", freeze_epochs=1)
    start = model.embedding.embedding.weight.detach().clone()
    FreezeSchedule(model.embedding).on_epoch_start(None, 3)  # past freeze_epochs: still frozen
    assert model.embedding.frozen
    _train_steps(model)
    assert torch.equal(model.embedding.embedding.weight, start)


def test_multichannel_reads_rows_the_embedding_keeps_fixed_from_its_buffer():
    torch.manual_seed(0)
    vectors = torch.randn(VOCAB, 8)
    options = {"num_outputs": 3, "vectors": vectors, "padding_idx": PAD, "mode": "multichannel", "num_filters": 4}
    model = get_model("cnn", fix_rows_from=20, **options)
    assert model.static_rows.shape == (20, 8)  # only the trainable rows are copied
    tokens = torch.tensor([[2, 25, 19, 29, 3]])
    assert torch.equal(model._static(tokens), vectors[tokens])


@pytest.mark.parametrize(
    ("options", "fragment"),
    [({"mode": "dynamic"}, "unknown cnn mode 'dynamic'"), ({"filter_sizes": "3,x"}, "cnn filter_sizes='3,x'"),
     ({"filter_sizes": "0"}, "give positive widths"), ({"num_filters": 0}, "num_filters must be at least 1")],
)  # fmt: skip
def test_bad_options_are_one_line_errors(options, fragment):
    with pytest.raises(TextclsError, match=fragment):
        get_model("cnn", num_outputs=2, vocab_size=VOCAB, **options)


def test_filter_sizes_set_the_convolutions():
    model = get_model("cnn", num_outputs=2, vocab_size=VOCAB, filter_sizes="2,7", num_filters=5)
    assert [conv.kernel_size[0] for conv in model.convolutions] == [2, 7] and model.output.in_features == 10
    assert model(torch.tensor([[3, 4]]), torch.tensor([2])).shape == (1, 2)  # shorter than 7


def test_cnn_trains_to_high_accuracy_on_the_generated_news(generated, tmp_path):
    book = generated.book
    run = tmp_path / "run"
    status, out, err = run_cli(
        "train", book / "train.csv.gz", "--valid", book / "valid.csv.gz", "--test", book / "test.csv.gz",
        "--model", "cnn", "--extra-fields", "merge", "--merge-sep", ";", "--vectors", generated.glove,
        "--set", "model_options.mode=multichannel", "--epochs", "2", "--batch-size", "32", "--threads", "1",
        "--device", "cpu", "--output", run,
    )  # fmt: skip
    assert status == 0, err
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.95, out
    assert sum(map(sum, metrics["test"]["confusion"])) == 400


def test_a_bad_mode_on_the_command_line_is_one_line(generated, tmp_path):
    status, _, err = run_cli("train", generated.book / "valid.csv.gz", "--model", "cnn", "--set",
                             "model_options.mode=dynamic", "--output", tmp_path / "run")  # fmt: skip
    assert_one_line_error(status, err, "unknown cnn mode 'dynamic'")
    assert not (tmp_path / "run").exists()
