"""Causal (NAB-style) detection: learn from a file's probationary period only, then score each point
from the data up to it.

    scores = CausalDetector(DetectorSettings(model="dense")).score(series)   # one score in [0, 1] per point

Per file:
1. The first `nab.probationary_length(n)` points (15%, at most 750) are all the model may learn from:
   min-max scaling and the autoencoder are fit on them (the last 20% of their windows for early stopping).
2. Point t's error is the squared reconstruction error of the last `error_points` values of the window
   that ends at t: no future values, and an anomaly is scored when it arrives rather than smeared over
   the `window` later windows that still contain it.
3. Errors become surprise with an anomaly likelihood, as Numenta's detectors do: x = -log10 of the
   probability of the mean error of the last `short_window` points under a normal fit to the errors of
   the `long_window` points before them. This adapts to each file's error level, which matters because
   NAB uses one threshold for the whole corpus.
4. Alert suppression: x counts only where it exceeds every x of the previous `suppress_window` points
   (else 0), so one event raises one alert rather than a run of them; NAB charges every flagged point
   outside a window but credits only the first inside one. Set `suppress_window=0` to keep every point.
5. score = x / (x + `score_scale`): in [0, 1), strictly increasing, never saturating (ties at 1.0 would
   leave the corpus threshold nothing to separate).
6. Optionally (`retrain_every`), the model is refit on the most recent past points as scoring proceeds.

The defaults were chosen on the NAB corpus itself (as the published NAB detectors' were): see
benchmarks/results/ and the benchmark's protocol note.
"""

import dataclasses

import keras
import numpy as np
import pandas as pd
from scipy import special

from anomaly import data, models, nab, scoring
from anomaly.presets import ALERT_THRESHOLDS, ONLINE_DETECTORS, TIME_PERIODS, OnlineSettings  # noqa: F401 (re-exported)


@dataclasses.dataclass
class DetectorSettings:
    """One causal detector: the autoencoder and how its errors become scores (see the module docstring)."""

    model: str = "dense"
    window: int = 32
    epochs: int = 40
    batch_size: int = 32
    learning_rate: float = 1e-3
    l2: float = 0.0
    patience: int = 5
    error_points: int = 1          # newest values of each window whose squared error is the point's error
    masked_points: int = 0         # newest values hidden from the encoder (a masked, denoising autoencoder)
    short_window: int = 1          # points averaged into the current error
    long_window: int = 8000        # past errors the likelihood is fit on
    suppress_window: int = 100     # an alert must beat the previous N points' surprise (0: off)
    score_scale: float = 8.0       # surprise (-log10 p) at which the score is 0.5
    retrain_every: int = 0         # refit on recent past data every N points (0: never)
    retrain_span: int = 1500       # how many recent points a refit learns from


