import keras
import numpy as np
import pytest

from textclf.layers import SelfAttention

BATCH, TIME, FEATURES, HEADS, KEY_DIM = 3, 7, 16, 4, 8


def inputs_and_mask():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(BATCH, TIME, FEATURES)).astype("float32")
    lengths = np.array([7, 4, 1])
    mask = np.arange(TIME)[None, :] < lengths[:, None]
    return x, mask


def paired_layers():
    ours = SelfAttention(num_heads=HEADS, key_dim=KEY_DIM)
    reference = keras.layers.MultiHeadAttention(num_heads=HEADS, key_dim=KEY_DIM)
    x, _ = inputs_and_mask()
    ours(x)
    reference(x, x)
    ours.set_weights(reference.get_weights())  # same layout, same order
    return ours, reference


@pytest.mark.parametrize("masked", [False, True])
def test_matches_keras_multi_head_attention(masked):
    ours, reference = paired_layers()
    x, mask = inputs_and_mask()
    if masked:
        expected, expected_weights = reference(x, x, attention_mask=mask[:, None, :],
                                               return_attention_scores=True)
        got, got_weights = ours(x, mask=mask, return_attention_scores=True)
    else:
        expected, expected_weights = reference(x, x, return_attention_scores=True)
        got, got_weights = ours(x, return_attention_scores=True)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(got_weights, expected_weights, atol=1e-5)
    if masked:  # padded keys receive no attention
        assert np.asarray(got_weights)[2, :, :, 1:].max() < 1e-6


def test_padding_changes_nothing_for_real_tokens():
    layer = SelfAttention(num_heads=2, key_dim=4)
    x, mask = inputs_and_mask()
    noisy = x.copy()
    noisy[~mask] = 100.0  # whatever sits in the padding
    np.testing.assert_allclose(np.asarray(layer(x, mask=mask))[mask], np.asarray(layer(noisy, mask=mask))[mask],
                               atol=1e-5)


def test_concatenated_heads_without_output_transform():
    layer = SelfAttention(num_heads=2, key_dim=4, value_dim=3, output_transform=False, use_bias=False)
    x, _ = inputs_and_mask()
    assert tuple(layer(x).shape) == (BATCH, TIME, 6)
    assert len(layer.weights) == 3


def test_get_config_round_trip_keeps_every_argument():
    layer = SelfAttention(num_heads=2, key_dim=4, value_dim=5, use_bias=False, output_dim=9,
                          output_activation="relu", dropout=0.1, kernel_initializer="he_normal", name="att")
    clone = SelfAttention.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    x, _ = inputs_and_mask()
    assert tuple(clone(x).shape) == (BATCH, TIME, 9)


def test_saves_and_loads_inside_a_model_with_masking(tmp_path):
    tokens = keras.Input((TIME,), dtype="int32")
    embedded = keras.layers.Embedding(50, FEATURES, mask_zero=True)(tokens)
    attended = SelfAttention(num_heads=2, key_dim=4)(embedded)
    outputs = keras.layers.GlobalAveragePooling1D()(attended)  # uses the propagated mask
    model = keras.Model(tokens, outputs)
    ids = np.array([[5, 6, 7, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6, 7]], dtype="int32")
    path = tmp_path / "model.keras"
    model.save(path)
    np.testing.assert_allclose(keras.models.load_model(path)(ids), model(ids), atol=1e-6)
