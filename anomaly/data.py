"""Time series in, validated: CSV and NAB loading, the embedded synthetic default, splits, windows.

Every user mistake becomes a `UserError` naming the file and, where there is one, the line:

    series = load_csv("data/machine.csv")                          # timestamp,value columns
    series = load_nab_series(nab_dir, "realAWSCloudwatch/ec2_disk_write_bytes_1ef3de.csv")
    series = synthetic_series(seed=0)                               # labelled, no files needed
"""

import dataclasses
import hashlib
import json
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import UserError

NAB_MANIFEST = json.loads((Path(__file__).parent / "nab_manifest.json").read_text())
NAB_URL = "https://raw.githubusercontent.com/numenta/NAB/{commit}/{path}"
NAB_WINDOWS_FILE = "labels/combined_windows.json"
NAB_POINTS_FILE = "labels/combined_labels.json"


def epoch_seconds(timestamps) -> np.ndarray:
    """int64 seconds since 1970-01-01 00:00 of wall-clock timestamps (what the online detector's time
    features and its export's `timestamps` input take)."""
    return np.asarray(timestamps).astype("datetime64[s]").astype(np.int64)


@dataclasses.dataclass
class Series:
    """One univariate time series and its labelled anomaly windows.

    Attributes:
        name: a short name (the NAB relative path for NAB files).
        timestamps: strictly increasing `datetime64[ns]` values.
        values: float64 values, no NaN: `[points]`, or `[points, columns]` for a multivariate series.
        windows: labelled anomaly windows as inclusive (start, end) timestamp pairs; may be empty.
        source: where the data came from (a path or "synthetic").
        anomaly_points: the labelled anomaly instants inside the windows (NAB's combined_labels.json),
            shown in plots; scoring uses the windows.
        columns: the value columns' names.
    """

    name: str
    timestamps: np.ndarray
    values: np.ndarray
    windows: list[tuple[pd.Timestamp, pd.Timestamp]]
    source: str
    anomaly_points: list[pd.Timestamp] = dataclasses.field(default_factory=list)
    columns: list[str] = dataclasses.field(default_factory=lambda: ["value"])

    def __len__(self) -> int:
        return len(self.values)

    def labels(self) -> np.ndarray:
        """A boolean per point: True inside a labelled anomaly window."""
        inside = np.zeros(len(self), dtype=bool)
        for first, last in self.window_bounds():
            inside[first:last + 1] = True
        return inside

    def window_bounds(self) -> list[tuple[int, int]]:
        """Labelled windows as inclusive (first, last) point indices.

        As NAB's scorer does, an edge whose timestamp occurs in the data is its first occurrence (NAB's
        files repeat a few timestamps at daylight-saving changes); otherwise the nearest point inside.
        """
        bounds = []
        for start, end in self.windows:
            first = _index_of(self.timestamps, np.datetime64(start), inside_from="left")
            last = _index_of(self.timestamps, np.datetime64(end), inside_from="right")
            if last >= first:
                bounds.append((first, last))
        return bounds

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({"timestamp": self.timestamps, "value": self.values})


def _index_of(timestamps: np.ndarray, moment: np.datetime64, inside_from: str) -> int:
    exact = np.flatnonzero(timestamps == moment)
    if len(exact):
        return int(exact[0])
    if inside_from == "left":
        return int(np.searchsorted(timestamps, moment, side="left"))
    return int(np.searchsorted(timestamps, moment, side="right")) - 1


# ----------------------------------------------------------------------------------------------------
# CSV files


