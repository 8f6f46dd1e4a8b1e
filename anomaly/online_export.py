"""The online detector frozen into a TensorFlow Serving model: recent raw values in, the newest point's
anomaly score out.

    export = OnlineExport(detector, errors, values, threshold=0.5, timestamps=timestamps)  # state after the last point
    export.export("saved_models/anomaly_online")

Signature `serving_default`:
    values: float32 `[batch, context]` (univariate) or `[batch, context, columns]`: the `context` most
        recent raw values, oldest first, the point to score last; `context = max(windows,
        neighbour_window) + max(short_windows) - 1` (written in serving.json beside the export).
    timestamps (only when the detector has `time_features`): int64 `[batch, context]`, each value's
        time in seconds since 1970-01-01 00:00, the wall-clock time as the CSV writes it (UTC where it
        gives a time zone), as `data.epoch_seconds` computes it: the autoencoder sees its phase in the
        day and the week, and the newest one places the request for the recurring-error rule (below).
    -> anomaly_score (float32, [0, 1]), is_anomaly (bool, score >= threshold), surprise (-log10 p),
       spatial_anomaly (bool), forecast (the last scale's forecast of the newest value(s)).

Everything the detector had learnt when it was exported is a constant of the graph: each scale's
autoencoder weights and min-max scaling, for each scale and short window the likelihood fit (mean, std)
and the recent N-point mean errors (the empirical tail ranks a new one among them; the last
`recurring_days` days of them also give the recurring-error rule the errors at a request's time of day on
the previous days: the request's newest timestamp says how many first-fit time steps after the last point
seen it comes, so the export agrees with the detector for the next point on a regular series, but not
across a gap or a change of step; a detector without `time_features` has no timestamps input, and its
export applies no recurring-error rule), the range of all
points seen (the spatial rule), and with `neighbour_window` the neighbour distance's scaling and the
scaled windows it compares with (the last `neighbour_history` that end a window's length before the next
point, plus max(short_windows) - 1 older ones for the points before it; float32, neighbour_window x
columns x about 8,650 values): a request's neighbour distances are exactly the detector's for the point
after the last one it saw. The errors of the `max(short_windows) - 1` points before the newest are
recomputed from the request with the exported model, so within that many points after the detector's
last refit the export's score differs from the one the detector gave while learning (which scored those
points with the model before the refit). It does not keep learning while it serves, and it applies no
suppression (that needs the scores of earlier requests): a client that wants one alert per event drops
alerts within the rest period of the previous one. A window with a non-finite value (NaN, inf, or a
float32 overflow such as 1e39) always scores 1.0 and is an anomaly.
"""

import math
from pathlib import Path

import numpy as np
import tensorflow as tf

from anomaly import data, scoring
from anomaly.presets import TIME_PERIODS
from core import export


