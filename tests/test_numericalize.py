"""One numericalization path: ``Field.process``, an iterator's batch, the trainer's ``TextBatches`` and the
``Predictor`` make the same ids and lengths of the same texts, for every combination of the Field options."""

from __future__ import annotations

import itertools

import pytest
import torch

from textcls import config as cfg
from textcls.data import Dataset, Example, Field, Iterator, LabelField
from textcls.data.columns import ColumnChoice
from textcls.data.loader import TextBatches
from textcls.errors import TextclsError
from textcls.jobs.predict import Predictor
from textcls.jobs.rundir import TextRunDir, build_model
from textcls.training.task import Task
from textcls.training.trainer import Trainer, TrainerConfig

TEXTS = [
    "the cat sat on the mat today",
    "a dog",
    "birds fly over the big blue sea and far away",
    "zebra",  # "zebra" is in no training text: <unk>, or an error without unk_token
]
TRAIN = ["the cat sat on the mat today", "a dog", "birds fly over the big blue sea and far away"]
KNOWN = TEXTS[:3]

OPTIONS = {
    "init_token": [None, "<s>"],
    "eos_token": [None, "</s>"],
    "fix_length": [None, 3, 6],
    "truncate_first": [False, True],
    "pad_first": [False, True],
    "include_lengths": [False, True],
    "batch_first": [False, True],
    "unk_token": ["<unk>", None],
}
COMBINATIONS = [dict(zip(OPTIONS, values)) for values in itertools.product(*OPTIONS.values())]


def _name(options: dict) -> str:
    return "-".join(f"{key}={value}" for key, value in options.items())


def make_field(**options) -> Field:
    field = Field(**options)
    field.build_vocab([field.preprocess(text) for text in TRAIN])
    return field


def texts_for(field: Field) -> list[str]:
    return TEXTS if field.unk_token is not None else KNOWN


def batch_first(output, field: Field) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``process``'s output as ``(ids [B, T], lengths or None)``."""
    tensor, lengths = output if field.include_lengths else (output, None)
    return (tensor if field.batch_first else tensor.t()), lengths


def dataset_of(field: Field, texts: list[str]) -> Dataset:
    fields = [("text", field)]
    return Dataset([Example.fromlist([text], fields) for text in texts], fields)


def text_batches_output(field: Field, texts: list[str], max_length=None) -> tuple[torch.Tensor, torch.Tensor]:
    batches = TextBatches(dataset_of(field, texts), field, None, batch_size=len(texts), order="sequential",
                          max_length=max_length)  # fmt: skip
    (step,) = list(batches)
    assert step.indices == list(range(len(texts)))
    return step.inputs


def predictor_for(field: Field, folder) -> Predictor:
    """A run directory holding ``field`` (and a bag-of-embeddings model), loaded as ``textcls predict`` does."""
    config = cfg.resolve("bag", None, [{"data": {"max_length": None}}])
    task = Task.from_labels(["a", "b"])
    run = TextRunDir(folder)
    run.save_setup(config, field, task, ColumnChoice(["text", "label"], True, ["text"], ["label"], False))
    run.save_weights(build_model(config, field, task))
    return Predictor(folder)


@pytest.mark.parametrize("options", COMBINATIONS, ids=_name)
def test_every_path_gives_the_same_ids_and_lengths(options, tmp_path):
    field = make_field(**options)
    texts = texts_for(field)
    tokens = [field.preprocess(text) for text in texts]
    processed, lengths = batch_first(field.process(tokens), field)
    slow, slow_lengths = batch_first(field.numericalize(field.pad(tokens)), field)  # legacy pad + numericalize
    assert torch.equal(processed, slow)
    (iterator_batch,) = list(Iterator(dataset_of(field, texts), batch_size=len(texts), shuffle=False, sort=False))
    from_iterator, iterator_lengths = batch_first(iterator_batch.text, field)
    assert torch.equal(from_iterator, processed)
    trainer_ids, trainer_lengths = text_batches_output(field, texts)
    assert torch.equal(trainer_ids, processed)
    predictor = predictor_for(field, tmp_path / "run")
    (step,) = list(predictor.batches(texts, batch_size=len(texts)))
    order = torch.tensor(step.indices).argsort()  # the predictor's batches are sorted by length
    assert torch.equal(step.inputs[0][order], processed)
    assert torch.equal(step.inputs[1][order], trainer_lengths)
    if field.include_lengths:
        assert torch.equal(lengths, slow_lengths) and torch.equal(lengths, iterator_lengths)
        assert torch.equal(trainer_lengths, lengths)
    if field.fix_length is not None:
        extra = 2 - (field.init_token, field.eos_token).count(None)
        assert processed.shape[1] == max(field.fix_length, extra)  # fix_length counts init/eos