def load_csv(path, *, timestamp_column: str = "timestamp", value_column: str | list[str] = "value",
             interpolate: bool = False, file_order: bool = False, allow_constant: bool = False,
             name: str | None = None) -> Series:
    """Reads and validates a `timestamp,value` CSV (NAB's format; other column names by argument).

    Args:
        path: the CSV file.
        timestamp_column: the column of timestamps (any format pandas parses).
        value_column: the column of numeric values, or a list of them (a multivariate series: values
            `[points, columns]`).
        interpolate: fill empty values by linear interpolation in time instead of refusing them.
        file_order: accept repeated and backward timestamps (a clock's daylight-saving change), keeping the
            rows in file order, as NAB scores them; refused otherwise.
        allow_constant: accept a constant series (refused otherwise: nothing to learn from). NAB's corpus
            has both on purpose (timestamps repeat at daylight-saving changes, `art_flatline.csv` is
            constant), so NAB files load with both.
        name: the series name; the file name by default.

    Raises:
        UserError: missing or empty file, missing column (lists the columns present), an unparseable
            timestamp or non-numeric value (with its line), empty values (with how many) unless
            `interpolate`, unsorted or duplicate timestamps, or a constant series.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise UserError(f"{path}: file is empty")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: not a readable CSV file ({str(error).strip()})") from None
    except pd.errors.EmptyDataError:
        raise UserError(f"{path}: file is empty") from None
    columns = [value_column] if isinstance(value_column, str) else list(value_column)
    for column in (timestamp_column, *columns):
        if column not in frame.columns:
            raise UserError(f"{path}: no {column!r} column; the columns are {list(frame.columns)}")
    if frame.empty:
        raise UserError(f"{path}: file has a header but no rows")

    def line(index: int) -> int:  # 1-based line in the file: the header is line 1
        return int(index) + 2

    try:
        timestamps = pd.to_datetime(frame[timestamp_column], errors="coerce", format="mixed")
    except (ValueError, TypeError) as error:  # e.g. pandas' "Mixed timezones detected"
        raise UserError(f"{path}: cannot parse the {timestamp_column!r} column: {str(error).splitlines()[0]} "
                        "(give every timestamp the same UTC offset, or none)") from None
    if getattr(timestamps.dt, "tz", None) is not None:
        timestamps = timestamps.dt.tz_convert("UTC").dt.tz_localize(None)
    bad = np.flatnonzero(timestamps.isna().to_numpy())
    if len(bad):
        raise UserError(f"{path}: line {line(bad[0])}: cannot parse timestamp "
                        f"{frame[timestamp_column].iloc[bad[0]]!r} ({len(bad)} such rows)")

    stamps = timestamps.to_numpy(dtype="datetime64[ns]")
    steps = np.diff(stamps)
    duplicate = np.flatnonzero(steps == np.timedelta64(0, "ns"))
    if len(duplicate) and not file_order:
        i = duplicate[0]
        raise UserError(f"{path}: duplicate timestamp {frame[timestamp_column].iloc[i + 1]} at lines "
                        f"{line(i)} and {line(i + 1)} ({len(duplicate)} duplicates); pass --file-order to keep "
                        "the rows in file order (a daylight-saving change)")
    backwards = np.flatnonzero(steps < np.timedelta64(0, "ns"))
    if len(backwards) and not file_order:
        i = backwards[0]
        raise UserError(f"{path}: timestamps are not sorted: line {line(i + 1)} "
                        f"({frame[timestamp_column].iloc[i + 1]}) comes before line {line(i)} "
                        f"({frame[timestamp_column].iloc[i]}); sort the file by time, or pass --file-order to keep the "
                        "rows in file order (a daylight-saving change)")

    def parse(column: str) -> np.ndarray:
        text = frame[column].str.strip()
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
        missing = ((text == "") | text.str.lower().isin(["nan", "na", "null", "none"])).to_numpy()
        non_numeric = np.flatnonzero(np.isnan(values) & ~missing)
        if len(non_numeric):
            raise UserError(f"{path}: line {line(non_numeric[0])}: {column!r} is not a number: "
                            f"{text.iloc[non_numeric[0]]!r} ({len(non_numeric)} such rows)")
        # float32 (what the models compute in) overflows past 3.4e38: such values and inf are refused
        # here rather than becoming NaN errors that no threshold flags.
        with np.errstate(invalid="ignore"):
            too_large = np.flatnonzero(np.abs(values) > np.finfo(np.float32).max)
        if len(too_large):
            raise UserError(f"{path}: line {line(too_large[0])}: {column!r} is {text.iloc[too_large[0]]!r}: "
                            f"not a finite number within float32 range (±3.4e38) ({len(too_large)} such rows)")
        gaps = np.flatnonzero(np.isnan(values))
        if len(gaps):
            if not interpolate:
                raise UserError(f"{path}: {column!r}: {len(gaps)} empty or NaN values (first at line "
                                f"{line(gaps[0])}); fill them or pass --interpolate to interpolate linearly")
            if len(gaps) == len(values):
                raise UserError(f"{path}: every value of {column!r} is empty")
            values = pd.Series(values, index=pd.DatetimeIndex(stamps)).interpolate(
                method="linear" if file_order else "time", limit_direction="both").to_numpy()
        if not allow_constant and np.nanstd(values) == 0.0:
            raise UserError(f"{path}: {column!r} is constant ({values[0]:g}): zero variance, "
                            "nothing to learn from")
        return values

    values = np.stack([parse(column) for column in columns], axis=1) if len(columns) > 1 else parse(columns[0])
    return Series(name=name or path.name, timestamps=stamps, values=values, windows=[], source=str(path),
                  columns=columns)


# ----------------------------------------------------------------------------------------------------
# NAB labels and files


def load_windows(labels_path, key: str, series: Series) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Reads the labelled windows of `key` from a NAB `combined_windows.json` and checks them.

    Raises:
        UserError: the labels file is missing or not JSON, has no entry for `key`, or a window does not
            match the data (outside its time range, or start after end).
    """
    labels_path = Path(labels_path)
    if not labels_path.is_file():
        raise UserError(f"{labels_path}: labels file not found")
    try:
        labels = json.loads(labels_path.read_text())
    except json.JSONDecodeError as error:
        raise UserError(f"{labels_path}: not valid JSON ({error})") from None
    if not isinstance(labels, dict):
        raise UserError(f"{labels_path}: expected a JSON object of file -> windows")
    if key not in labels:
        close = [k for k in labels if Path(k).name == Path(key).name]
        hint = f"; did you mean {close[0]!r}?" if close else f" ({len(labels)} entries)"
        raise UserError(f"{labels_path}: no labels for {key!r}{hint}")
    first, last = series.timestamps[0], series.timestamps[-1]
    windows = []
    for number, pair in enumerate(labels[key], start=1):
        try:
            start, end = (pd.Timestamp(value) for value in pair)
        except (TypeError, ValueError):
            raise UserError(f"{labels_path}: {key!r} window {number} is not a [start, end] pair: "
                            f"{pair!r}") from None
        if start > end:
            raise UserError(f"{labels_path}: {key!r} window {number} starts after it ends: {pair}")
        if end < first or start > last:
            raise UserError(f"{labels_path}: {key!r} window {number} ({start} .. {end}) lies outside "
                            f"the data in {series.source} ({pd.Timestamp(first)} .. {pd.Timestamp(last)});"
                            " the labels file does not match the data file")
        windows.append((start, end))
    return windows


