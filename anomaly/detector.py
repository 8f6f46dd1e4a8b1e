"""A trained window autoencoder packaged with its scaling and threshold: raw windows in, scores out.

The same TensorFlow function scores windows in-process and serves them from the exported SavedModel,
so the two cannot drift apart.
"""

from pathlib import Path

import numpy as np
import tensorflow as tf

from anomaly import scoring
from anomaly.data import MinMaxScaling
from core import export


class WindowDetector:
    """Scores raw (unscaled) float32 windows `[batch, window]` with a trained autoencoder.

    Args:
        model: the autoencoder, trained on windows scaled by `scaling`.
        scaling: min-max scaling fit on the training part.
        threshold: reconstruction-error threshold (in scaled units); above it a window is anomalous.
    """

    def __init__(self, model, scaling: MinMaxScaling, threshold: float):
        self.model = model
        self.scaling = scaling
        self.threshold = float(threshold)
        self.window = int(model.input_shape[-1])
        self.input_signature = [tf.TensorSpec([None, self.window], tf.float32, name="windows")]
        self._score = tf.function(self.score, input_signature=self.input_signature)

    def score(self, windows):
        """Graph of the detector: returns reconstruction, reconstruction_error, anomaly_score, is_anomaly."""
        minimum = tf.constant(self.scaling.minimum, tf.float32)
        value_range = tf.constant(self.scaling.maximum - self.scaling.minimum, tf.float32)
        threshold = tf.constant(self.threshold, tf.float32)
        # A window with NaN, inf or a float32 overflow is an anomaly (error inf, score 1.0), never a NaN
        # score that no threshold flags; the model sees it with those values zeroed.
        finite = tf.reduce_all(tf.math.is_finite(windows), axis=-1)
        scaled = (tf.where(tf.math.is_finite(windows), windows, tf.zeros_like(windows)) - minimum) / value_range
        reconstructed = self.model(scaled, training=False)
        error = tf.where(finite, tf.reduce_mean(tf.square(reconstructed - scaled), axis=-1), float("inf"))
        return {
            "reconstruction": reconstructed * value_range + minimum,
            "reconstruction_error": error,
            "anomaly_score": tf.where(finite, scoring.anomaly_score(error, threshold), 1.0),
            "is_anomaly": error > threshold,
        }

    def predict(self, windows: np.ndarray, batch_size: int = 8192) -> dict[str, np.ndarray]:
        """Scores windows in batches; returns NumPy arrays keyed like the serving signature."""
        parts = [self._score(tf.constant(windows[i:i + batch_size], tf.float32))
                 for i in range(0, len(windows), batch_size)]
        return {key: np.concatenate([part[key].numpy() for part in parts]) for key in parts[0]}

    def export(self, model_dir, extra_files: dict[str, Path] | None = None) -> Path:
        """Writes the next version of `model_dir` with `serving_default` = `score` on raw windows."""
        return export.export_saved_model(
            model_dir, {"serving_default": (self.score, self.input_signature)}, track=[self.model],
            extra_files=extra_files, warmup={"serving_default": {"windows": self.warmup_windows()}})

    def warmup_windows(self, rows: int = 1) -> np.ndarray:
        """Raw windows at the middle of the training range: a harmless warmup request."""
        middle = (self.scaling.minimum + self.scaling.maximum) / 2
        return np.full((rows, self.window), middle, dtype=np.float32)
