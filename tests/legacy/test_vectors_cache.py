"""Legacy torchtext's vectors lookup: named vectors (``GloVe(name="6B", dim=50)``, ``build_vocab(vectors=
"glove.6B.50d")``, ``FastText(language="en")``, ``CharNGram()``, ``Vectors(name, cache=...)``) are found in
``./.vector_cache`` (relative to the working directory) and in a given ``cache=``, as the file, its official archive
or, with ``url=``, a download; offline the error is one line naming the file and the folder. Also ``unk_init``
callables (``torch.Tensor.normal_``, ...), ``max_vectors`` and the ``Vectors`` lookups."""

import io
import math
import tarfile
import zipfile
from collections import Counter

import numpy as np
import pytest
import torch

from textcls.data import Field
from textcls.embeddings import CharNGram, FastText, GloVe, Vectors, load_vectors
from textcls.errors import TextclsError
from textcls.vocab import Vocab

WORDS = ["the", ",", ".", "of", "to", "and", "in", "a", "cat", "sat", "on", "mat", "dog", "ran", "fish", "swam"]
DIM = 50


def _glove_text(words, seed=0, dim=DIM):
    rng = np.random.default_rng(seed)
    rows = rng.normal(scale=0.4, size=(len(words), dim)).round(5)
    text = "".join(word + " " + " ".join(f"{x:.5f}" for x in row) + "\n" for word, row in zip(words, rows))
    return text, rows.astype(np.float32)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A working directory with legacy's ``.vector_cache/glove.6B.50d.txt``; textcls's own folders isolated."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TEXTCLS_CACHE_DIR", str(tmp_path / "user-cache"))
    monkeypatch.delenv("TEXTCLS_VECTORS_DIR", raising=False)
    (tmp_path / ".vector_cache").mkdir()
    text, rows = _glove_text(WORDS)
    (tmp_path / ".vector_cache" / "glove.6B.50d.txt").write_text(text, encoding="utf-8")
    return tmp_path, dict(zip(WORDS, rows))


def _assert_rows(vocab, expected):
    for word, row in expected.items():
        assert np.allclose(vocab.vectors[vocab.stoi[word]].numpy(), row, atol=1e-6), word


# --- where named vectors are found ------------------------------------------------------------------------------


@pytest.mark.parametrize("dim", [50, "50"])  # legacy's aliases passed dim as a string
def test_glove_by_name_and_dim_is_found_in_dot_vector_cache(workdir, dim):
    tmp_path, expected = workdir
    glove = GloVe(name="6B", dim=dim)
    assert glove.source == str(tmp_path / ".vector_cache" / "glove.6B.50d.txt")
    assert glove.itos == WORDS and glove.dim == DIM and len(glove) == len(WORDS)
    assert glove.stoi["cat"] == WORDS.index("cat")
    assert np.allclose(glove["cat"].numpy(), expected["cat"], atol=1e-6)


def test_build_vocab_with_a_preset_name_reads_dot_vector_cache(workdir):
    _, expected = workdir
    text = Field(lower=True)
    text.build_vocab([["The", "cat", "sat", "on", "the", "mat"], ["a", "zebra"]], vectors="glove.6B.50d")
    vocab = text.vocab
    assert vocab.vectors.shape == (len(vocab), DIM)
    _assert_rows(vocab, {word: expected[word] for word in ("the", "cat", "sat", "on", "mat", "a")})
    assert torch.count_nonzero(vocab.vectors[vocab.stoi["zebra"]]) == 0


def test_vectors_by_file_name_is_found_in_dot_vector_cache(workdir):
    tmp_path, _ = workdir
    assert Vectors("glove.6B.50d.txt").source == str(tmp_path / ".vector_cache" / "glove.6B.50d.txt")


def test_official_zip_in_dot_vector_cache_is_read_without_unzipping(workdir):
    tmp_path, expected = workdir
    cache = tmp_path / ".vector_cache"
    text = (cache / "glove.6B.50d.txt").read_text(encoding="utf-8")
    (cache / "glove.6B.50d.txt").unlink()
    with zipfile.ZipFile(cache / "glove.6B.zip", "w") as archive:
        archive.writestr("glove.6B.100d.txt", "the " + " ".join(["0.1"] * 100) + "\n")
        archive.writestr("glove.6B.50d.txt", text)
    glove = GloVe(name="6B", dim=50)
    assert glove.source == f"{cache / 'glove.6B.zip'}:glove.6B.50d.txt"
    assert np.allclose(glove["fish"].numpy(), expected["fish"], atol=1e-6)
    assert GloVe(name="6B", dim=100).dim == 100  # another member of the same archive


