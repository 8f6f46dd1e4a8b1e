"""End to end: a short run on texts the test makes (tests/conftest.py's `textclf_run`), its string-in export,
and bad input through the script. The export contract shared with the other tasks (warmup, predict.py) is
tests/core/test_export_contract.py."""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import run_script
from textclf import task
from textclf.config import TextConfig


@pytest.fixture(scope="module")
def short_run(textclf_run):
    return textclf_run


def test_short_run_learns_and_reports(short_run):
    _, result = short_run
    assert result.metrics["test"]["accuracy"] > 0.9  # the two classes use disjoint words
    history = result.metrics["history"]
    assert len(history["test_accuracy"]) == len(history["val_accuracy"]) == result.metrics["epochs_trained"]
    for name in ("report.md", "confusion_matrix.png", "loss.png", "accuracy.png", "attention.png"):
        assert (result.export_dir / name).is_file(), name


# The seeds' architecture on the same path is the redundant heavy variant (slow tier).
@pytest.mark.parametrize("model, variant", [("compact", None),
                                            pytest.param("seed", "early_stopping", marks=pytest.mark.slow)])
def test_adamw_cosine_trains_and_the_attention_covers_the_real_tokens(short_run, model, variant):
    config, _ = short_run
    config = dataclasses.replace(config, model=model, variant=variant, optimizer="adamw", schedule="cosine",
                                 warmup_epochs=0.5, epochs=2, test_curves=False, seed=1)
    parts = task.prepare(config)
    parts["train"] = parts["train"].subset(np.arange(64))
    trained = task.fit(config, parts)
    assert "test_loss" not in trained.history and len(trained.history["loss"]) == 2
    optimizer = trained.model.optimizer
    assert isinstance(optimizer, keras.optimizers.AdamW)
    assert float(optimizer.learning_rate) < 1e-6  # cosine decayed to 0 at the last step
    tokens, weights = task.attention(trained, "goal team win")
    assert tokens[:3] == ["goal", "team", "win"] and weights.shape == (len(tokens), len(tokens))
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-5)


def test_variants_set_the_seeds_regularisation():
    base = TextConfig(csv="x", variant="base", dropout=0.5)  # an explicit value wins over the preset
    assert (base.dropout, base.l2, base.patience, base.label_smoothing) == (0.5, 0.0, 0, 0.0)
    assert TextConfig(csv="x", variant="l2").l2 == 1e-4 and TextConfig(csv="x", variant="dropout").dropout == 0.1
    assert TextConfig(csv="x", variant="early_stopping").patience == 2
    assert dataclasses.replace(TextConfig(csv="x", variant="tuned"), variant=None) == TextConfig(csv="x")


def test_explicit_and_tuner_values_win_over_the_preset():
    assert dataclasses.replace(TextConfig(variant="base"), dropout=0.4).dropout == 0.4
    tuner_like = dataclasses.replace(TextConfig(csv="x", variant="early_stopping"), l2=1e-5, learning_rate=3e-4)
    assert (tuner_like.l2, tuner_like.patience, tuner_like.learning_rate) == (1e-5, 2, 3e-4)
    switched = dataclasses.replace(TextConfig(csv="x", variant="base", dropout=0.3), variant="l2")
    assert (switched.dropout, switched.l2) == (0.3, 1e-4)  # the explicit dropout stays, l2 follows the preset
    assert dataclasses.replace(switched, variant="l2") == switched


def test_builders_default_to_the_config_defaults():
    import inspect

    from textclf import models

    for name in models.names():
        config = TextConfig(model=name)
        parameters = inspect.signature(models.MODELS.get(name)).parameters
        assert (parameters["l2"].default, parameters["dropout"].default) == (config.l2, config.dropout), name


# The one resume of a killed run through core.runner (its state folder, for every task); the callbacks' part
# alone is tests/core/test_callbacks.py::test_a_resumed_fit_returns_the_history_of_the_whole_run.
def test_a_resumed_fit_counts_every_epoch_of_the_run(short_run, tmp_path):
    config, _ = short_run
    config = dataclasses.replace(config, epochs=3, test_curves=False, run_dir=str(tmp_path / "runs"))
    parts = task.prepare(config)
    parts["train"] = parts["train"].subset(np.arange(48))

    class Killed(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                raise KeyboardInterrupt  # a killed run: no on_train_end

    with pytest.raises(KeyboardInterrupt):
        task.fit(config, parts, extra_callbacks=[Killed()])
    assert (config.state_dir() / "backup").is_dir()
    trained = task.fit(config, parts)  # the same settings and data: resumes at epoch 2
    assert len(trained.history["loss"]) == len(trained.history["val_accuracy"]) == 3
    assert not (config.state_dir() / "backup").exists()


# Slow tier: the seed's architecture (3 encoders of 8 heads, 2048 wide) through the fit, optimizer and attention
# path that test_adamw_cosine_trains_and_the_attention_covers_the_real_tokens runs on the default model; the
# architecture itself is built, saved and checked in tests/textclf/test_models.py.
def test_export_takes_raw_strings_and_survives_hostile_input(short_run):
    _, result = short_run
    serve = tf.saved_model.load(str(result.export_dir)).signatures["serving_default"]
    answer = serve(text=tf.constant(["goal team win", "bank profit shares"]))
    assert [name.decode() for name in answer["class_name"].numpy()] == ["sport", "money"]
    np.testing.assert_allclose(answer["probabilities"].numpy().sum(axis=1), 1.0, atol=1e-5)
    hostile = tf.constant([b"", b"\xff\xfe not utf-8 \xc3", " ".join(["goal"] * 10000).encode()])
    answer = serve(text=hostile)
    assert answer["probabilities"].shape == (3, 2)
    assert np.isfinite(answer["probabilities"].numpy()).all()


@pytest.mark.parametrize("flags, message", [
    (["--csv", "missing.csv"], "missing.csv: file not found"),
    (["--data-dir", "."], "no train.csv or test.csv"),
    ([], "pass exactly one of --data-dir"),
    (["--csv", "bad.csv"], "line 2: class '9' is not in 1..4"),
])
def test_script_bad_input_one_line_exit_2_nothing_written(tmp_path, monkeypatch, capsys, flags, message):
    (tmp_path / "bad.csv").write_text('"1","t","d"\n"9","t","d"\n')
    monkeypatch.chdir(tmp_path)  # the default output folders are relative
    code, _, err = run_script("train_textclf", flags, capsys)
    assert code == 2 and message in err, err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert not any((tmp_path / name).exists() for name in ("saved_models", "reports", "runs"))
