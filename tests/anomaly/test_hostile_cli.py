"""Hostile inputs through scripts/train_anomaly.py and scripts/detect_anomalies.py (in-process `main(argv)`, in
a temporary working directory): each mistake is one `error: ...` line naming the file and line, or the flag,
exit code 2, and nothing written (no saved_models/, reports/, runs/, no output CSV or plot). Every case
fails on the flags or the data, before TensorFlow trains or loads a model.

The series are the issue's probe: a 600-point sine (`timestamp,value`, 5-minute steps) with one hostile
value. Line numbers count the header as line 1, so `value[i]` is on line i + 2."""

import json

import numpy as np
import pandas as pd
import pytest

from tests.conftest import run_script

OUTPUTS = ("saved_models", "reports", "runs")


def _sine_csv(path, length=600, replace=None, timestamps=None):
    """The probe series; `replace` maps a point index to the text written for its value."""
    times = timestamps if timestamps is not None else [str(t) for t in pd.date_range("2024-01-01", periods=length,
                                                                                      freq="5min")]
    values = [f"{50 + 20 * np.sin(2 * np.pi * index / 288):.4f}" for index in range(length)]
    for index, text in (replace or {}).items():
        values[index] = text
    path.write_text("timestamp,value\n" + "".join(f"{t},{v}\n" for t, v in zip(times, values)))
    return path


def _mixed_offsets(length=600):
    times = [str(t) for t in pd.date_range("2024-01-01", periods=length, freq="5min")]
    times[:300] = [f"{t}+01:00" for t in times[:300]]  # the first half with an offset, the rest without
    return times


# name -> (the CSV's hostile points, what the one-line message must contain). The issue's repro is
# `1e308 in validation/test`: it used to exit 0 with the spike unflagged.
BAD_VALUES = {
    "1e308 in validation/test": ({450: "1e308"}, "line 452: 'value' is '1e308'"),
    "inf in training": ({100: "inf"}, "line 102: 'value' is 'inf'"),
    "-inf in test": ({590: "-inf"}, "line 592: 'value' is '-inf'"),
    "Infinity": ({450: "Infinity"}, "line 452: 'value' is 'Infinity'"),
    "1e39 overflows float32": ({450: "1e39"}, "line 452: 'value' is '1e39'"),
    "-3.5e38 overflows float32": ({10: "-3.5e38"}, "line 12: 'value' is '-3.5e38'"),
    "nan": ({450: "nan"}, "1 empty or NaN values (first at line 452)"),
    "empty": ({450: ""}, "1 empty or NaN values (first at line 452)"),
    "not a number": ({450: "12,5"}, "line 452"),
    "text": ({450: "abc"}, "line 452: 'value' is not a number: 'abc'"),
}


def _assert_one_line_exit_2(tmp_path, code, err, expected, keep=()):
    assert code == 2, err[-2000:]
    assert err.startswith("error: ") and err.count("\n") == 1, err[-2000:]
    assert expected in err, err
    assert "Traceback" not in err
    assert not [name for name in OUTPUTS if (tmp_path / name).exists()]
    assert {path.name for path in tmp_path.iterdir()} <= set(keep)  # nothing but the inputs


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default output folders are relative
    return tmp_path


# ------------------------------------------------------------------------------------------ train_anomaly.py
@pytest.mark.parametrize("detector", ["aeOnline", "window"])
@pytest.mark.parametrize("case", list(BAD_VALUES))
def test_train_anomaly_refuses_non_finite_and_overflowing_values_naming_the_line(workdir, capsys, case, detector):
    replace, expected = BAD_VALUES[case]
    csv = _sine_csv(workdir / "s.csv", replace=replace)
    code, _, err = run_script("train_anomaly", ["--csv", "s.csv", "--detector", detector, "--epochs", "1"], capsys)
    _assert_one_line_exit_2(workdir, code, err, expected, keep=("s.csv",))
    assert str(csv.name) in err


