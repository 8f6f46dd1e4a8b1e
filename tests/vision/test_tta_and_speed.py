"""Test-time flip averaging (in process, in evaluation and in the export), the benchmark's time-to-accuracy table
and the input pipeline efficiency measurement, each on a tiny model of 16x16 images (no training run)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.vision.images import encode
from vision import benchmark, data, task
from vision.config import VisionConfig

CLASSES = ["red", "green", "blue"]


def _tiny_model(seed: int = 0) -> keras.Model:
    """Not mirror-symmetric (a dense layer on the flattened pixels), with a batch norm, compiled."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(4, 3, strides=2)(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Flatten()(keras.layers.ReLU()(x))
    model = keras.Model(inputs, keras.layers.Dense(len(CLASSES), activation="softmax")(x))
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def _part(count: int, seed: int = 0) -> data.ImageData:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(count, 16, 16, 3)).astype(np.uint8)
    images[:, :, :8] //= 4  # a dark left half: an image and its mirror differ
    return data.ImageData(images, rng.integers(0, len(CLASSES), size=count), CLASSES, "made up")


def test_tta_is_the_mean_of_the_image_and_its_mirror():
    model = _tiny_model()
    images = _part(10).images
    plain = model(images.astype(np.float32), training=False).numpy()
    mirrored = model(images[:, :, ::-1].astype(np.float32), training=False).numpy()
    assert not np.allclose(plain, mirrored, atol=1e-3)  # the check below could not pass by symmetry
    np.testing.assert_allclose(task.predict(model, images), plain, atol=1e-6)
    np.testing.assert_allclose(task.predict(model, images, tta=True), (plain + mirrored) / 2, atol=1e-6)
    both = task.predict_both(model, images)
    np.testing.assert_allclose(both[1], mirrored, atol=1e-6)


def test_translate_shifts_by_one_pixel_with_reflected_borders():
    images = tf.reshape(tf.range(2 * 4 * 5 * 3, dtype=tf.float32), (2, 4, 5, 3))
    down_right, up_left = task.translate(images, 1).numpy(), task.translate(images, -1).numpy()
    np.testing.assert_array_equal(down_right[:, 1:, 1:], images.numpy()[:, :-1, :-1])
    np.testing.assert_array_equal(down_right[:, 0, 1:], images.numpy()[:, 1, :-1])  # reflected: row 1, not row 0
    np.testing.assert_array_equal(up_left[:, :-1, :-1], images.numpy()[:, 1:, 1:])
    np.testing.assert_array_equal(up_left[:, -1, :-1], images.numpy()[:, -2, 1:])


def test_multi_crop_tta_weights_six_views():
    model = _tiny_model()
    images = _part(7).images

    def view(offset, mirrored):
        batch = tf.cast(images, tf.float32)
        batch = task.translate(batch, offset) if offset else batch
        return model(batch[:, :, ::-1] if mirrored else batch, training=False).numpy()

    expected = (view(0, False) + view(0, True)) / 4 + sum(view(offset, mirrored) for offset in (1, -1)
                                                           for mirrored in (False, True)) / 8
    assert not np.allclose(expected, task.predict(model, images, tta=True), atol=1e-4)  # the shifts count
    np.testing.assert_allclose(task.predict_crops(model, images), expected, atol=1e-6)
    np.testing.assert_allclose(task.predict_crops(model, images, task.predict_both(model, images)), expected,
                               atol=1e-6)


@pytest.mark.parametrize("tta", [False, True])
def test_export_serves_what_evaluation_measured(tmp_path, tta):
    model = _tiny_model()
    parts = {"train": _part(12, 1), "validation": _part(6, 2), "test": _part(9, 3)}
    trained = task.Trained(model, {"loss": [1.0], "elapsed_s": [2.0]}, CLASSES, 2.0, tta=tta)
    metrics = task.TASK.evaluate(VisionConfig(tta=tta), parts, trained)
    test = parts["test"]
    expected = task.predict(model, test.images, tta=tta)
    np.testing.assert_allclose(trained.test_probabilities, expected, atol=1e-6)
    assert metrics["tta"]["served"] is tta
    for way, probabilities in (("without", task.predict(model, test.images)),
                               ("with", task.predict(model, test.images, tta=True))):
        assert metrics["tta"][way]["accuracy"] == pytest.approx(np.mean(probabilities.argmax(1) == test.labels))
    assert metrics["test"]["accuracy"] == metrics["tta"]["with" if tta else "without"]["accuracy"]

    loaded = tf.saved_model.load(str(task.export_model(trained, tmp_path / "vision_tiny")))
    assert sorted(loaded.signatures) == ["serving_bytes", "serving_default"]  # the contract: no new signature
    by_array = loaded.signatures["serving_default"](images=tf.constant(test.images))
    by_bytes = loaded.signatures["serving_bytes"](image_bytes=tf.constant([encode(image) for image in test.images]))
    np.testing.assert_allclose(by_array["probabilities"].numpy(), expected, atol=1e-5)
    np.testing.assert_allclose(by_bytes["probabilities"].numpy(), expected, atol=1e-5)
    assert [name.decode() for name in by_array["class_name"].numpy()] == [CLASSES[i] for i in expected.argmax(1)]


