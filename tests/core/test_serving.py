"""Warmup requests, models.config, REST bodies and predict.py against a tiny exported model."""

import json
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf

from core import client, export, serving
from core.errors import UserError
from tests.conftest import run_script


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """saved_models/tiny/1 with a float input `x: [None, 3]` and a string input signature `named`."""
    root = tmp_path_factory.mktemp("saved_models")
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(inputs))

    def scores(x):
        return {"probabilities": model(x)}

    def lengths(text):
        return {"length": tf.strings.length(text)}

    path = export.export_saved_model(
        root / "tiny", {"serving_default": (scores, [tf.TensorSpec([None, 3], tf.float32, name="x")]),
                        "named": (lengths, [tf.TensorSpec([None], tf.string, name="text")])},
        track=[model], warmup={"serving_default": {"x": np.zeros((1, 3), np.float32)},
                               "named": {"text": np.array([b"warm"], dtype=object)}})
    return root, path, model


def test_warmup_file_is_in_assets_extra_and_replays_through_every_signature(exported):
    _, path, _ = exported
    assert (path / "assets.extra" / "tf_serving_warmup_requests").is_file()
    requests = serving.read_warmup(path)
    assert [name for name, _ in requests] == ["serving_default", "named"]
    loaded = tf.saved_model.load(str(path))
    for signature, inputs in requests:
        loaded.signatures[signature](**{name: tf.constant(value) for name, value in inputs.items()})
    from tensorflow_serving.apis import prediction_log_pb2

    record = next(iter(tf.data.TFRecordDataset(str(path / serving.WARMUP_PATH)))).numpy()
    assert prediction_log_pb2.PredictionLog.FromString(record).predict_log.request.model_spec.name == "tiny"


def test_models_config_lists_models_with_numeric_versions(exported, tmp_path):
    root, _, _ = exported
    shutil.copytree(root, tmp_path / "models")
    (tmp_path / "models" / "not_a_model").mkdir()
    (tmp_path / "models" / "draft" / "latest").mkdir(parents=True)
    text = serving.models_config(tmp_path / "models", base_path="/models")
    assert 'name: "tiny"' in text and 'base_path: "/models/tiny"' in text and "draft" not in text
    assert text.count("config {") == 1 and 'model_platform: "tensorflow"' in text
    with pytest.raises(UserError, match="no model folders with a numeric version"):
        serving.models_config(tmp_path / "models" / "not_a_model")


def test_serving_config_script_writes_the_file(exported, tmp_path, capsys):
    root, _, _ = exported
    code, out, _ = run_script("serving_config", [str(root), "--base-path", "/models",
                                                 "--output", str(tmp_path / "models.config")], capsys)
    assert code in (0, None) and "1 model(s)" in out
    assert 'base_path: "/models/tiny"' in (tmp_path / "models.config").read_text()


@pytest.mark.parametrize("make, message", [
    (lambda d: None, "no such model directory"),
    (lambda d: (d / "latest").mkdir(parents=True), "no numeric version folder"),
    (lambda d: (d / "1").mkdir(parents=True), "no version 7; versions are 1"),
])
def test_version_dir_mistakes(tmp_path, make, message):
    make(tmp_path / "model")
    with pytest.raises(UserError, match=message):
        serving.version_dir(tmp_path / "model", 7 if "version 7" in message else None)


def test_rest_body_uses_row_format_and_b64_for_bytes():
    body = serving.rest_request("serving_bytes", {"image_bytes": np.array([b"\x89PNG"], dtype=object)})
    assert body == {"signature_name": "serving_bytes", "instances": [{"image_bytes": {"b64": "iVBORw=="}}]}
    assert serving.from_rest_value(body["instances"][0]["image_bytes"]) == b"\x89PNG"


def test_predict_local_matches_the_model_and_prints_predictions(exported, tmp_path, capsys):
    root, _, model = exported
    rows = np.array([[0.1, 0.2, 0.3], [1.0, -1.0, 0.5]], np.float32)
    (tmp_path / "rows.csv").write_text("\n".join(",".join(map(str, row)) for row in rows))
    code, out, err = run_script("predict", ["--model-dir", str(root / "tiny"), "--input", str(tmp_path / "rows.csv")],
                                capsys)
    assert code in (0, None), err
    predictions = json.loads(out)["predictions"]
    np.testing.assert_allclose(predictions, np.asarray(model(rows)), atol=1e-6)  # one output: bare rows


