"""Shifted Patch Tokenization (Lee, Lee & Song 2021, "Vision Transformer for Small-Size Datasets")."""

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="vision")
class ShiftedPatchTokenization(keras.layers.Layer):
    """Image -> patch tokens, each seeing its neighbours: the image and four copies shifted diagonally by
    half a patch are stacked on the channel axis, cut into non-overlapping patches, flattened,
    layer-normalised and projected to `projection_dim`.

    Args:
        patch_size: side of a square patch in pixels; the image side must be a multiple of it.
        projection_dim: size of each output token.
        **kwargs: standard `keras.layers.Layer` arguments.

    Call arguments:
        inputs: images [batch, height, width, channels] (any float scale).

    Returns:
        tokens [batch, (height / patch_size) * (width / patch_size), projection_dim].
    """

    def __init__(self, patch_size: int, projection_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.patch_size = patch_size
        self.projection_dim = projection_dim
        self.norm = layers.LayerNormalization(epsilon=1e-6, name="norm")
        self.projection = layers.Dense(projection_dim, name="projection")

    def build(self, input_shape):
        height, width, channels = input_shape[1:]
        if height % self.patch_size or width % self.patch_size:
            raise ValueError(f"image size {height}x{width} is not a multiple of patch_size {self.patch_size}")
        patch_features = self.patch_size * self.patch_size * channels * 5
        self.norm.build((None, None, patch_features))
        self.projection.build((None, None, patch_features))

    def _shift(self, images, down: int, right: int):
        """Translate by (down, right) pixels, zero-filling the uncovered border."""
        half = self.patch_size // 2
        padded = ops.pad(images, [[0, 0], [half, half], [half, half], [0, 0]])
        height, width = ops.shape(images)[1], ops.shape(images)[2]
        return ops.slice(padded, [0, half - down, half - right, 0],
                         [ops.shape(images)[0], height, width, ops.shape(images)[3]])

    def call(self, inputs):
        half = self.patch_size // 2
        stacked = ops.concatenate([inputs] + [self._shift(inputs, down, right) for down, right in
                                              ((-half, -half), (-half, half), (half, -half), (half, half))], axis=-1)
        patches = ops.image.extract_patches(stacked, self.patch_size)  # [b, h/p, w/p, p*p*5c]
        tokens = ops.reshape(patches, (ops.shape(patches)[0], -1, ops.shape(patches)[-1]))
        return self.projection(self.norm(tokens))

    def compute_output_shape(self, input_shape):
        count = (input_shape[1] // self.patch_size) * (input_shape[2] // self.patch_size)
        return (input_shape[0], count, self.projection_dim)

    def get_config(self):
        return {**super().get_config(), "patch_size": self.patch_size, "projection_dim": self.projection_dim}
