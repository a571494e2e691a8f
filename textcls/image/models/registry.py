"""Image models by name: ``get_model(name, num_classes=10, **options)``; ``available_models()`` lists them."""

from __future__ import annotations

from torch import nn

from textcls.errors import TextclsError
from textcls.registry import Registry

IMAGE_MODELS = Registry("image model", "textcls.image.models", given=("num_classes",))


def register_image_model(name: str):
    """Decorator: make an image model class (or builder function taking ``num_classes``) available as ``name``."""
    return IMAGE_MODELS.register(name)


def available_models() -> dict[str, str]:
    """``{name: first line of its docstring}`` for every image model."""
    return IMAGE_MODELS.summaries()


def get_model(name: str, num_classes: int = 10, **options) -> nn.Module:
    """Build the image model registered as ``name``.

    Args:
        name: a registered name (see :func:`available_models`).
        num_classes: logits the model produces.
        **options: the model's own options (see its docstring).

    Returns:
        The model; its ``input_shape`` is the ``(channels, height, width)`` it expects.

    Raises:
        TextclsError: for an unknown name (listing the valid ones), an option the model does not take, or
            ``num_classes`` below 1.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise TextclsError(f"num_classes must be a positive integer, not {num_classes!r}")
    return IMAGE_MODELS.build(name, num_classes=num_classes, **options)
