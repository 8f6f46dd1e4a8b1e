import keras
import numpy as np
import pytest

from anomaly import models

WINDOW = 30  # not a multiple of 4: exercises the conv model's padding


@pytest.mark.parametrize("name", models.names())
def test_every_model_builds_reconstructs_serialises_and_saves(name, tmp_path):
    input_dim = 1000 if name == "reference" else WINDOW
    model = models.build(name, input_dim=input_dim, l2=1e-4)
    x = np.random.default_rng(0).random((5, input_dim)).astype("float32")
    y = model(x).numpy()
    assert y.shape == (5, input_dim) and 0 <= y.min() and y.max() <= 1  # sigmoid output
    assert model.losses, "the L2 kernel regularizer should add losses"

    clone = keras.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone(x).numpy(), y, atol=1e-6)

    path = tmp_path / f"{name}.keras"
    model.save(path)
    np.testing.assert_allclose(keras.models.load_model(path)(x).numpy(), y, atol=1e-6)


def test_reference_model_has_exactly_the_part_one_parameter_count():
    model = models.build("reference", input_dim=1000)
    assert model.count_params() == 1058824
    counts = {layer.name: layer.count_params() for layer in model.layers if layer.count_params()}
    assert counts == {"encoder": 512512, "latent": 16416, "decoder": 16896, "reconstruction": 513000}


def test_seed_variants_differ_as_described():
    dense, tanh, dropout = (models.build(name, input_dim=WINDOW) for name in ("dense", "tanh", "dropout"))
    assert [layer.units for layer in dense.layers if isinstance(layer, keras.layers.Dense)] == \
        [256, 128, 64, 16, 64, 128, 256, WINDOW]
    assert tanh.get_layer("encoder_0").activation.__name__ == "tanh"
    assert [layer.rate for layer in dropout.layers if isinstance(layer, keras.layers.Dropout)] == [0.2] * 6
    assert len(models.build("base", input_dim=WINDOW).layers) == 5  # input, hidden, code, hidden, output


def test_one_training_step_reduces_the_loss():
    x = np.tile(np.sin(np.linspace(0, 6, WINDOW)) * 0.4 + 0.5, (64, 1)).astype("float32")
    model = models.build("dense", input_dim=WINDOW)
    model.compile(keras.optimizers.Adam(1e-3), "mse")
    before = model.evaluate(x, x, verbose=0)
    model.fit(x, x, epochs=5, verbose=0)
    assert model.evaluate(x, x, verbose=0) < before