def test_the_issues_probe_was_fine_apart_from_the_spike(workdir):
    """The control: the same series without the hostile value loads (so the cases above fail on the value)."""
    from anomaly import data

    series = data.load_csv(_sine_csv(workdir / "s.csv"))
    assert len(series) == 600 and np.isfinite(series.values).all()
    assert len(data.load_csv(_sine_csv(workdir / "t.csv", replace={450: "1e6"}))) == 600  # large but finite


# Flags: (argv, message). NaN/inf in every float flag; the --detector window ones used to train and then crash
# (learning rate) or export a model that never flags (--k nan).
BAD_FLAGS = {
    "k nan": (["--detector", "window", "--threshold", "mean_std", "--k", "nan"], "--k nan: must be a finite number"),
    "k inf": (["--detector", "window", "--threshold", "mean_std", "--k", "inf"], "--k inf: must be a finite number"),
    "percentile nan": (["--detector", "window", "--percentile", "nan"], "--percentile nan: must be a finite number"),
    "percentile 100": (["--detector", "window", "--percentile", "100"], "--percentile must be in (0, 100)"),
    "learning rate nan": (["--detector", "window", "--learning-rate", "nan"],
                          "--learning-rate nan: must be a finite number"),
    "learning rate inf": (["--detector", "window", "--learning-rate", "inf"],
                          "--learning-rate inf: must be a finite number"),
    "learning rate -inf": (["--detector", "window", "--learning-rate=-inf"],
                           "--learning-rate -inf: must be a finite number"),
    "learning rate 0": (["--detector", "window", "--learning-rate", "0"], "--learning-rate must be positive"),
    "l2 nan": (["--detector", "window", "--l2", "nan"], "--l2 nan: must be a finite number"),
    "train fraction nan": (["--train-fraction", "nan"], "--train-fraction nan: must be a finite number"),
    "fractions sum to 1": (["--detector", "window", "--train-fraction", "0.6", "--validation-fraction", "0.4"],
                           "--train-fraction and --validation-fraction"),
    "alert threshold nan": (["--alert-threshold", "nan"], "--alert-threshold nan: must be a finite number"),
    "alert threshold 0": (["--alert-threshold", "0"], "--alert-threshold must be in (0, 1]"),
    "window 1": (["--detector", "window", "--window", "1"], "--window must be at least 2"),
    "stride 0": (["--detector", "window", "--stride", "0"], "--stride must be between 1 and --window"),
    "epochs 0": (["--detector", "window", "--epochs", "0"], "--epochs, --batch-size and --learning-rate"),
    "patience": (["--detector", "window", "--patience", "2", "--reduce-lr-patience", "2"],
                 "--reduce-lr-patience (2) must be below --patience (2)"),
    "unknown detector": (["--detector", "aeNope"], "--detector 'aeNope'"),
    "unknown model": (["--detector", "window", "--model", "transformer"], "'transformer'"),
    "window detector multivariate": (["--detector", "window", "--value-column", "value,value2"],
                                     "several --value-column names need an online --detector"),
    "missing column": (["--value-column", "speed"], "no 'speed' column; the columns are ['timestamp', 'value']"),
    "csv and nab file": (["--nab-file", "realTraffic/speed_6005.csv"], "pass either --csv or --nab-file"),
    "strategy for online": (["--strategy", "mirrored"], "--strategy is for --detector window"),
}


@pytest.mark.parametrize("case", list(BAD_FLAGS))
def test_train_anomaly_refuses_bad_flags_before_any_work(workdir, capsys, case):
    flags, expected = BAD_FLAGS[case]
    _sine_csv(workdir / "s.csv")
    code, _, err = run_script("train_anomaly", ["--csv", "s.csv", "--epochs", "1", *flags], capsys)
    _assert_one_line_exit_2(workdir, code, err, expected, keep=("s.csv",))


# Known bug (reported, not fixed here: production code): AnomalyConfig.validate() does not call
# core.export.check_model_name as VisionConfig's does, so `train_anomaly.py --name a/b` trains and exports to
# saved_models/a/b/1, which serving_config.py then leaves out ("a nested model"), and `--name ../x` exports
# outside --output-dir. Checked on the config, so that the test trains nothing while the bug is there.
@pytest.mark.parametrize("name", ["a/b", "../x"])
def test_export_names_that_are_not_one_folder_are_refused(name):
    from anomaly.config import AnomalyConfig
    from core.errors import UserError

    with pytest.raises(UserError, match="--name"):
        AnomalyConfig(csv="s.csv", name=name).validate()