@pytest.mark.parametrize("options", COMBINATIONS[::7], ids=_name)
def test_the_predictors_model_sees_the_fields_ids(options, tmp_path):
    field = make_field(**options)
    texts = texts_for(field)
    predictor = predictor_for(field, tmp_path / "run")
    seen = []
    predictor.model.register_forward_pre_hook(lambda module, inputs: seen.append(inputs))
    assert len(predictor.predict(texts, top_k=1)) == len(texts)
    (tokens, lengths), = seen  # fmt: skip
    expected, _ = batch_first(field.process([field.preprocess(text) for text in texts]), field)
    assert sorted(map(tuple, tokens.tolist())) == sorted(map(tuple, expected.tolist()))


@pytest.mark.parametrize("truncate_first", [False, True])
@pytest.mark.parametrize("init_eos", [False, True])
def test_max_length_is_the_fields_cut_without_padding(truncate_first, init_eos):
    specials = {"init_token": "<s>", "eos_token": "</s>"} if init_eos else {}
    field = make_field(truncate_first=truncate_first, batch_first=True, include_lengths=True, **specials)
    tokens = [field.preprocess(text) for text in TEXTS]
    ids, lengths = text_batches_output(field, TEXTS, max_length=3)
    cut = [(t[-3:] if truncate_first else t[:3]) for t in tokens]
    expected, expected_lengths = field.process(cut)
    assert torch.equal(ids, expected) and torch.equal(lengths, expected_lengths)
    assert ids.shape[1] == 3 + 2 * init_eos  # the longest cut text: never padded beyond it
    assert field.ids(tokens[2], max_length=3) == expected[2].tolist()


def test_max_length_on_top_of_fix_length_keeps_the_fix_length_width():
    field = make_field(fix_length=6, batch_first=True, include_lengths=True, pad_first=True)
    ids, lengths = text_batches_output(field, TEXTS, max_length=2)
    assert ids.shape == (4, 6) and lengths.tolist() == [2, 2, 2, 1]
    assert (ids[:, :4] == field.vocab.stoi["<pad>"]).all()  # padded on the left, as the field says


def test_an_unknown_word_without_unk_token_is_one_error_on_every_path(tmp_path):
    field = make_field(unk_token=None, batch_first=True, include_lengths=True)
    tokens = [field.preprocess(text) for text in TEXTS]
    for make in (
        lambda: field.process(tokens),
        lambda: text_batches_output(field, TEXTS),
        lambda: predictor_for(field, tmp_path / "run").predict(TEXTS),
    ):
        with pytest.raises(TextclsError, match="'zebra' is not in the vocabulary"):
            make()


def test_the_trained_model_sees_pad_first_truncate_first_and_fix_length():
    """One epoch of the trainer on a field with pad_first, truncate_first and fix_length: each batch the model
    gets is that field's ``process`` of the batch's texts."""
    torch.manual_seed(0)
    field = make_field(fix_length=4, pad_first=True, truncate_first=True, init_token="<s>", batch_first=True,
                       include_lengths=True)  # fmt: skip
    label = LabelField()
    fields = [("text", field), ("label", label)]
    examples = [Example.fromlist([text, str(i % 2)], fields) for i, text in enumerate(TEXTS * 4)]
    dataset = Dataset(examples, fields)
    label.build_vocab(dataset)
    task = Task.from_labels(label.vocab.itos)
    config = cfg.resolve("bag", None, [{"data": {"max_length": None}}])
    model = build_model(config, field, task)
    seen = []
    model.register_forward_pre_hook(lambda module, inputs: seen.append(inputs))
    batches = TextBatches(dataset, field, label, batch_size=5, order="bucket", seed=0)
    training = TrainerConfig(epochs=1, optimizer=config["training"]["optimizer"], device="cpu", progress=False)
    trainer = Trainer(model, task, training, tensorboard=False)
    trainer.fit(batches)
    batches.set_epoch(0)
    steps = list(batches)
    assert len(seen) == len(steps) > 1
    for (tokens, lengths), step in zip(seen, steps):
        expected, expected_lengths = field.process([examples[i].text for i in step.indices])
        assert torch.equal(tokens, expected) and torch.equal(lengths, expected_lengths)
        assert tokens.shape[1] == 4 and (tokens[:, -1] != field.vocab.stoi["<pad>"]).all()  # padded on the left
    pad, start = field.vocab.stoi["<pad>"], field.vocab.stoi["<s>"]
    long_text = field.ids(examples[2].text)  # "... and far away": cut from the start, <s> first
    assert long_text == [start] + [field.vocab.stoi[t] for t in ["and", "far", "away"]] and pad not in long_text
