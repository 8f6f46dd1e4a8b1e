"""Labelled images in, validated and decoded once: a class-per-folder tree, a zip of one, or a tfds name.

    parts = load("flowers/", classes=["daisy", "roses", "tulips"], seed=0)    # {"train", "validation", "test"}
    parts = load("cifar10_jpg.zip", max_per_class=500, seed=0)
    parts = load("cifar10", data_dir="~/tensorflow_datasets", seed=0)        # tfds, downloads when online

A tree is either `<class>/<image>` (split here, seeded and stratified, into train/validation/test) or
`<split>/<class>/<image>` with a `train` split and a held-out `test` (or, when there is no `test`, `val`/
`validation`) split; validation is always carved from train, never from the held-out split.
`max_per_class` caps the training images per class (validation is carved from them), for every kind of
source; the test part is never capped.

Why not `keras.utils.image_dataset_from_directory`: it decodes inside tf.data, so one corrupt JPEG stops
training mid-epoch with a TensorFlow error, and it decodes every image again every epoch. Here each file is
decoded once with Pillow (grayscale, palette and RGBA converted to RGB, 16-bit PNGs to their high byte,
resized to one size); files that are not decodable images, and files whose header declares more than
`MAX_IMAGE_PIXELS` pixels (decompression bombs), are skipped, counted and listed in the result (and the
report). The images of these benchmark sets (CIFAR-10: 60,000 x 32 x 32; tf_flowers: 3,670 x 128 x 128) fit
in memory as uint8.

Training and serving decode alike: the export's `serving_bytes` signature (vision/task.py) decodes JPEG with
libjpeg's accurate integer DCT (Pillow's default), PNG's 16 bits to the high byte, and resizes with
antialiased bilinear interpolation (Pillow's BILINEAR), rejecting the same pixel budget from the header.
"""

import collections
import contextlib
import dataclasses
import functools
import io
import logging
import math
import socket
import warnings
import zipfile
from pathlib import Path
from typing import BinaryIO, Callable

import numpy as np
from PIL import Image, UnidentifiedImageError
from sklearn.model_selection import train_test_split

from core.errors import UserError

log = logging.getLogger(__name__)

TFDS_NAMES = ("cifar10", "tf_flowers", "beans")
HELD_OUT_SPLITS = ("test", "val", "validation")  # the first present is the test part
# Pixel budget per image, read from the header before any pixel is decoded, in training and in serving
# (vision/task.py). 50 megapixels is above any camera photo and costs at most 150 MB as uint8 RGB. Pillow's own
# guard (Image.MAX_IMAGE_PIXELS, 179 megapixels, an error only above twice that) lets a 1 GB RGB image through.
MAX_IMAGE_PIXELS = 50_000_000
MIN_IMAGE_SIDE = 8  # the smallest side the models accept (--image-size's lower bound)


@dataclasses.dataclass
class ImageData:
    """uint8 images [N, H, W, 3] with integer labels 0..C-1 and the class names they index."""

    images: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    source: str
    skipped: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (file, reason)
    size_note: str = ""  # how the image size was chosen (for the report)

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, indices) -> "ImageData":
        return dataclasses.replace(self, images=self.images[indices], labels=self.labels[indices])


# ----------------------------------------------------------------------------------------- decoding
class _Unusable(Exception):
    """A file that is not a usable image; the message is the reason listed in the report."""


def open_image(source: bytes | BinaryIO) -> Image.Image:
    """Pillow's lazy open (reads the header only) of encoded bytes or a binary file, with the pixel budget
    checked before any pixel is decoded."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
    except UnidentifiedImageError:
        raise _Unusable("not an image Pillow can identify") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise _Unusable(f"decompression bomb ({error})") from None
    except (OSError, ValueError, SyntaxError) as error:  # a corrupt header
        raise _Unusable(f"undecodable ({error})") from None
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS:
        image.close()
        raise _Unusable(f"decompression bomb: the header declares {width}x{height} pixels, more than the budget "
                        f"of {MAX_IMAGE_PIXELS}")
    return image


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB as TensorFlow's decoders give it: grayscale, palette, RGBA, CMYK converted; alpha dropped."""
    if image.mode.startswith("I;16") or image.mode == "I":
        # 16-bit grayscale (a PNG opens as I;16 or I): Pillow's convert("RGB") clips every value above 255, so
        # an ordinary 16-bit photo becomes near white. Keep the high byte, as libpng (TensorFlow) does.
        high = np.clip(np.asarray(image).astype(np.int64) >> 8, 0, 255).astype(np.uint8)
        return Image.fromarray(high, "L").convert("RGB")
    return image.convert("RGB")  # 16-bit RGB(A) PNGs already open as 8-bit high bytes


def resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Antialiased bilinear to (height, width); serving uses the same (tf.image.resize(antialias=True))."""
    if image.size == (size[1], size[0]):
        return image
    return image.resize((size[1], size[0]), Image.Resampling.BILINEAR)


def decode(blob: bytes, size: tuple[int, int] | None = None) -> np.ndarray:
    """uint8 [H, W, 3] of encoded image bytes (resized to `size` = (height, width) when given); raises
    `_Unusable` with the reason when the bytes are not a usable image."""
    try:
        with open_image(blob) as image:
            rgb = to_rgb(image)
            return np.asarray(resize(rgb, size) if size is not None else rgb, dtype=np.uint8)
    except Image.DecompressionBombError as error:  # Pillow's own check, should a plugin make it while loading
        raise _Unusable(f"decompression bomb ({error})") from None
    except (OSError, ValueError, SyntaxError, EOFError) as error:  # truncated or corrupt data
        raise _Unusable(f"undecodable ({error})") from None


def _header_size(entry) -> tuple[int, int] | None:
    """(height, width) from the header only (the start of the file is read, not the whole), or None when the
    file is not a usable image."""
    try:
        with entry.open() as file, open_image(file) as image:
            return image.size[1], image.size[0]
    except _Unusable:
        return None


def common_size(entries, source="") -> tuple[tuple[int, int], str]:
    """The most common (height, width) among the files' headers (ties: the larger), and a note saying so."""
    counts = collections.Counter(size for size in map(_header_size, entries) if size is not None)
    if not counts:
        return None, ""
    size, count = max(counts.items(), key=lambda item: (item[1], item[0][0] * item[0][1], item[0]))
    note = (f"{size[0]}x{size[1]}: the most common size of the training images ({count} of "
            f"{sum(counts.values())}; set it with --image-size)")
    if min(size) < MIN_IMAGE_SIDE:
        raise UserError(f"{source}: the most common training image size is {size[0]}x{size[1]}, smaller than "
                        f"{MIN_IMAGE_SIDE} pixels a side; pass --image-size N")
    return size, note


# ----------------------------------------------------------------------------------------- file trees
@dataclasses.dataclass
class _Entry:
    split: str | None
    class_name: str
    path: str  # shown in messages
    open: Callable[[], BinaryIO]  # the file as a stream: a header needs only its start

    def read(self) -> bytes:
        with self.open() as file:
            return file.read()


def _directory_entries(root: Path) -> list[_Entry]:
    children = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not children:
        raise UserError(f"{root}: no class folders (expected <class>/<image> or <split>/<class>/<image>)")
    split_layout = any(child.name == "train" for child in children)
    entries = []
    for top in children:
        class_dirs = ([(top.name, d) for d in sorted(top.iterdir()) if d.is_dir() and not d.name.startswith(".")]
                      if split_layout else [(None, top)])
        if split_layout and not class_dirs:
            raise UserError(f"{top}: split folder has no class folders")
        for split, class_dir in class_dirs:
            files = sorted(p for p in class_dir.rglob("*") if p.is_file() and not p.name.startswith("."))
            if not files:
                raise UserError(f"{class_dir}: class folder has no files")
            entries += [_Entry(split, class_dir.name, str(p), functools.partial(p.open, "rb")) for p in files]
    return entries


def _zip_entries(path: Path, archive: zipfile.ZipFile) -> list[_Entry]:
    names = [n for n in archive.namelist() if not n.endswith("/") and not Path(n).name.startswith(".")
             and "__MACOSX" not in n]
    parts = [n.split("/") for n in names]
    if (parts and len({p[0] for p in parts}) == 1 and all(len(p) >= 3 for p in parts)
            and parts[0][0] not in ("train", *HELD_OUT_SPLITS)):
        parts = [p[1:] for p in parts]  # one wrapping folder: <top>/<class>/<image> or <top>/<split>/...
    split_layout = any(p[0] == "train" and len(p) >= 3 for p in parts)
    entries = []
    for name, p in zip(names, parts):
        if split_layout and len(p) >= 3:
            entries.append(_Entry(p[0], p[1], f"{path}:{name}", lambda name=name: archive.open(name)))
        elif not split_layout and len(p) >= 2:
            entries.append(_Entry(None, p[-2], f"{path}:{name}", lambda name=name: archive.open(name)))
    if not entries:
        raise UserError(f"{path}: no images in <class>/<image> or <split>/<class>/<image> layout")
    return entries


