"""One online detection run on a user's series: score every point as it arrives, flag, measure, plot,
export.

    config -> series -> OnlineDetector.errors (Keras: fit, keep learning) -> post_process (likelihood,
    spatial rule, suppression) -> flags at the alert threshold -> metrics on the held-out part ->
    report (+ per-point scores.csv) -> OnlineExport (TF Serving, + serving.json)

The held-out part is every point after the initial fit (NAB's probationary period: 15%, at most 750
points): each of those points is scored before the detector learns from it.
"""

import dataclasses
import os
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from core import config as core_config, report
from anomaly import data, online, plots
from anomaly.config import AnomalyConfig
from anomaly.online_export import OnlineExport
from anomaly.task import evaluate_parts

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


def run(config: AnomalyConfig, series: data.Series) -> OnlineRunResult:
    """Scores `series` online, reports and exports; returns where things went."""
    started = time.perf_counter()
    keras.utils.set_random_seed(config.seed)
    settings = online.ONLINE_DETECTORS[config.detector]
    detector = online.OnlineDetector(settings, seed=config.seed)
    errors = detector.errors(series.values)
    scores = detector.post_process(errors, series.values)
    threshold = config.alert_threshold if config.alert_threshold is not None else online.ALERT_THRESHOLD
    flags = scores >= threshold
    held_out_from = online.initial_length(len(series), settings)
    parts = {"initial_fit": (0, held_out_from), "held_out": (held_out_from, len(series))}
    metrics = {"detector": config.detector, "alert_threshold": threshold, "held_out_from": held_out_from,
               **evaluate_parts(series, parts, flags)}

    name = config.name or f"anomaly_{config.detector}"
    model = detector.models[settings.windows[-1]]
    report_dir = report.write_report(
        Path(config.reports_dir) / name / time.strftime("%Y%m%d-%H%M%S") / f"{os.getpid()}",
        title=f"Online anomaly detection: {config.detector} on {series.name}",
        config={**core_config.to_dict(config), "detector_settings": dataclasses.asdict(settings)},
        metrics=metrics, seed=config.seed, wall_time_s=time.perf_counter() - started, model=model,
        sections=[("Detector", online.OnlineDetector.__doc__.split("Example:")[0].strip()),
                  ("How to read the metrics", _HOW_TO_READ)],
        figures={
            "series": plots.series_with_detections(series, parts, flags, f"{series.name}: labelled windows and alerts"),
            "anomaly_score": plots.score_with_threshold(series, parts, scores, threshold),
        },
        extra={"columns": series.columns, "points": len(series)})
    report.write_csv(report_dir / "scores.csv",
                     scores_frame(series.timestamps, series.columns, series.values, scores, flags))
    export = OnlineExport(detector, errors, series.values, threshold)
    (report_dir / SERVING_FILE).write_text(report.to_json(export.describe(series.columns)))
    export_dir = export.export(Path(config.output_dir) / name, extra_files=report.report_files(report_dir))
    return OnlineRunResult(export_dir=export_dir, report_dir=report_dir, metrics=metrics, model=model,
                           scores=scores, flags=flags)


_HOW_TO_READ = (
    "`held_out`: every point after the initial fit, each scored before the detector learnt from it. "
    "`points`: per-point precision/recall against the labelled windows. `events`: a window is detected "
    "when any point in it is flagged; a false alarm is a run of flags that touches no window (flags "
    "spilling up to a quarter of a window's width past it belong to that window). `nab`: NAB's scoring "
    "rules on this file at the fixed alert threshold (0 = never alert, 100 = perfect); NAB's corpus "
    "scoreboard optimises one threshold per profile over 58 files instead (scripts/benchmark_anomaly.py).")
