"""Mixes two models' class probabilities with a weight set after training."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="textclf")
class ProbabilityMixture(keras.layers.Layer):
    """`(1 - w) * first + w * second`: a linear opinion pool of two probability distributions, w non-trainable.

    Unlike a sum of logits (a product of experts, `PathDropout`), a mixture lets a confident but poorly
    calibrated expert (naive Bayes) vote without its log-probabilities swamping the other's. `mixture_weight`
    is 0 until set (so training sees `first` alone); `textclf.task.calibrate_paths` sets it on validation data
    after training.

    Call arguments:
        inputs: `[first, second]`, two tensors `[batch, classes]` of probabilities.

    Example:
        >>> mixture = ProbabilityMixture()
        >>> first, second = keras.ops.convert_to_tensor([[0.9, 0.1]]), keras.ops.convert_to_tensor([[0.3, 0.7]])
        >>> mixture([first, second])  # [[0.9, 0.1]] until calibrated
        >>> mixture.mixture_weight.assign(0.5)
        >>> mixture([first, second])  # [[0.6, 0.4]]
    """

    def build(self, input_shape):
        self.mixture_weight = self.add_weight(shape=(), initializer="zeros", trainable=False, name="mixture_weight")

    def call(self, inputs):
        first, second = inputs
        weight = ops.cast(self.mixture_weight, first.dtype)
        return (1.0 - weight) * first + weight * ops.cast(second, first.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape[0]