@contextlib.contextmanager
def _tree_entries(source: Path):
    """The entries of a folder or zip; a zip stays open (and is closed) around the decoding."""
    if source.is_dir():
        yield _directory_entries(source)
        return
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as error:
        raise UserError(f"{source}: not a readable zip file ({error})") from None
    with archive:
        yield _zip_entries(source, archive)


def _select_classes(entries: list[_Entry], classes: list[str] | None, source) -> list[str]:
    available = sorted({entry.class_name for entry in entries})
    if not classes:
        if len(available) < 2:
            raise UserError(f"{source}: found {len(available)} class ({', '.join(available) or 'none'}); "
                            "a classifier needs at least two class folders")
        return available
    unknown = [name for name in classes if name not in available]
    if unknown:
        raise UserError(f"{source}: --classes {', '.join(unknown)} not found; the classes are {', '.join(available)}")
    if len(set(classes)) < 2:
        raise UserError(f"--classes needs at least two different classes, got {classes}")
    return list(dict.fromkeys(classes))


def _split_indices(labels: np.ndarray, class_names, fraction: float, seed: int, what: str, source):
    """(rest, part) index arrays, `fraction` of each class in `part` (at least one per class), seeded; a
    UserError naming the class when one has too few images to be in both."""
    counts = np.bincount(labels, minlength=len(class_names))
    for index in np.flatnonzero(counts < 2):
        raise UserError(f"{source}: class {class_names[index]!r} has {counts[index]} image(s) for {what}; "
                        "each class needs at least 2 there (add images, or leave the class out with --classes)")
    size = max(math.ceil(fraction * len(labels)), len(class_names))
    if len(labels) - size < len(class_names):
        raise UserError(f"{source}: {len(labels)} images of {len(class_names)} classes are too few for "
                        f"{what}; add images")
    rest, part = train_test_split(np.arange(len(labels)), test_size=size, random_state=seed, stratify=labels)
    return np.sort(rest), np.sort(part)


def stratified_split(data: ImageData, fraction: float, seed: int, what: str = "a split") -> tuple[ImageData, ImageData]:
    """(rest, part) with `fraction` of each class in `part`, seeded."""
    rest, part = _split_indices(data.labels, data.class_names, fraction, seed, what, data.source)
    return data.subset(rest), data.subset(part)


def _cap(items: list, labels: list[int], max_per_class: int | None, seed: int) -> list:
    """At most `max_per_class` items of each label, a seeded sample, in their original order."""
    if not max_per_class:
        return items
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    keep = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:max_per_class] for c in np.unique(labels)])
    return [items[i] for i in np.sort(keep)]


def _decode_all(entries: list[_Entry], class_names: list[str], size, source) -> ImageData:
    images, labels, skipped = [], [], []
    for entry in entries:
        try:
            images.append(decode(entry.read(), size))
        except _Unusable as reason:
            skipped.append((entry.path, str(reason)))
            continue
        labels.append(class_names.index(entry.class_name))
    labels = np.array(labels, dtype=np.int64)
    for index, name in enumerate(class_names):
        if not np.any(labels == index):
            raise UserError(f"{source}: class {name!r} has no decodable images")
    if skipped:
        log.warning("skipped %d file(s) that are not usable images, e.g. %s (%s)", len(skipped), *skipped[0])
    return ImageData(np.stack(images), labels, class_names, str(source), skipped)


def _load_entries(entries: list[_Entry], source, *, classes, image_size, max_per_class, validation_fraction,
                  test_fraction, seed) -> dict[str, ImageData]:
    """The parts of `entries`: held-out split or a stratified test part, the training images capped per class,
    decoded at `image_size` (default: their most common size), validation carved from the training images."""
    class_names = _select_classes(entries, classes, source)
    entries = [entry for entry in entries if entry.class_name in class_names]
    splits = {entry.split for entry in entries}
    held_out = next((name for name in HELD_OUT_SPLITS if name in splits), None)
    if "train" in splits and held_out:
        train = [e for e in entries if e.split == "train"]
        test = [e for e in entries if e.split == held_out]
        sources = (f"{source}/train", f"{source}/{held_out}")
    else:
        if "train" in splits:
            entries = [e for e in entries if e.split == "train"]
        labels = np.array([class_names.index(e.class_name) for e in entries])
        rest, part = _split_indices(labels, class_names, test_fraction, seed, "a test part", source)
        train, test = [entries[i] for i in rest], [entries[i] for i in part]
        sources = (source, source)
    for name in class_names:
        if not any(e.class_name == name for e in train):
            raise UserError(f"{sources[0]}: class {name!r} has no training images")
    train = _cap(train, [class_names.index(e.class_name) for e in train], max_per_class, seed)
    if image_size:
        size, note = (image_size, image_size), f"{image_size}x{image_size} (--image-size)"
    else:
        size, note = common_size(train, sources[0])
    train = _decode_all(train, class_names, size, sources[0])
    test = _decode_all(test, class_names, size, sources[1])  # resized to the training size
    skipped = train.skipped + test.skipped
    train, validation = stratified_split(train, validation_fraction, seed + 1, "validation")
    parts = {"train": train, "validation": validation, "test": test}
    for part in parts.values():
        part.source, part.skipped, part.size_note = str(source), skipped, note
    log.info("images: %s", note)
    return parts


