"""The vision sweep: model family, dropout, L2 and learning rate, judged by validation accuracy."""

import keras_tuner as kt

from core.tuning import TaskTuning
from vision import task


def search_space(hp: kt.HyperParameters) -> dict:
    return {"model": hp.Choice("model", ["vgg", "resnet", "vit", "efficientnet"]),
            "dropout": hp.Choice("dropout", [0.0, 0.2, 0.4]),
            "l2": hp.Choice("l2", [0.0, 1e-5, 1e-4]),
            "learning_rate": hp.Float("learning_rate", 5e-4, 5e-3, sampling="log")}


def build(config, parts):
    train = parts["train"]
    return task.build_model(config, train.images.shape[1:], len(train.class_names), len(train))


def fit(config, model, parts, callbacks, epochs, initial_epoch):
    trial_parts = {"train": parts["train"], "validation": parts["validation"]}  # the test part stays unseen
    trained = task.fit(config, trial_parts, model=model, extra_callbacks=callbacks, epochs=epochs,
                       initial_epoch=initial_epoch)
    return {"val_accuracy": float(max(trained.history["val_accuracy"])),
            "val_loss": float(min(trained.history["val_loss"]))}


TUNING = TaskTuning(name="vision", objective=kt.Objective("val_accuracy", "max"), search_space=search_space,
                    prepare=task.prepare, build=build, fit=fit, run=task.run)
