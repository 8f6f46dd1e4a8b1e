"""Patch whitening: the first layer of Keller Jordan's airbench (2024, "94% on CIFAR-10 in 3.29 seconds on a
single GPU"), a small convolution whose filters are set from the training images instead of learnt."""

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="vision")
class PatchWhitening(keras.layers.Layer):
    """A `kernel_size` x `kernel_size` "valid" convolution whose 2 x k*k*channels filters whiten image patches:
    each eigenvector of the patches' second-moment matrix divided by the square root of its eigenvalue, and its
    negative (so a following ReLU/GELU keeps both signs). `adapt(images)` sets the filters; they are not trained
    (the bias is). Until `adapt` runs the filters are random (He-uniform), so an unadapted model still trains.

    Written by hand because Keras has no whitening layer (`keras.layers.Normalization` scales each channel
    alone, not the correlations between neighbouring pixels that the whitening removes).

    Args:
        kernel_size: side of the square patches (airbench: 2, giving 24 filters on RGB).
        epsilon: added to the eigenvalues, relative to their mean (keeps the near-zero directions' gain finite).
        **kwargs: standard `keras.layers.Layer` arguments.

    Call arguments:
        inputs: images [batch, height, width, channels], in the scale `adapt` saw.

    Returns:
        [batch, height - kernel_size + 1, width - kernel_size + 1, 2 * kernel_size**2 * channels].

    Example:
        >>> layer = PatchWhitening(kernel_size=2)
        >>> layer.adapt(np.random.rand(64, 32, 32, 3))
        >>> layer(np.random.rand(8, 32, 32, 3)).shape
        (8, 31, 31, 24)
    """

    def __init__(self, kernel_size: int = 2, epsilon: float = 1e-3, **kwargs):
        super().__init__(**kwargs)
        self.kernel_size = kernel_size
        self.epsilon = epsilon

    def build(self, input_shape):
        self.channels = int(input_shape[-1])
        size = self.kernel_size
        self.kernel = self.add_weight(shape=(size, size, self.channels, 2 * size * size * self.channels),
                                      initializer="he_uniform", trainable=False, name="kernel")
        self.bias = self.add_weight(shape=(2 * size * size * self.channels,), initializer="zeros", name="bias")

    def whitening_filters(self, images) -> np.ndarray:
        """The kernel [k, k, channels, 2 k*k*channels] that whitens the k x k patches of `images`."""
        images = np.asarray(images, np.float32)  # 5,000 CIFAR images: 4.8 M patches, 230 MB of float32
        size, channels = self.kernel_size, images.shape[-1]
        windows = np.lib.stride_tricks.sliding_window_view(images, (size, size), axis=(1, 2))
        patches = windows.transpose(0, 1, 2, 4, 5, 3).reshape(-1, size * size * channels)  # (row, col, channel)
        moment = (patches.T @ patches).astype(np.float64) / len(patches)
        eigenvalues, eigenvectors = np.linalg.eigh(moment)
        scaled = eigenvectors / np.sqrt(eigenvalues + self.epsilon * eigenvalues.mean())  # columns: filters
        kernel = scaled.reshape(size, size, channels, -1)
        return np.concatenate([kernel, -kernel], axis=-1).astype("float32")

    def adapt(self, images) -> None:
        """Sets the filters from `images` [n, height, width, channels] (a few thousand are plenty)."""
        if not self.built:
            self.build(np.shape(images))
        self.kernel.assign(self.whitening_filters(images))

    def call(self, inputs):
        kernel, bias = ops.cast(self.kernel, inputs.dtype), ops.cast(self.bias, inputs.dtype)
        return ops.conv(inputs, kernel, padding="valid") + bias

    def compute_output_shape(self, input_shape):
        height, width = (None if side is None else side - self.kernel_size + 1 for side in input_shape[1:3])
        return (input_shape[0], height, width, 2 * self.kernel_size ** 2 * int(input_shape[-1]))

    def get_config(self):
        return {**super().get_config(), "kernel_size": self.kernel_size, "epsilon": self.epsilon}
