"""One text-classification run: data -> vocabulary -> model -> fit -> evaluate -> report -> export.

The export's `serving_default` takes raw strings `text: tf.string [batch]` and returns `probabilities`
and `class_name`; tokenization (a `TextVectorization` whose vocabulary is saved with the model, and for
models with a TF-IDF bag a `textclf.layers.BagOfNgrams` with its vocabularies and IDF weights) runs inside
the graph, after invalid UTF-8 is replaced, so any bytes classify without error.

One code path turns strings into a model's inputs (`Features`): token ids alone for a model whose only
input is `token_ids`, else a dict keyed by the model's input names (`textclf.models.input_names`).
"""

import dataclasses
import itertools
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from scipy import special

from core import callbacks as core_callbacks
from core import export, optimizers, report, runner
from core import plots as core_plots
from core.metrics import classification_metrics
from textclf import data, models, plots, pretraining
from textclf.config import NB_ALPHA_GRID, NB_MIXTURE_GRID, PATH_WEIGHT_GRID, TextConfig
from textclf.layers import BagOfNgrams


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
    vectorizer.adapt(tf.data.Dataset.from_tensor_slices(tf.constant(texts)).batch(1024))  # batched: less memory
    return vectorizer


def make_bag_vectorizer(config: TextConfig, texts: list[str]) -> BagOfNgrams:
    """A sparse TF-IDF bag (`config.bag_ngrams`-grams, at most `config.bag_tokens`; character 2..
    `config.bag_char_ngrams`-grams unless 0; rows scaled to `config.bag_scale`) adapted on `texts` (the
    training split only): the IDF weights, too, come from it."""
    characters = (2, config.bag_char_ngrams) if config.bag_char_ngrams else None
    bag = BagOfNgrams(max_tokens=config.bag_tokens, ngrams=config.bag_ngrams, char_ngrams=characters,
                      char_max_tokens=config.bag_char_tokens, scale=config.bag_scale, name="bag")
    bag.adapt(texts)
    return bag


def token_ids(vectorizer, texts):
    """Token ids of a string batch; a text with no tokens (e.g. "") becomes one [UNK] (id 1).

    Without this an all-padding row would be fully masked and mask-aware mean pooling would divide 0 by 0.
    """
    ids = vectorizer(texts)
    empty = tf.reduce_all(ids == 0, axis=1, keepdims=True)
    first = tf.one_hot(tf.zeros(tf.shape(ids)[:1], tf.int32), tf.shape(ids)[1], dtype=ids.dtype)
    return tf.where(empty & (first > 0), tf.ones_like(ids), ids)


@dataclasses.dataclass
class Features:
    """Strings -> a model's inputs (`input_names`): token ids from `vectorizer`, the TF-IDF `bag` from
    `bag`; the token ids alone when they are the only input, else a dict (see the module docstring)."""

    input_names: tuple[str, ...]
    vectorizer: keras.layers.TextVectorization
    bag: BagOfNgrams | None = None

    def __call__(self, texts):
        if self.input_names == ("token_ids",):
            return token_ids(self.vectorizer, texts)
        make = {"token_ids": lambda: token_ids(self.vectorizer, texts), "bag": lambda: self.bag(texts)}
        return {name: make[name]() for name in self.input_names}

    def resources(self) -> list:
        """The vectorizers the model's inputs come from (what an export must track)."""
        used = {"token_ids": self.vectorizer, "bag": self.bag}
        return [used[name] for name in self.input_names]