def nab_data_files(nab_dir) -> list[str]:
    """The NAB corpus's data files below `nab_dir/data`, as '<category>/<file>.csv' keys."""
    data_dir = Path(nab_dir) / "data"
    if not data_dir.is_dir():
        raise UserError(f"{nab_dir}: not a NAB folder (no data/ folder inside)")
    return sorted(str(path.relative_to(data_dir)) for path in data_dir.glob("*/*.csv"))


def load_nab_series(nab_dir, key: str) -> Series:
    """Loads NAB file `key` ('<category>/<file>.csv') with its labelled windows."""
    nab_dir = Path(nab_dir)
    series = load_csv(nab_dir / "data" / key, name=key, file_order=True, allow_constant=True)
    series.windows = load_windows(nab_dir / NAB_WINDOWS_FILE, key, series)
    points_path = nab_dir / NAB_POINTS_FILE
    if points_path.is_file():
        series.anomaly_points = [pd.Timestamp(value) for value in json.loads(points_path.read_text()).get(key, [])]
    return series


def download_nab(cache_dir, keys: list[str]) -> Path:
    """Downloads NAB files (and the labels) from the pinned numenta/NAB commit into `cache_dir`.

    Each file is checked against the SHA-256 in `nab_manifest.json`, written to a temporary name and
    renamed, so an interrupted download leaves nothing half-written. Files already present and intact
    are not downloaded again.

    Returns:
        `cache_dir`, now laid out like NAB (`data/<category>/<file>.csv`, `labels/...`).

    Raises:
        UserError: an unknown key, no network, or a checksum mismatch.
    """
    cache_dir = Path(cache_dir)
    checksums = NAB_MANIFEST["sha256"]
    unknown = [key for key in keys if f"data/{key}" not in checksums]
    if unknown:
        raise UserError(f"{unknown[0]!r} is not a NAB file; NAB files look like "
                        "'realAWSCloudwatch/ec2_disk_write_bytes_1ef3de.csv'")
    for relative in [NAB_WINDOWS_FILE] + [f"data/{key}" for key in keys]:
        target = cache_dir / relative
        if target.is_file() and _sha256(target.read_bytes()) == checksums[relative]:
            continue
        url = NAB_URL.format(commit=NAB_MANIFEST["commit"], path=relative)
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                content = response.read()
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise UserError(f"could not download {url} ({error}); offline, pass --nab-dir with a local "
                            "copy of NAB (https://github.com/numenta/NAB)") from None
        if _sha256(content) != checksums[relative]:
            raise UserError(f"{url}: checksum mismatch (expected sha256 {checksums[relative][:12]}…); "
                            "not saved")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        partial.write_bytes(content)
        partial.rename(target)
    return cache_dir


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


