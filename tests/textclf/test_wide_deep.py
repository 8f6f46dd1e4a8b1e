"""The models with a TF-IDF bag input (`wide_deep`, and `bag`, its ablation without the deep path), their
layers (`BagOfNgrams`, `PathDropout`): built, serialised, saved and reloaded; the bag weighted as
scikit-learn's and learnt on the training part only; a short run's export serving raw strings, hostile ones
included, loaded with nothing but TensorFlow."""

import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import TEXT_WORDS
from tests.textclf.test_models import assert_predicts_serialises_and_saves
from textclf import data, models, task
from textclf.config import BAG_SCALE, PATH_DROPOUT, PATH_WEIGHT_GRID, TextConfig
from textclf.layers import BagOfNgrams, PathDropout

BAG_MODELS = [name for name in models.names() if "bag" in models.input_names(name)]


def _sparse(dense):
    return tf.sparse.from_dense(tf.constant(dense, tf.float32))


def _build(name, bag_size=30, **kwargs):
    sizes = {"vocabulary_size": 100, "sequence_length": 12} if "token_ids" in models.input_names(name) else {}
    return models.build(name, **sizes, num_classes=4, bag_size=bag_size, **kwargs)


def _inputs(name, bag_size=30):
    rng = np.random.default_rng(0)
    values = {"token_ids": tf.constant([[5, 6, 7] + [0] * 9, list(range(1, 13))], tf.int32),
              "bag": _sparse(rng.random((2, bag_size)) * (rng.random((2, bag_size)) < 0.2))}
    return {key: values[key] for key in models.input_names(name)}


def test_input_names_follow_the_builders_arguments():
    assert models.input_names("compact") == models.input_names("seed") == ("token_ids",)
    assert models.input_names("wide_deep") == ("token_ids", "bag")
    assert models.input_names("bag") == ("bag",)
    assert set(BAG_MODELS) == {"wide_deep", "bag"}


@pytest.mark.parametrize("name", BAG_MODELS)
def test_bag_models_build_predict_serialise_and_save(name, tmp_path):
    model = _build(name)
    if name == "wide_deep":  # calibrated path weights are part of the saved state
        model.get_layer("path_dropout").path_weights.assign([0.3, 1.0])
    assert_predicts_serialises_and_saves(model, _inputs(name), tmp_path / f"{name}.keras")


@pytest.mark.parametrize("name", BAG_MODELS)
def test_bag_builders_default_to_the_config_defaults(name):
    config = TextConfig(model=name)
    model = _build(name)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert dense and all(layer.kernel_regularizer.l2 == pytest.approx(config.l2, rel=1e-6) for layer in dense)
    assert {layer.rate for layer in _build(name, dropout=0.3).layers if isinstance(layer, keras.layers.Dropout)} == (
        {0.3, 0.0} if name == "wide_deep" else {0.0})  # never on the bag
    if name == "wide_deep":
        assert model.get_layer("path_dropout").rate == config.path_dropout == PATH_DROPOUT
        assert _build(name, path_dropout=0.2).get_layer("path_dropout").rate == 0.2


def test_wide_deep_contains_the_bag_model():
    """With its deep logits at zero, `wide_deep` is `bag`: the linear model is inside it."""
    bag, wide_deep = _build("bag"), _build("wide_deep")
    wide_deep.get_layer("wide_logits").set_weights(bag.get_layer("wide_logits").get_weights())
    deep = wide_deep.get_layer("deep_logits")
    deep.set_weights([np.zeros(weight.shape) for weight in deep.get_weights()])
    inputs = _inputs("wide_deep")
    np.testing.assert_allclose(np.asarray(wide_deep(inputs)), np.asarray(bag({"bag": inputs["bag"]})), atol=1e-5)


