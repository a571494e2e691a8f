"""The course chapters' small nets for MNIST, Fashion-MNIST and CIFAR-10, as the chapters describe them.

Their layers keep the default PyTorch biases (also in front of BatchNorm) so the parameter counts match the
chapters.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from textcls.errors import TextclsError
from textcls.image.models.layers import FeaturesThenClassifier, reinit_weights
from textcls.image.models.registry import register_image_model

MLP_OUTPUTS = ("logits", "log_softmax", "softmax")


@register_image_model("fashion-mlp")
class FashionMLP(nn.Module):
    """Fashion-MNIST multilayer perceptron: flatten 784 → 256 → 128 → classes, ReLU between.

    Input ``1×28×28``.

    Args:
        num_classes: outputs.
        output: ``logits`` (default; the trainer's CrossEntropyLoss applies the softmax itself), ``log_softmax``
            (the chapter's variant, to pair with NLLLoss) or ``softmax`` (probabilities, for display only).
    """

    input_shape = (1, 28, 28)

    def __init__(self, num_classes: int = 10, output: str = "logits"):
        super().__init__()
        if output not in MLP_OUTPUTS:
            raise TextclsError(f"unknown fashion-mlp output {output!r}; choose one of: {', '.join(MLP_OUTPUTS)}")
        self.output = output
        self.layers = nn.Sequential(
            nn.Flatten(),
            nn.Linear(28 * 28, 256),
            nn.ReLU(),
            nn.Linear(256, 128),
            nn.ReLU(),
            nn.Linear(128, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scores = self.layers(x)
        if self.output == "log_softmax":
            return F.log_softmax(scores, dim=1)
        if self.output == "softmax":
            return F.softmax(scores, dim=1)
        return scores


@register_image_model("cifar-cnn")
class CifarCNN(FeaturesThenClassifier):
    """CIFAR-10 CNN: three 3×3 conv + ReLU + 2×2 max-pool blocks (3→16→32→64), then 1024 → 512 → classes.

    Input ``3×32×32``; the pooled map is ``64×4×4 = 1024`` features. Dropout comes before each Linear layer.

    Args:
        num_classes: outputs.
        dropout: dropout probability in the classifier.
    """

    input_shape = (3, 32, 32)

    def __init__(self, num_classes: int = 10, dropout: float = 0.3):
        super().__init__()
        blocks = []
        for cin, cout in ((3, 16), (16, 32), (32, 64)):
            blocks += [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(64 * 4 * 4, 512),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(512, num_classes),
        )


@register_image_model("mnist-convnet")
class MnistConvNet(FeaturesThenClassifier):
    """MNIST ConvNet with BatchNorm: two conv blocks (32, 64 channels), then 3136 → 512 → 512 → classes.

    Input ``1×28×28``. Each block is 3×3 conv (padding 1) → BatchNorm2d → ReLU → 2×2 max-pool, so the features
    are ``64×7×7 = 3136``; the classifier is dropout → Linear 512 → BatchNorm1d → ReLU → dropout → Linear 512 →
    BatchNorm1d → ReLU → Linear classes.

    Args:
        num_classes: outputs.
        dropout: dropout probability in the classifier.
    """

    input_shape = (1, 28, 28)

    def __init__(self, num_classes: int = 10, dropout: float = 0.5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(64 * 7 * 7, 512),
            nn.BatchNorm1d(512),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(512, 512),
            nn.BatchNorm1d(512),
            nn.ReLU(),
            nn.Linear(512, num_classes),
        )


@register_image_model("lenet")
class LeNet(nn.Module):
    """LeNet-5 as in d2l: two 5×5 conv + sigmoid + 2×2 average-pool blocks (6, 16 channels), 400 → 120 → 84.

    Input ``1×28×28`` (the first conv pads by 2, so the second block ends at ``16×5×5 = 400``). Conv and Linear
    weights are Xavier-uniform initialised, biases zero.

    Args:
        num_classes: outputs.
    """

    input_shape = (1, 28, 28)

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2),
            nn.Sigmoid(),
            nn.AvgPool2d(2),
            nn.Conv2d(6, 16, 5),
            nn.Sigmoid(),
            nn.AvgPool2d(2),
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120),
            nn.Sigmoid(),
            nn.Linear(120, 84),
            nn.Sigmoid(),
            nn.Linear(84, num_classes),
        )
        reinit_weights(self, "xavier")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


@register_image_model("mnist-cnn")
class MnistCNN(nn.Module):
    """MNIST CNN: two 5×5 conv (padding 2) + ReLU + 2×2 max-pool blocks (16, 32 channels), then one Linear.

    Input ``1×28×28``; the classifier reads ``32×7×7 = 1568`` features.

    Args:
        num_classes: outputs.
    """

    input_shape = (1, 28, 28)

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2))
        self.conv2 = nn.Sequential(nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2))
        self.out = nn.Linear(32 * 7 * 7, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.flatten(self.conv2(self.conv1(x)), 1))
