"""Masked-token pre-training of a text model's embeddings and attention on its own training texts.

Self-supervised and label-free: BERT's masked language modelling (Devlin et al. 2019), run on the downstream
training texts themselves, the only texts there are here (no pretrained weights can be downloaded; Krishna et al.
2022, "Downstream datasets make surprisingly good pretraining corpora", pre-train on them the same way). Before the
classification fit, a masked-language model that shares the classifier's embedding and encoder layers learns to
recover hidden tokens; the classifier then starts from those weights.

    history = pretrain(model, vectorizer, train_texts, epochs=10, seed=0)   # updates `model`'s layers in place

Choices of our own, beside BERT's:
- The classifier's `TextVectorization` with `ngrams=2` lists a text's words and then its word pairs. A hidden word
  would still be readable from its pairs, so pre-training reads the words alone (`word_vectorizer`: the same
  vocabulary and ids) and predicts only words. The word embeddings, positions, attention and feed-forward layers
  learn here; the pairs' embeddings get no gradient and learn in the classification fit.
- The mask token is [UNK] (id 1): the vocabulary has no mask token, and [UNK] is never chosen to be hidden.
- Dropout at most `PRETRAIN_DROPOUT` while pre-training, whatever the classifier's (restored afterwards).
"""

import contextlib
import math
import warnings

import keras
import keras_hub
import numpy as np
import tensorflow as tf

MASK_TOKEN_ID = 1  # TextVectorization's [UNK] (0 is padding)
# Dropout in pre-training, at most (BERT's 0.1): wide_deep's 0.5, tuned for the classification fit, would hide
# half of what the masked words are to be recovered from.
PRETRAIN_DROPOUT = 0.1

# The head reads only the chosen positions, and padding is never chosen, so the padding mask it drops is not needed.
warnings.filterwarnings("ignore", message="Layer 'masked_lm_head' .* was passed an input with a mask")


