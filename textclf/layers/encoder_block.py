"""A transformer encoder block built on the explicit `SelfAttention` layer."""

import keras

from textclf.layers.self_attention import SelfAttention


@keras.saving.register_keras_serializable(package="textclf")
class EncoderBlock(keras.layers.Layer):
    """Post-norm transformer encoder block: x + SelfAttention(x) -> LayerNorm -> + FeedForward -> LayerNorm.

    Args:
        num_heads: attention heads.
        key_dim: size of each head's queries and keys.
        intermediate_dim: width of the feed-forward layer.
        dropout: dropout after attention and feed-forward (and on attention weights).
        l2: L2 factor on every kernel of the feed-forward layers.
        **kwargs: standard `keras.layers.Layer` arguments.

    Call arguments:
        inputs: [batch, time, features]; mask: optional padding mask [batch, time].
    """

    def __init__(self, num_heads: int, key_dim: int, intermediate_dim: int, dropout: float = 0.1,
                 l2: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.l2 = l2
        self.supports_masking = True

    def build(self, input_shape):
        features = input_shape[-1]
        regularizer = keras.regularizers.L2(self.l2) if self.l2 else None
        self.attention = SelfAttention(self.num_heads, self.key_dim, dropout=self.dropout, name="attention")
        self.attention_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="attention_norm")
        self.intermediate = keras.layers.Dense(self.intermediate_dim, activation="gelu",
                                               kernel_regularizer=regularizer, name="intermediate")
        self.projection = keras.layers.Dense(features, kernel_regularizer=regularizer, name="projection")
        self.output_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="output_norm")
        self.dropout_layer = keras.layers.Dropout(self.dropout)
        self.attention.build(input_shape)
        self.attention_norm.build(input_shape)
        self.intermediate.build(input_shape)
        self.projection.build((*input_shape[:-1], self.intermediate_dim))
        self.output_norm.build(input_shape)

    def call(self, inputs, mask=None, training=None, return_attention_scores: bool = False):
        attended, scores = self.attention(inputs, mask=mask, training=training, return_attention_scores=True)
        x = self.attention_norm(inputs + self.dropout_layer(attended, training=training))
        fed = self.projection(self.intermediate(x))
        outputs = self.output_norm(x + self.dropout_layer(fed, training=training))
        return (outputs, scores) if return_attention_scores else outputs

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"num_heads": self.num_heads, "key_dim": self.key_dim,
                       "intermediate_dim": self.intermediate_dim, "dropout": self.dropout, "l2": self.l2})
        return config
