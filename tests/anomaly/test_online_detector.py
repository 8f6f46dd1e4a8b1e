"""The online detector: causality, each component on a series made here, the export, the CLIs."""

import dataclasses
import json

import keras
import numpy as np
import pandas as pd
import pytest

from anomaly import data, nab, online, online_benchmark
from anomaly.online_export import OnlineExport

TINY = online.OnlineSettings(model="base", windows=(8, 16), epochs=2, refit_epochs=1, refit_every=300,
                             refit_span=400, estimate_every=50, neighbour_window=24, neighbour_history=500)
#: For tests that hand `post_process` error rows of their own (no neighbour distance row).
NO_NEIGHBOURS = dataclasses.replace(TINY, neighbour_window=0)


CONTEXT = max(*TINY.windows, TINY.neighbour_window) + max(TINY.short_windows) - 1  # the points one request holds


def stamps(length):
    """Every 5 minutes from 2026-01-01 (a Thursday), as `data.Series.timestamps`."""
    return pd.date_range("2026-01-01", periods=length, freq="5min").to_numpy()


def sine(length=1400, seed=0):
    rng = np.random.default_rng(seed)
    time = np.arange(length)
    return 50 + 20 * np.sin(2 * np.pi * time / 288) + rng.normal(0, 1.0, length)


def test_appending_or_changing_future_points_never_changes_earlier_scores():
    values = sine()
    changed = values.copy()
    changed[1000:] += 300.0
    # With a fixed first fit nothing depends on the file's length (NAB's 15% rule does).
    detector = online.OnlineDetector(dataclasses.replace(TINY, initial_points=200), seed=3)
    before = detector.score(values, stamps(1400))  # time features on: the timestamps are inputs too
    after = detector.score(changed, stamps(1400))
    shorter = detector.score(values[:1000], stamps(1000))
    np.testing.assert_allclose(before[:1000], after[:1000], atol=1e-6)
    np.testing.assert_allclose(before[:1000], shorter, atol=1e-6)
    assert after[1000] > 0.9 > before[1000]  # and the change itself is an alert
    assert before.shape == (1400,) and 0 <= before.min() and before.max() < 1


def test_spatial_rule_flags_values_beyond_the_running_range_by_the_tolerance():
    values = np.array([0.0, 10, 5, 10.4, 11.0, 3, -0.6, 12.0])[:, None]
    np.testing.assert_array_equal(online.spatial_anomalies(values, 0.05),
                                  [False, False, False, False, True, False, True, True])
    assert not online.spatial_anomalies(values, 0.2)[[3, 4, 6]].any()


def test_the_spatial_rule_waits_for_the_first_fits_range():
    values = np.concatenate([[0.0, 1.0, 5.0], np.ones(297)])[:, None]  # point 2: 4 ranges above the first two
    values[250] = 20.0                                                 # after the first fit: 3 ranges above
    settings = dataclasses.replace(NO_NEIGHBOURS, windows=(8,), likelihood=False, initial_points=100,
                                   suppress_fraction=0.0)
    assert online.spatial_anomalies(values, settings.spatial_tolerance)[[2, 250]].all()
    scores = online.post_process(np.zeros((1, 300)), values, settings, stamps(300))
    assert scores[2] == 0.0 and scores[250] > 0.99 and np.count_nonzero(scores) == 1


def test_an_alert_silences_its_rest_period_and_a_rising_ramp_raises_one_alert():
    kept = np.array([0, 5, 6, 7, 0, 0, 3, 8, 0, 9.0])  # what suppress_repeats lets through on a ramp
    np.testing.assert_array_equal(online.silence_after_alerts(kept, 3, 5.0), [0, 5, 0, 0, 0, 0, 3, 8, 0, 0])
    np.testing.assert_array_equal(online.silence_after_alerts(kept, 3, 100.0), kept)  # nothing reaches the level
    # In post_process: a ramp of new highs outside the suppression's reach scores once, or at every step
    # with the silence off.
    values = np.concatenate([np.zeros(300), np.linspace(0.0, 50.0, 50)])[:, None]
    ramp = np.zeros((1, 350))
    ramp[0, 300:] = np.linspace(5.0, 50.0, 50)  # every point above the level (4)
    settings = dataclasses.replace(NO_NEIGHBOURS, windows=(8,), likelihood=False, spatial_tolerance=0.0,
                                   initial_points=100, suppress_fraction=0.5)
    silenced = online.post_process(ramp, values, settings, stamps(350))
    assert (silenced[300:] > 0).sum() == 1 and silenced[300] > 0
    assert ((online.post_process(ramp, values, dataclasses.replace(settings, alert_surprise=0.0),
                                 stamps(350))[300:] > 0).sum() == 50)


def test_likelihood_is_high_for_a_level_shift_and_fades_as_it_becomes_normal():
    errors = np.concatenate([np.full(20, np.nan), np.random.default_rng(0).normal(1.0, 0.1, 500), np.full(300, 3.0)])
    settings = dataclasses.replace(TINY, short_windows=(5,), long_window=200, empirical_tail=False, min_std=0.0)
    surprise = online.anomaly_likelihood(errors, settings)
    assert (surprise[:70] == 0).all()  # no fit before `estimate_every` errors
    assert surprise[100:520].max() < 6
    assert surprise[522:526].max() > 50 and surprise[-1] < 1  # the new level is normal once it fills the fit


