"""Text classifiers over token ids, registered by name (tokenization is added at export).

Every builder takes `vocabulary_size`, `sequence_length` and `num_classes` and returns an uncompiled
functional `keras.Model` mapping int token ids `[batch, sequence_length]` (0 = padding) to class
probabilities. Padding is masked end to end: embeddings -> attention -> pooling.
"""

import warnings

import keras
import keras_hub
from keras import layers

from core.registry import Registry
from textclf.config import TUNED
from textclf.layers import AddSinePositions, EncoderBlock

# TokenAndPositionEmbedding's inner PositionEmbedding warns that it drops the mask, but the outer layer
# computes and propagates the padding mask itself (tests/textclf/test_models.py checks padding is inert).
warnings.filterwarnings("ignore", message="Layer 'position_embedding' .* was passed an input with a mask")

MODELS = Registry("text model")
build = MODELS.build
names = MODELS.names


def _learned_positions(token_ids, vocabulary_size, sequence_length, embedding_dim):
    """keras-hub token + learned position embeddings; `mask_zero` starts the padding mask."""
    return keras_hub.layers.TokenAndPositionEmbedding(vocabulary_size, sequence_length, embedding_dim,
                                                      mask_zero=True, name="embedding")(token_ids)


def _projected_sine_positions(token_ids, vocabulary_size, sequence_length, embedding_dim, *, word_dim=300):
    """The seeds' input: 300-d word embeddings -> Dense to the model width, plus sinusoidal positions."""
    words = layers.Embedding(vocabulary_size, word_dim, mask_zero=True, name="embedding")(token_ids)
    projected = layers.Dense(embedding_dim, name="projection")(words)  # Dense carries the mask on
    return AddSinePositions(name="sine_positions")(projected)


def _transformer(name, vocabulary_size, sequence_length, num_classes, *, embedding_dim, num_layers, num_heads,
                 intermediate_dim, dropout, l2, pool_embeddings, embed=_learned_positions):
    token_ids = keras.Input((sequence_length,), dtype="int32", name="token_ids")
    embedded = embed(token_ids, vocabulary_size, sequence_length, embedding_dim)
    x = layers.Dropout(dropout, name="embedding_dropout")(embedded)
    for index in range(num_layers):
        x = EncoderBlock(num_heads, embedding_dim // num_heads, intermediate_dim, dropout=dropout, l2=l2,
                         name=f"encoder_{index}")(x)
    pooled = layers.GlobalAveragePooling1D(name="pool_encoded")(x)  # mask-aware mean over real tokens
    if pool_embeddings:  # a bag-of-embeddings path beside attention: strong on small data
        pooled = layers.Concatenate(name="with_pooled_embeddings")(
            [pooled, layers.GlobalAveragePooling1D(name="pool_embeddings")(embedded)])
    pooled = layers.Dropout(dropout, name="head_dropout")(pooled)
    regularizer = keras.regularizers.L2(l2) if l2 else None
    probabilities = layers.Dense(num_classes, activation="softmax", kernel_regularizer=regularizer,
                                 name="probabilities")(pooled)
    return keras.Model(token_ids, probabilities, name=name)


@MODELS.register("compact")
def build_compact(vocabulary_size: int, sequence_length: int, num_classes: int, *, l2: float = TUNED["l2"],
                  dropout: float = TUNED["dropout"]) -> keras.Model:
    """A small CPU-friendly default: d=64, 1 encoder layer, 2 heads, pooled embeddings beside attention.
    `l2`/`dropout` default to `TextConfig`'s defaults (`textclf.config.TUNED`, the one source of them)."""
    return _transformer("compact", vocabulary_size, sequence_length, num_classes, embedding_dim=64, num_layers=1,
                        num_heads=2, intermediate_dim=128, dropout=dropout, l2=l2, pool_embeddings=True)


@MODELS.register("seed")
def build_seed(vocabulary_size: int, sequence_length: int, num_classes: int, *, l2: float = TUNED["l2"],
               dropout: float = TUNED["dropout"]) -> keras.Model:
    """The seeds' architecture: 300-d embeddings -> Dense 512, sinusoidal positions, 3 encoder layers,
    8 heads, feed-forward 2048, mean-pooled, softmax. `l2`/`dropout` default to `TextConfig`'s defaults like
    every builder's; the seeds trained it with dropout 0.1 and no L2 (`--variant dropout`)."""
    return _transformer("seed", vocabulary_size, sequence_length, num_classes, embedding_dim=512, num_layers=3,
                        num_heads=8, intermediate_dim=2048, dropout=dropout, l2=l2, pool_embeddings=False,
                        embed=_projected_sine_positions)
