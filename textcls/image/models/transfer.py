"""``resnet50-transfer``: torchvision's ResNet-50 with a concat-pool head, for fine-tuning on a new dataset.

torchvision is imported when the model is built, not when the registry loads, so the small models stay quick
to import.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn

from textcls.errors import TextclsError
from textcls.image.models.layers import AdaptiveConcatPool2d
from textcls.image.models.registry import register_image_model

BACKBONE_FEATURES = 2048  # channels of ResNet-50's last stage


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def imagenet_state_dict(weights: str = "IMAGENET1K_V2", download: bool = False) -> dict[str, torch.Tensor]:
    """The state dict of torchvision's ResNet-50 ImageNet ``weights``, from torch's hub cache.

    The file is looked for in ``torch.hub.get_dir()/checkpoints/`` under the name in ``weights.url``; nothing
    touches the network unless ``download`` is true and the file is missing.

    Args:
        weights: a ``torchvision.models.ResNet50_Weights`` name: ``IMAGENET1K_V2`` or ``IMAGENET1K_V1``.
        download: fetch a missing file from ``weights.url`` into the cache.

    Raises:
        TextclsError: (one line) for an unknown ``weights`` name, a missing file (naming the file and the folder
            to put it in), a failed download or an unreadable file.
    """
    from torchvision.models import ResNet50_Weights

    if weights not in ResNet50_Weights.__members__:
        choices = ", ".join(ResNet50_Weights.__members__)
        raise TextclsError(f"unknown ResNet-50 weights {weights!r}; choose one of: {choices}")
    url = ResNet50_Weights[weights].url
    filename = os.path.basename(urlparse(url).path)
    folder = Path(torch.hub.get_dir()) / "checkpoints"
    path = folder / filename
    if not path.is_file():
        if not download:
            raise TextclsError(
                f"ResNet-50 {weights} weights not found: place {filename} (from {url}) in {folder}/, "
                "pass download=True to fetch it, or pass pretrained=False"
            )
        try:
            return torch.hub.load_state_dict_from_url(url, map_location="cpu", progress=False, check_hash=True)
        except (OSError, RuntimeError) as exc:  # URLError is an OSError; a hash mismatch is a RuntimeError
            raise TextclsError(
                f"could not download {url} ({_first_line(exc)}): place {filename} in {folder}/ or pass pretrained=False"
            ) from None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file fails in many ways (pickle, zip, EOF, OS errors)
        raise TextclsError(
            f"cannot read {path} ({_first_line(exc)}): replace it with {url} or pass pretrained=False"
        ) from None


@register_image_model("resnet50-transfer")
class ResNet50Transfer(nn.Module):
    """torchvision ResNet-50 (ImageNet weights) with concat pooling and a new two-layer head, for fine-tuning.

    Input ``3×224×224`` normalised with the ImageNet mean and std (the ``imagenet`` preprocessing preset); thanks
    to the adaptive pooling any size from 32×32 up works. The backbone is torchvision's ``resnet50`` with the
    same module names (``conv1`` … ``layer4``); ``avgpool`` is :class:`AdaptiveConcatPool2d` (max and average,
    4096 features) and ``fc`` is the head: Flatten → BatchNorm1d(4096) → Dropout → Linear 4096 → 512 → ReLU →
    BatchNorm1d(512) → Dropout → Linear 512 → classes.

    Call :meth:`freeze` to train the head only, then :meth:`unfreeze` to fine-tune everything. While frozen, the
    backbone's BatchNorm layers stay in eval mode even when the model is in training mode, so their running
    statistics keep the pretrained values instead of drifting towards the new data.

    Args:
        num_classes: outputs.
        pretrained: load ImageNet weights into the backbone (they must be in torch's hub cache, see ``download``).
        dropout: probability of both dropout layers of the head.
        weights: which torchvision weights: ``IMAGENET1K_V2`` (default) or ``IMAGENET1K_V1``.
        download: when the weights file is missing from the cache, fetch it (needs internet); without it a
            missing file is an error that names the file and the folder to put it in.

    Raises:
        TextclsError: when ``pretrained`` and the weights cannot be found, downloaded or read.
    """

    input_shape = (3, 224, 224)

    def __init__(
        self,
        num_classes: int = 10,
        pretrained: bool = True,
        dropout: float = 0.5,
        weights: str = "IMAGENET1K_V2",
        download: bool = False,
    ):
        from torchvision.models import resnet50

        super().__init__()
        backbone = resnet50(weights=None)
        if pretrained:
            try:
                backbone.load_state_dict(imagenet_state_dict(weights, download))
            except RuntimeError as exc:  # missing / unexpected keys or wrong shapes
                raise TextclsError(
                    f"the {weights} file does not hold ResNet-50 weights ({_first_line(exc)}); "
                    "replace it or pass pretrained=False"
                ) from None
        # Adopt torchvision's modules under their own names, so state dicts and layer names stay familiar.
        for name, module in backbone.named_children():
            setattr(self, name, module)
        self.avgpool = AdaptiveConcatPool2d(1)
        self.fc = nn.Sequential(
            nn.Flatten(),
            nn.BatchNorm1d(2 * BACKBONE_FEATURES),
            nn.Dropout(dropout),
            nn.Linear(2 * BACKBONE_FEATURES, 512),
            nn.ReLU(inplace=True),
            nn.BatchNorm1d(512),
            nn.Dropout(dropout),
            nn.Linear(512, num_classes),
        )
        self.frozen = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x))

    def backbone_modules(self) -> Iterator[nn.Module]:
        """The pretrained part's top-level modules: everything but the head ``fc``."""
        return (module for name, module in self.named_children() if name != "fc")

    def head_parameters(self) -> Iterator[nn.Parameter]:
        """Parameters of the new head ``fc``."""
        return self.fc.parameters()

    def backbone_parameters(self) -> Iterator[nn.Parameter]:
        """Parameters of everything but the head (the ImageNet-pretrained part)."""
        return (p for module in self.backbone_modules() for p in module.parameters())

    def freeze(self) -> ResNet50Transfer:
        """Train the head only: the backbone gets ``requires_grad=False`` and its BatchNorm layers eval mode."""
        for p in self.backbone_parameters():
            p.requires_grad_(False)
        for p in self.head_parameters():
            p.requires_grad_(True)
        self.frozen = True
        return self.train(self.training)

    def unfreeze(self) -> ResNet50Transfer:
        """Train everything again (and let the backbone's BatchNorm layers follow the model's mode)."""
        for p in self.parameters():
            p.requires_grad_(True)
        self.frozen = False
        return self.train(self.training)

    def train(self, mode: bool = True) -> ResNet50Transfer:
        """Set training mode, keeping the backbone's BatchNorm layers in eval mode while frozen."""
        super().train(mode)
        if mode and self.frozen:
            for module in self.backbone_modules():
                for layer in module.modules():
                    if isinstance(layer, nn.BatchNorm2d):
                        layer.eval()
        return self
