"""Sums the logits of several paths, each of which, in training, must often classify alone."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="textclf")
class PathDropout(keras.layers.Layer):
    """The weighted sum of N paths' logits; in training, with probability `rate` an example keeps one path only.

    Trained on the sum alone, the path that fits the training data first (a transformer's embeddings
    memorise a few thousand texts within an epoch or two) leaves the others almost no gradient. Keeping a
    single path (chosen uniformly) for a fraction `rate` of the training examples makes every path learn to
    classify on its own, so the sum at inference is a product of experts, each of them trained. At
    inference (and with `rate=0`) the output is the sum weighted by `path_weights`, a non-trainable weight
    (ones until set: `textclf.task.calibrate_paths` sets it on validation data after training, since a path
    that memorised the training data is over-confident on new texts).

    Args:
        rate: probability, per training example, of keeping a single path. 1.0 trains every path only
            alone, each on about 1/N of the examples.
        seed: seed of the random choices (None: from Keras' global seed, `keras.utils.set_random_seed`).
        **kwargs: standard `keras.layers.Layer` arguments.

    Call arguments:
        inputs: a list of N >= 1 tensors of one shape `[batch, ...]`.
        training: whether to drop paths.

    Example:
        >>> deep, wide = keras.ops.ones((2, 4)), keras.ops.ones((2, 4))
        >>> PathDropout(rate=0.5)([deep, wide])  # inference: deep + wide, all 2.0
    """

    def __init__(self, rate: float = 0.5, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be in [0, 1], got {rate}")
        self.rate = rate
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        self.path_weights = self.add_weight(shape=(len(input_shape),), initializer="ones", trainable=False,
                                            name="path_weights")

    def call(self, inputs, training=None):
        paths = ops.stack(list(inputs), axis=0)  # [N, batch, ...]
        paths = paths * ops.reshape(ops.cast(self.path_weights, paths.dtype), (-1,) + (1,) * (len(paths.shape) - 1))
        if not training or self.rate == 0.0 or len(inputs) == 1:
            return ops.sum(paths, axis=0)
        batch = ops.shape(paths)[1]
        single = keras.random.uniform((batch,), seed=self.seed_generator) < self.rate
        choice = keras.random.randint((batch,), 0, len(inputs), seed=self.seed_generator)
        keep = ops.stack([ops.logical_or(ops.logical_not(single), ops.equal(choice, index))
                          for index in range(len(inputs))], axis=0)  # [N, batch]
        keep = ops.reshape(ops.cast(keep, paths.dtype), (len(inputs), batch) + (1,) * (len(paths.shape) - 2))
        return ops.sum(paths * keep, axis=0)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
