"""airbench's network (Keller Jordan 2024, "94% on CIFAR-10 in 3.29 seconds on a single GPU"), the fastest
known to train on CIFAR-10, as a VGG-style net (`vgg_airbench`, airbench94 itself) and with identity shortcuts
(`resnet_airbench`). Their recipe (`vision.config.RECIPES`) is airbench's: Nesterov SGD, label smoothing 0.2,
lookahead (thirty epochs, not its ten)."""

import keras
from keras import layers

from vision.initializers import PartialDirac
from vision.layers import PatchWhitening, ScaledBias
from vision.models import MODELS
from vision.models.common import regularizer, scaled_input


def _norm(x, bias_multiplier: float, name: str):
    """Batch norm without a learnt scale, its offset trained `bias_multiplier**2` times faster (`ScaledBias`)."""
    x = layers.BatchNormalization(momentum=0.6, center=False, scale=False, name=f"{name}_bn")(x)
    return ScaledBias(bias_multiplier, name=f"{name}_offset")(x)


def _conv(x, width: int, l2: float, name: str):
    return layers.Conv2D(width, 3, padding="same", use_bias=False, kernel_initializer=PartialDirac(),
                         kernel_regularizer=regularizer(l2), name=name)(x)


def airbench_network(input_shape, num_classes: int, *, residual: bool, l2: float, dropout: float,
                     widths: tuple[int, ...], bias_multiplier: float, logit_scale: float, name: str) -> keras.Model:
    """A 2x2 patch-whitening layer (`PatchWhitening`, set from the training images by the task before the
    first epoch) and GELU, then per block conv -> 2x2 max-pool -> BN -> GELU -> conv -> BN -> GELU (with
    `residual`, the second conv's output is added to its input: an identity shortcut, as in He et al. 2016).
    Every conv is identity-initialised on its first channels (`PartialDirac`); the batch norms have no scale
    and 64x-faster offsets; global max-pooling, then a bias-free linear layer whose logits are multiplied by
    `logit_scale` before the softmax."""
    images, x = scaled_input(input_shape)
    x = PatchWhitening(kernel_size=2, name="whitening")(x)
    x = layers.Activation("gelu", name="whitening_gelu")(x)
    for block, width in enumerate(widths):
        x = _conv(x, width, l2, f"block{block}_conv0")
        x = layers.MaxPooling2D(name=f"block{block}_pool")(x)
        x = layers.Activation("gelu", name=f"block{block}_conv0_gelu")(_norm(x, bias_multiplier, f"block{block}_conv0"))
        y = _conv(x, width, l2, f"block{block}_conv1")
        y = layers.Activation("gelu", name=f"block{block}_conv1_gelu")(_norm(y, bias_multiplier, f"block{block}_conv1"))
        x = layers.Add(name=f"block{block}_shortcut")([x, y]) if residual else y
    x = layers.GlobalMaxPooling2D(name="pool")(x)  # airbench's MaxPool2d(3) of its 3x3 map at 32 px
    if dropout:
        x = layers.Dropout(dropout, name="head_dropout")(x)
    logits = layers.Dense(num_classes, use_bias=False, kernel_regularizer=regularizer(l2), dtype="float32",
                          name="logits")(x)
    logits = layers.Rescaling(logit_scale, dtype="float32", name="logit_scale")(logits)
    probabilities = layers.Activation("softmax", dtype="float32", name="probabilities")(logits)
    return keras.Model(images, probabilities, name=name)




@MODELS.register("vgg_airbench")
def build_vgg_airbench(input_shape, num_classes: int, *, l2: float = 0.0, dropout: float = 0.0,
                       widths: tuple[int, ...] = (64, 256, 256), bias_multiplier: float = 8.0,
                       logit_scale: float = 1 / 9) -> keras.Model:
    """airbench94's network (`airbench_network` without shortcuts). Not reproduced from airbench: freezing the
    whitening bias after 3 epochs and alternating flips (its lookahead is in the recipe, its multi-crop test-time
    augmentation in the benchmark's evaluation: `vision.task.predict_crops`).

    Args:
        input_shape, num_classes: of the images and the softmax.
        l2: L2 factor on the kernels (the recipe uses the optimizer's weight decay instead).
        dropout: before the linear layer (airbench: none).
        widths: of the conv blocks (airbench94: 64, 256, 256).
        bias_multiplier: `ScaledBias`'s multiplier (8: the offsets' learning rate is 64x).
        logit_scale: multiplies the logits before the softmax (airbench: 1/9).
    """
    return airbench_network(input_shape, num_classes, residual=False, l2=l2, dropout=dropout, widths=widths,
                            bias_multiplier=bias_multiplier, logit_scale=logit_scale, name="vgg_airbench")


@MODELS.register("resnet_airbench")
def build_resnet_airbench(input_shape, num_classes: int, *, l2: float = 0.0, dropout: float = 0.0,
                          widths: tuple[int, ...] = (64, 256, 256), bias_multiplier: float = 8.0,
                          logit_scale: float = 1 / 9) -> keras.Model:
    """`vgg_airbench` with an identity shortcut around each block's second convolution: a residual network of
    the same size and cost (`airbench_network(residual=True)`); arguments as `build_vgg_airbench`'s."""
    return airbench_network(input_shape, num_classes, residual=True, l2=l2, dropout=dropout, widths=widths,
                            bias_multiplier=bias_multiplier, logit_scale=logit_scale, name="resnet_airbench")


@MODELS.register("resnet_airbench_wide")
def build_resnet_airbench_wide(input_shape, num_classes: int, *, l2: float = 0.0, dropout: float = 0.0,
                               widths: tuple[int, ...] = (128, 384, 384), bias_multiplier: float = 8.0,
                               logit_scale: float = 1 / 9) -> keras.Model:
    """`resnet_airbench` at airbench95's widths (128, 384, 384: about 2.6x the multiply-adds per image; airbench95
    reaches 95 % with TTA on the lossless CIFAR-10 in 15 epochs where airbench94 reaches 94 % in 10); arguments as
    `build_vgg_airbench`'s."""
    return airbench_network(input_shape, num_classes, residual=True, l2=l2, dropout=dropout, widths=widths,
                            bias_multiplier=bias_multiplier, logit_scale=logit_scale, name="resnet_airbench_wide")
