"""Image classifiers by name (``get_model``), the registry to add more, and layer helpers.

Every model returns logits ``[batch, num_classes]`` and has ``input_shape = (channels, height, width)``.
"""

from textcls.image.models.classic import VGG, AlexNet, GoogLeNet, ResNet, SimpleCNN
from textcls.image.models.course import CifarCNN, FashionMLP, LeNet, MnistCNN, MnistConvNet
from textcls.image.models.layers import AdaptiveConcatPool2d, first_children, layers_of_type, reinit_weights
from textcls.image.models.registry import IMAGE_MODELS, available_models, get_model, register_image_model
from textcls.image.models.transfer import ResNet50Transfer

__all__ = [
    "IMAGE_MODELS",
    "VGG",
    "AdaptiveConcatPool2d",
    "AlexNet",
    "CifarCNN",
    "FashionMLP",
    "GoogLeNet",
    "LeNet",
    "MnistCNN",
    "MnistConvNet",
    "ResNet",
    "ResNet50Transfer",
    "SimpleCNN",
    "available_models",
    "first_children",
    "get_model",
    "layers_of_type",
    "register_image_model",
    "reinit_weights",
]
