"""Run configuration, in order of precedence (later wins):

1. the defaults of the typed sections (:mod:`textcls.config_types`, :class:`~textcls.training.TrainerConfig`);
2. a model's ``textcls/configs/MODEL.yaml`` (package data: only what that model changes; a model without one
   trains with the defaults and its builder's own);
3. a user's ``--config`` file (any part of a config; a run's own ``config.yaml`` works);
4. command-line flags, then ``--set section.key=value``.

:func:`resolve` merges them and returns every setting, converted to its type and checked (one-line errors name
the key, the value and the expected type); that resolved mapping is what a run saves.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from textcls._util import atomic_save
from textcls.config_types import DataConfig, ImageDataConfig, ImageFiles, PhasesConfig, Section, TextFiles
from textcls.conversion import convert
from textcls.errors import TextclsError
from textcls.training.trainer import TrainerConfig

CONFIG_DIR = Path(__file__).resolve().parent / "configs"  # package data (pyproject.toml)
DEFAULT_MODEL = "bilstm"


@dataclass
class TextRunConfig(Section):
    """A text run's whole configuration (``textcls train``)."""

    model: str = DEFAULT_MODEL
    model_options: dict[str, Any] = field(default_factory=dict)
    data: DataConfig = field(default_factory=DataConfig)
    training: TrainerConfig = field(default_factory=TrainerConfig)
    files: TextFiles = field(default_factory=TextFiles)


@dataclass
class ImageRunConfig(Section):
    """An image run's whole configuration (``textcls image train``)."""

    model: str = "mnist-cnn"
    model_options: dict[str, Any] = field(default_factory=dict)
    data: ImageDataConfig = field(default_factory=ImageDataConfig)
    training: TrainerConfig = field(default_factory=TrainerConfig)
    phases: PhasesConfig = field(default_factory=PhasesConfig)
    files: ImageFiles = field(default_factory=ImageFiles)


def read_yaml(path: str | Path) -> dict:
    """Read a YAML mapping, with one-line errors (``safe_load``: no tags, nothing executed)."""
    path = Path(path)
    if not path.exists():
        raise TextclsError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise TextclsError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise TextclsError(f"{path} must hold a mapping of sections (model, model_options, data, training, files)")
    return data


def read_config_file(path: str | Path) -> dict:
    """A user's ``--config`` file; a run's ``config.yaml`` is one too (its ``format`` marker is dropped)."""
    config = read_yaml(path)
    config.pop("format", None)
    return config


def model_defaults(model: str) -> dict:
    """What ``configs/MODEL.yaml`` sets (``{}`` for a registered model without one: it trains with the typed
    defaults and its builder's own).

    Raises:
        TextclsError: when ``model`` is not a registered text model (listing those that are).
    """
    from textcls.models.registry import MODELS

    MODELS.builder(model)  # the one-line error for an unknown name
    path = CONFIG_DIR / f"{model}.yaml"
    return read_yaml(path) if path.exists() else {}


def merge(base: dict, override: dict, section: str = "") -> dict:
    """Deep-merge ``override`` into a copy of ``base`` (mappings merge, other values replace; a mapping is only
    replaced by another mapping or ``None``).

    Args:
        base: the mapping merged into.
        override: the mapping that wins.
        section: the dotted name of ``base`` in the whole config, for messages.
    """
    result = copy.deepcopy(base)
    for key, value in override.items():
        where = f"{section}.{key}" if section else str(key)
        if isinstance(result.get(key), dict) and value is not None and not isinstance(value, dict):
            raise TextclsError(f"{where} must be a mapping of settings, not {value!r}")
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value, where)
        else:
            result[key] = copy.deepcopy(value)
    return result


def parse_assignment(text: str) -> dict:
    """``"training.lr=0.01"`` → ``{"training": {"lr": 0.01}}`` (the value is read as YAML)."""
    if "=" not in text:
        raise TextclsError(f"--set takes section.key=value, got {text!r}")
    dotted, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw else None
    except yaml.YAMLError:
        value = raw  # not YAML (e.g. ':'): the text itself, converted by the key's type
    result: dict = {}
    node = result
    parts = dotted.strip().split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return result


def resolve_layers(schema: type[Section], defaults, model: str | None, config_file, overrides, default_model: str):
    """Merge a model's defaults, ``config_file`` and ``overrides`` and build ``schema`` from the result.

    Args:
        schema: the run's typed config (:class:`TextRunConfig`, :class:`ImageRunConfig`).
        defaults: ``defaults(model) -> dict``, the model's defaults file(s).
        model: the model, unless ``config_file`` or an override names another (the last one that does wins).
        config_file: a YAML file (``--config``), or ``None``.
        overrides: mappings merged in order (flags, then each ``--set``).
        default_model: the model when nothing names one.

    Returns:
        the resolved mapping (every setting of ``schema``).
    """
    layers = ([read_config_file(config_file)] if config_file else []) + list(overrides)
    for layer in layers:
        if layer.get("model") is not None:
            model = layer["model"]
    name = convert(model or default_model, str, "model")
    config = merge(schema().to_dict(), {**defaults(name), "model": name})  # every section a mapping from the start
    for layer in layers:
        config = merge(config, {**layer, "model": name})
    return schema.from_dict(config).to_dict()


def resolve(model: str | None = None, config_file: str | None = None, overrides: list[dict] = ()) -> dict:
    """The resolved config of a text run (:class:`TextRunConfig`): every setting, converted and checked.

    Args:
        model: the model, unless ``config_file`` or an override names another (``None``: ``bilstm``).
        config_file: a YAML file (``--config``).
        overrides: mappings merged in order (flags, then each ``--set``).
    """
    return resolve_layers(TextRunConfig, model_defaults, model, config_file, overrides, DEFAULT_MODEL)


def save_yaml(config: dict, path: str | Path) -> None:
    """Write ``config`` as YAML (atomically)."""
    text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
    atomic_save(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
