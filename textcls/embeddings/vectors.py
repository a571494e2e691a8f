"""``Vectors`` (legacy torchtext names and meanings), ``GloVe``, ``FastText`` and the named presets.

A name is resolved in this order: an existing path; a preset (``glove.6B.100d``) or a file name looked up in
the vectors directories (the ``vectors_dir``/``cache`` argument, ``$TEXTCLS_VECTORS_DIR``, then the user cache
directory); for a preset that is nowhere, the official download is tried, and when that fails (offline) the
error says which file to put where. There is never a silent fallback to random vectors.
"""

from __future__ import annotations

import logging
import os
import shutil
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch

from textcls.embeddings import cache as vcache
from textcls.embeddings.formats import (
    detect_vectors_format,
    read_gensim_vectors,
    read_text_vectors,
    split_archive_path,
)
from textcls.errors import TextclsError

log = logging.getLogger("textcls")

_GLOVE_URL = "https://nlp.stanford.edu/data/{}.zip"
_FASTTEXT_WIKI_URL = "https://dl.fbaipublicfiles.com/fasttext/vectors-wiki/wiki.{}.vec"


def _presets() -> dict[str, tuple[str, str, str | None]]:
    """``name → (file name, download url, member of the downloaded zip or None)``."""
    presets = {}
    for dim in (50, 100, 200, 300):
        presets[f"glove.6B.{dim}d"] = (f"glove.6B.{dim}d.txt", _GLOVE_URL.format("glove.6B"), f"glove.6B.{dim}d.txt")
    for dim in (25, 50, 100, 200):
        name = f"glove.twitter.27B.{dim}d"
        presets[name] = (f"{name}.txt", _GLOVE_URL.format("glove.twitter.27B"), f"{name}.txt")
    for corpus in ("42B", "840B"):
        name = f"glove.{corpus}.300d"
        presets[name] = (f"{name}.txt", _GLOVE_URL.format(name), f"{name}.txt")
    for language in ("en", "simple"):
        presets[f"fasttext.{language}.300d"] = (f"wiki.{language}.vec", _FASTTEXT_WIKI_URL.format(language), None)
    presets["fasttext.crawl.300d"] = (
        "crawl-300d-2M.vec",
        "https://dl.fbaipublicfiles.com/fasttext/vectors-english/crawl-300d-2M.vec.zip",
        "crawl-300d-2M.vec",
    )
    return presets


PRESETS = _presets()


def vectors_dirs(explicit: str | os.PathLike | None = None) -> list[Path]:
    """Where named vectors files are looked for, in order."""
    dirs = []
    if explicit:
        dirs.append(Path(explicit))
    if os.environ.get("TEXTCLS_VECTORS_DIR"):
        dirs.append(Path(os.environ["TEXTCLS_VECTORS_DIR"]))
    dirs.append(vcache.default_cache_dir())
    return list(dict.fromkeys(dirs))


def _candidates(directory: Path, file_name: str, zip_name: str | None) -> list[str]:
    found = [str(directory / name) for name in (file_name, file_name + ".gz") if (directory / name).is_file()]
    if zip_name and (directory / zip_name).is_file():
        found.append(f"{directory / zip_name}:{file_name}")
    return found


def resolve_vectors_path(name: str | os.PathLike, vectors_dir=None, download: bool = True) -> str:
    """Return a readable path (possibly ``archive.zip:member``) for a path, preset or file name.

    Raises:
        TextclsError: when the file is nowhere and cannot be downloaded; the message names the file and the
            directories it may be put in.
    """
    text = str(name)
    file, _ = split_archive_path(text)
    if file.is_file():
        return text
    if file.parent != Path("."):  # a path, not a bare name: no directory search
        raise TextclsError(f"vectors file not found: {text}; check the path")
    file_name, url, member = PRESETS.get(text, (text, None, None))
    zip_name = Path(url).name if url and url.endswith(".zip") else None
    dirs = vectors_dirs(vectors_dir)
    for directory in dirs:
        found = _candidates(directory, file_name, zip_name)
        if found:
            return found[0]
    where = " or ".join(str(d) for d in dirs)
    if url is None:
        presets = ", ".join(sorted(PRESETS)[:6]) + ", ..."
        raise TextclsError(
            f"vectors file {text!r} not found (looked in {where}); give a path to a GloVe/word2vec/fastText "
            f"file, or a preset name ({presets})"
        )
    if download:
        try:
            return _download(url, member, dirs[-1], file_name)
        except OSError as exc:
            log.debug("download of %s failed: %s", url, exc)
    source = f"{url} (unzip {member})" if member else url
    raise TextclsError(
        f"vectors {text!r} are not here and cannot be downloaded (offline?): get {source} and place "
        f"{file_name} (or {file_name}.gz{', or ' + zip_name if zip_name else ''}) in {dirs[0]}, "
        f"or set TEXTCLS_VECTORS_DIR / --vectors-dir to its folder"
    )