# ----------------------------------------------------------------------------------------------------
# The embedded default: a seeded, labelled, NAB-like series


def synthetic_series(seed: int = 0, *, days: int = 14, minutes_per_step: int = 5) -> Series:
    """A labelled NAB-like series: a daily cycle with noise and four injected anomalies.

    Like NAB's artificial files (14 days at 5-minute steps = 4,032 points). The anomalies sit after the
    first half so that a chronological split trains on clean data and validates/tests on anomalies:
    a jump up, a jump down, a flat middle (the cycle stops) and a burst of spikes.
    """
    rng = np.random.default_rng(seed)
    steps_per_day = 24 * 60 // minutes_per_step
    count = days * steps_per_day
    time = np.arange(count)
    values = 50 + 20 * np.sin(2 * np.pi * time / steps_per_day) + rng.normal(0, 1.5, count)
    timestamps = np.datetime64("2026-01-01T00:00") + time * np.timedelta64(minutes_per_step, "m")

    anomalies = []  # inclusive point ranges, each later padded into a labelled window

    def at(day_fraction: float) -> int:
        return int(day_fraction * steps_per_day)

    start = at(days * 0.60)  # jump up for 3 hours
    values[start:start + 36] += 35
    anomalies.append((start, start + 35))
    start = at(days * 0.76)  # jump down for 3 hours
    values[start:start + 36] -= 35
    anomalies.append((start, start + 35))
    start = at(days * 0.84)  # flat middle: the cycle stalls at its current level for 6 hours
    values[start:start + 72] = values[start] + rng.normal(0, 0.3, 72)
    anomalies.append((start, start + 71))
    start = at(days * 0.93)  # spike density: a burst of single-point spikes over 4 hours
    spikes = start + rng.choice(48, size=12, replace=False)
    values[spikes] += rng.choice([-1, 1], size=12) * rng.uniform(25, 40, size=12)
    anomalies.append((start, start + 47))

    margin = steps_per_day // 8  # NAB's windows extend around the anomaly; 3 hours each side here
    windows = [(pd.Timestamp(timestamps[max(a - margin, 0)]), pd.Timestamp(timestamps[min(b + margin, count - 1)]))
               for a, b in anomalies]
    return Series(name=f"synthetic_seed{seed}", timestamps=timestamps.astype("datetime64[ns]"),
                  values=values, windows=windows, source="synthetic")


