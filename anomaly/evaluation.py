"""Point-wise and event-level detection metrics against labelled windows."""

import numpy as np
from sklearn import metrics


def point_metrics(labels, flags) -> dict:
    """Accuracy, precision, recall, F1 and the confusion matrix [[tn, fp], [fn, tp]] per point."""
    labels, flags = np.asarray(labels, bool), np.asarray(flags, bool)
    return {
        "accuracy": float(metrics.accuracy_score(labels, flags)),
        "precision": float(metrics.precision_score(labels, flags, zero_division=0)),
        "recall": float(metrics.recall_score(labels, flags, zero_division=0)),
        "f1": float(metrics.f1_score(labels, flags, zero_division=0)),
        "confusion_matrix": metrics.confusion_matrix(labels, flags, labels=[False, True]).tolist(),
    }


def precision_recall_f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall and F1 from counts, 0.0 where a denominator is 0 (scikit-learn's `zero_division=0`).

    The one F1 formula of the package: event metrics and the benchmark's summed per-category counts (point
    and event) have counts, not the label arrays that `sklearn.metrics.precision_recall_fscore_support` needs
    (a false alarm is a run of flags, not a sample); a test checks this agrees with scikit-learn's on points.
    """
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive (first, last) index pairs of consecutive True values."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2], edges[1::2] - 1))


def event_metrics(flags, window_bounds: list[tuple[int, int]], timestamps=None) -> dict:
    """Event-level detection: is each labelled window detected, how late, and how many false alarms.

    A window is detected when any point inside it is flagged; its delay is from the window's first point
    to the first flag. A false alarm is a run of consecutive flagged points that touches no window and
    does not start within a quarter of a window's width after its end (the spill of that window's event).
    Precision = detected / (detected + false alarms); recall = detected / windows.

    Args:
        flags: boolean per point.
        window_bounds: labelled windows as inclusive (first, last) indices into `flags`.
        timestamps: optional datetime64 per point, to report delays in seconds too.
    """
    flags = np.asarray(flags, bool)
    near = np.zeros(len(flags), bool)  # a window and the points just after it (the same event)
    delays = []
    for first, last in window_bounds:
        near[first:last + 1 + max(1, (last - first + 1) // 4)] = True
        hits = np.flatnonzero(flags[first:last + 1])
        if len(hits):
            delays.append(int(hits[0]))
    # A run of flags that touches a window or starts within a quarter of its width after it is part of
    # that window's event (flags that spill a few points past a window are not new events).
    false_alarms = sum(1 for first, last in _runs(flags) if not near[first:last + 1].any())
    detected, windows = len(delays), len(window_bounds)
    precision, recall, f1 = precision_recall_f1(detected, false_alarms, windows - detected)
    result = {"windows": windows, "detected": detected, "missed": windows - detected,
              "false_alarms": false_alarms, "precision": precision, "recall": recall, "f1": f1,
              "mean_delay_points": float(np.mean(delays)) if delays else None}
    if timestamps is not None and len(timestamps) > 1 and delays:
        step = float(np.median(np.diff(timestamps).astype("timedelta64[s]").astype(np.int64)))
        result["mean_delay_s"] = result["mean_delay_points"] * step
    return result


def clip_bounds(window_bounds: list[tuple[int, int]], begin: int, end: int) -> list[tuple[int, int]]:
    """Windows intersected with [begin, end), re-indexed from `begin`."""
    clipped = []
    for first, last in window_bounds:
        first, last = max(first, begin), min(last, end - 1)
        if first <= last:
            clipped.append((first - begin, last - begin))
    return clipped
