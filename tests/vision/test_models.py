import keras
import numpy as np
import pytest

from vision import models


@pytest.mark.parametrize("name", models.names())
def test_every_model_builds_predicts_serialises_and_saves(name, tmp_path):
    model = models.build(name, input_shape=(32, 32, 3), num_classes=3)
    images = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3)).astype("float32")
    probabilities = np.asarray(model(images, training=False))
    assert probabilities.shape == (2, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    clone = keras.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(np.asarray(clone(images, training=False)), probabilities, atol=1e-5)
    model.save(tmp_path / f"{name}.keras")
    loaded = keras.models.load_model(tmp_path / f"{name}.keras")
    np.testing.assert_allclose(np.asarray(loaded(images, training=False)), probabilities, atol=1e-5)


def test_resnet_sizes_match_the_paper():
    assert models.build("resnet", input_shape=(32, 32, 3), num_classes=10).count_params() == 274_042  # 0.27 M
    assert models.build("resnet56", input_shape=(32, 32, 3), num_classes=10).count_params() == 860_026  # 0.85 M
    with pytest.raises(ValueError, match="depth must be 6n\\+2"):
        models.build("resnet", input_shape=(32, 32, 3), num_classes=10, depth=21)


def test_vit_without_small_data_fixes_is_the_plain_vit():
    model = models.build("vit", input_shape=(32, 32, 3), num_classes=3, shifted_patches=False,
                         locality_attention=False, depth=1)
    assert isinstance(model.get_layer("encoder0_attention"), keras.layers.MultiHeadAttention)
    assert model.get_layer("tokens").output.shape == (None, 64, 64)  # 8x8 patches of 4 px


def test_vit_conv_tokenizes_with_a_convolutional_stem():
    model = models.build("vit_conv", input_shape=(32, 32, 3), num_classes=3, depth=1)
    assert model.name == "vit_conv" and models.build("vit", input_shape=(32, 32, 3), num_classes=3).name == "vit"
    assert model.get_layer("stem1_conv").output.shape == (None, 8, 8, 128)  # two stride-2 convs: 4 px cells
    assert model.get_layer("tokens").output.shape == (None, 64, 64)  # as many tokens as vit's 4 px patches
    larger = models.build("vit_conv", input_shape=(96, 96, 3), num_classes=3, depth=1)  # 96 / 8 = 12 -> 16 px
    assert larger.get_layer("tokens").output.shape == (None, 36, 64)
    with pytest.raises(ValueError, match="power-of-two patch size"):
        models.build("vit_conv", input_shape=(30, 30, 3), num_classes=3, patch_size=3)


@pytest.mark.parametrize("name, parameters, width", [("vgg_airbench", 1_973_944, 256),  # airbench94's 1.97 M
                                                      ("resnet_airbench", 1_973_944, 256),  # shortcuts add none
                                                      ("resnet_airbench_wide", 4_608_312, 384)])  # airbench95's
def test_airbench_networks_are_airbench94s_and_the_task_whitens_their_first_layer(name, parameters, width):
    from vision import task

    model = models.build(name, input_shape=(32, 32, 3), num_classes=10)
    assert model.count_params() == parameters
    shortcuts = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Add)]
    assert shortcuts == ([] if name == "vgg_airbench" else ["block0_shortcut", "block1_shortcut", "block2_shortcut"])
    assert model.get_layer("whitening").output.shape == (None, 31, 31, 24)
    assert model.get_layer("block2_conv1").output.shape == (None, 3, 3, width)
    images = np.random.default_rng(0).integers(0, 256, (64, 32, 32, 3)).astype("float32")
    before = np.asarray(model.get_layer("whitening").kernel).copy()
    assert task.adapt_whitening(model, images) == 1
    whitening = model.get_layer("whitening")
    np.testing.assert_allclose(np.asarray(whitening.kernel), whitening.whitening_filters(images / 127.5 - 1),
                               rtol=1e-4, atol=1e-4)  # adapted on what the layer sees: the scaled images
    assert not np.allclose(np.asarray(whitening.kernel), before)
    assert task.adapt_whitening(models.build("vgg", input_shape=(32, 32, 3), num_classes=3), images) == 0


def test_whitening_adapts_on_a_random_sample_not_the_first_class():
    """Class-per-folder data load class by class: the first `count` images would all be of the first class."""
    from vision import task

    model = models.build("vgg_airbench", input_shape=(32, 32, 3), num_classes=2)
    rng = np.random.default_rng(1)
    dark = rng.integers(0, 64, (32, 32, 32, 3))
    stripes = np.tile(np.array([0, 255] * 16)[None, None, :, None], (32, 32, 1, 3))
    striped = stripes + rng.integers(0, 2, (32, 32, 32, 3))
    images = np.concatenate([dark, striped]).astype("float32")  # sorted by class, as a folder tree loads
    task.adapt_whitening(model, images, count=16, seed=3)
    chosen = np.sort(np.random.default_rng(3).choice(len(images), 16, replace=False))
    assert (chosen < 32).any() and (chosen >= 32).any()
    whitening = model.get_layer("whitening")
    np.testing.assert_allclose(np.asarray(whitening.kernel), whitening.whitening_filters(images[chosen] / 127.5 - 1),
                               atol=5e-3)  # float32 scaling on the way in: close, not equal
    assert not np.allclose(np.asarray(whitening.kernel), whitening.whitening_filters(images[:16] / 127.5 - 1),
                           atol=0.1)


def test_unknown_model_lists_the_registered_ones():
    from core.errors import UserError

    with pytest.raises(UserError, match="choose one of vgg_airbench, resnet_airbench, resnet_airbench_wide, "
                                        "efficientnet, efficientnet_b0, resnet, resnet56, resnet_bottleneck, vgg, vit, "
                                        "vit_conv"):
        models.build("alexnet", input_shape=(32, 32, 3), num_classes=3)
