"""Layer helpers: concat pooling, taking a model apart by children or by layer type, re-initialising weights."""

from __future__ import annotations

import torch
from torch import nn

from textcls.errors import TextclsError

INIT_SCHEMES = ("xavier", "kaiming", "normal")


class FeaturesThenClassifier(nn.Module):
    """Base of the CNNs written as ``self.features`` (conv blocks) followed by ``self.classifier`` (flatten and
    linear layers)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class AdaptiveConcatPool2d(nn.Module):
    """Adaptive max pooling and adaptive average pooling side by side: ``[B, C, H, W] → [B, 2C, s, s]``.

    Keeping both the strongest and the average activation gives a transfer head twice the features of plain
    average pooling (fastai's default head).

    Args:
        output_size: spatial size of each pooled map (``1``: one value per channel and pooling).
    """

    def __init__(self, output_size: int | tuple[int, int] = 1):
        super().__init__()
        self.output_size = output_size
        self.max_pool = nn.AdaptiveMaxPool2d(output_size)
        self.avg_pool = nn.AdaptiveAvgPool2d(output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.max_pool(x), self.avg_pool(x)], dim=1)


def first_children(model: nn.Module, k: int) -> nn.Sequential:
    """The first ``k`` direct children of ``model`` as an ``nn.Sequential`` (they share the model's weights).

    A negative ``k`` keeps all but the last ``-k`` children, e.g. ``first_children(resnet, -2)`` drops the pooling
    and the classifier. The result runs the children one after the other, so it only matches ``model``'s own
    forward where that forward does the same (no flatten, skip or concatenation between children).

    Args:
        model: the module to take apart.
        k: how many children to keep (negative: how many to drop from the end).

    Raises:
        TextclsError: when ``model`` has fewer than ``|k|`` children.
    """
    children = list(model.children())
    if abs(k) > len(children):
        raise TextclsError(f"{type(model).__name__} has {len(children)} children; cannot take {k}")
    return nn.Sequential(*children[:k])


def layers_of_type(
    model: nn.Module, types: type[nn.Module] | tuple[type[nn.Module], ...] = (nn.Conv2d,)
) -> list[tuple[str, nn.Module]]:
    """Every submodule of ``model`` (at any depth) that is an instance of ``types``, as ``(name, module)``.

    Args:
        model: the module to search.
        types: a module class or a tuple of them.
    """
    return [(name, module) for name, module in model.named_modules() if isinstance(module, types)]


def reinit_weights(
    model: nn.Module,
    scheme: str = "xavier",
    types: type[nn.Module] | tuple[type[nn.Module], ...] = (nn.Conv2d, nn.Linear),
) -> nn.Module:
    """Re-initialise the weights of every layer of ``types`` in ``model`` and set their biases to zero.

    Args:
        model: the model (changed in place).
        scheme: ``xavier`` (Glorot uniform), ``kaiming`` (He normal for ReLU, fan-in) or ``normal`` (N(0, 0.01²)).
        types: the layer classes to re-initialise; their weights need two or more dimensions for ``xavier`` and
            ``kaiming``.

    Returns:
        ``model``, for chaining.

    Raises:
        TextclsError: for an unknown scheme (listing the valid ones).
    """
    if scheme not in INIT_SCHEMES:
        raise TextclsError(f"unknown init scheme {scheme!r}; choose one of: {', '.join(INIT_SCHEMES)}")
    with torch.no_grad():
        for name, module in layers_of_type(model, types):
            weight = getattr(module, "weight", None)
            if isinstance(weight, torch.Tensor):
                if scheme != "normal" and weight.dim() < 2:
                    raise TextclsError(f"{scheme} init needs a weight of 2+ dimensions; {name!r} has {weight.dim()}")
                if scheme == "xavier":
                    nn.init.xavier_uniform_(weight)
                elif scheme == "kaiming":
                    nn.init.kaiming_normal_(weight, nonlinearity="relu")
                else:
                    nn.init.normal_(weight, mean=0.0, std=0.01)
            bias = getattr(module, "bias", None)
            if isinstance(bias, torch.Tensor):
                bias.zero_()
    return model
