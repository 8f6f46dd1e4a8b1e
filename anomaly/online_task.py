"""One online detection run on a user's series: score every point as it arrives, flag, measure, plot,
export.

    config -> series -> OnlineDetector.errors (Keras: fit, keep learning) -> post_process (likelihood,
    spatial rule, suppression) -> flags at the alert threshold -> metrics on the held-out part ->
    report (+ per-point scores.csv) -> OnlineExport (TF Serving, + serving.json)

The held-out part is every point after the initial fit (NAB's probationary period: 15%, at most 750
points): each of those points is scored before the detector learns from it.
"""

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from anomaly import data, online, plots
from anomaly.config import AnomalyConfig
from anomaly.online_export import OnlineExport
from anomaly.task import evaluate_parts
from core import report, runner

#: Written beside the export: what a request needs (context length, columns, threshold).
SERVING_FILE = "serving.json"


@dataclasses.dataclass
class OnlineRunResult(report.RunResult):
    scores: np.ndarray | None = None
    flags: np.ndarray | None = None


def scores_frame(timestamps, columns: list[str], values, scores, flags) -> pd.DataFrame:
    """timestamp, the value column(s), anomaly_score, is_anomaly: the per-point CSV of a run and of
    scripts/detect_anomalies.py."""
    frame = pd.DataFrame({"timestamp": pd.to_datetime(timestamps).strftime("%Y-%m-%d %H:%M:%S")})
    for column, column_values in zip(columns, online.as_matrix(values).T):
        frame[column] = column_values
    frame["anomaly_score"], frame["is_anomaly"] = scores, flags
    return frame


@dataclasses.dataclass
class Scored:
    """What the online detector learnt and found on one series."""

    detector: online.OnlineDetector
    settings: online.OnlineSettings
    errors: np.ndarray
    scores: np.ndarray
    flags: np.ndarray
    threshold: float
    parts: dict[str, tuple[int, int]]
    export: OnlineExport  # the state at the last point, for TF Serving

    @property
    def model(self):
        return self.detector.models[self.settings.windows[-1]]


class OnlineTask(runner.Task):
    """The online detector's own steps; its data is one `data.Series`. It builds its Keras models itself as
    points arrive (one device, no strategy scope); `core.runner` seeds it, reports and exports."""

    name = "anomaly_online"

    def export_name(self, config) -> str:
        return config.name or f"anomaly_{config.detector}"

    def prepare(self, config: AnomalyConfig) -> data.Series:
        return data.prepare(config)[0]

    def build_model(self, config, series, batch_size):
        return None  # OnlineDetector builds and refits its autoencoders while it scores

    def fit(self, config, series, model, *, state_dir, batch_size, callbacks, epochs, initial_epoch) -> Scored:
        settings = online.ONLINE_DETECTORS[config.detector]
        detector = online.OnlineDetector(settings, seed=config.seed)
        errors = detector.errors(series)  # values and timestamps
        scores = detector.post_process(errors, series)  # values and timestamps
        threshold = config.alert_threshold
        if threshold is None:
            threshold = online.ALERT_THRESHOLDS[config.detector]
        held_out_from = online.initial_length(len(series), settings)
        return Scored(detector, settings, errors, scores, scores >= threshold, threshold,
                      {"initial_fit": (0, held_out_from), "held_out": (held_out_from, len(series))},
                      OnlineExport(detector, errors, series.values, threshold, series.timestamps))

    def evaluate(self, config, series, scored) -> dict:
        return {"detector": config.detector, "alert_threshold": scored.threshold,
                "held_out_from": scored.parts["held_out"][0], **evaluate_parts(series, scored.parts, scored.flags)}

    def report(self, config, series, scored, metrics) -> runner.ReportContent:
        return runner.ReportContent(
            title=f"Online anomaly detection: {config.detector} on {series.name}", model=scored.model,
            sections=[("Detector", online.OnlineDetector.__doc__.split("Example:")[0].strip()),
                      ("Detector settings", ", ".join(f"`{key}` {value}" for key, value
                                                      in dataclasses.asdict(scored.settings).items())),
                      ("How to read the metrics", _HOW_TO_READ)],
            figures={
                "series": plots.series_with_detections(series, scored.parts, scored.flags,
                                                       f"{series.name}: labelled windows and alerts"),
                "anomaly_score": plots.score_with_threshold(series, scored.parts, scored.scores, scored.threshold),
            },
            extra={"columns": series.columns, "points": len(series),
                   "detector_settings": dataclasses.asdict(scored.settings)},
            tables={"scores.csv": scores_frame(series.timestamps, series.columns, series.values, scored.scores,
                                               scored.flags)},
            texts={SERVING_FILE: report.to_json(scored.export.describe(series.columns))})

    def export(self, scored, model_dir, extra_files=None) -> Path:
        return scored.export.export(model_dir, extra_files=extra_files)

    def result(self, scored, export_dir, report_dir, metrics) -> OnlineRunResult:
        return OnlineRunResult(export_dir=export_dir, report_dir=report_dir, metrics=metrics, model=scored.model,
                               scores=scored.scores, flags=scored.flags)


TASK = OnlineTask()


def run(config: AnomalyConfig, series: data.Series) -> OnlineRunResult:
    """Scores `series` online, reports and exports (`core.runner.run`); returns where things went."""
    return runner.run(TASK, config, series)


_HOW_TO_READ = (
    "`held_out`: every point after the initial fit, each scored before the detector learnt from it. "
    "`points`: per-point precision/recall against the labelled windows. `events`: a window is detected "
    "when any point in it is flagged; a false alarm is a run of flags that touches no window (flags "
    "spilling up to a quarter of a window's width past it belong to that window). `nab`: NAB's scoring "
    "rules on this file at the fixed alert threshold (0 = never alert, 100 = perfect); NAB's corpus "
    "scoreboard optimises one threshold per profile over 58 files instead (scripts/benchmark_anomaly.py).")
