"""Generated data in the layouts of ``../shared/data``, for the tests that need realistic files but not the real
ones: a news corpus (AG News's header-less csv and the book's one-hot files), GloVe-format vectors for it, and an
MNIST-like IDX directory. Everything comes from a seeded generator, so the same seed writes the same bytes.
"""

from __future__ import annotations

import csv
import gzip
import io
import random
import struct
from pathlib import Path
from types import SimpleNamespace

import numpy as np

# AG News's class indices and the book's one-hot column names, with topical words per class. A text's class shows
# in its topical words only, among many shared filler words; one row in ten also has a word of another class.
NEWS_CLASSES = {
    "1": (
        "World",
        "minister president election parliament embassy troops ceasefire rebels border treaty refugees "
        "diplomat summit sanctions protest capital regime militants envoy coalition ballot talks cabinet province "
        "insurgents peacekeepers referendum junta opposition crisis",
    ),
    "2": (
        "Sports",
        "match team coach league striker season referee playoff tournament champion medal olympic "
        "inning quarterback goalkeeper stadium cup victory defeat score pitcher hockey soccer football baseball "
        "tennis golf racing marathon final",
    ),
    "3": (
        "Business",
        "market shares profit bank investors merger prices revenue stocks earnings dividend oil "
        "economy inflation retailer bonds quarter forecast acquisition deficit exports tariff crude barrel "
        "analysts nasdaq dollar airline layoffs mortgage",
    ),
    "4": (
        "SciTech",
        "software internet telescope genome physics laboratory species orbit cells computer chip "
        "spacecraft researchers virus browser wireless satellite microsoft linux processor database robot fossil "
        "climate broadband nasa mars server download",
    ),
}
NEWS_FILLER = (
    "the a of on in to for with after says said new report today week year officials people first two three more "
    "than over its their this that will could may plans amid despite latest group local early late major big record "
    "top under against from about"
).split()
BOOK_PADDING = 14  # the book's files end every row with empty columns
BOOK_DAMAGED_LINE = 13  # as in the book's train.csv: its first row with unquoted commas (a ';' that became ',')
VECTOR_DIM = 32


def _news_row(rng, label: str, damaged: bool = False) -> tuple[str, str]:
    """A title and a description of class ``label``: filler words around topical words, with punctuation."""
    topical = NEWS_CLASSES[label][1].split()
    other = NEWS_CLASSES[rng.choice([key for key in NEWS_CLASSES if key != label])][1].split()
    title = rng.choices(NEWS_FILLER, k=rng.randint(2, 4)) + [rng.choice(topical)]
    rng.shuffle(title)
    words = rng.choices(NEWS_FILLER, k=rng.randint(7, 14)) + rng.sample(topical, 2)
    words += [rng.choice(other)] if rng.random() < 0.1 else []
    rng.shuffle(words)
    cut = rng.randint(2, len(words) - 2)
    comma = ",AAPL.O&gt," if damaged else ", "
    description = " ".join(words[:cut]) + comma + " ".join(words[cut:]) + "."
    title = " ".join(title)
    return title[0].upper() + title[1:], description[0].upper() + description[1:]


def write_news_corpus(folder: Path, seed: int = 0) -> SimpleNamespace:
    """Write a generated news corpus in the two layouts of ``../shared/data/ag_news``, and word vectors for it.

    * ``ag_news/test.csv.gz``: 1,200 header-less rows ``"class","title","description"`` (classes 1-4 in turn, every
      field quoted), as AG News's ``test.csv.gz``;
    * ``book/{train,valid,test}.csv.gz``: 1,200 / 300 / 400 rows ``id,content,Business,SciTech,Sports,World`` plus
      empty padding columns, as the book's files, with some rows (the first on line 13) whose description holds
      unquoted commas (reading them needs ``--extra-fields merge --merge-sep ';'``);
    * ``glove.txt.gz``: GloVe-format vectors (32 numbers a word, no header, gzipped) for every word of the corpus,
      a class's topical words near each other, so pretrained vectors help a small model.

    Args:
        folder: where the files go (created).
        seed: the generator's seed.

    Returns:
        ``SimpleNamespace(ag_news=path, book=folder, glove=path)``.
    """
    rng = random.Random(seed)
    labels = list(NEWS_CLASSES)
    (folder / "ag_news").mkdir(parents=True)
    (folder / "book").mkdir()
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    for row in range(1200):
        writer.writerow([labels[row % 4], *_news_row(rng, labels[row % 4])])
    ag_news = folder / "ag_news" / "test.csv.gz"
    ag_news.write_bytes(gzip.compress(out.getvalue().encode("utf-8"), mtime=0))
    names = sorted(name for name, _ in NEWS_CLASSES.values())
    for split, count in (("train", 1200), ("valid", 300), ("test", 400)):
        lines = [",".join(["id", "content", *names] + [""] * BOOK_PADDING)]
        for row in range(count):
            label = labels[row % 4]
            damaged = split == "train" and (len(lines) + 1 == BOOK_DAMAGED_LINE or rng.random() < 0.03)
            _, content = _news_row(rng, label, damaged)
            content = content if damaged else io_csv_field(content)
            one_hot = [str(int(name == NEWS_CLASSES[label][0])) for name in names]
            lines.append(",".join([str(row), content, *one_hot] + [""] * BOOK_PADDING))
        payload = ("\n".join(lines) + "\n").encode("utf-8")
        (folder / "book" / f"{split}.csv.gz").write_bytes(gzip.compress(payload, mtime=0))
    generator = np.random.default_rng(seed)
    vectors = []
    for _, words in NEWS_CLASSES.values():
        centre = generator.normal(0, 1, VECTOR_DIM)
        vectors += [(word, centre + generator.normal(0, 0.4, VECTOR_DIM)) for word in words.split()]
    vectors += [(word, generator.normal(0, 0.3, VECTOR_DIM)) for word in dict.fromkeys(NEWS_FILLER + [",", "."])]
    glove = folder / "glove.txt.gz"
    text = "".join(f"{word} {' '.join(f'{x:.5f}' for x in vector)}\n" for word, vector in vectors)
    glove.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))
    return SimpleNamespace(ag_news=ag_news, book=folder / "book", glove=glove)