def test_likelihood_uses_only_fits_made_before_each_point():
    errors = np.random.default_rng(1).normal(1.0, 0.1, 400)
    settings = dataclasses.replace(TINY, short_windows=(3,), long_window=200)
    changed = errors.copy()
    changed[250:] = 50.0
    np.testing.assert_array_equal(online.anomaly_likelihood(errors, settings)[:250],
                                  online.anomaly_likelihood(changed, settings)[:250])


def test_a_longer_short_window_catches_a_sustained_rise_that_no_single_error_shows():
    errors = np.random.default_rng(2).normal(1.0, 0.1, 600)
    errors[500:520] += 0.2  # each error 2 sigma higher: common one at a time, not twenty in a row
    settings = dataclasses.replace(TINY, long_window=400, empirical_tail=False, min_std=0.0)
    spikes_only = online.anomaly_likelihood(errors, dataclasses.replace(settings, short_windows=(1,)))
    sustained = online.anomaly_likelihood(errors, dataclasses.replace(settings, short_windows=(1, 10)))
    ten = online.short_likelihood(errors, settings, 10)
    assert spikes_only[500:520].mean() < 3 and ten[510:520].min() > 6 and sustained[510:520].mean() > 4
    assert ten[:500].max() < 4  # the 10-point mean of ordinary errors is no more surprising than one error
    np.testing.assert_allclose(sustained, (spikes_only + ten) / 2)


def test_empirical_tail_caps_errors_that_recur():
    errors = np.full(2000, 0.01)
    errors[::100] = 1.0  # a large error every 100 points: the model cannot time it, but it recurs
    errors += np.random.default_rng(0).normal(0, 1e-3, 2000)
    plain = online.anomaly_likelihood(errors, dataclasses.replace(TINY, short_windows=(1,), empirical_tail=False))
    capped = online.anomaly_likelihood(errors, dataclasses.replace(TINY, short_windows=(1,), empirical_tail=True))
    assert plain[1500::100].min() > 20 and capped[1500::100].max() < 3


def test_online_learning_adapts_to_a_new_regime_and_scaling_follows_the_data():
    values = sine(1600)
    values[800:] = values[800:] * 3 + 200  # a lasting change of level and amplitude
    detector = online.OnlineDetector(TINY, seed=0)
    learning = detector.errors(values, stamps(1600))
    frozen = online.OnlineDetector(dataclasses.replace(TINY, refit_every=0), seed=0).errors(values, stamps(1600))
    late = slice(1300, 1600)
    assert np.nanmean(learning[:-1, late]) < 0.5 * np.nanmean(frozen[:-1, late])  # the autoencoders' rows
    minimum, maximum = detector.scalings[8]
    assert maximum[0] > 300 and minimum[0] < 40  # re-fit on everything seen, not the probation's range


def test_time_features_make_a_missing_daily_peak_surprising():
    # High from 08:00 to 16:00 every day but the seventh: values alone cannot tell that day's 08:00 from
    # any night, the phase of the day can.
    length, day = 288 * 8, 288
    hour = (np.arange(length) % day) / 12
    values = np.where((hour >= 8) & (hour < 16), 10.0, 0.0) + np.random.default_rng(0).normal(0, 0.2, length)
    onset = 6 * day + 96
    values[onset:onset + 96] = np.random.default_rng(1).normal(0, 0.2, 96)
    settings = dataclasses.replace(TINY, windows=(8,), epochs=20, refit_epochs=3, refit_every=day, refit_span=4 * day)
    timed = online.OnlineDetector(dataclasses.replace(settings, time_features=("day",)), seed=0).errors(
        values, stamps(length))[0]
    blind = online.OnlineDetector(dataclasses.replace(settings, time_features=()), seed=0).errors(values)[0]
    assert timed[onset] > 20 * blind[onset] and timed[onset] > 3 * np.nanmedian(timed)
    # 2026-01-01 06:00: a quarter of the day; 6 hours into the week (weeks count from Thursday 1970-01-01).
    week = 2 * np.pi * 6 / (7 * 24)
    np.testing.assert_allclose(online.time_columns(stamps(1) + np.timedelta64(6, "h"), ("day", "week")),
                               [[1.0, 0.5, (1 + np.sin(week)) / 2, (1 + np.cos(week)) / 2]], atol=1e-6)
    with pytest.raises(ValueError, match="need the points' timestamps"):
        online.OnlineDetector(settings).errors(values)


def test_persistence_ablation_replaces_the_autoencoder():
    values = sine(600)
    errors = online.OnlineDetector(dataclasses.replace(TINY, autoencoder=False)).errors(values)
    assert errors.shape == (2, 600) and np.isnan(errors[0, 0])  # persistence, then the neighbour distance
    assert errors[0, 5] == pytest.approx(abs(values[5] - values[4]) / (values[:90].max() - values[:90].min()))


