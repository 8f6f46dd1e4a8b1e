"""End to end: one family (VGG, tests/conftest.py's `vision_run`) trained on images the test makes, both
export signatures, the report, and bad input through the script. The export, report and serving code is
family-independent: the other families run the same checks end to end in the slow tier (`make test-all`)."""

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import run_script, vision_config
from tests.vision.images import encode, image
from vision import task

OTHER_FAMILIES = ["resnet", "vit", "efficientnet"]


def _check_run_exports_both_signatures_and_a_report(config, parts, result):
    assert result.export_dir.name == "1" and result.export_dir.parent.name == f"vision_{config.model}"
    for name in ("report.md", "report.json", "config.json", "loss.png", "accuracy.png", "confusion_matrix.png"):
        assert (result.export_dir / name).is_file(), name
    history = result.metrics["history"]
    assert len(history["test_accuracy"]) == len(history["elapsed_s"]) == result.metrics["epochs_trained"] >= 1
    assert result.metrics["image_size"].startswith("16x16: the most common size of the training images")
    loaded = tf.saved_model.load(str(result.export_dir))
    test = parts["test"]
    by_array = loaded.signatures["serving_default"](images=tf.constant(test.images[:4]))
    by_bytes = loaded.signatures["serving_bytes"](
        image_bytes=tf.constant([encode(array, "PNG") for array in test.images[:4]]))
    probabilities = by_array["probabilities"].numpy()
    assert probabilities.shape == (4, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(by_bytes["probabilities"].numpy(), probabilities, atol=1e-5)
    # Each served name is the class of the highest probability, in the training's class order.
    assert [name.decode() for name in by_array["class_name"].numpy()] == [
        test.class_names[index] for index in probabilities.argmax(axis=1)]
    assert [name.decode() for name in by_bytes["class_name"].numpy()] == [
        name.decode() for name in by_array["class_name"].numpy()]


def test_a_short_run_learns_the_colours_and_exports_both_signatures_and_a_report(vision_run):
    config, parts, result = vision_run
    _check_run_exports_both_signatures_and_a_report(config, parts, result)
    assert result.metrics["test"]["accuracy"] > 0.9  # three flat colours plus noise
    loaded = tf.saved_model.load(str(result.export_dir))
    served = loaded.signatures["serving_default"](images=tf.constant(parts["test"].images[:6]))["class_name"]
    assert [name.decode() for name in served.numpy()] == [parts["test"].class_names[label]
                                                           for label in parts["test"].labels[:6]]


@pytest.mark.slow  # the family-independent path above, once per other family (each family's graph: test_models.py)
@pytest.mark.parametrize("model", OTHER_FAMILIES)
def test_every_other_family_runs_end_to_end(colour_tree, tmp_path, model):
    config = vision_config(colour_tree, tmp_path, model)
    parts = task.prepare(config)
    _check_run_exports_both_signatures_and_a_report(config, parts, task.run(config, parts))


def test_served_probabilities_equal_in_process_predictions(vision_run):
    import keras

    config, parts, result = vision_run
    loaded = tf.saved_model.load(str(result.export_dir))
    served = loaded.signatures["serving_default"](images=tf.constant(parts["test"].images))["probabilities"]
    # The report's metrics came from the same weights in process.
    accuracy = float(np.mean(served.numpy().argmax(axis=1) == parts["test"].labels))
    assert accuracy == pytest.approx(result.metrics["test"]["accuracy"], abs=1e-9)
    np.testing.assert_allclose(served.numpy(), np.asarray(task.predict(result.model, parts["test"].images)),
                               atol=1e-5)
    # On a CPU "auto" never switches the policy, so this only shows the run left it alone; the switch and its
    # restore are tests/core/test_runner.py::test_vision_mixed_precision_is_scoped_to_the_model.
    assert keras.mixed_precision.global_policy().name == "float32"


def test_serving_resizes_converts_and_rejects_undecodable_bytes(vision_run):
    _, _, result = vision_run
    loaded = tf.saved_model.load(str(result.export_dir))
    rng = np.random.default_rng(5)
    big = np.stack([image("red", rng, size=40), image("red", rng, size=40)])
    assert loaded.signatures["serving_default"](images=tf.constant(big))["probabilities"].shape == (2, 3)
    gray_jpeg = encode(image("green", rng, size=24)[..., 0], "JPEG")
    rgba_png = encode(np.dstack([image("blue", rng, size=20), np.full((20, 20), 255, np.uint8)]), "PNG")
    answer = loaded.signatures["serving_bytes"](image_bytes=tf.constant([gray_jpeg, rgba_png]))
    assert answer["probabilities"].shape == (2, 3)
    with pytest.raises(tf.errors.InvalidArgumentError):
        loaded.signatures["serving_bytes"](image_bytes=tf.constant([b"definitely not an image"]))
    # The model keeps serving after a bad request.
    assert loaded.signatures["serving_bytes"](image_bytes=tf.constant([rgba_png]))["probabilities"].shape == (1, 3)


@pytest.mark.parametrize("flags, message", [
    (["--data", "missing_dir"], "not one of the tfds sets"),
    (["--data", "colours", "--classes", "red,cat"], "--classes cat not found; the classes are blue, green, red"),
    (["--data", "colours", "--model", "alexnet"], "unknown vision model 'alexnet'"),
    (["--data", "colours", "--epochs", "0"], "--epochs, --batch-size, --learning-rate must be positive"),
    (["--data", "colours", "--optimizer", "sgd", "--momentum", "1.5"], "--momentum must be in [0, 1)"),
])
def test_script_bad_input_one_line_exit_2_nothing_written(colour_tree, tmp_path, monkeypatch, capsys, flags,
                                                          message):
    (tmp_path / "colours").symlink_to(colour_tree)
    monkeypatch.chdir(tmp_path)  # the default output folders are relative
    code, _, err = run_script("train_vision", flags, capsys)
    assert code == 2 and message in err, err[-2000:]
    assert [line for line in err.splitlines() if line.startswith("error:")] == [
        line for line in err.splitlines() if message in line] and "Traceback" not in err
    assert not any((tmp_path / name).exists() for name in ("saved_models", "reports", "runs"))
