"""The Numenta Anomaly Benchmark's scoring rules, written from NAB's published scorer (nab/sweeper.py,
nab/runner.py at numenta/NAB ea702d75), vectorised with NumPy.

Why not NAB's own code: it is not packaged on PyPI, is AGPL, and scores row by row in pure Python.

The rules:
- The first `min(floor(0.15 n), 750)` points of a file are probationary: not scored. A window whose
  points all fall there is not scored either.
- A point inside a labelled window at relative position y = -(right - i + 1) / width scores
  tpWeight * S(y) / S(-1), with S(y) = 2 / (1 + e^{5y}) - 1: a detection at the left edge scores exactly
  tpWeight, later ones less. Only the best (earliest) detection of a window counts; an undetected window
  scores -fnWeight.
- A detection outside every window scores fpWeight * S(y), y = |i - right_prev| / (width_prev - 1),
  measured from the preceding window (discounted right after it), or -fpWeight when none precedes.
- A corpus score is the sum over files at one threshold shared by the whole corpus; NAB picks the
  threshold that maximises it, per profile. Normalised: 100 * (score - null) / (perfect - null), where
  perfect = tpWeight * (number of labelled windows) and null is the null detector's best raw score
  (never detecting: -fnWeight per scored window).
"""

import dataclasses
import json
import math
from pathlib import Path

import numpy as np

from core.errors import UserError

#: NAB's config/profiles.json, embedded so that scoring works without a NAB checkout.
PROFILES = {
    "standard": {"tpWeight": 1.0, "fnWeight": 1.0, "fpWeight": 0.11, "tnWeight": 1.0},
    "reward_low_FP_rate": {"tpWeight": 1.0, "fnWeight": 1.0, "fpWeight": 0.22, "tnWeight": 1.0},
    "reward_low_FN_rate": {"tpWeight": 1.0, "fnWeight": 2.0, "fpWeight": 0.11, "tnWeight": 1.0},
}
PROBATIONARY_PERCENT = 0.15


def load_profiles(path) -> dict[str, dict[str, float]]:
    """Reads NAB's `config/profiles.json` into profile name -> cost matrix; a UserError naming the file when
    it is missing or not NAB's format."""
    path = Path(path)
    try:
        return {name: dict(profile["CostMatrix"]) for name, profile in json.loads(path.read_text()).items()}
    except FileNotFoundError:
        raise UserError(f"{path}: not found (NAB's scoring profiles; --nab-dir must be a NAB checkout)") from None
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise UserError(f"{path}: not NAB's profiles (JSON of profile -> CostMatrix): {error}") from None


def probationary_length(length: int, percent: float = PROBATIONARY_PERCENT) -> int:
    """NAB's probationary period: min(floor(percent * length), percent * 5000) points."""
    return int(min(math.floor(percent * length), percent * 5000))


def scaled_sigmoid(position):
    """NAB's S(y) = 2 / (1 + e^{5y}) - 1, and -1 for y >= 3 (far past a window)."""
    position = np.asarray(position, dtype=np.float64)
    with np.errstate(over="ignore"):
        return np.where(position >= 3.0, -1.0, 2.0 / (1.0 + np.exp(5.0 * position)) - 1.0)


MAX_TP = float(scaled_sigmoid(-1.0))


@dataclasses.dataclass
class LabelledFile:
    """Per-point scoring facts of one file, independent of the detector and the profile.

    Attributes:
        window_id: index of the window holding each point, -1 outside every window.
        position_score: S(y) at each point (as a TP inside a window, as an FP outside).
        scored: False for probationary points.
        scored_windows: how many windows have at least one scored point.
        windows: how many windows the file has in all (for `perfect`).
    """

    window_id: np.ndarray
    position_score: np.ndarray
    scored: np.ndarray
    scored_windows: int
    windows: int

    @classmethod
    def from_bounds(cls, length: int, window_bounds: list[tuple[int, int]],
                    probation: int | None = None) -> "LabelledFile":
        """Builds the per-point facts from inclusive (first, last) index bounds of sorted windows.

        Args:
            length: number of points in the file.
            window_bounds: the labelled windows as inclusive point indices, in time order.
            probation: points not scored at the start; NAB's 15% rule when None.
        """
        probation = probationary_length(length) if probation is None else probation
        window_id = np.full(length, -1, dtype=np.int64)
        position = np.full(length, 3.0)  # before any window: an FP scores -1 (S(3) = -1)
        index = np.arange(length)
        for number, (first, last) in enumerate(window_bounds):
            width = last - first + 1
            window_id[first:last + 1] = number
            position[first:last + 1] = -(last - index[first:last + 1] + 1) / width
            following = window_bounds[number + 1][0] if number + 1 < len(window_bounds) else length
            after = index[last + 1:following]
            position[last + 1:following] = (np.abs(after - last) / (width - 1)) if width > 1 else 3.0
        scored = index >= probation
        scored_windows = len(np.unique(window_id[scored & (window_id >= 0)]))
        return cls(window_id, scaled_sigmoid(position), scored, scored_windows, len(window_bounds))

    def weighted(self, cost: dict[str, float]) -> np.ndarray:
        """Each point's contribution if detected, under `cost` (NAB's weighted sweep score)."""
        inside = self.window_id >= 0
        return np.where(inside, self.position_score * cost["tpWeight"] / MAX_TP,
                        self.position_score * cost["fpWeight"])


