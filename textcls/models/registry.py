"""Text models by name: ``get_model(name, **options)``; ``available_models()`` lists them with a summary."""

from __future__ import annotations

from textcls.registry import Registry

MODELS = Registry("model", ("textcls.models.bag", "textcls.models.lstm"))


def register_model(name: str):
    """Decorator: make a model class or builder function available as ``name``."""
    return MODELS.register(name)


def available_models() -> dict[str, str]:
    """``{name: first line of its docstring}``."""
    return MODELS.summaries()


def get_model(name: str, **options):
    """Build the model registered as ``name`` with ``options``.

    Raises:
        TextclsError: for an unknown name (listing the valid ones) or an option the model does not take.
    """
    return MODELS.build(name, **options)
