"""Hostile image inputs ("no silent garbage"): decompression bombs, odd sizes, 16-bit PNGs, tiny classes,
`--max-per-class` semantics, and train_vision.py's answer to each mistake (one line, exit 2, nothing written)."""

import io
import zipfile
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from core.errors import UserError
from tests.conftest import run_script
from tests.vision.images import encode, image, jpeg_bomb, make_tree, make_zip, png_bomb, probe_files
from vision import data


# ------------------------------------------------------------------------------------ training decode
def test_decompression_bombs_are_skipped_counted_and_listed(tmp_path):
    root = make_tree(tmp_path / "images", per_class=6)
    (root / "red" / "bomb.png").write_bytes(png_bomb(20_000, 20_000))  # over Pillow's own error limit
    (root / "green" / "bomb.jpg").write_bytes(jpeg_bomb(60_000, 60_000))
    (root / "blue" / "big.png").write_bytes(png_bomb(8_000, 8_000))  # under Pillow's limit, over the budget
    parts = data.load_tree(root, seed=0)
    skipped = dict((path.rsplit("/", 1)[-1], reason) for path, reason in parts["train"].skipped)
    assert sorted(skipped) == ["big.png", "bomb.jpg", "bomb.png"]
    assert all("decompression bomb" in reason for reason in skipped.values()), skipped
    assert sum(len(part) for part in parts.values()) == 18
    assert parts["train"].images.shape[1:] == (16, 16, 3)


def test_default_size_is_the_most_common_not_the_first_file(tmp_path):
    root = make_tree(tmp_path / "images", per_class=10)
    Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(root / "blue" / "-tiny.png")  # sorts first
    Image.fromarray(image("red", np.random.default_rng(0), size=24)).save(root / "red" / "-big.png")
    parts = data.load_tree(root, seed=0)
    assert all(part.images.shape[1:] == (16, 16, 3) for part in parts.values())
    assert parts["train"].size_note.startswith("16x16: the most common size of the training images")
    explicit = data.load_tree(root, image_size=12, seed=0)
    assert explicit["test"].images.shape[1:] == (12, 12, 3) and "--image-size" in explicit["test"].size_note


def test_a_most_common_size_too_small_for_a_model_asks_for_image_size(tmp_path):
    make_tree(tmp_path / "images", per_class=5, size=4)
    with pytest.raises(UserError, match="most common training image size is 4x4.*pass --image-size"):
        data.load_tree(tmp_path / "images")


def test_training_and_serving_decode_every_format_identically():
    import tensorflow as tf

    from vision import task

    files = probe_files()
    assert Image.open(io.BytesIO(files["gray16.png"])).mode.startswith("I")
    assert Image.open(io.BytesIO(files["palette.png"])).mode == "P"
    serve = tf.function(task.decode_image_bytes)
    for name, blob in files.items():
        trained = data.decode(blob)
        served = serve(tf.constant(blob)).numpy()
        np.testing.assert_array_equal(trained, served, err_msg=name)  # same decoder settings, bit for bit
    gray16 = np.asarray(Image.open(io.BytesIO(files["gray16.png"]))).astype(np.int64)
    np.testing.assert_array_equal(data.decode(files["gray16.png"])[..., 0], gray16 >> 8)  # not saturated
    resize = tf.function(lambda blob: task.resize_like_training(task.decode_image_bytes(blob), 12, 12))
    for name, blob in files.items():  # resizing: Pillow and TensorFlow's antialiased bilinear, within one level
        difference = np.abs(data.decode(blob, (12, 12)).astype(float) - resize(tf.constant(blob)).numpy())
        assert difference.max() <= 1 and difference.mean() < 0.3, name


# ------------------------------------------------------------------------------------ data handling
def test_zip_is_closed_after_loading(tmp_path, monkeypatch):
    opened = []

    class Tracked(zipfile.ZipFile):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            opened.append(self)

    path = make_zip(tmp_path / "images.zip", per_class=6)
    monkeypatch.setattr(data.zipfile, "ZipFile", Tracked)
    data.load_tree(path, seed=0)
    with pytest.raises(UserError):
        data.load_tree(path, classes=["red", "cat"])
    assert len(opened) == 2 and all(archive.fp is None for archive in opened)


def test_the_size_pass_reads_headers_not_whole_files():
    blob = encode(np.random.default_rng(0).integers(0, 256, (512, 384, 3), dtype=np.uint8))  # ~600 KB
    streams = []

    class Counted(io.BytesIO):
        def read(self, size=-1):
            chunk = super().read(size)
            self.consumed = getattr(self, "consumed", 0) + len(chunk)
            return chunk

    def stream():
        streams.append(Counted(blob))
        return streams[-1]

    entries = [data._Entry(None, "red", f"{index}.png", stream) for index in range(3)]
    assert data.common_size(entries)[0] == (512, 384)
    assert len(streams) == 3 and all(s.consumed < 4096 for s in streams), [s.consumed for s in streams]


def test_batch_norm_recalibration_uses_public_layers_and_finds_nested_ones():
    import inspect

    import keras

    from vision import task

    inner = keras.Sequential([keras.layers.Conv2D(2, 3), keras.layers.BatchNormalization()])
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, keras.layers.BatchNormalization()(inner(inputs)))
    import tensorflow as tf

    batches = tf.data.Dataset.from_tensor_slices((np.ones((4, 8, 8, 3), np.float32), np.zeros(4))).batch(2)
    assert task.recalibrate_batch_norm(model, batches, steps=2) == 2
    assert "_flatten_layers" not in inspect.getsource(task)


def _counts(part):
    return np.bincount(part.labels, minlength=len(part.class_names)).tolist()


