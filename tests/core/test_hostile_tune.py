"""Hostile inputs through scripts/tune.py for the anomaly and vision tasks (the textclf ones are in
tests/textclf/test_hostile_inputs.py): every `--hp`/`--set` value, flag and data mistake is one `error: ...`
line naming the flag or the file, exit code 2, before any trial runs, and nothing written (no tuning/,
saved_models/, reports/ or runs/ folder). In-process (`main(argv)`), in a temporary working directory, so the
default output folders are checked."""

import numpy as np
import pandas as pd
import pytest

from tests.conftest import run_script
from tests.vision.images import make_tree, png_bomb

OUTPUTS = ("tuning", "saved_models", "reports", "runs")


INPUTS = ("good.csv", "spike.csv", "mixed.csv", "images", "one_class", "lonely", "bombs")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """The probe files, made once (the bombs take a moment to write); each test links them into its folder."""
    root = tmp_path_factory.mktemp("inputs")
    times = pd.date_range("2024-01-01", periods=600, freq="5min")
    values = [f"{50 + 20 * np.sin(2 * np.pi * index / 288):.4f}" for index in range(600)]
    (root / "good.csv").write_text("timestamp,value\n" + "".join(f"{t},{v}\n" for t, v in zip(times, values)))
    spiked = values.copy()
    spiked[450] = "1e308"  # the probe: used to pass the checks and go unflagged
    (root / "spike.csv").write_text("timestamp,value\n" + "".join(f"{t},{v}\n" for t, v in zip(times, spiked)))
    mixed = [f"{t}+01:00" if index < 300 else str(t) for index, t in enumerate(times)]
    (root / "mixed.csv").write_text("timestamp,value\n" + "".join(f"{t},{v}\n" for t, v in zip(mixed, values)))
    make_tree(root / "images", per_class=6)
    make_tree(root / "one_class", per_class=6, classes=("red",))
    make_tree(root / "lonely", per_class=6, classes=("red", "green"))
    make_tree(root / "lonely", per_class=1, classes=("blue",))
    make_tree(root / "bombs", per_class=6, classes=("red", "green"))
    (root / "bombs" / "blue").mkdir()
    for index in range(3):
        (root / "bombs" / "blue" / f"{index}.png").write_bytes(png_bomb(20_000, 20_000))
    return root


