import numpy as np
import pytest

from anomaly import evaluation, scoring
from core.errors import UserError


def test_point_error_is_the_mean_of_every_covering_window():
    # length 5, window 3: windows start at 0, 1, 2 with errors 1, 2, 3.
    errors = scoring.point_errors([1.0, 2.0, 3.0], np.array([0, 1, 2]), window=3, length=5)
    np.testing.assert_allclose(errors, [1.0, 1.5, 2.0, 2.5, 3.0])


def test_point_errors_refuse_uncovered_points():
    with pytest.raises(ValueError):
        scoring.point_errors([1.0], np.array([0]), window=2, length=5)


def test_thresholds():
    errors = np.arange(1.0, 101.0)
    assert scoring.fit_threshold(errors, "percentile", percentile=95) == pytest.approx(95.05)
    assert scoring.fit_threshold(errors, "max") == 100.0
    assert scoring.fit_threshold(errors, "mean_std", k=1) == pytest.approx(50.5 + errors.std())
    with pytest.raises(UserError, match="unknown threshold method"):
        scoring.fit_threshold(errors, "median")


def test_anomaly_score_is_half_at_the_threshold_and_within_0_1():
    scores = scoring.anomaly_score(np.array([0.0, 2.0, 1e9]), 2.0)
    np.testing.assert_allclose(scores, [0.0, 0.5, 1.0], atol=1e-8)


def test_event_metrics_count_detections_delays_and_false_alarm_runs():
    flags = np.zeros(30, bool)
    flags[[2, 3, 12, 25]] = True  # one 2-point false-alarm run, a detection 2 points into window 1, one FA
    result = evaluation.event_metrics(flags, [(10, 15), (18, 22)])
    assert (result["windows"], result["detected"], result["missed"], result["false_alarms"]) == (2, 1, 1, 2)
    assert result["mean_delay_points"] == 2
    assert result["precision"] == pytest.approx(1 / 3) and result["recall"] == pytest.approx(0.5)
    assert result["f1"] == pytest.approx(0.4)


def test_flags_spilling_past_a_window_belong_to_its_event():
    flags = np.zeros(60, bool)
    flags[14:18] = True   # a run that starts in window (10, 15) and spills two points past it
    flags[19] = True      # 4 points after the window: beyond a quarter of its width (6 // 4 = 1), a new event
    flags[40] = True      # far from every window
    result = evaluation.event_metrics(flags, [(10, 15)])
    assert result["detected"] == 1 and result["false_alarms"] == 2
    flags[19] = False
    flags[16:18] = False
    flags[16] = True      # the first point after the window, a run of its own: still the spill of that event
    assert evaluation.event_metrics(flags, [(10, 15)])["false_alarms"] == 1


def test_point_metrics_and_clipping():
    labels = np.array([0, 0, 1, 1, 0], bool)
    flags = np.array([0, 1, 1, 0, 0], bool)
    result = evaluation.point_metrics(labels, flags)
    assert result["confusion_matrix"] == [[2, 1], [1, 1]] and result["f1"] == pytest.approx(0.5)
    assert evaluation.clip_bounds([(2, 5), (8, 9)], 4, 9) == [(0, 1), (4, 4)]
