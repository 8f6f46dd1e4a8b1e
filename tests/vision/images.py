"""Image trees the vision tests make: each class a distinct colour plus noise, so a model can learn it."""

import io
import zipfile
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


def _files(per_class: int, size: int, classes, seed: int, splits, fmt: str):
    """(`[<split>/]<class>/<n>.<ext>`, encoded image) for each file of a tree, in a seeded order."""
    rng = np.random.default_rng(seed)
    ext = {"JPEG": "jpg"}.get(fmt, fmt.lower())
    for split in splits or (None,):
        for class_name in classes:
            folder = f"{split}/{class_name}" if split else class_name
            for index in range(per_class):
                yield f"{folder}/{index}.{ext}", encode(image(class_name, rng, size), fmt)


def make_tree(root: Path, per_class: int = 20, size: int = 16, classes=tuple(COLOURS), seed: int = 0,
              splits: tuple[str, ...] | None = None) -> Path:
    """`root/<class>/<n>.png` (or `root/<split>/<class>/<n>.png` for each of `splits`)."""
    for name, blob in _files(per_class, size, classes, seed, splits, "PNG"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(blob)
    return root


def make_zip(path: Path, per_class: int = 10, size: int = 16, classes=("red", "green"), seed: int = 0,
             splits: tuple[str, ...] | None = None, fmt: str = "PNG", wrapper: str | None = None) -> Path:
    """A zip of `make_tree`'s layout (inside one `wrapper/` folder when given)."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, blob in _files(per_class, size, classes, seed, splits, fmt):
            archive.writestr(f"{wrapper}/{name}" if wrapper else name, blob)
    return path


def probe_files() -> dict[str, bytes]:
    """16 x 16 images in the formats and modes training and serving must decode alike, encoded by Pillow or
    TensorFlow."""
    import tensorflow as tf

    rng = np.random.default_rng(7)
    rgb = image("red", rng)
    gray16 = rng.integers(0, 65536, (16, 16)).astype(np.uint16)  # a typical 16-bit photo: mostly > 255
    rgb16 = rng.integers(0, 65536, (16, 16, 3)).astype(np.uint16)
    rgba = np.dstack([rgb, rng.integers(0, 256, (16, 16), dtype=np.uint8)])
    palette = io.BytesIO()  # with a transparent entry
    Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=12).save(palette, "PNG", transparency=2)
    return {
        "rgb.jpg": encode(rgb, "JPEG"),
        "rgb.png": encode(rgb, "PNG"),
        "gray.jpg": encode(rgb[..., 0], "JPEG"),
        "gray.png": encode(rgb[..., 0], "PNG"),
        "gray16.png": encode(gray16, "PNG"),  # Pillow writes mode I;16
        "rgb16.png": tf.io.encode_png(rgb16).numpy(),  # Pillow cannot write 16-bit RGB
        "palette.png": palette.getvalue(),
        "rgba.png": encode(rgba, "PNG"),
        "rgb.bmp": encode(rgb, "BMP"),
    }


def png_bomb(width: int = 20_000, height: int = 20_000) -> bytes:
    """A valid 1-bit grayscale PNG of `width` x `height` black pixels in a few tens of KB (20000 x 20000:
    48 KB, 1.2 GB as RGB). Written chunk by chunk with zlib: Pillow would need the whole image in memory."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    compressor = zlib.compressobj(9)
    row = b"\0" * (1 + (width + 7) // 8)  # filter byte + packed bits
    pixels = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))


def jpeg_bomb(width: int = 60_000, height: int = 60_000) -> bytes:
    """A small JPEG whose frame header (SOF0) declares `width` x `height` pixels."""
    blob = bytearray(encode(np.zeros((8, 8, 3), np.uint8), "JPEG"))
    sof = blob.index(b"\xff\xc0")
    blob[sof + 5:sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(blob)
