"""Image-classification benchmark: each model family trained on the same data, scored on the test split,
with a time-to-accuracy curve (test accuracy after each epoch against training seconds)."""

import dataclasses
import tempfile
from pathlib import Path

import numpy as np

from core import serving
from core.metrics import classification_metrics
from vision import data, task
from vision.config import VisionConfig


def time_to_accuracy(history: dict, target: float) -> float | None:
    """Training seconds until the test accuracy first reached `target` (None if it never did)."""
    for seconds, accuracy in zip(history["elapsed_s"], history["test_accuracy"]):
        if accuracy >= target:
            return float(seconds)
    return None


def serving_speed(export_dir: Path, images: np.ndarray, repeats: int = 30) -> dict:
    """SavedModel latency for one uint8 image (p50, ms) and throughput for batches of 256 (images/s)."""
    speed = serving.signature_speed(export_dir, "images", images, repeats=repeats, batch_repeats=3)
    return {"latency_ms_p50": speed["latency_ms_p50"], "throughput_images_per_s": speed["throughput_per_s"]}


def run_model(config: VisionConfig, parts: dict[str, data.ImageData]) -> dict:
    trained = task.fit(config, parts)
    test = parts["test"]
    predictions = task.predict(trained.model, test.images).argmax(axis=1)
    metrics = classification_metrics(test.labels, predictions, test.class_names)
    history = {key: [float(value) for value in values] for key, values in trained.history.items()}
    epochs = len(history["loss"])
    with tempfile.TemporaryDirectory() as folder:
        speed = serving_speed(task.export_model(trained, Path(folder) / config.model), test.images)
    return {"accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"],
            "parameters": trained.model.count_params(), "epochs": epochs,
            "train_seconds": history["elapsed_s"][-1], "wall_seconds": trained.train_seconds,
            "train_images_per_s": epochs * len(parts["train"]) / history["elapsed_s"][-1],
            "time_to_accuracy": {"elapsed_s": history["elapsed_s"], "test_accuracy": history["test_accuracy"]},
            "seconds_to_90": time_to_accuracy(history, 0.9), **speed}


def run_setting(parts: dict[str, data.ImageData], configs: dict[str, VisionConfig]) -> dict:
    results = {}
    for name, config in configs.items():
        results[name] = run_model(config, parts)
        print(f"  {name}: test accuracy {results[name]['accuracy']:.4f} in {results[name]['train_seconds']:.0f} s",
              flush=True)
    return results


def time_to_accuracy_figure(settings: dict[str, dict]):
    from core.plots import plt

    figure, axes = plt.subplots(1, len(settings), figsize=(6 * len(settings), 4), squeeze=False)
    for axis, (setting, results) in zip(axes[0], settings.items()):
        for name, values in results["models"].items():
            curve = values["time_to_accuracy"]
            axis.plot(np.array(curve["elapsed_s"]) / 60, curve["test_accuracy"], marker="o", markersize=3, label=name)
        axis.axhline(1 / len(results["classes"]), color="gray", linestyle=":", label="chance")
        axis.set_xlabel("training minutes")
        axis.set_ylabel("test accuracy")
        axis.set_title(f"{setting}: {len(results['classes'])} classes")
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    return figure


def markdown(summary: dict, figure_name: str) -> str:
    environment = summary["environment"]
    lines = ["# Vision benchmark", "", f"Data `{summary['data']}`; wall time {summary['wall_time_s'] / 60:.1f} min on "
             f"{environment['cpu_count']} CPUs ({environment.get('gpu') or 'no GPU'}), TensorFlow "
             f"{environment['packages']['tensorflow']}, Keras {environment['packages']['keras']}; "
             f"seed {summary['seed']}.",
             "", "Each model trains on the training split (validation carved from it; at most "
             f"{summary['max_per_class'] or 'all'} images per class) for at most {summary['epochs']} epochs and is "
             "scored on the whole test split. The time-to-accuracy curve is the test accuracy after each epoch "
             "against training seconds (it steers nothing).", ""]
    for setting, results in summary["settings"].items():
        sizes = results["sizes"]
        lines += [f"## {setting}: {len(results['classes'])} classes ({', '.join(results['classes'])})", "",
                  f"train {sizes['train']}, validation {sizes['validation']}, test {sizes['test']} images; chance "
                  f"{1 / len(results['classes']):.3f}.", "",
                  "| model | test accuracy | macro-F1 | parameters | epochs | train s | train images/s | "
                  "s to 90% | latency p50 ms | serve images/s |", "|---|---|---|---|---|---|---|---|---|---|"]
        for name, values in sorted(results["models"].items(), key=lambda item: -item[1]["accuracy"]):
            reached = f"{values['seconds_to_90']:.0f}" if values["seconds_to_90"] is not None else "not reached"
            lines.append(f"| {name} | {values['accuracy']:.4f} | {values['macro_f1']:.4f} | {values['parameters']:,} | "
                         f"{values['epochs']} | {values['train_seconds']:.0f} | {values['train_images_per_s']:.0f} | "
                         f"{reached} | {values['latency_ms_p50']:.1f} | {values['throughput_images_per_s']:.0f} |")
        lines.append("")
    lines += [f"![time to accuracy]({figure_name})", ""]
    return "\n".join(lines)


def configs_for(models: list[str], base: VisionConfig) -> dict[str, VisionConfig]:
    return {name: dataclasses.replace(base, model=name) for name in models}
