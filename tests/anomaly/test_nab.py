"""NAB's scoring rules on hand-computed cases, and the sweep against direct scoring."""

import math

import numpy as np
import pytest

from anomaly import nab

STANDARD = nab.PROFILES["standard"]


def sigmoid_score(y):
    return 2 / (1 + math.exp(5 * y)) - 1


def one_window(length=100, first=40, last=50, probation=0):
    return nab.LabelledFile.from_bounds(length, [(first, last)], probation=probation)


def detect(length, *indices):
    flags = np.zeros(length, bool)
    flags[list(indices)] = True
    return flags


def test_detection_at_the_left_edge_scores_exactly_the_tp_weight():
    result = nab.score_detections(detect(100, 40), one_window(), STANDARD)
    assert result["score"] == pytest.approx(1.0) and result["tp"] == 1


def test_later_detection_scores_less_and_only_the_earliest_counts():
    width = 11
    later = nab.score_detections(detect(100, 45), one_window(), STANDARD)["score"]
    expected = sigmoid_score(-(50 - 45 + 1) / width) / sigmoid_score(-1.0)
    assert later == pytest.approx(expected) and later < 1
    both = nab.score_detections(detect(100, 40, 45), one_window(), STANDARD)["score"]
    assert both == pytest.approx(1.0)


def test_missed_window_costs_the_fn_weight():
    assert nab.score_detections(detect(100), one_window(), STANDARD)["score"] == pytest.approx(-1.0)
    low_fn = nab.PROFILES["reward_low_FN_rate"]
    assert nab.score_detections(detect(100), one_window(), low_fn)["score"] == pytest.approx(-2.0)


def test_false_positive_right_after_a_window_is_discounted_by_the_sigmoid():
    # Window 40..50 (width 11); FP at 51: y = |51 - 50| / (11 - 1) = 0.1, weight 0.11 * S(0.1) = -0.0269.
    score = nab.score_detections(detect(100, 40, 51), one_window(), STANDARD)["score"]
    assert score == pytest.approx(1.0 + 0.11 * sigmoid_score(0.1))
    assert 0.11 * sigmoid_score(0.1) == pytest.approx(-0.02694, abs=1e-5)


def test_false_positive_far_after_or_before_any_window_costs_the_full_fp_weight():
    far = nab.score_detections(detect(100, 40, 90), one_window(), STANDARD)["score"]  # y = 4 >= 3
    before = nab.score_detections(detect(100, 40, 10), one_window(), STANDARD)["score"]
    assert far == pytest.approx(1.0 - 0.11) and before == pytest.approx(1.0 - 0.11)


def test_probationary_points_and_windows_are_not_scored():
    labelled = nab.LabelledFile.from_bounds(100, [(5, 10), (40, 50)], probation=15)
    assert labelled.scored_windows == 1 and labelled.windows == 2
    result = nab.score_detections(detect(100, 3, 40), labelled, STANDARD)
    assert result == {"score": pytest.approx(1.0), "tp": 1, "fn": 0, "fp": 0}


def test_probationary_length_follows_nab():
    assert nab.probationary_length(4032) == 604
    assert nab.probationary_length(22695) == 750


def test_sweep_matches_direct_scoring_at_every_threshold():
    rng = np.random.default_rng(0)
    files = []
    for length, bounds in ((300, [(100, 130), (200, 220)]), (250, [(120, 160)]), (200, [])):
        files.append((np.round(rng.random(length), 2), nab.LabelledFile.from_bounds(length, bounds)))
    thresholds, totals = nab.sweep(files, STANDARD)
    for threshold, total in zip(thresholds, totals):
        direct = sum(nab.score_detections(scores >= threshold, labelled, STANDARD)["score"]
                     for scores, labelled in files)
        assert total == pytest.approx(direct)


def test_normalised_scores_null_is_0_and_perfect_is_100():
    labelled = one_window(probation=10)
    perfect = np.zeros(100)
    perfect[40] = 1.0
    result = nab.corpus_scores([(perfect, labelled)])
    assert result["standard"]["score"] == pytest.approx(100.0)
    assert nab.corpus_scores([(np.zeros(100), labelled)])["standard"]["score"] == pytest.approx(0.0)


def test_profiles_match_nabs_config(shared_nab_dir):
    loaded = nab.load_profiles(shared_nab_dir / "config" / "profiles.json")
    assert loaded == nab.PROFILES
