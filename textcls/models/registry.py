"""Models by name: ``get_model(name, **options)``; ``available_models()`` lists them with a summary."""

from __future__ import annotations

import inspect
from collections.abc import Callable

from textcls.errors import TextclsError

_MODELS: dict[str, Callable] = {}


def register_model(name: str):
    """Decorator: make a model class or builder function available as ``name``."""

    def register(builder):
        _MODELS[name] = builder
        return builder

    return register


def available_models() -> dict[str, str]:
    """``{name: first line of its docstring}``."""
    _load_builtin()
    return {name: (inspect.getdoc(builder) or "").splitlines()[0] for name, builder in sorted(_MODELS.items())}


def get_model(name: str, **options):
    """Build the model registered as ``name`` with ``options``.

    Raises:
        TextclsError: for an unknown name (listing the valid ones) or an option the model does not take.
    """
    _load_builtin()
    if name not in _MODELS:
        raise TextclsError(f"unknown model {name!r}; choose one of: {', '.join(sorted(_MODELS))}")
    try:
        return _MODELS[name](**options)
    except TypeError as exc:
        if "unexpected keyword argument" not in str(exc):
            raise
        option = str(exc).rsplit(" ", 1)[-1]
        raise TextclsError(f"model {name!r} has no option {option}") from None


def _load_builtin() -> None:
    from textcls.models import bag, lstm  # noqa: F401  (registers the built-in models)
