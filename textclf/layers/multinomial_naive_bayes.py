"""Multinomial naive Bayes over a (sparse) bag of features, as a Keras layer whose weights are counted, not trained."""

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="textclf")
class MultinomialNaiveBayes(keras.layers.Layer):
    """Class probabilities of multinomial naive Bayes (scikit-learn's `MultinomialNB` on the same features).

    A generative linear classifier: feature j's weight for class c is the log of j's smoothed share of class c's
    feature mass, its bias the log of c's share of the training texts. Its weights come from per-class feature
    sums (`fit`), once, not from gradient steps. Generative learners can beat discriminative ones when data are
    few (Ng & Jordan 2002) and they err differently, so a mixture of the two may beat either: on AG News's 6,600
    rows it does (see the README). scikit-learn's estimator cannot live in a Keras graph, so this layer
    re-implements its two formulas: `feature_log_prob_` and `class_log_prior_` (`fit`) and the posterior
    `softmax(features @ weights + bias)` (`call`).

    Args:
        num_classes: columns of the output.
        alpha: additive (Laplace/Lidstone) smoothing of the feature sums, in units of the features given to
            `fit`; `fit` may replace it (`textclf.task.calibrate_paths` chooses it on validation data).
        input_scale: the inputs are divided by this before the weights apply (a `textclf.layers.BagOfNgrams`
            multiplies its unit-norm rows by its `scale`; `fit` takes sums in unit-norm units).
        **kwargs: standard `keras.layers.Layer` arguments.

    Call arguments:
        inputs: `[batch, features]`, dense or a `tf.SparseTensor` (the `bag` input of `textclf.models`).

    Example:
        >>> layer = MultinomialNaiveBayes(2, alpha=1.0)
        >>> layer.fit(np.array([[3.0, 0.0], [0.0, 2.0]]), np.array([1, 1]))  # class 0's features sum to [3, 0]
        >>> layer(np.array([[1.0, 0.0]]))  # class 0 is the likelier: [[0.76, 0.24]] (0.8 / (0.8 + 0.25))
    """

    def __init__(self, num_classes: int, alpha: float = 1.0, input_scale: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        if num_classes < 2 or alpha <= 0 or input_scale <= 0:
            raise ValueError(f"MultinomialNaiveBayes needs num_classes >= 2, alpha > 0 and input_scale > 0, got "
                             f"{num_classes}, {alpha} and {input_scale}")
        self.num_classes = num_classes
        self.alpha = alpha
        self.input_scale = input_scale
        self.counts = None  # (class sums, class counts) of the last `fit`, for `set_alpha`; not saved

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.num_classes), initializer="zeros",
                                      trainable=False, name="kernel")
        self.bias = self.add_weight(shape=(self.num_classes,), initializer="zeros", trainable=False, name="bias")

    def fit(self, class_sums: np.ndarray, class_counts: np.ndarray, alpha: float | None = None) -> None:
        """Sets the weights from `[num_classes, features]` per-class feature sums and `[num_classes]` text
        counts (`textclf.task.fit_naive_bayes` counts them from a bag), with smoothing `alpha` (default: this
        layer's; a given one replaces it): kernel[j, c] = log((sum_cj + alpha) / (sum_c + alpha * features)),
        bias[c] = log(count_c / texts), scikit-learn's `MultinomialNB` attributes."""
        sums, counts = np.asarray(class_sums, dtype=np.float64), np.asarray(class_counts, dtype=np.float64)
        if sums.shape[0] != self.num_classes or counts.shape != (self.num_classes,):
            raise ValueError(f"fit needs sums and counts of {self.num_classes} classes, got {sums.shape[0]} and "
                             f"{counts.shape}")
        if alpha is not None:
            if alpha <= 0:
                raise ValueError(f"alpha must be > 0, got {alpha}")
            self.alpha = float(alpha)
        if not self.built:
            self.build((None, sums.shape[1]))
        self.counts = (sums, counts)
        smoothed = sums + self.alpha
        self.kernel.assign(np.log(smoothed / smoothed.sum(axis=1, keepdims=True)).T.astype("float32"))
        self.bias.assign(np.log(counts / counts.sum()).astype("float32"))

    def set_alpha(self, alpha: float) -> None:
        """Recounts the weights with smoothing `alpha` from the last `fit`'s counts (a layer loaded from disk has
        its weights but not the counts: ValueError)."""
        if self.counts is None:
            raise ValueError("set_alpha needs the counts of a fit in this process")
        self.fit(*self.counts, alpha=alpha)

    def call(self, inputs):
        log_likelihood = ops.matmul(inputs, ops.cast(self.kernel, inputs.dtype))  # sparse x dense: sparse-aware
        return ops.softmax(log_likelihood / self.input_scale + ops.cast(self.bias, log_likelihood.dtype), axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "alpha": self.alpha,
                "input_scale": self.input_scale}
