"""Text classifiers by name (``get_model``)."""

from textcls.models.bag import BagOfNgrams
from textcls.models.lstm import LSTMClassifier
from textcls.models.registry import available_models, get_model, register_model

__all__ = ["BagOfNgrams", "LSTMClassifier", "available_models", "get_model", "register_model"]
