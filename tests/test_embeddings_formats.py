"""Word-vector files: every supported format (written by gensim itself) loads to the same words and vectors; a
GloVe file (generated, ``tests/generated.py``) loads exactly, gives its topical neighbours and is cached as .npy +
.json; the real GloVe 6B 50d file gives king → queen; bad files and missing presets fail with a
TextclsError/DataError whose message names the problem."""

import gzip
import json
import os
import shutil
import time
import zipfile

import numpy as np
import pytest
import torch
from generated import NEWS_CLASSES
from gensim.models import FastText as GensimFastText
from gensim.models import KeyedVectors
from gensim.models.fasttext import load_facebook_vectors, save_facebook_model

from textcls.embeddings import GloVe, Vectors, load_vectors
from textcls.embeddings import cache as vcache
from textcls.errors import DataError, TextclsError

GLOVE = ("glove", "glove.6B.50d.top100k.txt.gz")
WORDS = ["the", "cat", "sat", "on", "mat", "naïve", "日本", "can't"]
DIM = 5


@pytest.fixture(autouse=True)
def isolated_caches(tmp_path, monkeypatch):
    """Nothing goes to ~/.cache: the vectors cache and the named-vectors directory live under tmp_path."""
    monkeypatch.setenv("TEXTCLS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TEXTCLS_VECTORS_DIR", str(tmp_path / "vectors_dir"))
    return tmp_path / "cache" / "vectors"


@pytest.fixture(scope="module")
def glove_path(generated):
    """The generated GloVe-format file (``tests/generated.py``): gzipped, no header, 32 numbers a word."""
    return generated.glove


@pytest.fixture(scope="module")
def glove(glove_path):
    # cache=False: a module-scoped fixture writes nothing (the per-test cache isolation is not active here)
    return Vectors(glove_path, cache=False, download=False)


