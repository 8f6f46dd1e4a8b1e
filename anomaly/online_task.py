"""One online detection run on a user's series: score every point as it arrives, flag, measure, plot,
export.

    config -> series -> OnlineDetector.errors (Keras: fit, keep learning) -> post_process (likelihood,
    spatial rule, suppression) -> flags at the alert threshold -> metrics on the held-out part ->
    report (+ per-point scores.csv) -> OnlineExport (TF Serving)

The held-out part is every point after the initial fit (NAB's probationary period: 15%, at most 750
points): each of those points is scored before the detector learns from it.
"""

import dataclasses
import os
import time
import uuid
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from core import config as core_config, report
from anomaly import data, evaluation, nab, online, plots
from anomaly.config import AnomalyConfig
from anomaly.online_export import OnlineExport


#: Written beside the export: what a request needs (context length, columns, threshold).
SERVING_FILE = "serving.json"


@dataclasses.dataclass
class OnlineRunResult(report.RunResult):
    scores: np.ndarray | None = None
    flags: np.ndarray | None = None
    export: OnlineExport | None = None


def settings_for(config: AnomalyConfig) -> online.OnlineSettings:
    """The named online detector's settings (its constants are NAB-benchmarked; see online.py)."""
    return online.ONLINE_DETECTORS[config.detector]


def parts(length: int, settings: online.OnlineSettings) -> dict[str, tuple[int, int]]:
    """The initial-fit part and the held-out part (every later point, scored before it is learnt from)."""
    probation = online.initial_length(length, settings)
    return {"initial_fit": (0, probation), "held_out": (probation, length)}


def evaluate(series: data.Series, flags: np.ndarray, settings: online.OnlineSettings) -> dict:
    """Point, event and NAB-rule metrics on the initial-fit part and on the held-out part."""
    labels, bounds = series.labels(), series.window_bounds()
    results = {}
    for part, (begin, end) in parts(len(series), settings).items():
        results[part] = {
            "points": evaluation.point_metrics(labels[begin:end], flags[begin:end]),
            "events": evaluation.event_metrics(flags[begin:end], evaluation.clip_bounds(bounds, begin, end),
                                               series.timestamps[begin:end]),
        }
    labelled = nab.LabelledFile.from_bounds(len(series), bounds, probation=parts(len(series), settings)["held_out"][0])
    if labelled.scored_windows:
        results["held_out"]["nab"] = {name: values["score"]
                                      for name, values in nab.file_scores(flags, labelled).items()}
    return results


def run(config: AnomalyConfig, series: data.Series) -> OnlineRunResult:
    """Scores `series` online, reports and exports; returns where things went."""
    started = time.perf_counter()
    keras.utils.set_random_seed(config.seed)
    settings = settings_for(config)
    detector = online.OnlineDetector(settings, seed=config.seed)
    errors = detector.errors(series.values)
    scores = detector.post_process(errors, series.values)
    threshold = config.alert_threshold if config.alert_threshold is not None else online.ALERT_THRESHOLD
    flags = scores >= threshold
    metrics = {"detector": config.detector, "alert_threshold": threshold, **evaluate(series, flags, settings)}

    name = config.name or f"anomaly_{config.detector}"
    probation = parts(len(series), settings)["initial_fit"][1]
    split = data.Split(probation, probation, len(series))  # the plots mark where held-out scoring begins
    shown = _first_column(series)
    report_dir = report.write_report(
        Path(config.reports_dir) / name / time.strftime("%Y%m%d-%H%M%S") / f"{os.getpid()}",
        title=f"Online anomaly detection: {config.detector} on {series.name}",
        config={**core_config.to_dict(config), "detector_settings": dataclasses.asdict(settings)},
        metrics=metrics, seed=config.seed, wall_time_s=time.perf_counter() - started,
        model=detector.models[settings.windows[-1]],
        sections=[("Detector", online.OnlineDetector.__doc__.split("Example:")[0].strip()),
                  ("How to read the metrics", _HOW_TO_READ)],
        figures={
            "series": plots.series_with_detections(shown, split, flags,
                                                   f"{series.name}: labelled windows and alerts"),
            "anomaly_score": plots.score_with_threshold(shown, split, scores, threshold),
        },
        extra={"columns": series.columns, "points": len(series), "held_out_from": probation})
    _write_scores(report_dir / "scores.csv", series, scores, flags)
    export = OnlineExport(detector, errors, series.values, threshold)
    (report_dir / SERVING_FILE).write_text(report.to_json(export.describe(series.columns)))
    export_dir = export.export(Path(config.output_dir) / name, extra_files=report.report_files(report_dir))
    result = OnlineRunResult(export_dir=export_dir, report_dir=report_dir, metrics=metrics,
                             model=detector.models[settings.windows[-1]], scores=scores, flags=flags,
                             export=export)
    return result


_HOW_TO_READ = (
    "`held_out`: every point after the initial fit, each scored before the detector learnt from it. "
    "`points`: per-point precision/recall against the labelled windows. `events`: a window is detected "
    "when any point in it is flagged; a false alarm is a run of flags that touches no window (flags "
    "spilling up to a quarter of a window's width past it belong to that window). `nab`: NAB's scoring "
    "rules on this file at the fixed alert threshold (0 = never alert, 100 = perfect); NAB's corpus "
    "scoreboard optimises one threshold per profile over 58 files instead (scripts/benchmark_anomaly.py).")


def _first_column(series: data.Series) -> data.Series:
    if np.ndim(series.values) == 1:
        return series
    return dataclasses.replace(series, values=series.values[:, 0])


def _write_scores(path: Path, series: data.Series, scores: np.ndarray, flags: np.ndarray) -> None:
    """timestamp, the value column(s), anomaly_score, is_anomaly; written to a temp name and renamed."""
    values = online.as_matrix(series.values)
    frame = pd.DataFrame({"timestamp": pd.to_datetime(series.timestamps).strftime("%Y-%m-%d %H:%M:%S")})
    for index, column in enumerate(series.columns if len(series.columns) == values.shape[1]
                                   else [f"value_{i}" for i in range(values.shape[1])]):
        frame[column] = values[:, index]
    frame["anomaly_score"], frame["is_anomaly"] = scores, flags
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    frame.to_csv(temporary, index=False)
    temporary.rename(path)