def test_a_given_cache_is_searched_first_and_receives_the_parsed_cache(workdir):
    tmp_path, _ = workdir
    mine = tmp_path / "my_cache"
    mine.mkdir()
    text, rows = _glove_text(["cat", "dog"], seed=7)
    (mine / "glove.6B.50d.txt").write_text(text, encoding="utf-8")
    glove = GloVe(name="6B", dim=50, cache=str(mine))
    assert glove.itos == ["cat", "dog"]  # not the ./.vector_cache file
    assert np.allclose(glove["dog"].numpy(), rows[1], atol=1e-6)
    assert list(mine.glob("glove.6B.50d.txt.*.npy")) and list(mine.glob("glove.6B.50d.txt.*.json"))
    vocab = Vocab(Counter("cat dog dog".split()), vectors="glove.6B.50d", vectors_cache=str(mine))
    assert np.allclose(vocab.vectors[vocab.stoi["dog"]].numpy(), rows[1], atol=1e-6)


def test_textcls_vectors_dir_comes_before_dot_vector_cache(workdir, monkeypatch):
    tmp_path, _ = workdir
    own = tmp_path / "textcls-vectors"
    own.mkdir()
    (own / "glove.6B.50d.txt").write_text(_glove_text(["only", "here"])[0], encoding="utf-8")
    monkeypatch.setenv("TEXTCLS_VECTORS_DIR", str(own))
    assert GloVe(name="6B", dim=50).itos == ["only", "here"]
    assert load_vectors("glove.6B.50d", vectors_dir=str(tmp_path / ".vector_cache")).itos == WORDS


def test_dot_vector_cache_is_relative_to_the_working_directory(workdir, monkeypatch):
    tmp_path, _ = workdir
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    with pytest.raises(TextclsError) as error:
        GloVe(name="6B", dim=50, download=False)
    assert str(elsewhere / ".vector_cache") in str(error.value)


def test_fasttext_language_reads_wiki_vec_with_its_header(workdir):
    tmp_path, _ = workdir
    text, rows = _glove_text(["hello", "world"], dim=300)
    (tmp_path / ".vector_cache" / "wiki.en.vec").write_text("2 300\n" + text, encoding="utf-8")
    fasttext = FastText(language="en")
    assert fasttext.itos == ["hello", "world"] and fasttext.dim == 300
    vocab = Vocab(Counter("hello world world".split()), vectors="fasttext.en.300d")
    assert np.allclose(vocab.vectors[vocab.stoi["world"]].numpy(), rows[1], atol=1e-6)


# --- url= and the offline error ----------------------------------------------------------------------------------


def test_url_is_used_when_the_file_is_absent(workdir):
    tmp_path, _ = workdir
    remote = tmp_path / "remote"
    remote.mkdir()
    text, rows = _glove_text(["hello", "world"])
    with zipfile.ZipFile(remote / "vectors.zip", "w") as archive:
        archive.writestr("my.vectors.txt", text)
    cache = tmp_path / "downloads"
    vectors = Vectors("my.vectors.txt", cache=str(cache), url=(remote / "vectors.zip").as_uri())
    assert (cache / "vectors.zip").is_file() and not list(cache.glob("*.part"))
    assert vectors.itos == ["hello", "world"]
    assert np.allclose(vectors["world"].numpy(), rows[1], atol=1e-6)
    (remote / "vectors.zip").unlink()  # the second time the downloaded archive is found: no download
    assert Vectors("my.vectors.txt", cache=str(cache), url=(remote / "vectors.zip").as_uri()).itos == ["hello", "world"]


def test_url_is_not_used_when_the_file_is_there(workdir):
    vectors = Vectors("glove.6B.50d.txt", url="http://127.0.0.1:9/never-fetched.zip")
    assert vectors.itos == WORDS