BAD_FILES = {
    "missing": (None, "missing.csv: file not found"),
    "empty": ("", "s.csv: file is empty"),
    "header only": ("timestamp,value\n", "s.csv: file has a header but no rows"),
    "no timestamp column": ("time,reading\n2024-01-01,1\n", "no 'timestamp' column"),
    "mixed time zones": (lambda path: _sine_csv(path, timestamps=_mixed_offsets()), "same UTC offset"),
    "unsorted": (lambda path: _sine_csv(path, timestamps=[str(t) for t in pd.date_range(
        "2024-01-01", periods=600, freq="5min")][::-1]), "s.csv: timestamps are not sorted: line 3"),
    "bad timestamp": (lambda path: _sine_csv(path, timestamps=["yesterday"] + [str(t) for t in pd.date_range(
        "2024-01-02", periods=599, freq="5min")]), "s.csv: line 2: cannot parse timestamp 'yesterday'"),
    "constant": ("timestamp,value\n" + "".join(f"2024-01-01 00:{m:02d},7\n" for m in range(0, 60, 5)),
                 "constant (7): zero variance"),
    "too short for online": ("timestamp,value\n" + "".join(f"2024-01-01 00:{m:02d},{m % 7}\n"
                                                           for m in range(0, 60, 5)),
                             "the online detector needs at least"),
    "binary": (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\xff\xfe", "s.csv"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_train_anomaly_refuses_bad_files_naming_them(workdir, capsys, case):
    content, expected = BAD_FILES[case]
    name = "missing.csv" if content is None else "s.csv"
    path = workdir / name
    if callable(content):
        content(path)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    code, _, err = run_script("train_anomaly", ["--csv", name, "--epochs", "1"], capsys)
    _assert_one_line_exit_2(workdir, code, err, expected, keep=("s.csv",))
    assert name in err


def test_train_anomaly_labels_mistakes(workdir, capsys):
    _sine_csv(workdir / "s.csv")
    (workdir / "windows.json").write_text("{not json")
    code, _, err = run_script("train_anomaly", ["--csv", "s.csv", "--labels", "windows.json"], capsys)
    _assert_one_line_exit_2(workdir, code, err, "windows.json", keep=("s.csv", "windows.json"))
    (workdir / "windows.json").write_text(json.dumps({"cat/s.csv": [["2030-01-01 00:00", "2030-01-02 00:00"]]}))
    code, _, err = run_script("train_anomaly", ["--csv", "s.csv", "--labels", "windows.json",
                                                "--labels-key", "cat/s.csv"], capsys)
    _assert_one_line_exit_2(workdir, code, err, "lies outside the data", keep=("s.csv", "windows.json"))


# ------------------------------------------------------------------------------------------ detect_anomalies.py
@pytest.fixture
def online_export(workdir):
    """A stand-in for saved_models/anomaly_aeOnline/1: serving.json and a saved_model.pb. The script checks
    the flags, serving.json and the CSV before it loads the SavedModel, so none of the cases below reaches
    the (empty) model file."""
    version = workdir / "models" / "anomaly_aeOnline" / "1"
    version.mkdir(parents=True)
    (version / "saved_model.pb").write_bytes(b"")
    (version / "serving.json").write_text(json.dumps({"context": 18, "columns": ["value"], "threshold": 0.5,
                                                      "signature": "serving_default"}))
    return version.parent


def _detect(workdir, capsys, model_dir, csv, *extra):
    return run_script("detect_anomalies", ["--model-dir", str(model_dir), "--csv", csv, "--output", "scores.csv",
                                           "--plot", "scores.png", *extra], capsys)


def _assert_scoring_refused(workdir, code, err, expected):
    _assert_one_line_exit_2(workdir, code, err, expected, keep=("s.csv", "models", "window_model"))
    assert not (workdir / "scores.csv").exists() and not (workdir / "scores.png").exists()


@pytest.mark.parametrize("case", list(BAD_VALUES))
def test_detect_anomalies_refuses_non_finite_values_naming_the_line(workdir, capsys, online_export, case):
    replace, expected = BAD_VALUES[case]
    _sine_csv(workdir / "s.csv", replace=replace)
    code, _, err = _detect(workdir, capsys, online_export, "s.csv")
    _assert_scoring_refused(workdir, code, err, expected)
    assert "s.csv" in err


@pytest.mark.parametrize("case", ["missing model dir", "no version", "version 7", "empty newest version",
                                  "window detector export", "short csv", "missing column", "output folder",
                                  "batch size", "mixed time zones", "missing csv"])
def test_detect_anomalies_refuses_other_mistakes_in_one_line(workdir, capsys, online_export, case):
    _sine_csv(workdir / "s.csv")
    model_dir, csv, extra = online_export, "s.csv", []
    if case == "missing model dir":
        model_dir, expected = workdir / "models" / "nope", "no such model directory"
    elif case == "no version":
        model_dir, expected = workdir / "models", "no numeric version folder"
    elif case == "version 7":
        extra, expected = ["--version", "7"], "no version 7; versions are 1"
    elif case == "empty newest version":
        (online_export / "2").mkdir()
        expected = "2: no saved_model.pb (an empty or unfinished export); pass --version with one of 1"
    elif case == "window detector export":
        (workdir / "window_model" / "1").mkdir(parents=True)
        (workdir / "window_model" / "1" / "saved_model.pb").write_bytes(b"")
        model_dir, expected = workdir / "window_model", "no serving.json; not an online anomaly detector export"
    elif case == "short csv":
        _sine_csv(workdir / "s.csv", length=10)
        expected = "s.csv: 10 rows; the detector scores a point from the 18 points up to it"
    elif case == "missing column":
        (workdir / "s.csv").write_text("timestamp,speed\n2024-01-01,1\n")
        expected = "no 'value' column; the columns are ['timestamp', 'speed']"
    elif case == "output folder":
        code, _, err = run_script("detect_anomalies", ["--model-dir", str(model_dir), "--csv", csv, "--output",
                                                       "nowhere/scores.csv"], capsys)
        _assert_scoring_refused(workdir, code, err, "--output nowhere/scores.csv: folder nowhere does not exist")
        return
    elif case == "batch size":
        extra, expected = ["--batch-size", "0"], "--batch-size must be positive"
    elif case == "mixed time zones":
        _sine_csv(workdir / "s.csv", timestamps=_mixed_offsets())
        expected = "same UTC offset"
    else:
        csv, expected = "missing.csv", "missing.csv: file not found"
    code, _, err = _detect(workdir, capsys, model_dir, csv, *extra)
    _assert_scoring_refused(workdir, code, err, expected)


# ------------------------------------------------------------------------------------------ benchmark_anomaly.py
@pytest.fixture
def nab_dir(workdir):
    """A one-file NAB layout: data/cat/file.csv (the probe series), its (empty) windows and the real profiles."""
    root = workdir / "nab"
    (root / "labels").mkdir(parents=True)
    (root / "config").mkdir()
    (root / "data" / "cat").mkdir(parents=True)
    _sine_csv(root / "data" / "cat" / "file.csv")
    (root / "labels" / "combined_windows.json").write_text(json.dumps({"cat/file.csv": []}))
    (root / "config" / "profiles.json").write_text(json.dumps({
        name: {"CostMatrix": {"tpWeight": 1.0, "fnWeight": 1.0, "fpWeight": 0.11, "tnWeight": 1.0}}
        for name in ("standard", "reward_low_FP_rate", "reward_low_FN_rate")}))
    return root


def _benchmark(capsys, *argv):
    return run_script("benchmark_anomaly", ["--nab-dir", "nab", "--out", "out", *argv], capsys)


def _assert_benchmark_refused(workdir, code, err, expected):
    _assert_one_line_exit_2(workdir, code, err, expected, keep=("nab",))
    assert not (workdir / "out").exists() and not (workdir / "benchmarks").exists()


@pytest.mark.parametrize("case", ["1e308 in a file", "inf in a file", "labels not json", "no labels for the file",
                                  "no labels file", "unknown detector", "no file matches", "not a NAB folder",
                                  "no labelled window", "one seed to spread", "seed spread of a window detector"])
def test_benchmark_anomaly_refuses_bad_input_in_one_line(workdir, nab_dir, capsys, case):
    argv = []
    if case == "1e308 in a file":
        _sine_csv(nab_dir / "data" / "cat" / "file.csv", replace={450: "1e308"})
        expected = "nab/data/cat/file.csv: line 452: 'value' is '1e308'"
    elif case == "inf in a file":
        _sine_csv(nab_dir / "data" / "cat" / "file.csv", replace={3: "inf"})
        expected = "nab/data/cat/file.csv: line 5: 'value' is 'inf'"
    elif case == "labels not json":
        (nab_dir / "labels" / "combined_windows.json").write_text("{not json")
        expected = "nab/labels/combined_windows.json: not valid JSON"
    elif case == "no labels for the file":
        (nab_dir / "labels" / "combined_windows.json").write_text("{}")
        expected = "nab/labels/combined_windows.json: no labels for 'cat/file.csv'"
    elif case == "no labels file":
        (nab_dir / "labels" / "combined_windows.json").unlink()
        expected = "nab: no labels/combined_windows.json"
    elif case == "unknown detector":
        argv, expected = ["--detectors", "aeMagic"], "unknown detector 'aeMagic'; choose from"
    elif case == "no file matches":
        argv, expected = ["--files", "nothing-matches"], "nab: no NAB data files match 'nothing-matches'"
    elif case == "no labelled window":  # the fixture's one file has none: NAB's normalisation would divide by 0
        expected = "the 1 file(s) it selects have no labelled anomaly window"
    elif case == "one seed to spread":
        argv, expected = ["--seed-spread", "3"], "--seed-spread '3': give at least two distinct seeds"
    elif case == "seed spread of a window detector":
        argv, expected = ["--seed-spread", "0,1", "--detectors", "aeDense"], "--seed-spread runs online detectors only"
    else:
        argv, expected = ["--nab-dir", "elsewhere"], "not a NAB folder"
    code, _, err = _benchmark(capsys, *argv)
    _assert_benchmark_refused(workdir, code, err, expected)


# Known bug (reported, not fixed here): scripts/benchmark_anomaly.py reads config/profiles.json with a bare
# json.loads(Path.read_text()) (anomaly.nab.load_profiles): a NAB copy without it, or with a broken one, is a
# FileNotFoundError / JSONDecodeError traceback after the data files loaded.
@pytest.mark.parametrize("profiles", ["missing", "not json"])
def test_benchmark_anomaly_profiles_mistakes_are_one_line(workdir, nab_dir, capsys, profiles):
    if profiles == "missing":
        (nab_dir / "config" / "profiles.json").unlink()
    else:
        (nab_dir / "config" / "profiles.json").write_text("{not json")
    try:
        code, _, err = _benchmark(capsys)
    except (OSError, ValueError) as error:  # today: the exception escapes main()
        pytest.fail(f"traceback: {error!r}")
    _assert_benchmark_refused(workdir, code, err, "profiles.json")


def test_detect_anomalies_file_order_accepts_a_daylight_saving_repeat(workdir, capsys, online_export):
    times = [str(t) for t in pd.date_range("2024-10-27 00:00", periods=10, freq="30min")]
    times[5] = times[4]  # the clock goes back: a timestamp repeats
    _sine_csv(workdir / "s.csv", timestamps=times, length=10)
    code, _, err = _detect(workdir, capsys, online_export, "s.csv")
    _assert_scoring_refused(workdir, code, err, "pass --file-order to keep the rows in file order")
    # with the flag the repeat is accepted and the next check (too few rows for the context) answers
    code, _, err = _detect(workdir, capsys, online_export, "s.csv", "--file-order")
    _assert_scoring_refused(workdir, code, err, "s.csv: 10 rows; the detector scores a point from the 18 points")
