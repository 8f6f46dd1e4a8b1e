"""Masked-word pre-training (`textclf.pretraining`): word pairs hidden from it, layers shared with the
classifier, it learns a predictable corpus, and the task runs it before the classification fit."""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from core.errors import UserError
from textclf import models, pretraining, task
from textclf.config import TextConfig

# Two fixed word orders: a hidden word is predictable from its position and the words beside it.
CORPUS = ["alpha beta gamma delta epsilon zeta", "one two three four five six"] * 32


def _vectorizer(texts, sequence_length=16):
    vectorizer = keras.layers.TextVectorization(ngrams=2, output_mode="int", output_sequence_length=sequence_length)
    vectorizer.adapt(tf.constant(texts))
    return vectorizer


def test_pretraining_reads_words_alone_with_the_classifiers_ids():
    vectorizer = _vectorizer(CORPUS)
    pairs = np.asarray(vectorizer(tf.constant(["alpha beta gamma"])))[0]
    words = np.asarray(pretraining.word_vectorizer(vectorizer)(tf.constant(["alpha beta gamma"])))[0]
    vocabulary = vectorizer.get_vocabulary()
    assert [vocabulary[i] for i in words[:3]] == ["alpha", "beta", "gamma"]
    assert (words[:3] == pairs[:3]).all() and " " in vocabulary[pairs[3]]  # the pairs follow the words there
    assert not words[3:].any()


def test_dropout_is_capped_while_pretraining_then_restored():
    model = models.build("wide_deep", vocabulary_size=50, sequence_length=16, num_classes=2, bag_size=20,
                         dropout=0.5)
    shared = pretraining.encoder_layers(model)
    rates = lambda: {inner.rate for layer in shared for inner in layer._flatten_layers()  # noqa: E731
                     if isinstance(inner, keras.layers.Dropout)}
    assert rates() == {0.5}
    with pretraining.dropout_at_most(shared, 0.1):
        assert rates() == {0.1}
    assert rates() == {0.5}


def test_only_models_with_learned_positions_and_encoders_can_pretrain():
    sizes = {"vocabulary_size": 50, "sequence_length": 16, "num_classes": 2}
    assert pretraining.can_pretrain(models.build("compact", **sizes))
    assert pretraining.can_pretrain(models.build("wide_deep", **sizes, bag_size=20))
    assert not pretraining.can_pretrain(models.build("bag", num_classes=2, bag_size=20))
    assert not pretraining.can_pretrain(models.build("seed", **sizes))
    with pytest.raises(ValueError, match="no token embedding"):
        pretraining.masked_lm_model(models.build("bag", num_classes=2, bag_size=20), 3, ["", "[UNK]"])


def test_pretraining_learns_the_corpus_in_the_classifiers_own_layers():
    keras.utils.set_random_seed(0)
    vectorizer = _vectorizer(CORPUS)
    model = models.build("compact", vocabulary_size=vectorizer.vocabulary_size(), sequence_length=16,
                         num_classes=2, dropout=0.0)
    before = [np.array(weight) for weight in model.get_layer("encoder_0").get_weights()]
    embedding = np.array(model.get_layer("embedding").token_embedding.embeddings)
    history = pretraining.pretrain(model, vectorizer, CORPUS, epochs=12, batch_size=16, learning_rate=3e-3)
    assert len(history["loss"]) == len(history["accuracy"]) == 12
    assert history["loss"][-1] < history["loss"][0]
    # Chance is 1 in the 12 words; the two word orders make most hidden words predictable.
    assert history["accuracy"][-1] > 0.5
    after = model.get_layer("encoder_0").get_weights()
    assert all(not np.allclose(old, new) for old, new in zip(before, after))
    assert not np.allclose(embedding, model.get_layer("embedding").token_embedding.embeddings)
    # The masked-language model reads the same weights (tied output included): nothing was copied.
    masked_lm = pretraining.masked_lm_model(model, 3, vectorizer.get_vocabulary())
    shared = masked_lm.get_layer("embedding").token_embedding.embeddings
    assert shared is model.get_layer("embedding").token_embedding.embeddings


@pytest.mark.parametrize("model, pretrained", [("compact", True), ("bag", False)])
def test_the_task_pretrains_before_the_fit_and_reports_it(textclf_run, model, pretrained):
    config, _ = textclf_run
    config = dataclasses.replace(config, model=model, pretrain_epochs=2, epochs=1, test_curves=False)
    parts = task.prepare(config)
    parts["train"] = parts["train"].subset(np.arange(64))
    trained = task.fit(config, parts)
    assert (trained.pretraining is not None) == pretrained
    if pretrained:
        assert len(trained.pretraining["accuracy"]) == 2
        assert task.TASK.evaluate(config, task.TextInputs(parts), trained)["pretraining"] == trained.pretraining


def test_negative_pretrain_epochs_is_a_user_error():
    with pytest.raises(UserError, match="--pretrain-epochs"):
        TextConfig(csv="x.csv", pretrain_epochs=-1).validate()