def test_neighbour_distances_match_a_brute_force_search_over_earlier_windows():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(300, 2))
    window, history = 5, 40
    minimum, maximum = values[:50].min(axis=0), values[:50].max(axis=0)
    got = online.neighbour_distances(values, window, history, minimum, maximum, block=64)
    scaled = (values - minimum) / (maximum - minimum)
    for point in (0, 2 * window - 2, 2 * window - 1, 57, 120, 299):
        ends = [end for end in range(window - 1, point - window + 1) if end > point - window - history]
        if not ends:
            assert np.isnan(got[point])
            continue
        query = scaled[point - window + 1:point + 1]
        expected = min(np.sqrt(np.mean((scaled[end - window + 1:end + 1] - query) ** 2)) for end in ends)
        assert got[point] == pytest.approx(expected, rel=1e-5), point


def test_a_flat_line_is_far_from_every_earlier_window_and_the_neighbour_surprise_flags_it():
    values = sine(1400)
    values[1100:1160] = 50.0  # the signal stops: each value is easy to forecast from the one before it
    settings = dataclasses.replace(TINY, windows=(8,), neighbour_window=32, spatial_tolerance=0.0, long_window=500)
    errors = online.OnlineDetector(settings, seed=0).errors(values, stamps(1400))
    distance = errors[-1]
    assert np.nanmax(distance[1130:1160]) > 2.5 * np.nanmedian(distance[300:1100])
    with_neighbours = online.post_process(errors, values, settings, stamps(1400))
    without = online.post_process(errors[:-1], values, dataclasses.replace(settings, neighbour_window=0), stamps(1400))
    assert with_neighbours[1100:1160].max() > 0.3 and without[1100:1160].max() < 0.05


@pytest.mark.parametrize("length, columns", [(900, 1), (700, 2), (150, 1)])  # 150: fewer windows than the history
def test_the_exports_neighbour_distances_are_the_detectors_for_the_next_point(length, columns):
    import tensorflow as tf

    rng = np.random.default_rng(length)
    values = np.cumsum(rng.normal(size=(length, columns)), axis=0)  # a random walk: no repeating pattern
    settings = dataclasses.replace(TINY, windows=(8,), time_features=(), neighbour_window=24, neighbour_history=300,
                                   recurring_days=0)  # no timestamps
    detector = online.OnlineDetector(settings, seed=0)
    errors = detector.errors(values)
    seen = length - 1  # the export knows points 0..seen-1; the request ends at point `seen`, the next one
    export = OnlineExport(detector, errors[:, :seen], values[:seen], threshold=0.5)
    request = values[None, seen + 1 - export.context:seen + 1]
    shorts = max(settings.short_windows)
    served = export._neighbour_distances(tf.constant(request, tf.float32)).numpy()[0]
    np.testing.assert_allclose(served, errors[-1, seen + 1 - shorts:seen + 1], rtol=1e-4)


def test_the_shortest_series_exports_a_finite_score_before_the_neighbour_likelihood_has_a_fit():
    # With a 16-point autoencoder the CLI accepts 238 points; the 64-point neighbour distance starts at point
    # 127, so at 240 its likelihood has no fit yet: its surprise is 0 in the detector and must be in the export.
    settings = online.OnlineSettings(windows=(16,), epochs=2, refit_epochs=1)
    values = sine(240)
    detector = online.OnlineDetector(settings, seed=0)
    errors = detector.errors(values, stamps(240))
    assert np.isnan(detector.state(errors, values, timestamps=stamps(240))["likelihood"][-1][0][0])
    export = OnlineExport(detector, errors, values, threshold=0.5, timestamps=stamps(240))
    requests = export.requests(values, stamps(240))
    answer = export.predict(requests["values"][-1:], requests["timestamps"][-1:])
    assert np.isfinite(answer["anomaly_score"]).all() and np.isfinite(answer["surprise"]).all()


@pytest.mark.parametrize("neighbour_empirical_tail, ensemble_size", [(False, 1), (True, 1), (False, 2)])
def test_export_reproduces_the_detectors_last_score_and_answers_non_finite_values(neighbour_empirical_tail,
                                                                                  ensemble_size):
    values = sine(1200)
    settings = dataclasses.replace(TINY, suppress_fraction=0.0, neighbour_empirical_tail=neighbour_empirical_tail,
                                   ensemble_size=ensemble_size)
    detector = online.OnlineDetector(settings, seed=0)
    errors = detector.errors(values, stamps(1200))
    scores = detector.post_process(errors, values, timestamps=stamps(1200))
    last = len(values) - 1
    export = OnlineExport(detector, errors[:, :last + 1], values[:last + 1], threshold=0.5, timestamps=stamps(1200))
    assert export.neighbour_capped == neighbour_empirical_tail  # the neighbour row's cap follows the setting
    state = detector.state(errors, values, at=last, timestamps=stamps(1200))  # in force when the last point arrived
    export.likelihood, export.history, export.same_time = state["likelihood"], state["history"], state["same_time"]
    export.low, export.high = state["low"], state["high"]
    export.neighbours = state["neighbours"]
    requests = export.requests(values, stamps(1200))
    assert set(requests) == {"values", "timestamps"} and requests["timestamps"].dtype == np.int64
    answer = export.predict(requests["values"][-1:], requests["timestamps"][-1:])
    assert float(answer["anomaly_score"][0]) == pytest.approx(scores[last], abs=1e-5)
    bad = np.repeat(requests["values"][-1:], 3, axis=0).astype(np.float32)
    bad[0, -1], bad[1, 0] = np.inf, np.nan
    answer = export.predict(bad, np.repeat(requests["timestamps"][-1:], 3, axis=0))
    np.testing.assert_array_equal(answer["anomaly_score"][:2], [1.0, 1.0])
    assert answer["is_anomaly"][:2].all() and np.isfinite(answer["anomaly_score"]).all()


