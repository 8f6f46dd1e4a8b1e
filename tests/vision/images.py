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
