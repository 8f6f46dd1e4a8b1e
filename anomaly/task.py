"""One anomaly run from config to SavedModel and report; each step is one call.

    config -> load_series -> split + scale (train part only) -> windows -> build model -> fit
    -> threshold on training errors -> score every timestamp -> metrics on each part -> report -> export
"""

import dataclasses
from pathlib import Path

import keras
import numpy as np

from anomaly import data, evaluation, models, nab, plots, scoring
from anomaly.config import AnomalyConfig
from anomaly.detector import WindowDetector
from core import callbacks as core_callbacks
from core import optimizers, report, runner
from core import plots as core_plots


@dataclasses.dataclass
class RunResult(report.RunResult):
    detector: WindowDetector | None = None


def evaluate(series: data.Series, split: data.Split, flags: np.ndarray) -> dict:
    """Point, event and NAB-rule metrics for each part of the split and for validation + test.

    NAB's rules are applied with the training part as the probationary period (the model learnt from
    it), so NAB scores here are per-file scores with a fixed threshold, not NAB corpus scores.
    """
    return evaluate_parts(series, {**split.parts, "held_out": (split.train_end, split.length)}, flags)


def evaluate_parts(series: data.Series, parts: dict[str, tuple[int, int]], flags: np.ndarray) -> dict:
    """Point and event metrics per part ([begin, end) index ranges), and NAB-rule scores of the part named
    `held_out` with everything before it as the probationary period."""
    labels = series.labels()
    bounds = series.window_bounds()
    results = {}
    for part, (begin, end) in parts.items():
        results[part] = {
            "points": evaluation.point_metrics(labels[begin:end], flags[begin:end]),
            "events": evaluation.event_metrics(flags[begin:end], evaluation.clip_bounds(bounds, begin, end),
                                               series.timestamps[begin:end]),
        }
    labelled = nab.LabelledFile.from_bounds(len(series), bounds, probation=parts["held_out"][0])
    if labelled.scored_windows:
        results["held_out"]["nab"] = {name: values["score"]
                                      for name, values in nab.file_scores(flags, labelled).items()}
    return results


@dataclasses.dataclass
class Detection:
    detector: WindowDetector
    threshold: float
    window_errors: np.ndarray
    in_train: np.ndarray  # windows entirely inside the training part
    errors: np.ndarray  # per timestamp
    scores: np.ndarray
    flags: np.ndarray


@dataclasses.dataclass
class Fitted:
    model: keras.Model
    scaling: data.MinMaxScaling
    history: dict
    run_dir: Path
    detection: Detection | None = None  # set by evaluation


def build_model(config: AnomalyConfig) -> keras.Model:
    """The registered autoencoder for `config.window`, compiled (Adam, mean squared error)."""
    model = models.build(config.model, input_dim=config.window, l2=config.l2)
    model.compile(optimizer=optimizers.build("adam", config.learning_rate), loss="mse")
    return model


def detect(config: AnomalyConfig, fitted: Fitted, series: data.Series, split: data.Split) -> Detection:
    """Threshold on training-window errors; every timestamp scored from every window covering it."""
    raw_windows, starts = data.sliding_windows(series.values, config.window, stride=1)
    # Errors do not depend on the threshold; it is fit on them and then baked into the final detector
    # (a WindowDetector traces its threshold into the graph as a constant, hence a second instance).
    window_errors = WindowDetector(fitted.model, fitted.scaling, threshold=1.0).predict(raw_windows)[
        "reconstruction_error"]
    in_train = starts + config.window <= split.train_end
    threshold = scoring.fit_threshold(window_errors[in_train], config.threshold,
                                      percentile=config.percentile, k=config.k)
    errors = scoring.point_errors(window_errors, starts, config.window, len(series))
    return Detection(WindowDetector(fitted.model, fitted.scaling, threshold), threshold, window_errors, in_train,
                     errors, scoring.anomaly_score(errors, threshold), errors > threshold)


