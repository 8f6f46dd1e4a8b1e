"""Labelled images in, validated and decoded once: a class-per-folder tree, a zip of one, or a tfds name.

    parts = load("flowers/", classes=["daisy", "roses", "tulips"], seed=0)    # {"train", "validation", "test"}
    parts = load("cifar10_jpg.zip", max_per_class=500, seed=0)
    parts = load("cifar10", data_dir="~/tensorflow_datasets", seed=0)        # tfds, downloads when online

A tree is either `<class>/<image>` (split here, seeded and stratified, into train/validation/test) or
`<split>/<class>/<image>` with a `train` split and a held-out `test` (or, when there is no `test`, `val`/
`validation`) split; validation is always carved from train, never from the held-out split.

Why not `keras.utils.image_dataset_from_directory`: it decodes inside tf.data, so one corrupt JPEG stops
training mid-epoch with a TensorFlow error, and it decodes every image again every epoch. Here each file is
decoded once with Pillow (grayscale, palette and RGBA converted to RGB, resized to one size); files that are
not decodable images are skipped, counted and listed in the result (and the report). The images of these
benchmark sets (CIFAR-10: 60,000 x 32 x 32; tf_flowers: 3,670 x 128 x 128) fit in memory as uint8.
"""

import dataclasses
import io
import logging
import socket
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError
from sklearn.model_selection import train_test_split

from core.errors import UserError

log = logging.getLogger(__name__)

TFDS_NAMES = ("cifar10", "tf_flowers", "beans")
HELD_OUT_SPLITS = ("test", "val", "validation")  # the first present is the test part


@dataclasses.dataclass
class ImageData:
    """uint8 images [N, H, W, 3] with integer labels 0..C-1 and the class names they index."""

    images: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    source: str
    skipped: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (file, reason)

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, indices) -> "ImageData":
        return ImageData(self.images[indices], self.labels[indices], self.class_names, self.source)


# ----------------------------------------------------------------------------------------- file trees
@dataclasses.dataclass
class _Entry:
    split: str | None
    class_name: str
    path: str  # shown in messages
    read: object  # () -> bytes


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
            entries += [_Entry(split, class_dir.name, str(p), p.read_bytes) for p in files]
    return entries


def _zip_entries(path: Path) -> list[_Entry]:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise UserError(f"{path}: not a readable zip file") from None
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
            entries.append(_Entry(p[0], p[1], f"{path}:{name}", lambda name=name: archive.read(name)))
        elif not split_layout and len(p) >= 2:
            entries.append(_Entry(None, p[-2], f"{path}:{name}", lambda name=name: archive.read(name)))
    if not entries:
        raise UserError(f"{path}: no images in <class>/<image> or <split>/<class>/<image> layout")
    return entries


def _decode(entry: _Entry, size: tuple[int, int] | None) -> np.ndarray | str:
    """uint8 [H, W, 3], or the reason the file is not a usable image."""
    try:
        with Image.open(io.BytesIO(entry.read())) as image:
            image = image.convert("RGB")  # grayscale, palette, RGBA, CMYK -> RGB
            if size is not None and image.size != (size[1], size[0]):
                image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            return np.asarray(image, dtype=np.uint8)
    except UnidentifiedImageError:
        return "not an image Pillow can identify"
    except (OSError, ValueError, SyntaxError) as error:  # truncated or corrupt data
        return f"undecodable ({error})"


def _select_classes(entries: list[_Entry], classes: list[str] | None, source) -> list[str]:
    available = sorted({entry.class_name for entry in entries})
    if not classes:
        return available
    unknown = [name for name in classes if name not in available]
    if unknown:
        raise UserError(f"{source}: --classes {', '.join(unknown)} not found; the classes are {', '.join(available)}")
    if len(set(classes)) < 2:
        raise UserError(f"--classes needs at least two different classes, got {classes}")
    return list(dict.fromkeys(classes))


def _decode_all(entries: list[_Entry], class_names: list[str], size, source, max_per_class, seed) -> ImageData:
    rng = np.random.default_rng(seed)
    chosen = []
    for index, name in enumerate(class_names):
        files = [entry for entry in entries if entry.class_name == name]
        if max_per_class and len(files) > max_per_class:
            files = [files[i] for i in sorted(rng.choice(len(files), max_per_class, replace=False))]
        chosen += [(entry, index) for entry in files]
    images, labels, skipped = [], [], []
    for entry, label in chosen:
        decoded = _decode(entry, size)
        if isinstance(decoded, str):
            skipped.append((entry.path, decoded))
            continue
        if size is None:
            size = decoded.shape[:2]
        images.append(decoded)
        labels.append(label)
    labels = np.array(labels, dtype=np.int64)
    for index, name in enumerate(class_names):
        if not np.any(labels == index):
            raise UserError(f"{source}: class {name!r} has no decodable images")
    if skipped:
        log.warning("skipped %d file(s) that are not decodable images, e.g. %s (%s)", len(skipped), *skipped[0])
    return ImageData(np.stack(images), labels, class_names, str(source), skipped)