def test_path_dropout_sums_at_inference_and_trains_single_paths():
    deep, wide = np.full((4000, 3), 1.0, "float32"), np.full((4000, 3), 10.0, "float32")
    layer = PathDropout(rate=0.5, seed=3)
    np.testing.assert_allclose(np.asarray(layer([deep, wide])), 11.0)
    trained = np.asarray(layer([deep, wide], training=True))[:, 0]
    assert set(np.unique(trained)) == {1.0, 10.0, 11.0}
    shares = [np.mean(trained == value) for value in (1.0, 10.0, 11.0)]
    np.testing.assert_allclose(shares, [0.25, 0.25, 0.5], atol=0.03)
    assert set(np.unique(np.asarray(PathDropout(rate=1.0, seed=3)([deep, wide], training=True)))) == {1.0, 10.0}
    assert PathDropout.from_config(layer.get_config()).get_config() == layer.get_config()
    layer.path_weights.assign([0.5, 1.0])  # inference weights (textclf.task.calibrate_paths)
    np.testing.assert_allclose(np.asarray(layer([deep, wide])), 10.5)
    with pytest.raises(ValueError, match="rate must be in"):
        PathDropout(rate=1.5)


def test_bag_of_ngrams_is_scikit_learns_tfidf_and_round_trips(tmp_path):
    from sklearn.feature_extraction.text import TfidfVectorizer

    train = ["stocks rally as markets rise", "the team wins the final", "markets fall as stocks slide",
             "the coach praises the team"]
    test = ["stocks rise and the team wins", "unknown words only", ""]
    bag = BagOfNgrams(ngrams=2, char_ngrams=(2, 4), scale=BAG_SCALE, name="bag")
    bag.adapt(train)
    words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit(train)
    characters = TfidfVectorizer(analyzer="char", ngram_range=(2, 4), sublinear_tf=True).fit(train)
    word_vocabulary, char_vocabulary = (part.get_vocabulary() for part in bag.parts)
    word_columns = [word_vocabulary.index(term) for term in words.get_feature_names_out()]
    char_columns = [len(word_vocabulary) + char_vocabulary.index(" ".join(term))  # Keras joins n-grams by " "
                    for term in characters.get_feature_names_out()]
    assert sorted(word_columns + char_columns) == [i for i in range(bag.vocabulary_size())
                                                   if i not in (0, len(word_vocabulary))]  # all but the [UNK]s
    ours = tf.sparse.to_dense(bag(tf.constant(test))).numpy()
    np.testing.assert_allclose(ours[:, word_columns], BAG_SCALE * words.transform(test).toarray(), atol=1e-5)
    np.testing.assert_allclose(ours[:, char_columns], BAG_SCALE * characters.transform(test).toarray(), atol=1e-5)
    assert not ours[2].any() and np.isfinite(ours).all()  # "": an empty row, no NaN
    clone = BagOfNgrams.from_config(bag.get_config())
    assert clone.get_config() == bag.get_config() and clone.char_ngrams == (2, 4)
    # Saved as the export saves it (a tracked resource of a SavedModel), and loaded with TensorFlow alone.
    archive = keras.export.ExportArchive()
    archive.track(bag)
    archive.add_endpoint("bag", lambda text: tf.sparse.to_dense(bag(text)), [tf.TensorSpec([None], tf.string)])
    archive.write_out(str(tmp_path / "bag"), verbose=False)
    loaded = tf.saved_model.load(str(tmp_path / "bag"))  # kept: its variables live as long as it does
    np.testing.assert_allclose(loaded.bag(tf.constant(test)).numpy(), ours, atol=1e-6)


def test_the_bag_is_learnt_on_the_training_part_only():
    def part(texts):
        return data.TextData(texts, np.arange(len(texts)) % 2, ["a", "b"], "test")

    parts = {"train": part(["alpha beta", "gamma delta", "alpha gamma"]), "validation": part(["beta", "delta"]),
             "test": part(["omega alpha", "omega"])}
    config = TextConfig(csv="x", model="wide_deep")
    inputs = task.TextInputs(parts)
    features = inputs.features(config)
    assert features.input_names == ("token_ids", "bag") and features.bag is inputs.bag
    vocabulary = inputs.bag.parts[0].get_vocabulary()
    assert "alpha" in vocabulary and "alpha beta" in vocabulary and "omega" not in vocabulary
    batch = features(tf.constant(["omega alpha", ""]))
    assert set(batch) == {"token_ids", "bag"} and batch["bag"].shape == (2, inputs.bag.vocabulary_size())
    assert isinstance(batch["bag"], tf.SparseTensor) and not tf.sparse.to_dense(batch["bag"]).numpy()[1].any()
    compact = TextConfig(csv="x", model="compact")
    assert task.TextInputs(parts).features(compact).bag is None  # no bag is learnt
    assert not isinstance(task.TextInputs(parts).features(compact)(tf.constant(["alpha"])), dict)


