"""One text-classification run: data -> vocabulary -> model -> fit -> evaluate -> report -> export.

The export's `serving_default` takes raw strings `text: tf.string [batch]` and returns `probabilities`
and `class_name`; tokenization (a `TextVectorization` whose vocabulary is saved with the model) runs
inside the graph, after invalid UTF-8 is replaced, so any bytes classify without error.
"""

import dataclasses
import os
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from core import callbacks, config as core_config, distribute, export, plots as core_plots, report
from core.metrics import classification_metrics
from textclf import data, models, plots
from textclf.config import TextConfig


def prepare(config: TextConfig) -> dict[str, data.TextData]:
    """train / validation / test parts, validated; validation comes from train, never from test."""
    if config.csv:
        whole = data.load_csv(config.csv)
        rest = 1.0 - config.test_fraction
        parts = data.stratified_split(whole, {"train": rest * (1 - config.validation_fraction),
                                              "validation": rest * config.validation_fraction,
                                              "test": config.test_fraction}, config.seed)
    else:
        train, test = data.load_ag_news_dir(config.data_dir)
        split = data.stratified_split(train, {"train": 1 - config.validation_fraction,
                                              "validation": config.validation_fraction}, config.seed)
        parts = {**split, "test": test}
    if config.max_train and len(parts["train"]) > config.max_train:
        keep = np.random.default_rng(config.seed).choice(len(parts["train"]), config.max_train, replace=False)
        parts["train"] = parts["train"].subset(np.sort(keep))
    return parts


def make_vectorizer(config: TextConfig, texts: list[str]) -> keras.layers.TextVectorization:
    """A TextVectorization adapted on `texts` (the training split only)."""
    vectorizer = keras.layers.TextVectorization(max_tokens=config.max_tokens, ngrams=config.ngrams,
                                                output_mode="int", output_sequence_length=config.sequence_length)
    vectorizer.adapt(tf.constant(texts))
    return vectorizer


def token_ids(vectorizer, texts):
    """Token ids of a string batch; a text with no tokens (e.g. "") becomes one [UNK] (id 1).

    Without this an all-padding row would be fully masked and mask-aware mean pooling would divide 0 by 0.
    """
    ids = vectorizer(texts)
    empty = tf.reduce_all(ids == 0, axis=1, keepdims=True)
    first = tf.one_hot(tf.zeros(tf.shape(ids)[:1], tf.int32), tf.shape(ids)[1], dtype=ids.dtype)
    return tf.where(empty & (first > 0), tf.ones_like(ids), ids)


