"""Text classifiers by name (``get_model``) and the task heads."""

from textcls.models.bag import BagOfNgrams
from textcls.models.heads import Task
from textcls.models.lstm import LSTMClassifier
from textcls.models.registry import available_models, get_model, register_model

__all__ = ["BagOfNgrams", "LSTMClassifier", "Task", "available_models", "get_model", "register_model"]
