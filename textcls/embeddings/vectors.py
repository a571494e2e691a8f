"""``Vectors`` (legacy torchtext names and meanings), ``GloVe``, ``FastText``, ``CharNGram`` and the named presets.

A name is resolved in this order: an existing path; a preset (``glove.6B.100d``) or a file name looked up in
the vectors directories (the ``vectors_dir``/``cache`` arguments, ``$TEXTCLS_VECTORS_DIR``, legacy torchtext's
``./.vector_cache``, then the user cache directory), as the file itself, its ``.gz``, or the official archive
that holds it (``glove.6B.zip``); for a name that is nowhere, the official download (or the ``url=`` given) is
tried, and when that fails (offline) the error says which file to put where. There is never a silent fallback to
random vectors.
"""

from __future__ import annotations

import logging
import os
import shutil
import tarfile
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch

from textcls._util import atomic_write, check_input_file
from textcls.embeddings import cache as vcache
from textcls.embeddings.formats import (
    detect_vectors_format,
    read_gensim_vectors,
    read_text_vectors,
    split_archive_path,
)
from textcls.errors import ArgumentError, DataError, TextclsError

log = logging.getLogger("textcls")

LEGACY_CACHE_DIR = ".vector_cache"  # legacy torchtext's default cache, relative to the working directory
_GLOVE_URL = "https://nlp.stanford.edu/data/{}.zip"
_FASTTEXT_WIKI_URL = "https://dl.fbaipublicfiles.com/fasttext/vectors-wiki/wiki.{}.vec"
_CHARNGRAM_URL = "http://www.logos.t.u-tokyo.ac.jp/~hassy/publications/arxiv2016jmt/jmt_pre-trained_embeddings.tar.gz"
_ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz")


@dataclass(frozen=True)
class VectorsSource:
    """A named vectors file and where it is downloaded from.

    Args:
        file_name: the file's name in a vectors directory (``glove.6B.100d.txt``).
        url: its download address: the file itself, or a ``.zip`` / ``.tar.gz`` archive holding it.
    """

    file_name: str
    url: str | None = None

    @property
    def archive_name(self) -> str | None:
        """The downloaded archive's file name (``glove.6B.zip``), or ``None`` when the url is the file itself."""
        if self.url is None:
            return None
        name = Path(urllib.parse.urlparse(self.url).path).name
        return name if name != self.file_name and name.lower().endswith(_ARCHIVE_SUFFIXES) else None


def _presets() -> dict[str, VectorsSource]:
    presets = {}
    for dim in (50, 100, 200, 300):
        presets[f"glove.6B.{dim}d"] = VectorsSource(f"glove.6B.{dim}d.txt", _GLOVE_URL.format("glove.6B"))
    for dim in (25, 50, 100, 200):
        name = f"glove.twitter.27B.{dim}d"
        presets[name] = VectorsSource(f"{name}.txt", _GLOVE_URL.format("glove.twitter.27B"))
    for corpus in ("42B", "840B"):
        name = f"glove.{corpus}.300d"
        presets[name] = VectorsSource(f"{name}.txt", _GLOVE_URL.format(name))
    for language in ("en", "simple"):
        presets[f"fasttext.{language}.300d"] = VectorsSource(
            f"wiki.{language}.vec", _FASTTEXT_WIKI_URL.format(language)
        )
    presets["fasttext.crawl.300d"] = VectorsSource(
        "crawl-300d-2M.vec", "https://dl.fbaipublicfiles.com/fasttext/vectors-english/crawl-300d-2M.vec.zip"
    )
    presets["charngram.100d"] = VectorsSource("charNgram.txt", _CHARNGRAM_URL)
    return presets


PRESETS = _presets()