def encoder_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The layers a masked-language model shares with `model`, in order: "embedding", "embedding_dropout" and
    every "encoder_N" block; empty for a model without them (the `bag` model, or one not built by
    `textclf.models._transformer` with learned positions)."""
    names = [layer.name for layer in model.layers]
    if "embedding" not in names or "embedding_dropout" not in names or "encoder_0" not in names:
        return []
    embedding = model.get_layer("embedding")
    if not isinstance(embedding, keras_hub.layers.TokenAndPositionEmbedding):
        return []  # the seed model's projected word embeddings: not supported (see `can_pretrain`)
    encoders = [model.get_layer(name) for name in names if name.startswith("encoder_")]
    return [embedding, model.get_layer("embedding_dropout"), *encoders]


def can_pretrain(model: keras.Model) -> bool:
    """Whether `pretrain` applies to `model`: token and learned-position embeddings and encoder blocks
    (`compact`, `wide_deep`); not the `bag` model (no tokens) nor `seed` (its embeddings are projected)."""
    return bool(encoder_layers(model))


def masked_lm_model(model: keras.Model, mask_length: int, vocabulary: list[str]) -> keras.Model:
    """A masked-language model over `model`'s shared embedding and encoder layers, with a
    `keras_hub.layers.MaskedLMHead` whose output weights are the token embedding's (tied, as in BERT).

    Inputs `{"token_ids": [batch, sequence_length], "mask_positions": [batch, mask_length]}`; output: logits
    `[batch, mask_length, vocabulary_size]` of the tokens at the masked positions. Only words can be predicted:
    the logits of word pairs, padding and [UNK] (entries of `vocabulary`, the classifier's) are -1e9, so the
    pairs' embeddings get no gradient from the tied head."""
    shared = encoder_layers(model)
    if not shared:
        raise ValueError(f"model {model.name!r} has no token embedding and encoder blocks to pre-train")
    embedding = shared[0]
    token_ids = keras.Input((embedding.sequence_length,), dtype="int32", name="token_ids")
    mask_positions = keras.Input((mask_length,), dtype="int32", name="mask_positions")
    x = token_ids
    for layer in shared:
        x = layer(x)
    logits = keras_hub.layers.MaskedLMHead(token_embedding=embedding.token_embedding, intermediate_activation="gelu",
                                           dtype="float32", name="masked_lm_head")(x, mask_positions=mask_positions)
    offsets = np.array([0.0 if index > MASK_TOKEN_ID and " " not in token else -1e9
                        for index, token in enumerate(vocabulary)], dtype="float32")
    # A Lambda: this model is trained once and never saved.
    words_only = keras.layers.Lambda(lambda values: values + offsets, name="words_only")(logits)
    return keras.Model({"token_ids": token_ids, "mask_positions": mask_positions}, words_only, name="masked_lm")


def word_vectorizer(vectorizer: keras.layers.TextVectorization) -> keras.layers.TextVectorization:
    """A `TextVectorization` of words only, with `vectorizer`'s vocabulary (so the same ids), standardisation,
    split and length: the words of a text without the word pairs that `ngrams=2` adds, which would give a
    hidden word away (an unknown pair would still arrive, as [UNK])."""
    settings = vectorizer.get_config()
    return keras.layers.TextVectorization(standardize=settings["standardize"], split=settings["split"],
                                          output_mode="int", output_sequence_length=settings["output_sequence_length"],
                                          vocabulary=vectorizer.get_vocabulary(include_special_tokens=False))


@contextlib.contextmanager
def dropout_at_most(layers: list[keras.layers.Layer], rate: float):
    """Every `keras.layers.Dropout` inside `layers` at most `rate` while the block runs (a model traced then
    keeps it), then back to its own rate."""
    dropouts = [inner for layer in layers for inner in layer._flatten_layers()  # Keras's own layer walk
                if isinstance(inner, keras.layers.Dropout)]
    rates = [dropout.rate for dropout in dropouts]
    for dropout in dropouts:
        dropout.rate = min(dropout.rate, rate)
    try:
        yield
    finally:
        for dropout, own in zip(dropouts, rates):
            dropout.rate = own


def pretrain(model: keras.Model, vectorizer: keras.layers.TextVectorization, texts: list[str], *, epochs: int,
             mask_rate: float = 0.15, batch_size: int = 32, learning_rate: float = 1e-3, seed: int = 0) -> dict:
    """Trains `model`'s embedding and encoder layers (in place) to recover masked words of `texts` for
    `epochs` epochs (Adam, warm-up then cosine decay, dropout at most `PRETRAIN_DROPOUT`); returns the history,
    `{"loss": [...], "accuracy": [...]}` per epoch (accuracy: of the masked words' predictions).

    Args:
        model: a classifier for which `can_pretrain` holds.
        vectorizer: its `TextVectorization` (its words only are used, see `word_vectorizer`).
        texts: the training texts (never validation or test texts).
        epochs: passes over `texts`.
        mask_rate: share of each text's words chosen for prediction (BERT: 0.15); 90 % of those are replaced
            by the mask token, 10 % left as they are (BERT's 10 % random tokens would mostly be word pairs
            here, which the model never sees in pre-training).
        batch_size, learning_rate: of the pre-training (its own optimizer; the classifier's is untouched).
        seed: of the shuffling (the masking draws from TensorFlow's global seed, which `core.runner` sets).
    """
    # Imported here: textclf.task imports this module.
    from textclf.task import token_ids

    shared = encoder_layers(model)
    # The texts' word ids, once: every epoch masks them afresh, none tokenizes again.
    ids = token_ids(word_vectorizer(vectorizer), tf.constant(list(texts)))
    # Masks per text, at most: `mask_rate` of the 99th percentile of the texts' word counts (longer texts get
    # that many), not of the sequence length: the head's cost grows with it, and short texts would pad it.
    counts = np.count_nonzero(np.asarray(ids), axis=1)
    mask_length = max(1, math.ceil(mask_rate * np.percentile(counts, 99)))
    masker = keras_hub.layers.MaskedLMMaskGenerator(
        vocabulary_size=vectorizer.vocabulary_size(), mask_selection_rate=mask_rate, mask_token_id=MASK_TOKEN_ID,
        mask_selection_length=mask_length, unselectable_token_ids=[0, MASK_TOKEN_ID], mask_token_rate=0.9,
        random_token_rate=0.0)

    def masked(batch):
        hidden = masker(batch)
        return ({"token_ids": hidden["token_ids"], "mask_positions": hidden["mask_positions"]},
                hidden["mask_ids"], hidden["mask_weights"])

    batches = (tf.data.Dataset.from_tensor_slices(ids).shuffle(len(texts), seed=seed)
               .batch(batch_size).map(masked, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE))
    steps = epochs * max(1, math.ceil(len(texts) / batch_size))
    # The classifier's layers live in its distribution strategy; the head and optimizer must too.
    with model.distribute_strategy.scope(), dropout_at_most(shared, PRETRAIN_DROPOUT):
        schedule = keras.optimizers.schedules.CosineDecay(0.0, steps - steps // 10, warmup_target=learning_rate,
                                                          warmup_steps=steps // 10)
        masked_lm = masked_lm_model(model, mask_length, vectorizer.get_vocabulary())
        # Adam without weight decay: rows of the tied embedding that get no gradient (the pairs') stay as they are.
        masked_lm.compile(optimizer=keras.optimizers.Adam(schedule),
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True,
                                                                          reduction="mean_with_sample_weight"),
                          weighted_metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
        history = masked_lm.fit(batches, epochs=epochs, verbose=0, shuffle=False)  # the dataset shuffles
    return {key: [float(value) for value in values] for key, values in history.history.items()
            if key in ("loss", "accuracy")}
