"""CIFAR-style residual networks (He et al. 2016, section 4.2): 3 stages of 16/32/64 filters, depth 6n+2
with basic blocks (ResNet-20: n=3, ResNet-56: n=9) or 9n+2 with bottleneck blocks."""

import keras
from keras import layers

from vision.models import MODELS
from vision.models.common import batch_norm, classifier_head, regularizer, scaled_input


def _conv_bn(x, filters, kernel, strides, l2, name, relu=True):
    x = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False,
                      kernel_initializer="he_normal", kernel_regularizer=regularizer(l2), name=f"{name}_conv")(x)
    x = batch_norm(f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x) if relu else x


def _shortcut(x, filters, strides, l2, name):
    if strides == 1 and x.shape[-1] == filters:
        return x
    return _conv_bn(x, filters, 1, strides, l2, f"{name}_shortcut", relu=False)  # projection (option B)


def _basic_block(x, filters, strides, l2, name):
    shortcut = _shortcut(x, filters, strides, l2, name)
    y = _conv_bn(x, filters, 3, strides, l2, f"{name}_a")
    y = _conv_bn(y, filters, 3, 1, l2, f"{name}_b", relu=False)
    return layers.ReLU(name=f"{name}_out")(layers.Add(name=f"{name}_add")([shortcut, y]))


def _bottleneck_block(x, filters, strides, l2, name):
    shortcut = _shortcut(x, 4 * filters, strides, l2, name)
    y = _conv_bn(x, filters, 1, 1, l2, f"{name}_a")
    y = _conv_bn(y, filters, 3, strides, l2, f"{name}_b")
    y = _conv_bn(y, 4 * filters, 1, 1, l2, f"{name}_c", relu=False)
    return layers.ReLU(name=f"{name}_out")(layers.Add(name=f"{name}_add")([shortcut, y]))


def cifar_resnet(input_shape, num_classes, *, depth, bottleneck, l2, dropout, widths=(16, 32, 64), name="resnet"):
    per_block = 9 if bottleneck else 6
    if (depth - 2) % per_block:
        raise ValueError(f"depth must be {per_block}n+2 for {'bottleneck' if bottleneck else 'basic'} blocks, "
                         f"got {depth}")
    blocks = (depth - 2) // per_block
    block = _bottleneck_block if bottleneck else _basic_block
    images, x = scaled_input(input_shape)
    x = _conv_bn(x, widths[0], 3, 1, l2, "stem")
    for stage, filters in enumerate(widths):
        for index in range(blocks):
            x = block(x, filters, 2 if stage > 0 and index == 0 else 1, l2, f"stage{stage}_block{index}")
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(images, classifier_head(x, num_classes, dropout=dropout, l2=l2), name=name)


@MODELS.register("resnet")
def build_resnet(input_shape, num_classes: int, *, l2: float = 1e-4, dropout: float = 0.0,
                 depth: int = 20) -> keras.Model:
    """ResNet-20 by default (0.27 M parameters, 91.25% on CIFAR-10 in the paper); `depth` 6n+2."""
    return cifar_resnet(input_shape, num_classes, depth=depth, bottleneck=False, l2=l2, dropout=dropout)


@MODELS.register("resnet56")
def build_resnet56(input_shape, num_classes: int, *, l2: float = 1e-4, dropout: float = 0.0) -> keras.Model:
    """ResNet-56 (0.85 M parameters, 93.03% on CIFAR-10 in the paper)."""
    return cifar_resnet(input_shape, num_classes, depth=56, bottleneck=False, l2=l2, dropout=dropout,
                        name="resnet56")


@MODELS.register("resnet_bottleneck")
def build_resnet_bottleneck(input_shape, num_classes: int, *, l2: float = 1e-4, dropout: float = 0.0,
                            depth: int = 29) -> keras.Model:
    """Bottleneck blocks (1x1 -> 3x3 -> 1x1, 4x expansion); depth 9n+2, 29 by default."""
    return cifar_resnet(input_shape, num_classes, depth=depth, bottleneck=True, l2=l2, dropout=dropout,
                        name="resnet_bottleneck")
