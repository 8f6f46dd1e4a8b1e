"""Named online detectors: their settings as frozen dataclasses (no TensorFlow here, so that flags can be
validated before it loads).

Every constant below was chosen on the NAB corpus (as the published NAB detectors' were); the benchmark's
summary names each one with its value and reports a split-half protocol beside the whole-corpus figure
(scripts/benchmark_anomaly.py).
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class OnlineSettings:
    """An online detector (see `OnlineDetector`). Every component can be switched off by its setting.

    The Keras part (one autoencoder per entry of `windows`):
        model, windows, masked_points, epochs, refit_epochs, batch_size, learning_rate: the autoencoder,
            its window lengths, how many newest values are hidden from it (so its error is a forecast
            error), epochs of the first fit (on the probationary period) and of every later fine-tune.
        error_points: how many of each window's newest steps make its error (1: the newest point only).
        time_features: calendar periods ("day", "week") whose phase at each step's timestamp (a sine and a
            cosine, known in advance, never masked or scored) the autoencoder sees beside the values, so
            that a daily or weekly pattern's edge is predictable to it (HTM encodes the time of day the
            same way); () for values only.
        initial_points: points of the first fit, which also set the rest period (0: NAB's probationary
            period, 15% of the file's length and at most 750 points: the one thing that depends on the
            length, which NAB gives every detector up front; set it to make appending points never
            change earlier scores).
        refit_every: fine-tune on the most recent `refit_span` points every N points (0: learn once).
        rescale: each fine-tune re-fits the min-max scaling on every point seen so far (else the
            probationary period's scaling is kept).
        autoencoder: False replaces the autoencoder by a persistence forecast (error = |x_t - x_{t-1}|),
            the ablation that shows what the Keras model adds.
        ensemble_size: autoencoders per window, each with its own initial weights and batch order (one
            random stream from the seed), each trained alone; their forecasts are averaged
            (`online.mean_forecast`, the model that scores and is exported). Meant to make the NAB score
            depend less on the seed (one network's: ±0.6 over seeds 0-2); measured with 2 members (preset
            aeOnlineEnsemble), both before the recurring-error rule: 70.6 ± 0.9 against 70.4 ± 0.6, no gain
            beyond the spread.
    A second model family beside it (combined in surprise space):
        neighbour_window: the distance of the newest N values to the nearest of the `neighbour_history`
            earlier N-value windows that do not overlap them (root mean square, values min-max scaled by the
            first fit's range): a causal nearest-neighbour "discord" distance (the left matrix profile of
            Yeh et al. 2016). A shape the series has never shown is far from every earlier window even
            when each value is easy to forecast from the ones before it (a flat line, a changed pattern).
            It goes through the same likelihood, without the empirical tail cap unless
            `neighbour_empirical_tail` (0: off).
        neighbour_combine: "sum": the neighbour distance's surprise is added to the autoencoder's, -log10 of
            the product of the two p-values, as for independent evidence: a point both find somewhat
            unusual outranks one that only one of them finds so; "max": the larger counts.
    The statistics around it (post-processing, as in every published NAB detector):
        likelihood: Numenta's anomaly likelihood on the error: for each N in `short_windows`, the mean of
            the last N errors under a normal fit, re-fit every `estimate_every` points, to the N-point means
            of the last `long_window` points; the surprises of the `short_windows` are averaged (1 point: a
            spike; 10: a sustained rise that no single error shows). False uses the raw error, scaled by
            `raw_scale`.
        empirical_tail: each short window's surprise of the autoencoder's error (the persistence forecast's
            with `autoencoder=False`) is capped by the rank of its
            N-point mean among the N-point means of the last `long_window` points (see
            `online.short_likelihood`): an error that recurs (a daily edge the model cannot time) stops
            looking like a 10-sigma event.
        recurring_days, recurring_margin, recurring_points: a new largest averaged error is no record (the
            empirical tail cap still applies to it) when, at the same time of day on one of the previous
            `recurring_days` days (+-`recurring_points` points; the day in points from the first fit's
            median time step), the averaged error reached 1 / (1 + `recurring_margin`) of it: an error the
            model makes every day at this time (a daily edge it cannot time exactly, a little larger each
            day) is not new. 0 days: off; off too where a day holds `recurring_points` points or fewer.
            Needs the points' timestamps.
        neighbour_empirical_tail: the cap applies to the neighbour distance's surprise too. Off: that
            distance already discounts what recurs (a repeated shape is near its earlier occurrence), so a
            large one is a new shape even when an earlier one was larger. Leaving it uncapped is worth +0.7
            NAB standard over seeds 0-2 (the row with the cap on it in anomaly_seed_spread_aeOnline.md).
        min_mean, min_std: floors of the fitted normal (Numenta's are 0.03 and sqrt(0.0003)); they keep a
            near-perfect reconstruction's tiny fluctuations from looking surprising.
        combine: how the autoencoder's scales' surprise is combined ("mean" or "max"); the neighbour
            distance's is then combined with it by `neighbour_combine`.
        spatial_tolerance: a value beyond the running min/max of all earlier points by more than this
            fraction of their range is an anomaly (Numenta's spatial rule, 0.05 there; 0: off), from the end
            of the first fit on (before it the range is still forming: the third point of a series is
            nearly always outside the first two's; NAB does not score those points either).
        suppress_fraction: an alert must beat every score of the previous `suppress_fraction *
            probationary length` points (CAD OSE's rest period is probation / 5; 0: off).
        alert_surprise: a point kept by the suppression whose surprise reaches this level is an alert and
            silences the rest period after it (`online.silence_after_alerts`; 0: off). 4.0 is a score of
            0.333, near the standard corpus threshold (0.3334): NAB's optimiser puts its threshold just at the
            level where the silence begins.
        score_scale: surprise (-log10 p) at which the score is 0.5.
    """

    model: str = "dense"
    windows: tuple[int, ...] = (64,)
    masked_points: int = 1
    error_points: int = 1
    time_features: tuple[str, ...] = ("day", "week")
    epochs: int = 30
    refit_epochs: int = 3
    batch_size: int = 64
    learning_rate: float = 1e-3
    initial_points: int = 0
    refit_every: int = 500
    refit_span: int = 2000
    rescale: bool = True
    autoencoder: bool = True
    ensemble_size: int = 1
    neighbour_window: int = 64
    neighbour_history: int = 8640
    neighbour_combine: str = "sum"
    likelihood: bool = True
    short_windows: tuple[int, ...] = (1, 10)
    long_window: int = 8640
    estimate_every: int = 100
    empirical_tail: bool = True
    recurring_days: int = 2
    recurring_margin: float = 0.3
    recurring_points: int = 3
    neighbour_empirical_tail: bool = False
    min_mean: float = 0.0
    min_std: float = 0.03
    raw_scale: float = 1.0
    combine: str = "mean"
    spatial_tolerance: float = 0.02
    suppress_fraction: float = 0.2
    alert_surprise: float = 4.0
    score_scale: float = 8.0
    spatial_surprise: float = 1e3

    @property
    def window(self) -> str:
        """The window lengths as one label ("16+64"), as the benchmark tables show them."""
        return "+".join(str(window) for window in self.windows)


#: Seconds in each calendar period a detector can see the phase of (`OnlineSettings.time_features`).
TIME_PERIODS = {"day": 86_400, "week": 7 * 86_400}


def check_length(series, settings: OnlineSettings) -> None:
    """Refuses (UserError) a series too short for the detector's widest window and first likelihood fit."""
    from core.errors import UserError

    needed = max(4 * max(settings.windows), 2 * settings.neighbour_window) + max(settings.short_windows) \
        + settings.estimate_every
    if len(series) < needed:
        raise UserError(f"{series.source}: {len(series)} points; the online detector needs at least {needed} "
                        "(4 x its widest window, or 2 x its neighbour window, + the likelihood's first fit)")


#: The online detectors by name (NAB parses '<detector>_<file>', so no underscores in names).
ONLINE_DETECTORS: dict[str, OnlineSettings] = {
    "aeOnline": OnlineSettings(),
    # The same with a second, shorter window scale, as measured on 2026-12-07 (the neighbour distance's surprise
    # capped like the autoencoder's, the rule then, and no recurring-error rule; not re-run since).
    "aeOnlineMultiscale": OnlineSettings(windows=(16, 64), neighbour_empirical_tail=True, recurring_days=0),
    # aeOnline with the mean forecast of two autoencoders (ensemble_size 2), measured on 2026-12-08 before the
    # recurring-error rule (kept off, as measured): 0.2 higher than aeOnline then on the mean over seeds 0-2,
    # inside their spread, for twice the training (two networks per window).
    "aeOnlineEnsemble": OnlineSettings(ensemble_size=2, recurring_days=0),
}

#: The detector `train_anomaly.py` and `benchmark_anomaly.py` run unless told otherwise. Of the online detectors
#: whose NAB standard mean over seeds 0-2 is within one standard deviation of the best one's (a higher mean by
#: less than the seeds' spread is luck, not skill; benchmarks/results/anomaly_seed_spread_<name>.md), the one
#: with the fewest autoencoders (window scales x ensemble size): the fastest.
DEFAULT_DETECTOR = "aeOnline"

#: Score at or above which a point is an anomaly for users' series, per online detector: its NAB corpus
#: threshold (standard profile, seed 0) in benchmarks/results/anomaly_nab_<name>.json.
ALERT_THRESHOLDS: dict[str, float] = {
    "aeOnline": 0.3334,             # the 2026-12-07 and -08 whole-corpus runs (with and without the recurring rule)
    "aeOnlineMultiscale": 0.3292,   # the 2026-12-07 whole-corpus run (neighbour surprise added)
    "aeOnlineEnsemble": 0.3340,     # the 2026-12-08 whole-corpus run
}
