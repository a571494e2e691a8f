"""Run configuration: a model's YAML defaults (``configs/NAME.yaml``), then a user's ``--config`` file, then
command-line flags and ``--set section.key=value``. The resolved result is saved with every run."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import yaml

from textcls._util import atomic_write_text
from textcls.errors import TextclsError

SECTIONS = ("model", "model_options", "data", "training", "files")
DATA_KEYS = {
    "tokenizer", "lower", "min_freq", "max_size", "max_length", "batch_size", "max_tokens", "valid_split",
    "unk_init", "vectors", "vectors_dir", "lower_fallback", "text_col", "label_col", "columns", "no_header",
    "extra_fields", "merge_sep", "bad_rows", "encoding", "format", "multilabel", "label_sep", "vectors_vocab",
    "vectors_epochs", "split_seed",
}  # fmt: skip


def config_dirs() -> list[Path]:
    """Where model configs are looked for: the source tree's ``configs/``, then the installed copy."""
    return [Path(__file__).resolve().parents[1] / "configs", Path(sys.prefix) / "share" / "textcls" / "configs"]


def read_yaml(path: str | Path) -> dict:
    """Read a YAML mapping, with one-line errors."""
    path = Path(path)
    if not path.exists():
        raise TextclsError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise TextclsError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise TextclsError(f"{path} must hold a mapping of sections ({', '.join(SECTIONS)})")
    return data


def model_defaults(model: str) -> dict:
    """The defaults of ``configs/MODEL.yaml``; a registered model without one gets empty sections (its builder's
    defaults and the library's).

    Raises:
        TextclsError: when ``model`` is not a registered text model (listing those that are).
    """
    from textcls.models.registry import MODELS

    MODELS.builder(model)  # the one-line error for an unknown name
    for directory in config_dirs():
        path = directory / f"{model}.yaml"
        if path.exists():
            return read_yaml(path)
    return {"model": model, "model_options": {}, "data": {}, "training": {}}


def merge(base: dict, override: dict) -> dict:
    """Deep-merge ``override`` into a copy of ``base`` (mappings merge, other values replace)."""
    result = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def parse_assignment(text: str) -> dict:
    """``"training.lr=0.01"`` → ``{"training": {"lr": 0.01}}`` (the value is read as YAML)."""
    if "=" not in text:
        raise TextclsError(f"--set takes section.key=value, got {text!r}")
    dotted, raw = text.split("=", 1)
    value = yaml.safe_load(raw) if raw else None
    result: dict = {}
    node = result
    parts = dotted.strip().split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return result


def validate(config: dict, sections=SECTIONS, data_keys=DATA_KEYS) -> dict:
    """Reject unknown sections and data keys (training keys and model options are checked where used).

    Args:
        config: the resolved config.
        sections: the valid top-level sections.
        data_keys: the valid keys of the ``data`` section.
    """
    unknown = sorted(set(config) - set(sections))
    if unknown:
        raise TextclsError(f"unknown config section(s): {', '.join(unknown)}; sections are {', '.join(sections)}")
    bad = sorted(set(config.get("data", {})) - set(data_keys))
    if bad:
        raise TextclsError(f"unknown data setting(s): {', '.join(bad)}; valid: {', '.join(sorted(data_keys))}")
    return config


def resolve(model: str, config_file: str | None = None, overrides: list[dict] = ()) -> dict:
    """Defaults of ``model``, then ``config_file``, then each override, validated."""
    config = model_defaults(model)
    if config_file:
        user = read_yaml(config_file)
        if "model" in user and user["model"] != model:
            config = model_defaults(user["model"])
        config = merge(config, user)
    for override in overrides:
        config = merge(config, override)
    return validate(config)


def save_yaml(config: dict, path: str | Path) -> None:
    """Write ``config`` as YAML (atomically)."""
    atomic_write_text(path, yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