@pytest.fixture(scope="module")
def big_glove_path(glove_path, tmp_path_factory):
    """A 20,000-word GloVe file made of the generated one (each word again with a number after it): big enough
    that parsing it takes clearly longer than reading the cache."""
    lines = _glove_lines(glove_path)
    copies = [f"{word}{copy} {rest}" for copy in range(-(-20_000 // len(lines))) for word, rest in
              (line.split(" ", 1) for line in lines)][:20_000]  # fmt: skip
    path = tmp_path_factory.mktemp("big_glove") / "big.txt.gz"
    return _write(path, gzip.compress(("\n".join(copies) + "\n").encode("utf-8")))


def _glove_lines(path, count=None):
    """The first ``count`` lines (all when None) of a GloVe .gz file, decoded."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        if count is None:
            return handle.read().splitlines()
        return [next(handle).rstrip("\n") for _ in range(count)]


def _parse_line(line):
    word, *numbers = line.split(" ")
    return word, np.array([float(x) for x in numbers], dtype=np.float32)


def _write(path, text):
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def _assert_same(vectors, words, matrix):
    assert vectors.itos == list(words)
    assert vectors.vectors.shape == (len(words), matrix.shape[1])
    assert np.allclose(vectors.vectors.numpy(), matrix, atol=1e-6)


# --- a GloVe file (the generated one; the real GloVe 6B 50d file for what only it shows) ------------------------


def test_glove_shape_and_file_order(glove, glove_path):
    words = [line.split(" ", 1)[0] for line in _glove_lines(glove_path)]
    assert glove.vectors.shape == (len(words), 32) and len(words) > 150
    assert glove.dim == 32 and len(glove) == len(words)
    assert glove.itos[:4] == words[:4]
    assert glove.vectors.dtype == torch.float32


def test_glove_vectors_equal_the_numbers_in_the_file(glove, glove_path):
    lines = _glove_lines(glove_path)
    assert len(lines) == len(glove)
    assert lines[0].startswith(f"{glove.itos[0]} {glove.vectors[0, 0]:.5f} ")
    by_word = dict(line.split(" ", 1) for line in lines)
    word, expected = _parse_line("oil " + by_word["oil"])
    assert np.array_equal(glove["oil"].numpy(), expected)
    # and a sample across the whole file, by position
    for index in range(0, len(lines), 7):
        word, expected = _parse_line(lines[index])
        assert glove.itos[index] == word
        assert np.array_equal(glove.vectors[index].numpy(), expected), word


def test_glove_nearest_neighbours_are_the_words_of_a_topic(glove):
    business = set(NEWS_CLASSES["3"][1].split())
    sports = set(NEWS_CLASSES["2"][1].split())
    oil = [word for word, _ in glove.most_similar("oil", topn=5)]
    football = [word for word, _ in glove.most_similar("football", topn=5)]
    assert set(oil) <= business and set(football) <= sports, (oil, football)
    assert "oil" not in oil


def test_real_glove_neighbours_and_analogy_king_minus_man_plus_woman_is_queen(shared_data):
    glove = Vectors(shared_data.joinpath(*GLOVE), cache=False, download=False)
    assert glove.vectors.shape == (100_000, 50) and glove.itos[:4] == ["the", ",", ".", "of"]
    king = [word for word, _ in glove.most_similar("king", topn=5)]
    france = [word for word, _ in glove.most_similar("france", topn=5)]
    assert {"prince", "queen"} <= set(king), king
    assert {"french", "paris"} <= set(france), france
    assert "king" not in king
    vectors = glove.vectors
    query = vectors[glove.stoi["king"]] - vectors[glove.stoi["man"]] + vectors[glove.stoi["woman"]]
    scores = torch.nn.functional.normalize(vectors, dim=1) @ torch.nn.functional.normalize(query, dim=0)
    ranked = [glove.itos[i] for i in torch.topk(scores, 5).indices.tolist() if glove.itos[i] != "king"]
    assert ranked[0] == "queen", ranked


def test_glove_restrict_to_and_max_vectors(glove, glove_path):
    wanted = ["crude", "oil", "zzz-not-a-word"]
    streamed = Vectors(glove_path, cache=False, restrict_to=wanted, download=False)  # line-by-line parser
    cached = Vectors(glove_path, restrict_to=wanted, download=False)  # full parse, cached, then restricted
    for restricted in (streamed, cached):
        assert sorted(restricted.itos) == ["crude", "oil"]
        for word in restricted.itos:
            assert torch.equal(restricted[word], glove[word])
    first = Vectors(glove_path, max_vectors=50, download=False)
    assert first.itos == glove.itos[:50]
    assert torch.equal(first.vectors, glove.vectors[:50])


# --- the cache -------------------------------------------------------------------------------------------------


def test_second_load_is_a_cache_hit_stored_as_npy_and_json(big_glove_path, isolated_caches):
    glove_path = big_glove_path
    start = time.perf_counter()
    first = load_vectors(glove_path, download=False)
    first_seconds = time.perf_counter() - start
    files = sorted(p.name for p in isolated_caches.iterdir())
    assert [os.path.splitext(name)[1] for name in files] == [".json", ".npy"], files  # no pickle, no leftovers

    start = time.perf_counter()
    second = load_vectors(glove_path, download=False)
    second_seconds = time.perf_counter() - start
    assert sorted(p.name for p in isolated_caches.iterdir()) == files  # the hit wrote nothing
    assert second_seconds < first_seconds / 3, (first_seconds, second_seconds)
    assert second.itos == first.itos and torch.equal(second.vectors, first.vectors)

    hit = vcache.load_cached(isolated_caches, str(glove_path), glove_path)
    assert hit is not None
    words, matrix, meta = hit
    assert words == first.itos and matrix.shape == (20_000, 32)
    npy = next(isolated_caches.glob("*.npy"))
    assert np.load(npy, allow_pickle=False).shape == (20_000, 32)
    stored = json.loads(next(isolated_caches.glob("*.json")).read_text(encoding="utf-8"))
    assert stored["format"] == vcache.CACHE_FORMAT and stored["dim"] == 32 and len(stored["words"]) == 20_000


def test_changed_source_file_invalidates_the_cache(generated, tmp_path, isolated_caches):
    copy = tmp_path / "glove_copy.txt"
    lines = _glove_lines(generated.glove, 100)
    _write(copy, "\n".join(lines) + "\n")
    before = load_vectors(copy, download=False)
    assert vcache.load_cached(isolated_caches, str(copy), copy) is not None

    # different content (and size): the vectors are negated
    negated = [line.split(" ")[0] + " " + " ".join(str(-float(x)) for x in line.split(" ")[1:]) for line in lines]
    _write(copy, "\n".join(negated) + "\n")
    after = load_vectors(copy, download=False)
    assert after.itos == before.itos
    assert torch.allclose(after.vectors, -before.vectors)


def test_changed_content_with_same_size_and_mtime_is_detected(tmp_path, isolated_caches):
    path = _write(tmp_path / "v.txt", "aa 1 2\nbb 3 4\n")
    stat = path.stat()
    assert load_vectors(path, download=False).itos == ["aa", "bb"]
    _write(path, "bb 3 4\naa 1 2\n")  # same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same modification time
    reloaded = load_vectors(path, download=False)
    assert reloaded.itos == ["bb", "aa"]
    assert reloaded["aa"].tolist() == [1.0, 2.0]


def test_cache_false_writes_nothing(tmp_path, isolated_caches):
    path = _write(tmp_path / "v.txt", "aa 1 2\nbb 3 4\n")
    load_vectors(path, cache=False, download=False)
    assert not isolated_caches.exists()


# --- every format, written by gensim ---------------------------------------------------------------------------


@pytest.fixture
def keyed():
    matrix = np.random.default_rng(0).normal(size=(len(WORDS), DIM)).astype(np.float32)
    kv = KeyedVectors(DIM)
    kv.add_vectors(WORDS, matrix)
    return kv


@pytest.fixture
def files(tmp_path, keyed):
    """One file per format, all holding ``keyed``'s words and vectors."""
    out = tmp_path / "formats"
    out.mkdir()
    keyed.save_word2vec_format(str(out / "w2v.txt"), binary=False)
    keyed.save_word2vec_format(str(out / "w2v.bin"), binary=True)
    keyed.save(str(out / "vectors.kv"))
    text = (out / "w2v.txt").read_text(encoding="utf-8")
    glove_text = text.split("\n", 1)[1]  # GloVe = word2vec text without the "count dim" header
    _write(out / "glove.txt", glove_text)
    _write(out / "fasttext.vec", text)
    _write(out / "glove.txt.gz", gzip.compress(glove_text.encode("utf-8")))
    _write(out / "w2v.bin.gz", gzip.compress((out / "w2v.bin").read_bytes()))
    with zipfile.ZipFile(out / "one.zip", "w") as archive:
        archive.writestr("glove.txt", glove_text)
    with zipfile.ZipFile(out / "two.zip", "w") as archive:
        archive.writestr("other.txt", "x 1 2\n")
        archive.writestr("member.txt", glove_text)
    return out


def _trusted(name: str) -> dict:
    """gensim ``.kv`` files are pickles: loaded only with ``trust_pickle`` (tests/test_reliability.py)."""
    return {"trust_pickle": True} if name.endswith(".kv") else {}


@pytest.mark.parametrize(
    "name",
    [
        "glove.txt",
        "w2v.txt",
        "fasttext.vec",
        "glove.txt.gz",
        "w2v.bin",
        "w2v.bin.gz",
        "vectors.kv",
        "one.zip",
        "one.zip:glove.txt",
        "two.zip:member.txt",
    ],
)
def test_every_format_loads_the_same_words_and_vectors(files, keyed, name):
    vectors = load_vectors(f"{files}/{name}", download=False, **_trusted(name))
    _assert_same(vectors, WORDS, keyed.vectors)
    assert vectors.subwords is None
    assert vectors.lookup("never-seen") is None


def test_text_formats_load_the_same_from_the_cache(files, keyed):
    for _ in range(2):
        _assert_same(load_vectors(files / "glove.txt", download=False), WORDS, keyed.vectors)


def test_zip_with_two_members_needs_the_member_named(files):
    with pytest.raises(DataError, match=r"holds 2 files.*ARCHIVE\.zip:MEMBER"):
        load_vectors(files / "two.zip", download=False)
    with pytest.raises(DataError, match="no member 'absent.txt'.*member.txt"):
        load_vectors(f"{files}/two.zip:absent.txt", download=False)


@pytest.fixture(scope="module")
def fasttext_bin(tmp_path_factory):
    sentences = [
        ["the", "cat", "sat", "on", "the", "mat"],
        ["the", "dog", "ran", "in", "the", "park"],
        ["a", "cat", "and", "a", "dog", "played"],
    ] * 20
    model = GensimFastText(vector_size=8, min_count=1, epochs=5, seed=0, workers=1, bucket=2000)
    model.build_vocab(corpus_iterable=sentences)
    model.train(corpus_iterable=sentences, total_examples=len(sentences), epochs=model.epochs)
    path = tmp_path_factory.mktemp("fasttext") / "model.bin"
    save_facebook_model(model, str(path))
    return path


def test_fasttext_bin_words_vectors_and_oov_match_gensim(fasttext_bin):
    reference = load_facebook_vectors(str(fasttext_bin))
    vectors = load_vectors(fasttext_bin, download=False)
    _assert_same(vectors, reference.index_to_key, reference.vectors)
    assert vectors.subwords is not None
    for unseen in ("cats", "dogpark", "matting"):
        assert unseen not in vectors
        assert np.allclose(vectors[unseen].numpy(), reference.get_vector(unseen), atol=1e-6), unseen
    restricted = load_vectors(fasttext_bin, restrict_to=["dog", "cat"], download=False)
    assert sorted(restricted.itos) == ["cat", "dog"]
    assert np.allclose(restricted["cats"].numpy(), reference.get_vector("cats"), atol=1e-6)


def test_tokens_containing_spaces_load(tmp_path):
    path = _write(
        tmp_path / "glove840b_style.txt",
        "the 0.1 0.2 0.3\n. . . 0.4 0.5 0.6\nat name@domain.com 0.7 0.8 0.9\ncat 1 2 3\n",
    )
    vectors = load_vectors(path, download=False)
    assert vectors.itos == ["the", ". . .", "at name@domain.com", "cat"]
    assert vectors[". . ."].tolist() == pytest.approx([0.4, 0.5, 0.6])
    assert vectors["at name@domain.com"].tolist() == pytest.approx([0.7, 0.8, 0.9])


def test_token_containing_spaces_on_the_first_line_loads(tmp_path):
    path = _write(tmp_path / "spaced_first.txt", ". . . 0.4 0.5 0.6\nthe 0.1 0.2 0.3\ncat 1 2 3\n")
    vectors = load_vectors(path, download=False)
    assert vectors.itos == [". . .", "the", "cat"]
    assert vectors.dim == 3


@pytest.mark.parametrize("options", [{}, {"cache": False}, {"restrict_to": ["the", "cat"]}, {"max_vectors": 10}])
def test_invalid_utf8_byte_in_one_line_does_not_break_loading(tmp_path, options):
    path = _write(tmp_path / "latin1.txt", b"the 0.1 0.2\ncaf\xe9 0.3 0.4\ncat 0.5 0.6\n")
    vectors = load_vectors(path, download=False, **options)
    assert vectors["the"].tolist() == pytest.approx([0.1, 0.2])
    assert vectors["cat"].tolist() == pytest.approx([0.5, 0.6])
    if "restrict_to" not in options:
        assert len(vectors) == 3
        assert vectors.vectors[1].tolist() == pytest.approx([0.3, 0.4])
        assert vectors.itos[1].startswith("caf")


@pytest.mark.parametrize("name", ["glove.txt", "w2v.txt", "w2v.bin", "vectors.kv", "one.zip"])
def test_restrict_to_keeps_only_requested_words(files, keyed, name):
    wanted = ["mat", "cat", "not-in-file"]
    vectors = load_vectors(files / name, restrict_to=wanted, download=False, **_trusted(name))
    assert vectors.itos == ["cat", "mat"]  # file order
    assert np.allclose(vectors.vectors.numpy(), keyed.vectors[[1, 4]], atol=1e-6)
    streamed = load_vectors(files / name, restrict_to=wanted, cache=False, download=False, **_trusted(name))
    assert streamed.itos == ["cat", "mat"]


@pytest.mark.parametrize("name", ["glove.txt", "w2v.txt", "fasttext.vec", "glove.txt.gz", "w2v.bin", "vectors.kv"])
def test_max_vectors_reads_the_first_n(files, keyed, name):
    vectors = load_vectors(files / name, max_vectors=3, download=False, **_trusted(name))
    _assert_same(vectors, WORDS[:3], keyed.vectors[:3])


# --- presets and names -----------------------------------------------------------------------------------------


def test_preset_found_by_name_in_the_vectors_dir(tmp_path, files, keyed):
    vectors_dir = tmp_path / "vectors_dir"
    vectors_dir.mkdir()
    shutil.copy(files / "glove.txt.gz", vectors_dir / "glove.6B.50d.txt.gz")
    _assert_same(GloVe(name="6B", dim=50, download=False), WORDS, keyed.vectors)
    _assert_same(load_vectors("glove.6B.50d", download=False), WORDS, keyed.vectors)
    # the official zip, as downloaded, also works
    os.remove(vectors_dir / "glove.6B.50d.txt.gz")
    with zipfile.ZipFile(vectors_dir / "glove.6B.zip", "w") as archive:
        archive.writestr("glove.6B.100d.txt", "x 1\n")
        archive.writestr("glove.6B.50d.txt", (files / "glove.txt").read_text(encoding="utf-8"))
    vectors = GloVe(name="6B", dim=50, download=False)
    assert vectors.source.endswith("glove.6B.zip:glove.6B.50d.txt")
    _assert_same(vectors, WORDS, keyed.vectors)


def test_legacy_cache_argument_is_searched_for_the_name(tmp_path, files, keyed):
    legacy = tmp_path / ".vector_cache"
    legacy.mkdir()
    shutil.copy(files / "glove.txt", legacy / "my_vectors.txt")
    _assert_same(Vectors("my_vectors.txt", cache=str(legacy), download=False), WORDS, keyed.vectors)


def test_unknown_name_offline_names_the_file_and_the_directory(tmp_path):
    with pytest.raises(TextclsError) as error:
        load_vectors("my_vectors.txt")
    message = str(error.value)
    assert "my_vectors.txt" in message and "not found" in message
    assert str(tmp_path / "vectors_dir") in message


@pytest.mark.parametrize("download", [False, True])
def test_absent_preset_offline_says_what_to_put_where(tmp_path, isolated_caches, download):
    with pytest.raises(TextclsError) as error:
        GloVe(name="6B", dim=50, download=download)  # download=True fails at once here (no DNS)
    message = str(error.value)
    assert "glove.6B.50d.txt" in message
    assert "https://nlp.stanford.edu/data/glove.6B.zip" in message
    assert str(tmp_path / "vectors_dir") in message
    assert "TEXTCLS_VECTORS_DIR" in message
    assert not list(tmp_path.rglob("*.part"))


def test_absent_fasttext_preset_offline_says_what_to_put_where(tmp_path):
    with pytest.raises(TextclsError) as error:
        load_vectors("fasttext.simple.300d")
    message = str(error.value)
    assert "wiki.simple.vec" in message and str(tmp_path / "vectors_dir") in message


# --- bad input -------------------------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(TextclsError, match="not found") as error:
        load_vectors(tmp_path / "absent.txt", download=False)
    assert str(tmp_path / "absent.txt") in str(error.value)


@pytest.mark.parametrize("name", ["empty.txt", "empty.bin", "empty.txt.gz"])
def test_empty_file(tmp_path, name):
    path = _write(tmp_path / name, b"")
    with pytest.raises(DataError, match="empty") as error:
        load_vectors(path, download=False)
    assert error.value.path == str(path)


def test_empty_gzip_has_no_vectors(tmp_path):
    path = _write(tmp_path / "nothing.txt.gz", gzip.compress(b""))
    with pytest.raises(DataError, match="no vectors"):
        load_vectors(path, download=False)


@pytest.mark.parametrize("options", [{}, {"cache": False}, {"max_vectors": 5}])
def test_line_with_too_few_numbers_names_the_line(tmp_path, options):
    path = _write(tmp_path / "short.txt", "a 1 2 3\nb 4 5 6\nc 7 8\nd 1 1 1\n")
    with pytest.raises(DataError, match="line has 2 numbers, expected 3") as error:
        load_vectors(path, download=False, **options)
    assert error.value.line == 3
    assert f"{path}:3:" in str(error.value)


def test_line_with_too_many_numbers_is_an_error(tmp_path):
    path = _write(tmp_path / "long.txt", "a 1 2\nb 4 5 6\nc 7 8\n")
    with pytest.raises(DataError, match="expected 2") as error:
        load_vectors(path, download=False)
    assert error.value.line == 2


def test_mixed_dimensions_are_an_error(tmp_path):
    # a 2-d file and a 3-d file concatenated, in both orders
    for name, text in [("up.txt", "a 1 2\nb 3 4\nc 1 2 3\nd 4 5 6\n"), ("down.txt", "a 1 2 3\nb 4 5 6\nc 1 2\n")]:
        path = _write(tmp_path / name, text)
        with pytest.raises(DataError, match="expected") as error:
            load_vectors(path, download=False)
        assert error.value.line == 3, name


@pytest.mark.parametrize("header", ["3 words here", "2 dims"])
def test_first_line_that_is_not_a_header_is_not_read_as_a_vector(tmp_path, header):
    path = _write(tmp_path / "notheader.txt", f"{header}\na 1 2\nb 3 4\n")
    with pytest.raises(DataError, match="no numbers") as error:
        load_vectors(path, download=False)
    assert error.value.line == 1


def test_header_dimension_that_disagrees_with_the_rows_is_an_error(tmp_path):
    path = _write(tmp_path / "header.vec", "2 4\na 1 2 3\nb 4 5 6\n")
    with pytest.raises(DataError, match="expected 4"):
        load_vectors(path, download=False)


def test_valid_header_is_skipped(tmp_path):
    vectors = load_vectors(_write(tmp_path / "ok.vec", "2 3\na 1 2 3\nb 4 5 6\n"), download=False)
    assert vectors.itos == ["a", "b"] and vectors.dim == 3


@pytest.mark.parametrize("options", [{}, {"cache": False}])
def test_non_numeric_value_names_the_line_and_word(tmp_path, options):
    path = _write(tmp_path / "text.txt", "a 1 2\nbad 3 x\nc 5 6\n")
    with pytest.raises(DataError, match="non-numeric value in the vector of 'bad'") as error:
        load_vectors(path, download=False, **options)
    assert error.value.line == 2


def test_words_without_numbers_is_not_a_vectors_file(tmp_path):
    path = _write(tmp_path / "words.txt", "just\nsome\nwords\n")
    with pytest.raises(DataError, match="no numbers"):
        load_vectors(path, download=False)


def test_text_file_named_bin_is_a_data_error(tmp_path):
    path = _write(tmp_path / "text.bin", "a 1 2\nb 3 4\n")
    with pytest.raises(DataError, match="word2vec-binary"):
        load_vectors(path, download=False)


def test_truncated_word2vec_binary_is_a_data_error(files, tmp_path):
    data = (files / "w2v.bin").read_bytes()
    path = _write(tmp_path / "truncated.bin", data[: len(data) - 7])
    with pytest.raises(DataError, match="damaged"):
        load_vectors(path, download=False)


def test_truncated_fasttext_bin_is_a_data_error(fasttext_bin, tmp_path):
    data = fasttext_bin.read_bytes()
    path = _write(tmp_path / "truncated_ft.bin", data[: len(data) // 2])
    with pytest.raises(DataError, match="truncated fastText model"):
        load_vectors(path, download=False)


def test_damaged_gensim_kv_file_is_a_data_error(tmp_path):
    path = _write(tmp_path / "damaged.kv", b"\x80\x04\x95garbage")
    with pytest.raises(DataError, match="gensim"):
        load_vectors(path, download=False, trust_pickle=True)


def test_binary_vectors_in_a_one_member_zip_say_so(files, tmp_path):
    with zipfile.ZipFile(tmp_path / "binary.zip", "w") as archive:
        archive.write(files / "w2v.bin", "w2v.bin")
    with pytest.raises(DataError, match="inside a zip"):
        load_vectors(tmp_path / "binary.zip", download=False)
    with pytest.raises(DataError, match="inside a zip"):
        load_vectors(f"{tmp_path}/binary.zip:w2v.bin", download=False)
