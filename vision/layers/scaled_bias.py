"""A per-channel learnt offset with its own learning-rate multiplier."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="vision")
class ScaledBias(keras.layers.Layer):
    """Adds `multiplier * b` for a learnt per-channel `b` (initially zero). The offset's gradient step is
    `multiplier**2` times the optimizer's, without a per-variable learning rate: airbench (Jordan 2024) trains
    the batch-norm offsets 64x faster than the weights, which `BatchNormalization(center=False)` followed by
    `ScaledBias(8.0)` reproduces. Keras optimizers have no per-variable learning rate, hence this layer.

    Args:
        multiplier: the scale of the learnt offset (its learning rate scales with the square).
        **kwargs: standard `keras.layers.Layer` arguments.

    Example:
        >>> ScaledBias(8.0)(np.zeros((2, 4, 4, 16))).shape
        (2, 4, 4, 16)
    """

    def __init__(self, multiplier: float = 8.0, **kwargs):
        super().__init__(**kwargs)
        self.multiplier = multiplier

    def build(self, input_shape):
        self.offset = self.add_weight(shape=(int(input_shape[-1]),), initializer="zeros", name="offset")

    def call(self, inputs):
        return inputs + ops.cast(self.multiplier * self.offset, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "multiplier": self.multiplier}