class OnlineExport(tf.Module):
    """A TF function of recent raw values with an `OnlineDetector`'s state baked in.

    Args:
        detector: an `online.OnlineDetector` after `errors()` (its models and scalings are used).
        errors: that call's output.
        values: the series it scored, `[points]` or `[points, columns]`.
        threshold: score at or above which `is_anomaly` is True.
        timestamps: the points' times; the recurring-error rule (`recurring_days`) needs them.
    """

    def __init__(self, detector, errors: np.ndarray, values, threshold: float, timestamps=None):
        super().__init__()
        from anomaly import online  # late: online imports keras models

        settings = detector.settings
        if not settings.autoencoder:
            raise ValueError("the export needs the autoencoder (settings.autoencoder=True)")
        self.univariate = np.ndim(values) == 1
        state = detector.state(errors, values, timestamps=timestamps)
        values = online.as_matrix(values)
        self.settings = settings
        self.columns = values.shape[1]
        self.periods = tuple(settings.time_features)
        self.threshold = float(threshold)
        self.context = max(*settings.windows, settings.neighbour_window) + max(settings.short_windows) - 1
        self.models = [detector.models[window] for window in settings.windows]
        self.scalings = [detector.scalings[window] for window in settings.windows]
        self.likelihood, self.history, self.same_time = state["likelihood"], state["history"], state["same_time"]
        self.low, self.high = state["low"], state["high"]
        self.neighbours = state.get("neighbours")  # with neighbour_window: the windows they are compared with
        self.neighbour_scaling = detector.neighbour_scaling
        self.neighbour_capped = online.neighbour_likelihood_settings(settings).empirical_tail  # its tail cap
        shape = [None, self.context] if self.univariate else [None, self.context, self.columns]
        self.input_signature = [tf.TensorSpec(shape, tf.float32, name="values")]
        if self.periods:
            self.input_signature.append(tf.TensorSpec([None, self.context], tf.int64, name="timestamps"))
        self._serve = tf.function(self.serve, input_signature=self.input_signature)

    def serve(self, values, timestamps=None):
        """The graph: see the module docstring."""
        settings = self.settings
        matrix = values[..., None] if self.univariate else values              # [batch, context, columns]
        times = self._time_columns(timestamps, matrix)                                # [batch, context, 2 x periods]
        width = self.columns + 2 * len(self.periods)
        finite = tf.reduce_all(tf.math.is_finite(matrix), axis=[1, 2])
        safe = tf.where(tf.math.is_finite(matrix), matrix, tf.zeros_like(matrix))
        surprises = []
        # the recurring-error rule places each request by its newest timestamp (none in the signature: off)
        offset = self._steps_after_next(timestamps) if timestamps is not None and self.same_time["day"] else None
        for model, (minimum, maximum), fits, histories, recent, window in zip(
                self.models, self.scalings, self.likelihood, self.history, self.same_time["errors"], settings.windows):
            scaled = tf.concat([(safe - tf.constant(minimum, tf.float32)) / tf.constant(maximum - minimum, tf.float32),
                                times], axis=2)
            # The windows ending at the newest max(short_windows) points, oldest first, in one model call.
            shorts = max(settings.short_windows)
            windows = tf.stack([scaled[:, end - window:end, :]
                                for end in range(self.context - shorts + 1, self.context + 1)], axis=1)
            windows = tf.reshape(windows, [-1, window, width])            # [batch x shorts, window, width]
            reconstructed = tf.reshape(model(tf.reshape(self._masked(windows), [-1, window * width]),
                                             training=False), [-1, shorts, window, width])[..., :self.columns]
            windows = tf.reshape(windows, [-1, shorts, window, width])
            scored = slice(window - settings.error_points, window)
            errors = tf.reduce_mean(tf.abs(reconstructed[:, :, scored] - windows[:, :, scored, :self.columns]),
                                    axis=[2, 3])                           # [batch, shorts]
            reconstructed = reconstructed[:, -1]                               # the newest point's window
            # The model's forecast of the newest value (from the last window), in raw units.
            forecast = reconstructed[:, -1, :] * tf.constant(maximum - minimum, tf.float32) + tf.constant(minimum,
                                                                                                      tf.float32)
            surprises.append(self._surprise(tf.cast(errors, tf.float64), fits, histories, settings.empirical_tail,
                                            self._same_time_errors(recent, offset)))
        stacked = tf.stack(surprises, axis=1)
        surprise = tf.reduce_max(stacked, axis=1) if settings.combine == "max" else tf.reduce_mean(stacked, axis=1)
        if settings.neighbour_window and self.neighbours is not None and len(self.neighbours):
            neighbour = self._surprise(self._neighbour_distances(safe), self.likelihood[-1], self.history[-1],
                                       self.neighbour_capped,
                                       self._same_time_errors(self.same_time["errors"][-1], offset))
            surprise = tf.maximum(surprise, neighbour) if settings.neighbour_combine == "max" else surprise + neighbour
        newest_value = tf.cast(safe[:, -1, :], tf.float64)
        spatial = tf.zeros_like(finite)
        if settings.spatial_tolerance:
            margin = settings.spatial_tolerance * (self.high - self.low)
            beyond = (newest_value > self.high + margin) | (newest_value < self.low - margin)
            outside = beyond & (self.high > self.low)
            spatial = tf.reduce_any(outside, axis=1)
            surprise = tf.where(spatial, tf.constant(settings.spatial_surprise, tf.float64), surprise)
        score = scoring.anomaly_score(surprise, settings.score_scale)
        score = tf.where(finite, score, tf.ones_like(score))
        surprise = tf.where(finite, surprise, tf.fill(tf.shape(surprise), tf.constant(math.inf, tf.float64)))
        return {"anomaly_score": tf.cast(score, tf.float32), "is_anomaly": score >= self.threshold,
                "surprise": tf.cast(surprise, tf.float32), "spatial_anomaly": spatial & finite,
                "forecast": forecast[:, 0] if self.univariate else forecast}

    def _surprise(self, errors, fits, histories, capped: bool, same_time=None):
        """As `online.post_process` for one row: `[batch, shorts]` float64 errors of the newest
        max(short_windows) points (NaN: none) -> `[batch]` surprise; `capped`: with the empirical tail cap.
        `same_time`: per short window, `[batch]` the largest averaged error at the newest point's time of
        day on the previous days (`_same_time_errors`; None or -inf: none)."""
        settings = self.settings
        if not settings.likelihood:
            newest = errors[:, -1]
            return tf.where(tf.math.is_nan(newest), tf.zeros_like(newest), newest) / settings.raw_scale
        short_surprises = []  # as online.anomaly_likelihood: the mean over the short windows
        same_time = same_time or [None] * len(settings.short_windows)
        for short, (mean, std), past, recurring in zip(settings.short_windows, fits, histories, same_time):
            recent = errors[:, -short:]  # a rolling mean skips NaN, as pandas' does
            known = tf.reduce_sum(tf.cast(~tf.math.is_nan(recent), tf.float64), axis=1)
            averaged = tf.reduce_sum(tf.where(tf.math.is_nan(recent), tf.zeros_like(recent), recent), axis=1) / \
                tf.maximum(known, 1.0)
            z = (averaged - mean) / std
            surprise = tf.where(tf.math.is_nan(z), tf.zeros_like(z), self._tail_surprise(z))  # no fit yet: 0
            if capped and len(past):  # as online.short_likelihood: rank among the past
                ranked = tf.constant(past, tf.float64)
                rank = 1.0 + tf.reduce_sum(tf.cast(ranked[None, :] > averaged[:, None], tf.float64), axis=1)
                empirical = -tf.math.log(rank / (len(past) + 2.0)) / math.log(10.0)
                # a new largest error within recurring_margin of one at this time on a previous day recurs too
                record = rank == 1.0
                if recurring is not None:
                    record &= ~(averaged <= (1.0 + settings.recurring_margin) * recurring)
                surprise = tf.where(record, surprise, tf.minimum(surprise, empirical))
            short_surprises.append(tf.where(known > 0, surprise, tf.zeros_like(surprise)))
        return tf.reduce_mean(tf.stack(short_surprises, axis=1), axis=1)

    def _steps_after_next(self, timestamps):
        """`[batch]` int64: how many steps after the point after the last one seen each request's newest point
        comes (its timestamp against the last point's, in first-fit steps)."""
        steps = tf.cast(timestamps[:, -1] - self.same_time["last_seconds"], tf.float64) / self.same_time["step"]
        return tf.cast(tf.round(steps), tf.int64) - 1

    def _same_time_errors(self, recent, offset):
        """As `online.recurring_errors` for the newest point of each request, `offset` (`[batch]`) steps after
        the next one: per short window, `[batch]` the largest of the stored averaged errors `recent` (the
        `online.recurring_span` points before the next one) at its time of day on the previous
        `recurring_days` days +- `recurring_points` (-inf where none is stored); None when `offset` is None
        (the rule off, or no timestamps to place a request by)."""
        if offset is None:
            return None
        day, settings = self.same_time["day"], self.settings
        # every (day, point) position before the next one that the rule looks at, as one gather per row
        shifts = np.array([-days * day + shift for days in range(1, settings.recurring_days + 1)
                           for shift in range(-settings.recurring_points, settings.recurring_points + 1)])
        result = []
        for stored in recent:
            span = len(stored)
            index = span + offset[:, None] + tf.constant(shifts, tf.int64)[None, :]   # [batch, positions]
            found = tf.gather(tf.constant(np.nan_to_num(stored, nan=-np.inf), tf.float64),
                              tf.clip_by_value(index, 0, span - 1))
            inside = (index >= 0) & (index < span)
            result.append(tf.reduce_max(tf.where(inside, found, tf.constant(-np.inf, tf.float64)), axis=1))
        return result

    def _neighbour_distances(self, safe):
        """As `online.neighbour_distances`: `[batch, shorts]` float64 distances of the windows ending at the
        newest max(short_windows) points to the stored ones each may use (NaN where none).

        The point `offset` places before the newest uses the `neighbour_history` stored windows that end
        `window` points before it: a contiguous slice of the stored ones (oldest first), `offset` short of
        the newest. One `[batch, history]` product per offset keeps the memory at batch x history."""
        window, shorts, history = self.settings.neighbour_window, max(self.settings.short_windows), \
            self.settings.neighbour_history
        minimum, maximum = self.neighbour_scaling
        scaled = tf.cast((tf.cast(safe, tf.float64) - minimum) / (maximum - minimum), tf.float32)
        stored = tf.cast(tf.constant(self.neighbours, tf.float32), tf.float64)         # [count, features]
        count, distances = len(self.neighbours), []
        for offset in reversed(range(shorts)):  # oldest first
            end = self.context - offset
            query = tf.cast(tf.reshape(scaled[:, end - window:end, :], [-1, window * self.columns]), tf.float64)
            usable = stored[max(0, count - offset - history):max(0, count - offset)]
            if usable.shape[0] == 0:
                distances.append(tf.fill(tf.shape(query[:, 0]), tf.constant(math.nan, tf.float64)))
                continue
            # min over candidates of |q - s|^2 = |q|^2 + min(|s|^2 - 2 q.s): one [batch, history] tensor
            nearest = tf.reduce_sum(query ** 2, axis=1) + tf.reduce_min(
                tf.reduce_sum(usable ** 2, axis=1)[None] - 2.0 * tf.matmul(query, usable, transpose_b=True), axis=1)
            distances.append(tf.sqrt(tf.maximum(nearest, 0.0) / float(window * self.columns)))
        return tf.stack(distances, axis=1)

    def _masked(self, windows):
        """As `OnlineDetector._masked`: the newest `masked_points` steps' values repeat the last visible
        ones; their time columns stay."""
        hidden = self.settings.masked_points
        if not hidden:
            return windows
        values, times = windows[:, :, :self.columns], windows[:, :, self.columns:]
        visible = values[:, :-hidden, :]
        values = tf.concat([visible, tf.repeat(visible[:, -1:, :], hidden, axis=1)], axis=1)
        return tf.concat([values, times], axis=2)

    def _time_columns(self, timestamps, matrix):
        """As `online.time_columns`, in the graph: `[batch, context, 2 x periods]` float32 (no columns
        without `time_features`)."""
        if not self.periods:
            return tf.zeros_like(matrix[:, :, :0])
        columns = []
        for period in self.periods:
            phase = 2 * math.pi * tf.cast(tf.math.floormod(timestamps, TIME_PERIODS[period]), tf.float64) / \
                TIME_PERIODS[period]
            columns += [tf.sin(phase), tf.cos(phase)]
        return tf.cast((tf.stack(columns, axis=2) + 1.0) / 2.0, tf.float32)

    @staticmethod
    def _tail_surprise(z):
        """-log10 P(Z > z) in float64: log(erfc) where erfc does not underflow, its asymptote beyond.

        Written out because TensorFlow has no log_ndtr (scipy's, used in training, is not a TF op); the
        two agree to 1e-6 (a test compares them)."""
        near = tf.minimum(z, 25.0)  # float64 erfc underflows near z = 37
        exact = -tf.math.log(0.5 * tf.math.erfc(near / math.sqrt(2.0))) / math.log(10.0)
        far = tf.maximum(z, 25.0)  # Q(z) ~ phi(z) / z * (1 - 1/z^2 + 3/z^4), relative error < 1e-7 here
        log_tail = (-far ** 2 / 2 - tf.math.log(far * math.sqrt(2 * math.pi))
                    + tf.math.log(1 - far ** -2 + 3 * far ** -4))
        return tf.where(z < 25.0, exact, -log_tail / math.log(10.0))

    def predict(self, values: np.ndarray, timestamps: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Runs the serving function in-process on `[batch, context(, columns)]` raw values (and their
        `[batch, context]` int64 epoch seconds when the detector has `time_features`)."""
        inputs = [tf.constant(values, tf.float32)] + ([tf.constant(timestamps, tf.int64)] if self.periods else [])
        return {key: tensor.numpy() for key, tensor in self._serve(*inputs).items()}

    def requests(self, values, timestamps=None) -> dict[str, np.ndarray]:
        """`requests(values, timestamps, self.describe([]))`: every full request of a series."""
        return requests(values, timestamps, self.describe([]))

    def describe(self, columns: list[str]) -> dict:
        """What a client needs to build requests (written as serving.json beside the export)."""
        return {"signature": "serving_default", "input": "values", "context": self.context,
                "columns": list(columns), "univariate": self.univariate, "threshold": self.threshold,
                "shape": [None, self.context] if self.univariate else [None, self.context, self.columns],
                "time_features": list(self.periods),
                "timestamps": ("int64 [batch, context]: each value's wall-clock time in seconds since "
                               "1970-01-01 00:00" if self.periods else None),
                "outputs": ["anomaly_score", "is_anomaly", "surprise", "spatial_anomaly", "forecast"],
                "suppression": "none in the graph; alerts within the rest period of an earlier one are the "
                               "client's to drop"}

    def export(self, model_dir, extra_files: dict[str, Path] | None = None) -> Path:
        """Writes the next version of `model_dir` (TF Serving layout, warmup request included)."""
        middle = ((self.low + self.high) / 2).astype(np.float32)
        warmup = np.broadcast_to(middle, (1, self.context, self.columns)).copy()
        warmup = {"values": warmup[..., 0] if self.univariate else warmup}
        if self.periods:
            warmup["timestamps"] = np.arange(self.context, dtype=np.int64)[None] * 300
        return export.export_saved_model(
            model_dir, {"serving_default": (self.serve, self.input_signature)}, track=self.models,
            extra_files=extra_files, warmup={"serving_default": warmup})


def contexts(values, context: int, dtype=np.float32) -> np.ndarray:
    """Every full request of a series, `[points - context + 1, context(, columns)]`: row i scores point
    i + context - 1 from the `context - 1` points before it (a strided view, no copy)."""
    matrix = np.asarray(values, dtype)
    view = np.lib.stride_tricks.sliding_window_view(matrix, context, axis=0)
    return view if matrix.ndim == 1 else np.swapaxes(view, 1, 2)


def requests(values, timestamps, description: dict) -> dict[str, np.ndarray]:
    """Every full request of a series for an export described by `description` (its serving.json):
    {"values": float32 contexts} and, when it has time features, {"timestamps": int64 contexts}."""
    inputs = {"values": contexts(values, description["context"])}
    if description.get("time_features"):
        inputs["timestamps"] = contexts(data.epoch_seconds(timestamps), description["context"], np.int64)
    return inputs