def daily_errors(days=6, seed=0):
    """A quiet error row of 5-minute points and, at 08:20 every day, an error 10% larger than the day before:
    what a daily edge the model cannot time looks like."""
    rng = np.random.default_rng(seed)
    row = np.abs(rng.normal(0.05, 0.01, days * 288))
    edges = 100 + 288 * np.arange(days)
    row[edges] = 0.5 * 1.1 ** np.arange(days)
    return row, edges


def test_a_new_largest_error_that_recurs_at_the_same_time_each_day_is_capped_by_its_rank():
    row, edges = daily_errors()
    row[edges[3] + 144] = 1.0     # day 3, twelve hours after its edge: the largest error yet, at a new time
    row[edges[5]] = 2 * row[edges[4]]  # day 5's edge doubles: beyond the margin (0.3)
    settings = dataclasses.replace(TINY, short_windows=(1,), recurring_days=2, recurring_margin=0.3,
                                   recurring_points=3)
    day = online.points_per_day(stamps(len(row)), settings, len(row))
    assert day == 288
    rule = online.short_likelihood(row, settings, 1, day)
    off = online.short_likelihood(row, dataclasses.replace(settings, recurring_days=0), 1, 0)
    # Days 1-3: each edge is the largest error so far, yet within 30% of the day before's: its rank caps it
    # (rank 1 among the points before it: -log10(1 / (points + 1)) at most). (Day 4's is below day 3's 1.0.)
    for edge in edges[1:4]:
        assert off[edge] > 3.0 and rule[edge] <= np.log10(edge + 2) and rule[edge] < off[edge] - 1.0
    # A new largest error at another time of day, and a recurring one far beyond the margin, stay new.
    for new in (edges[3] + 144, edges[5]):
        assert rule[new] == pytest.approx(off[new]) and off[new] > 3.0
    # Outside the records nothing changes.
    others = np.setdiff1d(np.arange(len(row)), np.append(edges, edges[3] + 144))
    np.testing.assert_array_equal(rule[others], off[others])


def test_the_day_in_points_comes_from_the_first_fits_time_step():
    settings = dataclasses.replace(TINY, initial_points=200)
    assert online.points_per_day(stamps(1000), settings, 1000) == 288
    hourly = pd.date_range("2026-01-01", periods=1000, freq="h").to_numpy()
    assert online.points_per_day(hourly, settings, 1000) == 24
    # Later steps do not count (the first fit's do), and a day of recurring_points points or fewer is off.
    mixed = np.concatenate([hourly[:200], hourly[199] + np.arange(1, 801) * np.timedelta64(5, "m")])
    assert online.points_per_day(mixed, settings, 1000) == 24
    daily = pd.date_range("2026-01-01", periods=1000, freq="D").to_numpy()
    assert online.points_per_day(daily, settings, 1000) == 0
    assert online.points_per_day(None, dataclasses.replace(settings, recurring_days=0), 1000) == 0
    with pytest.raises(ValueError, match="needs the points' timestamps"):
        online.points_per_day(None, settings, 1000)


def test_the_recurring_errors_of_a_point_come_from_earlier_days_only():
    row, edges = daily_errors()
    largest = online.recurring_errors(row, 288, dataclasses.replace(TINY, recurring_days=2, recurring_points=3))
    assert largest[edges[2]] == pytest.approx(row[edges[1]]) and largest[edges[2] + 3] == pytest.approx(row[edges[1]])
    assert largest[edges[2] + 4] < 0.2 and np.isneginf(largest[:288 - 3]).all()
    # Changing a point changes no earlier point's value (a day is longer than the spread).
    changed = row.copy()
    changed[1000:] = 5.0
    np.testing.assert_array_equal(online.recurring_errors(changed, 288, TINY)[:1001],
                                  online.recurring_errors(row, 288, TINY)[:1001])