def stratified_split(data: ImageData, fraction: float, seed: int) -> tuple[ImageData, ImageData]:
    """(rest, part) with `fraction` of each class in `part`, seeded."""
    indices = np.arange(len(data))
    rest, part = train_test_split(indices, test_size=fraction, random_state=seed, stratify=data.labels)
    return data.subset(np.sort(rest)), data.subset(np.sort(part))


def load_tree(source, *, classes=None, image_size=None, max_per_class=None, validation_fraction=0.1,
              test_fraction=0.1, seed=0) -> dict[str, ImageData]:
    """A folder or zip of labelled images -> {"train", "validation", "test"} (see the module docstring)."""
    source = Path(source)
    if not source.exists():
        raise UserError(f"{source}: no such directory or zip file")
    entries = _zip_entries(source) if source.is_file() else _directory_entries(source)
    class_names = _select_classes(entries, classes, source)
    size = (image_size, image_size) if image_size else None
    splits = {entry.split for entry in entries}
    held_out = next((name for name in HELD_OUT_SPLITS if name in splits), None)
    if "train" in splits and held_out:
        train = _decode_all([e for e in entries if e.split == "train"], class_names, size, f"{source}/train",
                            max_per_class, seed)
        size = train.images.shape[1:3]  # the held-out split is resized to the training size
        test = _decode_all([e for e in entries if e.split == held_out], class_names, size,
                           f"{source}/{held_out}", None, seed)
        skipped = train.skipped + test.skipped
    else:
        if "train" in splits:
            entries = [e for e in entries if e.split == "train"]
        whole = _decode_all(entries, class_names, size, source, max_per_class, seed)
        train, test = stratified_split(whole, test_fraction, seed)
        skipped = whole.skipped
    train, validation = stratified_split(train, validation_fraction, seed + 1)
    parts = {"train": train, "validation": validation, "test": test}
    for part in parts.values():
        part.source, part.skipped = str(source), skipped
    return parts


# ---------------------------------------------------------------------------------------------- tfds
def _online(host: str = "storage.googleapis.com", timeout: float = 3.0) -> bool:
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def load_tfds(name: str, *, data_dir=None, classes=None, image_size=None, max_per_class=None,
              validation_fraction=0.1, test_fraction=0.1, seed=0) -> dict[str, ImageData]:
    """A tfds image-classification set; downloaded (tfds verifies its checksums) only when not present."""
    import tensorflow_datasets as tfds

    builder = tfds.builder(name, data_dir=data_dir)
    if not builder.is_prepared():
        if not _online():
            raise UserError(f"tfds {name!r} is not in {builder.data_dir} and the network is unreachable; "
                            "download it once online, or pass --data DIR|ZIP with class-per-folder images")
        builder.download_and_prepare()
    class_names_all = builder.info.features["label"].names
    class_names = classes or class_names_all
    unknown = [c for c in class_names if c not in class_names_all]
    if unknown:
        raise UserError(f"tfds {name}: --classes {', '.join(unknown)} not found; the classes are "
                        f"{', '.join(class_names_all)}")

    def split_data(split):
        images, labels = [], []
        for image, label in tfds.as_numpy(builder.as_dataset(split=split, as_supervised=True)):
            label_name = class_names_all[label]
            if label_name in class_names:
                if image_size and image.shape[:2] != (image_size, image_size):
                    image = np.asarray(Image.fromarray(image).convert("RGB").resize((image_size, image_size)))
                images.append(image)
                labels.append(class_names.index(label_name))
        data = ImageData(np.stack(images), np.array(labels), list(class_names), f"tfds:{name}/{split}")
        if max_per_class:
            rng = np.random.default_rng(seed)
            keep = np.concatenate([rng.permutation(np.flatnonzero(data.labels == c))[:max_per_class]
                                   for c in range(len(class_names))])
            data = data.subset(np.sort(keep))
        return data

    splits = builder.info.splits
    if "test" in splits:
        train, test = split_data("train"), split_data("test")
    else:
        train, test = stratified_split(split_data("train"), test_fraction, seed)
    train, validation = stratified_split(train, validation_fraction, seed + 1)
    return {"train": train, "validation": validation, "test": test}


def load(data: str, **options) -> dict[str, ImageData]:
    """Dispatches to `load_tree` (existing folder or zip) or `load_tfds` (a known tfds name)."""
    if Path(data).exists():
        options.pop("data_dir", None)
        return load_tree(data, **options)
    if data in TFDS_NAMES:
        return load_tfds(data, **options)
    raise UserError(f"--data {data!r}: no such directory or zip file, and not one of the tfds sets "
                    f"{', '.join(TFDS_NAMES)}")


def load_for(config) -> dict[str, ImageData]:
    """`load` with a `VisionConfig`'s data options (no TensorFlow needed: scripts check data before importing it)."""
    return load(config.data, data_dir=config.tfds_dir, classes=config.class_list, image_size=config.image_size,
                max_per_class=config.max_per_class, validation_fraction=config.validation_fraction,
                test_fraction=config.test_fraction, seed=config.seed)