class CausalDetector:
    """Scores a `data.Series` point by point, learning only from the past (see the module docstring)."""

    def __init__(self, settings: DetectorSettings, seed: int = 0):
        self.settings = settings
        self.seed = seed

    def score(self, series: data.Series) -> np.ndarray:
        """One anomaly score in [0, 1] per point; point t depends on points 0..t only."""
        settings = self.settings
        surprise = likelihood_surprise(self.errors(series), settings.short_window, settings.long_window)
        return scoring.anomaly_score(suppress_repeats(surprise, settings.suppress_window), settings.score_scale)

    def errors(self, series: data.Series) -> np.ndarray:
        """Reconstruction error of the window ending at each point (NaN before the first full window)."""
        settings = self.settings
        length = len(series)
        probation = nab.probationary_length(length)
        # Refit points: the end of the probationary period, then every `retrain_every` points.
        starts = [probation] + (list(range(probation + settings.retrain_every, length, settings.retrain_every))
                                if settings.retrain_every else [])
        ends = starts[1:] + [length]
        errors = np.full(length, np.nan)
        for begin, end in zip(starts, ends):
            history = series.values[:begin] if begin == probation else \
                series.values[max(0, begin - settings.retrain_span):begin]
            model, scaling = self._fit(history)
            # The first model also scores the probationary period itself (in-sample; NAB ignores it).
            first = settings.window - 1 if begin == probation else begin
            if end > first:
                errors[max(first, settings.window - 1):end] = self._window_errors(model, scaling, series.values,
                                                                                  first, end)
            keras.backend.clear_session(free_memory=True)
        return errors

    def _fit(self, values: np.ndarray):
        settings = self.settings
        keras.utils.set_random_seed(self.seed)
        minimum, maximum = float(values.min()), float(values.max())
        scaling = data.MinMaxScaling(minimum, maximum if maximum > minimum else minimum + 1.0)
        windows, _ = data.sliding_windows(scaling.transform(values), settings.window)
        model = models.build(settings.model, input_dim=settings.window, l2=settings.l2)
        model.compile(optimizer=keras.optimizers.Adam(settings.learning_rate), loss="mse")
        split = max(1, int(len(windows) * 0.8))  # chronological: the last 20% of windows validate
        inputs = self._encoder_inputs(windows)
        model.fit(inputs[:split], windows[:split], validation_data=(inputs[split:], windows[split:]),
                  epochs=settings.epochs, batch_size=settings.batch_size, shuffle=True, verbose=0,
                  callbacks=[keras.callbacks.EarlyStopping(patience=settings.patience,
                                                           restore_best_weights=True)])
        return model, scaling

    def _encoder_inputs(self, windows: np.ndarray) -> np.ndarray:
        """Windows with their newest `masked_points` values replaced by the last visible one.

        The model must then reconstruct the hidden values from the context before them, so its error
        there is a forecast error: large when a value is unexpected, not merely hard to copy.
        """
        hidden = self.settings.masked_points
        if not hidden:
            return windows
        inputs = np.array(windows, copy=True)
        inputs[:, -hidden:] = inputs[:, -hidden - 1:-hidden]
        return inputs

    def _window_errors(self, model, scaling, values, begin: int, end: int) -> np.ndarray:
        """Error of the windows ending at points begin..end-1 (begin >= window - 1): the mean squared error
        of their newest `error_points` values."""
        window = self.settings.window
        begin = max(begin, window - 1)
        scaled = scaling.transform(values[begin - window + 1:end]).astype(np.float32)
        windows = np.lib.stride_tricks.sliding_window_view(scaled, window)
        # Direct calls, not model.predict: predict retraces a new function for every model we build.
        inputs = self._encoder_inputs(windows)
        reconstructed = np.concatenate([keras.ops.convert_to_numpy(model(inputs[i:i + 8192], training=False))
                                        for i in range(0, len(inputs), 8192)])
        newest = slice(window - self.settings.error_points, window)
        return np.mean((reconstructed[:, newest] - windows[:, newest]) ** 2, axis=1)


def likelihood_surprise(errors: np.ndarray, short_window: int, long_window: int) -> np.ndarray:
    """Causal anomaly likelihood of an error series as surprise, -log10 p >= 0 (0 where errors are NaN).

    At t: m = mean(errors[t - short_window + 1 .. t]); mu, sigma = mean and std of the errors of the
    `long_window` points before those; surprise = -log10 P(N(mu, sigma) > m).
    """
    series = pd.Series(errors)
    recent = series.rolling(short_window, min_periods=1).mean()
    past = series.shift(short_window)
    mean = past.rolling(long_window, min_periods=max(short_window, 2)).mean()
    std = past.rolling(long_window, min_periods=max(short_window, 2)).std()
    std = np.maximum(std.to_numpy(), 1e-4 * np.maximum(np.abs(mean.to_numpy()), 1e-12))
    return tail_surprise((recent.to_numpy() - mean.to_numpy()) / std)


def suppress_repeats(surprise: np.ndarray, window: int) -> np.ndarray:
    """Keeps a value only where it exceeds every value of the previous `window` points, else 0."""
    if not window:
        return surprise
    previous = pd.Series(surprise).shift(1).rolling(window, min_periods=1).max().fillna(0.0).to_numpy()
    return np.where(surprise > previous, surprise, 0.0)


@dataclasses.dataclass
class EnsembleSettings:
    """Several causal detectors (e.g. one per window length) whose surprise is averaged, then suppressed
    and mapped to [0, 1) once. Short windows catch spikes; long ones catch changes of pattern."""

    members: tuple[DetectorSettings, ...]
    suppress_window: int = 100
    score_scale: float = 8.0

    @property
    def model(self) -> str:
        return "+".join(sorted({member.model for member in self.members}))

    @property
    def window(self) -> str:
        return "+".join(str(member.window) for member in self.members)


class EnsembleDetector:
    """Scores with every member of an `EnsembleSettings` and combines their surprise (still causal)."""

    def __init__(self, settings: EnsembleSettings, seed: int = 0):
        self.settings = settings
        self.members = [CausalDetector(member, seed=seed) for member in settings.members]

    def score(self, series: data.Series) -> np.ndarray:
        surprise = np.mean([likelihood_surprise(member.errors(series), member.settings.short_window,
                                                member.settings.long_window) for member in self.members], axis=0)
        return scoring.anomaly_score(suppress_repeats(surprise, self.settings.suppress_window),
                                     self.settings.score_scale)