def test_url_offline_is_one_line_naming_the_file_and_the_folder(workdir):
    tmp_path, _ = workdir
    with pytest.raises(TextclsError) as error:
        Vectors("wiki.simple.vec", url="http://127.0.0.1:9/wiki.simple.vec")  # nothing listens on port 9
    message = str(error.value)
    assert "\n" not in message
    assert "wiki.simple.vec" in message and "http://127.0.0.1:9/wiki.simple.vec" in message
    assert str(tmp_path / ".vector_cache") in message
    assert not list(tmp_path.rglob("*.part"))


def test_absent_preset_offline_names_the_file_the_archive_and_the_folder(workdir):
    tmp_path, _ = workdir
    with pytest.raises(TextclsError) as error:
        GloVe(name="6B", dim=300, download=False)
    message = str(error.value)
    assert "glove.6B.300d.txt" in message and "glove.6B.zip" in message
    assert str(tmp_path / ".vector_cache") in message and "\n" not in message


# --- unk_init ----------------------------------------------------------------------------------------------------


def _vocab_with_missing_words():
    return Vocab(Counter("the cat sat zebra unicorn yeti zebra".split()))


@pytest.mark.parametrize("where", ["constructor", "load_vectors", "build_vocab"])
def test_unk_init_normal_draws_each_missing_row(workdir, where):
    _, expected = workdir
    torch.manual_seed(0)
    if where == "constructor":
        vocab = Vocab(Counter("the cat sat zebra unicorn yeti zebra".split()), vectors="glove.6B.50d",
                      unk_init=torch.Tensor.normal_)  # fmt: skip
    elif where == "load_vectors":
        vocab = _vocab_with_missing_words()
        vocab.load_vectors("glove.6B.50d", unk_init=torch.Tensor.normal_)
    else:
        field = Field()
        field.build_vocab([["the", "cat", "sat", "zebra", "unicorn", "yeti"]], vectors="glove.6B.50d",
                          unk_init=torch.Tensor.normal_)  # fmt: skip
        vocab = field.vocab
    _assert_rows(vocab, {word: expected[word] for word in ("the", "cat", "sat")})
    missing = vocab.vectors[[vocab.stoi[word] for word in ("<unk>", "zebra", "unicorn", "yeti")]]
    assert torch.count_nonzero(missing) == missing.numel()
    assert len({tuple(row.tolist()) for row in missing}) == 4  # one draw per row
    assert float(missing.std()) == pytest.approx(1.0, abs=0.25)  # N(0, 1) as torch.Tensor.normal_ draws


@pytest.mark.parametrize(
    "unk_init",
    [torch.Tensor.zero_, torch.nn.init.zeros_, lambda row: torch.zeros_like(row)],
    ids=["Tensor.zero_", "init.zeros_", "returns-new-tensor"],
)
def test_zero_initialisers_leave_missing_rows_zero(workdir, unk_init):
    vocab = _vocab_with_missing_words()
    vocab.load_vectors("glove.6B.50d", unk_init=unk_init)
    assert torch.count_nonzero(vocab.vectors[vocab.stoi["zebra"]]) == 0
    assert torch.count_nonzero(vocab.vectors[vocab.stoi["cat"]]) == DIM


def test_init_uniform_and_xavier_uniform_work_on_rows(workdir):
    vocab = _vocab_with_missing_words()
    torch.manual_seed(0)
    vocab.load_vectors("glove.6B.50d", unk_init=lambda row: torch.nn.init.uniform_(row, -0.01, 0.01))
    assert 0 < float(vocab.vectors[vocab.stoi["zebra"]].abs().max()) <= 0.01
    # xavier_uniform_ refuses 1-D tensors: the row is given as [1, dim], so the bound is sqrt(6 / (dim + 1))
    vocab.load_vectors("glove.6B.50d", unk_init=torch.nn.init.xavier_uniform_)
    row = vocab.vectors[vocab.stoi["zebra"]]
    assert torch.count_nonzero(row) == DIM
    assert float(row.abs().max()) <= math.sqrt(6 / (DIM + 1))


# --- the Vectors object ------------------------------------------------------------------------------------------


