"""Hostile inputs through scripts/train_textclf.py and scripts/tune.py (in-process `main(argv)`): each is one
`error: ...` line naming the file, row or flag, exit code 2, and nothing written (no saved_models/, reports/,
runs/ or tuning/ folder)."""

import numpy as np
import pytest

from tests.conftest import run_script

OUTPUTS = ("saved_models", "reports", "runs", "tuning")


def _texts(labels) -> str:
    rng = np.random.default_rng(0)
    words = "alpha beta gamma delta epsilon zeta eta theta".split()
    return "".join(f"{label},{' '.join(rng.choice(words, size=4))}\n" for label in labels)


# file name -> (content, what the one-line message must contain)
FILES = {
    "one_class.csv": ("label,text\n" + _texts(["sport"] * 30), "all of class 'sport': a classifier needs"),
    "lonely.csv": ("label,text\n" + _texts(["a", "b"] * 15 + ["c"]), "class 'c' has only 1 text (line 32)"),
    "six_rows.csv": ("label,text\n" + _texts(["a", "b"] * 3), "6 texts are too few for a stratified"),
    "open_quote.csv": ('label,text\na,fine\nb,"never closed\na,more\n', "line 3: a quoted field is never closed"),
    "superscript.csv": ("label,text\n1,one\n\u00b2,two\n", "line 3: label '\u00b2' looks like a number"),
    "dashes.csv": ("label,text\n1,one\n--1,minus\n", "line 3: label '--1' looks like a number"),
    "ag_superscript.csv": ('"1","t","d"\n"\u00b2","t","d"\n', "line 2: class '\u00b2' is not in 1..4"),
    "ragged.csv": ("label,text\na,x\nb,y,z\n", "line 3: 3 columns, expected 2"),
    "empty_label.csv": ("label,text\na,x\n,y\n", "line 3: the label is empty"),
    "empty.csv": ("", "file is empty"),
    "stray_quote.csv": ('label,text\na,"x"y\nb,z\n', "line 2: not valid CSV"),
}
GOOD = "label,text\n" + _texts(["a", "b"] * 20)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name, (content, _) in FILES.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
    (tmp_path / "good.csv").write_text(GOOD)
    return tmp_path


def _outputs(tmp_path) -> list[str]:
    return ["--output-dir", str(tmp_path / "saved_models"), "--reports-dir", str(tmp_path / "reports"),
            "--run-dir", str(tmp_path / "runs")]


def _assert_one_line_exit_2(tmp_path, code, err, expected):
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert expected in err, err
    assert not [name for name in OUTPUTS if (tmp_path / name).exists()]


@pytest.mark.parametrize("name", list(FILES))
def test_train_textclf_bad_file(workdir, capsys, name):
    code, _, err = run_script("train_textclf", ["--csv", name, "--epochs", "1", *_outputs(workdir)], capsys)
    _assert_one_line_exit_2(workdir, code, err, FILES[name][1])
    assert name in err  # the message names the file


@pytest.mark.parametrize("flags, expected", [
    (["--learning-rate", "nan"], "--learning-rate nan: must be a finite number"),
    (["--learning-rate", "inf"], "--learning-rate inf: must be a finite number"),
    (["--dropout=-inf"], "--dropout -inf: must be a finite number"),
    (["--l2", "nan"], "--l2 nan: must be a finite number"),
    (["--warmup-epochs", "inf"], "--warmup-epochs inf: must be a finite number"),
    (["--dropout", "1.5"], "--dropout and --label-smoothing must be in [0, 1)"),
    (["--learning-rate", "0"], "--learning-rate positive"),
    (["--weight-averaging", "1"], "--weight-averaging must be in [0, 1), got 1.0"),
    (["--model", "nope"], "unknown text model 'nope'"),
    (["--validation-fraction", "0.4", "--test-fraction", "0.45", "--csv", "lonely.csv"], "class 'c' has only 1"),
])
def test_train_textclf_bad_flag(workdir, capsys, flags, expected):
    argv = ["--csv", "good.csv", "--epochs", "1", *_outputs(workdir), *flags]
    code, _, err = run_script("train_textclf", argv, capsys)
    _assert_one_line_exit_2(workdir, code, err, expected)


