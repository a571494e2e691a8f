"""Classic CNN architectures sized for 3×32×32 inputs (CIFAR-10): simple-cnn, alexnet, vgg, googlenet, resnet.

They follow the course blog's models with its slips fixed: flatten sizes are computed from the layout (and
alexnet, vgg, googlenet and resnet pool adaptively before the classifier, so the head does not depend on the
image size), residual shortcuts have BatchNorm, and the ReLU after a residual addition is applied once.
Convolutions followed by BatchNorm have no bias (BatchNorm's shift replaces it).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from textcls.errors import TextclsError
from textcls.image.models.layers import FeaturesThenClassifier
from textcls.image.models.registry import register_image_model


def conv_bn_relu(cin: int, cout: int, kernel: int = 3, stride: int = 1) -> nn.Sequential:
    """``kernel×kernel`` conv ("same" padding, no bias) → BatchNorm2d → ReLU."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


@register_image_model("simple-cnn")
class SimpleCNN(FeaturesThenClassifier):
    """Small CIFAR-style CNN: two 3×3 conv + ReLU + 2×2 max-pool blocks (32, 64 channels), then FC 128.

    Input ``in_channels×32×32``; the classifier reads ``64×8×8 = 4096`` features: Linear 4096 → 128 → ReLU →
    dropout → Linear 128 → classes.

    Args:
        num_classes: outputs.
        in_channels: image channels (3 for colour, 1 for greyscale).
        dropout: dropout probability before the last layer.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 3, dropout: float = 0.5):
        super().__init__()
        self.input_shape = (in_channels, 32, 32)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 32, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(64 * 8 * 8, 128),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(128, num_classes),
        )


@register_image_model("alexnet")
class AlexNet(nn.Module):
    """AlexNet adapted to 32×32: five 3×3 convs (64, 192, 384, 256, 256) with three max-pools, FC 1024-1024.

    Input ``3×32×32``. The 11×11 stride-4 and 5×5 kernels of the ImageNet original become 3×3 stride-1 (a 32×32
    image has no room for them); max-pools of 2×2 follow conv 1, 2 and 5, giving ``256×4×4``, which an adaptive
    average pool brings to ``256×2×2 = 1024`` features for any input of 32×32 or more. Classifier: dropout →
    Linear 1024 → ``hidden`` → ReLU → dropout → Linear ``hidden`` → ``hidden`` → ReLU → Linear → classes.

    Args:
        num_classes: outputs.
        hidden: width of the two hidden classifier layers.
        dropout: dropout probability in the classifier.
    """

    input_shape = (3, 32, 32)

    def __init__(self, num_classes: int = 10, hidden: int = 1024, dropout: float = 0.5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(64, 192, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(192, 384, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        )
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(256 * 2 * 2, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.features(x)))


VGG_CONFIGS: dict[str, list[int | str]] = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


def _vgg_layout(config: str | Sequence[int | str]) -> list[int | str]:
    if isinstance(config, str):
        if config not in VGG_CONFIGS:
            raise TextclsError(f"unknown vgg config {config!r}; choose one of: {', '.join(VGG_CONFIGS)}")
        return list(VGG_CONFIGS[config])
    layout = list(config)
    valid = all(v == "M" or (isinstance(v, int) and not isinstance(v, bool) and v > 0) for v in layout)
    if not valid or not any(v != "M" for v in layout):
        raise TextclsError(f"a vgg config lists conv channels (positive integers) and 'M' (max-pool), not {config!r}")
    return layout


@register_image_model("vgg")
class VGG(nn.Module):
    """VGG with BatchNorm for 32×32: 3×3 conv-BN-ReLU stacks and 2×2 max-pools by ``config``, then FC 512.

    Input ``3×32×32``: the five max-pools of the standard configs bring it to ``512×1×1``; an adaptive average
    pool makes that one value per channel for any input size. Classifier: Linear ``C`` → 512 → ReLU → dropout →
    Linear 512 → classes, where ``C`` is the last conv's channels (512 for the standard configs).

    Args:
        num_classes: outputs.
        config: ``vgg11``, ``vgg13``, ``vgg16``, ``vgg19``, or a list of conv channels and ``"M"`` (max-pool).
        dropout: dropout probability in the classifier.
    """

    input_shape = (3, 32, 32)

    def __init__(self, num_classes: int = 10, config: str | Sequence[int | str] = "vgg11", dropout: float = 0.5):
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for value in _vgg_layout(config):
            if value == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers.append(conv_bn_relu(channels, value))
                channels = value
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(channels, 512),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(512, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.features(x)))


class Inception(nn.Module):
    """GoogLeNet's Inception block: four parallel branches concatenated along the channels.

    Branches: 1×1 conv; 1×1 reduce → 3×3 conv; 1×1 reduce → 5×5 conv; 3×3 max-pool (stride 1) → 1×1 conv. Every
    conv is conv-BN-ReLU with "same" padding, so the output keeps the input's height and width.

    Args:
        cin: input channels.
        c1: channels of the 1×1 branch.
        c3: ``(reduce, out)`` channels of the 3×3 branch.
        c5: ``(reduce, out)`` channels of the 5×5 branch.
        pool: channels of the pool branch's 1×1 conv.
    """

    def __init__(self, cin: int, c1: int, c3: tuple[int, int], c5: tuple[int, int], pool: int):
        super().__init__()
        self.branch1 = conv_bn_relu(cin, c1, 1)
        self.branch3 = nn.Sequential(conv_bn_relu(cin, c3[0], 1), conv_bn_relu(c3[0], c3[1], 3))
        self.branch5 = nn.Sequential(conv_bn_relu(cin, c5[0], 1), conv_bn_relu(c5[0], c5[1], 5))
        self.branch_pool = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), conv_bn_relu(cin, pool, 1))
        self.out_channels = c1 + c3[1] + c5[1] + pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch3(x), self.branch5(x), self.branch_pool(x)], dim=1)


@register_image_model("googlenet")
class GoogLeNet(nn.Module):
    """Half-width GoogLeNet for 32×32: a 3×3 stem and five Inception blocks in three stages, then FC.

    Input ``3×32×32``. Stem: conv-BN-ReLU 3 → 64 (no down-sampling). Inception blocks (``1×1``, ``3×3``
    reduce/out, ``5×5`` reduce/out, pool) use half the channels of d2l's GoogLeNet blocks 3a, 3b, 4a, 4e, 5b:
    ``(32, 48/64, 8/16, 16)`` → 128 and ``(64, 64/96, 16/48, 32)`` → 240 at 32×32; 3×3 stride-2 max-pool;
    ``(96, 48/104, 8/24, 32)`` → 256 and ``(128, 80/160, 16/64, 64)`` → 416 at 16×16; max-pool;
    ``(192, 96/192, 24/64, 64)`` → 512 at 8×8. Global average pool → dropout → Linear 512 → classes.

    Args:
        num_classes: outputs.
        dropout: dropout probability before the classifier.
    """

    input_shape = (3, 32, 32)

    def __init__(self, num_classes: int = 10, dropout: float = 0.4):
        super().__init__()
        self.stem = conv_bn_relu(3, 64, 3)
        a3 = Inception(64, 32, (48, 64), (8, 16), 16)
        b3 = Inception(a3.out_channels, 64, (64, 96), (16, 48), 32)
        a4 = Inception(b3.out_channels, 96, (48, 104), (8, 24), 32)
        e4 = Inception(a4.out_channels, 128, (80, 160), (16, 64), 64)
        b5 = Inception(e4.out_channels, 192, (96, 192), (24, 64), 64)
        self.inceptions = nn.Sequential(
            a3,
            b3,
            nn.MaxPool2d(3, stride=2, padding=1),
            a4,
            e4,
            nn.MaxPool2d(3, stride=2, padding=1),
            b5,
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(b5.out_channels, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.inceptions(self.stem(x))))


class BasicBlock(nn.Module):
    """Residual block of two 3×3 conv-BN layers; ReLU after the first and once after the addition.

    The shortcut is the identity, or a 1×1 conv (with ``stride``) + BatchNorm when the stride or the channels
    change.

    Args:
        cin: input channels.
        cout: output channels.
        stride: stride of the first conv (2 halves height and width).
    """

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


@register_image_model("resnet")
class ResNet(nn.Module):
    """ResNet with basic blocks for 32×32 (CIFAR-10); ResNet-18 layout by default.

    Input ``3×32×32``. Stem: 3×3 conv-BN-ReLU 3 → ``width`` (no 7×7 conv or max-pool: a 32×32 image is small
    already). Stage ``i`` has ``blocks[i]`` basic blocks of ``width·2^i`` channels, the first of each stage after
    the first with stride 2 (32 → 16 → 8 → 4 for four stages). Global average pool → Linear → classes.

    Args:
        num_classes: outputs.
        blocks: basic blocks per stage (``(2, 2, 2, 2)``: ResNet-18; ``(3, 4, 6, 3)``: ResNet-34).
        width: channels of the stem and the first stage.
    """

    input_shape = (3, 32, 32)

    def __init__(self, num_classes: int = 10, blocks: Sequence[int] = (2, 2, 2, 2), width: int = 64):
        super().__init__()
        blocks = tuple(blocks)
        if not blocks or not all(isinstance(n, int) and n > 0 for n in blocks):
            raise TextclsError(f"resnet blocks must be positive integers, one per stage, not {blocks!r}")
        self.stem = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)
        )
        stages = []
        channels = width
        for i, count in enumerate(blocks):
            cout = width * 2**i
            stride = 1 if i == 0 else 2
            stage = [BasicBlock(channels, cout, stride)] + [BasicBlock(cout, cout) for _ in range(count - 1)]
            stages.append(nn.Sequential(*stage))
            channels = cout
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.stages(self.stem(x))), 1))
