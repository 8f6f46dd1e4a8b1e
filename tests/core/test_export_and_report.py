import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from core import export, report


def tiny_model():
    inputs = keras.Input((3,), name="x")
    return keras.Model(inputs, keras.layers.Dense(2, name="out")(inputs))


def endpoints(model):
    def serve(x):
        return {"y": model(x)}

    return {"serving_default": (serve, [tf.TensorSpec([None, 3], tf.float32, name="x")])}


def test_versions_are_integers_and_increase(tmp_path):
    model = tiny_model()
    first = export.export_saved_model(tmp_path / "m", endpoints(model), track=[model])
    second = export.export_saved_model(tmp_path / "m", endpoints(model), track=[model])
    (tmp_path / "m" / "notes").mkdir()  # non-numeric folders are not versions
    assert (first.name, second.name) == ("1", "2")
    assert export.versions(tmp_path / "m") == [1, 2]
    assert export.next_version(tmp_path / "m") == 3


def test_export_serves_named_inputs_and_outputs_and_copies_extra_files(tmp_path):
    model = tiny_model()
    note = tmp_path / "config.json"
    note.write_text("{}")
    path = export.export_saved_model(tmp_path / "m", endpoints(model), track=[model],
                                     extra_files={"config.json": note})
    signature = tf.saved_model.load(str(path)).signatures["serving_default"]
    x = np.ones((4, 3), np.float32)
    np.testing.assert_allclose(signature(x=tf.constant(x))["y"].numpy(), model(x).numpy(), atol=1e-6)
    assert (path / "config.json").is_file()


def test_failed_export_leaves_no_version_behind(tmp_path):
    model = tiny_model()

    def broken(x):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        export.export_saved_model(tmp_path / "m", {"serving_default": (
            broken, [tf.TensorSpec([None, 3], tf.float32)])}, track=[model])
    assert list((tmp_path / "m").iterdir()) == []


def test_report_writes_json_markdown_and_plots(tmp_path):
    from core import plots

    figure = plots.training_curves({"loss": [1.0, 0.5], "val_loss": [1.2, 0.7]})
    directory = report.write_report(tmp_path / "r", title="T", config={"seed": 3}, metrics={"a": {"b": 0.5}},
                                    seed=3, wall_time_s=1.25, model=tiny_model(), figures={"loss": figure},
                                    sections=[("Data", "hello")])
    data = json.loads((directory / "report.json").read_text())
    assert data["metrics"] == {"a": {"b": 0.5}}
    assert data["parameters"] == {"total": 8, "trainable": 8, "non_trainable": 0}
    assert data["seed"] == 3 and data["wall_time_s"] == 1.25
    assert data["environment"]["packages"]["tensorflow"].startswith("2.")
    markdown = (directory / "report.md").read_text()
    assert "| a.b | 0.5 |" in markdown and "![loss](loss.png)" in markdown and "## Data" in markdown
    assert (directory / "loss.png").stat().st_size > 1000
    with pytest.raises(FileExistsError):
        report.write_report(directory, title="T", config={}, metrics={}, seed=0, wall_time_s=0)


# Slow tier: the same standard_callbacks resume as tests/core/test_callbacks.py's
# test_a_resumed_fit_returns_the_history_of_the_whole_run, which checks more of it (epochs, elapsed time).
@pytest.mark.slow
def test_backup_and_restore_resumes_a_killed_run(tmp_path):
    from core.callbacks import standard_callbacks

    class Killed(Exception):
        pass

    class KillAtEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 2:
                raise Killed

    x = np.random.default_rng(0).random((32, 3)).astype("float32")
    y = x[:, :2]
    model = tiny_model()
    model.compile("adam", "mse")
    with pytest.raises(Killed):
        model.fit(x, y, validation_data=(x, y), epochs=6, verbose=0,
                  callbacks=standard_callbacks(tmp_path, patience=50) + [KillAtEpoch()])
    resumed = tiny_model()
    resumed.compile("adam", "mse")
    history = resumed.fit(x, y, validation_data=(x, y), epochs=6, verbose=0,
                          callbacks=standard_callbacks(tmp_path, patience=50))
    # Epochs 4..6 were trained, 1..3 restored from the backup; the history covers the whole run.
    assert len(history.history["loss"]) == 6
    assert not (tmp_path / "backup").exists()  # removed once training completed


def test_cpu_description_reads_the_first_processor_of_cpuinfo():
    cpuinfo = ("processor\t: 0\nvendor_id\t: X\nflags\t\t: fpu sse2 avx2 fma avx512f avx512_bf16\n\n"
               "processor\t: 1\nmodel name\t: Example CPU 9000\ncpu family\t: 25\nmodel\t\t: 1\n"
               "flags\t\t: fpu\n")
    # a field the first block lacks is taken from the next one; a field it has is never overwritten
    assert report.cpu_description(cpuinfo) == {"cpu_model": "Example CPU 9000 (cpu family 25, model 1)",
                                               "cpu_vector_units": ["avx2", "avx512f", "avx512_bf16"]}
    assert report.cpu_description("processor\t: 0\nFeatures\t: neon\n") == {"cpu_model": None,
                                                                             "cpu_vector_units": None}
    assert report.cpu_description("processor\t: 0\nflags\t: fpu\n")["cpu_vector_units"] == []


@pytest.mark.parametrize("status, dirty", [("", False), ("M core/report.py", True)])
def test_environment_says_whether_tracked_files_differ_from_the_commit(monkeypatch, status, dirty):
    answers = {"rev-parse": "abc1234", "--no-optional-locks": status}
    monkeypatch.setattr(report, "_git", lambda *arguments: answers[arguments[0]])
    described = report.environment()
    assert described["git_commit"] == "abc1234" and described["git_dirty"] is dirty


def test_environment_without_git_records_neither_commit_nor_dirty_flag(monkeypatch):
    monkeypatch.setattr(report, "_git", lambda *arguments: None)
    described = report.environment()
    assert described["git_commit"] is None and described["git_dirty"] is None
    assert {"cpu_model", "cpu_vector_units"} <= set(described)