def make_detector(settings: DetectorSettings | EnsembleSettings, seed: int = 0):
    """The detector for `settings`: a `CausalDetector` or an `EnsembleDetector`."""
    if isinstance(settings, EnsembleSettings):
        return EnsembleDetector(settings, seed)
    return CausalDetector(settings, seed)


#: Benchmark detectors by NAB name (NAB parses '<detector>_<file>', so no underscores in names).
DETECTORS = {
    "aeDense": DetectorSettings(model="dense"),
    "aeBase": DetectorSettings(model="base"),
    "aeTanh": DetectorSettings(model="tanh"),
    "aeDropout": DetectorSettings(model="dropout"),
    "aeConv": DetectorSettings(model="conv"),
    "aeLstm": DetectorSettings(model="lstm"),
    "aeDenseRetrain": DetectorSettings(model="dense", retrain_every=1500, retrain_span=3000),
    "aeMultiscale": EnsembleSettings(members=tuple(DetectorSettings(model="dense", window=window)
                                                   for window in (16, 32, 64))),
}
SEED_VARIANTS = ["aeBase", "aeDense", "aeTanh", "aeDropout"]


# ----------------------------------------------------------------------------------------------------
# The online detector: keeps learning, follows the data's range, Numenta-style likelihood, spatial rule,
# length-aware suppression, several window scales combined in surprise space.


def initial_length(length: int, settings: OnlineSettings) -> int:
    """Points of the first fit: `settings.initial_points`, or NAB's probationary period when 0."""
    return min(settings.initial_points, length) if settings.initial_points else nab.probationary_length(length)


def as_matrix(values) -> np.ndarray:
    """A `data.Series`' or an array's values as float64 `[points, columns]` (one column if univariate)."""
    values = np.asarray(values.values if isinstance(values, data.Series) else values, dtype=np.float64)
    return values[:, None] if values.ndim == 1 else values


def time_columns(timestamps, periods: tuple[str, ...]) -> np.ndarray:
    """`[points, 2 x len(periods)]` float32 in [0, 1]: (1 + sin) / 2 and (1 + cos) / 2 of each timestamp's
    phase in each (at least one) period of `presets.TIME_PERIODS` (the wall-clock time as written in the file)."""
    seconds = data.epoch_seconds(timestamps)
    columns = []
    for period in periods:
        phase = 2 * np.pi * (seconds % TIME_PERIODS[period]) / TIME_PERIODS[period]
        columns += [np.sin(phase), np.cos(phase)]
    return ((np.stack(columns, axis=1) + 1.0) / 2.0).astype(np.float32)


def timestamps_of(values, timestamps=None):
    """`timestamps`, or those of `values` when it is a `data.Series` (None for an array without them)."""
    return values.timestamps if timestamps is None and isinstance(values, data.Series) else timestamps


def model_inputs(values, timestamps, settings: OnlineSettings) -> tuple[np.ndarray, np.ndarray]:
    """(values `[points, columns]`, time columns `[points, 2 x periods]`) of a `data.Series` or an array.

    Timestamps come from the series, or from `timestamps` for an array; a detector with
    `time_features` needs them."""
    timestamps = timestamps_of(values, timestamps)
    matrix = as_matrix(values)
    if not settings.time_features:
        return matrix, np.zeros((len(matrix), 0), np.float32)
    if timestamps is None:
        raise ValueError(f"time_features {settings.time_features} need the points' timestamps")
    if len(timestamps) != len(matrix):
        raise ValueError(f"{len(timestamps)} timestamps for {len(matrix)} points")
    return matrix, time_columns(timestamps, settings.time_features)


