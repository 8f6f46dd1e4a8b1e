"""Figures of the anomaly report: the series with its windows and detections, and the score."""

import numpy as np

from core.plots import plt


def _shade(axes, series, bounds):
    for number, (first, last) in enumerate(bounds):
        axes.axvspan(series.timestamps[first], series.timestamps[last], color="tab:orange", alpha=0.25,
                     label="labelled window" if number == 0 else None)


def _mark_parts(axes, series, parts):
    for part, (begin, _) in parts.items():
        if begin:
            axes.axvline(series.timestamps[begin], color="grey", linestyle=":", linewidth=1)
            axes.text(series.timestamps[begin], 1.0, f" {part}", transform=axes.get_xaxis_transform(),
                      va="top", fontsize=8, color="grey")


def series_with_detections(series, parts: dict[str, tuple[int, int]], flags, title: str):
    """The raw series (every column), labelled windows shaded, flagged points marked on the first column,
    the start of each of `parts` ({name: (begin, end)}) dotted."""
    figure, axes = plt.subplots(figsize=(11, 4))
    _draw_detections(axes, series, flags)
    _mark_parts(axes, series, parts)
    axes.set_title(title)
    axes.legend(loc="upper left", fontsize=8)
    figure.autofmt_xdate()
    figure.tight_layout()
    return figure


def _draw_detections(axes, series, flags):
    values = np.asarray(series.values)
    columns = values.reshape(len(values), -1)
    for index, column in enumerate(columns.T):
        axes.plot(series.timestamps, column, linewidth=0.7,
                  label=series.columns[index] if len(series.columns) == columns.shape[1] else "value")
    _shade(axes, series, series.window_bounds())
    for number, moment in enumerate(series.anomaly_points):
        axes.axvline(moment, color="tab:orange", linewidth=1, label="labelled anomaly" if number == 0 else None)
    flagged = np.flatnonzero(flags)
    axes.scatter(series.timestamps[flagged], columns[flagged, 0], s=6, color="tab:red", zorder=3,
                 label=f"flagged ({len(flagged)} points)")


def detections_and_score(series, flags, scores, threshold: float, title: str):
    """One figure for a scored file: the series with its flags above, the score and threshold below."""
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(11, 5.5), sharex=True)
    _draw_detections(top, series, flags)
    top.set_title(title)
    top.legend(loc="upper left", fontsize=8)
    bottom.plot(series.timestamps, scores, linewidth=0.7, color="tab:purple", label="anomaly score")
    bottom.axhline(threshold, color="tab:red", linestyle="--", label="threshold")
    _shade(bottom, series, series.window_bounds())
    bottom.set_ylim(0, 1)
    bottom.legend(loc="upper left", fontsize=8)
    figure.autofmt_xdate()
    figure.tight_layout()
    return figure


def score_with_threshold(series, parts: dict[str, tuple[int, int]], scores, threshold_score: float = 0.5):
    """Per-timestamp anomaly score with the threshold line (0.5 for the window detector by construction)."""
    figure, axes = plt.subplots(figsize=(11, 3))
    axes.plot(series.timestamps, scores, linewidth=0.7, color="tab:purple", label="anomaly score")
    axes.axhline(threshold_score, color="tab:red", linestyle="--", label="threshold")
    _shade(axes, series, series.window_bounds())
    _mark_parts(axes, series, parts)
    axes.set_ylim(0, 1)
    axes.set_title("Anomaly score per timestamp")
    axes.legend(loc="upper left", fontsize=8)
    figure.autofmt_xdate()
    figure.tight_layout()
    return figure
