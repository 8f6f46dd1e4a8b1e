"""Each family's recipe (vision.config.RECIPES) is what a run trains with unless told otherwise."""

import dataclasses

import keras
import numpy as np

from core import config as core_config
from vision import benchmark, task
from vision.config import BASE_RECIPE, RECIPES, VisionConfig, recipe
from vision.models import MODELS


def test_every_recipe_names_a_registered_family_and_known_fields():
    fields = {field.name for field in core_config.public_fields(VisionConfig)}
    for model, values in RECIPES.items():
        assert model in MODELS.names() and set(values) <= fields


def test_a_family_trains_with_its_recipe_unless_a_value_is_given():
    assert VisionConfig(model="efficientnet").epochs == RECIPES["efficientnet"]["epochs"] != BASE_RECIPE["epochs"]
    assert VisionConfig(model="vgg").epochs == BASE_RECIPE["epochs"]
    switched = dataclasses.replace(VisionConfig(model="resnet"), model="vit")
    assert switched.epochs == recipe("vit")["epochs"]
    assert dataclasses.replace(switched, model="resnet").epochs == BASE_RECIPE["epochs"]
    # The transformers augment as the convolutional families do (strong measured worse); the airbench nets' light
    # is reset when switching away from them; strong stays a choice.
    assert {VisionConfig(model=name).augmentation for name in ("vit", "vit_conv", "resnet")} == {"standard"}
    assert dataclasses.replace(VisionConfig(model="vgg_airbench"), model="vit").augmentation == "standard"
    assert VisionConfig(model="vit", augment="strong").augmentation == "strong"
    # Explicit values win, even one equal to another recipe's (flags, --set and saved configs go through build).
    assert core_config.build(VisionConfig, model="efficientnet", epochs=BASE_RECIPE["epochs"]).epochs == 30
    assert dataclasses.replace(VisionConfig(model="vit", epochs=3), model="efficientnet").epochs == 3
    # The CLI (train_vision.py's flags): the recipe without --epochs, the flag with it.
    flags = ["--data", "x", "--model", "vit"]
    assert core_config.parse(VisionConfig, "", flags).epochs == recipe("vit")["epochs"]
    assert core_config.parse(VisionConfig, "", [*flags, "--epochs", "30"]).epochs == 30


def test_a_recipe_may_set_the_optimizer_and_switching_model_resets_it():
    airbench = VisionConfig(model="vgg_airbench")
    assert (airbench.optimizer, airbench.batch_size, airbench.epochs, airbench.augmentation, airbench.lookahead,
            airbench.validation_fraction) == ("sgd", 512, 30, "light", True, 0.04)
    back = dataclasses.replace(airbench, model="resnet")
    assert (back.optimizer, back.batch_size, back.learning_rate, back.epochs, back.augmentation, back.lookahead,
            back.validation_fraction) == ("adamw", 128, 2e-3, 30, "standard", False, 0.1)
    assert core_config.build(VisionConfig, model="vgg_airbench", optimizer="adamw").optimizer == "adamw"
    model = task.build_model(airbench, (16, 16, 3), 3, train_size=1024)
    assert isinstance(model.optimizer, keras.optimizers.SGD) and model.optimizer.nesterov
    assert np.isclose(float(model.optimizer.momentum), 0.85)


def test_the_benchmark_gives_each_family_its_recipe_and_the_values_given():
    configs = benchmark.configs_for(["resnet", "efficientnet"], {"data": "x", "batch_size": 64})
    assert [config.epochs for config in configs.values()] == [recipe(name)["epochs"] for name in configs]
    assert {config.batch_size for config in configs.values()} == {64}
    assert {config.epochs for config in benchmark.configs_for(["resnet", "vit"], {"epochs": 2}).values()} == {2}


def test_a_saved_config_reloads_with_the_epochs_it_trained(tmp_path):
    core_config.save(VisionConfig(model="vit", epochs=4), tmp_path / "config.json")
    assert core_config.load(VisionConfig, tmp_path / "config.json").epochs == 4
    core_config.save(core_config.build(VisionConfig, model="efficientnet", epochs=30), tmp_path / "base.json")
    assert core_config.load(VisionConfig, tmp_path / "base.json").epochs == 30


def test_a_sweep_trial_trains_with_its_family_recipe_unless_epochs_are_given(tmp_path):
    import keras_tuner as kt

    from core.tuning import ConfigHyperModel
    from vision.tuning import TUNING

    def trial_epochs(given, model):
        hp = kt.HyperParameters()
        hp.Fixed("model", model)
        base = core_config.build(VisionConfig, **given)
        return ConfigHyperModel(TUNING, base, None, tmp_path, given).config_for(hp).epochs

    assert trial_epochs({"data": "x"}, "vit") == recipe("vit")["epochs"]
    assert trial_epochs({"data": "x"}, "efficientnet") == recipe("efficientnet")["epochs"]
    assert trial_epochs({"data": "x", "epochs": 4}, "vit") == 4


def test_light_augmentation_shifts_by_whole_pixels_of_at_most_two():
    # Every pixel of a shifted image is one of the original's (nearest sampling, reflected borders: no blur),
    # and the image moved by at most 2 px: a distinct value per position gives the shift away.
    image = np.arange(32 * 32, dtype="float32").reshape(1, 32, 32, 1)
    augment = task.augmentation("light", seed=3)
    for _ in range(5):
        shifted = np.asarray(augment(np.repeat(image, 4, axis=0), training=True))
        assert np.isin(shifted, image).all()
        for one in shifted:
            rows, cols = np.divmod(one[16, 16, 0], 32)
            assert abs(rows - 16) <= 2 and min(abs(cols - 16), abs(cols - 15)) <= 2  # 15: the mirror of 16
