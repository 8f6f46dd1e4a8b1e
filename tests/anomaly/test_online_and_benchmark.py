import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from anomaly import benchmark, data, nab, online, scoring

FAST = online.DetectorSettings(model="base", window=16, epochs=2, long_window=300, suppress_window=0)


def short_series(seed=0, length=1400):
    full = data.synthetic_series(seed, days=5)
    return dataclasses.replace(full, timestamps=full.timestamps[:length], values=full.values[:length].copy(),
                               windows=[])


def test_scores_are_causal_future_values_do_not_change_past_scores():
    series = short_series()
    changed = dataclasses.replace(series, values=series.values.copy())
    changed.values[1000:] += 500.0  # a huge change from point 1000 on
    detector = online.CausalDetector(FAST, seed=3)
    before, after = detector.score(series), detector.score(changed)
    np.testing.assert_allclose(before[:1000], after[:1000], atol=1e-6)
    assert after[1000:1010].max() > before[1000:1010].max()  # and the change itself is noticed
    assert before.shape == (len(series),) and 0 <= before.min() and before.max() <= 1


@pytest.mark.slow  # the earlier aeDenseRetrain detector; the online detector's causality test covers refits
def test_retraining_learns_from_the_past_only():
    series = short_series()
    changed = dataclasses.replace(series, values=series.values.copy())
    changed.values[1100:] = 0.0
    settings = dataclasses.replace(FAST, retrain_every=400, retrain_span=400)
    detector = online.CausalDetector(settings, seed=3)
    np.testing.assert_allclose(detector.score(series)[:1100], detector.score(changed)[:1100], atol=1e-6)


def test_surprise_is_high_for_a_level_shift_and_fades_as_it_becomes_normal():
    errors = np.concatenate([np.full(20, np.nan), np.random.default_rng(0).normal(1.0, 0.1, 500), np.full(20, 3.0)])
    surprise = online.likelihood_surprise(errors, short_window=5, long_window=200)
    assert (surprise[:20] == 0).all()  # no error yet: no surprise
    assert surprise[20:520].max() < 6  # ordinary noise
    shifted = surprise[-20:]  # a 20-sigma shift is very surprising, then fades into the new normal
    assert shifted[:6].max() > 50 and shifted[-1] < shifted.max() / 10


def test_suppression_keeps_only_new_highs():
    surprise = np.array([0, 5, 6, 6, 2, 0, 0, 0, 7, 1.0])
    np.testing.assert_array_equal(online.suppress_repeats(surprise, 3), [0, 5, 6, 0, 0, 0, 0, 0, 7, 0])
    np.testing.assert_array_equal(online.suppress_repeats(surprise, 0), surprise)


def test_scores_are_strictly_increasing_in_surprise_and_below_1():
    scores = scoring.anomaly_score(np.array([0.0, 8.0, 80.0, 1e6]), 8.0)
    np.testing.assert_allclose(scores[:2], [0.0, 0.5])
    assert np.all(np.diff(scores) > 0) and scores[-1] < 1.0


def test_benchmark_writes_nab_layout_and_summaries(tmp_path):
    series = {}
    for number, category in enumerate(["artificialWithAnomaly", "realTraffic"]):
        one = data.synthetic_series(number)
        one.name = f"{category}/file{number}.csv"
        series[one.name] = one
    result = benchmark.run_detector("aeTest", FAST, series, tmp_path / "out", nab.PROFILES, seed=0)
    csv = tmp_path / "out" / "aeTest" / "realTraffic" / "aeTest_file1.csv"
    frame = pd.read_csv(csv)
    assert list(frame.columns) == ["timestamp", "value", "anomaly_score", "label"]
    assert len(frame) == 4032 and frame["label"].sum() == series["realTraffic/file1.csv"].labels().sum()
    assert frame["anomaly_score"].between(0, 1).all()
    assert set(result["nab"]) == set(nab.PROFILES) and result["per_category"]["all"]["windows"] == 8
    assert -100 < result["nab"]["standard"]["score"] <= 100

    scoreboard = {"numenta": {"standard": 70.1, "reward_low_FP_rate": 63.1, "reward_low_FN_rate": 74.3}}
    json_path, markdown_path = benchmark.write_summary(result, scoreboard, tmp_path / "summary",
                                                       ["realTraffic/file1.csv"], corpus_complete=False,
                                                       wall_time_s=12.0)
    summary = json.loads(json_path.read_text())
    assert summary["corpus_complete"] is False and summary["environment"]["packages"]["tensorflow"]
    markdown = markdown_path.read_text()
    assert "numenta (published) | 70.1" in markdown and "not comparable" in markdown
    assert "| realTraffic/file1.csv |" in markdown


