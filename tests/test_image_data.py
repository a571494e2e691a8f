"""Image data: the IDX reader on generated MNIST-like digits and on the real MNIST files, image folders written by
the tests, torchvision names offline, preprocessing, and seeded batches."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from generated import write_idx
from PIL import Image

from textcls.errors import DataError, TextclsError
from textcls.image.batches import ImageBatches
from textcls.image.data import ImageSplit, Preprocess, load_images
from textcls.image.idx import read_idx


def write_pngs(folder, classes: dict[str, int], size=(20, 16), mode="RGB") -> None:
    """``count`` PNGs per class folder, each class a different brightness."""
    for index, (name, count) in enumerate(classes.items()):
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            value = 40 + 80 * index + i
            Image.new(mode, size, (value,) * (3 if mode == "RGB" else 1) if mode == "RGB" else value).save(
                folder / name / f"{i}.png"
            )


# --- IDX ----------------------------------------------------------------------------------------------------
def test_idx_reader_on_the_real_mnist_files(shared_data):
    images = read_idx(shared_data / "mnist/t10k-images-idx3-ubyte.gz")
    labels = read_idx(shared_data / "mnist/t10k-labels-idx1-ubyte.gz")
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10_000,) and set(labels.tolist()) == set(range(10))
    assert labels[:5].tolist() == [7, 2, 1, 0, 4]  # the well-known first test digits
    assert images.max() == 255 and images[0, :4].sum() == 0  # the border of a digit is black
    stats = load_images(str(shared_data / "mnist")).stats
    assert 0.12 < stats[0][0] < 0.14 and 0.30 < stats[1][0] < 0.32  # MNIST's known mean / std


def test_idx_reader_on_generated_digits(digits):
    images = read_idx(digits / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(digits / "t10k-labels-idx1-ubyte.gz")
    assert images.shape == (1_500, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (1_500,) and set(labels.tolist()) == set(range(10))
    assert labels[:3].tolist() == [7, 2, 1]  # as write_digits_idx begins, like MNIST's test digits
    assert images.max() == 255 and images[:, :, :4].mean() < images[:, 6:22, 8:20].mean() / 3  # a dark border


def test_idx_round_trip_and_damaged_files(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a.idx", array)
    assert np.array_equal(read_idx(tmp_path / "a.idx"), array)
    (tmp_path / "bad.idx").write_bytes(b"\x01\x02\x08\x01" + b"\x00" * 8)
    with pytest.raises(DataError, match="bad magic"):
        read_idx(tmp_path / "bad.idx")
    (tmp_path / "short.idx").write_bytes(open(tmp_path / "a.idx", "rb").read()[:-5])
    with pytest.raises(DataError, match="truncated"):
        read_idx(tmp_path / "short.idx")
    with pytest.raises(DataError, match="not found"):
        read_idx(tmp_path / "missing.idx")


def test_a_directory_with_one_idx_split_is_training_data_split_reproducibly(digits):
    data = load_images(str(digits))
    assert data.test is None and data.channels == 1 and data.classes == [str(d) for d in range(10)]
    assert data.train.images.shape == (1_500, 1, 28, 28)
    train, valid = data.split_valid(0.2, seed=0)
    again_train, again_valid = data.split_valid(0.2, seed=0)
    assert (len(train), len(valid)) == (1_200, 300)
    assert torch.equal(valid.labels, again_valid.labels) and torch.equal(train.images, again_train.images)
    other = data.split_valid(0.2, seed=1)[1]
    assert not torch.equal(valid.labels, other.labels)
    pixels = read_idx(digits / "t10k-images-idx3-ubyte.gz") / 255.0
    assert data.stats[0][0] == pytest.approx(pixels.mean(), abs=1e-4)
    assert data.stats[1][0] == pytest.approx(pixels.std(), abs=1e-3)


def test_idx_directory_with_both_splits(tmp_path):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 30), ("t10k", 10)):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 255, (n, 8, 8)))
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 3)
    data = load_images(str(tmp_path))
    assert len(data.train) == 30 and len(data.test) == 10 and data.classes == ["0", "1", "2"]


# --- folders ------------------------------------------------------------------------------------------------
def test_image_folder_with_class_sub_folders(tmp_path):
    write_pngs(tmp_path, {"cats": 3, "dogs": 2})
    (tmp_path / "notes.txt").write_text("not an image")
    data = load_images(str(tmp_path))
    assert data.classes == ["cats", "dogs"] and data.test is None
    assert data.train.labels.tolist() == [0, 0, 0, 1, 1]
    image = data.train.load(3)
    assert image.shape == (3, 16, 20) and image.dtype == torch.uint8
    assert int(image[0, 0, 0]) == 120  # second class, first image


def test_image_folder_with_train_and_test_trees(tmp_path):
    write_pngs(tmp_path / "train", {"NORMAL": 2, "PNEUMONIA": 2}, mode="L")
    write_pngs(tmp_path / "test", {"NORMAL": 1, "PNEUMONIA": 1}, mode="L")
    data = load_images(str(tmp_path))
    assert data.classes == ["NORMAL", "PNEUMONIA"] and len(data.train) == 4 and len(data.test) == 2
    assert data.train.load(0).shape[0] == 3  # grey PNGs are read as RGB; Preprocess matches the model's channels


def test_image_folder_errors(tmp_path):
    (tmp_path / "empty" / "a").mkdir(parents=True)
    (tmp_path / "empty" / "b").mkdir()
    with pytest.raises(TextclsError, match="no images found"):
        load_images(str(tmp_path / "empty"))
    write_pngs(tmp_path / "one", {"only": 2})
    with pytest.raises(TextclsError, match="at least two"):
        load_images(str(tmp_path / "one"))
    write_pngs(tmp_path / "mixed" / "train", {"a": 1, "b": 1})
    write_pngs(tmp_path / "mixed" / "test", {"a": 1, "c": 1})
    with pytest.raises(TextclsError, match="not among the training classes"):
        load_images(str(tmp_path / "mixed"))
    with pytest.raises(TextclsError, match="image data not found"):
        load_images(str(tmp_path / "nowhere"))


def test_torchvision_dataset_offline_says_which_files_to_place_where(tmp_path):
    with pytest.raises(TextclsError) as error:
        load_images("mnist", root=tmp_path)
    message = str(error.value)
    assert "\n" not in message
    assert str(tmp_path / "MNIST" / "raw") in message and "train-images-idx3-ubyte.gz" in message
    assert "--download" in message
    with pytest.raises(TextclsError, match="cifar-10-python.tar.gz"):
        load_images("cifar10", root=tmp_path)


# --- preprocessing and batches ------------------------------------------------------------------------------
def test_preprocess_matches_channels_size_and_normalises():
    images = torch.full((2, 1, 28, 28), 255, dtype=torch.uint8)
    grey = Preprocess((1, 28, 28), (0.5,), (0.25,))
    assert torch.allclose(grey.batch(images), torch.full((2, 1, 28, 28), 2.0))
    colour = Preprocess((3, 32, 32), (0.5,) * 3, (0.5,) * 3)
    out = colour.batch(images)
    assert out.shape == (2, 3, 32, 32) and torch.allclose(out, torch.ones_like(out), atol=1e-5)
    rgb = torch.zeros((1, 3, 8, 8), dtype=torch.uint8)
    rgb[:, 0] = 255
    assert torch.allclose(grey.batch(rgb), torch.full((1, 1, 28, 28), (76 / 255 - 0.5) / 0.25), atol=1e-4)
    imagenet = Preprocess((3, 224, 224), (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), "imagenet")
    assert imagenet.batch(torch.zeros((1, 3, 300, 400), dtype=torch.uint8)).shape == (1, 3, 224, 224)
    assert Preprocess.from_dict(imagenet.to_dict()).to_dict() == imagenet.to_dict()
    with pytest.raises(TextclsError, match="unknown transform preset"):
        Preprocess((1, 28, 28), (0.5,), (0.5,), "fancy")


def test_batches_shuffle_per_epoch_from_the_seed_and_cover_every_image():
    split = ImageSplit(torch.arange(50) % 5, torch.randint(0, 255, (50, 1, 8, 8), dtype=torch.uint8))
    preprocess = Preprocess((1, 8, 8), (0.5,), (0.5,))
    batches = ImageBatches(split, preprocess, batch_size=16, train=True, seed=3)
    orders = []
    for epoch in (0, 1, 0):
        batches.set_epoch(epoch)
        steps = list(batches)
        assert len(steps) == len(batches) == 4
        orders.append([i for step in steps for i in step.indices])
        first = steps[0]
        assert first.inputs[0].shape == (16, 1, 8, 8)
        assert torch.equal(first.targets, split.labels[first.indices])
    assert sorted(orders[0]) == list(range(50))
    assert orders[0] == orders[2] != orders[1]
    evaluation = ImageBatches(split, preprocess, batch_size=16)
    assert [i for step in evaluation for i in step.indices] == list(range(50))


def test_augmented_batches_go_through_a_data_loader():
    split = ImageSplit(torch.arange(12) % 2, torch.randint(0, 255, (12, 3, 32, 32), dtype=torch.uint8))
    batches = ImageBatches(split, Preprocess((3, 32, 32), (0.5,) * 3, (0.5,) * 3, "augment"), 5, train=True)
    steps = list(batches)
    assert [len(s.targets) for s in steps] == [5, 5, 2]
    assert steps[0].inputs[0].shape == (5, 3, 32, 32)
    assert sorted(i for s in steps for i in s.indices) == list(range(12))