def test_the_exports_surprise_applies_the_recurring_error_rule():
    import tensorflow as tf

    row, edges = daily_errors(days=5)
    row = row[:edges[-1] + 1]  # the newest point is day 4's edge: a record within the margin of day 3's
    settings = dataclasses.replace(NO_NEIGHBOURS, short_windows=(1,))
    _, mean, std = online.likelihood_fit(row, settings, 1)
    last = len(row) - 1
    # What the state stores for the point `last` (the next one), and what the export looks up in it.
    detector = online.OnlineDetector(settings)
    state = detector.state(row[None], row, at=last, timestamps=stamps(len(row)))["same_time"]
    assert state["day"] == 288 and state["step"] == 300.0 and len(state["errors"][0][0]) == 2 * 288 + 3
    export = OnlineExport.__new__(OnlineExport)  # these methods need only the settings and the state
    export.settings, export.same_time = settings, state
    full = online.recurring_errors(row, 288, settings)
    for steps_after_next in (0, 5, 300, -40):  # a later (or earlier) request: its own time of day
        point = last + steps_after_next
        looked_up = export._same_time_errors(state["errors"][0], tf.constant([steps_after_next], tf.int64))[0]
        stored = range(last - (2 * 288 + 3), last)  # the points the export keeps
        expected = max([row[index] for days in (1, 2) for index in range(point - days * 288 - 3, point - days * 288 + 4)
                        if index in stored], default=-np.inf)
        assert float(looked_up[0]) == pytest.approx(expected)
        if steps_after_next == 0:
            assert expected == pytest.approx(full[last]) == pytest.approx(row[edges[-2]])
    # A request's timestamp says how far after the next point it comes.
    offsets = export._steps_after_next(tf.constant(data.epoch_seconds(stamps(last + 10)[None, [-10, -1]])))
    assert offsets.numpy().tolist() == [9]

    def served(recurring):
        return export._surprise(tf.constant(row[None, -1:], tf.float64), [(float(mean[last]), float(std[last]))],
                                [row[:last]], True, [tf.constant([recurring], tf.float64)]).numpy()[0]

    expected = online.short_likelihood(row, settings, 1, 288)[-1]
    assert served(full[last]) == pytest.approx(expected, rel=1e-6)
    without = online.short_likelihood(row, settings, 1, 0)[-1]
    assert served(-np.inf) == pytest.approx(without, rel=1e-6) and without > expected + 1.0


def test_a_served_request_is_capped_by_the_stored_error_at_its_own_time_of_day():
    settings = dataclasses.replace(NO_NEIGHBOURS, windows=(8,), short_windows=(1,), spatial_tolerance=0.0)
    values, times = sine(1200), stamps(1200)
    detector = online.OnlineDetector(settings, seed=0)
    errors = detector.errors(values, times)
    export = OnlineExport(detector, errors, values, threshold=0.5, timestamps=times)
    span, day = len(export.same_time["errors"][0][0]), export.same_time["day"]
    table = np.full(span, np.nan)
    table[span - day] = 1e3  # one day before the next point, at its time of day: an error every spike is below
    export.same_time["errors"] = [[table]]
    request = values[-export.context:].copy()
    request[-1] += 500.0  # a spike: the largest error yet

    def surprise(steps_after_next):  # the request's timestamps say where it comes
        seconds = data.epoch_seconds(times[-export.context:]) + 300 * (steps_after_next + 1)
        return float(export.predict(request[None].astype(np.float32), seconds[None])["surprise"][0])

    capped = [surprise(steps) for steps in (0, 3, -3)]   # the stored error lies within +-3 points of its time
    new = [surprise(steps) for steps in (4, -4, 400)]    # not at its time of day (400: nothing stored)
    assert max(capped) < np.log10(1200 + 2) + 1e-6 < 4.0 < min(new)


def test_daily_points_leave_the_recurring_rule_off_in_the_detector_and_the_export():
    values = sine(400)
    daily = pd.date_range("2026-01-01", periods=400, freq="D").to_numpy()
    settings = dataclasses.replace(TINY, windows=(8,))
    detector = online.OnlineDetector(settings, seed=0)
    errors = detector.errors(values, daily)
    off = detector.post_process(errors, values, dataclasses.replace(settings, recurring_days=0), daily)
    np.testing.assert_array_equal(detector.post_process(errors, values, timestamps=daily), off)
    export = OnlineExport(detector, errors, values, threshold=0.5, timestamps=daily)
    assert export.same_time["day"] == 0
    requests = export.requests(values, daily)
    assert np.isfinite(export.predict(requests["values"][-1:], requests["timestamps"][-1:])["anomaly_score"]).all()


def test_the_tail_cap_holds_the_autoencoders_recurring_errors_but_not_the_neighbour_distances_new_shapes():
    rng = np.random.default_rng(0)
    row = np.abs(rng.normal(0.05, 0.01, 1200))
    row[[600, 1000]] = [1.0, 0.6]  # the second is large, but not the largest: its rank caps it
    capped = online.anomaly_likelihood(row, TINY)
    uncapped = online.anomaly_likelihood(row, online.neighbour_likelihood_settings(TINY))
    assert TINY.empirical_tail and not TINY.neighbour_empirical_tail
    assert uncapped[1000] > capped[1000] + 1.0 and uncapped[600] == pytest.approx(capped[600])
    # In post_process the neighbour distance (the last row) is the uncapped one unless told otherwise.
    errors = np.stack([np.full(1200, 0.05), np.full(1200, 0.05), row])  # two quiet scales, the distance
    scores = {cap: online.post_process(errors, sine(1200), dataclasses.replace(TINY, neighbour_empirical_tail=cap),
                                       stamps(1200)) for cap in (False, True)}
    assert scores[False][1000] > scores[True][1000] and scores[False][600] == pytest.approx(scores[True][600])


