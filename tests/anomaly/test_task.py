"""End to end: a short training run (tests/conftest.py's `anomaly_run`), its export and report, and the
script's handling of bad input. The export contract shared with the other tasks (warmup, predict.py) is
tests/core/test_export_contract.py."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from anomaly import data
from tests.conftest import REPO, run_script


@pytest.fixture(scope="module")
def short_run(anomaly_run):
    return anomaly_run


def test_run_exports_a_versioned_savedmodel_with_its_report(short_run):
    config, result = short_run
    assert result.export_dir.resolve() == (Path(config.output_dir) / "anomaly_dense" / "1").resolve()
    for name in ("saved_model.pb", "config.json", "report.json", "report.md", "series.png", "loss.png",
                 "anomaly_score.png", "confusion_matrix.png", "error_histogram.png"):
        assert (result.export_dir / name).is_file(), name
        assert (result.report_dir / name).is_file() or name == "saved_model.pb"
    saved = json.loads((result.export_dir / "report.json").read_text())
    assert saved["config"]["window"] == 24 and saved["seed"] == 1
    assert saved["data"]["entries"] == 4032 and saved["data"]["labelled_windows"] == 4
    assert set(saved["metrics"]) >= {"train", "validation", "test", "held_out", "threshold"}
    assert saved["parameters"]["total"] > 0 and saved["wall_time_s"] > 0


def test_exported_signature_scores_raw_windows_like_the_in_process_detector(short_run):
    config, result = short_run
    series = data.synthetic_series(config.seed)
    windows, _ = data.sliding_windows(series.values, config.window)
    report = json.loads((result.export_dir / "report.json").read_text())

    serving = tf.saved_model.load(str(result.export_dir)).signatures["serving_default"]
    served = {key: value.numpy() for key, value in serving(windows=tf.constant(windows)).items()}
    assert set(served) == {"reconstruction", "reconstruction_error", "anomaly_score", "is_anomaly"}

    local = result.detector.predict(windows)
    np.testing.assert_allclose(served["anomaly_score"], local["anomaly_score"], atol=1e-6)
    np.testing.assert_allclose(served["reconstruction"], local["reconstruction"], rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(served["is_anomaly"], local["is_anomaly"])
    assert result.detector.threshold == report["metrics"]["threshold"]
    # The raw (unscaled) values went in: the reconstruction is back on the data's scale.
    assert abs(served["reconstruction"].mean() - windows.mean()) < 0.2 * windows.std()
    # Anomalous test windows score above the clean training ones.
    split = data.chronological_split(series, config.train_fraction, config.validation_fraction, config.window)
    assert served["anomaly_score"][split.validation_end:].max() > served["anomaly_score"][:split.train_end].max()


def _train(argv, cwd, monkeypatch, capsys):
    """scripts/train_anomaly.py's main(argv) in this process, in `cwd` (the default outputs are relative)."""
    monkeypatch.chdir(cwd)
    return run_script("train_anomaly", argv, capsys)