def score_detections(detections, labelled: LabelledFile, cost: dict[str, float]) -> dict:
    """The raw NAB score of one file for boolean detections, with its TP/FP/FN counts.

    Counts: `tp`/`fn` are scored windows detected/missed; `fp` is detections outside windows.
    """
    detections = np.asarray(detections, dtype=bool) & labelled.scored
    weights = labelled.weighted(cost)
    inside = labelled.window_id >= 0
    false_positive = detections & ~inside
    score = float(weights[false_positive].sum())
    scored_ids = np.unique(labelled.window_id[labelled.scored & inside])
    detected = 0
    for window in scored_ids:
        hits = detections & (labelled.window_id == window)
        if hits.any():
            score += float(weights[hits].max())
            detected += 1
        else:
            score -= cost["fnWeight"]
    return {"score": score, "tp": detected, "fn": len(scored_ids) - detected,
            "fp": int(false_positive.sum())}


def sweep(files: list[tuple[np.ndarray, LabelledFile]], cost: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """Raw corpus score at every distinct threshold, as NAB's optimiser sweeps them.

    Args:
        files: (anomaly scores, labelled facts) per file.
        cost: a profile's cost matrix.

    Returns:
        (thresholds, scores): thresholds descending, starting with +inf (nothing detected); detection
        means `anomaly_score >= threshold`.
    """
    scores, weights, window_keys = [], [], []
    offset = 0
    for anomaly_scores, labelled in files:
        keep = labelled.scored
        scores.append(np.asarray(anomaly_scores, dtype=np.float64)[keep])
        weights.append(labelled.weighted(cost)[keep])
        ids = labelled.window_id[keep]
        window_keys.append(np.where(ids >= 0, ids + offset, -1))
        offset += labelled.windows
    scores, weights, window_keys = np.concatenate(scores), np.concatenate(weights), np.concatenate(window_keys)
    order = np.argsort(-scores, kind="stable")
    scores, weights, window_keys = scores[order], weights[order], window_keys[order]

    # Outside windows every detection adds its (negative) weight; inside, a window's part rises from
    # -fnWeight to the best weight detected so far. Accumulate both as per-point increments.
    increments = np.where(window_keys < 0, weights, 0.0)
    best = {}
    for position in np.flatnonzero(window_keys >= 0):
        key = window_keys[position]
        previous = best.get(key, -cost["fnWeight"])
        if weights[position] > previous:
            increments[position] = weights[position] - previous
            best[key] = weights[position]
    scored_windows = len(np.unique(window_keys[window_keys >= 0]))
    running = -cost["fnWeight"] * scored_windows + np.cumsum(increments)
    # A threshold includes every point with an equal score: read the total at the last of each run.
    last_of_run = np.flatnonzero(np.append(scores[1:] != scores[:-1], True))
    thresholds = np.concatenate([[np.inf], scores[last_of_run]])
    totals = np.concatenate([[-cost["fnWeight"] * scored_windows], running[last_of_run]])
    return thresholds, totals


def normalise(raw: float, null: float, perfect: float) -> float:
    """NAB's 0 (null detector) .. 100 (perfect) scale."""
    return 100.0 * (raw - null) / (perfect - null)


def corpus_scores(files: list[tuple[np.ndarray, LabelledFile]], profiles: dict | None = None) -> dict:
    """NAB scores of a detector over a corpus, with the threshold optimised per profile as NAB does.

    Returns:
        profile -> {"score" (normalised), "raw", "threshold", "null", "perfect"}.
    """
    results = {}
    windows = sum(labelled.windows for _, labelled in files)
    for name, cost in (profiles or PROFILES).items():
        thresholds, totals = sweep(files, cost)
        best = int(np.argmax(totals))
        null = float(sweep([(np.zeros_like(s, dtype=float), lab) for s, lab in files], cost)[1].max())
        perfect = cost["tpWeight"] * windows
        results[name] = {"score": normalise(float(totals[best]), null, perfect), "raw": float(totals[best]),
                         "threshold": float(thresholds[best]), "null": null, "perfect": perfect}
    return results


def file_scores(detections, labelled: LabelledFile, profiles: dict | None = None) -> dict:
    """Normalised NAB scores of one file's boolean detections (no threshold optimisation)."""
    results = {}
    for name, cost in (profiles or PROFILES).items():
        raw = score_detections(detections, labelled, cost)
        null = -cost["fnWeight"] * labelled.scored_windows
        perfect = cost["tpWeight"] * labelled.windows
        score = normalise(raw["score"], null, perfect) if perfect != null else None
        results[name] = {**raw, "score": score, "raw": raw["score"]}
    return results
