"""Text classifiers by name (``get_model``; the contract a model follows: :mod:`textcls.models.registry`)."""

from textcls.models.bag import BagOfNgrams
from textcls.models.lstm import LSTMClassifier
from textcls.models.registry import EMBEDDING_OPTIONS, available_models, get_model, register_model

__all__ = [
    "EMBEDDING_OPTIONS",
    "BagOfNgrams",
    "LSTMClassifier",
    "available_models",
    "get_model",
    "register_model",
]
