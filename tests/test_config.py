"""Typed configuration: values converted to their types (YAML's ``1e-3`` is a string), wrong types and unknown keys
in one line naming the key, the value and the expected type, every reader option reachable from the CLI and the
config, a run's own ``config.yaml`` as ``--config``, and the model defaults shipped inside the package.

Runs train the ``bag`` model for one epoch on small generated files (no ``../shared/data`` needed).
"""

from __future__ import annotations

import csv
import dataclasses
import random
from pathlib import Path
from typing import Literal

import pytest
import torch
import yaml
from cli_helpers import assert_one_line_error, run_cli

import textcls
from textcls import config as cfg
from textcls.config_types import ColumnOptions, DataConfig, ImageDataConfig, PhasesConfig, ReadOptions
from textcls.conversion import convert, convert_arguments, section_from_dict
from textcls.errors import TextclsError
from textcls.image.job import resolve_config
from textcls.training.trainer import TrainerConfig

WORDS = {"sports": "match goal team score player coach win league".split(),
         "business": "market stock bank profit shares trade economy price".split()}  # fmt: skip
BAG = ["--model", "bag", "--epochs", "1", "--device", "cpu", "--seed", "0"]


def write_corpus(path: Path, rows: int, seed: int = 0, delimiter: str = ",", encoding: str = "utf-8") -> Path:
    """``text,label`` rows of words drawn from two topics."""
    rng = random.Random(seed)
    with open(path, "w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(["text", "label"])
        for _ in range(rows):
            label = rng.choice(sorted(WORDS))
            writer.writerow([" ".join(rng.choice(WORDS[label]) for _ in range(6)), label])
    return path


@pytest.fixture
def corpus(tmp_path, one_torch_thread):
    """``train.csv`` (60 rows) and ``valid.csv`` (17 rows) in ``tmp_path``."""
    return write_corpus(tmp_path / "train.csv", 60), write_corpus(tmp_path / "valid.csv", 17, seed=1)


def saved_config(run_dir: Path) -> dict:
    return yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8"))


# --- conversion ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "annotation", "expected"),
    [
        ("1e-3", float, 0.001), (2, float, 2.0), ("10", int, 10), (3.0, int, 3), ("1e3", int, 1000),
        ("false", bool, False), (1, bool, True), (None, int | None, None), ("7", int | None, 7),
        ("title, description", list[str], ["title", "description"]), (["a"], list[str] | None, ["a"]),
        (5, str, "5"), ("merge", Literal["error", "merge"], "merge"), ({"a": 1}, dict, {"a": 1}),
        ("kept", torch.Tensor, "kept"),  # an annotation conversion does not know passes the value through
    ],
)  # fmt: skip
def test_values_become_their_annotated_type(value, annotation, expected):
    converted = convert(value, annotation, "section.key")
    assert converted == expected and type(converted) is type(expected)


@pytest.mark.parametrize(
    ("value", "annotation", "expected"),
    [
        ("two", int, "an integer (int)"), (1.5, int, "an integer (int)"), (True, float, "a number (float)"),
        ("maybe", bool, "true or false"), (None, int, "an integer (int)"),
        ("x", int | None, "an integer (int) or null"),
        ("bogus", Literal["error", "merge"], "one of error, merge"), ([1], str, "a string"), ("a", dict, "a mapping"),
    ],
)  # fmt: skip
def test_a_wrong_type_names_the_key_the_value_and_the_type(value, annotation, expected):
    with pytest.raises(TextclsError) as error:
        convert(value, annotation, "section.key")
    assert str(error.value) == f"section.key must be {expected}, not {value!r}"


def test_trainer_config_converts_and_rejects():
    training = TrainerConfig.from_dict({"lr": "1e-3", "epochs": "3", "clip_grad_norm": None, "amp": "false"})
    assert (training.lr, training.epochs, training.clip_grad_norm, training.amp) == (0.001, 3, None, False)
    with pytest.raises(TextclsError, match=r"^training.epochs must be an integer \(int\), not 'two'$"):
        TrainerConfig.from_dict({"epochs": "two"})
    with pytest.raises(TextclsError, match="unknown training setting.*bogus.*valid: accumulation_steps"):
        TrainerConfig.from_dict({"bogus": 1})


