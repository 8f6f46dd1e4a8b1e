"""The vision sweep: model family, dropout, L2 and learning rate, judged by validation accuracy; trials never
see the test part."""

import keras_tuner as kt

from core.tuning import TaskTuning
from vision import task


def search_space(hp: kt.HyperParameters) -> dict:
    return {"model": hp.Choice("model", ["vgg", "resnet", "vit", "efficientnet"]),
            "dropout": hp.Choice("dropout", [0.0, 0.2, 0.4]),
            "l2": hp.Choice("l2", [0.0, 1e-5, 1e-4]),
            "learning_rate": hp.Float("learning_rate", 5e-4, 5e-3, sampling="log")}


def without_test(parts: dict) -> dict:
    return {"train": parts["train"], "validation": parts["validation"]}


def score(config, trained, parts) -> dict:
    return {"val_accuracy": float(max(trained.history["val_accuracy"])),
            "val_loss": float(min(trained.history["val_loss"]))}


TUNING = TaskTuning(task=task.TASK, objective=kt.Objective("val_accuracy", "max"), search_space=search_space,
                    score=score, trial_data=without_test)