def _dataset(vectorizer, part: data.TextData, batch_size: int, shuffle: bool, seed: int,
             one_hot_classes: int | None = None):
    """Batches of (token ids, label) — labels one-hot when `one_hot_classes` is given — in one parallel map."""
    dataset = tf.data.Dataset.from_tensor_slices((part.texts, part.labels))
    if shuffle:
        dataset = dataset.shuffle(len(part), seed=seed)

    def encode(text, label):
        return token_ids(vectorizer, text), (tf.one_hot(label, one_hot_classes) if one_hot_classes else label)

    return dataset.batch(batch_size).map(encode, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def serving_function(vectorizer, model, class_names: list[str]):
    """Raw strings -> probabilities and class name; invalid UTF-8 is replaced, long texts truncated."""
    names = tf.constant(class_names)

    def serve(text):
        clean = tf.strings.unicode_transcode(text, "UTF-8", "UTF-8", errors="replace")
        probabilities = model(token_ids(vectorizer, clean), training=False)
        return {"probabilities": probabilities, "class_name": tf.gather(names, tf.argmax(probabilities, axis=-1))}

    return serve, [tf.TensorSpec([None], tf.string, name="text")]


def optimizer(config: TextConfig, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """Adam or AdamW at `learning_rate`, constant (plateau schedule) or warm-up + cosine decay."""
    rate = config.learning_rate
    if config.schedule == "cosine":
        warmup = int(config.warmup_epochs * steps_per_epoch)
        rate = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=0.0, warmup_target=config.learning_rate, warmup_steps=warmup,
            decay_steps=max(1, config.epochs * steps_per_epoch - warmup))
    if config.optimizer == "adamw":
        return keras.optimizers.AdamW(rate, weight_decay=config.weight_decay)
    return keras.optimizers.Adam(rate)


@dataclasses.dataclass
class Trained:
    vectorizer: keras.layers.TextVectorization
    model: keras.Model
    history: dict
    class_names: list[str]
    train_seconds: float


def build_model(config: TextConfig, vocabulary_size: int, num_classes: int, train_size: int,
                batch_size: int | None = None) -> keras.Model:
    """The registered model for `config`, compiled (optimizer and schedule per `config`, label smoothing);
    `batch_size` is the global batch (default: `config.batch_size`), for the schedule's steps per epoch."""
    model = models.build(config.model, vocabulary_size=vocabulary_size, sequence_length=config.sequence_length,
                         num_classes=num_classes, dropout=config.dropout, l2=config.l2)
    model.compile(optimizer=optimizer(config, -(-train_size // (batch_size or config.batch_size))),
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
                  metrics=["accuracy"])
    return model


def fit(config: TextConfig, parts: dict[str, data.TextData], *, vectorizer=None, model=None, extra_callbacks=(),
        epochs: int | None = None, initial_epoch: int = 0) -> Trained:
    """Learns the vocabulary from the training part (unless given) and trains the model (validation for
    early stopping). `model`/`extra_callbacks`/`epochs` let a tuner supply its own."""
    keras.utils.set_random_seed(config.seed)
    started = time.perf_counter()
    class_names = parts["train"].class_names
    vectorizer = vectorizer or make_vectorizer(config, parts["train"].texts)
    strategy = distribute.get(config.strategy)
    batch_size = distribute.global_batch_size(config.batch_size, strategy)
    with strategy.scope():
        model = model or build_model(config, vectorizer.vocabulary_size(), len(class_names), len(parts["train"]),
                                     batch_size)
    train = _dataset(vectorizer, parts["train"], batch_size, True, config.seed, len(class_names))
    validation = _dataset(vectorizer, parts["validation"], batch_size, False, config.seed, len(class_names))
    extra = list(extra_callbacks)
    if config.test_curves and "test" in parts:  # logged for the report's curves only; nothing monitors them
        extra.append(callbacks.EvaluateEachEpoch(
            _dataset(vectorizer, parts["test"], 256, False, config.seed, len(class_names)), prefix="test_"))
    run_dir = config.state_dir()
    if not distribute.is_chief():  # each worker keeps its own training state
        run_dir = run_dir / f"task_{distribute.task_label().replace(' ', '_')}"
    reduce_lr = config.reduce_lr_patience if config.schedule == "plateau" else None  # a schedule owns the rate
    history = model.fit(train, validation_data=validation, epochs=epochs or config.epochs,
                        initial_epoch=initial_epoch, verbose=config.verbose,
                        shuffle=False,  # the dataset is shuffled already (seeded)
                        callbacks=extra + callbacks.standard_callbacks(run_dir, patience=config.patience,
                                                                       reduce_lr_patience=reduce_lr))
    return Trained(vectorizer, model, history.history, class_names, time.perf_counter() - started)


def predict(trained: Trained, texts: list[str]) -> np.ndarray:
    """Class probabilities [len(texts), classes]."""
    dataset = tf.data.Dataset.from_tensor_slices(texts).batch(256).map(
        lambda text: token_ids(trained.vectorizer, text), num_parallel_calls=tf.data.AUTOTUNE)
    return trained.model.predict(dataset, verbose=0)


def attention(trained: Trained, text: str, max_tokens: int = 30) -> tuple[list[str], np.ndarray]:
    """The first encoder block's attention for `text`, averaged over heads: (tokens, [n, n] weights)."""
    ids = token_ids(trained.vectorizer, tf.constant([text]))
    encoder = trained.model.get_layer("encoder_0")
    # Every registered model feeds "embedding_dropout" (identity at inference) into encoder_0.
    encoder_input = keras.Model(trained.model.inputs, trained.model.get_layer("embedding_dropout").output)(
        ids, training=False)
    mask = ids != 0  # the padding mask of `mask_zero=True`
    _, scores = encoder(encoder_input, mask=mask, return_attention_scores=True)
    vocabulary = trained.vectorizer.get_vocabulary()
    count = min(int(np.asarray(mask).sum()), max_tokens)
    tokens = [vocabulary[i] for i in np.asarray(ids)[0][:count]]
    return tokens, np.asarray(scores)[0].mean(axis=0)[:count, :count]


def export_model(trained: Trained, model_dir, extra_files=None) -> Path:
    """The next version of `model_dir`, serving raw strings (see the module docstring)."""
    serve, signature = serving_function(trained.vectorizer, trained.model, trained.class_names)
    return export.export_saved_model(model_dir, {"serving_default": (serve, signature)},
                                     track=[trained.vectorizer, trained.model], extra_files=extra_files,
                                     warmup={"serving_default": {"text": np.array([b"warmup request"])}})


def run(config: TextConfig, parts: dict[str, data.TextData] | None = None) -> report.RunResult:
    """Trains, evaluates on the test part, reports and exports; returns where things went."""
    started = time.perf_counter()
    parts = parts or prepare(config)
    trained = fit(config, parts)
    vectorizer, model, class_names = trained.vectorizer, trained.model, trained.class_names
    predictions = predict(trained, parts["test"].texts).argmax(axis=1)
    metrics = {"test": classification_metrics(parts["test"].labels, predictions, class_names),
               "epochs_trained": len(trained.history["loss"]),
               "history": {key: [float(value) for value in values] for key, values in trained.history.items()},
               "sizes": {name: len(part) for name, part in parts.items()},
               "vocabulary_size": vectorizer.vocabulary_size()}

    name = config.export_name
    if not distribute.is_chief():  # multi-worker: only the chief writes; the others take part in saving
        with tempfile.TemporaryDirectory() as folder:
            export_model(trained, Path(folder) / name)
        return report.RunResult(export_dir=None, report_dir=None, metrics=metrics, model=trained.model)
    sample = parts["test"].texts[0]
    tokens, weights = attention(trained, sample)
    report_dir = report.write_report(
        Path(config.reports_dir) / name / time.strftime("%Y%m%d-%H%M%S") / f"{os.getpid()}",
        title=f"Text classification: {name} on {Path(parts['train'].source).name}",
        config=core_config.to_dict(config), metrics=metrics, seed=config.seed,
        wall_time_s=time.perf_counter() - started, model=model,
        sections=[("Data", f"{metrics['sizes']} texts from {parts['train'].source}; classes {class_names}. "
                           "Validation is carved from the training data, never from the test part."),
                  ("Model", report.model_summary(model))],
        figures={"loss": core_plots.training_curves(trained.history, "loss"),
                 "accuracy": core_plots.training_curves(trained.history, "accuracy"),
                 "confusion_matrix": core_plots.confusion_matrix(
                     np.array(metrics["test"]["confusion_matrix"]), class_names, "Test confusion matrix"),
                 "attention": plots.attention_heatmap(tokens, weights, f"Attention (encoder 0, mean of heads): "
                                                                        f"{sample[:60]}…")})
    export_dir = export_model(trained, Path(config.output_dir) / name, report.report_files(report_dir))
    return report.RunResult(export_dir=export_dir, report_dir=report_dir, metrics=metrics, model=trained.model)
