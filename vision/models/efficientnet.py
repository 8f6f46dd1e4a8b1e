"""EfficientNet (Tan & Le 2019): keras.applications' B0 without pretrained weights, and a compact MBConv
stack sized for 32-128 px images (B0 reduces a 32 px image to 1x1 by its fourth stage)."""

import keras
from keras import layers

from vision.models import MODELS
from vision.models.common import batch_norm, classifier_head, regularizer, scaled_input

# (expansion, output channels, repeats, kernel, first stride) per stage.
COMPACT_STAGES = ((1, 16, 1, 3, 1), (6, 24, 2, 3, 2), (6, 40, 2, 5, 2), (6, 80, 2, 3, 2), (6, 112, 1, 5, 1))


def _mbconv(x, expansion, filters, kernel, strides, l2, drop_rate, name):
    """Inverted residual: 1x1 expand -> depthwise -> squeeze-excite -> 1x1 project (+ residual)."""
    inputs, channels = x, x.shape[-1]
    if expansion != 1:
        x = layers.Conv2D(channels * expansion, 1, use_bias=False, kernel_regularizer=regularizer(l2),
                          name=f"{name}_expand")(x)
        x = layers.Activation("swish", name=f"{name}_expand_act")(batch_norm(f"{name}_expand_bn")(x))
    x = layers.DepthwiseConv2D(kernel, strides=strides, padding="same", use_bias=False,
                               depthwise_regularizer=regularizer(l2), name=f"{name}_depthwise")(x)
    x = layers.Activation("swish", name=f"{name}_depthwise_act")(batch_norm(f"{name}_depthwise_bn")(x))
    squeeze = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_se_pool")(x)
    squeeze = layers.Conv2D(max(1, channels // 4), 1, activation="swish", name=f"{name}_se_reduce")(squeeze)
    squeeze = layers.Conv2D(x.shape[-1], 1, activation="sigmoid", name=f"{name}_se_expand")(squeeze)
    x = layers.Multiply(name=f"{name}_se")([x, squeeze])
    x = layers.Conv2D(filters, 1, use_bias=False, kernel_regularizer=regularizer(l2), name=f"{name}_project")(x)
    x = batch_norm(f"{name}_project_bn")(x)
    if strides == 1 and channels == filters:
        if drop_rate:  # stochastic depth: drop the whole residual branch per example
            x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}_drop")(x)
        x = layers.Add(name=f"{name}_add")([inputs, x])
    return x


@MODELS.register("efficientnet")
def build_efficientnet(input_shape, num_classes: int, *, l2: float = 1e-5, dropout: float = 0.2,
                       stages=COMPACT_STAGES, stem_filters: int = 32, head_filters: int = 320,
                       drop_connect_rate: float = 0.1) -> keras.Model:
    """A compact EfficientNet: stride-1 stem (keeps small images' detail), MBConv stages with
    squeeze-excite and stochastic depth, 1x1 head conv, global pooling."""
    images, x = scaled_input(input_shape)
    x = layers.Conv2D(stem_filters, 3, padding="same", use_bias=False, kernel_regularizer=regularizer(l2),
                      name="stem_conv")(x)
    x = layers.Activation("swish", name="stem_act")(batch_norm("stem_bn")(x))
    total = sum(stage[2] for stage in stages)
    block = 0
    for stage, (expansion, filters, repeats, kernel, strides) in enumerate(stages):
        for index in range(repeats):
            x = _mbconv(x, expansion, filters, kernel, strides if index == 0 else 1, l2,
                        drop_connect_rate * block / total, f"stage{stage}_block{index}")
            block += 1
    x = layers.Conv2D(head_filters, 1, use_bias=False, kernel_regularizer=regularizer(l2), name="head_conv")(x)
    x = layers.Activation("swish", name="head_act")(batch_norm("head_bn")(x))
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(images, classifier_head(x, num_classes, dropout=dropout, l2=l2), name="efficientnet")


@MODELS.register("efficientnet_b0")
def build_efficientnet_b0(input_shape, num_classes: int, *, l2: float = 0.0, dropout: float = 0.2) -> keras.Model:
    """keras.applications.EfficientNetB0, weights=None (it scales [0, 255] input itself); L2 on the head only."""
    images = keras.Input(tuple(input_shape), name="images")
    backbone = keras.applications.EfficientNetB0(include_top=False, weights=None, input_tensor=images,
                                                 pooling="avg")
    return keras.Model(images, classifier_head(backbone.output, num_classes, dropout=dropout, l2=l2),
                       name="efficientnet_b0")
