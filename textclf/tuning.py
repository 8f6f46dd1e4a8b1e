"""The text-classification sweep: model, dropout, L2, label smoothing and learning rate, judged by
validation accuracy. The vocabulary is learnt once from the training part and shared by every trial."""

import keras_tuner as kt

from core.tuning import TaskTuning
from textclf import task


def search_space(hp: kt.HyperParameters) -> dict:
    return {"model": hp.Choice("model", ["compact"]),
            "dropout": hp.Choice("dropout", [0.1, 0.2, 0.4]),
            "l2": hp.Choice("l2", [0.0, 1e-5, 1e-4]),
            "label_smoothing": hp.Choice("label_smoothing", [0.0, 0.1]),
            "learning_rate": hp.Float("learning_rate", 3e-4, 3e-3, sampling="log")}


def prepare(config):
    parts = task.prepare(config)
    return parts, task.make_vectorizer(config, parts["train"].texts)


def build(config, prepared):
    parts, vectorizer = prepared
    return task.build_model(config, vectorizer.vocabulary_size(), len(parts["train"].class_names),
                            len(parts["train"]))


def fit(config, model, prepared, callbacks, epochs, initial_epoch):
    parts, vectorizer = prepared
    trial_parts = {"train": parts["train"], "validation": parts["validation"]}  # the test part stays unseen
    trained = task.fit(config, trial_parts, vectorizer=vectorizer, model=model, extra_callbacks=callbacks,
                       epochs=epochs, initial_epoch=initial_epoch)
    return {"val_accuracy": float(max(trained.history["val_accuracy"])),
            "val_loss": float(min(trained.history["val_loss"]))}


TUNING = TaskTuning(name="textclf", objective=kt.Objective("val_accuracy", "max"), search_space=search_space,
                    prepare=prepare, build=build, fit=fit, run=lambda config, prepared: task.run(config, prepared[0]))
