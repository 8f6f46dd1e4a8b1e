"""The vision benchmark: each model family trained on the same data, scored on the test split (with and
without test-time flip averaging), with time-to-accuracy as the headline: the training minutes until the test
accuracy after an epoch first reached each of the setting's `THRESHOLDS`, from the per-epoch curve (test accuracy
after each epoch against training seconds), and the input pipeline's efficiency (`input_pipeline_efficiency`)."""

import dataclasses
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from core import config as core_config
from core import runner, serving
from core.metrics import classification_metrics
from vision import data, task
from vision.config import VisionConfig

#: Test accuracies whose time the summary reports, per setting (scripts/benchmark_vision.py's names).
THRESHOLDS = {"cifar3": (0.90, 0.93, 0.95), "cifar10": (0.85, 0.90, 0.91)}
DEFAULT_THRESHOLDS = THRESHOLDS["cifar3"]  # a setting of another name
EFFICIENCY_TARGET = 0.95  # real-data step rate / synthetic-data step rate


def time_to_accuracy(history: dict, target: float) -> float | None:
    """Training seconds until the test accuracy first reached `target` (None if it never did)."""
    for seconds, accuracy in zip(history["elapsed_s"], history["test_accuracy"]):
        if accuracy >= target:
            return float(seconds)
    return None


def threshold_label(target: float) -> str:
    """0.9 -> "90%", 0.925 -> "92.5%" (the JSON keys and table headers)."""
    return f"{round(target * 100, 1):g}%"


def minutes_to_accuracy(history: dict, targets) -> dict[str, float | None]:
    """{"90%": training minutes until the test accuracy first reached 0.90 (None: never), ...} for each target."""
    minutes = {}
    for target in targets:
        seconds = time_to_accuracy(history, target)
        minutes[threshold_label(target)] = None if seconds is None else seconds / 60
    return minutes


def time_to_accuracy_table(results: dict, targets) -> list[dict]:
    """One row per model of a setting's `results` (`run_setting`'s), fastest to the highest target first (then
    the next target, then final accuracy): model, minutes to each target (None: not reached), final accuracy
    without/with TTA, parameters, train images/s and input pipeline efficiency (None where not measured)."""
    labels = [threshold_label(target) for target in targets]
    rows = []
    for name, values in results.items():
        minutes = minutes_to_accuracy(values["time_to_accuracy"], targets)
        rows.append({"model": name, "minutes_to": minutes, "accuracy": values["accuracy"],
                     "accuracy_tta": values.get("accuracy_tta"), "accuracy_crops": values.get("accuracy_crops"),
                     "parameters": values["parameters"],
                     "train_images_per_s": values["train_images_per_s"],
                     "pipeline_efficiency": (values.get("pipeline") or {}).get("ratio")})

    def order(row):
        reached = [row["minutes_to"][label] for label in reversed(labels)]
        return [*[(value is None, value or 0.0) for value in reached], -row["accuracy"]]

    return sorted(rows, key=order)


def serving_speed(export_dir: Path, images: np.ndarray, repeats: int = 30) -> dict:
    """SavedModel latency for one uint8 image (p50, ms) and throughput for batches of 256 (images/s)."""
    speed = serving.signature_speed(export_dir, "images", images, repeats=repeats, batch_repeats=3)
    return {"latency_ms_p50": speed["latency_ms_p50"], "throughput_images_per_s": speed["throughput_per_s"]}


