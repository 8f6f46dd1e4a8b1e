"""Reconstruction errors -> thresholds -> per-timestamp anomaly scores."""

import numpy as np

from core.errors import UserError

THRESHOLD_METHODS = ("percentile", "mean_std", "max")


def fit_threshold(errors, method: str = "percentile", *, percentile: float = 95.0, k: float = 3.0) -> float:
    """A threshold on reconstruction error from the training windows' errors.

    Args:
        errors: per-window reconstruction errors on the training part.
        method: "percentile" (the `percentile`-th, 95 by default as the seeds used), "mean_std"
            (mean + k * std) or "max" (the largest training error).
    """
    errors = np.asarray(errors, dtype=np.float64)
    if method == "percentile":
        return float(np.percentile(errors, percentile))
    if method == "mean_std":
        return float(errors.mean() + k * errors.std())
    if method == "max":
        return float(errors.max())
    raise UserError(f"unknown threshold method {method!r}; choose one of {', '.join(THRESHOLD_METHODS)}")


def point_errors(window_errors, starts, window: int, length: int) -> np.ndarray:
    """Per-timestamp error: the mean error of every window that covers the point.

    Point i is covered by the windows starting in [i - window + 1, i]; each contributes once, so the
    first and last points (covered by one window) and the middle ones (by `window`) are treated alike.
    (keras-io's timeseries example instead flags a point only from windows [i - window + 1, i] that are
    all anomalous and drops the range ends by one.) Computed as a difference array, O(length).
    """
    window_errors = np.asarray(window_errors, dtype=np.float64)
    starts = np.asarray(starts)
    total = np.zeros(length + 1)
    count = np.zeros(length + 1)
    np.add.at(total, starts, window_errors)
    np.add.at(total, starts + window, -window_errors)
    np.add.at(count, starts, 1)
    np.add.at(count, starts + window, -1)
    total, count = np.cumsum(total)[:length], np.cumsum(count)[:length]
    if (count == 0).any():
        raise ValueError("some points are covered by no window")
    return total / count


def anomaly_score(x, scale):
    """x / (x + scale): [0, inf) onto [0, 1), strictly increasing, exactly 0.5 at x = scale.

    The one definition of the package's score map: reconstruction error over its threshold
    (`anomaly/task.py`, the window detector's graph in `anomaly/detector.py`) and surprise over
    `score_scale` (`anomaly/online.py`, the online export's graph in `anomaly/online_export.py`). Plain
    arithmetic, so NumPy arrays and TensorFlow tensors (in a traced graph too) go through the same
    operations and the exports score exactly as NumPy does."""
    return x / (x + scale)