def load_series(config) -> Series:
    """The series an `AnomalyConfig` names (--csv, --nab-file), validated; the synthetic default otherwise."""
    if config.csv:
        columns = [column.strip() for column in config.value_column.split(",")]
        if "" in columns or len(set(columns)) < len(columns):
            raise UserError(f"--value-column {config.value_column!r}: give distinct column names separated "
                            "by commas")
        series = load_csv(config.csv, timestamp_column=config.timestamp_column, value_column=columns,
                          interpolate=config.interpolate, file_order=config.file_order)
        if config.labels:
            key = config.labels_key or "/".join(Path(config.csv).resolve().parts[-2:])
            series.windows = load_windows(config.labels, key, series)
        return series
    if config.nab_file:
        nab_dir = config.nab_dir or download_nab(Path(config.cache_dir).expanduser(), [config.nab_file])
        return load_nab_series(nab_dir, config.nab_file)
    if config.nab_dir:
        raise UserError("--nab-dir needs --nab-file to say which series to train on")
    return synthetic_series(config.seed)


def prepare(config) -> tuple[Series, "Split"]:
    """The configured series and its chronological split, validated before anything is written."""
    series = load_series(config)
    return series, chronological_split(series, config.train_fraction, config.validation_fraction,
                                       config.window)


# ----------------------------------------------------------------------------------------------------
# Splits, scaling and windows


@dataclasses.dataclass(frozen=True)
class Split:
    """Chronological split points: train = [0, train_end), validation = [train_end, validation_end),
    test = [validation_end, n)."""

    train_end: int
    validation_end: int
    length: int

    @property
    def parts(self) -> dict[str, tuple[int, int]]:
        return {"train": (0, self.train_end), "validation": (self.train_end, self.validation_end),
                "test": (self.validation_end, self.length)}


def chronological_split(series: Series, train_fraction: float, validation_fraction: float,
                        window: int) -> Split:
    """Splits by time; every part must hold at least one full window."""
    length = len(series)
    split = Split(int(length * train_fraction), int(length * (train_fraction + validation_fraction)), length)
    for part, (begin, end) in split.parts.items():
        if end - begin < window:
            raise UserError(f"{series.source}: the {part} part has {end - begin} points, shorter than one "
                            f"window ({window}); the series has {length} points: use a smaller --window "
                            "or a longer series")
    return split


@dataclasses.dataclass(frozen=True)
class MinMaxScaling:
    """Min-max scaling to [0, 1], fit on the training part only (values outside map beyond [0, 1])."""

    minimum: float
    maximum: float

    @classmethod
    def fit(cls, values: np.ndarray, source: str = "series") -> "MinMaxScaling":
        minimum, maximum = float(np.min(values)), float(np.max(values))
        if maximum == minimum:
            raise UserError(f"{source}: the training part is constant ({minimum:g}); cannot scale it")
        return cls(minimum, maximum)

    def transform(self, values):
        return (values - self.minimum) / (self.maximum - self.minimum)


def window_starts(length: int, window: int, stride: int) -> np.ndarray:
    """Starts of sliding windows covering [0, length): every `stride`, plus one ending at the last point."""
    if length < window:
        raise ValueError(f"length {length} is shorter than one window ({window})")
    starts = np.arange(0, length - window + 1, stride)
    if starts[-1] != length - window:
        starts = np.append(starts, length - window)
    return starts


def sliding_windows(values: np.ndarray, window: int, stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Windows `[count, window]` (float32) and their start indices, covering every point."""
    starts = window_starts(len(values), window, stride)
    view = np.lib.stride_tricks.sliding_window_view(np.asarray(values, dtype=np.float32), window)
    return view[starts], starts


def describe(series: Series) -> dict:
    """What the seeds reported about the data: entries, variables, head and summary statistics."""
    frame = series.frame()
    steps = np.diff(series.timestamps).astype("timedelta64[s]").astype(np.int64)
    return {
        "name": series.name,
        "source": series.source,
        "entries": len(frame),
        "variables": {column: str(dtype) for column, dtype in frame.dtypes.items()},
        "start": str(pd.Timestamp(series.timestamps[0])),
        "end": str(pd.Timestamp(series.timestamps[-1])),
        "median_step_s": float(np.median(steps)) if len(steps) else None,
        "labelled_windows": len(series.windows),
        "labelled_points": int(series.labels().sum()),
        "head": frame.head(5).astype(str).to_dict(orient="records"),
        "summary": {key: float(value) for key, value in frame["value"].describe().items()},
    }
