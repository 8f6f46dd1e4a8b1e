"""Text classifiers over token ids and/or a TF-IDF bag of n-grams, registered by name (tokenization is
added at export).

Every builder takes `num_classes` and returns an uncompiled functional `keras.Model` mapping its inputs to
class probabilities. Its inputs follow from its arguments (`input_names`):

- `vocabulary_size` and `sequence_length`: int token ids `token_ids` `[batch, sequence_length]` (0 =
  padding). Padding is masked end to end: embeddings -> attention -> pooling.
- `bag_size`: `bag` `[batch, bag_size]`, sparse: the L2-normalised TF-IDF of word (and character) n-grams of a
  `textclf.layers.BagOfNgrams` learnt on the training part (`textclf.task.make_bag_vectorizer`).

A model with one input `token_ids` takes that tensor; any other takes a dict keyed by input name.
"""

import inspect
import math
import warnings

import keras
import keras_hub
from keras import layers

from core.registry import Registry
from textclf.config import BAG_SCALE, NB_ALPHA_GRID, PATH_DROPOUT, TUNED, tuned
from textclf.layers import AddSinePositions, EncoderBlock, MultinomialNaiveBayes, PathDropout, ProbabilityMixture

# TokenAndPositionEmbedding's inner PositionEmbedding warns that it drops the mask, but the outer layer
# computes and propagates the padding mask itself (tests/textclf/test_models.py checks padding is inert).
warnings.filterwarnings("ignore", message="Layer 'position_embedding' .* was passed an input with a mask")

MODELS = Registry("text model")
build = MODELS.build
names = MODELS.names

# Builder argument -> the input it implies (see the module docstring).
_INPUT_OF_ARGUMENT = {"vocabulary_size": "token_ids", "bag_size": "bag"}


def input_names(name: str) -> tuple[str, ...]:
    """The inputs of the registered model `name`: ("token_ids",), ("token_ids", "bag") or ("bag",)."""
    parameters = inspect.signature(MODELS.get(name)).parameters
    return tuple(input for argument, input in _INPUT_OF_ARGUMENT.items() if argument in parameters)


def options(name: str, values: dict) -> dict:
    """The entries of `values` that the builder of `name` takes (e.g. `bag_scale` for the bag models)."""
    parameters = inspect.signature(MODELS.get(name)).parameters
    return {key: value for key, value in values.items() if key in parameters}


def _learned_positions(token_ids, vocabulary_size, sequence_length, embedding_dim):
    """keras-hub token + learned position embeddings; `mask_zero` starts the padding mask."""
    return keras_hub.layers.TokenAndPositionEmbedding(vocabulary_size, sequence_length, embedding_dim,
                                                      mask_zero=True, name="embedding")(token_ids)


def _projected_sine_positions(token_ids, vocabulary_size, sequence_length, embedding_dim, *, word_dim=300):
    """The seeds' input: 300-d word embeddings -> Dense to the model width, times sqrt(width) as in Vaswani
    et al. (else the unit-amplitude positions drown the small freshly initialised tokens), plus sinusoidal
    positions."""
    words = layers.Embedding(vocabulary_size, word_dim, mask_zero=True, name="embedding")(token_ids)
    projected = layers.Dense(embedding_dim, name="projection")(words)  # Dense carries the mask on
    return AddSinePositions(scale=math.sqrt(embedding_dim), name="sine_positions")(projected)


def _bag(bag_size):
    """The sparse `bag` input (`textclf.layers.BagOfNgrams`' TF-IDF, normalised and scaled there)."""
    return keras.Input((bag_size,), sparse=True, dtype="float32", name="bag")


