"""Vision Transformer (Dosovitskiy et al. 2021) with the small-data fixes of Lee, Lee & Song 2021:
Shifted Patch Tokenization and Locality Self-Attention, so it learns from thousands of images, not millions;
`vit_conv` tokenizes with a small convolutional stem instead (Xiao et al. 2021, "Early Convolutions Help
Transformers See Better")."""

import math

import keras
import keras_hub
from keras import layers

from vision.layers import LocalitySelfAttention, ShiftedPatchTokenization
from vision.models import MODELS
from vision.models.common import batch_norm, classifier_head, regularizer, scaled_input


def conv_stem(x, patch_size: int, projection_dim: int, l2: float, width: int = 64):
    """Xiao et al.'s convolutional stem: log2(patch_size) 3x3 stride-2 conv-BN-ReLU layers, `width` channels
    doubling at each, then a 1x1 conv to the token width; one token per patch_size x patch_size cell, as the
    patchify layer gives."""
    strides = patch_size.bit_length() - 1
    if 2 ** strides != patch_size:
        raise ValueError(f"the convolutional stem needs a power-of-two patch size, got {patch_size}")
    for index in range(strides):
        x = layers.Conv2D(width * 2 ** index, 3, strides=2, padding="same",
                          use_bias=False, kernel_regularizer=regularizer(l2), name=f"stem{index}_conv")(x)
        x = layers.ReLU(name=f"stem{index}_relu")(batch_norm(f"stem{index}_bn")(x))
    x = layers.Conv2D(projection_dim, 1, name="stem_projection")(x)
    return layers.Reshape((-1, projection_dim), name="tokens")(x)


@MODELS.register("vit")
def build_vit(input_shape, num_classes: int, *, l2: float = 1e-4, dropout: float = 0.1,
              patch_size: int | None = None, projection_dim: int = 64, depth: int = 6, num_heads: int = 4,
              mlp_dim: int = 128, shifted_patches: bool = True, locality_attention: bool = True,
              stem: str = "patches", stem_width: int = 64, model_name: str = "vit") -> keras.Model:
    """Pre-norm encoder blocks over patch tokens with learnt positions, mean-pooled tokens, softmax.

    `patch_size` defaults to an eighth of the image side (4 px on CIFAR: 64 tokens; the nearest power of two
    with the convolutional stem). With
    `shifted_patches=False, locality_attention=False` this is the plain ViT the seeds trained; `stem="conv"`
    tokenizes with `conv_stem` of `stem_width` channels (shifted_patches is then unused). Measured on the
    3-class CIFAR task (benchmarks/results/vision_benchmark_cifar3_vit_conv*_full.md): 64 channels reach 0.904
    at 198 images/s (vit: 0.867 at 364); 32 channels stopped at 0.887.
    """
    if stem not in ("patches", "conv"):
        raise ValueError(f"stem must be 'patches' or 'conv', got {stem!r}")
    if patch_size is None:
        patch_size = max(2, input_shape[0] // 8)
        if stem == "conv":  # the stem's stride-2 layers need a power of two: the nearest one (224 px: 32)
            patch_size = 2 ** max(1, round(math.log2(patch_size)))
    images, x = scaled_input(input_shape)
    if stem == "conv":
        tokens = conv_stem(x, patch_size, projection_dim, l2, stem_width)
    elif shifted_patches:
        tokens = ShiftedPatchTokenization(patch_size, projection_dim, name="patches")(x)
    else:
        tokens = layers.Conv2D(projection_dim, patch_size, strides=patch_size, name="patches")(x)
        tokens = layers.Reshape((-1, projection_dim), name="tokens")(tokens)
    positions = keras_hub.layers.PositionEmbedding(sequence_length=tokens.shape[1], name="positions")(tokens)
    x = layers.Add(name="with_positions")([tokens, positions])
    for index in range(depth):
        name = f"encoder{index}"
        y = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_norm_attention")(x)
        if locality_attention:
            y = LocalitySelfAttention(num_heads, projection_dim // num_heads, dropout=dropout,
                                      name=f"{name}_attention")(y)
        else:
            y = layers.MultiHeadAttention(num_heads, projection_dim // num_heads, dropout=dropout,
                                          name=f"{name}_attention")(y, y)
        x = layers.Add(name=f"{name}_residual_attention")([x, y])
        y = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_norm_mlp")(x)
        y = layers.Dense(mlp_dim, activation="gelu", kernel_regularizer=regularizer(l2), name=f"{name}_mlp_in")(y)
        y = layers.Dropout(dropout, name=f"{name}_mlp_dropout")(y)
        y = layers.Dense(projection_dim, kernel_regularizer=regularizer(l2), name=f"{name}_mlp_out")(y)
        x = layers.Add(name=f"{name}_residual_mlp")([x, y])
    x = layers.LayerNormalization(epsilon=1e-6, name="norm")(x)
    x = layers.GlobalAveragePooling1D(name="pool")(x)
    return keras.Model(images, classifier_head(x, num_classes, dropout=dropout, l2=l2), name=model_name)


@MODELS.register("vit_conv")
def build_vit_conv(input_shape, num_classes: int, **options) -> keras.Model:
    """`vit` with the convolutional stem (`conv_stem`) in place of shifted patch tokenization; the same
    encoder (Locality Self-Attention), head and options."""
    return build_vit(input_shape, num_classes, **{"stem": "conv", "model_name": "vit_conv", **options})