def test_masked_autoencoder_hides_the_newest_values_from_the_encoder():
    detector = online.CausalDetector(dataclasses.replace(FAST, masked_points=2))
    windows = np.arange(12, dtype=np.float32).reshape(2, 6)
    inputs = detector._encoder_inputs(windows)
    np.testing.assert_array_equal(inputs, [[0, 1, 2, 3, 3, 3], [6, 7, 8, 9, 9, 9]])
    np.testing.assert_array_equal(windows[0], [0, 1, 2, 3, 4, 5])  # the targets are left intact


def test_masked_scores_are_causal_too():
    series = short_series()
    changed = dataclasses.replace(series, values=series.values.copy())
    changed.values[1000:] *= -1
    detector = online.CausalDetector(dataclasses.replace(FAST, masked_points=1), seed=5)
    np.testing.assert_allclose(detector.score(series)[:1000], detector.score(changed)[:1000], atol=1e-6)


def test_comparison_table_ranks_every_summary_among_the_published(tmp_path):
    scoreboard = {"numenta": {"standard": 70.1, "reward_low_FP_rate": 63.1, "reward_low_FN_rate": 74.3},
                  "random": {"standard": 11.0, "reward_low_FP_rate": 5.8, "reward_low_FN_rate": 25.9}}
    for name, score in (("aeX", 55.0), ("aeY", 75.0)):
        result = {"detector": name, "seed": 0, "settings": {"model": "dense", "window": 32},
                  "nab": {"standard": {"score": score}, "reward_low_FP_rate": {"score": 45.0},
                          "reward_low_FN_rate": {"score": 61.0}},
                  "standard_threshold": 0.7, "per_file": {},
                  "per_category": {"all": {"files": 58, "windows": 116, "detected": 80, "false_alarms": 200,
                                           "point": {"precision": 0.1, "recall": 0.2, "f1": 0.13},
                                           "event": {"precision": 0.3, "recall": 0.7, "f1": 0.25}}}}
        benchmark.write_summary(result, scoreboard, tmp_path, [], corpus_complete=True, wall_time_s=60)
    lines = benchmark.write_comparison(tmp_path).read_text().splitlines()
    table = [line.split(" | ")[0] for line in lines if line.startswith("| ") and "detector" not in line]
    assert table == ["| **aeY** (ours, seed 0)", "| numenta (published)", "| **aeX** (ours, seed 0)",
                     "| random (published)"]


@pytest.mark.parametrize("flags, message", [
    (["--nab-dir", "no/such/dir"], "not a NAB folder"),
    (["--files", "nothing-matches"], "no NAB data files match"),
    (["--detectors", "aeMagic"], "unknown detector 'aeMagic'"),
])
def test_benchmark_script_bad_input(tmp_path, monkeypatch, capsys, flags, message):
    from tests.conftest import run_script

    nab_dir = tmp_path / "nab"
    (nab_dir / "data" / "cat").mkdir(parents=True)
    (nab_dir / "labels").mkdir()
    (nab_dir / "labels" / "combined_windows.json").write_text("{}")
    one = data.synthetic_series(0)
    one.frame().to_csv(nab_dir / "data" / "cat" / "file.csv", index=False)
    arguments = ["--nab-dir", str(nab_dir), "--out", str(tmp_path / "out"), *flags]
    monkeypatch.chdir(tmp_path)
    code, _, err = run_script("benchmark_anomaly", arguments, capsys)
    assert code == 2 and message in err, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow  # the earlier aeMultiscale ensemble; the online detector's causality test runs in the fast tier
def test_ensemble_averages_member_surprise_and_stays_causal():
    members = (dataclasses.replace(FAST, window=8), dataclasses.replace(FAST, window=16))
    settings = online.EnsembleSettings(members=members, suppress_window=0)
    assert (settings.model, settings.window) == ("base", "8+16")
    series = short_series()
    detector = online.make_detector(settings, seed=2)
    surprise = np.mean([online.likelihood_surprise(online.CausalDetector(m, seed=2).errors(series),
                                                   m.short_window, m.long_window) for m in members], axis=0)
    scores = detector.score(series)
    np.testing.assert_allclose(scores, scoring.anomaly_score(surprise, settings.score_scale), atol=1e-6)
    changed = dataclasses.replace(series, values=series.values.copy())
    changed.values[1200:] += 100
    np.testing.assert_allclose(detector.score(changed)[:1200], scores[:1200], atol=1e-6)
