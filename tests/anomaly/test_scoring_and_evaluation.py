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


def test_precision_recall_f1_from_counts_match_scikit_learn():
    from sklearn import metrics

    rng = np.random.default_rng(0)
    for flag_rate in (0.0, 0.05, 0.3, 0.9):  # 0.0: no flag at all, precision's zero division
        labels, flags = rng.random(60) < 0.3, rng.random(60) < flag_rate
        tp, fp, fn = int((labels & flags).sum()), int((~labels & flags).sum()), int((labels & ~flags).sum())
        expected = metrics.precision_recall_fscore_support(labels, flags, average="binary", zero_division=0)[:3]
        np.testing.assert_allclose(evaluation.precision_recall_f1(tp, fp, fn), expected, rtol=1e-12)
    assert evaluation.precision_recall_f1(0, 0, 0) == (0.0, 0.0, 0.0)
    assert evaluation.precision_recall_f1(0, 3, 2) == (0.0, 0.0, 0.0)


def test_event_and_benchmark_f1_come_from_one_helper(monkeypatch):
    from anomaly import benchmark, data, nab, online

    helper, calls = evaluation.precision_recall_f1, []

    def spy(tp, fp, fn):
        calls.append((tp, fp, fn))
        return helper(tp, fp, fn)

    monkeypatch.setattr(evaluation, "precision_recall_f1", spy)
    flags = np.zeros(30, bool)
    flags[[2, 12]] = True
    assert evaluation.event_metrics(flags, [(10, 15), (18, 22)])["f1"] == helper(1, 1, 1)[2]
    assert calls == [(1, 1, 1)]

    calls.clear()
    series, scores = {}, {}
    for number, category in enumerate(["artificialWithAnomaly", "realTraffic"]):
        one = data.synthetic_series(number, days=3)
        one.name = f"{category}/file{number}.csv"
        series[one.name] = one
        scores[one.name] = np.random.default_rng(number).random(len(one))  # no model: scores made here
    result = benchmark.summarise("aeTest", online.DetectorSettings(), series, scores, dict.fromkeys(series, 0.0),
                                 None, nab.PROFILES, seed=0)
    for values in result["per_category"].values():
        for kind in ("point", "event"):
            one = values[kind]
            assert (one["precision"], one["recall"], one["f1"]) in [helper(*counts) for counts in calls]
    assert len(calls) == len(series) + 2 * len(result["per_category"])  # each file's events, then the totals


def test_one_saturating_score_for_numpy_and_tensors():
    import tensorflow as tf

    x = np.array([0.0, 0.3, 2.0, 7.5, 1e9])
    for dtype in (np.float32, np.float64):
        expected = x.astype(dtype) / (x.astype(dtype) + dtype(2.0))
        np.testing.assert_array_equal(scoring.anomaly_score(x.astype(dtype), dtype(2.0)), expected)
        served = scoring.anomaly_score(tf.constant(x, dtype), tf.constant(2.0, dtype)).numpy()
        np.testing.assert_array_equal(served, expected)  # the graphs compute exactly what NumPy does


def test_every_score_map_and_both_graphs_call_the_one_definition(monkeypatch):
    import tensorflow as tf

    from anomaly import models, online
    from anomaly.data import MinMaxScaling
    from anomaly.detector import WindowDetector
    from anomaly.online_export import OnlineExport

    definition, calls = scoring.anomaly_score, []

    def spy(x, scale):
        calls.append(type(x).__name__)
        return definition(x, scale)

    monkeypatch.setattr(scoring, "anomaly_score", spy)
    rng = np.random.default_rng(0)
    values = 10 + np.sin(np.arange(300) / 10) + rng.normal(0, 0.1, 300)

    settings = online.OnlineSettings(model="base", windows=(8,), estimate_every=50, time_features=(),
                                     neighbour_window=0, recurring_days=0)  # no timestamps
    detector = online.OnlineDetector(settings)
    errors = np.abs(rng.normal(0, 0.1, (1, len(values))))
    online.post_process(errors, values, settings)
    assert calls == ["ndarray"]
    detector.models[8] = models.build("base", input_dim=8)  # untrained: the graph, not the fit, is tested
    detector.scalings[8] = online.value_range(values[:, None])
    export = OnlineExport(detector, errors, values, threshold=0.5)
    export.serve(tf.constant(export.requests(values)["values"][-1:]))
    window = WindowDetector(models.build("base", input_dim=8), MinMaxScaling(values.min(), values.max()), 0.01)
    window.score(tf.constant(values[None, -8:], tf.float32))
    assert calls[1:] == ["EagerTensor", "EagerTensor"]