def test_time_to_accuracy_table_of_a_made_up_history():
    def values(elapsed, accuracies, final, tta):
        return {"accuracy": final, "accuracy_tta": tta, "macro_f1": final, "macro_f1_tta": tta, "parameters": 10,
                "epochs": len(elapsed), "train_seconds": elapsed[-1], "train_images_per_s": 100.0,
                "latency_ms_p50": 1.0, "throughput_images_per_s": 1000.0, "pipeline": {
                    "ratio": 0.97, "real_steps_per_s": 0.97, "synthetic_steps_per_s": 1.0,
                    "no_augmentation_steps_per_s": 0.99},
                "time_to_accuracy": {"elapsed_s": elapsed, "test_accuracy": accuracies}}

    models = {"slow": values([60, 120, 180, 240], [0.80, 0.91, 0.94, 0.96], 0.96, 0.965),
              "fast": values([30, 60, 90], [0.905, 0.935, 0.951], 0.951, 0.955),
              "short": values([60, 120], [0.85, 0.92], 0.92, 0.93)}
    targets = benchmark.THRESHOLDS["cifar3"]
    assert benchmark.minutes_to_accuracy(models["slow"]["time_to_accuracy"], targets) == {
        "90%": 2.0, "93%": 3.0, "95%": 4.0}
    rows = benchmark.time_to_accuracy_table(models, targets)
    assert [row["model"] for row in rows] == ["fast", "slow", "short"]  # by minutes to 95%, unreached last
    assert rows[0]["minutes_to"] == {"90%": 0.5, "93%": 1.0, "95%": 1.5}
    assert rows[2]["minutes_to"] == {"90%": 2.0, "93%": None, "95%": None}
    assert rows[0]["accuracy_tta"] == 0.955 and rows[0]["pipeline_efficiency"] == 0.97
    assert benchmark.THRESHOLDS["cifar10"] == (0.85, 0.90, 0.91)

    summary = {"environment": {"cpu_count": 2, "packages": {"tensorflow": "x", "keras": "y"}}, "data": "made up",
               "wall_time_s": 600, "seed": 0, "max_per_class": None, "epochs": 4,
               "settings": {"cifar3": {"classes": CLASSES, "sizes": {"train": 9, "validation": 1, "test": 3},
                                       "thresholds": list(targets), "models": models}}}
    text = benchmark.markdown(summary, "curve.png")
    assert ("| model | min to 90% | min to 93% | min to 95% | test accuracy | with TTA | with multi-crop TTA |"
            in text)
    assert "| fast | 0.5 | 1.0 | 1.5 | 0.9510 | 0.9550 |  | 10 | 100 | 0.97 |" in text  # no multi-crop figure
    models["fast"]["accuracy_crops"] = 0.958
    assert "| fast | 0.5 | 1.0 | 1.5 | 0.9510 | 0.9550 | 0.9580 | 10 | 100 | 0.97 |" in benchmark.markdown(summary,
                                                                                                  "curve.png")
    assert "| short | 2.0 | not reached | not reached |" in text
    assert "train 9, validation 1, test 3 images; chance" in text  # results without per-family sizes
    for name in models:
        models[name]["sizes"] = {"train": 9, "validation": 1, "test": 3}
    assert "train 9, validation 1, test 3 images; chance" in benchmark.markdown(summary, "curve.png")
    models["fast"]["sizes"] = {"train": 10, "validation": 0, "test": 3}  # a recipe with its own split
    assert ("train 9, validation 1, test 3 images (slow, short); train 10, validation 0, test 3 images (fast); "
            "chance" in benchmark.markdown(summary, "curve.png"))


def test_input_pipeline_efficiency_is_a_positive_ratio_on_a_tiny_model():
    config = VisionConfig(batch_size=8, augment="standard", seed=0)
    result = benchmark.input_pipeline_efficiency(config, {"train": _part(40)}, steps=3, warmup=1, rounds=1,
                                                 model=_tiny_model())
    assert result["ratio"] > 0 and result["batch_size"] == 8 and result["steps"] == 3
    assert result["ratio"] == pytest.approx(result["real_steps_per_s"] / result["synthetic_steps_per_s"])
    assert result["no_augmentation_steps_per_s"] > 0 and result["in_memory_steps_per_s"] > 0
    assert result["pipeline_batches_per_s"] > 0
    ratio = result["synthetic_steps_per_s"] / result["pipeline_batches_per_s"]
    assert result["ceiling"] == pytest.approx(1 / (1 + ratio))
    assert 0 < result["ceiling"] < 1


def test_compiled_batch_norm_recalibration_equals_the_cumulative_momentum_average():
    """`recalibrate_batch_norm` (one compiled pass per batch, momenta at 0, statistics averaged) leaves what
    the eager cumulative average (`momentum = 1 - 1/step`) left, and puts the momenta back."""
    def cumulative(model, batches, steps):
        norms = [layer for layer in task._all_layers(model) if isinstance(layer, keras.layers.BatchNormalization)]
        for step, (images, _) in enumerate(batches.take(steps), start=1):
            for layer in norms:
                layer.momentum = 1.0 - 1.0 / step
            model(images, training=True)
        for layer in norms:
            layer.momentum = 0.99

    part = _part(40)
    batches = tf.data.Dataset.from_tensor_slices((part.images.astype(np.float32), part.labels)).batch(16)
    expected, model = _tiny_model(), _tiny_model()
    for steps in (3, 2):  # 16 + 16 + 8 images, then the compiled step again with a new count
        cumulative(expected, batches, steps)
        assert task.recalibrate_batch_norm(model, batches, steps) == 1
        for mine, theirs in zip(model.get_weights(), expected.get_weights()):
            np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)
    assert model.layers[3].momentum == 0.99
