"""Adds sinusoidal position encodings to a (scaled) sequence while keeping its padding mask."""

import keras
import keras_hub


@keras.saving.register_keras_serializable(package="textclf")
class AddSinePositions(keras.layers.Layer):
    """scale * x + sinusoidal positions (Vaswani et al.), the padding mask passed through unchanged.

    keras-hub's `SinePositionEncoding` returns only the encodings and drops the mask, and Keras' `Add`
    of a masked and an unmasked tensor drops it too; this layer does the sum and keeps the mask.

    The positions have unit amplitude, Keras' freshly initialised embeddings (uniform in +-0.05) are far
    smaller, so unscaled they are drowned by the positions; Vaswani et al. multiply the embeddings by
    sqrt(d_model) (`scale`).

    Args:
        max_wavelength: the longest wavelength of the sinusoids.
        scale: factor on the inputs before the positions are added (1.0: none).
        **kwargs: standard `keras.layers.Layer` arguments.

    Call arguments:
        inputs: [batch, time, features]; mask: optional padding mask [batch, time] (returned as is).
    """

    def __init__(self, max_wavelength: int = 10000, scale: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.max_wavelength = max_wavelength
        self.scale = scale
        self.supports_masking = True
        self.encoding = keras_hub.layers.SinePositionEncoding(max_wavelength=max_wavelength, name="encoding")

    def call(self, inputs):
        # The encoding depends on the shape only; a mask-free copy keeps its mask warning away.
        positions = keras.ops.cast(self.encoding(keras.ops.zeros_like(inputs)), inputs.dtype)
        return inputs * self.scale + positions

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "max_wavelength": self.max_wavelength, "scale": self.scale}
