"""Every hyper-parameter and path of an anomaly run, with the defaults we measured best so far."""

import dataclasses
from dataclasses import field

from anomaly import scoring
from anomaly.presets import ALERT_THRESHOLDS, DEFAULT_DETECTOR, ONLINE_DETECTORS  # dataclasses only: no TensorFlow
from core.config import RunOptions
from core.errors import UserError


@dataclasses.dataclass
class AnomalyConfig(RunOptions):
    EXPORT_PREFIX = "anomaly"

    # Data: one of csv / nab_file; neither = the embedded synthetic series.
    csv: str | None = field(default=None, metadata={"help": "a CSV with timestamp and value columns"})
    labels: str | None = field(default=None, metadata={
        "help": "NAB combined_windows.json with this CSV's labelled windows (key: --labels-key)"})
    labels_key: str | None = field(default=None, metadata={
        "help": "the CSV's key in --labels, e.g. realTraffic/speed_6005.csv (default: its NAB path)"})
    nab_dir: str | None = field(default=None, metadata={"help": "a NAB checkout (data/, labels/)"})
    nab_file: str | None = field(default=None, metadata={
        "help": "a NAB file key, e.g. realAWSCloudwatch/ec2_disk_write_bytes_1ef3de.csv; downloaded "
                "(checksummed) into --cache-dir when --nab-dir is not given"})
    cache_dir: str = field(default="~/.cache/keras_apps/nab", metadata={"help": "where NAB downloads go"})
    timestamp_column: str = field(default="timestamp", metadata={"help": "timestamp column of --csv"})
    value_column: str = field(default="value", metadata={
        "help": "value column of --csv; several, comma-separated (a,b,c), for one multivariate detector"})
    interpolate: bool = field(default=False, metadata={"help": "fill empty values by interpolation"})
    file_order: bool = field(default=False, metadata={
        "help": "accept repeated or backward timestamps in --csv (a daylight-saving change, as in NAB's files) "
                "and score the rows in file order"})
    # Windows and splits (chronological; scaling is fit on the training part only).
    window: int = field(default=48, metadata={"help": "points per window"})
    stride: int = field(default=1, metadata={"help": "step between training windows"})
    train_fraction: float = field(default=0.5, metadata={"help": "first part of the series, for training"})
    validation_fraction: float = field(default=0.2, metadata={"help": "next part, for early stopping"})
    # Detector.
    detector: str = field(default=DEFAULT_DETECTOR, metadata={
        "help": f"an online detector (keeps learning, NAB-benchmarked): {', '.join(ONLINE_DETECTORS)} "
                f"(anomaly.presets.ONLINE_DETECTORS; default {DEFAULT_DETECTOR}); 'window' is the "
                "train/validation/test window autoencoder below (--model, --window, --threshold...)"})
    alert_threshold: float | None = field(default=None, metadata={
        "help": "online detectors: score at or above which a point is an anomaly (default: the detector's "
                "NAB corpus threshold, presets.ALERT_THRESHOLDS)"})
    # Model and training (--detector window).
    model: str = field(default="dense", metadata={
        "help": "registered model: base, dense, tanh, dropout, conv, lstm or reference"})
    l2: float = field(default=0.0, metadata={"help": "L2 kernel regularisation factor"})
    epochs: int = field(default=40, metadata={"help": "maximum epochs (early stopping usually ends sooner)"})
    batch_size: int = field(default=64, metadata={"help": "windows per batch"})
    learning_rate: float = field(default=1e-3, metadata={"help": "Adam learning rate"})
    patience: int = field(default=5, metadata={"help": "early-stopping patience in epochs"})
    reduce_lr_patience: int = field(default=2, metadata={
        "help": "epochs without improvement before the learning rate is halved (0: never); below --patience, "
                "so that the lower rate trains before early stopping"})
    # Detection.
    threshold: str = field(default="percentile", metadata={
        "help": "threshold on training errors", "choices": scoring.THRESHOLD_METHODS})
    percentile: float = field(default=95.0, metadata={"help": "percentile for --threshold percentile"})
    k: float = field(default=3.0, metadata={"help": "k for --threshold mean_std (mean + k std)"})
    # Run.
    seed: int = field(default=0, metadata={"help": "random seed (data generator, weights, shuffling)"})
    tensorboard: bool = field(default=False, metadata={"help": "write TensorBoard logs under --run-dir"})

    def validate(self) -> None:
        """Raises UserError for values no run can use."""
        super().validate()
        if self.csv and self.nab_file:
            raise UserError("pass either --csv or --nab-file, not both")
        if self.labels and not self.csv:
            raise UserError("--labels goes with --csv (NAB files find their own labels)")
        if self.window < 2:
            raise UserError(f"--window must be at least 2, got {self.window}")
        if not 1 <= self.stride <= self.window:
            raise UserError(f"--stride must be between 1 and --window ({self.window}), got {self.stride}")
        if not (0 < self.train_fraction < 1 and 0 < self.validation_fraction < 1
                and self.train_fraction + self.validation_fraction < 1):
            raise UserError("--train-fraction and --validation-fraction must be in (0, 1) and sum below 1 "
                            "(the rest is the test part)")
        if self.epochs < 1 or self.batch_size < 1 or self.learning_rate <= 0:
            raise UserError("--epochs, --batch-size and --learning-rate must be positive")
        if self.patience < 0 or self.reduce_lr_patience < 0:
            raise UserError("--patience and --reduce-lr-patience must be >= 0")
        if self.patience and self.reduce_lr_patience >= self.patience:
            raise UserError(f"--reduce-lr-patience ({self.reduce_lr_patience}) must be below --patience "
                            f"({self.patience}): otherwise early stopping ends the run when the rate is lowered")
        if self.detector != "window" and self.detector not in ONLINE_DETECTORS:
            raise UserError(f"--detector {self.detector!r}: choose window or one of "
                            f"{', '.join(ONLINE_DETECTORS)}")
        if self.detector != "window" and self.alert_threshold is None and self.detector not in ALERT_THRESHOLDS:
            raise UserError(f"--detector {self.detector!r} has no NAB-measured alert threshold "
                            "(presets.ALERT_THRESHOLDS): give --alert-threshold")
        if "," in self.value_column and self.detector == "window":
            raise UserError("several --value-column names need an online --detector (the window detector "
                            "is univariate)")
        if self.detector != "window" and self.strategy != "default":
            raise UserError("--strategy is for --detector window: the online detector learns point by point "
                            "on one device")
        if self.alert_threshold is not None and not 0 < self.alert_threshold <= 1:
            raise UserError(f"--alert-threshold must be in (0, 1], got {self.alert_threshold}")
        if not 0 < self.percentile < 100:
            raise UserError(f"--percentile must be in (0, 100), got {self.percentile}")