@pytest.mark.parametrize("extra, expected", [
    (["--set", "csv=one_class.csv"], "one_class.csv: 30 rows, all of class 'sport'"),
    (["--set", "csv=open_quote.csv"], "open_quote.csv: line 3: a quoted field is never closed"),
    (["--set", "csv=six_rows.csv"], "six_rows.csv: 6 texts are too few"),
    (["--set", "csv=good.csv", "--set", "learning_rate=nan"], "--set learning_rate=nan: must be a finite number"),
    (["--set", "csv=good.csv", "--set", "epochs=two"], "--set epochs=two: 'two' is not a valid int"),
    (["--set", "csv=good.csv", "--set", "dropout=0.2"], "--set dropout: tuned by the textclf search space"),
    (["--set", "csv=good.csv", "--hp", "dropout=abc"], "--hp dropout=abc: 'abc' is not a valid float"),
    (["--set", "csv=good.csv", "--hp", "learning_rate=inf"], "--hp learning_rate=inf: must be a finite number"),
    (["--set", "csv=good.csv", "--hp", "dropout=1.5"], "--hp dropout=1.5: --dropout and --label-smoothing"),
    (["--set", "csv=good.csv", "--hp", "l2=-1"], "--hp l2=-1: --l2 must be >= 0"),
    (["--set", "csv=good.csv", "--hp", "model=nope"], "--hp model=nope: unknown text model 'nope'"),
    (["--set", "csv=good.csv", "--hp", "depth=3"], "--hp depth: not in the textclf search space"),
    (["--set", "csv=good.csv", "--hp", "dropout"], "--hp dropout: expected NAME=VALUE"),
    (["--set", "csv=good.csv", "--epochs", "0"], "--epochs must be at least 1"),
])
def test_tune_bad_input_fails_before_any_trial(workdir, capsys, extra, expected):
    argv = ["--task", "textclf", "--max-trials", "1", "--directory", str(workdir / "tuning"),
            "--set", f"output_dir={workdir / 'saved_models'}", "--set", f"reports_dir={workdir / 'reports'}",
            "--set", f"run_dir={workdir / 'runs'}", *extra]
    code, _, err = run_script("tune", argv, capsys)
    _assert_one_line_exit_2(workdir, code, err, expected)


@pytest.mark.parametrize("extra, expected", [
    (["--csv", "one_class.csv"], "one_class.csv: 30 rows, all of class 'sport'"),
    (["--csv", "superscript.csv"], "superscript.csv: line 3: label '\u00b2' looks like a number"),
    (["--csv", "good.csv", "--folds", "30"], "30 stratified folds need at least 30 texts of every class"),
    (["--csv", "good.csv", "--set", "l2=inf"], "--set l2=inf: must be a finite number"),
    (["--csv", "good.csv", "--set", "dropout=2"], "--dropout and --label-smoothing must be in [0, 1)"),
    (["--data-dir", "anywhere", "--projection-rows", "1000"], "--projection-rows needs --csv"),
    (["--csv", "good.csv", "--projection-rows", "5"], "--projection-rows must be at least 100"),
])
def test_benchmark_textclf_bad_input(workdir, capsys, extra, expected):
    code, _, err = run_script("benchmark_textclf", [*extra, "--out", str(workdir / "reports")], capsys)
    _assert_one_line_exit_2(workdir, code, err, expected)


# Known bug (reported, not fixed here: production code): TextConfig.validate() does not call
# core.export.check_model_name as VisionConfig's does, so `train_textclf.py --name a/b` trains and exports to
# saved_models/a/b/1 (which serving_config.py leaves out as "a nested model") and `--name ../x` exports outside
# --output-dir. Checked on the config, so that the test trains nothing while the bug is there.
@pytest.mark.parametrize("name", ["a/b", "../x"])
def test_export_names_that_are_not_one_folder_are_refused(name):
    from core.errors import UserError
    from textclf.config import TextConfig

    with pytest.raises(UserError, match="--name"):
        TextConfig(csv="good.csv", name=name).validate()
