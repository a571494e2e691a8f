"""Built-in datasets of the legacy torchtext API: ``from textcls import datasets; datasets.IMDB.splits(TEXT, LABEL)``.

Each class reads its files from ``root/<name>/`` (``root`` defaults to ``".data"``, as in legacy torchtext):
files already there are used, an archive there is extracted, and anything missing is downloaded only when
the network allows; offline, the error names the file, its URL and the folder to put it in.

- :class:`IMDB` — movie reviews, ``pos``/``neg`` (``root/imdb/aclImdb/{train,test}/{pos,neg}/*.txt``).
- :class:`SST` — Stanford Sentiment Treebank, 3 or 5 classes, optional phrase-level training examples
  (``root/sst/trees/{train,dev,test}.txt``).
- :class:`TREC` — question classification, 6 or 50 classes (``root/trec/{train_5500,TREC_10}.label``).
- :class:`LanguageModelingDataset` — any text file as one token stream for
  :class:`~textcls.data.BPTTIterator`; the corpora :class:`WikiText2`
  (``root/wikitext-2/wikitext-2/wiki.{train,valid,test}.tokens``), :class:`WikiText103`
  (``root/wikitext-103/wikitext-103/...``) and :class:`PennTreebank`
  (``root/penn-treebank/ptb.{train,valid,test}.txt``).
"""

from textcls.datasets.imdb import IMDB
from textcls.datasets.language_modeling import LanguageModelingDataset, PennTreebank, WikiText2, WikiText103
from textcls.datasets.sst import SST
from textcls.datasets.trec import TREC

__all__ = ["IMDB", "LanguageModelingDataset", "PennTreebank", "SST", "TREC", "WikiText103", "WikiText2"]
