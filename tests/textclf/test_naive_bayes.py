"""The multinomial naive Bayes path (`MultinomialNaiveBayes` in a `ProbabilityMixture`, `--naive-bayes`):
scikit-learn's formulas, serialised and saved, counted from the training part's bag, its smoothing and mixture
weight chosen on validation data; a short run's export serves raw strings with it."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn.naive_bayes import MultinomialNB

from tests.conftest import TEXT_WORDS
from tests.textclf.test_models import assert_predicts_serialises_and_saves
from tests.textclf.test_wide_deep import BAG_MODELS, _build, _inputs
from textclf import data, task
from textclf.config import NB_ALPHA_GRID, NB_MIXTURE_GRID, PATH_WEIGHT_GRID, TextConfig
from textclf.layers import MultinomialNaiveBayes, ProbabilityMixture


def test_multinomial_naive_bayes_is_scikit_learns():
    rng = np.random.default_rng(0)
    features = rng.random((60, 9)) * (rng.random((60, 9)) < 0.4)
    classes = rng.integers(0, 3, 60)
    reference = MultinomialNB(alpha=0.3).fit(features, classes)
    layer = MultinomialNaiveBayes(3, alpha=1.0, input_scale=10.0)
    layer.fit(np.stack([features[classes == label].sum(axis=0) for label in range(3)]), np.bincount(classes), 0.3)
    assert layer.alpha == 0.3
    np.testing.assert_allclose(np.asarray(layer.kernel), reference.feature_log_prob_.T, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(layer.bias), reference.class_log_prior_, rtol=1e-5)
    scaled = tf.sparse.from_dense(tf.constant(10.0 * features[:5], tf.float32))  # input_scale divides it out
    np.testing.assert_allclose(np.asarray(layer(scaled)), reference.predict_proba(features[:5]), rtol=1e-4)
    with pytest.raises(ValueError, match="alpha > 0"):
        MultinomialNaiveBayes(3, alpha=0.0)
    with pytest.raises(ValueError, match="of 3 classes"):
        layer.fit(np.ones((2, 9)), np.ones(2))


def test_probability_mixture_is_the_first_until_weighted():
    first, second = np.array([[0.9, 0.1]], "float32"), np.array([[0.3, 0.7]], "float32")
    mixture = ProbabilityMixture()
    np.testing.assert_allclose(np.asarray(mixture([first, second])), first)
    mixture.mixture_weight.assign(0.5)
    np.testing.assert_allclose(np.asarray(mixture([first, second])), [[0.6, 0.4]], rtol=1e-6)


@pytest.mark.parametrize("name", BAG_MODELS)
def test_bag_models_with_naive_bayes_serialise_and_save_its_counted_weights(name, tmp_path):
    model = _build(name, naive_bayes=True, bag_scale=10.0)
    layer = model.get_layer("naive_bayes")
    assert layer.get_config()["input_scale"] == 10.0 and layer.get_config()["num_classes"] == 4
    layer.fit(np.random.default_rng(1).random((4, 30)), np.array([3, 1, 2, 2]), alpha=0.03)
    model.get_layer("probabilities").mixture_weight.assign(0.4)  # the calibrated weight is part of the saved state
    assert_predicts_serialises_and_saves(model, _inputs(name), tmp_path / f"{name}.keras")
    loaded = keras.models.load_model(tmp_path / f"{name}.keras").get_layer("naive_bayes")
    assert loaded.alpha == 0.03
    with pytest.raises(ValueError, match="counts of a fit"):  # the counts are not saved, only the weights
        loaded.set_alpha(0.1)
    layer.set_alpha(0.1)  # from the counts of the fit above
    assert layer.alpha == 0.1 and np.asarray(layer.kernel)[0, 0] == pytest.approx(np.log(
        (layer.counts[0][0, 0] + 0.1) / (layer.counts[0][0].sum() + 0.1 * 30)))
    assert "naive_bayes" not in [layer.name for layer in _build(name).layers]  # the builders: off by default


def test_naive_bayes_is_counted_from_the_training_bag_in_unit_norm_units():
    texts = ["goal team win match", "bank profit shares rise", "team match goal", "shares bank rise profit",
             "goal win"]
    train = data.TextData(texts, np.array([0, 1, 0, 1, 0]), ["sport", "money"], "made in the test")
    config = TextConfig(model="bag", naive_bayes=True, bag_scale=10.0)
    bag = task.make_bag_vectorizer(config, texts)
    model = task.build_model(config, 10, 2, len(texts), bag_size=bag.vocabulary_size())
    assert task.fit_naive_bayes(model, bag, train)
    layer = model.get_layer("naive_bayes")
    features = tf.sparse.to_dense(bag(tf.constant(texts))).numpy() / 10.0  # sklearn's unit-norm TF-IDF rows
    reference = MultinomialNB(alpha=layer.alpha).fit(features, train.labels)
    np.testing.assert_allclose(np.asarray(layer.kernel), reference.feature_log_prob_.T, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(layer.bias), reference.class_log_prior_, rtol=1e-5)
    plain = task.build_model(TextConfig(model="bag", naive_bayes=False), 10, 2, len(texts),
                             bag_size=bag.vocabulary_size())
    assert not task.fit_naive_bayes(plain, bag, train)


@pytest.mark.parametrize("name", BAG_MODELS)
def test_a_run_with_naive_bayes_calibrates_it_and_serves_raw_strings(name, tmp_path):
    rng = np.random.default_rng(0)
    rows = [f"{label},{' '.join(rng.choice(TEXT_WORDS[label].split(), size=6))} today\n"
            for label in ["sport", "money"] * 100]
    (tmp_path / "news.csv").write_text("label,text\n" + "".join(rows))
    epochs = 10 if name == "bag" else 2  # the linear model alone needs more of its 5 steps per epoch
    config = TextConfig(csv=str(tmp_path / "news.csv"), model=name, naive_bayes=True, epochs=epochs,
                        sequence_length=16, verbose=0, seed=0, test_curves=False,
                        output_dir=str(tmp_path / "saved_models"), reports_dir=str(tmp_path / "reports"),
                        run_dir=str(tmp_path / "runs"))
    result = task.run(config)
    if name == "wide_deep":
        deep, wide = result.metrics["path_weights"]
        assert deep in PATH_WEIGHT_GRID and wide == 1.0
    else:
        assert "path_weights" not in result.metrics
    assert result.metrics["nb_alpha"] in NB_ALPHA_GRID
    assert result.metrics["nb_mixture"] in [pytest.approx(weight) for weight in NB_MIXTURE_GRID]  # float32
    assert result.metrics["test"]["accuracy"] > 0.9
    serve = tf.saved_model.load(str(result.export_dir)).signatures["serving_default"]
    answer = serve(text=tf.constant([b"goal team win", b"bank profit shares", b"", b"\xff not utf-8"]))
    assert [name.decode() for name in answer["class_name"].numpy()[:2]] == ["sport", "money"]
    probabilities = answer["probabilities"].numpy()
    assert np.isfinite(probabilities).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_calibration_picks_the_validation_log_loss_minimum_and_refits_its_smoothing():
    rng = np.random.default_rng(2)
    words = {0: TEXT_WORDS["sport"].split(), 1: TEXT_WORDS["money"].split()}
    labels = rng.integers(0, 2, 80)
    # noisy texts (a third of their words from the other class) so that the grids' choices matter
    texts = [" ".join(rng.choice(words[label], 4).tolist() + rng.choice(words[1 - label], 2).tolist())
             for label in labels]
    train = data.TextData(texts[:60], labels[:60], ["sport", "money"], "made in the test")
    validation = data.TextData(texts[60:], labels[60:], ["sport", "money"], "made in the test")
    config = TextConfig(model="bag", bag_char_ngrams=0)
    bag = task.make_bag_vectorizer(config, train.texts)
    model = task.build_model(config, 10, 2, len(train), bag_size=bag.vocabulary_size())
    task.fit_naive_bayes(model, bag, train)
    trained = task.Trained(task.Features(("bag",), None, bag), model, {}, train.class_names, 0.0)
    linear = keras.Model(model.input, model.get_layer("wide_logits").output).predict(
        task._batches(trained, validation.texts), verbose=0)
    features = tf.sparse.to_dense(bag(tf.constant(validation.texts))).numpy() / config.bag_scale
    unit = tf.sparse.to_dense(bag(tf.constant(train.texts))).numpy() / config.bag_scale

    def log_loss(alpha, mixture):  # scikit-learn's naive Bayes, the linear path's softmax, mixed
        reference = MultinomialNB(alpha=alpha).fit(unit, train.labels).predict_proba(features)
        linear_probabilities = np.exp(linear) / np.exp(linear).sum(axis=1, keepdims=True)
        mixed = (1 - mixture) * linear_probabilities + mixture * reference
        return -np.log(mixed[np.arange(len(validation)), validation.labels]).mean()

    best = min(((alpha, mixture) for alpha in NB_ALPHA_GRID for mixture in NB_MIXTURE_GRID), key=lambda c: log_loss(*c))
    assert best[1] > 0  # the counted path earns a weight here, so the smoothing matters
    assert task.calibrate_paths(trained, validation) == [1.0]
    settings = task.naive_bayes_settings(model)
    assert (settings["nb_alpha"], settings["nb_mixture"]) == (best[0], pytest.approx(best[1]))
    reference = MultinomialNB(alpha=best[0]).fit(unit, train.labels)
    np.testing.assert_allclose(np.asarray(model.get_layer("naive_bayes").kernel), reference.feature_log_prob_.T,
                               rtol=1e-5)  # refit with the chosen smoothing, not left at the grid's last
    predicted = task.predict(trained, validation.texts)
    assert -np.log(predicted[np.arange(len(validation)), validation.labels]).mean() == pytest.approx(
        log_loss(*best), rel=1e-4)