class _StepClock(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.ends = []

    def on_train_batch_end(self, batch, logs=None):
        self.ends.append(time.perf_counter())


def _batch_rate(batches: tf.data.Dataset, warmup: int, steps: int) -> float:
    """Batches per second the input pipeline alone delivers (no model), over `steps` batches after `warmup`."""
    iterator = iter(batches)
    for _ in range(warmup):
        next(iterator)
    started = time.perf_counter()
    for _ in range(steps):
        next(iterator)
    return steps / (time.perf_counter() - started)


def _step_rate(model: keras.Model, batches: tf.data.Dataset, warmup: int, steps: int) -> float:
    """Training steps per second over `steps` steps after `warmup` (tracing, iterator start, shuffle buffer)."""
    clock = _StepClock()
    model.fit(batches, epochs=1, steps_per_epoch=warmup + steps, verbose=0, shuffle=False, callbacks=[clock])
    return steps / (clock.ends[warmup + steps - 1] - clock.ends[warmup - 1])


def synthetic_batches(batch_size: int, image_shape, num_classes: int, seed: int) -> tf.data.Dataset:
    """One batch of random pixels in [0, 255] and one-hot labels, repeated: training with no input work."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(batch_size, *image_shape)).astype(np.float32)
    labels = tf.one_hot(rng.integers(0, num_classes, size=batch_size), num_classes)
    return tf.data.Dataset.from_tensors((tf.constant(images), labels)).repeat()


IN_MEMORY_BATCHES = 16  # real batches held in memory for the "in memory" rate (~24 MB at 128 x 32 x 32 x 3 float32)


def input_pipeline_efficiency(config: VisionConfig, parts: dict[str, data.ImageData], *, steps: int = 20,
                              warmup: int = 5, rounds: int = 2, model: keras.Model | None = None) -> dict:
    """How much the input pipeline slows training: the training step rate on the real tf.data pipeline (as
    `VisionTask.fit` builds it: shuffled, batched, augmented on the CPU) divided by the rate on one synthetic
    in-memory batch of the same shape repeated (no input work), same model and batch size (full batches only),
    `steps` steps each after `warmup`. `rounds` repeat the measurements (each round in another order) and keep
    each one's best rate (less noise on a shared machine). Two more rates tell the causes apart: the real
    pipeline without augmentation, and `IN_MEMORY_BATCHES` real batches held in memory and cycled (no input
    work at all, but every step reads other memory, as real training does, where the synthetic batch is the
    same tensor every step).

    On a machine without an accelerator the input work runs on the cores that train, so it cannot hide behind the
    steps: if the pipeline alone delivers P batches/s on those cores and the model alone trains S steps/s, a real
    step costs 1/S + 1/P seconds, and real / synthetic can reach at most `ceiling` = 1 / (1 + S / P).

    Returns {"ratio": real / synthetic (target >= 0.95), "real_steps_per_s", "synthetic_steps_per_s",
    "no_augmentation_steps_per_s", "in_memory_steps_per_s", "pipeline_batches_per_s" (P: the real pipeline with
    no model), "ceiling", "steps", "batch_size"}. `model` (default: a fresh
    one, seeded as training builds it) is trained by these steps: pass a throw-away one.
    """
    if warmup < 1 or steps < 1:
        raise ValueError("input_pipeline_efficiency needs warmup >= 1 and steps >= 1")
    train = parts["train"]
    batch_size = min(runner.batch_size(config), len(train))
    model = model if model is not None else runner.build(task.TASK, config, parts)

    def full(batches):  # the epoch's last, partial batch would be a cheaper step than the synthetic ones
        return batches.filter(lambda images, labels: tf.shape(images)[0] == batch_size).repeat()

    real = full(task.dataset(train, batch_size, shuffle=True, seed=config.seed,
                             augment=task.augmentation(config.augmentation, config.seed)))
    plain = full(task.dataset(train, batch_size, shuffle=True, seed=config.seed))
    held = real.take(IN_MEMORY_BATCHES).cache().repeat()
    synthetic = synthetic_batches(batch_size, train.images.shape[1:], len(train.class_names), config.seed)
    pipelines = {"synthetic": (synthetic, warmup), "real": (real, warmup), "no_augmentation": (plain, warmup),
                 "in_memory": (held, warmup + IN_MEMORY_BATCHES)}  # its warm-up fills the cache
    rates = dict.fromkeys(pipelines, 0.0)
    names = list(pipelines)
    for round_number in range(max(1, rounds)):
        for name in names[round_number % len(names):] + names[:round_number % len(names)]:
            batches, warm = pipelines[name]
            rates[name] = max(rates[name], _step_rate(model, batches, warm, steps))
    pipeline_rate = max(_batch_rate(real, warmup, steps * 5) for _ in range(max(1, rounds)))
    return {"ratio": rates["real"] / rates["synthetic"], "real_steps_per_s": rates["real"],
            "synthetic_steps_per_s": rates["synthetic"], "no_augmentation_steps_per_s": rates["no_augmentation"],
            "in_memory_steps_per_s": rates["in_memory"], "pipeline_batches_per_s": pipeline_rate,
            "ceiling": 1 / (1 + rates["synthetic"] / pipeline_rate), "steps": steps, "batch_size": batch_size}


def run_efficiency(parts: dict[str, data.ImageData], configs: dict[str, VisionConfig], *, steps: int = 20,
                   rounds: int = 3) -> dict:
    """`input_pipeline_efficiency` of every family, no training (`benchmark_vision.py --efficiency-only`)."""
    results = {}
    for name, config in configs.items():
        results[name] = input_pipeline_efficiency(config, parts, steps=steps, rounds=rounds)
        values = results[name]
        print(f"  {name}: efficiency {values['ratio']:.2f} (steps/s real {values['real_steps_per_s']:.2f}, "
              f"synthetic {values['synthetic_steps_per_s']:.2f}, no augmentation "
              f"{values['no_augmentation_steps_per_s']:.2f}, in memory {values['in_memory_steps_per_s']:.2f}; "
              f"the pipeline alone {values['pipeline_batches_per_s']:.1f} batches/s, so at most "
              f"{values['ceiling']:.2f})",
              flush=True)
    return results


def efficiency_markdown(summary: dict) -> str:
    environment = summary["environment"]
    lines = ["# Vision input pipeline efficiency", "",
             f"Data `{summary['data']}`; {environment['cpu_count']} CPUs ({environment.get('gpu') or 'no GPU'}), "
             f"TensorFlow {environment['packages']['tensorflow']}, Keras {environment['packages']['keras']}; seed "
             f"{summary['seed']}; wall time {summary['wall_time_s'] / 60:.1f} min.", "",
             f"Training steps per second, {summary['steps']} steps after a warm-up, the best of {summary['rounds']} "
             "rounds (each round in another order), on: the real pipeline (shuffled, batched, augmented on the "
             f"CPU, as training runs), the same without augmentation, {IN_MEMORY_BATCHES} real batches held in "
             "memory and cycled (no input work; every step reads other memory), and one synthetic batch repeated "
             f"(no input work, the same tensor every step). Efficiency = real / synthetic (target >= "
             f"{EFFICIENCY_TARGET}). Without an accelerator the input work runs on the cores that train: with the "
             "pipeline alone (no model) delivering P batches/s and the synthetic rate S, a real step costs 1/S + 1/P "
             "seconds, so the efficiency can reach at most 1 / (1 + S / P) (the ceiling column).", ""]
    for setting, results in summary["settings"].items():
        lines += [f"## {setting}", "", "| model | batch | efficiency | real | without augmentation | in memory | "
                  "synthetic | real / in memory | pipeline alone (batches/s) | ceiling |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for name, values in results.items():
            lines.append(f"| {name} | {values['batch_size']} | {values['ratio']:.2f} | "
                         f"{values['real_steps_per_s']:.2f} | {values['no_augmentation_steps_per_s']:.2f} | "
                         f"{values['in_memory_steps_per_s']:.2f} | {values['synthetic_steps_per_s']:.2f} | "
                         f"{values['real_steps_per_s'] / values['in_memory_steps_per_s']:.2f} | "
                         f"{values['pipeline_batches_per_s']:.1f} | {values['ceiling']:.2f} |")
        lines.append("")
    return "\n".join(lines)


def compared_precisions() -> tuple[str, str]:
    """The `--mixed-precision` settings `precision_speed` compares: float32 (`off`) and the reduced precision the
    machine trains in (`on`, float16, with a GPU; `bf16` on a CPU)."""
    return ("off", "on") if tf.config.list_physical_devices("GPU") else ("off", "bf16")


def precision_speed(config: VisionConfig, *, image_shape=(32, 32, 3), num_classes: int = 10, steps: int = 20,
                    warmup: int = 5, rounds: int = 3) -> dict:
    """Training images/s of `config.model` (its recipe's batch size and optimizer) on one synthetic batch repeated
    (no input work) in float32 and in the reduced precision of `compared_precisions`, beside what
    `--mixed-precision auto` picks (`task.auto_policy`), so that choice rests on a measurement.

    Each round times both policies, in alternating order, and each keeps its best round: a shared host's speed
    varies (this one alternates between a throttled base rate and bursts), and the best of interleaved rounds
    compares the two at the same host speed. Returns {"batch_size", "steps", "rounds", "images_per_s": {policy:
    best}, "round_images_per_s": {policy: [each round]}, "auto", "faster", "speedup" (reduced / float32)}.
    """
    if warmup < 1 or steps < 1:
        raise ValueError("precision_speed needs warmup >= 1 and steps >= 1")
    synthetic = synthetic_batches(config.batch_size, image_shape, num_classes, config.seed)
    models = {}
    for setting in compared_precisions():
        keras.utils.set_random_seed(config.seed)
        model = task.build_model(dataclasses.replace(config, mixed_precision=setting), image_shape, num_classes,
                                 train_size=config.batch_size * (warmup + steps) * rounds)
        models[model.dtype_policy.name] = model
    names = list(models)
    per_round = {name: [] for name in names}
    for round_number in range(max(1, rounds)):
        for name in (names if round_number % 2 == 0 else names[::-1]):
            per_round[name].append(config.batch_size * _step_rate(models[name], synthetic, warmup, steps))
    best = {name: max(values) for name, values in per_round.items()}
    full, reduced = names
    return {"batch_size": config.batch_size, "steps": steps, "rounds": max(1, rounds), "images_per_s": best,
            "round_images_per_s": per_round, "auto": task.auto_policy(config.model),
            "faster": max(best, key=best.get), "speedup": best[reduced] / best[full]}


def precision_speed_markdown(summary: dict) -> str:
    environment = summary["environment"]
    results = summary["models"]
    full, reduced = next(iter(results.values()))["images_per_s"] if results else ("float32", "reduced")
    lines = ["# Vision training speed by precision", "",
             f"{environment.get('cpu_model') or 'CPU'}, {environment['cpu_count']} CPUs "
             f"({environment.get('gpu') or 'no GPU'}; vector units: "
             f"{', '.join(environment.get('cpu_vector_units') or []) or 'not listed'}), TensorFlow "
             f"{environment['packages']['tensorflow']}, Keras {environment['packages']['keras']}; seed "
             f"{summary['seed']}; images {summary['image_shape']}, {summary['num_classes']} classes; wall time "
             f"{summary['wall_time_s'] / 60:.1f} min.", "",
             f"Training images per second on one synthetic batch repeated (no input work), each family with its "
             f"config (its recipe's batch size and optimizer unless `--set` changed them; the batch column is the "
             f"one used), {summary['steps']} steps after a warm-up; each round times both "
             f"precisions (in alternating order) and the table keeps each one's best of {summary['rounds']} rounds. "
             "`auto` is what `--mixed-precision auto` picks on this machine (`vision.task.auto_policy`); the last "
             "column says whether that is the faster one.", "",
             f"| model | batch | {full} images/s | {reduced} images/s | {reduced} / {full} | faster | auto picks | "
             "auto is the faster |", "|---|---|---|---|---|---|---|---|"]
    for name, values in results.items():
        rates = values["images_per_s"]
        lines.append(f"| {name} | {values['batch_size']} | {rates[full]:.0f} | {rates[reduced]:.0f} | "
                     f"{values['speedup']:.2f} | {values['faster']} | {values['auto']} | "
                     f"{'yes' if values['auto'] == values['faster'] else 'no'} |")
    lines.append("")
    return "\n".join(lines)


def run_model(config: VisionConfig, parts: dict[str, data.ImageData], thresholds=DEFAULT_THRESHOLDS,
              efficiency_steps: int = 20) -> dict:
    """One family: input pipeline efficiency (`efficiency_steps` steps each way on a throw-away model; 0: not
    measured), training, test accuracy without and with test-time flip averaging, time to each threshold,
    serving speed (of the export as `config.tta` makes it)."""
    pipeline = (input_pipeline_efficiency(config, parts, steps=efficiency_steps) if efficiency_steps else None)
    trained = task.fit(config, parts)
    test = parts["test"]
    plain, mirrored = task.predict_both(trained.model, test.images)
    metrics = classification_metrics(test.labels, plain.argmax(axis=1), test.class_names)
    metrics_tta = classification_metrics(test.labels, (plain + mirrored).argmax(axis=1), test.class_names)
    crops = task.predict_crops(trained.model, test.images, (plain, mirrored))
    metrics_crops = classification_metrics(test.labels, crops.argmax(axis=1), test.class_names)
    history = {key: [float(value) for value in values] for key, values in trained.history.items()}
    epochs = len(history["loss"])
    with tempfile.TemporaryDirectory() as folder:
        speed = serving_speed(task.export_model(trained, Path(folder) / config.model), test.images)
    return {"accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"],
            "accuracy_tta": metrics_tta["accuracy"], "macro_f1_tta": metrics_tta["macro_f1"],
            "accuracy_crops": metrics_crops["accuracy"], "macro_f1_crops": metrics_crops["macro_f1"],
            "served_tta": config.tta, "sizes": {name: len(part) for name, part in parts.items()},
            "parameters": trained.model.count_params(), "dtype_policy": trained.model.dtype_policy.name,
            "epochs": epochs,
            "train_seconds": history["elapsed_s"][-1], "wall_seconds": trained.train_seconds,
            "train_images_per_s": epochs * len(parts["train"]) / history["elapsed_s"][-1],
            "time_to_accuracy": {"elapsed_s": history["elapsed_s"], "test_accuracy": history["test_accuracy"]},
            "minutes_to": minutes_to_accuracy(history, thresholds), "pipeline": pipeline, **speed}


def run_setting(parts: dict[str, data.ImageData], configs: dict[str, VisionConfig], setting: str | None = None,
                efficiency_steps: int = 20) -> dict:
    thresholds = THRESHOLDS.get(setting, DEFAULT_THRESHOLDS)
    results = {}
    for name, config in configs.items():
        results[name] = run_model(config, parts, thresholds, efficiency_steps)
        values = results[name]
        reached = ", ".join(f"{label} in {minutes:.1f} min" if minutes is not None else f"{label} not reached"
                            for label, minutes in values["minutes_to"].items())
        print(f"  {name}: test accuracy {values['accuracy']:.4f} (flip TTA {values['accuracy_tta']:.4f}, "
              f"multi-crop TTA {values['accuracy_crops']:.4f}) in "
              f"{values['train_seconds']:.0f} s; {reached}", flush=True)
    return results


def time_to_accuracy_figure(settings: dict[str, dict]):
    from core.plots import plt

    figure, axes = plt.subplots(1, len(settings), figsize=(6 * len(settings), 4), squeeze=False)
    for axis, (setting, results) in zip(axes[0], settings.items()):
        for name, values in results["models"].items():
            curve = values["time_to_accuracy"]
            axis.plot(np.array(curve["elapsed_s"]) / 60, curve["test_accuracy"], marker="o", markersize=3, label=name)
        axis.axhline(1 / len(results["classes"]), color="gray", linestyle=":", label="chance")
        for target in results.get("thresholds", ()):
            axis.axhline(target, color="gray", linestyle="--", linewidth=0.6)
        axis.set_xlabel("training minutes")
        axis.set_ylabel("test accuracy")
        axis.set_title(f"{setting}: {len(results['classes'])} classes")
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    return figure


def _minutes(value: float | None) -> str:
    return "not reached" if value is None else f"{value:.1f}"


def _sizes_text(results: dict) -> str:
    """"train N, validation N, test N images", per group of families where their splits differ (a recipe's own
    validation fraction); results written before the per-family sizes have the setting's only."""
    groups = {}
    for name, values in results["models"].items():
        sizes = values.get("sizes") or results["sizes"]
        groups.setdefault(tuple(sizes[part] for part in ("train", "validation", "test")), []).append(name)
    if len(groups) == 1:
        return "train {}, validation {}, test {} images".format(*next(iter(groups)))
    return "; ".join("train {}, validation {}, test {} images".format(*sizes) + f" ({', '.join(names)})"
                     for sizes, names in groups.items())


def markdown(summary: dict, figure_name: str) -> str:
    environment = summary["environment"]
    epochs = (f"at most {summary['epochs']} epochs" if summary.get("epochs") or "configs" not in summary else
              "at most its recipe's epochs (" + ", ".join(f"{name} {config['epochs']}" for name, config in
                                                          summary["configs"].items()) + "; `vision.config.RECIPES`)")
    lines = ["# Vision benchmark", "", f"Data `{summary['data']}`; wall time {summary['wall_time_s'] / 60:.1f} min on "
             f"{environment['cpu_count']} CPUs ({environment.get('gpu') or 'no GPU'}), TensorFlow "
             f"{environment['packages']['tensorflow']}, Keras {environment['packages']['keras']}; "
             f"seed {summary['seed']}.",
             "", "Each model trains on the training split (validation carved from it; "
             f"{'at most ' + str(summary['max_per_class']) if summary['max_per_class'] else 'all its'} images per "
             f"class) for {epochs} and is "
             "scored on the whole test split. Minutes to N% are the training minutes (fit, validation and the "
             "batch-norm re-estimation; not the test evaluation, which steers nothing) until the test accuracy "
             "after an epoch first reached N%, without test-time augmentation. Test accuracy is the final model's, "
             "without and with test-time flip averaging (TTA: the mean of each image's and its mirror's "
             "probabilities), and with airbench's multi-crop TTA (evaluation only: the image, its 1-px shifts "
             "down-right and up-left, and their mirrors, weighted 1/4, 1/4 and 1/8 each; `vision.task."
             "predict_crops`). Pipeline efficiency is the training step rate on the real input pipeline over the "
             f"rate on synthetic in-memory batches of the same shape (target >= {EFFICIENCY_TARGET}).", ""]
    for setting, results in summary["settings"].items():
        targets = results.get("thresholds") or THRESHOLDS.get(setting, DEFAULT_THRESHOLDS)
        labels = [threshold_label(target) for target in targets]
        lines += [f"## {setting}: {len(results['classes'])} classes ({', '.join(results['classes'])})", "",
                  f"{_sizes_text(results)}; chance {1 / len(results['classes']):.3f}.", "",
                  "| model | " + " | ".join(f"min to {label}" for label in labels) + " | test accuracy | with TTA | "
                  "with multi-crop TTA | parameters | train images/s | pipeline efficiency |",
                  "|---" * (len(labels) + 7) + "|"]
        for row in time_to_accuracy_table(results["models"], targets):
            tta = "" if row["accuracy_tta"] is None else f"{row['accuracy_tta']:.4f}"
            crops = "" if row["accuracy_crops"] is None else f"{row['accuracy_crops']:.4f}"
            efficiency = "" if row["pipeline_efficiency"] is None else f"{row['pipeline_efficiency']:.2f}"
            lines.append(f"| {row['model']} | " + " | ".join(_minutes(row["minutes_to"][label]) for label in labels)
                         + f" | {row['accuracy']:.4f} | {tta} | {crops} | {row['parameters']:,} | "
                         f"{row['train_images_per_s']:.0f} | {efficiency} |")
        lines += ["", "| model | macro-F1 | macro-F1 with TTA | epochs | dtype policy | train s | latency p50 ms | "
                  "serve images/s | steps/s real / synthetic / real without augmentation (/ in memory) |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for name, values in sorted(results["models"].items(), key=lambda item: -item[1]["accuracy"]):
            pipeline = values.get("pipeline")
            rates = ("" if not pipeline else f"{pipeline['real_steps_per_s']:.2f} / "
                     f"{pipeline['synthetic_steps_per_s']:.2f} / {pipeline['no_augmentation_steps_per_s']:.2f}"
                     + (f" / {pipeline['in_memory_steps_per_s']:.2f}" if "in_memory_steps_per_s" in pipeline else "")
                     + (f"; ceiling {pipeline['ceiling']:.2f}" if "ceiling" in pipeline else ""))
            tta_f1 = "" if values.get("macro_f1_tta") is None else f"{values['macro_f1_tta']:.4f}"
            # Blank in results written before the policy was recorded (their configs say what was asked).
            lines.append(f"| {name} | {values['macro_f1']:.4f} | {tta_f1} | {values['epochs']} | "
                         f"{values.get('dtype_policy', '')} | {values['train_seconds']:.0f} | "
                         f"{values['latency_ms_p50']:.1f} | "
                         f"{values['throughput_images_per_s']:.0f} | {rates} |")
        lines.append("")
    lines += [f"![time to accuracy]({figure_name})", ""]
    return "\n".join(lines)


def configs_for(models: list[str], given: dict) -> dict[str, VisionConfig]:
    """One config per family: the values `given` explicitly, the rest from the family's recipe."""
    return {name: core_config.build(VisionConfig, **{**given, "model": name}) for name in models}
