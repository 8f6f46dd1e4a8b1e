"""The export contract every task keeps, one test parametrised over the three tasks (each on its short run from
tests/conftest.py): `<output_dir>/<task>_<model>/1` holds the SavedModel, its config and report, and a warmup
request for each of its signatures, which replay; the report folder holds the same report; and
scripts/predict.py, run locally on an input file, answers what the signature answers."""

import json

import numpy as np
import pytest
import tensorflow as tf

from core import serving
from tests.conftest import run_script

TASKS = ["anomaly", "textclf", "vision"]


def _sample(task: str, run, folder):
    """(an input file for predict.py, the signature it selects, that signature's inputs for the same rows)."""
    if task == "anomaly":
        from anomaly import data

        config, _ = run
        windows, _ = data.sliding_windows(data.synthetic_series(config.seed).values, config.window)
        windows = windows[:3].astype(np.float32)
        path = folder / "windows.csv"
        path.write_text("\n".join(",".join(repr(float(value)) for value in row) for row in windows))
        return path, "serving_default", {"windows": windows}
    if task == "textclf":
        texts = ["goal team win", "bank profit shares", ""]
        path = folder / "texts.txt"
        path.write_text("goal team win\nbank profit shares\n\n")
        return path, "serving_default", {"text": np.array([text.encode() for text in texts], dtype=object)}
    from tests.vision.images import encode

    _, parts, _ = run
    blob = encode(parts["test"].images[0])
    path = folder / "image.png"
    path.write_bytes(blob)
    return path, "serving_bytes", {"image_bytes": np.array([blob], dtype=object)}


def _assert_same(predicted, expected, where):
    expected = np.asarray(expected)
    if expected.dtype.kind in "OS":  # strings: text in the JSON
        text = [value.decode() for value in expected.tolist()] if expected.ndim else expected.item().decode()
        assert predicted == text, where
    elif expected.dtype == bool:
        assert predicted == expected.tolist(), where
    else:
        np.testing.assert_allclose(np.asarray(predicted, np.float64), expected.astype(np.float64), rtol=1e-5,
                                   atol=1e-6, err_msg=where)


@pytest.mark.parametrize("task", TASKS)
def test_export_contract(task, request, tmp_path, capsys):
    run = request.getfixturevalue(f"{task}_run")
    config, result = run[0], run[-1]
    export_dir = result.export_dir
    assert export_dir.name == "1" and export_dir.parent.name == f"{task}_{config.model}"
    for name in ("saved_model.pb", "config.json", "report.json", "report.md", serving.WARMUP_PATH):
        assert (export_dir / name).is_file(), name
    for name in ("config.json", "report.json", "report.md"):  # the report folder holds the same files
        assert (result.report_dir / name).read_bytes() == (export_dir / name).read_bytes(), name
    report = json.loads((export_dir / "report.json").read_text())
    assert report["seed"] == config.seed and report["parameters"]["total"] > 0 and report["wall_time_s"] > 0
    assert report["metrics"] and report["environment"]["packages"]["tensorflow"]

    # One warmup request per signature, each accepted by the SavedModel.
    loaded = tf.saved_model.load(str(export_dir))
    requests = serving.read_warmup(export_dir)
    assert sorted(name for name, _ in requests) == sorted(loaded.signatures)
    for signature, inputs in requests:
        outputs = loaded.signatures[signature](**{key: tf.constant(value) for key, value in inputs.items()})
        assert all(value.shape[0] == 1 for value in outputs.values()), signature

    # predict.py, locally, answers what the signature answers for the same rows.
    path, signature, inputs = _sample(task, run, tmp_path)
    expected = {name: value.numpy() for name, value in
                loaded.signatures[signature](**{key: tf.constant(value) for key, value in inputs.items()}).items()}
    code, out, err = run_script("predict", ["--model-dir", str(export_dir.parent), "--input", str(path)], capsys)
    assert code in (0, None), err
    predictions = json.loads(out)["predictions"]
    rows = len(next(iter(inputs.values())))
    assert len(predictions) == rows
    for index, row in enumerate(predictions):
        if len(expected) == 1:  # a single output: bare rows
            row = {next(iter(expected)): row}
        assert set(row) == set(expected)
        for name, values in expected.items():
            _assert_same(row[name], values[index], f"{task} row {index} {name}")
