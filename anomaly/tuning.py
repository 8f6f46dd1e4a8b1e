"""The anomaly sweep: window size, model, L2 and learning rate, judged by event F1 on the validation part
(each labelled window detected or missed, each run of false alarms counted; see anomaly/evaluation.py).
Trials train the window autoencoder (`anomaly.task.WindowTask`) through `core.runner`, seeded."""

import keras_tuner as kt

from anomaly import data, task
from core.errors import UserError
from core.tuning import TaskTuning


def search_space(hp: kt.HyperParameters) -> dict:
    return {"window": hp.Choice("window", [16, 32, 64]),
            "model": hp.Choice("model", ["dense", "tanh", "dropout", "conv"]),
            "l2": hp.Choice("l2", [0.0, 1e-5, 1e-4]),
            "learning_rate": hp.Float("learning_rate", 3e-4, 3e-3, sampling="log")}


def prepare(config):
    series, split = data.prepare(config)
    validation = split.parts["validation"]
    if not data_windows_in(series, *validation):
        raise UserError(f"{series.source}: the validation part {list(validation)} has no labelled window, so "
                        "event F1 cannot judge trials; use a series with labels there or other split fractions")
    return series, split


def data_windows_in(series, begin: int, end: int) -> int:
    return sum(1 for first, last in series.window_bounds() if first < end and last >= begin)


def score(config, fitted, prepared) -> dict:
    series, split = prepared
    found = task.detect(config, fitted, series, split)
    validation = task.evaluate(series, split, found.flags)["validation"]["events"]
    return {"val_event_f1": validation["f1"], "val_loss": float(min(fitted.history["val_loss"]))}


TUNING = TaskTuning(task=task.TASK, objective=kt.Objective("val_event_f1", "max"), search_space=search_space,
                    score=score, prepare=prepare)