@pytest.fixture
def workdir(inputs, tmp_path, monkeypatch):
    for name in INPUTS:
        (tmp_path / name).symlink_to(inputs / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _assert_refused_before_any_trial(workdir, code, err, expected):
    assert code == 2, err[-2000:]
    assert err.startswith("error: ") and err.count("\n") == 1, err[-2000:]
    assert expected in err, err
    assert "Traceback" not in err and "no trial finished" not in err
    assert not [name for name in OUTPUTS if (workdir / name).exists()]
    assert sorted(path.name for path in workdir.iterdir()) == sorted(INPUTS)


ANOMALY = {
    "hp learning rate nan": (["--hp", "learning_rate=nan"], "--hp learning_rate=nan: must be a finite number"),
    "hp learning rate inf": (["--hp", "learning_rate=inf"], "--hp learning_rate=inf: must be a finite number"),
    "hp learning rate text": (["--hp", "learning_rate=fast"], "--hp learning_rate=fast: 'fast' is not a valid float"),
    "hp learning rate 0": (["--hp", "learning_rate=0"], "--hp learning_rate=0: --epochs, --batch-size and "
                                                        "--learning-rate must be positive"),
    "hp window text": (["--hp", "window=wide"], "--hp window=wide: 'wide' is not a valid int"),
    "hp window 1": (["--hp", "window=1"], "--hp window=1: --window must be at least 2"),
    "hp window 1.5": (["--hp", "window=1.5"], "--hp window=1.5: '1.5' is not a valid int"),
    "hp model": (["--hp", "model=transformer"], "--hp model=transformer: unknown anomaly model 'transformer'"),
    "hp l2 nan": (["--hp", "l2=nan"], "--hp l2=nan: must be a finite number"),
    "hp unknown": (["--hp", "depth=3"], "--hp depth: not in the anomaly search space"),
    "hp no value": (["--hp", "window"], "--hp window: expected NAME=VALUE"),
    "set k nan": (["--set", "k=nan"], "--set k=nan: must be a finite number"),
    "set percentile inf": (["--set", "percentile=inf"], "--set percentile=inf: must be a finite number"),
    "set percentile 100": (["--set", "percentile=100"], "--percentile must be in (0, 100)"),
    "set tuned field": (["--set", "window=16"], "--set window: tuned by the anomaly search space"),
    "set unknown field": (["--set", "colour=red"], "unknown field 'colour'"),
    "set bad int": (["--set", "batch_size=many"], "--set batch_size=many: 'many' is not a valid int"),
    "set no value": (["--set", "epochs"], "--set epochs: '' is not a valid int"),
    "epochs 0": (["--epochs", "0"], "--epochs must be at least 1"),
    "max trials 0": (["--max-trials", "0"], "--max-trials must be at least 1"),
    "tuner": (["--tuner", "grid"], "--tuner 'grid' is unknown"),
    "csv missing": (["--set", "csv=missing.csv"], "missing.csv: file not found"),
    "csv with 1e308": (["--set", "csv=spike.csv"], "spike.csv: line 452: 'value' is '1e308'"),
    "csv mixed time zones": (["--set", "csv=mixed.csv"], "mixed.csv: cannot parse the 'timestamp' column"),
    "csv without labels": (["--set", "csv=good.csv"], "good.csv: the validation part"),
}


@pytest.mark.parametrize("case", list(ANOMALY))
def test_tune_anomaly_bad_input_fails_before_any_trial(workdir, capsys, case):
    extra, expected = ANOMALY[case]
    code, _, err = run_script("tune", ["--task", "anomaly", "--max-trials", "1", "--epochs", "1", *extra], capsys)
    _assert_refused_before_any_trial(workdir, code, err, expected)


VISION = {
    "hp dropout nan": (["--hp", "dropout=nan"], "--hp dropout=nan: must be a finite number"),
    "hp dropout text": (["--hp", "dropout=half"], "--hp dropout=half: 'half' is not a valid float"),
    "hp learning rate inf": (["--hp", "learning_rate=inf"], "--hp learning_rate=inf: must be a finite number"),
    "hp learning rate negative": (["--hp", "learning_rate=-1"],
                                  "learning_rate=-1: --epochs, --batch-size, --learning-rate must be positive"),
    "hp l2 -inf": (["--hp", "l2=-inf"], "--hp l2=-inf: must be a finite number"),
    "hp model": (["--hp", "model=alexnet"], "--hp model=alexnet: unknown vision model 'alexnet'"),
    "set image size 4": (["--set", "image_size=4"], "--image-size must be in 8..1024"),
    "set max per class 1": (["--set", "max_per_class=1"], "--max-per-class must be at least 2"),
    "set label smoothing nan": (["--set", "label_smoothing=nan"], "--set label_smoothing=nan: must be a finite"),
    "set warmup inf": (["--set", "warmup_epochs=inf"], "--set warmup_epochs=inf: must be a finite number"),
    "set name nested": (["--set", "name=a/b"], "--name 'a/b'"),
    "set tuned field": (["--set", "dropout=0.2"], "--set dropout: tuned by the vision search space"),
    "data missing": (["--set", "data=nowhere"], "--data 'nowhere': no such directory or zip file"),
    "data one class": (["--set", "data=one_class"], "a classifier needs at least two class"),
    "data one image in a class": (["--set", "data=lonely"], "class 'blue' has 1 image"),
    "data only bombs in a class": (["--set", "data=bombs"], "class 'blue' has no decodable images"),
}


@pytest.mark.parametrize("case", list(VISION))
def test_tune_vision_bad_input_fails_before_any_trial(workdir, capsys, case):
    extra, expected = VISION[case]
    argv = ["--task", "vision", "--max-trials", "1", "--epochs", "1", "--set", "batch_size=8"]
    if not any(item.startswith("data=") for item in extra):
        argv += ["--set", "data=images"]
    if not any(item.startswith("model=") for item in extra):
        argv += ["--hp", "model=vgg"]  # the cheapest family, were a trial to start
    code, _, err = run_script("tune", [*argv, *extra], capsys)
    _assert_refused_before_any_trial(workdir, code, err, expected)