def load_tree(source, *, classes=None, image_size=None, max_per_class=None, validation_fraction=0.1,
              test_fraction=0.1, seed=0) -> dict[str, ImageData]:
    """A folder or zip of labelled images -> {"train", "validation", "test"} (see the module docstring)."""
    source = Path(source)
    if not source.exists():
        raise UserError(f"{source}: no such directory or zip file")
    with _tree_entries(source) as entries:
        return _load_entries(entries, source, classes=classes, image_size=image_size, max_per_class=max_per_class,
                             validation_fraction=validation_fraction, test_fraction=test_fraction, seed=seed)


# ---------------------------------------------------------------------------------------------- tfds
def _online(host: str = "storage.googleapis.com", timeout: float = 3.0) -> bool:
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def load_tfds(name: str, *, data_dir=None, classes=None, image_size=None, max_per_class=None,
              validation_fraction=0.1, test_fraction=0.1, seed=0) -> dict[str, ImageData]:
    """A tfds image-classification set; downloaded (tfds verifies its checksums) only when not present.

    The encoded images are read as stored (`tfds.decode.SkipDecoding`) and decoded here like a folder's files,
    so training decodes exactly as the served model does."""
    import tensorflow_datasets as tfds

    builder = tfds.builder(name, data_dir=data_dir)
    if not builder.is_prepared():
        if not _online():
            raise UserError(f"tfds {name!r} is not in {builder.data_dir} and the network is unreachable; "
                            "download it once online, or pass --data DIR|ZIP with class-per-folder images")
        builder.download_and_prepare()
    class_names_all = builder.info.features["label"].names
    unknown = [c for c in (classes or []) if c not in class_names_all]
    if unknown:
        raise UserError(f"tfds {name}: --classes {', '.join(unknown)} not found; the classes are "
                        f"{', '.join(class_names_all)}")
    wanted = set(classes or class_names_all)
    splits = ["train", "test"] if "test" in builder.info.splits else ["train"]
    entries = []
    for split in splits:
        dataset = builder.as_dataset(split=split, as_supervised=True, decoders={"image": tfds.decode.SkipDecoding()})
        for index, (encoded, label) in enumerate(tfds.as_numpy(dataset)):
            if class_names_all[label] in wanted:
                entries.append(_Entry(split, class_names_all[label], f"tfds:{name}/{split}[{index}]",
                                      lambda encoded=encoded: io.BytesIO(encoded)))
    return _load_entries(entries, f"tfds:{name}", classes=classes or list(class_names_all), image_size=image_size,
                         max_per_class=max_per_class, validation_fraction=validation_fraction,
                         test_fraction=test_fraction, seed=seed)


def load(data: str, **options) -> dict[str, ImageData]:
    """Dispatches to `load_tree` (existing folder or zip) or `load_tfds` (a known tfds name)."""
    if Path(data).exists():
        options.pop("data_dir", None)
        return load_tree(data, **options)
    if data in TFDS_NAMES:
        return load_tfds(data, **options)
    raise UserError(f"--data {data!r}: no such directory or zip file, and not one of the tfds sets "
                    f"{', '.join(TFDS_NAMES)}")


def load_options(config) -> dict:
    """The `load` arguments a `VisionConfig` sets: equal options, equal parts."""
    return {"data": config.data, "data_dir": config.tfds_dir, "classes": config.class_list,
            "image_size": config.image_size, "max_per_class": config.max_per_class,
            "validation_fraction": config.validation_fraction, "test_fraction": config.test_fraction,
            "seed": config.seed}


def load_for(config) -> dict[str, ImageData]:
    """`load` with a `VisionConfig`'s data options (no TensorFlow needed: scripts check data before importing it)."""
    return load(**load_options(config))