def vectors_dirs(*explicit: str | os.PathLike | None) -> list[Path]:
    """Where named vectors files are looked for, in order: the directories given (``vectors_dir``, legacy
    ``cache``), ``$TEXTCLS_VECTORS_DIR``, ``./.vector_cache`` (legacy torchtext's default), the user cache."""
    dirs = [Path(directory) for directory in explicit if directory]
    if os.environ.get("TEXTCLS_VECTORS_DIR"):
        dirs.append(Path(os.environ["TEXTCLS_VECTORS_DIR"]))
    dirs.append(Path.cwd() / LEGACY_CACHE_DIR)
    dirs.append(vcache.default_cache_dir())
    return list(dict.fromkeys(dirs))


def _candidates(directory: Path, source: VectorsSource) -> list[str]:
    file_name, archive = source.file_name, source.archive_name
    found = [str(directory / name) for name in (file_name, file_name + ".gz") if (directory / name).is_file()]
    if archive and (directory / archive).is_file():
        found.append(_from_archive(directory / archive, file_name))
    return found


def _from_archive(archive: Path, file_name: str) -> str:
    """A readable path for ``file_name`` inside ``archive``: ``archive.zip:member`` for a zip; for a tar archive,
    the member is extracted (only it, by its base name) next to the archive, as legacy torchtext extracted."""
    try:
        return _member_path(archive, file_name)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError):
        kind = "zip" if archive.name.lower().endswith(".zip") else "tar"
        raise DataError(f"not a readable {kind} archive (damaged?); delete it and download it again", archive) from None


def _member_path(archive: Path, file_name: str) -> str:
    if archive.name.lower().endswith(".zip"):
        with zipfile.ZipFile(archive) as handle:
            names = handle.namelist()
        member = file_name if file_name in names else next((n for n in names if Path(n).name == file_name), None)
        if member is None:
            raise DataError(f"the archive has no {file_name} (members: {', '.join(names[:8])})", archive)
        return f"{archive}:{member}"
    target = archive.parent / file_name
    with tarfile.open(archive, "r:*") as handle:
        member = next((m for m in handle if m.isfile() and Path(m.name).name == file_name), None)  # streams
        if member is None:
            raise DataError(f"the archive has no {file_name}", archive)
        with handle.extractfile(member) as data:
            atomic_write(target, lambda tmp: _copy_into(data, tmp), suffix=".part")
    return str(target)


def _copy_into(source, path: Path) -> None:
    """Copy the open binary stream ``source`` into the file ``path``, 1 MiB at a time."""
    with open(path, "wb") as out:
        shutil.copyfileobj(source, out, length=1 << 20)


def _source_for(name: str, url: str | None) -> VectorsSource:
    """The :class:`VectorsSource` of a preset (``url`` overrides its address) or of a file name (with ``url`` or
    none)."""
    preset = PRESETS.get(name)
    if preset is not None:
        return VectorsSource(preset.file_name, url or preset.url)
    return VectorsSource(name, url)


def resolve_vectors_path(
    name: str | os.PathLike, vectors_dir=None, download: bool = True, url: str | None = None, cache=None
) -> str:
    """Return a readable path (possibly ``archive.zip:member``) for a path, preset or file name.

    Args:
        name: a path, a preset (``glove.6B.100d``) or a file name inside a vectors directory.
        vectors_dir: a directory searched first (the CLI's ``--vectors-dir``).
        download: try the download when the file is nowhere.
        url: where to download ``name`` from (legacy ``Vectors(url=...)``); presets know their address.
        cache: legacy torchtext's ``cache`` directory: searched, and where a download goes.

    Raises:
        ArgumentError: for a name that is neither a file, a preset, nor found in any vectors directory.
        TextclsError: when a known file is nowhere and cannot be downloaded; the message names the file and the
            directories it may be put in.
    """
    text = str(name)
    file, _ = split_archive_path(text)
    if file.is_file():
        return text
    if file.exists():  # a directory, a device or a FIFO: refused before anything reads it
        check_input_file(file, "vectors file")
    if file.is_absolute():
        raise DataError("vectors file not found; check the path", file)
    source = _source_for(text, url)
    dirs = vectors_dirs(vectors_dir, cache)
    for directory in dirs:
        found = _candidates(directory, source)
        if found:
            return found[0]
    where = ", ".join(str(d) for d in dirs)
    if source.url is None:
        if file.parent != Path("."):
            raise DataError(f"vectors file not found (nor in {where}); check the path", file)
        presets = ", ".join(sorted(PRESETS))
        raise ArgumentError(
            f"vectors {text!r} are not a file and not found in {where}; give a path to a GloVe/word2vec/fastText "
            f"file, a file name in one of those folders, or a preset name ({presets})"
        )
    target_dir = Path(cache or vectors_dir or vcache.default_cache_dir())
    downloaded = _download(source.url, target_dir / (source.archive_name or source.file_name)) if download else None
    if downloaded is not None:
        return _from_archive(downloaded, source.file_name) if source.archive_name else str(downloaded)
    alternatives = f"{source.file_name} (or {source.file_name}.gz"
    alternatives += f", or {source.archive_name})" if source.archive_name else ")"
    raise TextclsError(
        f"vectors {text!r} are not here and cannot be downloaded (offline?): get {source.url} and place "
        f"{alternatives} in {dirs[0]}, or set TEXTCLS_VECTORS_DIR / --vectors-dir to its folder"
    )