def _dataset(features: Features, part: data.TextData, batch_size: int, shuffle: bool, seed: int,
             one_hot_classes: int | None = None):
    """Batches of (model inputs, label) — labels one-hot when `one_hot_classes` is given — in one parallel map."""
    dataset = tf.data.Dataset.from_tensor_slices((part.texts, part.labels))
    if shuffle:
        dataset = dataset.shuffle(len(part), seed=seed)

    def encode(text, label):
        return features(text), (tf.one_hot(label, one_hot_classes) if one_hot_classes else label)

    return dataset.batch(batch_size).map(encode, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def serving_function(features: Features, model, class_names: list[str]):
    """Raw strings -> probabilities and class name; invalid UTF-8 is replaced, long texts truncated."""
    names = tf.constant(class_names)

    def serve(text):
        clean = tf.strings.unicode_transcode(text, "UTF-8", "UTF-8", errors="replace")
        probabilities = model(features(clean), training=False)
        return {"probabilities": probabilities, "class_name": tf.gather(names, tf.argmax(probabilities, axis=-1))}

    return serve, [tf.TensorSpec([None], tf.string, name="text")]


def optimizer(config: TextConfig, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """Adam or AdamW at `learning_rate`, constant (plateau schedule) or warm-up + cosine decay."""
    return optimizers.build(config.optimizer, config.learning_rate, schedule=config.schedule, epochs=config.epochs,
                            steps_per_epoch=steps_per_epoch, warmup_epochs=config.warmup_epochs,
                            weight_decay=config.weight_decay, weight_averaging=config.weight_averaging)


@dataclasses.dataclass
class Trained:
    features: Features
    model: keras.Model
    history: dict
    class_names: list[str]
    train_seconds: float  # masked-word pre-training included
    test_predictions: np.ndarray | None = None  # set by evaluation
    pretraining: dict | None = None  # the masked-word pre-training's history (`textclf.pretraining.pretrain`)

    @property
    def vectorizer(self) -> keras.layers.TextVectorization:
        """The token vectorizer (every model's vocabulary; the `bag` model does not read it)."""
        return self.features.vectorizer


@dataclasses.dataclass
class TextInputs:
    """The parts and the vocabularies learnt from the training part (once: a sweep's trials share them):
    the token vectorizer, and the TF-IDF bag for models that take one (learnt when first asked for)."""

    parts: dict[str, data.TextData]
    vectorizer: keras.layers.TextVectorization | None = None
    bag: BagOfNgrams | None = None

    def vocabulary(self, config: TextConfig) -> keras.layers.TextVectorization:
        if self.vectorizer is None:
            self.vectorizer = make_vectorizer(config, self.parts["train"].texts)
        return self.vectorizer

    def bag_vocabulary(self, config: TextConfig) -> BagOfNgrams:
        if self.bag is None:
            self.bag = make_bag_vectorizer(config, self.parts["train"].texts)
        return self.bag

    def features(self, config: TextConfig) -> Features:
        """The inputs of `config.model`, from the vocabularies it needs."""
        names = models.input_names(config.model)
        return Features(names, self.vocabulary(config), self.bag_vocabulary(config) if "bag" in names else None)


def build_model(config: TextConfig, vocabulary_size: int, num_classes: int, train_size: int,
                batch_size: int | None = None, bag_size: int | None = None) -> keras.Model:
    """The registered model for `config`, compiled (optimizer and schedule per `config`, label smoothing);
    `batch_size` is the global batch (default: `config.batch_size`), for the schedule's steps per epoch;
    `bag_size` the TF-IDF features of a model with a `bag` input."""
    names = models.input_names(config.model)
    sizes = {**({"vocabulary_size": vocabulary_size, "sequence_length": config.sequence_length}
                if "token_ids" in names else {}), **({"bag_size": bag_size} if "bag" in names else {})}
    options = models.options(config.model, {"path_dropout": config.path_dropout, "naive_bayes": config.naive_bayes,
                                            "bag_scale": config.bag_scale})
    model = models.build(config.model, **sizes, **options, num_classes=num_classes, dropout=config.dropout,
                         l2=config.l2)
    model.compile(optimizer=optimizer(config, optimizers.steps_per_epoch(train_size, batch_size or config.batch_size)),
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
                  metrics=["accuracy"])
    return model


class TextTask(runner.Task):
    """Text classification's own steps; `core.runner` seeds, scopes, keeps state, reports and exports.
    Its data is a `TextInputs`."""

    name = "textclf"

    def prepare(self, config: TextConfig) -> TextInputs:
        return TextInputs(prepare(config))

    def build_model(self, config, inputs, batch_size):
        train, features = inputs.parts["train"], inputs.features(config)
        return build_model(config, features.vectorizer.vocabulary_size(), len(train.class_names), len(train),
                           batch_size, bag_size=features.bag.vocabulary_size() if features.bag else None)

    def fit(self, config, inputs, model, *, state_dir, batch_size, callbacks, epochs, initial_epoch) -> Trained:
        started = time.perf_counter()
        parts, features = inputs.parts, inputs.features(config)
        class_names = parts["train"].class_names
        pretrained = None
        # Not when resuming: the backup's weights, restored by the fit, hold the pre-training already.
        resuming = initial_epoch > 0 or core_callbacks.has_backup(state_dir)
        if config.pretrain_epochs and not resuming and pretraining.can_pretrain(model):
            pretrained = pretraining.pretrain(model, features.vectorizer, parts["train"].texts,
                                              epochs=config.pretrain_epochs, batch_size=batch_size, seed=config.seed)
        fit_naive_bayes(model, features.bag, parts["train"])
        train = _dataset(features, parts["train"], batch_size, True, config.seed, len(class_names))
        validation = _dataset(features, parts["validation"], batch_size, False, config.seed, len(class_names))
        extra = list(callbacks)
        if config.test_curves and "test" in parts:  # logged for the report's curves only; nothing monitors them
            extra.append(core_callbacks.EvaluateEachEpoch(
                _dataset(features, parts["test"], 256, False, config.seed, len(class_names)), prefix="test_"))
        reduce_lr = config.reduce_lr_patience if config.schedule == "plateau" else None  # a schedule owns the rate
        history = model.fit(train, validation_data=validation, epochs=epochs or config.epochs,
                            initial_epoch=initial_epoch, verbose=config.verbose,
                            shuffle=False,  # the dataset is shuffled already (seeded)
                            callbacks=extra + core_callbacks.standard_callbacks(
                                state_dir, patience=config.patience, reduce_lr_patience=reduce_lr))
        trained = Trained(features, model, history.history, class_names, time.perf_counter() - started,
                          pretraining=pretrained)
        calibrate_paths(trained, parts["validation"])
        return trained

    def evaluate(self, config, inputs, trained) -> dict:
        parts = inputs.parts
        trained.test_predictions = predict(trained, parts["test"].texts).argmax(axis=1)
        return {"test": classification_metrics(parts["test"].labels, trained.test_predictions, trained.class_names),
                "epochs_trained": len(trained.history["loss"]),
                "history": {key: [float(value) for value in values] for key, values in trained.history.items()},
                "sizes": {name: len(part) for name, part in parts.items()},
                "vocabulary_size": trained.vectorizer.vocabulary_size(),
                **({"bag_size": trained.features.bag.vocabulary_size()} if trained.features.bag else {}),
                **({"path_weights": path_weights(trained.model)} if path_weights(trained.model) else {}),
                **(naive_bayes_settings(trained.model) or {}),
                **({"pretraining": trained.pretraining} if trained.pretraining else {})}

    def report(self, config, inputs, trained, metrics) -> runner.ReportContent:
        parts, class_names = inputs.parts, trained.class_names
        sample = parts["test"].texts[0]
        figures = {"loss": core_plots.training_curves(trained.history, "loss"),
                   "accuracy": core_plots.training_curves(trained.history, "accuracy"),
                   "confusion_matrix": core_plots.confusion_matrix(
                       np.array(metrics["test"]["confusion_matrix"]), class_names, "Test confusion matrix")}
        if has_attention(trained.model):
            tokens, weights = attention(trained, sample)
            figures["attention"] = plots.attention_heatmap(tokens, weights, f"Attention (encoder 0, mean of heads): "
                                                                           f"{sample[:60]}…")
        return runner.ReportContent(
            title=f"Text classification: {config.export_name} on {Path(parts['train'].source).name}",
            model=trained.model,
            sections=[("Data", f"{metrics['sizes']} texts from {parts['train'].source}; classes {class_names}. "
                               "Validation is carved from the training data, never from the test part."),
                      ("Model", report.model_summary(trained.model))],
            figures=figures)

    def export(self, trained, model_dir, extra_files=None) -> Path:
        return export_model(trained, model_dir, extra_files)


TASK = TextTask()


def _inputs(parts, vectorizer=None) -> TextInputs:
    return parts if isinstance(parts, TextInputs) else TextInputs(parts, vectorizer)


def fit(config: TextConfig, parts: dict[str, data.TextData], *, vectorizer=None, model=None, extra_callbacks=(),
        epochs: int | None = None, initial_epoch: int = 0) -> Trained:
    """Learns the vocabulary from the training part (unless given) and trains the model through
    `core.runner` (seeded, in the strategy scope; validation for early stopping)."""
    return runner.train(TASK, config, _inputs(parts, vectorizer), model=model, callbacks=extra_callbacks,
                        epochs=epochs, initial_epoch=initial_epoch)


def _batches(trained: Trained, texts: list[str]) -> tf.data.Dataset:
    """The model's inputs for `texts`, in batches of 256 (features computed in a parallel map)."""
    return tf.data.Dataset.from_tensor_slices(texts).batch(256).map(trained.features,
                                                                    num_parallel_calls=tf.data.AUTOTUNE)


def predict(trained: Trained, texts: list[str]) -> np.ndarray:
    """Class probabilities [len(texts), classes]."""
    return trained.model.predict(_batches(trained, texts), verbose=0)


def fit_naive_bayes(model: keras.Model, bag: BagOfNgrams | None, train: data.TextData) -> bool:
    """For a model with a `MultinomialNaiveBayes` layer ("naive_bayes"): sets its weights from the per-class sums
    of the training texts' TF-IDF bag, divided by the bag's `scale` (so the smoothing is in units of the unit-norm
    TF-IDF, as scikit-learn's `MultinomialNB` on a `TfidfVectorizer`'s output), and the class counts. Returns
    whether it did."""
    layer = _naive_bayes(model)
    if layer is None:
        return False
    sums = np.zeros((layer.num_classes, bag.vocabulary_size()))
    labels = np.asarray(train.labels)
    for start in range(0, len(train), 1024):
        features = bag(tf.constant(train.texts[start:start + 1024]))
        indices = features.indices.numpy()
        np.add.at(sums, (labels[start + indices[:, 0]], indices[:, 1]), features.values.numpy() / bag.scale)
    layer.fit(sums, np.bincount(labels, minlength=layer.num_classes))
    return True


def calibrate_paths(trained: Trained, validation: data.TextData, grid=PATH_WEIGHT_GRID, alpha_grid=NB_ALPHA_GRID,
                    mixture_grid=NB_MIXTURE_GRID) -> list[float] | None:
    """Sets the inference weights of a model's extra paths to the values with the lowest log-loss on
    `validation`, and returns every logit piece's weight: [deep path, other paths...] with a `PathDropout`
    layer, else [1.0] (the linear path of `bag`); None for a model with neither that nor naive Bayes:

    - a `PathDropout` layer ("path_dropout"; `wide_deep`): its first path's (the deep path's) weight, from
      `grid` (the other paths keep 1). Temperature scaling per path, on data the fit never trained on: the deep
      path memorises the training texts and is over-confident on new ones;
    - a `MultinomialNaiveBayes` layer ("naive_bayes"; `--naive-bayes`): its smoothing, from `alpha_grid` (its
      weights recounted for each), and its `ProbabilityMixture` weight, from `mixture_grid` (0 turns it off),
      chosen jointly with the deep path's (`naive_bayes_settings` reads them back)."""
    model = trained.model
    paths, naive_bayes = _path_dropout(model), _naive_bayes(model)
    if paths is None and naive_bayes is None:
        return None
    # The logits' pieces, each with the weights it may take: the paths (the deep one from `grid`, the others
    # fixed at 1) or, without PathDropout, the one linear path (fixed at 1).
    pieces = ([(path, grid if index == 0 else (1.0,)) for index, path in enumerate(paths.input)] if paths is not None
              else [(model.get_layer("wide_logits").output, (1.0,))])
    inputs = _batches(trained, validation.texts).cache()  # featurised once for every prediction below
    outputs = keras.Model(model.input, [piece for piece, _ in pieces]).predict(inputs, verbose=0)
    logits = [np.asarray(output, dtype="float64") for output in (outputs if len(pieces) > 1 else [outputs])]
    # The paths' probabilities for each choice of their weights
    paths_probabilities = {weights: special.softmax(sum(w * piece for w, piece in zip(weights, logits)), axis=1)
                           for weights in itertools.product(*(choices for _, choices in pieces))}
    # The naive Bayes path's probabilities for each smoothing (a model loaded from disk has no training counts:
    # it keeps its smoothing); one entry, weight 0, without the path
    naive_bayes_probabilities, mixtures = {None: 0.0}, (0.0,)
    if naive_bayes is not None:
        naive_bayes_model, naive_bayes_probabilities = keras.Model(model.input, naive_bayes.output), {}
        mixtures = mixture_grid
        for alpha in alpha_grid if naive_bayes.counts is not None else (naive_bayes.alpha,):
            if naive_bayes.counts is not None:
                naive_bayes.set_alpha(alpha)
            naive_bayes_probabilities[alpha] = naive_bayes_model.predict(inputs, verbose=0)
    rows = np.arange(len(validation)), np.asarray(validation.labels)

    def log_loss(choice):
        weights, alpha, mixture = choice
        probabilities = (1 - mixture) * paths_probabilities[weights] + mixture * naive_bayes_probabilities[alpha]
        return -np.log(np.maximum(probabilities[rows], 1e-12)).mean()

    weights, alpha, mixture = min(itertools.product(paths_probabilities, naive_bayes_probabilities, mixtures),
                                  key=log_loss)
    if paths is not None:
        paths.path_weights.assign(np.array(weights[:len(paths.input)], dtype="float32"))
    if naive_bayes is not None:
        if naive_bayes.counts is not None:
            naive_bayes.set_alpha(alpha)
        model.get_layer("probabilities").mixture_weight.assign(mixture)
    return list(weights)


def _path_dropout(model: keras.Model):
    return next((layer for layer in model.layers if layer.name == "path_dropout"), None)


def _naive_bayes(model: keras.Model):
    return next((layer for layer in model.layers if layer.name == "naive_bayes"), None)


def path_weights(model: keras.Model) -> list[float] | None:
    """The inference weights of the model's `PathDropout` paths (`calibrate_paths`); None without one."""
    layer = _path_dropout(model)
    return None if layer is None else [float(weight) for weight in np.asarray(layer.path_weights)]


def naive_bayes_settings(model: keras.Model) -> dict | None:
    """The naive Bayes path's smoothing and mixture weight (`calibrate_paths`): {"nb_alpha", "nb_mixture"} (with
    mixture weight 0 the smoothing is moot); None for a model without that path."""
    layer = _naive_bayes(model)
    return None if layer is None else {"nb_alpha": layer.alpha,
                                       "nb_mixture": float(np.asarray(model.get_layer("probabilities").mixture_weight))}


def has_attention(model: keras.Model) -> bool:
    """Whether `model` has an attention path (an "encoder_0" block; the `bag` model has none)."""
    return any(layer.name == "encoder_0" for layer in model.layers)


def attention(trained: Trained, text: str, max_tokens: int = 30) -> tuple[list[str], np.ndarray]:
    """The first encoder block's attention for `text`, averaged over heads: (tokens, [n, n] weights)."""
    ids = token_ids(trained.vectorizer, tf.constant([text]))
    encoder = trained.model.get_layer("encoder_0")
    # Every model with attention feeds its token ids through "embedding" and "embedding_dropout" (identity at
    # inference) into encoder_0; the sub-model starts at the token ids, whatever other inputs the model has.
    token_input = trained.model.get_layer("embedding").input
    encoder_input = keras.Model(token_input, trained.model.get_layer("embedding_dropout").output)(
        ids, training=False)
    mask = ids != 0  # the padding mask of `mask_zero=True`
    _, scores = encoder(encoder_input, mask=mask, return_attention_scores=True)
    vocabulary = trained.vectorizer.get_vocabulary()
    count = min(int(np.asarray(mask).sum()), max_tokens)
    tokens = [vocabulary[i] for i in np.asarray(ids)[0][:count]]
    return tokens, np.asarray(scores)[0].mean(axis=0)[:count, :count]


def export_model(trained: Trained, model_dir, extra_files=None) -> Path:
    """The next version of `model_dir`, serving raw strings (see the module docstring)."""
    serve, signature = serving_function(trained.features, trained.model, trained.class_names)
    return export.export_saved_model(model_dir, {"serving_default": (serve, signature)},
                                     track=[*trained.features.resources(), trained.model], extra_files=extra_files,
                                     warmup={"serving_default": {"text": np.array([b"warmup request"])}})


def run(config: TextConfig, parts: dict[str, data.TextData] | None = None) -> report.RunResult:
    """Trains, evaluates on the test part, reports and exports (`core.runner.run`); returns where things went."""
    return runner.run(TASK, config, None if parts is None else _inputs(parts))
