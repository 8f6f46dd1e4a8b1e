import keras
import numpy as np
import pytest
import tensorflow as tf

from vision.initializers import PartialDirac
from vision.layers import LocalitySelfAttention, PatchWhitening, ScaledBias, ShiftedPatchTokenization


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


def _correlated_images(count=200, side=12, seed=0):
    """Smooth colour images: neighbouring pixels and channels strongly correlated, as in photographs."""
    rng = np.random.default_rng(seed)
    coarse = rng.normal(size=(count, side // 2, side // 2, 1))
    smooth = np.repeat(np.repeat(coarse, 2, axis=1), 2, axis=2)
    return (smooth * [1.0, 0.8, 0.6] + 0.1 * rng.normal(size=(count, side, side, 3))).astype("float32")


def test_patch_whitening_decorrelates_the_patches_it_was_adapted_on():
    images = _correlated_images()
    layer = PatchWhitening(kernel_size=2, epsilon=1e-6)
    layer.adapt(images)
    outputs = np.asarray(layer(images))
    assert outputs.shape == (200, 11, 11, 24)
    half = outputs[..., :12].reshape(-1, 12)  # the other 12 filters are their negatives
    np.testing.assert_allclose(outputs[..., 12:], -half.reshape(outputs[..., 12:].shape), atol=1e-5)
    np.testing.assert_allclose(half.T @ half / len(half), np.eye(12), atol=0.02)  # unit second moment
    raw = np.lib.stride_tricks.sliding_window_view(images, (2, 2), axis=(1, 2)).reshape(-1, 12)
    assert np.abs(np.corrcoef(raw.T)[np.triu_indices(12, 1)]).mean() > 0.5  # the input was far from white


def test_scaled_bias_trains_its_offset_multiplier_squared_faster():
    layer = ScaledBias(8.0)
    inputs = np.zeros((1, 4), "float32")
    layer(inputs)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(inputs))
    gradient = tape.gradient(loss, layer.offset)
    np.testing.assert_allclose(np.asarray(gradient), 8.0)  # d(8 b)/db: one step moves the output by 8 x 8 x lr


def test_partial_dirac_passes_the_first_channels_through():
    kernel = np.asarray(PartialDirac(seed=0)((3, 3, 4, 6)))
    images = np.random.default_rng(0).random((1, 5, 5, 4)).astype("float32")
    outputs = np.asarray(tf.nn.conv2d(images, kernel, 1, "SAME"))
    np.testing.assert_allclose(outputs[..., :4], images, atol=1e-6)  # identity on the first min(in, out)
    limit = 1 / np.sqrt(3 * 3 * 4)
    assert np.all(np.abs(kernel[..., 4:]) <= limit) and np.abs(kernel[..., 4:]).max() > limit / 2
    np.testing.assert_allclose(np.asarray(PartialDirac(seed=0)((3, 3, 4, 6))), kernel)  # seeded
    assert PartialDirac.from_config(PartialDirac(seed=3).get_config()).seed == 3


@pytest.mark.parametrize("make, shape", [
    (lambda: ShiftedPatchTokenization(patch_size=4, projection_dim=8, name="layer"), (16, 16, 3)),
    (lambda: PatchWhitening(kernel_size=2, epsilon=1e-4, name="layer"), (12, 12, 3)),
    (lambda: ScaledBias(4.0, name="layer"), (5, 8)),
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