@pytest.fixture(scope="module", params=BAG_MODELS)
def bag_run(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(request.param)
    rng = np.random.default_rng(0)
    rows = [f"{label},{' '.join(rng.choice(TEXT_WORDS[label].split(), size=6))} today\n"
            for label in ["sport", "money"] * 100]
    (root / "news.csv").write_text("label,text\n" + "".join(rows))
    epochs = 10 if request.param == "bag" else 3  # the linear model alone needs more of its 5 steps per epoch
    config = TextConfig(csv=str(root / "news.csv"), model=request.param, epochs=epochs, sequence_length=16, verbose=0,
                        seed=0, test_curves=False, output_dir=str(root / "saved_models"),
                        reports_dir=str(root / "reports"), run_dir=str(root / "runs"))
    return config, task.run(config)


def test_a_bag_model_run_learns_reports_and_serves_raw_strings(bag_run):
    config, result = bag_run
    assert result.metrics["test"]["accuracy"] > 0.9 and result.metrics["bag_size"] > 10
    if config.model == "wide_deep":  # the deep path's weight was chosen on validation data, from the grid
        deep, wide = result.metrics["path_weights"]
        assert deep in PATH_WEIGHT_GRID and wide == 1.0
    else:
        assert "path_weights" not in result.metrics
    assert (result.export_dir / "attention.png").is_file() == (config.model == "wide_deep")
    serve = tf.saved_model.load(str(result.export_dir)).signatures["serving_default"]
    answer = serve(text=tf.constant(["goal team win", "bank profit shares"]))
    assert [name.decode() for name in answer["class_name"].numpy()] == ["sport", "money"]
    hostile = tf.constant([b"", b"\xff\xfe not utf-8 \xc3", ("goal " * 20000).encode()])  # 100k characters
    probabilities = serve(text=hostile)["probabilities"].numpy()
    assert probabilities.shape == (3, 2) and np.isfinite(probabilities).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_a_bag_model_export_loads_with_tensorflow_alone(bag_run):
    _, result = bag_run
    code = ("import sys, tensorflow as tf; serve = tf.saved_model.load(sys.argv[1]).signatures['serving_default'];"
            "print(serve(text=tf.constant(['goal team win']))['class_name'].numpy()[0].decode())")
    answer = subprocess.run([sys.executable, "-c", code, str(result.export_dir)], capture_output=True, text=True,
                            timeout=300)
    assert answer.returncode == 0, answer.stderr[-2000:]
    assert answer.stdout.strip().splitlines()[-1] == "sport"


def test_the_bag_adapts_in_batches_to_the_vocabulary_of_one_pass():
    texts = [f"{word} {other} match {index}" for index, (word, other) in
             enumerate(zip(TEXT_WORDS["sport"].split() * 40, TEXT_WORDS["money"].split() * 40))]
    bag = BagOfNgrams(ngrams=2, char_ngrams=(2, 3), char_max_tokens=50)
    bag.adapt(texts, batch_size=7)  # several batches, the last one partial
    for part, options in zip(bag.parts, [{"ngrams": 2}, {"split": "character", "ngrams": (2, 3), "max_tokens": 50}]):
        whole = keras.layers.TextVectorization(output_mode="count", sparse=True, **options)
        whole.adapt(tf.constant(texts))  # every text in one tensor
        assert part.get_vocabulary() == whole.get_vocabulary()