def _download(url: str, target: Path) -> Path | None:
    """Fetch ``url`` into ``target``; ``None`` when that fails (offline, no such address, a bad url)."""
    log.info("trying the download: %s", url)

    def fetch(tmp: Path) -> None:
        with urllib.request.urlopen(url, timeout=15) as response:
            _copy_into(response, tmp)

    try:  # atomic_write never leaves half a file (legacy removed it on KeyboardInterrupt)
        return atomic_write(target, fetch, suffix=".part")
    except (OSError, ValueError) as exc:  # URLError is an OSError; ValueError: not a url
        log.debug("download of %s failed: %s", url, exc)
        return None


class SubwordTable:
    """fastText character n-gram vectors: a vector for any word, also one never seen in training.

    Args:
        ngrams: the bucket matrix ``[bucket, dim]``.
        min_n, max_n: n-gram lengths.
    """

    def __init__(self, ngrams: np.ndarray, min_n: int, max_n: int):
        self.ngrams = np.asarray(ngrams, dtype=np.float32)
        self.min_n, self.max_n = int(min_n), int(max_n)

    def vector(self, word: str) -> np.ndarray | None:
        """The mean of the word's n-gram vectors, as gensim computes it (``None`` when it has no n-grams)."""
        from gensim.models.fasttext import ft_ngram_hashes

        hashes = ft_ngram_hashes(word, self.min_n, self.max_n, self.ngrams.shape[0])
        if not hashes:
            return None
        return self.ngrams[hashes].mean(axis=0)


