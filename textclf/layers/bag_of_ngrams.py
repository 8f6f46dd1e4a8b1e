"""Strings -> a sparse TF-IDF bag of word (and character) n-grams, weighted as scikit-learn's `TfidfVectorizer`."""

import keras
import numpy as np
import tensorflow as tf


@keras.saving.register_keras_serializable(package="textclf")
class BagOfNgrams(keras.layers.Layer):
    """Strings -> sparse TF-IDF of word 1..`ngrams`-grams (and character n-grams), each part L2-normalised
    and multiplied by `scale`.

    Tokens are `keras.layers.TextVectorization`'s (lower-cased, punctuation stripped; words split on
    whitespace, or characters, spaces included, for the character part), counted sparsely
    (`output_mode="count", sparse=True`). The weighting is scikit-learn's `TfidfVectorizer(sublinear_tf=True)`:
    tf = 1 + ln(count), idf = ln((1 + n) / (1 + df)) + 1 over the n texts given to `adapt`, each part's rows
    scaled to unit L2 norm (as a `FeatureUnion` of a word and a character vectorizer). Out-of-vocabulary
    n-grams are dropped, so a text with no known n-gram (e.g. "") is an empty row. (`TextVectorization`'s own
    `output_mode="tf_idf"` has neither the sublinear tf nor the normalisation, and its sparse output fails in
    Keras 3.15; a dense bag of ~10^5 n-grams costs ~30 times more to serve than this sparse one.)

    The output is a `tf.SparseTensor` `[batch, vocabulary_size()]` (TensorFlow backend), the input of a
    model's `keras.Input(sparse=True)`: the word part's columns, then the character part's.

    Args:
        max_tokens: the most frequent word n-grams kept (None: all of the adapted texts').
        ngrams: word n-grams up to this length (1: words only).
        char_ngrams: `(shortest, longest)` character n-grams to add, or None for words only.
        char_max_tokens: the most frequent character n-grams kept (None: all).
        sublinear_tf: 1 + ln(count) instead of the count.
        scale: each part's unit-norm rows are multiplied by this (a linear layer on them then needs smaller
            weights).
        **kwargs: standard `keras.layers.Layer` arguments.

    Call arguments:
        inputs: a string tensor `[batch]`.

    Example:
        >>> bag = BagOfNgrams(ngrams=2, char_ngrams=(2, 4))
        >>> bag.adapt(["stocks rally", "team wins the final"])
        >>> bag(tf.constant(["stocks rally today", ""]))  # SparseTensor, dense_shape [2, bag.vocabulary_size()]
    """

    def __init__(self, max_tokens: int | None = None, ngrams: int = 2, char_ngrams: tuple[int, int] | None = None,
                 char_max_tokens: int | None = None, sublinear_tf: bool = True, scale: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.max_tokens = max_tokens
        self.ngrams = ngrams
        self.char_ngrams = tuple(char_ngrams) if char_ngrams else None
        self.char_max_tokens = char_max_tokens
        self.sublinear_tf = sublinear_tf
        self.scale = scale
        self.parts = [keras.layers.TextVectorization(max_tokens=max_tokens, ngrams=ngrams, output_mode="count",
                                                     sparse=True, name="words")]
        if self.char_ngrams:
            shortest, longest = self.char_ngrams
            self.parts.append(keras.layers.TextVectorization(
                max_tokens=char_max_tokens, split="character", ngrams=tuple(range(shortest, longest + 1)),
                output_mode="count", sparse=True, name="characters"))
        self.idf = None

    def adapt(self, texts, batch_size: int = 1024):
        """Learns the vocabularies and the document frequencies from `texts` (a list of strings)."""
        texts = list(texts)
        idf = []
        for part in self.parts:
            # In batches: given one tensor, TextVectorization splits every text at once (for character 2-5-grams
            # of 114,000 texts that peaked at 6.4 GiB); the counts, and so the vocabulary, are the same.
            part.adapt(tf.data.Dataset.from_tensor_slices(tf.constant(texts)).batch(batch_size))
            frequencies = np.zeros(part.vocabulary_size())
            for start in range(0, len(texts), batch_size):
                counts = part(tf.constant(texts[start:start + batch_size]))
                frequencies += np.bincount(counts.indices[:, 1].numpy(), minlength=len(frequencies))
            weights = np.log((1 + len(texts)) / (1 + frequencies)) + 1
            weights[0] = 0.0  # the out-of-vocabulary column (dropped in `call`)
            idf.append(weights)
        self._set_idf(np.concatenate(idf))

    def _set_idf(self, idf):
        if self.idf is None or tuple(self.idf.shape) != (len(idf),):
            self.idf = self.add_weight(shape=(len(idf),), initializer="zeros", trainable=False, name="idf")
        self.idf.assign(np.asarray(idf, dtype="float32"))
        self.built = True

    def vocabulary_size(self) -> int:
        """Columns of the output: every part's vocabulary (its out-of-vocabulary column included)."""
        return sum(part.vocabulary_size() for part in self.parts)

    def _weighted(self, part, inputs, offset):
        counts = part(inputs)
        counts = tf.sparse.retain(counts, counts.indices[:, 1] > 0)  # out-of-vocabulary n-grams dropped
        values = tf.cast(counts.values, "float32")
        if self.sublinear_tf:
            values = 1.0 + tf.math.log(values)
        columns = counts.indices[:, 1] + tf.cast(offset, tf.int64)
        values *= tf.gather(tf.convert_to_tensor(self.idf), columns)
        rows = counts.indices[:, 0]
        norms = tf.sqrt(tf.math.unsorted_segment_sum(tf.square(values), rows, tf.shape(inputs, tf.int64)[0]))
        values = self.scale * values / tf.maximum(tf.gather(norms, rows), 1e-12)
        return tf.stack([rows, columns], axis=1), values

    def call(self, inputs):
        if self.idf is None:
            raise ValueError("BagOfNgrams: call adapt(texts) first")
        indices, values, offset = [], [], 0
        for part in self.parts:
            part_indices, part_values = self._weighted(part, inputs, offset)
            indices.append(part_indices)
            values.append(part_values)
            offset += part.vocabulary_size()
        shape = tf.stack([tf.shape(inputs, tf.int64)[0], tf.cast(offset, tf.int64)])
        # Each part is in row-major order; the concatenation is reordered so that the tensor is canonical.
        return tf.sparse.reorder(tf.SparseTensor(tf.concat(indices, 0), tf.concat(values, 0), shape))

    def compute_output_spec(self, inputs):
        return keras.KerasTensor((inputs.shape[0], self.vocabulary_size()), dtype="float32", sparse=True)

    def save_own_variables(self, store):
        store["idf"] = np.asarray(self.idf)

    def load_own_variables(self, store):
        self._set_idf(store["idf"])

    def get_config(self):
        return {**super().get_config(), "max_tokens": self.max_tokens, "ngrams": self.ngrams,
                "char_ngrams": self.char_ngrams, "char_max_tokens": self.char_max_tokens,
                "sublinear_tf": self.sublinear_tf, "scale": self.scale}