@pytest.mark.parametrize("capped", [True, False])
def test_the_exports_surprise_applies_the_tail_cap_exactly_when_told(capped):
    import tensorflow as tf

    settings = dataclasses.replace(TINY, short_windows=(1,))
    rng = np.random.default_rng(0)
    row = np.abs(rng.normal(0.05, 0.01, 1200))
    row[[600, 1199]] = [1.0, 0.6]  # the newest is large but not the largest: the cap binds
    _, mean, std = online.likelihood_fit(row, settings, 1)
    export = OnlineExport.__new__(OnlineExport)  # `_surprise` needs only the settings
    export.settings = settings
    served = export._surprise(tf.constant(row[None, -1:], tf.float64), [(float(mean[1199]), float(std[1199]))],
                              [row[:1199]], capped).numpy()
    expected = online.anomaly_likelihood(row, dataclasses.replace(settings, empirical_tail=capped))[-1]
    other = online.anomaly_likelihood(row, dataclasses.replace(settings, empirical_tail=not capped))[-1]
    assert served[0] == pytest.approx(expected, rel=1e-6) and abs(expected - other) > 1.0


def test_the_exports_tail_probability_matches_scipys():
    import tensorflow as tf
    from scipy import special

    z = np.array([-3.0, 0.0, 1.5, 8.0, 24.9, 25.0, 25.1, 45.0, 300.0])
    served = OnlineExport._tail_surprise(tf.constant(z, tf.float64)).numpy()
    np.testing.assert_allclose(served, -special.log_ndtr(-z) / np.log(10.0), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(served, online.tail_surprise(z), rtol=1e-6, atol=1e-9)


def test_an_ensemble_forecasts_the_mean_of_its_differently_initialised_members():
    values = sine(900)
    settings = dataclasses.replace(TINY, windows=(8,), neighbour_window=0, ensemble_size=2)
    detector = online.OnlineDetector(settings, seed=0)
    keras.utils.set_random_seed(0)  # as errors() does before it builds the members: their initial weights differ
    initial = [detector._build(8, 5, member).layers[1].get_weights()[0] for member in range(2)]
    assert not np.allclose(*initial)
    errors = detector.errors(values, stamps(900))[0]
    ensemble = detector.models[8]
    members = [layer for layer in ensemble.layers if isinstance(layer, keras.Model)]
    assert len(members) == 2 and members[0].name != members[1].name
    # each member trained alone (its own optimizer stepped); the mean is never trained as one model
    assert getattr(ensemble, "optimizer", None) is None
    assert all(int(member.optimizer.iterations) > 0 for member in members)
    minimum, maximum = detector.scalings[8]
    windows = online.windows_of(online.scaled_inputs(online.as_matrix(values), online.time_columns(
        stamps(900), settings.time_features), minimum, maximum), 8)[-50:]
    inputs = detector._masked(windows)
    outputs = [keras.ops.convert_to_numpy(model(inputs)) for model in (ensemble, *members)]
    np.testing.assert_allclose(outputs[0], (outputs[1] + outputs[2]) / 2, atol=1e-6)
    forecast = outputs[0].reshape(windows.shape)[:, -1, 0]  # the newest step's value: the error is its forecast's
    np.testing.assert_allclose(errors[-50:], np.abs(forecast - windows[:, -1, 0]), atol=1e-6)
    single = online.OnlineDetector(dataclasses.replace(settings, ensemble_size=1), seed=0).errors(values, stamps(900))
    assert not np.allclose(errors[-50:], single[0][-50:])


def test_several_training_steps_per_call_change_no_error(monkeypatch):
    values = sine(700)
    settings = dataclasses.replace(TINY, windows=(8,), neighbour_window=0)
    grouped = online.OnlineDetector(settings, seed=1).errors(values, stamps(700))
    monkeypatch.setattr(online, "STEPS_PER_EXECUTION", 1)
    np.testing.assert_array_equal(grouped, online.OnlineDetector(settings, seed=1).errors(values, stamps(700)))


def test_an_ensemble_needs_at_least_one_member():
    with pytest.raises(ValueError, match="ensemble_size"):
        online.OnlineDetector(dataclasses.replace(TINY, ensemble_size=0))


@pytest.mark.parametrize("name", sorted(online.ONLINE_DETECTORS))
def test_each_alert_threshold_is_its_committed_benchmarks_corpus_threshold(name):
    from pathlib import Path

    summary = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / f"anomaly_nab_{name}.json"
    measured = json.loads(summary.read_text())["standard_threshold"]
    assert online.ALERT_THRESHOLDS[name] == pytest.approx(measured, abs=5e-5)


@pytest.mark.parametrize("name", sorted(online.ONLINE_DETECTORS))
def test_each_presets_settings_are_its_committed_benchmarks(name):
    """A preset changed without re-running its benchmark would quote figures of another detector. (Settings
    added since a summary was written are not in it: aeOnlineMultiscale's predates `neighbour_empirical_tail`
    and was measured with the cap on, which its preset keeps; summaries before the recurring-error rule were
    measured without it, and their presets keep it off.)"""
    from pathlib import Path

    summary = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / f"anomaly_nab_{name}.json"
    measured = json.loads(summary.read_text())["settings"]
    preset = dataclasses.asdict(online.ONLINE_DETECTORS[name])
    assert {key: preset[key] for key in measured if key in preset} == \
        {key: tuple(value) if isinstance(value, list) else value for key, value in measured.items() if key in preset}
    if "neighbour_empirical_tail" not in measured:
        assert preset["neighbour_empirical_tail"]  # the rule before the setting existed
    if "recurring_days" not in measured:
        assert preset["recurring_days"] == 0  # measured before the recurring-error rule: kept off


def test_the_default_detector_is_the_cheapest_within_the_seed_spread_of_the_best():
    from pathlib import Path

    from anomaly import presets
    from anomaly.config import AnomalyConfig

    results = Path(__file__).resolve().parents[2] / "benchmarks" / "results"
    spreads = {name: json.loads((results / f"anomaly_seed_spread_{name}.json").read_text())["spread"]["standard"]
               for name in online.ONLINE_DETECTORS}
    best = max(spreads, key=lambda name: spreads[name]["mean"])
    contenders = [name for name in spreads if spreads[name]["mean"] >= spreads[best]["mean"] - spreads[best]["std"]]
    settings = online.ONLINE_DETECTORS
    cheapest = min(contenders, key=lambda name: len(settings[name].windows) * settings[name].ensemble_size)
    assert AnomalyConfig().detector == presets.DEFAULT_DETECTOR == cheapest


def _write_csv(path, values, columns=("value",)):
    matrix = online.as_matrix(values)
    frame = pd.DataFrame({"timestamp": pd.date_range("2026-01-01", periods=len(matrix), freq="5min")})
    for index, column in enumerate(columns):
        frame[column] = matrix[:, index]
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def tiny_preset(monkeypatch):
    from anomaly import presets

    monkeypatch.setitem(presets.ONLINE_DETECTORS, "aeTiny", TINY)
    monkeypatch.setitem(presets.ALERT_THRESHOLDS, "aeTiny", presets.ALERT_THRESHOLDS["aeOnline"])
    return "aeTiny"


def test_train_then_score_a_new_csv_multivariate_round_trip(tmp_path, tiny_preset, capsys):
    from tests.conftest import run_script

    rng = np.random.default_rng(0)
    both = np.stack([sine(1200), 0.5 * sine(1200, seed=1) + rng.normal(0, 0.1, 1200)], axis=1)
    train_csv = _write_csv(tmp_path / "train.csv", both, ("a", "b"))
    code, _, err = run_script("train_anomaly", ["--csv", str(train_csv), "--value-column", "a,b", "--detector",
                                                tiny_preset, "--output-dir", str(tmp_path / "models"),
                                                "--reports-dir", str(tmp_path / "reports"), "--name", "multi"], capsys)
    assert code == 0, err
    version = tmp_path / "models" / "multi" / "1"
    serving = json.loads((version / "serving.json").read_text())
    assert serving["columns"] == ["a", "b"] and serving["shape"] == [None, CONTEXT, 2]
    assert serving["time_features"] == ["day", "week"]  # the CSV's timestamps are inputs too
    report = json.loads(next((tmp_path / "reports").glob("multi/*/*/report.json")).read_text())
    assert report["metrics"]["held_out"]["points"]["confusion_matrix"] and report["columns"] == ["a", "b"]
    new = both[:400].copy()
    new[300, 1] = 500.0  # far outside anything seen in column b
    new_csv = _write_csv(tmp_path / "new.csv", new, ("a", "b"))
    out = tmp_path / "scores.csv"
    code, _, err = run_script("detect_anomalies", ["--model-dir", str(tmp_path / "models" / "multi"), "--csv",
                                                   str(new_csv), "--output", str(out), "--plot",
                                                   str(tmp_path / "scores.png")], capsys)
    assert code == 0, err
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["timestamp", "a", "b", "anomaly_score", "is_anomaly"] and len(frame) == 400
    assert frame["anomaly_score"][:CONTEXT - 1].isna().all()
    assert frame["anomaly_score"][CONTEXT - 1:].between(0, 1).all()
    assert bool(frame["is_anomaly"][300]) and frame["anomaly_score"][300] > 0.99
    assert (tmp_path / "scores.png").stat().st_size > 0

    # Bad input for the scoring script: one line naming the problem, exit 2, nothing written.
    wrong = _write_csv(tmp_path / "wrong.csv", both[:400], ("a", "c"))
    short = _write_csv(tmp_path / "short.csv", both[:10], ("a", "b"))
    for csv, expected in ((wrong, "no 'b' column"), (short, f"needs at least {CONTEXT} rows")):
        target = tmp_path / f"out_{csv.stem}.csv"
        code, _, err = run_script("detect_anomalies", ["--model-dir", str(tmp_path / "models" / "multi"), "--csv",
                                                       str(csv), "--output", str(target)], capsys)
        assert code == 2 and expected in err and len(err.strip().splitlines()) == 1, err
        assert not target.exists()


@pytest.mark.parametrize("arguments, message", [
    (["--value-column", "value,nope"], "no 'nope' column"),
    (["--value-column", "value,value"], "distinct column names"),
    (["--detector", "aeNope"], "--detector 'aeNope'"),
    (["--alert-threshold", "1.5"], "--alert-threshold"),
])
def test_bad_input_gets_one_line_and_exit_2(tmp_path, capsys, arguments, message):
    from tests.conftest import run_script

    csv = _write_csv(tmp_path / "s.csv", sine(600))
    code, _, err = run_script("train_anomaly", ["--csv", str(csv), "--output-dir", str(tmp_path / "m"),
                                                "--reports-dir", str(tmp_path / "r"), *arguments], capsys)
    error = err.strip().splitlines()
    assert code == 2 and len(error) == 1 and message in error[0], err
    assert not (tmp_path / "m").exists() and not (tmp_path / "r").exists()


def test_online_benchmark_ablation_and_split_protocol(tmp_path):
    series = {}
    for number, category in enumerate(["artificialWithAnomaly", "realTraffic"]):  # one file per split half
        one = data.synthetic_series(number, days=3)
        one.name = f"{category}/file{number}.csv"
        series[one.name] = one
    settings = dataclasses.replace(TINY, windows=(8,), ensemble_size=2)
    result = online_benchmark.run("aeTiny", settings, series, tmp_path / "out", nab.PROFILES, seed=0)
    removed = [row["removed"] for row in result["ablation"]]
    # The first row is the full detector: the same score as the whole-corpus result.
    assert result["ablation"][0]["standard"] == pytest.approx(result["nab"]["standard"]["score"])
    assert removed[0].startswith("nothing") and any("persistence" in row for row in removed)
    assert any("online learning" in row for row in removed) and any("spatial" in row for row in removed)
    assert any(row.startswith("time features") for row in removed)
    assert any(row.startswith("nearest-neighbour distance") for row in removed)  # the second model family
    assert any(row.startswith("neighbour distance left uncapped") for row in removed)  # its cap's worth
    assert any(row.startswith("autoencoder and neighbour distance (persistence") for row in removed)
    (single,) = [row for row in result["ablation"] if row["removed"].startswith("ensemble (one autoencoder")]
    assert single["settings"] == {"ensemble_size": 1}
    assert len(result["split_protocol"]["results"]) == 2
    assert (tmp_path / "out" / "aeTiny" / "realTraffic" / "aeTiny_file1.csv").is_file()
    from anomaly.benchmark import write_summary

    _, markdown = write_summary(result, {}, tmp_path / "summary", [], corpus_complete=False, wall_time_s=1.0)
    text = markdown.read_text()
    assert "## Ablation" in text and "## Split-half protocol" in text and "`spatial_tolerance`" in text


def test_an_online_detector_without_a_measured_threshold_needs_alert_threshold(monkeypatch):
    from anomaly import presets
    from anomaly.config import AnomalyConfig
    from core.errors import UserError

    monkeypatch.setitem(presets.ONLINE_DETECTORS, "aeMine", TINY)  # registered by a user, never benchmarked
    with pytest.raises(UserError, match="--alert-threshold"):
        AnomalyConfig(detector="aeMine").validate()
    AnomalyConfig(detector="aeMine", alert_threshold=0.4).validate()


def test_the_statistics_ablation_rows_run_on_several_window_scales():
    # Rows that re-use the errors must hand post_process as many rows as their settings make (2 scales +
    # the neighbour distance here); random errors suffice, no model is trained.
    one = data.synthetic_series(0, days=3)
    one.name = "artificialWithAnomaly/file0.csv"
    rng = np.random.default_rng(0)
    errors = {one.name: rng.gamma(2.0, 0.05, size=(len(TINY.windows) + 1, len(one)))}
    rows = online_benchmark.ablation(TINY, {one.name: one}, errors, nab.PROFILES, seed=0, recompute=False)
    removed = [row["removed"] for row in rows]
    assert "window 8 (scales 16 only)" in removed and "window 16 (scales 8 only)" in removed
    assert any(row.startswith("autoencoder, neighbour distance and likelihood") for row in removed)


def test_seed_spread_scores_the_corpus_once_per_seed(tmp_path):
    one = data.synthetic_series(0, days=4)
    one.name = "artificialWithAnomaly/file0.csv"
    series = {one.name: one}
    settings = dataclasses.replace(TINY, windows=(8,))
    spread, markdown = online_benchmark.write_seed_spread("aeTiny", settings, series, nab.PROFILES, [0, 1], tmp_path)
    standard = [row["standard"] for row in spread["seeds"]]
    labelled = online_benchmark.labelled_files(series)
    errors, _ = online_benchmark.corpus_errors(settings, series, 1)
    assert standard[1] == pytest.approx(online_benchmark.nab_scores(settings, series, errors, labelled,
                                                                    nab.PROFILES)["standard"])
    assert spread["spread"]["standard"]["mean"] == pytest.approx(np.mean(standard))
    assert spread["spread"]["standard"]["std"] == pytest.approx(np.std(standard, ddof=1))
    written = json.loads((tmp_path / "anomaly_seed_spread_aeTiny.json").read_text())
    assert [row["seed"] for row in written["seeds"]] == [0, 1] and written["settings"]["windows"] == [8]
    assert f"| 1 | {standard[1]:.1f} |" in markdown.read_text()
    # Each seed's statistics rows re-use its errors: seed 1's spatial-rule row is the score without it.
    without_spatial = dataclasses.replace(settings, spatial_tolerance=0.0)
    row = spread["ablation"]["spatial rule"]
    assert row["standard"][1] == pytest.approx(online_benchmark.nab_scores(without_spatial, series, errors, labelled,
                                                                           nab.PROFILES)["standard"])
    assert row["mean"] == pytest.approx(np.mean(row["standard"]))
    assert "## Ablation per seed" in markdown.read_text()
