"""The complement naive Bayes path (`ComplementNaiveBayes`, `nb_alpha`): scikit-learn's formulas, serialised
and saved, counted from the training part's bag, its weight chosen on validation data; a short run's export
serves raw strings with it."""

import numpy as np
import pytest
import tensorflow as tf
from sklearn.naive_bayes import ComplementNB

from core.errors import UserError
from tests.conftest import TEXT_WORDS
from tests.textclf.test_models import assert_predicts_serialises_and_saves
from tests.textclf.test_wide_deep import BAG_MODELS, _build, _inputs
from textclf import data, task
from textclf.config import NB_WEIGHT_GRID, PATH_WEIGHT_GRID, TextConfig
from textclf.layers import ComplementNaiveBayes


def test_complement_naive_bayes_is_scikit_learns():
    rng = np.random.default_rng(0)
    features = rng.random((60, 9)) * (rng.random((60, 9)) < 0.4)
    classes = rng.integers(0, 3, 60)
    reference = ComplementNB(alpha=0.3).fit(features, classes)
    layer = ComplementNaiveBayes(3, alpha=0.3)
    layer.fit(np.stack([features[classes == label].sum(axis=0) for label in range(3)]))
    np.testing.assert_allclose(np.asarray(layer.kernel), reference.feature_log_prob_.T, rtol=1e-5)
    sparse = tf.sparse.from_dense(tf.constant(features[:5], tf.float32))
    np.testing.assert_array_equal(np.asarray(layer(sparse)), np.zeros((5, 3)))  # weight 0 until calibrated
    layer.logit_weight.assign(0.5)
    np.testing.assert_allclose(np.asarray(layer(sparse)), 0.5 * features[:5] @ reference.feature_log_prob_.T,
                               rtol=1e-5)
    assert (np.asarray(layer(sparse)).argmax(axis=1) == reference.predict(features[:5])).all()
    with pytest.raises(ValueError, match="alpha > 0"):
        ComplementNaiveBayes(3, alpha=0.0)
    with pytest.raises(ValueError, match="sums of 3 classes"):
        layer.fit(np.ones((2, 9)))


@pytest.mark.parametrize("name", BAG_MODELS)
def test_bag_models_with_naive_bayes_serialise_and_save_its_counted_weights(name, tmp_path):
    model = _build(name, nb_alpha=0.3)
    layer = model.get_layer("naive_bayes")
    assert layer.get_config()["alpha"] == 0.3 and layer.get_config()["num_classes"] == 4
    layer.fit(np.random.default_rng(1).random((4, 30)))
    layer.logit_weight.assign(0.2)  # the calibrated weight is part of the saved state
    assert_predicts_serialises_and_saves(model, _inputs(name), tmp_path / f"{name}.keras")
    assert "naive_bayes" not in [layer.name for layer in _build(name).layers]  # off by default


def test_naive_bayes_is_counted_from_the_training_bag_in_unit_norm_units():
    texts = ["goal team win match", "bank profit shares rise", "team match goal", "shares bank rise profit"]
    train = data.TextData(texts, np.array([0, 1, 0, 1]), ["sport", "money"], "made in the test")
    config = TextConfig(model="bag", nb_alpha=0.5, bag_scale=10.0)
    bag = task.make_bag_vectorizer(config, texts)
    model = task.build_model(config, 10, 2, len(texts), bag_size=bag.vocabulary_size())
    assert task.fit_naive_bayes(model, bag, train)
    features = tf.sparse.to_dense(bag(tf.constant(texts))).numpy() / 10.0  # sklearn's unit-norm TF-IDF rows
    reference = ComplementNB(alpha=0.5).fit(features, train.labels)
    np.testing.assert_allclose(np.asarray(model.get_layer("naive_bayes").kernel), reference.feature_log_prob_.T,
                               rtol=1e-5)
    plain = task.build_model(TextConfig(model="bag"), 10, 2, len(texts), bag_size=bag.vocabulary_size())
    assert not task.fit_naive_bayes(plain, bag, train)
    with pytest.raises(UserError, match="--nb-alpha"):
        TextConfig(csv="news.csv", nb_alpha=-1.0).validate()


@pytest.mark.parametrize("name", BAG_MODELS)
def test_a_run_with_naive_bayes_calibrates_it_and_serves_raw_strings(name, tmp_path):
    rng = np.random.default_rng(0)
    rows = [f"{label},{' '.join(rng.choice(TEXT_WORDS[label].split(), size=6))} today\n"
            for label in ["sport", "money"] * 100]
    (tmp_path / "news.csv").write_text("label,text\n" + "".join(rows))
    epochs = 10 if name == "bag" else 2  # the linear model alone needs more of its 5 steps per epoch
    config = TextConfig(csv=str(tmp_path / "news.csv"), model=name, nb_alpha=0.3, epochs=epochs, sequence_length=16,
                        verbose=0, seed=0, test_curves=False, output_dir=str(tmp_path / "saved_models"),
                        reports_dir=str(tmp_path / "reports"), run_dir=str(tmp_path / "runs"))
    result = task.run(config)
    if name == "wide_deep":
        deep, wide = result.metrics["path_weights"]
        assert deep in PATH_WEIGHT_GRID and wide == 1.0
    else:
        assert "path_weights" not in result.metrics
    assert result.metrics["nb_weight"] in [pytest.approx(weight) for weight in NB_WEIGHT_GRID]  # float32
    assert result.metrics["nb_weight"] > 0  # calibrated, not left at 0: its counts separate these classes
    assert result.metrics["test"]["accuracy"] > 0.9
    serve = tf.saved_model.load(str(result.export_dir)).signatures["serving_default"]
    answer = serve(text=tf.constant([b"goal team win", b"bank profit shares", b"", b"\xff not utf-8"]))
    assert [name.decode() for name in answer["class_name"].numpy()[:2]] == ["sport", "money"]
    probabilities = answer["probabilities"].numpy()
    assert np.isfinite(probabilities).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
