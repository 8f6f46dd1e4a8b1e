"""Image trees the vision tests make: each class a distinct colour plus noise, so a model can learn it."""

import io
from pathlib import Path

import numpy as np
from PIL import Image

COLOURS = {"red": (200, 40, 40), "green": (40, 200, 40), "blue": (40, 40, 200)}


def image(class_name: str, rng, size: int = 16) -> np.ndarray:
    noise = rng.integers(-40, 40, size=(size, size, 3))
    return np.clip(np.array(COLOURS[class_name]) + noise, 0, 255).astype(np.uint8)


def encode(array: np.ndarray, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt)
    return buffer.getvalue()


def make_tree(root: Path, per_class: int = 20, size: int = 16, classes=tuple(COLOURS), seed: int = 0,
              splits: tuple[str, ...] | None = None) -> Path:
    """`root/<class>/<n>.png` (or `root/<split>/<class>/<n>.png` for each of `splits`)."""
    rng = np.random.default_rng(seed)
    for split in splits or (None,):
        for class_name in classes:
            folder = root / split / class_name if split else root / class_name
            folder.mkdir(parents=True, exist_ok=True)
            for index in range(per_class):
                (folder / f"{index}.png").write_bytes(encode(image(class_name, rng, size)))
    return root
