import numpy as np
import pytest
from PIL import Image

from core.errors import UserError
from tests.conftest import SHARED_DATA
from tests.vision.images import image, make_tree, make_zip
from vision import data


def test_bad_files_are_skipped_and_counted_gray_and_rgba_converted(tmp_path):
    root = make_tree(tmp_path / "images", per_class=10)
    (root / "red" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 20)
    (root / "green" / "notes.txt").write_text("not an image")
    rng = np.random.default_rng(1)
    Image.fromarray(image("blue", rng)[..., 0]).save(root / "blue" / "gray.png")  # mode L
    Image.fromarray(image("blue", rng)).convert("RGBA").save(root / "blue" / "rgba.png")
    Image.fromarray(image("blue", rng, size=24)).save(root / "blue" / "bigger.png")  # resized to 16
    parts = data.load_tree(root, seed=0)
    assert sorted(path.rsplit("/", 1)[-1] for path, _ in parts["train"].skipped) == ["corrupt.jpg", "notes.txt"]
    assert sum(len(part) for part in parts.values()) == 33  # 30 + gray + rgba + bigger
    for part in parts.values():
        assert part.images.shape[1:] == (16, 16, 3) and part.images.dtype == np.uint8
    assert parts["train"].class_names == ["blue", "green", "red"]


def test_splits_are_stratified_seeded_and_disjoint(tmp_path):
    root = make_tree(tmp_path / "images", per_class=20)
    first, second = data.load_tree(root, seed=3), data.load_tree(root, seed=3)
    assert [len(first[name]) for name in ("train", "validation", "test")] == [48, 6, 6]
    for name in first:
        np.testing.assert_array_equal(first[name].images, second[name].images)
        assert np.bincount(first[name].labels).min() == np.bincount(first[name].labels).max()
    rows = {part.images[i].tobytes() for part in first.values() for i in range(len(part))}
    assert len(rows) == 60  # no image in two parts


def test_split_layout_tests_on_the_held_out_split_and_validates_from_train(tmp_path):
    root = make_tree(tmp_path / "images", per_class=10, splits=("train", "val"))
    parts = data.load_tree(root, classes=["red", "blue"], seed=0)
    assert len(parts["test"]) == 20 and len(parts["train"]) + len(parts["validation"]) == 20
    assert parts["train"].class_names == ["red", "blue"]  # the order asked for


def test_zip_with_a_wrapping_folder(tmp_path):
    path = make_zip(tmp_path / "images.zip", splits=("train", "test"), fmt="JPEG", wrapper="cifar")
    parts = data.load(str(path), max_per_class=6, seed=0)
    assert len(parts["train"]) + len(parts["validation"]) == 12 and len(parts["test"]) == 20


@pytest.mark.parametrize("setup, message", [
    (lambda root: (make_tree(root), (root / "empty").mkdir()), "empty: class folder has no files"),
    (lambda root: None, "no such directory"),
    (lambda root: root.mkdir(), "no class folders"),
])
def test_tree_mistakes_are_user_errors(tmp_path, setup, message):
    root = tmp_path / "images"
    setup(root)
    with pytest.raises(UserError, match=message):
        data.load_tree(root)


def test_unknown_class_lists_the_real_ones(tmp_path):
    root = make_tree(tmp_path / "images", per_class=2)
    with pytest.raises(UserError, match="--classes cat not found; the classes are blue, green, red"):
        data.load_tree(root, classes=["red", "cat"])


def test_a_class_with_only_bad_files_is_an_error(tmp_path):
    root = make_tree(tmp_path / "images", per_class=3)
    (root / "broken").mkdir()
    for name in ("a.jpg", "b.png", "c.gif"):
        (root / "broken" / name).write_bytes(b"garbage")
    with pytest.raises(UserError, match="class 'broken' has no decodable images"):
        data.load_tree(root)


def test_unknown_data_is_a_user_error():
    with pytest.raises(UserError, match="not one of the tfds sets cifar10, tf_flowers, beans"):
        data.load("no_such_dataset_here")


@pytest.mark.skipif(not (SHARED_DATA / "images").is_dir(), reason="../shared/data/images is not present")
def test_shared_cifar_zip_and_flowers_load():
    cifar = data.load(str(SHARED_DATA / "images/cifar10/cifar10_jpg.zip"), classes=["dog", "automobile", "truck"],
                      max_per_class=30, seed=0)
    assert cifar["train"].images.shape[1:] == (32, 32, 3) and len(cifar["test"]) == 3000
    flowers = data.load(str(SHARED_DATA / "images/tf_flowers"), classes=["daisy", "roses"], max_per_class=20)
    assert flowers["train"].images.shape[1:] == (128, 128, 3) and len(flowers["test"]) == 127 + 129
