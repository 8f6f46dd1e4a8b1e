"""Figures of the anomaly report: the series with its windows and detections, and the score."""

import numpy as np

from core.plots import plt


def _shade(axes, series, bounds):
    for number, (first, last) in enumerate(bounds):
        axes.axvspan(series.timestamps[first], series.timestamps[last], color="tab:orange", alpha=0.25,
                     label="labelled window" if number == 0 else None)


def _mark_parts(axes, series, split):
    for part, (begin, _) in split.parts.items():
        if begin:
            axes.axvline(series.timestamps[begin], color="grey", linestyle=":", linewidth=1)
            axes.text(series.timestamps[begin], 1.0, f" {part}", transform=axes.get_xaxis_transform(),
                      va="top", fontsize=8, color="grey")


def series_with_detections(series, split, flags, title: str):
    """The raw series, labelled windows shaded, flagged points marked, split boundaries dotted."""
    figure, axes = plt.subplots(figsize=(11, 4))
    axes.plot(series.timestamps, series.values, linewidth=0.7, color="tab:blue", label="value")
    _shade(axes, series, series.window_bounds())
    for number, moment in enumerate(series.anomaly_points):
        axes.axvline(moment, color="tab:orange", linewidth=1, label="labelled anomaly" if number == 0 else None)
    flagged = np.flatnonzero(flags)
    axes.scatter(series.timestamps[flagged], series.values[flagged], s=6, color="tab:red", zorder=3,
                 label=f"flagged ({len(flagged)} points)")
    _mark_parts(axes, series, split)
    axes.set_title(title)
    axes.legend(loc="upper left", fontsize=8)
    figure.autofmt_xdate()
    figure.tight_layout()
    return figure


def score_with_threshold(series, split, scores, threshold_score: float = 0.5):
    """Per-timestamp anomaly score with the threshold line (0.5 by construction)."""
    figure, axes = plt.subplots(figsize=(11, 3))
    axes.plot(series.timestamps, scores, linewidth=0.7, color="tab:purple", label="anomaly score")
    axes.axhline(threshold_score, color="tab:red", linestyle="--", label="threshold")
    _shade(axes, series, series.window_bounds())
    _mark_parts(axes, series, split)
    axes.set_ylim(0, 1)
    axes.set_title("Anomaly score per timestamp")
    axes.legend(loc="upper left", fontsize=8)
    figure.autofmt_xdate()
    figure.tight_layout()
    return figure