class Vectors:
    """Pretrained (or corpus-trained) word vectors.

    Args:
        name: a path (``.txt``/``.vec``/``.gz``/``ARCHIVE.zip[:MEMBER]``, word2vec ``.bin``, fastText ``.bin``,
            gensim ``.kv``), a preset (``"glove.6B.100d"``) or a file name inside a vectors directory.
        cache: legacy torchtext's cache directory: ``name`` is looked for there first, a download goes there,
            and so does the parsed cache (default: the user cache dir for the parsed cache); ``False`` disables
            the parsed cache.
        url: where to download ``name`` from when it is nowhere (a ``.zip``/``.tar.gz`` holding it, or the file
            itself); presets know their address.
        unk_init: gives the vector of a word the table lacks, from a zero tensor of size ``dim`` (default:
            ``torch.Tensor.zero_``; ``torch.Tensor.normal_`` as in legacy recipes).
        max_vectors: read only the first this many vectors (files are sorted by frequency).
        restrict_to: keep only these words (e.g. a vocabulary's ``itos``): less memory, faster load.
        vectors_dir: where to look for named files first (the CLI's ``--vectors-dir``).
        download: try the download for names that are not on disk.
        trust_pickle: load a gensim ``.kv``/``.model`` file, a Python pickle that can run code when loaded
            (refused by default; only for files you trust); a warning is logged.

    Attributes:
        itos, stoi, vectors (``torch.FloatTensor [n, dim]``), dim, source.
    """

    FULL_PARSE_LIMIT = 256 << 20  # files up to this size are parsed whole and cached even with restrict_to

    def __init__(
        self,
        name,
        cache=None,
        url=None,
        unk_init=None,
        max_vectors: int | None = None,
        restrict_to: Iterable[str] | None = None,
        vectors_dir=None,
        download: bool = True,
        trust_pickle: bool = False,
    ):
        self.trust_pickle = bool(trust_pickle)
        self.unk_init = unk_init if unk_init is not None else torch.Tensor.zero_
        self.subwords: SubwordTable | None = None
        cache_dir = None if cache is False else (Path(cache) if cache else vcache.default_cache_dir())
        search_cache = cache if cache else None
        self.source = resolve_vectors_path(name, vectors_dir, download, url=url, cache=search_cache)
        words, matrix = self._load(self.source, cache_dir, max_vectors, restrict_to)
        self._set(words, matrix)

    def _load(self, source: str, cache_dir, max_vectors, restrict_to):
        kind = detect_vectors_format(source)
        if kind != "text":
            words, matrix, keyed = read_gensim_vectors(source, kind, restrict_to, max_vectors, self.trust_pickle)
            if keyed is not None:
                self.subwords = SubwordTable(keyed.vectors_ngrams, keyed.min_n, keyed.max_n)
            return words, matrix
        file, _ = split_archive_path(source)
        use_cache = cache_dir is not None and max_vectors is None
        if use_cache:
            hit = vcache.load_cached(cache_dir, source, file, mmap=restrict_to is not None)
            if hit is not None:
                words, matrix, _ = hit
                log.debug("vectors %s loaded from the cache", source)
                return _restrict(words, matrix, restrict_to)
            if restrict_to is None or file.stat().st_size <= self.FULL_PARSE_LIMIT:
                words, matrix = read_text_vectors(source)
                try:
                    vcache.save_cached(cache_dir, source, file, words, matrix)
                except OSError as exc:
                    log.warning("could not write the vectors cache in %s: %s", cache_dir, exc)
                return _restrict(words, matrix, restrict_to)
        return read_text_vectors(source, restrict_to=restrict_to, max_vectors=max_vectors)

    def _set(self, words: list[str], matrix: np.ndarray) -> None:
        self.itos = list(words)
        self.stoi = {word: i for i, word in enumerate(self.itos)}
        self.vectors = torch.from_numpy(np.ascontiguousarray(matrix, dtype=np.float32))
        self.dim = int(matrix.shape[1])

    @classmethod
    def from_arrays(cls, words, matrix, subwords: SubwordTable | None = None, unk_init=None, source: str = "arrays"):
        """Vectors from a word list and a matrix (e.g. trained with gensim)."""
        vectors = cls.__new__(cls)
        vectors.unk_init = unk_init if unk_init is not None else torch.Tensor.zero_
        vectors.subwords = subwords
        vectors.source = source
        vectors._set(list(words), np.asarray(matrix, dtype=np.float32))
        return vectors

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def lookup(self, token: str) -> torch.Tensor | None:
        """The token's vector, from the table or (fastText) its character n-grams; ``None`` if it has none."""
        index = self.stoi.get(token)
        if index is not None:
            return self.vectors[index]
        if self.subwords is not None:
            vector = self.subwords.vector(token)
            if vector is not None:
                return torch.from_numpy(vector)
        return None

    def __getitem__(self, token: str) -> torch.Tensor:
        vector = self.lookup(token)
        return vector if vector is not None else self.unk_init(torch.zeros(self.dim))

    def get_vecs_by_tokens(self, tokens, lower_case_backup: bool = False) -> torch.Tensor:
        """Stack the vectors of ``tokens`` (one token gives one vector), trying the lower-cased token when
        ``lower_case_backup`` and the token itself is missing."""
        single = isinstance(tokens, str)
        tokens = [tokens] if single else list(tokens)
        rows = []
        for token in tokens:
            if lower_case_backup and token not in self.stoi and token.lower() in self.stoi:
                token = token.lower()
            rows.append(self[token])
        stacked = torch.stack(rows)
        return stacked[0] if single else stacked

    def most_similar(self, word: str, topn: int = 10) -> list[tuple[str, float]]:
        """The ``topn`` nearest words by cosine similarity (``word`` itself excluded)."""
        query = self.lookup(word)
        if query is None:
            raise TextclsError(f"{word!r} has no vector")
        normed = torch.nn.functional.normalize(self.vectors, dim=1)
        scores = normed @ torch.nn.functional.normalize(query, dim=0)
        best = torch.topk(scores, min(topn + 1, len(self))).indices.tolist()
        return [(self.itos[i], float(scores[i])) for i in best if self.itos[i] != word][:topn]

    def save(self, prefix: str | os.PathLike) -> Path:
        """Save as ``PREFIX.npy`` + ``PREFIX.json`` (+ ``PREFIX.ngrams.npy`` for fastText n-grams); no pickle."""
        prefix = Path(prefix)
        prefix.parent.mkdir(parents=True, exist_ok=True)
        meta = {"origin": self.source}
        if self.subwords is not None:
            vcache.save_npy(prefix.with_name(prefix.name + ".ngrams.npy"), self.subwords.ngrams)
            meta["subwords"] = {"min_n": self.subwords.min_n, "max_n": self.subwords.max_n}
        matrix_path = prefix.with_name(prefix.name + ".npy")
        meta_path = prefix.with_name(prefix.name + ".json")
        vcache.save_arrays(matrix_path, meta_path, self.itos, self.vectors.numpy(), **meta)
        return matrix_path

    @classmethod
    def load(cls, prefix: str | os.PathLike, unk_init=None) -> Vectors:
        """Load vectors written by :meth:`save`."""
        import json

        prefix = Path(prefix)
        meta_path = prefix.with_name(prefix.name + ".json")
        if not meta_path.exists():
            raise TextclsError(f"saved vectors not found: {meta_path}")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        matrix = np.load(prefix.with_name(prefix.name + ".npy"), allow_pickle=False)
        subwords = None
        if "subwords" in meta:
            ngrams = np.load(prefix.with_name(prefix.name + ".ngrams.npy"), allow_pickle=False)
            subwords = SubwordTable(ngrams, meta["subwords"]["min_n"], meta["subwords"]["max_n"])
        return cls.from_arrays(meta["words"], matrix, subwords, unk_init, source=str(prefix))

    def __repr__(self) -> str:
        extra = ", subwords" if self.subwords is not None else ""
        return f"Vectors({len(self)} × {self.dim} from {self.source}{extra})"