def _download(url: str, member: str | None, directory: Path, file_name: str) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / Path(url).name
    tmp = target.with_name(target.name + ".part")
    log.info("trying the official download: %s", url)
    with urllib.request.urlopen(url, timeout=15) as response, open(tmp, "wb") as out:
        shutil.copyfileobj(response, out, length=1 << 20)
    os.replace(tmp, target)
    if member is None:
        return str(target)
    with zipfile.ZipFile(target) as archive:
        if member not in archive.namelist():
            raise TextclsError(f"downloaded {target} has no member {member}")
    return f"{target}:{member}"


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
        cache: directory for the parsed cache (default: the user cache dir); ``False`` disables caching.
            Legacy torchtext also looked for ``name`` in this directory, and so does this class.
        url: unused; presets know their download address (kept for legacy signatures).
        unk_init: initialiser for out-of-vocabulary lookups, a callable on a zero tensor (default: zeros).
        max_vectors: read only the first this many vectors (files are sorted by frequency).
        restrict_to: keep only these words (e.g. a vocabulary's ``itos``): less memory, faster load.
        vectors_dir: where to look for named files before the environment/default directories.
        download: try the official download for presets that are not on disk.

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
    ):
        self.unk_init = unk_init if unk_init is not None else torch.Tensor.zero_
        self.subwords: SubwordTable | None = None
        cache_dir = None if cache is False else (Path(cache) if cache else vcache.default_cache_dir())
        search_dir = vectors_dir if vectors_dir is not None else (cache if cache else None)
        self.source = resolve_vectors_path(name, search_dir, download)
        words, matrix = self._load(self.source, cache_dir, max_vectors, restrict_to)
        self._set(words, matrix)

    def _load(self, source: str, cache_dir, max_vectors, restrict_to):
        kind = detect_vectors_format(source)
        if kind != "text":
            words, matrix, keyed = read_gensim_vectors(source, kind, restrict_to, max_vectors)
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
            ngrams_path = prefix.with_name(prefix.name + ".ngrams.npy")
            tmp = ngrams_path.with_name(ngrams_path.name + ".tmp")
            with open(tmp, "wb") as handle:
                np.save(handle, self.subwords.ngrams, allow_pickle=False)
            os.replace(tmp, ngrams_path)
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
    """GloVe vectors by corpus and dimension: ``GloVe(name="6B", dim=100)`` is the preset ``glove.6B.100d``.

    Args:
        name: ``"6B"``, ``"42B"``, ``"840B"`` or ``"twitter.27B"``.
        dim: vector size.
        **kwargs: :class:`Vectors` arguments.
    """

    def __init__(self, name: str = "840B", dim: int = 300, **kwargs):
        super().__init__(f"glove.{name}.{dim}d", **kwargs)


class FastText(Vectors):
    """fastText Wikipedia vectors for a language (``wiki.LANG.vec``). Takes the :class:`Vectors` arguments."""

    def __init__(self, language: str = "en", **kwargs):
        preset = f"fasttext.{language}.300d"
        if preset not in PRESETS:
            PRESETS[preset] = (f"wiki.{language}.vec", _FASTTEXT_WIKI_URL.format(language), None)
        super().__init__(preset, **kwargs)
