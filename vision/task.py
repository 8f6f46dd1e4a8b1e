"""One image-classification run: images -> model -> fit -> evaluate -> report -> export.

The export has two signatures, both returning `probabilities` and `class_name` (with `--tta`, both serve
test-time augmentation, baked in at export: the mean of the probabilities of each image and of its horizontal
mirror, exactly as `predict(..., tta=True)` and the report's test metrics compute them):
- `serving_default`: `images: uint8 [batch, height, width, 3]`, any size (resized to the model's in the graph);
- `serving_bytes`: `image_bytes: tf.string [batch]`, encoded JPEG/PNG/BMP (TF Serving's REST API takes
  them as `{"b64": ...}`); decoded and resized in the graph exactly as training decodes files (vision/data.py).
  Each image's header is read first: GIF or an unknown format, or more than `data.MAX_IMAGE_PIXELS` pixels declared
  (a decompression bomb), fails the request with an InvalidArgumentError before anything is decoded, as do
  undecodable bytes; the model keeps serving other requests.
"""

import contextlib
import dataclasses
import time
import weakref
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from core import callbacks as core_callbacks
from core import export, optimizers, report, runner
from core import plots as core_plots
from core.metrics import classification_metrics
from vision import data, models, plots
from vision.config import BFLOAT16_ON_CPU, VisionConfig
from vision.layers import PatchWhitening


@dataclasses.dataclass
class Trained:
    model: keras.Model
    history: dict
    class_names: list[str]
    train_seconds: float
    test_probabilities: np.ndarray | None = None  # set by evaluation, drawn by the report
    tta: bool = False  # test-time flip averaging in evaluation and in the export's signatures (config.tta)


def prepare(config: VisionConfig) -> dict[str, data.ImageData]:
    """train / validation / test parts; validation comes from train, never from the held-out split."""
    return data.load_for(config)


def augmentation(kind: str, seed: int) -> keras.Sequential | None:
    """Keras preprocessing layers applied to training batches only (never part of the export)."""
    if kind == "none":
        return None
    # light: airbench's whole-pixel shifts of up to 2 px at 32 px (nearest sampling keeps them sharp); standard
    # keeps the bilinear default, which blurs fractional shifts, because its families were measured with it.
    shift, sampling = (2 / 32, "nearest") if kind == "light" else (0.125, "bilinear")  # 0.125: ~ pad 4 + crop
    steps = [keras.layers.RandomFlip("horizontal", seed=seed),
             keras.layers.RandomTranslation(shift, shift, fill_mode="reflect", interpolation=sampling, seed=seed + 1)]
    if kind == "strong":  # transformers have no convolutional prior: more variety (Lee et al. 2021)
        steps += [keras.layers.RandomRotation(0.05, fill_mode="reflect", seed=seed + 2),
                  keras.layers.RandomZoom(0.15, fill_mode="reflect", seed=seed + 3)]
    return keras.Sequential(steps, name=f"augment_{kind}")


