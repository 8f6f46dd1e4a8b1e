"""The text-classification sweep: model, dropout, L2, label smoothing and learning rate, judged by
validation accuracy. The vocabulary is learnt once from the training part and shared by every trial;
trials never see the test part."""

import dataclasses

import keras_tuner as kt

from core.tuning import TaskTuning
from textclf import task


def search_space(hp: kt.HyperParameters) -> dict:
    return {"model": hp.Choice("model", ["wide_deep", "compact"]),
            "dropout": hp.Choice("dropout", [0.1, 0.2, 0.4]),
            "l2": hp.Choice("l2", [0.0, 1e-5, 1e-4]),
            "label_smoothing": hp.Choice("label_smoothing", [0.0, 0.1]),
            "learning_rate": hp.Float("learning_rate", 3e-4, 3e-3, sampling="log")}


def prepare(config) -> task.TextInputs:
    inputs = task.TASK.prepare(config)
    inputs.features(config)  # the vocabularies, learnt once, here, and shared by every trial and the final run
    return inputs


def without_test(inputs: task.TextInputs) -> task.TextInputs:
    return dataclasses.replace(inputs, parts={name: inputs.parts[name] for name in ("train", "validation")})


def score(config, trained, inputs) -> dict:
    return {"val_accuracy": float(max(trained.history["val_accuracy"])),
            "val_loss": float(min(trained.history["val_loss"]))}


TUNING = TaskTuning(task=task.TASK, objective=kt.Objective("val_accuracy", "max"), search_space=search_space,
                    score=score, prepare=prepare, trial_data=without_test)