def _restrict(words, matrix, restrict_to):
    if restrict_to is None:
        return words, np.asarray(matrix)
    wanted = set(restrict_to)
    keep = [i for i, word in enumerate(words) if word in wanted]
    return [words[i] for i in keep], np.asarray(matrix[keep])


class GloVe(Vectors):
    """GloVe vectors by corpus and dimension: ``GloVe(name="6B", dim=100)`` reads ``glove.6B.100d.txt`` (or the
    official ``glove.6B.zip``) from a vectors directory, as legacy torchtext did.

    Args:
        name: ``"6B"``, ``"42B"``, ``"840B"`` or ``"twitter.27B"``.
        dim: vector size (an int or, as legacy's aliases passed it, a string).
        **kwargs: :class:`Vectors` arguments (``cache``, ``url``, ``unk_init``, ``max_vectors``, ...).
    """

    url = {
        "42B": _GLOVE_URL.format("glove.42B.300d"),
        "840B": _GLOVE_URL.format("glove.840B.300d"),
        "twitter.27B": _GLOVE_URL.format("glove.twitter.27B"),
        "6B": _GLOVE_URL.format("glove.6B"),
    }

    def __init__(self, name: str = "840B", dim: int | str = 300, **kwargs):
        preset = f"glove.{name}.{dim}d"
        if preset in PRESETS:
            super().__init__(preset, **kwargs)
        else:
            kwargs.setdefault("url", self.url.get(name))
            super().__init__(f"{preset}.txt", **kwargs)