def test_vectors_lookups_as_legacy(workdir):
    _, expected = workdir
    glove = Vectors("glove.6B.50d.txt", unk_init=torch.Tensor.normal_)
    assert glove.vectors.shape == (len(WORDS), DIM) and glove.vectors.dtype == torch.float32
    assert glove.itos[glove.stoi["dog"]] == "dog"
    torch.manual_seed(0)
    assert torch.count_nonzero(glove["Zebra"]) == DIM  # unknown: unk_init
    stacked = glove.get_vecs_by_tokens(["Cat", "dog"], lower_case_backup=True)
    assert stacked.shape == (2, DIM)
    assert np.allclose(stacked[0].numpy(), expected["cat"], atol=1e-6)
    single = glove.get_vecs_by_tokens("dog")
    assert single.shape == (DIM,) and np.allclose(single.numpy(), expected["dog"], atol=1e-6)
    assert torch.count_nonzero(Vectors("glove.6B.50d.txt").get_vecs_by_tokens("Cat")) == 0  # no lower-case backup


def test_max_vectors_reads_the_first_vectors_of_the_file(workdir):
    glove = Vectors("glove.6B.50d.txt", max_vectors=4)
    assert glove.itos == WORDS[:4]
    vocab = Vocab(Counter("the of cat fish".split()))
    coverage = vocab.load_vectors("glove.6B.50d", max_vectors=4)
    assert coverage.types_found == 2  # "the" and "of" are among the first 4; "cat", "fish" come later
    assert torch.count_nonzero(vocab.vectors[vocab.stoi["cat"]]) == 0


# --- CharNGram ---------------------------------------------------------------------------------------------------


def _charngram_table():
    # n-grams of "cat" (#BEGIN# c a t #END#), one of "do", one of no test word
    grams = ["2gram-#BEGIN#c", "2gram-ca", "3gram-cat", "3gram-at#END#", "4gram-cat#END#", "2gram-do", "3gram-xyz"]
    rows = np.arange(len(grams) * 4, dtype=np.float32).reshape(len(grams), 4)
    text = "".join(gram + " " + " ".join(str(x) for x in row) + "\n" for gram, row in zip(grams, rows))
    return text, dict(zip(grams, rows))


def test_charngram_averages_the_word_ngrams_like_legacy(workdir):
    tmp_path, _ = workdir
    text, table = _charngram_table()
    (tmp_path / ".vector_cache" / "charNgram.txt").write_text(text, encoding="utf-8")
    charngram = CharNGram()
    cat_grams = ("2gram-#BEGIN#c", "2gram-ca", "3gram-cat", "3gram-at#END#", "4gram-cat#END#")
    expected = np.mean([table[gram] for gram in cat_grams], axis=0)
    assert charngram["cat"].shape == (1, 4)  # legacy's shape
    assert np.allclose(charngram["cat"][0].numpy(), expected)
    assert np.allclose(charngram.get_vecs_by_tokens(["cat", "dog"])[1].numpy(), table["2gram-do"])
    assert torch.count_nonzero(charngram["<unk>"]) == 0 and torch.count_nonzero(charngram["qqq"]) == 0

    vocab = Vocab(Counter("cat dog qqq".split()), vectors="charngram.100d")
    assert np.allclose(vocab.vectors[vocab.stoi["cat"]].numpy(), expected)
    assert torch.count_nonzero(vocab.vectors[vocab.stoi["qqq"]]) == 0


def test_charngram_archive_is_extracted_from_the_cache(workdir):
    tmp_path, _ = workdir
    text, table = _charngram_table()
    data = text.encode("utf-8")
    with tarfile.open(tmp_path / ".vector_cache" / "jmt_pre-trained_embeddings.tar.gz", "w:gz") as archive:
        info = tarfile.TarInfo("jmt_pre-trained_embeddings/charNgram.txt")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    charngram = CharNGram()
    assert (tmp_path / ".vector_cache" / "charNgram.txt").is_file()
    assert np.allclose(charngram["do"][0].numpy(), table["2gram-do"])


@pytest.mark.parametrize("archive", ["glove.6B.zip", "jmt_pre-trained_embeddings.tar.gz"])
def test_a_damaged_archive_in_the_cache_is_a_one_line_error(workdir, archive):
    tmp_path, _ = workdir
    (tmp_path / ".vector_cache" / "glove.6B.50d.txt").unlink()
    (tmp_path / ".vector_cache" / archive).write_bytes(b"<html>not an archive</html>")
    with pytest.raises(TextclsError) as error:
        GloVe(name="6B", dim=50) if archive.endswith(".zip") else CharNGram()
    message = str(error.value)
    assert archive in message and "delete it and download it again" in message and "\n" not in message
