import keras
import numpy as np
import pytest

from textclf import models
from textclf.layers import EncoderBlock

# Models over token ids alone; those with a TF-IDF bag input are tested in tests/textclf/test_wide_deep.py.
TOKEN_MODELS = [name for name in models.names() if models.input_names(name) == ("token_ids",)]


def assert_predicts_serialises_and_saves(model, inputs, path):
    """Probabilities over 4 classes that survive `from_config` + weights and a `.keras` save/load (every text
    model's check; tests/textclf/test_wide_deep.py uses it for the bag models)."""
    probabilities = np.asarray(model(inputs))
    assert probabilities.shape == (2, 4)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    clone = keras.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(np.asarray(clone(inputs)), probabilities, atol=1e-5)
    model.save(path)
    np.testing.assert_allclose(np.asarray(keras.models.load_model(path)(inputs)), probabilities, atol=1e-5)


@pytest.mark.parametrize("name", TOKEN_MODELS)
def test_every_model_builds_predicts_serialises_and_saves(name, tmp_path):
    model = models.build(name, vocabulary_size=100, sequence_length=12, num_classes=4)
    ids = np.array([[5, 6, 7] + [0] * 9, list(range(1, 13))], dtype="int32")
    assert_predicts_serialises_and_saves(model, ids, tmp_path / f"{name}.keras")


@pytest.mark.parametrize("name", TOKEN_MODELS)
def test_padding_does_not_change_predictions(name):
    model = models.build(name, vocabulary_size=100, sequence_length=12, num_classes=4, dropout=0.0)
    short = np.array([[5, 6, 7] + [0] * 9], dtype="int32")
    # Changing what follows the padding start is impossible by construction; instead compare with a
    # model given the same tokens at a different padded length.
    longer = models.build(name, vocabulary_size=100, sequence_length=20, num_classes=4, dropout=0.0)
    for target, source in zip(longer.weights, model.weights):
        if tuple(target.shape) == tuple(source.shape):
            target.assign(source)
        else:  # learned position embeddings: copy the first 12 positions
            target.assign(np.concatenate([np.asarray(source), np.asarray(target)[12:]]))
    padded = np.array([[5, 6, 7] + [0] * 17], dtype="int32")
    np.testing.assert_allclose(np.asarray(longer(padded)), np.asarray(model(short)), atol=1e-5)


def test_encoder_block_config_round_trip():
    block = EncoderBlock(num_heads=2, key_dim=4, intermediate_dim=16, dropout=0.3, l2=1e-4, name="b")
    assert EncoderBlock.from_config(block.get_config()).get_config() == block.get_config()


def test_seed_model_has_the_seeds_architecture():
    model = models.build("seed", vocabulary_size=100, sequence_length=12, num_classes=4)
    assert model.get_layer("embedding").output_dim == 300
    assert model.get_layer("projection").units == 512
    encoders = [layer for layer in model.layers if layer.name.startswith("encoder_")]
    assert len(encoders) == 3
    assert encoders[0].get_config()["num_heads"] == 8 and encoders[0].get_config()["intermediate_dim"] == 2048


def test_add_sine_positions_keeps_the_mask_and_round_trips(tmp_path):
    import keras_hub

    from textclf.layers import AddSinePositions

    ids = np.array([[5, 6, 7, 0, 0]], dtype="int32")
    embedded = keras.layers.Embedding(10, 8, mask_zero=True)(ids)
    layer = AddSinePositions(max_wavelength=500, name="positions")
    out = layer(embedded)
    np.testing.assert_array_equal(np.asarray(out._keras_mask), [[True, True, True, False, False]])
    values = np.asarray(embedded)  # without the mask attached
    expected = values + np.asarray(keras_hub.layers.SinePositionEncoding(max_wavelength=500)(values))
    np.testing.assert_allclose(np.asarray(out), expected, atol=1e-6)
    clone = AddSinePositions.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    scaled = AddSinePositions(max_wavelength=500, scale=3.0)
    np.testing.assert_allclose(np.asarray(scaled(embedded)), expected + 2.0 * values, atol=1e-6)
    assert AddSinePositions.from_config(scaled.get_config()).scale == 3.0
    inputs = keras.Input((5, 8))
    model = keras.Model(inputs, AddSinePositions(max_wavelength=500)(inputs))
    model.save(tmp_path / "positions.keras")
    np.testing.assert_allclose(np.asarray(keras.models.load_model(tmp_path / "positions.keras")(values)),
                               expected, atol=1e-6)


@pytest.mark.parametrize("name", TOKEN_MODELS)
def test_builder_defaults_are_the_configs_defaults(name):
    from textclf.config import TextConfig

    config = TextConfig(model=name)  # what a run without --dropout/--l2/--variant trains with
    model = models.build(name, vocabulary_size=100, sequence_length=12, num_classes=4)
    dropouts = [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    encoders = [layer.get_config() for layer in model.layers if isinstance(layer, EncoderBlock)]
    assert dropouts and encoders
    assert set(dropouts) | {encoder["dropout"] for encoder in encoders} == {config.dropout}
    assert {encoder["l2"] for encoder in encoders} == {config.l2}
    regularizer = model.get_layer("probabilities").kernel_regularizer
    assert (regularizer.l2 if regularizer else 0.0) == pytest.approx(config.l2, rel=1e-6)
