"""End to end: a one-epoch run of every family on images the test makes, both export signatures, the
report, and bad input through the script."""

import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import REPO
from tests.vision.images import encode, image, make_tree
from vision import task
from vision.config import VisionConfig

FAMILIES = ["vgg", "resnet", "vit", "efficientnet"]


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return make_tree(tmp_path_factory.mktemp("images") / "colours", per_class=40, size=16)


@pytest.fixture(scope="module")
def runs(tree, tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    results = {}
    for model in FAMILIES:
        config = VisionConfig(data=str(tree), model=model, epochs=1, batch_size=16, verbose=0, seed=0,
                              output_dir=str(root / "saved_models"), reports_dir=str(root / "reports"),
                              run_dir=str(root / "runs"))
        parts = task.prepare(config)
        results[model] = (config, parts, task.run(config, parts))
    return results


@pytest.mark.parametrize("model", FAMILIES)
def test_quick_run_exports_both_signatures_and_a_report(runs, model):
    _, parts, result = runs[model]
    assert result.export_dir.name == "1" and result.export_dir.parent.name == f"vision_{model}"
    for name in ("report.md", "report.json", "config.json", "loss.png", "accuracy.png", "confusion_matrix.png"):
        assert (result.export_dir / name).is_file(), name
    history = result.metrics["history"]
    assert len(history["test_accuracy"]) == len(history["elapsed_s"]) == 1
    assert result.metrics["image_size"].startswith("16x16: the most common size of the training images")
    loaded = tf.saved_model.load(str(result.export_dir))
    test = parts["test"]
    by_array = loaded.signatures["serving_default"](images=tf.constant(test.images[:4]))
    by_bytes = loaded.signatures["serving_bytes"](
        image_bytes=tf.constant([encode(array, "PNG") for array in test.images[:4]]))
    assert by_array["probabilities"].shape == (4, 3)
    np.testing.assert_allclose(by_bytes["probabilities"].numpy(), by_array["probabilities"].numpy(), atol=1e-5)
    assert {name.decode() for name in by_array["class_name"].numpy()} <= {"blue", "green", "red"}


def test_served_probabilities_equal_in_process_predictions(runs):
    config, parts, result = runs["resnet"]
    import keras

    loaded = tf.saved_model.load(str(result.export_dir))
    served = loaded.signatures["serving_default"](images=tf.constant(parts["test"].images))["probabilities"]
    # The report's metrics came from the same weights in process.
    accuracy = float(np.mean(served.numpy().argmax(axis=1) == parts["test"].labels))
    assert accuracy == pytest.approx(result.metrics["test"]["accuracy"], abs=1e-9)
    assert keras.mixed_precision.global_policy().name == "float32"  # no GPU here


def test_serving_resizes_converts_and_rejects_undecodable_bytes(runs):
    _, _, result = runs["vgg"]
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


def test_a_few_epochs_learn_the_colours(tree, tmp_path):
    config = VisionConfig(data=str(tree), model="vgg", epochs=6, batch_size=16, verbose=0, seed=1,
                          learning_rate=3e-3, test_curves=False, run_dir=str(tmp_path / "runs"))
    parts = task.prepare(config)
    trained = task.fit(config, parts)
    accuracy = np.mean(task.predict(trained.model, parts["test"].images).argmax(axis=1) == parts["test"].labels)
    assert accuracy > 0.9  # three flat colours plus noise


@pytest.mark.parametrize("flags, message", [
    (["--data", "missing_dir"], "not one of the tfds sets"),
    (["--data", "colours", "--classes", "red,cat"], "--classes cat not found; the classes are blue, green, red"),
    (["--data", "colours", "--model", "alexnet"], "unknown vision model 'alexnet'"),
    (["--data", "colours", "--epochs", "0"], "--epochs, --batch-size, --learning-rate must be positive"),
])
def test_script_bad_input_one_line_exit_2_nothing_written(tree, tmp_path, flags, message):
    (tmp_path / "colours").symlink_to(tree)
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "train_vision.py"), *flags],
                            capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 2 and message in result.stderr, result.stderr[-2000:]
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        line for line in result.stderr.splitlines() if message in line] and "Traceback" not in result.stderr
    assert not any((tmp_path / name).exists() for name in ("saved_models", "reports", "runs"))


def test_warmup_requests_replay_and_predict_script_runs_locally(runs, tmp_path, capsys):
    from core import serving
    from tests.conftest import run_script

    _, parts, result = runs["vit"]
    requests = serving.read_warmup(result.export_dir)
    assert sorted(name for name, _ in requests) == ["serving_bytes", "serving_default"]
    loaded = tf.saved_model.load(str(result.export_dir))
    for signature, inputs in requests:
        assert loaded.signatures[signature](**{k: tf.constant(v) for k, v in inputs.items()})["probabilities"].shape == (1, 3)
    (tmp_path / "red.png").write_bytes(encode(parts["test"].images[0]))
    code, out, err = run_script("predict", ["--model-dir", str(result.export_dir.parent),
                                            "--input", str(tmp_path / "red.png")], capsys)
    assert code in (0, None), err
    answer = __import__("json").loads(out)["predictions"][0]
    assert answer["class_name"] in {"blue", "green", "red"} and len(answer["probabilities"]) == 3
