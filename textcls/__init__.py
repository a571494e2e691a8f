"""textcls: PyTorch text classification with a legacy-torchtext-style data API.

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
__all__ = ["TextclsError", "__version__"]