def dataset(part: data.ImageData, batch_size: int, *, shuffle: bool = False, seed: int = 0,
            augment: keras.Sequential | None = None) -> tf.data.Dataset:
    """Batches of (float32 images in [0, 255], one-hot labels)."""
    classes = len(part.class_names)
    images = tf.data.Dataset.from_tensor_slices((part.images, part.labels))
    if shuffle:
        images = images.shuffle(len(part), seed=seed, reshuffle_each_iteration=True)
    images = images.batch(batch_size).map(lambda x, y: (tf.cast(x, tf.float32), tf.one_hot(y, classes)),
                                          num_parallel_calls=tf.data.AUTOTUNE)
    if augment is not None:
        images = images.map(lambda x, y: (augment(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
    return images.prefetch(tf.data.AUTOTUNE)


def auto_policy(model: str, vector_units: list[str] | None = None) -> str:
    """`--mixed-precision auto`'s policy for `model`: `mixed_float16` with a GPU; `mixed_bfloat16` on a CPU with
    bfloat16 units (`vector_units`, default this machine's from /proc/cpuinfo, list avx512_bf16 or amx_bf16) for
    the families that train faster so (`BFLOAT16_ON_CPU`: oneDNN's bfloat16 convolutions; 1.14-1.30x on a Zen 5
    EPYC, benchmarks/results/vision_precision_speed_cpu.md, about 2x on a Zen 4 by hand); `float32`
    otherwise (without those units bfloat16 is emulated, slower)."""
    if tf.config.list_physical_devices("GPU"):
        return "mixed_float16"
    if vector_units is None:
        vector_units = report.cpu_description()["cpu_vector_units"] or []
    bfloat16_units = {"avx512_bf16", "amx_bf16"} & set(vector_units)
    return "mixed_bfloat16" if bfloat16_units and model in BFLOAT16_ON_CPU else "float32"


@contextlib.contextmanager
def mixed_precision(setting: str, model: str):
    """Keras's global dtype policy while `model` is built (`auto_policy` for `auto`; `on`: `mixed_float16`,
    `bf16`: `mixed_bfloat16`, `off`: `float32`); the caller's policy is back afterwards. Layers keep the
    policy they were built with, and `compile` wraps the optimizer for loss scaling from the model's own policy
    (float16 only: bfloat16 has float32's exponent range and needs none). Each model's last layers and batch
    norms' statistics stay float32 under either policy."""
    policy = {"on": "mixed_float16", "bf16": "mixed_bfloat16", "off": "float32"}.get(setting) or auto_policy(model)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield policy
    finally:
        keras.config.set_dtype_policy(previous)


def build_model(config: VisionConfig, input_shape, num_classes: int, train_size: int,
                batch_size: int | None = None) -> keras.Model:
    """The registered model, compiled: AdamW (or the recipe's Nesterov SGD), warm-up + cosine decay, label
    smoothing; `batch_size` is the global batch (default: `config.batch_size`), for the schedule's steps per
    epoch."""
    with mixed_precision(config.mixed_precision, config.model):
        model = models.build(config.model, input_shape=tuple(input_shape), num_classes=num_classes,
                             **config.model_options())
    steps = optimizers.steps_per_epoch(train_size, batch_size or config.batch_size)
    model.compile(optimizer=optimizers.build(config.optimizer, config.learning_rate, schedule="cosine",
                                             epochs=config.epochs, steps_per_epoch=steps,
                                             warmup_epochs=config.warmup_epochs, weight_decay=config.weight_decay,
                                             momentum=config.momentum),
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
                  metrics=["accuracy"])
    return model


class VisionTask(runner.Task):
    """Image classification's own steps; `core.runner` seeds, scopes, keeps state, reports and exports."""

    name = "vision"

    def prepare(self, config: VisionConfig) -> dict[str, data.ImageData]:
        return prepare(config)

    def build_model(self, config, parts, batch_size):
        train = parts["train"]
        return build_model(config, train.images.shape[1:], len(train.class_names), len(train), batch_size)

    def fit(self, config, parts, model, *, state_dir, batch_size, callbacks, epochs, initial_epoch) -> Trained:
        started = time.perf_counter()
        train = parts["train"]
        if initial_epoch == 0:  # a resumed run restores the adapted filters with the weights
            adapt_whitening(model, train.images, seed=config.seed)
        plain_batches = dataset(train, batch_size, shuffle=True, seed=config.seed + 1)  # no augmentation
        extra = [RecalibrateBatchNorm(plain_batches), core_callbacks.ElapsedTime(), *callbacks]
        if config.lookahead:  # first: the callbacks after it see the synchronised weights
            extra.insert(0, core_callbacks.Lookahead())
        if config.test_curves and "test" in parts:  # for the report's curves only; nothing monitors them
            extra.append(core_callbacks.EvaluateEachEpoch(dataset(parts["test"], 256), prefix="test_"))
        history = model.fit(
            dataset(train, batch_size, shuffle=True, seed=config.seed,
                    augment=augmentation(config.augmentation, config.seed)),
            validation_data=dataset(parts["validation"], 256), epochs=epochs or config.epochs,
            initial_epoch=initial_epoch, verbose=config.verbose,
            shuffle=False,  # the dataset shuffles itself (seeded)
            callbacks=extra + core_callbacks.standard_callbacks(state_dir, patience=config.patience,
                                                                reduce_lr_patience=None))
        recalibrate_batch_norm(model, plain_batches, steps=20)  # the weights early stopping kept
        return Trained(model, history.history, train.class_names, time.perf_counter() - started, tta=config.tta)

    def evaluate(self, config, parts, trained) -> dict:
        """`test`: the metrics of what the export serves (flip-averaged with `config.tta`); `tta`: the test
        accuracy and macro-F1 both ways, whichever is served."""
        test = parts["test"]
        plain, flipped = predict_both(trained.model, test.images)
        both = {"without": plain, "with": (plain + flipped) / 2}
        scores = {way: classification_metrics(test.labels, values.argmax(axis=1), trained.class_names)
                  for way, values in both.items()}
        served = "with" if trained.tta else "without"
        trained.test_probabilities = both[served]
        history = {key: [float(value) for value in values] for key, values in trained.history.items()}
        return {"test": scores[served],
                "tta": {"served": trained.tta, **{way: {"accuracy": scores[way]["accuracy"],
                                                          "macro_f1": scores[way]["macro_f1"]} for way in scores}},
                "epochs_trained": len(history["loss"]), "history": history,
                "dtype_policy": trained.model.dtype_policy.name,  # the resolved --mixed-precision
                "sizes": {name: len(part) for name, part in parts.items()},
                "image_shape": list(test.images.shape[1:]), "image_size": test.size_note,
                "skipped_files": [{"file": file, "reason": reason} for file, reason in test.skipped],
                "train_images_per_s": len(history["loss"]) * len(parts["train"]) / max(history["elapsed_s"][-1],
                                                                                        1e-9)}

    def report(self, config, parts, trained, metrics) -> runner.ReportContent:
        test = parts["test"]
        probabilities = trained.test_probabilities
        predictions = probabilities.argmax(axis=1)
        history = metrics["history"]
        figures = {"loss": core_plots.training_curves(history, "loss"),
                   "accuracy": core_plots.training_curves(history, "accuracy"),
                   "confusion_matrix": core_plots.confusion_matrix(np.array(metrics["test"]["confusion_matrix"]),
                                                                   trained.class_names, "Test confusion matrix")}
        grid = plots.misclassified_grid(test.images, test.labels, predictions, probabilities, trained.class_names,
                                        seed=config.seed)
        if grid is not None:
            figures["misclassified"] = grid
        skipped = (f" Skipped {len(test.skipped)} file(s) that are not decodable images (listed in report.json)."
                   if test.skipped else "")
        tta = metrics["tta"]
        served = ("with test-time flip averaging (the export serves it: `--tta`)" if tta["served"] else
                  "without test-time augmentation (`--tta` would serve flip averaging)")
        return runner.ReportContent(
            title=f"Image classification: {config.export_name} on {Path(test.source).name}", model=trained.model,
            sections=[("Data", f"{metrics['sizes']} images of {metrics['image_shape']} from {test.source} (size "
                               f"{test.size_note or 'as loaded'}); classes {trained.class_names}. Validation is "
                               "carved from the training images, never from the test part; the test curves are "
                               f"measured each epoch and steer nothing.{skipped}"),
                      ("Test-time augmentation", f"The test metrics are {served}. Test accuracy without: "
                                                 f"{tta['without']['accuracy']:.4f}, with the mean of each image's "
                                                 f"and its mirror's probabilities: {tta['with']['accuracy']:.4f}."),
                      ("Model", report.model_summary(trained.model))],
            figures=figures)

    def export(self, trained, model_dir, extra_files=None) -> Path:
        return export_model(trained, model_dir, extra_files)


TASK = VisionTask()


def fit(config: VisionConfig, parts: dict[str, data.ImageData], *, model=None, extra_callbacks=(),
        epochs: int | None = None, initial_epoch: int = 0) -> Trained:
    """Builds (unless given) and trains the model through `core.runner` (seeded, in the strategy scope);
    `model`/`extra_callbacks`/`epochs` let a tuner supply its own."""
    return runner.train(TASK, config, parts, model=model, callbacks=extra_callbacks, epochs=epochs,
                        initial_epoch=initial_epoch)


def recalibrate_batch_norm(model: keras.Model, batches: tf.data.Dataset, steps: int = 20) -> int:
    """Re-estimates every BatchNormalization's moving mean/variance with the final weights ("precise BN"):
    the average of the batch statistics of `steps` training batches (a training-mode forward pass each, no
    weight update). Returns the number of BN layers.

    Why: the moving statistics follow weights that change fast in short runs; measured here, a compact
    EfficientNet trained to 87% training accuracy on 3 CIFAR classes predicted one class at inference
    (validation 33%) until its statistics were re-estimated.

    How: with every BN's momentum at 0, a training-mode pass leaves each layer's batch statistics in its moving
    variables (training-mode normalisation uses the batch's own statistics, so no layer depends on what the
    moving variables held); they are summed over the batches and the means assigned: the cumulative average
    `momentum = 1 - 1/step` gave before, computed by one compiled function per model (`_statistics_step`)
    instead of eager calls.
    """
    norms = [layer for layer in _all_layers(model) if isinstance(layer, keras.layers.BatchNormalization)]
    if not norms:
        return 0
    statistics = [variable for layer in norms for variable in (layer.moving_mean, layer.moving_variance)]
    momenta = [layer.momentum for layer in norms]
    totals, count = None, 0
    try:
        for layer in norms:
            layer.momentum = 0.0  # read when the step is traced: the compiled step always runs with it
        step = _statistics_step(model, statistics)
        for images, _ in batches.take(steps):
            values = step(images)
            totals = values if totals is None else [total + value for total, value in zip(totals, values)]
            count += 1
        if count:
            for variable, total in zip(statistics, totals):
                variable.assign(total / count)
    finally:
        for layer, momentum in zip(norms, momenta):
            layer.momentum = momentum
    return len(norms)


_STATISTICS_STEPS: "weakref.WeakKeyDictionary[keras.Model, object]" = weakref.WeakKeyDictionary()


def _statistics_step(model: keras.Model, statistics: list) -> object:
    """A tf.function (cached per model, outside the model so the export never tracks it; it holds the model
    weakly, so the cache keeps no model alive): one training-mode pass over `images` with the BN momenta at 0,
    returning the moving statistics it leaves."""
    step = _STATISTICS_STEPS.get(model)
    if step is None:
        reference = weakref.ref(model)

        @tf.function(reduce_retracing=True)
        def step(images):
            reference()(images, training=True)
            return [tf.identity(tf.convert_to_tensor(variable)) for variable in statistics]

        _STATISTICS_STEPS[model] = step
    return step


def _all_layers(layer):
    """`layer` and every layer nested in it through the public `layers` of (functional/Sequential) models.
    The registered models keep their BatchNormalization layers there (no custom layer holds one)."""
    yield layer
    for inner in getattr(layer, "layers", ()):
        yield from _all_layers(inner)


def adapt_whitening(model: keras.Model, images: np.ndarray, count: int = 5000, seed: int = 0) -> int:
    """Sets every `PatchWhitening` layer's filters from `count` training images drawn at random (seeded) as that
    layer sees them (after the layers before it, e.g. the input scaling); returns how many layers were adapted.

    At random, not the first `count`: a class-per-folder tree or zip loads class by class, so the first images
    are mostly of the first class, and the filters would whiten that class's patches."""
    whitening = [layer for layer in _all_layers(model) if isinstance(layer, PatchWhitening)]
    if whitening and len(images) > count:
        images = images[np.sort(np.random.default_rng(seed).choice(len(images), count, replace=False))]
    for layer in whitening:
        inputs = keras.Model(model.inputs, layer.input).predict(_batches(images), verbose=0)
        layer.adapt(inputs)
    return len(whitening)


class RecalibrateBatchNorm(keras.callbacks.Callback):
    """`recalibrate_batch_norm` at every epoch end, before the callbacks after it (test curve, early-stopping
    snapshot) look at the model. Keras computes the epoch's validation metrics before any callback runs, so
    `val_*` logs still reflect the moving statistics as trained."""

    def __init__(self, batches: tf.data.Dataset, steps: int = 10):
        super().__init__()
        self.batches, self.steps = batches, steps

    def on_epoch_end(self, epoch, logs=None):
        recalibrate_batch_norm(self.model, self.batches, self.steps)


def flip(images):
    """Horizontal mirror of a batch [N, H, W, C] (the test-time augmentation; training flips the same way)."""
    return tf.reverse(images, axis=[2])


def translate(images, offset: int):
    """A batch [N, H, W, C] shifted by `offset` (1 or -1) pixels down and right (-1: up and left), the border
    reflected (no edge repeat, as PyTorch's 'reflect' pads)."""
    padded = tf.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="REFLECT")
    start = 1 - offset
    return padded[:, start:start + tf.shape(images)[1], start:start + tf.shape(images)[2]]


def _batches(images: np.ndarray, mirrored: bool = False, offset: int = 0) -> tf.data.Dataset:
    def view(batch):
        batch = tf.cast(batch, tf.float32)
        batch = translate(batch, offset) if offset else batch
        return flip(batch) if mirrored else batch

    batches = tf.data.Dataset.from_tensor_slices(images).batch(256).map(view, num_parallel_calls=tf.data.AUTOTUNE)
    return batches.prefetch(tf.data.AUTOTUNE)


def predict_both(model: keras.Model, images: np.ndarray, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities of the images, probabilities of their horizontal mirrors), float32; `offset`: of the
    images shifted by that many pixels first (`translate`)."""
    return tuple(np.asarray(model.predict(_batches(images, mirrored, offset), verbose=0), np.float32)
                 for mirrored in (False, True))


def predict(model: keras.Model, images: np.ndarray, tta: bool = False) -> np.ndarray:
    """Class probabilities for uint8 images [N, H, W, 3] of the model's size; `tta`: the mean of the
    probabilities of each image and of its horizontal mirror (what the export serves with `--tta`)."""
    if not tta:
        return model.predict(_batches(images), verbose=0)
    plain, mirrored = predict_both(model, images)
    return (plain + mirrored) / 2


def predict_crops(model: keras.Model, images: np.ndarray, plain_and_mirrored=None) -> np.ndarray:
    """airbench's test-time augmentation "level 2": six views (three images and their mirrors); weights 1/4 for
    the image and its mirror, 1/8 for each of the image shifted 1 px down-right and 1 px up-left and their mirrors
    (probabilities averaged; airbench averages logits). Evaluation only: the export serves one view or, with
    `--tta`, two. `plain_and_mirrored`: `predict_both(model, images)` when already computed."""
    plain, mirrored = plain_and_mirrored or predict_both(model, images)
    shifted = [view for offset in (1, -1) for view in predict_both(model, images, offset)]
    return (plain + mirrored) / 4 + sum(shifted) / 8


_MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "jpeg": b"\xff\xd8\xff", "gif": b"GIF8", "bmp": b"BM"}


def header_pixels(encoded: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """(is JPEG, is GIF, pixels its header declares: width x height; -1 for a format serving does not decode),
    read without decoding: JPEG by `tf.io.extract_jpeg_shape`; PNG (IHDR), GIF (logical screen) and BMP (info
    header) from their fixed-offset header fields, which TensorFlow has no op for."""
    head = tf.strings.substr(tf.strings.join([tf.strings.substr(encoded, 0, 32), "\0" * 32]), 0, 32)
    b = tf.cast(tf.io.decode_raw(head, tf.uint8), tf.int64)

    def starts_with(magic):
        return tf.reduce_all(tf.equal(b[:len(magic)], tf.constant(list(magic), tf.int64)))

    def big_endian(start, size):
        return tf.reduce_sum(b[start:start + size] * tf.constant([256 ** i for i in reversed(range(size))], tf.int64))

    def little_endian(start, size):
        return tf.reduce_sum(b[start:start + size] * tf.constant([256 ** i for i in range(size)], tf.int64))

    def signed_abs(value):  # BMP heights are negative for top-down rows
        return tf.where(value >= 2 ** 31, 2 ** 32 - value, value)

    is_jpeg = starts_with(_MAGIC["jpeg"])
    jpeg = tf.cond(is_jpeg, lambda: tf.reduce_prod(tf.io.extract_jpeg_shape(encoded, output_type=tf.int64)[:2]),
                   lambda: tf.constant(-1, tf.int64))
    pixels = tf.where(starts_with(_MAGIC["png"]), big_endian(16, 4) * big_endian(20, 4),
             tf.where(starts_with(_MAGIC["gif"]), little_endian(6, 2) * little_endian(8, 2),
             tf.where(starts_with(_MAGIC["bmp"]), signed_abs(little_endian(18, 4)) * signed_abs(little_endian(22, 4)),
                      jpeg)))
    return is_jpeg, starts_with(_MAGIC["gif"]), pixels


def decode_image_bytes(encoded: tf.Tensor, max_pixels: int = data.MAX_IMAGE_PIXELS) -> tf.Tensor:
    """uint8 [h, w, 3] of one encoded image, as `vision.data.decode` gives it: the header is checked against
    the pixel budget first (an InvalidArgumentError, nothing decoded); JPEG with the accurate integer DCT
    (Pillow's libjpeg default; TensorFlow's default fast DCT differs by up to 5 levels); gray/palette/RGBA to
    RGB, alpha dropped; 16-bit PNG to the high byte.

    GIF is refused: TensorFlow's GIF decoder reads every frame before it returns the first, so a 400 KB GIF of
    100 frames costs 400 MB (measured here) whatever its header says."""
    is_jpeg, is_gif, pixels = header_pixels(encoded)
    checks = [tf.debugging.Assert(tf.logical_not(is_gif), [
                  "image_bytes: GIF is not accepted (its frames are all decoded, however many); send PNG or JPEG"]),
              tf.debugging.assert_positive(
                  pixels, message="image_bytes: not a JPEG, PNG or BMP image (or its header declares no pixels)"),
              tf.debugging.assert_less_equal(
                  pixels, tf.constant(max_pixels, tf.int64),
                  message=f"image_bytes: the header declares more than {max_pixels} pixels (decompression bomb?)")]
    with tf.control_dependencies(checks):
        image = tf.cond(is_jpeg,
                        lambda: tf.io.decode_jpeg(encoded, channels=3, dct_method="INTEGER_ACCURATE"),
                        lambda: tf.io.decode_image(encoded, channels=3, expand_animations=False))
    image.set_shape([None, None, 3])
    return image


def resize_like_training(images: tf.Tensor, height: int, width: int) -> tf.Tensor:
    """float32 images of (height, width) with the values training stores: antialiased bilinear (Pillow's
    BILINEAR, within one level) rounded to integers; images already of that size pass unchanged."""
    shape = tf.shape(images)
    same = tf.logical_and(tf.equal(shape[-3], height), tf.equal(shape[-2], width))

    def resized():
        values = tf.image.resize(images, (height, width), antialias=True)  # uint8 in: no full-size float copy
        return tf.round(tf.clip_by_value(values, 0.0, 255.0))

    output = tf.cond(same, lambda: tf.cast(images, tf.float32), resized)
    return tf.ensure_shape(output, [*images.shape[:-3], height, width, 3])


def serving_functions(model: keras.Model, class_names: list[str], max_pixels: int = data.MAX_IMAGE_PIXELS,
                      tta: bool = False) -> dict:
    """The two signatures of the module docstring: name -> (function, input signature); `tta`: both return the
    mean of the probabilities of each image and of its horizontal mirror."""
    height, width = model.input_shape[1:3]
    names = tf.constant(class_names)

    def classify(images):  # float32 [b, height, width, 3] in [0, 255]
        probabilities = tf.cast(model(images, training=False), tf.float32)
        if tta:  # a second call, not one on the concatenated batch: the same arithmetic as `predict`
            probabilities = (probabilities + tf.cast(model(flip(images), training=False), tf.float32)) / 2
        return {"probabilities": probabilities, "class_name": tf.gather(names, tf.argmax(probabilities, axis=-1))}

    def serve_images(images):
        return classify(resize_like_training(images, height, width))

    def decode(encoded):
        return resize_like_training(decode_image_bytes(encoded, max_pixels), height, width)

    def serve_bytes(image_bytes):
        images = tf.map_fn(decode, image_bytes, fn_output_signature=tf.TensorSpec([height, width, 3], tf.float32))
        return classify(images)

    return {"serving_default": (serve_images, [tf.TensorSpec([None, None, None, 3], tf.uint8, name="images")]),
            "serving_bytes": (serve_bytes, [tf.TensorSpec([None], tf.string, name="image_bytes")])}


def export_model(trained: Trained, model_dir, extra_files=None) -> Path:
    """The next version of `model_dir` with both signatures (see the module docstring), flip-averaged when
    `trained.tta`."""
    height, width = trained.model.input_shape[1:3]
    blank = np.zeros((1, height, width, 3), np.uint8)
    warmup = {"serving_default": {"images": blank},
              "serving_bytes": {"image_bytes": np.array([tf.io.encode_png(blank[0]).numpy()], dtype=object)}}
    return export.export_saved_model(model_dir, serving_functions(trained.model, trained.class_names,
                                                                  tta=trained.tta),
                                     track=[trained.model], extra_files=extra_files, warmup=warmup)


def run(config: VisionConfig, parts: dict[str, data.ImageData] | None = None) -> report.RunResult:
    """Trains, evaluates on the test part, reports and exports (`core.runner.run`); returns where things went."""
    return runner.run(TASK, config, parts)
