"""VGG-style networks with batch normalisation (Simonyan & Zisserman 2015; Ioffe & Szegedy 2015); airbench's
VGG-style network is in `vision/models/airbench.py`."""

import keras
from keras import layers

from vision.models import MODELS
from vision.models.common import batch_norm, classifier_head, regularizer, scaled_input


@MODELS.register("vgg")
def build_vgg(input_shape, num_classes: int, *, l2: float = 5e-4, dropout: float = 0.3,
              widths: tuple[int, ...] = (32, 64, 128), convs_per_block: int = 2) -> keras.Model:
    """Blocks of `convs_per_block` 3x3 conv-BN-ReLU then 2x2 max-pooling, widths doubling; global average
    pooling and a dropout + softmax head (in place of VGG's 4096-wide dense layers, too big for small data)."""
    images, x = scaled_input(input_shape)
    for block, width in enumerate(widths):
        for index in range(convs_per_block):
            x = layers.Conv2D(width, 3, padding="same", use_bias=False, kernel_regularizer=regularizer(l2),
                              name=f"block{block}_conv{index}")(x)
            x = batch_norm(f"block{block}_bn{index}")(x)
            x = layers.ReLU(name=f"block{block}_relu{index}")(x)
        x = layers.MaxPooling2D(name=f"block{block}_pool")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(images, classifier_head(x, num_classes, dropout=dropout, l2=l2), name="vgg")