class FastText(Vectors):
    """fastText Wikipedia vectors for a language (``wiki.LANG.vec``).

    Args:
        language: the Wikipedia language code (``"en"``, ``"simple"``, ``"de"``, ...).
        **kwargs: :class:`Vectors` arguments.
    """

    url_base = _FASTTEXT_WIKI_URL

    def __init__(self, language: str = "en", **kwargs):
        kwargs.setdefault("url", self.url_base.format(language))
        super().__init__(f"wiki.{language}.vec", **kwargs)


class CharNGram(Vectors):
    """Character n-gram vectors (Hashimoto et al., ``charNgram.txt``): a word's vector is the mean of the vectors
    of its 2-, 3- and 4-grams, with ``#BEGIN#`` / ``#END#`` marking the word's ends, as legacy torchtext computed.

    Args:
        **kwargs: :class:`Vectors` arguments; ``restrict_to`` is ignored (the table holds n-grams, not words).
    """

    name = "charNgram.txt"
    url = _CHARNGRAM_URL

    def __init__(self, **kwargs):
        kwargs.pop("restrict_to", None)
        kwargs.setdefault("url", self.url)
        super().__init__(self.name, **kwargs)

    def lookup(self, token: str) -> torch.Tensor | None:
        """The mean of the token's n-gram vectors; ``None`` for ``<unk>`` and for a token without known n-grams."""
        if token == "<unk>":
            return None
        chars = ["#BEGIN#", *token, "#END#"]
        rows = []
        for n in (2, 3, 4):
            for start in range(len(chars) - n + 1):
                index = self.stoi.get(f"{n}gram-{''.join(chars[start : start + n])}")
                if index is not None:
                    rows.append(index)
        if not rows:
            return None
        return self.vectors[rows].mean(dim=0)

    def __getitem__(self, token: str) -> torch.Tensor:
        """The token's vector with legacy's shape ``[1, dim]``; ``unk_init`` when it has none."""
        vector = self.lookup(token)
        if vector is None:
            return self.unk_init(torch.zeros(1, self.dim))
        return vector.unsqueeze(0)

    def get_vecs_by_tokens(self, tokens, lower_case_backup: bool = False) -> torch.Tensor:
        """As :meth:`Vectors.get_vecs_by_tokens`: ``[dim]`` for one token, ``[len(tokens), dim]`` for a list."""
        stacked = super().get_vecs_by_tokens(tokens, lower_case_backup)
        return stacked.squeeze(-2)


def _glove_alias(preset: str):
    corpus, _, dim = preset[len("glove.") :].rpartition(".")
    return partial(GloVe, name=corpus, dim=dim[:-1])


pretrained_aliases = {
    "charngram.100d": partial(CharNGram),
    "fasttext.en.300d": partial(FastText, language="en"),
    "fasttext.simple.300d": partial(FastText, language="simple"),
    "fasttext.crawl.300d": partial(Vectors, "fasttext.crawl.300d"),
    **{name: _glove_alias(name) for name in PRESETS if name.startswith("glove.")},
}
"""Legacy ``torchtext.vocab.pretrained_aliases``: preset name → factory taking the :class:`Vectors` keyword
arguments (``cache``, ``unk_init``, ``max_vectors``, ...)."""


def vectors_by_name(name, **kwargs) -> Vectors:
    """Load a preset through its factory (``charngram.100d`` is a :class:`CharNGram`), any other name or path as
    :class:`Vectors`; keyword arguments as for :class:`Vectors`."""
    factory = pretrained_aliases.get(str(name))
    if factory is not None:
        return factory(**kwargs)
    return Vectors(name, **kwargs)
