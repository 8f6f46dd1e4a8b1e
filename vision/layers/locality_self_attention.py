"""Locality Self-Attention (Lee, Lee & Song 2021): multi-head self-attention with a learnt temperature
and the diagonal masked, so each token attends to the others instead of mostly to itself."""

import math

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="vision")
class LocalitySelfAttention(keras.layers.Layer):
    """softmax(mask_diag(Q Kᵀ / τ)) V per head, τ learnt (initialised to √key_dim), then an output projection.

    Written out rather than subclassing `keras.layers.MultiHeadAttention`, whose `_compute_attention`
    hook is private API.

    Args:
        num_heads: attention heads.
        key_dim: size of each head's queries, keys and values.
        dropout: dropout on the attention weights.
        **kwargs: standard `keras.layers.Layer` arguments.

    Call arguments:
        inputs: tokens [batch, tokens, features]; training: dropout on or off;
        return_attention_scores: also return the weights [batch, heads, tokens, tokens].
    """

    def __init__(self, num_heads: int, key_dim: int, dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.dropout = dropout
        projection = dict(output_shape=(None, num_heads, key_dim), bias_axes="hd")
        self.query = layers.EinsumDense("btf,fhd->bthd", name="query", **projection)
        self.key = layers.EinsumDense("btf,fhd->bthd", name="key", **projection)
        self.value = layers.EinsumDense("btf,fhd->bthd", name="value", **projection)
        self.attention_dropout = layers.Dropout(dropout)

    def build(self, input_shape):
        features = input_shape[-1]
        for projection in (self.query, self.key, self.value):
            projection.build(input_shape)
        self.output_projection = layers.EinsumDense("bthd,hdf->btf", output_shape=(None, features), bias_axes="f",
                                                    name="output")
        self.output_projection.build((None, None, self.num_heads, self.key_dim))
        self.temperature = self.add_weight(name="temperature", shape=(),
                                           initializer=keras.initializers.Constant(math.sqrt(self.key_dim)))

    def call(self, inputs, training=None, return_attention_scores=False):
        query, key, value = self.query(inputs), self.key(inputs), self.value(inputs)
        scores = ops.einsum("bthd,bshd->bhts", query, key) / ops.cast(self.temperature, query.dtype)
        tokens = ops.shape(inputs)[1]
        diagonal = ops.eye(tokens, dtype="bool")
        lowest = -6e4 if keras.backend.standardize_dtype(scores.dtype) == "float16" else -1e9
        scores = ops.where(diagonal[None, None], ops.cast(lowest, scores.dtype), scores)
        weights = ops.softmax(scores, axis=-1)
        attended = ops.einsum("bhts,bshd->bthd", self.attention_dropout(weights, training=training), value)
        output = self.output_projection(attended)
        return (output, weights) if return_attention_scores else output

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                "dropout": self.dropout}
