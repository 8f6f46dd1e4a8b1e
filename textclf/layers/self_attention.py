"""Multi-head self-attention written out step by step (the seeds' Part III)."""

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="textclf")
class SelfAttention(keras.layers.Layer):
    """Multi-head scaled dot-product self-attention with explicit projections.

    For an input x of shape [batch, time, features], each head h computes

        Q = x W_q + b_q,   K = x W_k + b_k,   V = x W_v + b_v
        A = softmax(Q K^T / sqrt(key_dim)),   padded keys masked out
        c = A V

    and the heads' outputs are combined by the output transformation z = act(c W_o + b_o). The
    weights have the same layout as `keras.layers.MultiHeadAttention`'s, so either can load the
    other's weights (tested).

    Why not just `MultiHeadAttention`: the layer is the teaching point of the text classifier, its
    attention weights are plotted in the report, and every step is visible here.

    Args:
        num_heads: number of attention heads.
        key_dim: size of each head's queries and keys.
        value_dim: size of each head's values; `key_dim` by default.
        use_bias: add b_q, b_k, b_v (and b_o).
        output_transform: combine the heads with W_o (and b_o); if False, the heads' outputs are
            concatenated to [batch, time, num_heads * value_dim].
        output_dim: size of z; the input's feature size by default.
        output_activation: activation of the output transformation (linear by default).
        dropout: dropout rate on the attention weights during training.
        kernel_initializer: initializer of every W.
        bias_initializer: initializer of every b.
        **kwargs: standard `keras.layers.Layer` arguments (name, dtype, ...).

    Call arguments:
        inputs: [batch, time, features].
        mask: optional boolean padding mask [batch, time] (True = real token); propagated from an
            `Embedding(mask_zero=True)` automatically.
        return_attention_scores: also return the attention weights [batch, heads, time, time].
        training: whether dropout is active.
    """

    def __init__(self, num_heads: int, key_dim: int, value_dim: int | None = None, use_bias: bool = True,
                 output_transform: bool = True, output_dim: int | None = None, output_activation=None,
                 dropout: float = 0.0, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 **kwargs):
        super().__init__(**kwargs)
        if num_heads < 1 or key_dim < 1:
            raise ValueError(f"num_heads and key_dim must be positive, got {num_heads} and {key_dim}")
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.value_dim = value_dim or key_dim
        self.use_bias = use_bias
        self.output_transform = output_transform
        self.output_dim = output_dim
        self.output_activation = keras.activations.get(output_activation)
        self.dropout = dropout
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.attention_dropout = keras.layers.Dropout(dropout)
        self.supports_masking = True

    def build(self, input_shape):
        features = input_shape[-1]
        heads = self.num_heads

        def weight(name, shape, initializer):
            return self.add_weight(name=name, shape=shape, initializer=initializer)

        # Created in MultiHeadAttention's order: query, key, value, output (kernel, then bias).
        self.query_kernel = weight("query_kernel", (features, heads, self.key_dim), self.kernel_initializer)
        self.query_bias = weight("query_bias", (heads, self.key_dim), self.bias_initializer) if self.use_bias else None
        self.key_kernel = weight("key_kernel", (features, heads, self.key_dim), self.kernel_initializer)
        self.key_bias = weight("key_bias", (heads, self.key_dim), self.bias_initializer) if self.use_bias else None
        self.value_kernel = weight("value_kernel", (features, heads, self.value_dim), self.kernel_initializer)
        self.value_bias = (weight("value_bias", (heads, self.value_dim), self.bias_initializer) if self.use_bias
                           else None)
        if self.output_transform:
            out = self.output_dim or features
            self.output_kernel = weight("output_kernel", (heads, self.value_dim, out), self.kernel_initializer)
            self.output_bias = weight("output_bias", (out,), self.bias_initializer) if self.use_bias else None

    def _project(self, inputs, kernel, bias):
        projected = ops.einsum("btf,fhd->bthd", inputs, kernel)
        return projected + bias if bias is not None else projected

    def call(self, inputs, mask=None, return_attention_scores: bool = False, training=None):
        query = self._project(inputs, self.query_kernel, self.query_bias)
        key = self._project(inputs, self.key_kernel, self.key_bias)
        value = self._project(inputs, self.value_kernel, self.value_bias)

        scores = ops.einsum("bqhd,bkhd->bhqk", query, key) / math.sqrt(self.key_dim)
        if mask is not None:  # padded keys get no attention
            keep = ops.expand_dims(ops.expand_dims(ops.cast(mask, "bool"), 1), 1)  # [batch, 1, 1, keys]
            scores = ops.where(keep, scores, ops.full_like(scores, -1e9))
        weights = ops.softmax(scores, axis=-1)
        context = ops.einsum("bhqk,bkhd->bqhd", self.attention_dropout(weights, training=training), value)

        if self.output_transform:
            outputs = ops.einsum("bqhd,hdo->bqo", context, self.output_kernel)
            if self.output_bias is not None:
                outputs = outputs + self.output_bias
            outputs = self.output_activation(outputs)
        else:
            outputs = ops.reshape(context, (ops.shape(context)[0], ops.shape(context)[1],
                                            self.num_heads * self.value_dim))
        return (outputs, weights) if return_attention_scores else outputs

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        size = (self.output_dim or input_shape[-1]) if self.output_transform else self.num_heads * self.value_dim
        return (*input_shape[:-1], size)

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "value_dim": self.value_dim,
            "use_bias": self.use_bias,
            "output_transform": self.output_transform,
            "output_dim": self.output_dim,
            "output_activation": keras.activations.serialize(self.output_activation),
            "dropout": self.dropout,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        })
        return config
