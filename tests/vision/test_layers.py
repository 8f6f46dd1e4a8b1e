import keras
import numpy as np
import pytest

from vision.layers import LocalitySelfAttention, ShiftedPatchTokenization


def test_shifted_patch_tokenization_shapes_and_shifts():
    layer = ShiftedPatchTokenization(patch_size=4, projection_dim=8)
    images = np.random.default_rng(0).random((2, 16, 16, 3)).astype("float32")
    assert tuple(layer(images).shape) == (2, 16, 8)
    # The first shifted copy moves the image up-left by half a patch: pixel (0, 0) holds (2, 2).
    shifted = np.asarray(layer._shift(images, -2, -2))
    np.testing.assert_allclose(shifted[:, 0, 0], images[:, 2, 2])
    assert np.all(shifted[:, -2:, :] == 0)  # the uncovered border is zero
    with pytest.raises(ValueError, match="not a multiple of patch_size"):
        ShiftedPatchTokenization(5, 8)(images)


def test_locality_self_attention_masks_the_diagonal():
    layer = LocalitySelfAttention(num_heads=2, key_dim=4)
    tokens = np.random.default_rng(0).random((2, 5, 8)).astype("float32")
    output, weights = layer(tokens, return_attention_scores=True)
    weights = np.asarray(weights)
    assert output.shape == (2, 5, 8) and weights.shape == (2, 2, 5, 5)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-5)
    assert np.all(np.diagonal(weights, axis1=2, axis2=3) < 1e-6)  # no token attends to itself
    np.testing.assert_allclose(float(layer.temperature), 2.0)  # initialised to sqrt(key_dim)


@pytest.mark.parametrize("make, shape", [
    (lambda: ShiftedPatchTokenization(patch_size=4, projection_dim=8, name="layer"), (16, 16, 3)),
    (lambda: LocalitySelfAttention(num_heads=2, key_dim=4, dropout=0.1, name="layer"), (5, 8)),
])
def test_layer_config_round_trip_and_saving(make, shape, tmp_path):
    layer = make()
    assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config()
    inputs = keras.Input(shape)
    model = keras.Model(inputs, make()(inputs))
    values = np.random.default_rng(0).random((2, *shape)).astype("float32")
    model.save(tmp_path / "layer.keras")
    np.testing.assert_allclose(np.asarray(keras.models.load_model(tmp_path / "layer.keras")(values)),
                               np.asarray(model(values)), atol=1e-5)
