"""One anomaly run from config to SavedModel and report; each step is one call.

    config -> load_series -> split + scale (train part only) -> windows -> build model -> fit
    -> threshold on training errors -> score every timestamp -> metrics on each part -> report -> export
"""

import dataclasses
import os
import tempfile
import time
from pathlib import Path

import keras
import numpy as np

from core import callbacks, config as core_config, distribute, plots as core_plots, report
from anomaly import data, evaluation, models, nab, plots, scoring
from anomaly.config import AnomalyConfig
from anomaly.detector import WindowDetector


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
class Fitted:
    model: keras.Model
    scaling: data.MinMaxScaling
    history: dict
    run_dir: Path


@dataclasses.dataclass
class Detection:
    detector: WindowDetector
    threshold: float
    window_errors: np.ndarray
    in_train: np.ndarray  # windows entirely inside the training part
    errors: np.ndarray  # per timestamp
    scores: np.ndarray
    flags: np.ndarray


def build_model(config: AnomalyConfig) -> keras.Model:
    """The registered autoencoder for `config.window`, compiled (Adam, mean squared error)."""
    model = models.build(config.model, input_dim=config.window, l2=config.l2)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="mse")
    return model


def fit(config: AnomalyConfig, series: data.Series, split: data.Split, model: keras.Model | None = None,
        extra_callbacks=(), epochs: int | None = None, initial_epoch: int = 0) -> Fitted:
    """Scales with the training part, windows it and trains the autoencoder (validation for early stopping)."""
    scaling = data.MinMaxScaling.fit(series.values[:split.train_end], series.source)
    scaled = scaling.transform(series.values)
    train_windows, _ = data.sliding_windows(scaled[:split.train_end], config.window, config.stride)
    validation_windows, _ = data.sliding_windows(scaled[split.train_end:split.validation_end],
                                                 config.window, config.stride)
    strategy = distribute.get(config.strategy)
    with strategy.scope():
        model = model or build_model(config)
    run_dir = config.state_dir()
    if not distribute.is_chief():  # each worker keeps its own training state
        run_dir = run_dir / f"task_{distribute.task_label().replace(' ', '_')}"
    history = model.fit(
        train_windows, train_windows, validation_data=(validation_windows, validation_windows),
        epochs=epochs or config.epochs, initial_epoch=initial_epoch,
        batch_size=distribute.global_batch_size(config.batch_size, strategy), shuffle=True,
        verbose=config.verbose, callbacks=[*extra_callbacks, *callbacks.standard_callbacks(
            run_dir, patience=config.patience, tensorboard=config.tensorboard)])
    return Fitted(model, scaling, history.history, run_dir)


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


def run(config: AnomalyConfig, prepared: tuple[data.Series, data.Split] | None = None) -> RunResult:
    """Trains, evaluates, reports and exports; returns where things went.

    Args:
        config: the run's settings.
        prepared: `data.prepare(config)`'s result when the caller already validated the data.
    """
    started = time.perf_counter()
    keras.utils.set_random_seed(config.seed)
    series, split = prepared or data.prepare(config)
    fitted = fit(config, series, split)
    found = detect(config, fitted, series, split)
    model, run_dir = fitted.model, fitted.run_dir
    threshold, flags, scores, window_errors, in_train = (found.threshold, found.flags, found.scores,
                                                         found.window_errors, found.in_train)
    detector = found.detector

    metrics = {"threshold": threshold, "epochs_trained": len(fitted.history["loss"]),
               "final_train_loss": float(fitted.history["loss"][-1]),
               "best_val_loss": float(min(fitted.history["val_loss"])),
               **evaluate(series, split, flags)}

    if not distribute.is_chief():  # multi-worker: only the chief writes; the others take part in saving
        with tempfile.TemporaryDirectory() as folder:
            detector.export(Path(folder) / config.export_name)
        return RunResult(export_dir=None, report_dir=None, metrics=metrics, model=model, detector=detector)

    # Report, then export with the report beside it.
    wall_time = time.perf_counter() - started
    name = config.export_name
    graph = report.model_graph(model, run_dir / "model_graph.png")
    report_dir = report.write_report(
        Path(config.reports_dir) / name / time.strftime("%Y%m%d-%H%M%S") / f"{os.getpid()}",
        title=f"Anomaly detection: {name} on {series.name}",
        config=core_config.to_dict(config), metrics=metrics, seed=config.seed, wall_time_s=wall_time,
        model=model, sections=_sections(series, split, model, config),
        figures={
            "loss": core_plots.training_curves(fitted.history, "loss", "Reconstruction loss (MSE)"),
            "series": plots.series_with_detections(series, split.parts, flags,
                                                   f"{series.name}: labelled windows and detections"),
            "anomaly_score": plots.score_with_threshold(series, split.parts, scores),
            "confusion_matrix": core_plots.confusion_matrix(
                np.array(metrics["test"]["points"]["confusion_matrix"]), ["normal", "anomaly"],
                "Test part, per point"),
            "error_histogram": core_plots.histogram(window_errors[in_train], threshold=threshold,
                                                    title="Training-window reconstruction errors",
                                                    xlabel="mean squared error (scaled units)"),
        },
        images={"model_graph": graph} if graph else None,
        extra={"data": data.describe(series),
               "split": {part: list(bounds) for part, bounds in split.parts.items()}})
    export_dir = detector.export(Path(config.output_dir) / name, extra_files=report.report_files(report_dir))
    return RunResult(export_dir=export_dir, report_dir=report_dir, metrics=metrics, model=model,
                     detector=detector)


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