def io_csv_field(value: str) -> str:
    """``value`` as one csv field (quoted when it holds a comma or a quote)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow([value])
    return out.getvalue()


def write_digits_idx(folder: Path, count: int = 1500, seed: int = 0) -> Path:
    """Write an MNIST-like IDX directory: ``count`` 28×28 grey digits (the digit drawn with PIL's font at a random
    size, shifted, rotated and noisy; labels 7, 2, 1, then random), as ``t10k-images-idx3-ubyte.gz`` and
    ``t10k-labels-idx1-ubyte.gz``.

    Args:
        folder: where the two files go (created).
        count: number of images.
        seed: the generator's seed.

    Returns:
        ``folder`` (what ``textcls image train --data`` takes).
    """
    from PIL import Image, ImageDraw, ImageFont

    rng = np.random.default_rng(seed)
    labels = np.concatenate([[7, 2, 1], rng.integers(0, 10, count - 3)]).astype(np.uint8)
    images = np.zeros((count, 28, 28), dtype=np.uint8)
    for index, label in enumerate(labels):
        font = ImageFont.load_default(size=int(rng.integers(20, 24)))
        canvas = Image.new("L", (28, 28))
        offset = (int(rng.integers(7, 10)), int(rng.integers(0, 3)))
        ImageDraw.Draw(canvas).text(offset, str(label), fill=int(rng.integers(200, 256)), font=font)
        canvas = canvas.rotate(float(rng.uniform(-6, 6)), resample=Image.BILINEAR)
        pixels = np.asarray(canvas, dtype=np.float64) + rng.normal(0, 8, (28, 28))
        images[index] = np.clip(pixels, 0, 255)
    folder.mkdir(parents=True, exist_ok=True)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", images)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", labels)
    return folder


def write_idx(path, array: np.ndarray) -> None:
    """Write an IDX file of unsigned bytes, as MNIST's (gzip when the name ends in .gz).

    Args:
        path: the file.
        array: the values (cast to ``uint8``); its shape is the file's.
    """
    payload = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">i", n) for n in array.shape)
    payload += array.astype(np.uint8).tobytes()
    Path(path).write_bytes(gzip.compress(payload, mtime=0) if str(path).endswith(".gz") else payload)


def write_many_classes(folder: Path, classes: int, rows: tuple[int, int] = (20_000, 4_000), seed: int = 0) -> dict:
    """Write ``train.csv`` and ``valid.csv`` (columns ``text,label``) of a corpus with many classes: row ``i`` has
    class ``c{i mod classes}`` (so every class has training rows when there are as many rows as classes), and its
    text is 3-6 filler words around the class's own word (``w{class}``), shuffled; one row in five has another
    class's word instead, so the predictions scatter over many (true, predicted) cells.

    Args:
        folder: where the files go (created).
        classes: number of classes.
        rows: rows of train and valid.
        seed: the generator's seed.

    Returns:
        ``{"train": path, "valid": path}``.
    """
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for split, count in zip(("train", "valid"), rows):
        lines = ["text,label"]
        for row in range(count):
            label = row % classes
            word = rng.randrange(classes) if rng.random() < 0.2 else label
            words = rng.choices(NEWS_FILLER, k=rng.randint(3, 6)) + [f"w{word}"]
            rng.shuffle(words)
            lines.append(f"{' '.join(words)},c{label}")
        paths[split] = folder / f"{split}.csv"
        paths[split].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return paths