def test_the_script_entry_point_exits_2_with_one_error_line(tmp_path):
    # A real interpreter on purpose: the exit status of `python scripts/train_anomaly.py` itself (the
    # `sys.exit(main())` every script ends with), which the in-process tests below cannot see.
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "train_anomaly.py"), "--csv", "missing.csv"],
                            capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 2, result.stderr
    assert result.stderr == "error: missing.csv: file not found\n", result.stderr
    assert result.stdout == "" and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("content, flags, message", [
    (None, [], "file not found"),
    ("", [], "file is empty"),
    ("time,reading\n2024-01-01,1\n", [], "no 'timestamp' column; the columns are ['time', 'reading']"),
    ("timestamp,value\n2024-01-01 00:00,1\n2024-01-01 00:05,x\n", [], "line 3: 'value' is not a number"),
    ("timestamp,value\n" + "".join(f"2024-01-01 00:{m:02d},{m % 7}\n" for m in range(0, 60, 5)),
     ["--detector", "window", "--window", "48"], "shorter than one window"),
    ("timestamp,value\n" + "".join(f"2024-01-01 00:{m:02d},{m % 7}\n" for m in range(0, 60, 5)),
     [], "the online detector needs at least"),
    ("timestamp,value\n2024-01-01 00:00,1\n2024-01-01 00:05,inf\n", [], "line 3: 'value' is 'inf'"),
    ("timestamp,value\n2024-01-01 00:00,1\n2024-01-01 00:05,1e308\n", [], "not a finite number within float32"),
    ("timestamp,value\n2024-01-01 00:00+01:00,1\n2024-01-01 00:05,2\n", [], "same UTC offset"),
    ("timestamp,value\n2024-01-01 00:00,1\n2024-01-01 00:05,\n2024-01-01 00:10,3\n", [], "1 empty or NaN"),
])
def test_script_reports_bad_input_in_one_line_exit_2_and_writes_nothing(tmp_path, monkeypatch, capsys, content,
                                                                        flags, message):
    csv = tmp_path / "input.csv"
    if content is not None:
        csv.write_text(content)
    code, _, err = _train(["--csv", str(csv), *flags], tmp_path, monkeypatch, capsys)
    assert code == 2, err
    assert err.startswith("error: ") and message in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert {path.name for path in tmp_path.iterdir()} <= {"input.csv"}  # nothing but the input
    assert not any((tmp_path / name).exists() for name in ("saved_models", "reports", "runs"))


def test_script_rejects_labels_that_do_not_match_the_data(tmp_path, monkeypatch, capsys):
    csv = tmp_path / "cat" / "s.csv"
    csv.parent.mkdir()
    csv.write_text("timestamp,value\n" + "".join(f"2024-01-01 {h:02d}:00,{h % 5}\n" for h in range(24)))
    labels = tmp_path / "windows.json"
    labels.write_text(json.dumps({"cat/s.csv": [["2025-01-01 00:00", "2025-01-02 00:00"]]}))
    code, _, err = _train(["--csv", str(csv), "--labels", str(labels), "--detector", "window", "--window", "4"],
                          tmp_path, monkeypatch, capsys)
    assert code == 2 and "the labels file does not match the data file" in err, err
    assert not (tmp_path / "saved_models").exists()


def test_script_rejects_unknown_models_with_the_known_ones(tmp_path, monkeypatch, capsys):
    from anomaly import models

    code, _, err = _train(["--detector", "window", "--model", "transformer"], tmp_path, monkeypatch, capsys)
    assert code == 2 and "'transformer'" in err and ", ".join(models.names()) in err, err
    assert not (tmp_path / "saved_models").exists()


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")  # 1e39 -> float32, on purpose
def test_non_finite_windows_are_anomalies_and_predict_prints_valid_json(short_run, tmp_path, capsys):
    config, result = short_run
    windows = np.full((4, config.window), 50.0)
    windows[0, -1], windows[1, 3], windows[2, 0] = np.inf, np.nan, 1e39  # 1e39 overflows float32: inf
    answer = result.detector.predict(windows)
    np.testing.assert_array_equal(answer["anomaly_score"][:3], [1.0, 1.0, 1.0])
    assert answer["is_anomaly"][:3].all() and 0 <= answer["anomaly_score"][3] < 1
    rows = "\n".join(",".join(["50"] * (config.window - 1) + [value]) for value in ("inf", "nan", "50"))
    (tmp_path / "windows.csv").write_text(rows)
    code, out, err = run_script("predict", ["--model-dir", str(result.export_dir.parent),
                                            "--input", str(tmp_path / "windows.csv")], capsys)
    assert code in (0, None), err
    predictions = json.loads(out)["predictions"]  # strict JSON: no NaN or Infinity literals
    assert [row["anomaly_score"] for row in predictions][:2] == [1.0, 1.0]
    assert predictions[0]["reconstruction_error"] is None  # inf has no JSON form: null
