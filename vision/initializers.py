"""Kernel initializers of the vision models."""

import keras
import numpy as np


@keras.saving.register_keras_serializable(package="vision")
class PartialDirac(keras.initializers.Initializer):
    """Convolution kernels that start as an identity on the first channels: filter i < min(in, out) copies input
    channel i (a 1 at the kernel's centre, 0 elsewhere); the other filters are drawn as PyTorch's default
    (uniform in +-1/sqrt(fan_in)). airbench (Jordan 2024) initialises every convolution so: each block starts
    close to passing its input through, an implicit residual connection. Keras has only `Identity` for 2-D
    matrices, hence this class.

    Args:
        seed: of the random filters (None: Keras' global seed, `keras.utils.set_random_seed`).

    Example:
        >>> kernel = PartialDirac(seed=0)((3, 3, 4, 8))
        >>> float(kernel[1, 1, 2, 2]), float(kernel[0, 0, 2, 2])
        (1.0, 0.0)
    """

    def __init__(self, seed: int | None = None):
        self.seed = seed

    def __call__(self, shape, dtype=None):
        *spatial, inputs, outputs = shape
        # scale 1/3, uniform: limit sqrt(3 * scale / fan_in) = 1 / sqrt(fan_in); seeded by Keras when seed is None
        random = keras.initializers.VarianceScaling(1 / 3, "fan_in", "uniform", seed=self.seed)
        kernel = np.array(random(shape, "float32"))
        identity = min(inputs, outputs)
        kernel[..., :identity] = 0.0
        centre = tuple(side // 2 for side in spatial)
        kernel[centre + (np.arange(identity), np.arange(identity))] = 1.0
        return keras.ops.convert_to_tensor(kernel, dtype=dtype or "float32")

    def get_config(self):
        return {"seed": self.seed}