def test_the_data_section_is_flat_and_splits_into_typed_groups():
    data = DataConfig.from_dict({"batch_size": "16", "text_col": "title,description", "encoding_errors": "replace"})
    assert data.batch_size == 16
    assert data.column_options == ColumnOptions(text_col=["title", "description"])
    assert data.read_options == ReadOptions(encoding_errors="replace")
    flat = data.to_dict()
    assert flat["text_col"] == ["title", "description"] and "read_options" not in flat
    assert DataConfig.from_dict(flat) == data
    with pytest.raises(TextclsError, match="unknown data setting.*bogus.*valid:.*encoding_errors.*text_col"):
        DataConfig.from_dict({"bogus": 1})


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"valid_split": 1.5}, "data.valid_split must be at least 0 and below 1, not 1.5"),
        ({"batch_size": 0}, "data.batch_size must be at least 1, not 0"),
        ({"encoding": "klingon"}, "data.encoding: unknown encoding 'klingon'"),
        ({"csv_reader_params": {"sep": ";"}}, "unknown data.csv_reader_params key(s): sep"),
        ({"csv_reader_params": {"delimiter": ";;"}}, "data.csv_reader_params: "),
        ({"extra_fields": "drop"}, "data.extra_fields must be one of error, merge, skip, not 'drop'"),
    ],
)
def test_impossible_data_values_are_one_line_errors(values, message):
    with pytest.raises(TextclsError) as error:
        DataConfig.from_dict(values)
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


def test_model_options_convert_by_the_builders_signature():
    from textcls.image.models import get_model

    def builder(vocab_size: int, dropout: float = 0.1, pooling: Literal["max", "mean"] = "max", **rest):
        return vocab_size, dropout, pooling

    options = convert_arguments(builder, {"dropout": "1e-1", "pooling": "mean", "other": "x"}, "model_options")
    assert options == {"dropout": 0.1, "pooling": "mean", "other": "x"}
    model = get_model("cifar-cnn", num_classes=3, dropout="2e-1")  # through the registry, as a YAML file gives it
    assert {m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)} == {0.2}
    with pytest.raises(TextclsError, match=r"^model_options.dropout must be a number \(float\), not 'high'$"):
        get_model("cifar-cnn", num_classes=3, dropout="high")


def test_image_sections_are_typed():
    config = resolve_config("lenet", None, [{"training": {"lr": "1e-3"}, "data": {"batch_size": "8"}}])
    assert (config["training"]["lr"], config["data"]["batch_size"]) == (0.001, 8)
    assert config["training"]["scheduler"] == "cosine"  # configs/image/defaults.yaml, models.lenet
    with pytest.raises(TextclsError, match=r"^phases.freeze_epochs must be an integer \(int\), not 'two'$"):
        resolve_config("lenet", None, [{"phases": {"freeze_epochs": "two"}}])
    with pytest.raises(TextclsError, match="unknown data setting.*tokenizer"):
        resolve_config("lenet", None, [{"data": {"tokenizer": "basic_english"}}])


# --- defaults: one place, shipped in the package --------------------------------------------------------------------


def test_model_configs_are_package_data_inside_textcls():
    assert cfg.CONFIG_DIR == Path(textcls.__file__).resolve().parent / "configs"
    assert {"bag", "bilstm", "cnn", "lstm", "multilstm"} <= {path.stem for path in cfg.CONFIG_DIR.glob("*.yaml")}
    assert (cfg.CONFIG_DIR / "image" / "defaults.yaml").exists()
    with pytest.raises(TextclsError, match="unknown model 'no-such-model'; choose one of: bag, bilstm"):
        cfg.model_defaults("no-such-model")  # (a registered model without a YAML file gets {}: test_model_contract)


def test_model_yaml_files_hold_only_what_differs_from_the_typed_defaults():
    text = {"data": DataConfig(), "training": TrainerConfig()}
    image = {"data": ImageDataConfig(), "training": TrainerConfig(), "phases": PhasesConfig()}
    layers = [(path.name, config, text) for path, config in
              ((path, cfg.read_yaml(path)) for path in cfg.CONFIG_DIR.glob("*.yaml"))]  # fmt: skip
    image_file = cfg.read_yaml(cfg.CONFIG_DIR / "image" / "defaults.yaml")
    layers += [("image/defaults.yaml", image_file, image)]
    layers += [(f"image/defaults.yaml models.{name}", part, image) for name, part in image_file["models"].items()]
    assert len(layers) == 8
    for where, config, defaults in layers:
        for name, default in defaults.items():
            typed = type(default).from_dict(config.get(name))
            for key in config.get(name) or {}:
                assert getattr(typed, key) != getattr(default, key), f"{where}: {name}.{key} is the default already"


