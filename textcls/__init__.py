"""textcls: PyTorch text classification with a legacy-torchtext-style data API.

The Python API: ``textcls.load(RUN)`` and ``textcls.train(FILE, model=..., output=..., **settings)`` return a
:class:`~textcls.api.Classifier` (``predict``, ``predict_proba``, ``evaluate``, ``labels``); they, and torch, are
imported on first use, so ``import textcls`` stays cheap.

Sub-packages and modules:

- :mod:`textcls.tokenizers` — tokenizers by name (``get_tokenizer``).
- :mod:`textcls.vocab` — ``Vocab`` (and the vector classes).
- :mod:`textcls.data` — ``Field``, ``LabelField``, ``TabularDataset``, ``BucketIterator`` and friends.
- :mod:`textcls.datasets` — the legacy torchtext datasets (``IMDB``, ``SST``, ``TREC``, ``WikiText2``, ...).
- :mod:`textcls.utils` — legacy ``torchtext.utils`` (``download_from_url``, ``extract_archive``, ...).
- :mod:`textcls.embeddings`, :mod:`textcls.models`, :mod:`textcls.training`, :mod:`textcls.jobs`,
  :mod:`textcls.image` — vectors, models, the trainer, the train/evaluate/predict jobs and the image CNNs.
"""

from textcls.errors import TextclsError

__version__ = "0.1.0"
__all__ = ["Classifier", "TextclsError", "__version__", "load", "train"]
_API = ("Classifier", "load", "train")


def __getattr__(name: str):
    if name in _API:  # imported on first use: torch is not loaded by ``import textcls``
        from textcls import api

        return getattr(api, name)
    raise AttributeError(f"module 'textcls' has no attribute {name!r}")