def _with_naive_bayes(logits, bag, num_classes, naive_bayes, bag_scale):
    """The softmax of `logits`; with `naive_bayes`, mixed with a multinomial naive Bayes path's probabilities
    over the bag (`MultinomialNaiveBayes` in a `ProbabilityMixture`, whose weight is 0 until
    `textclf.task.calibrate_paths` sets it, with the smoothing)."""
    probabilities = layers.Activation("softmax", name="paths_probabilities" if naive_bayes else "probabilities")(logits)
    if not naive_bayes:
        return probabilities
    # float32 whatever the policy: its log-probabilities are about -12, and bfloat16 would round away their
    # differences
    counted = MultinomialNaiveBayes(num_classes, alpha=NB_ALPHA_GRID[len(NB_ALPHA_GRID) // 2], input_scale=bag_scale,
                                    dtype="float32", name="naive_bayes")(bag)
    return ProbabilityMixture(dtype="float32", name="probabilities")([probabilities, counted])


def _classify(features, num_classes, dropout, l2, *, activation="softmax", name="probabilities"):
    features = layers.Dropout(dropout, name=name.replace("probabilities", "head") + "_dropout")(features)
    regularizer = keras.regularizers.L2(l2) if l2 else None
    return layers.Dense(num_classes, activation=activation, kernel_regularizer=regularizer, name=name)(features)


def _transformer(name, vocabulary_size, sequence_length, num_classes, *, embedding_dim, num_layers, num_heads,
                 intermediate_dim, dropout, l2, pool_embeddings, embed=_learned_positions, bag_size=None,
                 path_dropout=PATH_DROPOUT, naive_bayes=False, bag_scale=BAG_SCALE):
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
    if bag_size is None:
        return keras.Model(token_ids, _classify(pooled, num_classes, dropout, l2), name=name)
    # Wide and deep: the softmax of deep logits + wide (TF-IDF, linear) logits, so the model contains the
    # TF-IDF + logistic-regression peer and attention has to add to it; PathDropout trains each path alone
    # on some examples, else the deep one fits the training data first and the wide one stays untrained.
    bag = _bag(bag_size)
    deep = _classify(pooled, num_classes, dropout, l2, activation=None, name="deep_logits")
    wide = _classify(bag, num_classes, 0.0, l2, activation=None, name="wide_logits")
    logits = PathDropout(path_dropout, name="path_dropout")([deep, wide])
    probabilities = _with_naive_bayes(logits, bag, num_classes, naive_bayes, bag_scale)
    return keras.Model({"token_ids": token_ids, "bag": bag}, probabilities, name=name)


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


@MODELS.register("wide_deep")
def build_wide_deep(vocabulary_size: int, sequence_length: int, num_classes: int, *, bag_size: int,
                    l2: float = TUNED["l2"], dropout: float = tuned("wide_deep")["dropout"],
                    path_dropout: float = PATH_DROPOUT, naive_bayes: bool = False,
                    bag_scale: float = BAG_SCALE) -> keras.Model:
    """Wide and deep: `compact`'s pooled encoder and embeddings (deep logits) beside a linear layer on a
    TF-IDF bag of n-grams (wide logits), one softmax over their sum.
    Inputs `{"token_ids": [batch, sequence_length], "bag": [batch, bag_size]}`.

    Args:
        vocabulary_size, sequence_length: of the token ids (the deep, attention path).
        num_classes: classes of the softmax.
        bag_size: TF-IDF features of the sparse bag (the wide, linear path).
        l2: L2 factor on the feed-forward and output kernels (the wide weights included).
        dropout: of embeddings, attention and the deep head (not of the bag).
        path_dropout: `PathDropout`'s rate: the share of training examples that train one path alone
            (`textclf.config.PATH_DROPOUT`).
        naive_bayes: mix the model's probabilities with multinomial naive Bayes over the bag (off here, on in
            `TextConfig`, which passes it: a builder's model has no counts until `fit_naive_bayes`)
            (`MultinomialNaiveBayes`: weights counted by `textclf.task.fit_naive_bayes` before training; the
            mixture weight, 0 until then, and the smoothing chosen by `textclf.task.calibrate_paths`).
        bag_scale: the bag's `scale` (`textclf.layers.BagOfNgrams`), which naive Bayes divides out.
    Example:
        >>> model = build_wide_deep(1000, 32, 4, bag_size=5000)
        >>> bag = tf.sparse.SparseTensor([[0, 7], [1, 42]], [1.0, 1.0], [2, 5000])
        >>> model({"token_ids": np.ones((2, 32), "int32"), "bag": bag}).shape
        TensorShape([2, 4])
    """
    return _transformer("wide_deep", vocabulary_size, sequence_length, num_classes, embedding_dim=64,
                        num_layers=1, num_heads=2, intermediate_dim=128, dropout=dropout, l2=l2,
                        pool_embeddings=True, bag_size=bag_size, path_dropout=path_dropout,
                        naive_bayes=naive_bayes, bag_scale=bag_scale)


@MODELS.register("bag")
def build_bag(num_classes: int, *, bag_size: int, l2: float = TUNED["l2"],
              dropout: float = TUNED["dropout"], naive_bayes: bool = False,
              bag_scale: float = BAG_SCALE) -> keras.Model:
    """`wide_deep` without its deep path: softmax regression on the TF-IDF bag alone, trained like every
    model here (the ablation that shows what attention and embeddings add). Input `{"bag": [batch, bag_size]}`,
    sparse.

    Args: as `build_wide_deep`'s (`naive_bayes` adds the same naive Bayes path); `dropout`, of the deep path
    there, has nothing to act on here (the bag has none in either model), so the two rows of a benchmark with
    one `--set dropout=...` differ by the deep path only.

    Example:
        >>> build_bag(4, bag_size=5000)({"bag": tf.sparse.SparseTensor([[0, 7]], [1.0], [1, 5000])}).shape
        TensorShape([1, 4])
    """
    bag = _bag(bag_size)
    wide = _classify(bag, num_classes, 0.0, l2, activation=None, name="wide_logits")  # named as in wide_deep
    return keras.Model({"bag": bag}, _with_naive_bayes(wide, bag, num_classes, naive_bayes, bag_scale), name="bag")