def test_print_request_shows_the_rest_body_it_would_send(exported, tmp_path, capsys):
    root, _, _ = exported
    (tmp_path / "texts.txt").write_text("hello\nworld\n")
    code, out, _ = run_script("predict", ["--model-dir", str(root / "tiny"), "--input", str(tmp_path / "texts.txt"),
                                          "--signature", "named", "--print-request"], capsys)
    assert code in (0, None)
    assert json.loads(out) == {"signature_name": "named", "instances": [{"text": "hello"}, {"text": "world"}]}
    assert client.rest_url("http://h:8501/", "tiny", 3) == "http://h:8501/v1/models/tiny/versions/3:predict"


@pytest.mark.parametrize("content, message", [
    ('{"instances": [[1, 2]]}', "input 'x' has shape [1, 2] (batch first); expected x: float32 [?, 3]"),
    ('{"instances": [["a", "b", "c"]]}', "does not fit the signature (not numeric); expected x: float32 [?, 3]"),
    ('{"instances": [{"y": [1, 2, 3]}]}', "instances name inputs ['y']; the signature expects x: float32 [?, 3]"),
    ('{"rows": []}', 'expected a TF Serving REST body {"instances": [...]}'),
])
def test_requests_that_do_not_fit_the_signature_say_what_it_expects(exported, tmp_path, capsys, content, message):
    root, _, _ = exported
    (tmp_path / "request.json").write_text(content)
    code, _, err = run_script("predict", ["--model-dir", str(root / "tiny"), "--input", str(tmp_path / "request.json")],
                              capsys)
    assert code == 2 and message in err, err


def test_unreachable_server_is_a_clear_error(exported, tmp_path, capsys):
    root, _, _ = exported
    (tmp_path / "rows.csv").write_text("1,2,3\n")
    code, _, err = run_script("predict", ["--model-dir", str(root / "tiny"), "--input", str(tmp_path / "rows.csv"),
                                          "--url", "http://127.0.0.1:9", "--timeout", "5"], capsys)
    assert code == 2 and "http://127.0.0.1:9/v1/models/tiny:predict: cannot reach the server" in err


@pytest.mark.skipif(shutil.which("tensorflow_model_server") is None,
                    reason="tensorflow_model_server is not on PATH: install TensorFlow Serving's "
                           "tensorflow-model-server package to run a real server")
def test_real_tensorflow_model_server_answers_like_local(exported, tmp_path, capsys):
    import socket
    import subprocess

    root, _, _ = exported
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(["tensorflow_model_server", f"--rest_api_port={port}", "--port=0",
                               "--model_name=tiny", f"--model_base_path={root / 'tiny'}"])
    try:
        (tmp_path / "rows.csv").write_text("0.1,0.2,0.3\n")
        arguments = ["--model-dir", str(root / "tiny"), "--input", str(tmp_path / "rows.csv")]
        local = json.loads(run_script("predict", arguments, capsys)[1])
        _wait_until_available(server, f"http://127.0.0.1:{port}/v1/models/tiny", timeout=60)
        code, out, err = run_script("predict", arguments + ["--url", f"http://127.0.0.1:{port}"], capsys)
        assert code in (0, None), err
        np.testing.assert_allclose(json.loads(out)["predictions"], local["predictions"], atol=1e-5)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_until_available(server, status_url: str, timeout: float) -> None:
    """Polls TF Serving's model status until a version is AVAILABLE; the pause between polls is a wait on the
    server process, so a server that exits fails the test at once."""
    import subprocess
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(status_url, timeout=5) as response:
                if any(version.get("state") == "AVAILABLE"
                       for version in json.loads(response.read()).get("model_version_status", [])):
                    return
        except (OSError, ValueError):  # not listening yet (URLError is an OSError), or not JSON yet
            pass
        assert time.monotonic() < deadline, f"{status_url}: no AVAILABLE version within {timeout} s"
        try:
            code = server.wait(timeout=0.2)
        except subprocess.TimeoutExpired:
            continue
        raise AssertionError(f"tensorflow_model_server exited with status {code}")
