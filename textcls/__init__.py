"""textcls: PyTorch text classification with a legacy-torchtext-style data API.

Sub-packages and modules:

- :mod:`textcls.tokenizers` — tokenizers by name (``get_tokenizer``).
- :mod:`textcls.vocab` — ``Vocab`` (and the vector classes).
- :mod:`textcls.data` — ``Field``, ``LabelField``, ``TabularDataset``, ``BucketIterator`` and friends.
"""

from textcls.errors import TextclsError

__version__ = "0.1.0"
__all__ = ["TextclsError", "__version__"]