class OnlineDetector:
    """Scores a series point by point while it keeps learning; point t depends on points 0..t only.

    1. The first `nab.probationary_length(n)` points (15%, at most 750) fit the min-max scaling and one
       autoencoder per window length. From then on, every `refit_every` points the scaling is re-fit on
       everything seen so far and the autoencoder is fine-tuned for `refit_epochs` on the last
       `refit_span` points, continuing from its weights. Points are scored with the model and scaling
       of the last refit before them.
    2. A point's error is the absolute error of the autoencoder's forecast of it: the newest
       `masked_points` values of each window are hidden from the encoder and must be reconstructed from
       the values before them and, with `time_features`, the phase of every step's timestamp in the day
       and the week (so a daily edge is expected when it comes, and a missing one is surprising).
    3. A second model family: with `neighbour_window`, the distance of the newest values to the nearest
       earlier window that does not overlap them (`neighbour_distances`; scaled by the first fit's range,
       which stays fixed so that every past window is measured in the same units).
    4. Errors -> surprise (-log10 p) with Numenta's anomaly likelihood, capped by the error's rank among the
       recent ones unless it is a new largest one that did not come at this time of day on the previous
       days (`recurring_days`); the scales' surprise is combined, and the neighbour distance's surprise is
       added (or, `neighbour_combine="max"`, counts where larger).
    5. The spatial rule: after the first fit, a value beyond the running range by `spatial_tolerance` is
       maximally surprising.
    6. Suppression: an alert must beat every score of the previous rest period, and one at or above
       `alert_surprise` silences the rest period after it.
    7. score = surprise / (surprise + score_scale), in [0, 1).

    `errors()` (the Keras part) and `post_process()` (statistics) are separate, so that a benchmark
    can compute the errors once and try the post-processing with each component switched off.

    Example:

        detector = OnlineDetector(ONLINE_DETECTORS["aeOnline"], seed=0)  # window 64
        scores = detector.score(series)    # a data.Series (values and timestamps): one score in [0, 1) per point
    """

    def __init__(self, settings: OnlineSettings = OnlineSettings(), seed: int = 0):
        if settings.ensemble_size < 1:
            raise ValueError(f"ensemble_size must be at least 1, got {settings.ensemble_size}")
        self.settings = settings
        self.seed = seed
        self.models: dict[int, keras.Model] = {}   # the models of the last `errors` call, by window
        self.scalings: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.neighbour_scaling: tuple[np.ndarray, np.ndarray] | None = None  # the neighbour distance's

    def score(self, values, timestamps=None) -> np.ndarray:
        """One score in [0, 1) per point of a `data.Series` or a `[points(, columns)]` array (with its
        `timestamps` when the settings have `time_features` or `recurring_days`)."""
        return self.post_process(self.errors(values, timestamps), values, timestamps=timestamps)

    def errors(self, values, timestamps=None) -> np.ndarray:
        """`[scales (+ 1), points]`: each window scale's forecast errors (one row of persistence errors
        without the autoencoder), then, with `neighbour_window`, the neighbour distances (NaN where a
        point has no full window, or no earlier one, yet)."""
        settings = self.settings
        if settings.autoencoder:
            matrix, times = model_inputs(values, timestamps, settings)
            rows = [self._scale_errors(matrix, times, window) for window in settings.windows]
        else:
            matrix = as_matrix(values)
            rows = [persistence_errors(matrix, initial_length(len(matrix), settings))]
        if settings.neighbour_window:
            self.neighbour_scaling = value_range(matrix[:initial_length(len(matrix), settings)])
            rows.append(neighbour_distances(matrix, settings.neighbour_window, settings.neighbour_history,
                                            *self.neighbour_scaling))
        return np.stack(rows)

    def _scale_errors(self, values: np.ndarray, times: np.ndarray, window: int) -> np.ndarray:
        settings = self.settings
        length = len(values)
        probation = max(initial_length(length, settings), window + 1)  # >= 1 window to learn from
        refits = [probation] + (list(range(probation + settings.refit_every, length, settings.refit_every))
                                if settings.refit_every else [])
        errors = np.full(length, np.nan)
        keras.utils.set_random_seed(self.seed)  # one random stream: each member's own initial weights and batches
        members = [self._build(window, values.shape[1] + times.shape[1], member)
                   for member in range(settings.ensemble_size)]
        model = members[0] if len(members) == 1 else mean_forecast(members)
        minimum = maximum = None
        for number, (begin, end) in enumerate(zip(refits, refits[1:] + [length])):
            if number == 0 or settings.rescale:
                minimum, maximum = value_range(values[:begin])
            learn_from = 0 if number == 0 else max(0, begin - settings.refit_span)
            windows = windows_of(scaled_inputs(values[learn_from:begin], times[learn_from:begin], minimum, maximum),
                                 window)
            for member in members if len(windows) else []:  # none when refit_span is shorter than a window
                member.fit(self._masked(windows), windows.reshape(len(windows), -1),
                           epochs=settings.epochs if number == 0 else settings.refit_epochs,
                           batch_size=settings.batch_size, shuffle=True, verbose=0)
            first = begin if number else window - 1  # the first model also scores the probationary period
            scored = slice(first - window + 1, end)
            errors[first:end] = self._forecast_errors(
                model, windows_of(scaled_inputs(values[scored], times[scored], minimum, maximum), window),
                values.shape[1])
        self.models[window], self.scalings[window] = model, (minimum, maximum)
        return errors

    def _build(self, window: int, columns: int, member: int = 0) -> keras.Model:
        model = models.build(self.settings.model, input_dim=window * columns)
        if self.settings.ensemble_size > 1:  # unique names: the members sit side by side in `mean_forecast`
            model = keras.Model(model.input, model.output, name=f"{model.name}_{member}")
        # Several steps per call: the same batches and updates (bit-identical errors, tested), less time on
        # these small networks, where Python's per-step overhead is about a third of a step.
        model.compile(optimizer=keras.optimizers.Adam(self.settings.learning_rate), loss="mse",
                      steps_per_execution=STEPS_PER_EXECUTION)
        return model

    def _masked(self, windows: np.ndarray) -> np.ndarray:
        """Flat encoder inputs: the newest `masked_points` steps' values replaced by the last visible ones
        (time columns, known in advance, stay)."""
        hidden = self.settings.masked_points
        inputs = np.array(windows, dtype=np.float32, copy=True)
        if hidden:
            values = inputs.shape[2] - 2 * len(self.settings.time_features)
            inputs[:, -hidden:, :values] = inputs[:, -hidden - 1:-hidden, :values]
        return inputs.reshape(len(inputs), -1)

    def _forecast_errors(self, model, windows: np.ndarray, columns: int) -> np.ndarray:
        """Mean absolute error of each window's newest `error_points` steps (the first `columns`, the
        values), in scaled units."""
        # Direct calls, not model.predict: predict would retrace for every batch shape.
        reconstructed = np.concatenate([keras.ops.convert_to_numpy(model(inputs, training=False))
                                        for inputs in np.array_split(self._masked(windows),
                                                                     max(1, len(windows) // 8192 + 1))])
        newest = slice(-self.settings.error_points, None)
        difference = reconstructed.reshape(windows.shape)[:, newest, :columns] - windows[:, newest, :columns]
        return np.mean(np.abs(difference), axis=(1, 2))

    def state(self, errors: np.ndarray, values, at: int | None = None, timestamps=None) -> dict:
        """What the detector knows when point `at` (default: the next, unseen point) arrives: the models
        and scalings of the last `errors()` call, each row's (scale's, then the neighbour distance's)
        likelihood fit per short window, the range of the points before `at`, with `neighbour_window` the
        scaled windows its neighbour distances compare with, and for the recurring-error rule
        (`recurring_days`) `same_time`: the day in points, the time step and the time of point at - 1 (epoch
        seconds), and per row and short window the averaged errors of the `recurring_span` points before
        `at` (NaN where there are none), among which a later point's errors at its time of day on the
        previous days lie. The export bakes this in (see `online_export.OnlineExport`). `timestamps` as
        for `post_process`."""
        timestamps = timestamps_of(values, timestamps)
        values = as_matrix(values)
        day = points_per_day(timestamps, self.settings, len(values))
        at = len(values) if at is None else at
        recent = slice(max(0, at - self.settings.long_window + 1), at)
        span = recurring_span(day, self.settings)
        likelihood, history, same_time = [], [], []  # per scale, per short window
        for scale in errors:
            fits = [likelihood_fit(scale, self.settings, short) for short in self.settings.short_windows]
            likelihood.append([(float(mean[at]), float(std[at])) for _, mean, std in fits])
            # the averaged errors the empirical tail ranks a new one among
            history.append([averaged[recent][~np.isnan(averaged[recent])] for averaged, _, _ in fits])
            same_time.append([np.concatenate([np.full(max(0, span - at), np.nan), averaged[max(0, at - span):at]])
                              for averaged, _, _ in fits])
        state = {"likelihood": likelihood, "history": history,
                 "same_time": {"day": day, "errors": same_time,
                               "step": first_fit_step(timestamps, len(values), self.settings) if day else None,
                               "last_seconds": int(data.epoch_seconds(timestamps[at - 1:at])[0]) if day else None},
                 "low": values[:at].min(axis=0), "high": values[:at].max(axis=0)}
        if self.settings.neighbour_window:
            state["neighbours"] = self._neighbours_before(values, at)
        return state

    def _neighbours_before(self, values: np.ndarray, at: int) -> np.ndarray:
        """`[count, neighbour_window x columns]` float32: the scaled windows that the neighbour distances of
        points at - max(short_windows) + 1 .. at compare with (each uses the last `neighbour_history` of
        them that end `neighbour_window` points before it; see `neighbour_distances`), oldest first."""
        window, history = self.settings.neighbour_window, self.settings.neighbour_history
        newest = at - 2 * window + 1  # the last window point `at`'s own window does not overlap
        oldest = newest - history - max(self.settings.short_windows) + 2
        minimum, maximum = self.neighbour_scaling
        scaled = (values[max(0, oldest):max(0, newest + window)] - minimum) / (maximum - minimum)
        return windows_of(scaled, window).reshape(-1, window * values.shape[1])

    def post_process(self, errors: np.ndarray, values, settings: OnlineSettings | None = None,
                     timestamps=None) -> np.ndarray:
        """`post_process(errors, values, settings or self.settings, timestamps)`."""
        return post_process(errors, values, settings or self.settings, timestamps)


#: Training steps per `fit` call into TensorFlow (Keras' `steps_per_execution`; see `OnlineDetector._build`).
STEPS_PER_EXECUTION = 16


def mean_forecast(members: list[keras.Model]) -> keras.Model:
    """One model whose output is the mean of `members`' outputs (their layers shared, not copied): the
    ensemble's forecast, which scores and is exported like a single autoencoder."""
    inputs = keras.Input(shape=members[0].input_shape[1:], name="window")
    return keras.Model(inputs, keras.layers.Average(name="mean_forecast")([member(inputs) for member in members]),
                       name=f"mean_of_{len(members)}")


def post_process(errors: np.ndarray, values, settings: OnlineSettings, timestamps=None) -> np.ndarray:
    """Scores in [0, 1) from `OnlineDetector.errors()`' output: the statistics around the autoencoder, so a
    benchmark can switch components off without recomputing the errors.

    `values`: a `data.Series` or an array; `timestamps` (or the Series'): the points' times, which the
    recurring-error rule needs (`recurring_days`)."""
    timestamps = timestamps_of(values, timestamps)
    values = as_matrix(values)
    day = points_per_day(timestamps, settings, len(values))
    expected = (len(settings.windows) if settings.autoencoder else 1) + bool(settings.neighbour_window)
    if len(errors) != expected:
        raise ValueError(f"{len(errors)} rows of errors for settings that make {expected} (see OnlineDetector.errors)")

    def surprise_of(row: np.ndarray, row_settings: OnlineSettings) -> np.ndarray:
        if settings.likelihood:
            return anomaly_likelihood(row, row_settings, day)
        return np.nan_to_num(row, nan=0.0) / settings.raw_scale

    model_rows = errors[:-1] if settings.neighbour_window else errors  # the neighbour distance's is last
    surprises = [surprise_of(row, settings) for row in model_rows]
    neighbour = surprise_of(errors[-1], neighbour_likelihood_settings(settings)) if settings.neighbour_window else 0.0
    surprise = np.max(surprises, axis=0) if settings.combine == "max" else np.mean(surprises, axis=0)
    surprise = np.maximum(surprise, neighbour) if settings.neighbour_combine == "max" else surprise + neighbour
    initial = initial_length(len(values), settings)
    if settings.spatial_tolerance:
        outside = spatial_anomalies(values, settings.spatial_tolerance)
        outside[:initial] = False  # while the first fit's range is still forming (the third point is "outside")
        surprise = np.where(outside, settings.spatial_surprise, surprise)
    rest = int(round(settings.suppress_fraction * initial))
    kept = suppress_repeats(surprise, rest)
    if settings.alert_surprise:
        kept = silence_after_alerts(kept, rest, settings.alert_surprise)
    return scoring.anomaly_score(kept, settings.score_scale)


def neighbour_likelihood_settings(settings: OnlineSettings) -> OnlineSettings:
    """The settings of the neighbour distance's likelihood: the autoencoder's, with the empirical tail cap
    only when `neighbour_empirical_tail` (see `OnlineSettings`)."""
    return dataclasses.replace(settings, empirical_tail=settings.empirical_tail and settings.neighbour_empirical_tail)


def silence_after_alerts(surprise: np.ndarray, rest: int, level: float) -> np.ndarray:
    """Zero where an earlier alert (surprise >= `level`, itself not silenced) lies within `rest` points.

    `suppress_repeats` alone lets a rising ramp through, one higher point after another; NAB charges each
    such point outside a window. An alert silences the rest period after it, as CAD OSE's and Skyline's
    alert expiry do. A loop over the few points at or above `level`, not over the series."""
    silenced = np.array(surprise, copy=True)
    last_alert = None
    for index in np.flatnonzero(surprise >= level):
        if last_alert is not None and index - last_alert <= rest:
            silenced[index] = 0.0
        else:
            last_alert = index
    return silenced


def value_range(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column min and max; a constant column gets a range of 1 (scaled values then stay finite)."""
    minimum, maximum = values.min(axis=0), values.max(axis=0)
    return minimum, np.where(maximum > minimum, maximum, minimum + 1.0)


def scaled_inputs(values: np.ndarray, times: np.ndarray, minimum, maximum) -> np.ndarray:
    """The autoencoder's `[points, columns + time columns]` input: min-max scaled values, then the time
    columns (already in [0, 1])."""
    return np.concatenate([(values - minimum) / (maximum - minimum), times], axis=1)


def windows_of(values: np.ndarray, window: int) -> np.ndarray:
    """`[count, window, columns]` float32 sliding windows of a `[points, columns]` array."""
    if len(values) < window:
        return np.zeros((0, window, values.shape[1]), np.float32)
    view = np.lib.stride_tricks.sliding_window_view(values.astype(np.float32), window, axis=0)
    return np.ascontiguousarray(np.swapaxes(view, 1, 2))


def persistence_errors(values: np.ndarray, probation: int) -> np.ndarray:
    """|x_t - x_{t-1}| scaled by the probationary period's range: the 'no autoencoder' ablation."""
    minimum, maximum = value_range(values[:max(probation, 2)])
    scaled = (values - minimum) / (maximum - minimum)
    errors = np.full(len(values), np.nan)
    errors[1:] = np.mean(np.abs(np.diff(scaled, axis=0)), axis=1)
    return errors


def neighbour_distances(values: np.ndarray, window: int, history: int, minimum, maximum,
                        block: int = 1024) -> np.ndarray:
    """Per point t, the root-mean-square distance of the `window` values ending at t to the nearest of
    the `history` windows that end `window` or more points before t (so they share no point with it),
    values min-max scaled by (`minimum`, `maximum`); NaN until such a window exists.

    A causal nearest-neighbour ("discord") distance: the left matrix profile (Yeh et al. 2016) without
    z-normalisation, since a level the series never showed is as new as a shape. Written with NumPy
    rather than a library (stumpy computes it, but with z-normalised windows and a dependency on numba):
    one matrix product per block of `block` points against the candidate windows, O(points x history x
    window), bounded memory.
    """
    scaled = (np.asarray(values, np.float64) - minimum) / (maximum - minimum)
    windows = windows_of(scaled, window).reshape(-1, window * scaled.shape[1]).astype(np.float64)
    squares = np.sum(windows ** 2, axis=1)
    distances = np.full(len(scaled), np.nan)
    for first in range(window, len(windows), block):  # window `first` is the first with an earlier one
        last = min(len(windows), first + block)
        begin, end = max(0, first - window - history + 1), last - window  # every candidate of the block
        products = (squares[first:last, None] + squares[None, begin:end]
                    - 2.0 * windows[first:last] @ windows[begin:end].T)   # squared distances
        query, candidate = np.arange(first, last)[:, None], np.arange(begin, end)[None, :]
        products[(candidate > query - window) | (candidate <= query - window - history)] = np.inf
        nearest = np.maximum(products.min(axis=1), 0.0) / windows.shape[1]
        distances[first + window - 1:last + window - 1] = np.sqrt(nearest)
    return distances


def likelihood_fit(errors: np.ndarray, settings: OnlineSettings,
                   short_window: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Numenta's anomaly likelihood (nupic `AnomalyLikelihood`), its parts per point.

    averaged_t = mean of the last `short_window` errors; every `estimate_every` points a normal is fit
    to the averaged errors of the last `long_window` points, its mean and std floored at `min_mean` and
    `min_std`. Returns (averaged, mean, std) with mean_t, std_t the fit in force at t: made at the last
    multiple of `estimate_every` before t, so from points before t only (NaN until a fit exists).
    """
    averaged = pd.Series(errors).rolling(short_window, min_periods=1).mean()
    history = averaged.rolling(settings.long_window, min_periods=settings.estimate_every)
    mean, std = history.mean().to_numpy(), history.std().to_numpy()
    fitted_at = (np.arange(len(errors) + 1) // settings.estimate_every) * settings.estimate_every - 1
    valid = fitted_at >= 0
    mean_t = np.where(valid, mean[np.clip(fitted_at, 0, len(errors) - 1)], np.nan)
    std_t = np.where(valid, std[np.clip(fitted_at, 0, len(errors) - 1)], np.nan)
    mean_t = np.maximum(mean_t, settings.min_mean)
    std_t = np.maximum(std_t, max(settings.min_std, 1e-12))
    return averaged.to_numpy(), mean_t, std_t  # mean_t and std_t have one more entry: the next point's fit


def anomaly_likelihood(errors: np.ndarray, settings: OnlineSettings, day: int = 0) -> np.ndarray:
    """The mean over `settings.short_windows` of `short_likelihood`: one surprise per point.

    The 1-point mean catches a spike; a longer one catches a sustained rise of the error that no single
    point's error shows (a slow drift away from the forecast, a burst of noise)."""
    return np.mean([short_likelihood(errors, settings, short, day) for short in settings.short_windows], axis=0)


def short_likelihood(errors: np.ndarray, settings: OnlineSettings, short_window: int, day: int = 0) -> np.ndarray:
    """Surprise -log10 P(N(mean_t, std_t) > averaged_t) >= 0 from `likelihood_fit`; 0 where undefined.

    With `settings.empirical_tail`, an averaged error that is not the largest of the last `long_window`
    points is at most as surprising as its rank says (-log10 of the fraction of those points at or above
    it): errors that recur, like a daily edge the model cannot time, stop looking like 10-sigma events
    under the normal fit. A new largest error keeps the normal's surprise, unless (`day` > 0 points, see
    `points_per_day`) an error of at least 1 / (1 + `recurring_margin`) of it came at the same time on a
    previous day (`recurring_errors`): then it recurs too, and its rank caps it.
    """
    averaged, mean, std = likelihood_fit(errors, settings, short_window)
    surprise = tail_surprise((averaged - mean[:-1]) / std[:-1])
    if not settings.empirical_tail:
        return surprise
    history = pd.Series(averaged).rolling(settings.long_window, min_periods=settings.estimate_every)
    rank = history.rank(method="min", ascending=False).to_numpy()   # 1: the largest so far
    empirical = np.nan_to_num(-np.log10(rank / (history.count().to_numpy() + 1)), nan=0.0)
    record = rank == 1
    if day:
        record &= ~(averaged <= (1.0 + settings.recurring_margin) * recurring_errors(averaged, day, settings))
    return np.where(record, surprise, np.minimum(surprise, empirical))


def first_fit_step(timestamps, length: int, settings: OnlineSettings) -> float | None:
    """The median step in seconds between the first fit's timestamps (None without two distinct ones)."""
    steps = np.diff(data.epoch_seconds(timestamps)[:max(initial_length(length, settings), 2)])
    steps = steps[steps > 0]
    return float(np.median(steps)) if len(steps) else None


def points_per_day(timestamps, settings: OnlineSettings, length: int) -> int:
    """The day in points for the recurring-error rule: 86,400 s over the first fit's median time step
    (`first_fit_step`, fixed once the first fit is made); 0 when `recurring_days` is 0, or when a day
    holds `recurring_points` points or fewer (the same time "yesterday" would then reach into the future)."""
    if not settings.recurring_days:
        return 0
    if timestamps is None:
        raise ValueError(f"recurring_days {settings.recurring_days} needs the points' timestamps")
    if len(timestamps) != length:
        raise ValueError(f"{len(timestamps)} timestamps for {length} points")
    step = first_fit_step(timestamps, length, settings)
    day = int(round(TIME_PERIODS["day"] / step)) if step else 0
    return day if day > settings.recurring_points else 0


def recurring_span(day: int, settings: OnlineSettings) -> int:
    """How many points back the recurring-error rule looks (0 when it is off: `day` 0)."""
    return settings.recurring_days * day + settings.recurring_points if day else 0


def recurring_errors(averaged: np.ndarray, day: int, settings: OnlineSettings) -> np.ndarray:
    """Per point t, the largest of `averaged` at t - d x `day` +- `recurring_points` for d = 1 ..
    `recurring_days` (-inf where there is none): the errors at the same time of day on the previous days.
    `day` > `recurring_points`, so every point used lies before t; `day` 0 (the rule off): all -inf."""
    if not day:
        return np.full(len(averaged), -np.inf)
    spread, length = settings.recurring_points, len(averaged)
    # around[j]: the largest of averaged[j - 2 spread .. j] (the front padded), so point t's errors at
    # t - lag +- spread are around[t - lag + spread], from t = lag - spread on
    padded = np.concatenate([np.full(spread, np.nan), averaged])
    around = pd.Series(padded).rolling(2 * spread + 1, center=True, min_periods=1).max().to_numpy()
    around = np.nan_to_num(around, nan=-np.inf)
    largest = np.full(length, -np.inf)
    for days in range(1, settings.recurring_days + 1):
        lag = days * day
        first = lag - spread
        if first < length:
            largest[first:] = np.maximum(largest[first:], around[first - lag + spread:length - lag + spread])
    return largest


def tail_surprise(z: np.ndarray) -> np.ndarray:
    """-log10 of the normal upper tail P(Z > z), accurate far into the tail; 0 where z is NaN."""
    return np.nan_to_num(-special.log_ndtr(-z) / np.log(10.0), nan=0.0)


def spatial_anomalies(values: np.ndarray, tolerance: float) -> np.ndarray:
    """True where some column leaves the range of all earlier points by more than `tolerance` x range."""
    frame = pd.DataFrame(values)
    low, high = frame.cummin().shift(1).to_numpy(), frame.cummax().shift(1).to_numpy()
    margin = tolerance * (high - low)
    with np.errstate(invalid="ignore"):
        outside = ((values > high + margin) | (values < low - margin)) & (high > low)
    return outside.any(axis=1)