@pytest.mark.parametrize("splits", [None, ("train", "test")], ids=["flat tree", "split tree"])
def test_max_per_class_caps_training_images_only_in_a_folder(tmp_path, splits):
    root = make_tree(tmp_path / "images", per_class=20, splits=splits)
    whole, capped = data.load_tree(root, seed=0), data.load_tree(root, max_per_class=5, seed=0)
    assert [a + b for a, b in zip(_counts(capped["train"]), _counts(capped["validation"]))] == [5, 5, 5]
    # The test part is never capped: a flat tree's is carved (seeded) before the cap, a split tree's is test/.
    assert _counts(capped["test"]) == ([2, 2, 2] if splits is None else [20, 20, 20])
    np.testing.assert_array_equal(capped["test"].images, whole["test"].images)


def test_max_per_class_caps_training_images_only_in_a_zip_with_splits(tmp_path):
    path = make_zip(tmp_path / "images.zip", per_class=12, splits=("train", "test"))
    parts = data.load(str(path), max_per_class=4, seed=0)
    assert [a + b for a, b in zip(_counts(parts["train"]), _counts(parts["validation"]))] == [4, 4]
    assert _counts(parts["test"]) == [12, 12]


class _FakeBuilder:
    """What `load_tfds` uses of a tfds builder, over PNGs made here (tfds itself needs a download)."""

    def __init__(self, splits: dict):
        self.splits_data, self.data_dir = splits, "fake"
        self.info = SimpleNamespace(features={"label": SimpleNamespace(names=["red", "green"])},
                                    splits={name: None for name in splits})

    def is_prepared(self):
        return True

    def as_dataset(self, split, as_supervised=True, decoders=None):
        import tensorflow as tf

        blobs, labels = self.splits_data[split]
        if decoders is None:  # tfds' own decoding
            return tf.data.Dataset.from_tensor_slices((np.stack([data.decode(b) for b in blobs]), labels))
        return tf.data.Dataset.from_tensor_slices((np.array(blobs, dtype=object), labels))


def test_max_per_class_caps_training_images_only_in_tfds(monkeypatch):
    tfds = pytest.importorskip("tensorflow_datasets")
    rng = np.random.default_rng(0)

    def split(per_class):
        labels = np.repeat([0, 1], per_class)
        return [encode(image(("red", "green")[label], rng)) for label in labels], labels

    monkeypatch.setattr(tfds, "builder", lambda name, data_dir=None: _FakeBuilder({"train": split(10),
                                                                                 "test": split(8)}))
    parts = data.load("cifar10", max_per_class=3, seed=0)
    assert [a + b for a, b in zip(_counts(parts["train"]), _counts(parts["validation"]))] == [3, 3]
    assert _counts(parts["test"]) == [8, 8]


@pytest.mark.parametrize("splits", [None, ("train", "test")])
def test_a_class_with_one_image_is_a_clear_error_naming_it(tmp_path, splits):
    root = make_tree(tmp_path / "images", per_class=6, classes=("red", "green"), splits=splits)
    make_tree(root / "train" if splits else root, per_class=1, classes=("blue",))
    if splits:
        make_tree(root / "test", per_class=2, classes=("blue",))
    with pytest.raises(UserError, match="class 'blue' has 1 image"):
        data.load_tree(root, seed=0)


def test_fewer_than_two_classes_is_a_clear_error(tmp_path):
    make_tree(tmp_path / "images", per_class=6, classes=("red",))
    with pytest.raises(UserError, match="found 1 class .red.; a classifier needs at least two class folders"):
        data.load_tree(tmp_path / "images")


# ------------------------------------------------------------------------------------ the script
def _one_class_image(root, name, blob, count=3):
    (root / name).mkdir(parents=True, exist_ok=True)
    for index in range(count):
        (root / name / f"{index}.png").write_bytes(blob)


HOSTILE = {
    "only bombs in a class": (lambda root: (make_tree(root), _one_class_image(root, "bombs", png_bomb(20_000, 20_000))),
                              [], "class 'bombs' has no decodable images"),
    "one image in a class": (lambda root: (make_tree(root, classes=("red", "green")),
                                            make_tree(root, per_class=1, classes=("blue",))),
                             [], "class 'blue' has 1 image"),
    "one class": (lambda root: make_tree(root, classes=("red",)), [], "a classifier needs at least two class"),
    "tiny images": (lambda root: make_tree(root, size=2), [], "most common training image size is 2x2"),
    "not a zip": (lambda root: root.with_suffix(".zip").write_bytes(b"PK\x03\x04 garbage"), ["zip"],
                  "not a readable zip file"),
    "nested name": (lambda root: make_tree(root), ["--name", "a/b"], "--name 'a/b'"),
    "image size flag": (lambda root: make_tree(root), ["--image-size", "4"], "--image-size must be in 8..1024"),
    "max per class flag": (lambda root: make_tree(root), ["--max-per-class", "1"], "--max-per-class must be"),
    "missing data": (lambda root: None, [], "no such directory or zip file"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_train_vision_answers_hostile_input_with_one_line_and_writes_nothing(case, tmp_path, monkeypatch, capsys):
    make, extra, message = HOSTILE[case]
    root = tmp_path / "data" / "images"
    root.parent.mkdir()
    make(root)
    target = str(root.with_suffix(".zip")) if extra[:1] == ["zip"] else str(root)
    extra = extra[1:] if extra[:1] == ["zip"] else extra
    monkeypatch.chdir(tmp_path)  # the default output folders are relative
    code, _, err = run_script("train_vision", ["--data", target, "--epochs", "1", *extra], capsys)
    assert code == 2 and message in err, err[-2000:]
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err[-2000:]  # one line
    if case not in ("nested name", "image size flag", "max per class flag"):  # flags name themselves
        assert target in err
    assert not any((tmp_path / name).exists() for name in ("saved_models", "reports", "runs"))