class WindowTask(runner.Task):
    """The window autoencoder's own steps (`--detector window`); its data is `(series, split)`.
    `core.runner` seeds, scopes, keeps state, reports and exports."""

    name = "anomaly"

    def prepare(self, config: AnomalyConfig):
        return data.prepare(config)

    def build_model(self, config, prepared, batch_size):
        return build_model(config)

    def fit(self, config, prepared, model, *, state_dir, batch_size, callbacks, epochs, initial_epoch) -> Fitted:
        """Scales with the training part, windows it and trains the autoencoder (validation for early
        stopping)."""
        series, split = prepared
        scaling = data.MinMaxScaling.fit(series.values[:split.train_end], series.source)
        scaled = scaling.transform(series.values)
        train_windows, _ = data.sliding_windows(scaled[:split.train_end], config.window, config.stride)
        validation_windows, _ = data.sliding_windows(scaled[split.train_end:split.validation_end],
                                                     config.window, config.stride)
        history = model.fit(
            train_windows, train_windows, validation_data=(validation_windows, validation_windows),
            epochs=epochs or config.epochs, initial_epoch=initial_epoch, batch_size=batch_size, shuffle=True,
            verbose=config.verbose, callbacks=[*callbacks, *core_callbacks.standard_callbacks(
                state_dir, patience=config.patience, reduce_lr_patience=config.reduce_lr_patience,
                tensorboard=config.tensorboard)])
        return Fitted(model, scaling, history.history, state_dir)

    def evaluate(self, config, prepared, fitted) -> dict:
        series, split = prepared
        fitted.detection = found = detect(config, fitted, series, split)
        return {"threshold": found.threshold, "epochs_trained": len(fitted.history["loss"]),
                "final_train_loss": float(fitted.history["loss"][-1]),
                "best_val_loss": float(min(fitted.history["val_loss"])),
                **evaluate(series, split, found.flags)}

    def report(self, config, prepared, fitted, metrics) -> runner.ReportContent:
        series, split = prepared
        found, model = fitted.detection, fitted.model
        graph = report.model_graph(model, fitted.run_dir / "model_graph.png")
        return runner.ReportContent(
            title=f"Anomaly detection: {config.export_name} on {series.name}", model=model,
            sections=_sections(series, split, model, config),
            figures={
                "loss": core_plots.training_curves(fitted.history, "loss", "Reconstruction loss (MSE)"),
                "series": plots.series_with_detections(series, split.parts, found.flags,
                                                       f"{series.name}: labelled windows and detections"),
                "anomaly_score": plots.score_with_threshold(series, split.parts, found.scores),
                "confusion_matrix": core_plots.confusion_matrix(
                    np.array(metrics["test"]["points"]["confusion_matrix"]), ["normal", "anomaly"],
                    "Test part, per point"),
                "error_histogram": core_plots.histogram(found.window_errors[found.in_train],
                                                        threshold=found.threshold,
                                                        title="Training-window reconstruction errors",
                                                        xlabel="mean squared error (scaled units)"),
            },
            images={"model_graph": graph} if graph else None,
            extra={"data": data.describe(series),
                   "split": {part: list(bounds) for part, bounds in split.parts.items()}})

    def export(self, fitted, model_dir, extra_files=None) -> Path:
        return fitted.detection.detector.export(model_dir, extra_files=extra_files)

    def result(self, fitted, export_dir, report_dir, metrics) -> RunResult:
        return RunResult(export_dir=export_dir, report_dir=report_dir, metrics=metrics, model=fitted.model,
                         detector=fitted.detection.detector)


TASK = WindowTask()


def fit(config: AnomalyConfig, series: data.Series, split: data.Split, model: keras.Model | None = None,
        extra_callbacks=(), epochs: int | None = None, initial_epoch: int = 0) -> Fitted:
    """Trains the window autoencoder through `core.runner` (seeded, in the strategy scope)."""
    return runner.train(TASK, config, (series, split), model=model, callbacks=extra_callbacks, epochs=epochs,
                        initial_epoch=initial_epoch)


def run(config: AnomalyConfig, prepared: tuple[data.Series, data.Split] | None = None) -> RunResult:
    """Trains, evaluates, reports and exports (`core.runner.run`); returns where things went.

    Args:
        config: the run's settings.
        prepared: `data.prepare(config)`'s result when the caller already validated the data.
    """
    return runner.run(TASK, config, prepared)


def _sections(series, split, model, config) -> list[tuple[str, str]]:
    description = data.describe(series)
    head = "\n".join(f"    {row['timestamp']}  {row['value']}" for row in description["head"])
    summary = ", ".join(f"{key} {value:.4g}" for key, value in description["summary"].items())
    parts = ", ".join(f"{part} [{begin}, {end})" for part, (begin, end) in split.parts.items())
    return [
        ("Data", f"{description['entries']} entries of {list(description['variables'])} from "
                 f"{description['source']}, {description['start']} to {description['end']} "
                 f"(median step {description['median_step_s']:.0f} s); "
                 f"{description['labelled_windows']} labelled windows "
                 f"({description['labelled_points']} points).\n\nFirst rows:\n\n{head}\n\n"
                 f"Summary statistics: {summary}.\n\nChronological split: {parts}; windows of "
                 f"{config.window} points, scaled with the training part's min and max."),
        ("Model", f"`{config.model}` (text summary; with graphviz and pydot installed the report also "
                  f"draws the graph):\n\n{report.model_summary(model)}"),
        ("How to read the metrics",
         "`points`: per-timestamp precision/recall against the labelled windows. `events`: a window is "
         "detected when any point inside is flagged; a false alarm is a run of flagged points outside "
         "every window. `held_out.nab`: NAB's scoring rules (0 = never detect, 100 = perfect) on the "
         "validation + test parts at this run's fixed threshold, with the training part as the "
         "probationary period; not comparable to NAB's corpus scoreboard (see "
         "scripts/benchmark_anomaly.py)."),
    ]
