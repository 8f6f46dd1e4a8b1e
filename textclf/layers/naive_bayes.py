"""Complement naive Bayes over a (sparse) bag of features, as a Keras layer whose weights are counted, not trained."""

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="textclf")
class ComplementNaiveBayes(keras.layers.Layer):
    """Logits of complement naive Bayes (Rennie et al. 2003; scikit-learn's `ComplementNB(norm=False)`), times
    a non-trainable `logit_weight`.

    A generative linear classifier: for class c, feature j's weight is -log of j's smoothed share of the
    feature mass of every *other* class, so a text scores high for c when its features are rare outside c.
    Its weights come from per-class feature sums (`fit`), once, not from gradient steps. Generative learners
    can beat discriminative ones when data are few (Ng & Jordan 2002), and they err differently, so the two
    summed may beat either (on AG News's 6,600 rows the gain measured small: see the README).
    scikit-learn's estimator cannot live in a Keras graph, so this layer re-implements its two formulas:
    `feature_log_prob_` (`fit`) and the joint log-likelihood `features @ weights` (`call`).

    `logit_weight` (0 until set) scales the output: 0 leaves a model's training untouched, and
    `textclf.task.calibrate_paths` sets it on validation data after training, with the other paths' weights.

    Args:
        num_classes: columns of the output.
        alpha: additive (Laplace/Lidstone) smoothing of the feature sums, in units of the features given to
            `fit` (`TextConfig.nb_alpha`).
        **kwargs: standard `keras.layers.Layer` arguments.

    Call arguments:
        inputs: `[batch, features]`, dense or a `tf.SparseTensor` (the `bag` input of `textclf.models`).

    Example:
        >>> layer = ComplementNaiveBayes(2, alpha=1.0)
        >>> layer.fit(np.array([[3.0, 0.0], [0.0, 2.0]]))  # class 0's features sum to [3, 0], class 1's to [0, 2]
        >>> layer.logit_weight.assign(1.0)
        >>> layer(np.array([[1.0, 0.0]]))  # class 0's logit is the larger
    """

    def __init__(self, num_classes: int, alpha: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        if num_classes < 2 or alpha <= 0:
            raise ValueError(f"ComplementNaiveBayes needs num_classes >= 2 and alpha > 0, got {num_classes} and "
                             f"{alpha}")
        self.num_classes = num_classes
        self.alpha = alpha

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.num_classes), initializer="zeros",
                                      trainable=False, name="kernel")
        self.logit_weight = self.add_weight(shape=(), initializer="zeros", trainable=False, name="logit_weight")

    def fit(self, class_sums: np.ndarray) -> None:
        """Sets the weights from `[num_classes, features]` per-class feature sums (`textclf.task.fit_naive_bayes`
        counts them from a bag): weight[j, c] = -log((all_j - sum_cj + alpha) / sum over j of the same),
        scikit-learn's `ComplementNB(norm=False).feature_log_prob_` transposed."""
        sums = np.asarray(class_sums, dtype=np.float64)
        if sums.shape[0] != self.num_classes:
            raise ValueError(f"fit needs sums of {self.num_classes} classes, got {sums.shape[0]}")
        if not self.built:
            self.build((None, sums.shape[1]))
        complement = sums.sum(axis=0, keepdims=True) - sums + self.alpha
        self.kernel.assign((-np.log(complement / complement.sum(axis=1, keepdims=True))).T.astype("float32"))

    def call(self, inputs):
        logits = ops.matmul(inputs, ops.cast(self.kernel, inputs.dtype))  # sparse x dense stays sparse-aware
        return logits * ops.cast(self.logit_weight, logits.dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "alpha": self.alpha}