def test_resolve_fills_every_setting_and_is_stable():
    config = cfg.resolve("bag")
    assert set(config["data"]) == set(DataConfig().to_dict())
    assert set(config["training"]) == {f.name for f in dataclasses.fields(TrainerConfig)}
    assert config["training"]["optimizer"] == "adagrad" and config["data"]["batch_size"] == 128
    assert cfg.resolve("bag", None, [config]) == config


def test_the_last_layer_naming_a_model_chooses_it(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("model: lstm\ntraining: {epochs: 2}\n", encoding="utf-8")
    assert cfg.resolve(None, path)["model"] == "lstm"
    assert cfg.resolve(None, path)["training"]["lr"] == 0.002  # lstm.yaml's
    assert cfg.resolve(None, path, [{"model": "bag"}])["training"]["optimizer"] == "adagrad"
    assert cfg.resolve(None)["model"] == "bilstm"


def test_section_from_dict_rejects_a_section_that_is_not_a_mapping():
    with pytest.raises(TextclsError, match="^data must be a mapping of settings, not 3$"):
        section_from_dict(DataConfig, 3, "data")


# --- through the command line ---------------------------------------------------------------------------------------


def test_yaml_lr_1e_3_trains(corpus, tmp_path):
    config = tmp_path / "mine.yaml"
    config.write_text("training:\n  lr: 1e-3\n  epochs: 1\n", encoding="utf-8")
    assert yaml.safe_load(config.read_text())["training"]["lr"] == "1e-3"  # what YAML makes of it
    status, out, err = run_cli("train", corpus[0], *BAG, "--config", config, "--output", tmp_path / "run")
    assert status == 0, err
    assert saved_config(tmp_path / "run")["training"]["lr"] == 0.001


def test_set_training_lr_1e_3_trains(corpus, tmp_path):
    status, _, err = run_cli("train", corpus[0], *BAG, "--set", "training.lr=1e-3", "--output", tmp_path / "run")
    assert status == 0, err
    assert saved_config(tmp_path / "run")["training"]["lr"] == 0.001


@pytest.mark.parametrize(
    ("how", "fragments"),
    [
        (["--set", "training.epochs=two"], ("training.epochs", "'two'", "an integer (int)")),
        (["--set", "data.batch_size=1.5"], ("data.batch_size", "1.5", "an integer (int)")),
        (["--set", "data.extra_fields=drop"], ("data.extra_fields", "'drop'", "one of error, merge, skip")),
        (["--set", "data.lower=perhaps"], ("data.lower", "'perhaps'", "true or false")),
        ("training:\n  epochs: two\n", ("training.epochs", "'two'", "an integer (int)")),
        ("data:\n  bogus: 1\n", ("unknown data setting(s): bogus",)),
        ("trainin:\n  lr: 0.1\n", ("unknown config section(s): trainin", "sections are")),
        ("training: 3\n", ("training must be a mapping",)),
    ],
)
def test_bad_values_are_one_line_errors_before_any_run(corpus, tmp_path, how, fragments):
    if isinstance(how, str):
        (tmp_path / "bad.yaml").write_text(how, encoding="utf-8")
        how = ["--config", tmp_path / "bad.yaml"]
    flags = [flag for flag in BAG if flag not in ("--epochs", "1")]  # flags would override the file's epochs
    status, _, err = run_cli("train", corpus[0], *flags, *how, "--output", tmp_path / "run")
    assert_one_line_error(status, err, *fragments)
    assert not (tmp_path / "run").exists()


def test_a_runs_config_yaml_is_a_valid_config(corpus, tmp_path):
    """A run's saved config is every resolved setting; given back as --config (with no FILE) it trains the same
    files with the same settings, so the second run saves the same config."""
    first, second = tmp_path / "first", tmp_path / "second"
    status, _, err = run_cli("train", corpus[0], "--valid", corpus[1], *BAG, "--set", "training.lr=0.3",
                             "--output", first)  # fmt: skip
    assert status == 0, err
    status, out, err = run_cli("train", "--config", first / "config.yaml", "--output", second)
    assert status == 0, err
    assert "train 60, valid 17 examples" in out
    assert saved_config(second) == saved_config(first)
    assert saved_config(second)["training"]["lr"] == 0.3


def test_files_valid_and_test_in_config_are_kept(corpus, tmp_path):
    config = tmp_path / "files.yaml"
    config.write_text(yaml.safe_dump({"files": {"valid": str(corpus[1]), "test": str(corpus[1])}}), encoding="utf-8")
    status, out, err = run_cli("train", corpus[0], *BAG, "--config", config, "--output", tmp_path / "run")
    assert status == 0, err
    assert "train 60, valid 17, test 17 examples" in out
    files = saved_config(tmp_path / "run")["files"]
    assert (files["train"], files["valid"], files["test"]) == (str(corpus[0]), str(corpus[1]), str(corpus[1]))


def test_a_config_without_files_train_and_no_file_is_one_line(tmp_path):
    (tmp_path / "empty.yaml").write_text("training: {epochs: 1}\n", encoding="utf-8")
    status, _, err = run_cli("train", "--config", tmp_path / "empty.yaml", "--output", tmp_path / "run")
    assert_one_line_error(status, err, "train needs a FILE", "files.train")


def test_encoding_errors_from_the_cli_and_the_config(corpus, tmp_path):
    latin = tmp_path / "latin.csv"
    latin.write_bytes(corpus[0].read_bytes().replace(b"market", b"march\xe9", 3))
    status, _, err = run_cli("train", latin, *BAG, "--output", tmp_path / "strict")
    assert_one_line_error(status, err, "latin.csv", "not valid utf-8", "encoding_errors")
    status, _, err = run_cli("train", latin, *BAG, "--encoding-errors", "replace", "--output", tmp_path / "flag")
    assert status == 0, err
    assert saved_config(tmp_path / "flag")["data"]["encoding_errors"] == "replace"
    (tmp_path / "replace.yaml").write_text("data: {encoding_errors: replace}\n", encoding="utf-8")
    status, _, err = run_cli("train", latin, *BAG, "--config", tmp_path / "replace.yaml", "--output", tmp_path / "cfg")
    assert status == 0, err


def test_csv_reader_params_from_set(corpus, tmp_path):
    semicolons = write_corpus(tmp_path / "semicolons.csv", 60, delimiter=";")
    status, out, err = run_cli("train", semicolons, *BAG, "--set", "data.csv_reader_params.delimiter=;",
                               "--output", tmp_path / "run")  # fmt: skip
    assert status == 0, err
    assert "text: text; label: label" in out
    assert saved_config(tmp_path / "run")["data"]["csv_reader_params"] == {"delimiter": ";"}


@pytest.mark.parametrize("command", ["train", "inspect", "compare-embeddings"])
def test_every_reader_option_is_a_flag(command):
    from textcls.cli import build_parser

    parser = build_parser()
    flags = {option for action in parser._subparsers._group_actions[0].choices[command]._actions
             for option in action.option_strings}  # fmt: skip
    for section in (ColumnOptions, ReadOptions):
        for f in dataclasses.fields(section):
            if f.name != "csv_reader_params":  # a mapping: --set data.csv_reader_params.KEY=VALUE
                assert "--" + f.name.replace("_", "-") in flags, f.name


def test_inspect_reads_with_the_same_options(corpus, tmp_path):
    latin = tmp_path / "latin.csv"
    latin.write_bytes(corpus[0].read_bytes().replace(b"market", b"March\xe9"))
    status, out, err = run_cli("inspect", latin, "--encoding-errors", "replace", "--batch-size", "8")
    assert status == 0, err
    assert "examples        60" in out and "tokenizer       basic_english + lower" in out
    status, _, err = run_cli("inspect", latin)
    assert_one_line_error(status, err, "not valid utf-8")


def test_train_text_takes_a_partial_mapping_and_saves_every_setting(corpus, tmp_path):
    from textcls.jobs.train import train_text

    training = {"epochs": "1", "lr": "5e-1", "optimizer": "adagrad", "device": "cpu", "progress": False}
    config = {"model": "bag", "files": {"train": str(corpus[0])}, "training": training}
    result = train_text(config, tmp_path / "run")
    assert len(result["history"]) == 1
    saved = saved_config(tmp_path / "run")
    assert saved["training"]["lr"] == 0.5 and saved["training"]["scheduler"] == "none"  # no YAML layer here
    assert set(saved["data"]) == set(DataConfig().to_dict())
