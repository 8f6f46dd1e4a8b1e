import json
import urllib.error

import numpy as np
import pandas as pd
import pytest

from anomaly import data
from core.errors import UserError


def write_csv(path, rows, header="timestamp,value"):
    path.write_text(header + "\n" + "".join(f"{row}\n" for row in rows))
    return path


def good_rows(count=100):
    times = pd.date_range("2024-01-01", periods=count, freq="5min")
    return [f"{t},{np.sin(i / 5):.4f}" for i, t in enumerate(times)]


def test_loads_a_valid_csv(tmp_path):
    series = data.load_csv(write_csv(tmp_path / "s.csv", good_rows()))
    assert len(series) == 100 and series.values.dtype == np.float64
    assert np.all(np.diff(series.timestamps) > np.timedelta64(0))


@pytest.mark.parametrize("make, message", [
    (lambda p: p, "s.csv: file not found"),
    (lambda p: (p.write_text(""), p)[1], "s.csv: file is empty"),
    (lambda p: write_csv(p, []), "header but no rows"),
    (lambda p: write_csv(p, ["2024-01-01,1"], header="time,reading"),
     "no 'timestamp' column; the columns are ['time', 'reading']"),
    (lambda p: write_csv(p, good_rows(5)[:3] + ["2024-01-01 01:00:00,abc"]),
     "line 5: 'value' is not a number: 'abc'"),
    (lambda p: write_csv(p, good_rows(6)[:2] + ["2024-01-01 00:10:00,", "2024-01-01 00:15:00,nan"]),
     "2 empty or NaN values (first at line 4); fill them or pass --interpolate"),
    (lambda p: write_csv(p, [good_rows(3)[1], good_rows(3)[0], good_rows(3)[2]]),
     "timestamps are not sorted: line 3"),
    (lambda p: write_csv(p, [good_rows(3)[0], good_rows(3)[1], good_rows(3)[1]]),
     "duplicate timestamp 2024-01-01 00:05:00 at lines 3 and 4"),
    (lambda p: write_csv(p, [f"2024-01-01 00:0{i}:00,7" for i in range(5)]), "constant (7): zero variance"),
    (lambda p: write_csv(p, ["yesterday,1", "2024-01-01,2"]), "line 2: cannot parse timestamp 'yesterday'"),
])
def test_bad_csv_is_a_user_error_naming_file_and_row(tmp_path, make, message):
    path = make(tmp_path / "s.csv")
    with pytest.raises(UserError) as error:
        data.load_csv(path)
    assert message in str(error.value)
    assert str(path) in str(error.value)


def test_interpolate_fills_gaps_linearly_in_time(tmp_path):
    rows = ["2024-01-01 00:00:00,0", "2024-01-01 00:05:00,", "2024-01-01 00:10:00,2", "2024-01-01 00:15:00,5"]
    series = data.load_csv(write_csv(tmp_path / "s.csv", rows), interpolate=True)
    np.testing.assert_allclose(series.values, [0, 1, 2, 5])


def test_other_column_names(tmp_path):
    rows = [r.replace(",", ";") for r in good_rows(10)]
    path = tmp_path / "s.csv"
    path.write_text("when,reading\n" + "".join(r.replace(";", ",") + "\n" for r in rows))
    series = data.load_csv(path, timestamp_column="when", value_column="reading")
    assert len(series) == 10


def test_labels_must_match_the_data(tmp_path):
    series = data.load_csv(write_csv(tmp_path / "s.csv", good_rows()))
    labels = tmp_path / "windows.json"
    labels.write_text(json.dumps({"cat/s.csv": [["2024-01-01 01:00:00", "2024-01-01 02:00:00"]],
                                  "cat/other.csv": [["2030-01-01 00:00:00", "2030-01-02 00:00:00"]]}))
    windows = data.load_windows(labels, "cat/s.csv", series)
    assert windows == [(pd.Timestamp("2024-01-01 01:00"), pd.Timestamp("2024-01-01 02:00"))]
    series.windows = windows
    assert series.labels().sum() == 13 and series.window_bounds() == [(12, 24)]
    with pytest.raises(UserError, match="lies outside the data"):
        data.load_windows(labels, "cat/other.csv", series)
    with pytest.raises(UserError, match="no labels for 'elsewhere/s.csv'; did you mean 'cat/s.csv'"):
        data.load_windows(labels, "elsewhere/s.csv", series)


def test_split_needs_a_window_in_every_part(tmp_path):
    series = data.load_csv(write_csv(tmp_path / "s.csv", good_rows(100)))
    split = data.chronological_split(series, 0.5, 0.2, window=10)
    assert split.parts == {"train": (0, 50), "validation": (50, 70), "test": (70, 100)}
    with pytest.raises(UserError, match="the validation part has 20 points, shorter than one window"):
        data.chronological_split(series, 0.5, 0.2, window=25)


def test_scaling_uses_the_training_part_only():
    values = np.array([0.0, 10.0, 5.0, 40.0])
    scaling = data.MinMaxScaling.fit(values[:2])
    np.testing.assert_allclose(scaling.transform(values), [0, 1, 0.5, 4])
    with pytest.raises(UserError, match="constant"):
        data.MinMaxScaling.fit(np.ones(5))


def test_windows_cover_every_point_including_the_tail():
    windows, starts = data.sliding_windows(np.arange(10), window=4, stride=3)
    assert starts.tolist() == [0, 3, 6]
    windows, starts = data.sliding_windows(np.arange(11), window=4, stride=3)
    assert starts.tolist() == [0, 3, 6, 7] and windows[-1].tolist() == [7, 8, 9, 10]
    assert windows.dtype == np.float32


def test_synthetic_series_is_seeded_and_labelled():
    a, b, c = data.synthetic_series(0), data.synthetic_series(0), data.synthetic_series(1)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.array_equal(a.values, c.values)
    assert len(a) == 4032 and len(a.windows) == 4
    split = data.chronological_split(a, 0.5, 0.2, 48)
    first_points = [first for first, _ in a.window_bounds()]
    assert all(first >= split.train_end for first in first_points)


def test_download_offline_is_a_clear_user_error(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(data.urllib.request, "urlopen", offline)
    with pytest.raises(UserError, match="offline, pass --nab-dir"):
        data.download_nab(tmp_path, ["artificialWithAnomaly/art_daily_flatmiddle.csv"])
    assert not any(tmp_path.rglob("*.*"))


def test_download_rejects_a_checksum_mismatch_and_writes_nothing(tmp_path, monkeypatch):
    class Response:
        def __enter__(self):
            return self

        def __exit__(self, *args):
            return False

        def read(self):
            return b"not the real file"

    monkeypatch.setattr(data.urllib.request, "urlopen", lambda *a, **k: Response())
    with pytest.raises(UserError, match="checksum mismatch"):
        data.download_nab(tmp_path, ["artificialWithAnomaly/art_daily_flatmiddle.csv"])
    assert not any(tmp_path.rglob("*.*"))


def test_download_refuses_unknown_files(tmp_path):
    with pytest.raises(UserError, match="is not a NAB file"):
        data.download_nab(tmp_path, ["nope/nothing.csv"])


def test_real_nab_file_loads_with_its_windows(shared_nab_dir):
    series = data.load_nab_series(shared_nab_dir, "realAWSCloudwatch/ec2_disk_write_bytes_1ef3de.csv")
    assert len(series) == 4730 and len(series.windows) >= 1
    assert len(series.anomaly_points) == len(series.windows)  # NAB: one labelled instant per window here
    (first, last), = series.window_bounds()
    assert series.timestamps[first] <= np.datetime64(series.anomaly_points[0]) <= series.timestamps[last]
    assert len(data.nab_data_files(shared_nab_dir)) == 58


def test_manifest_matches_the_real_nab_copy(shared_nab_dir):
    checksums = data.NAB_MANIFEST["sha256"]
    for key in data.nab_data_files(shared_nab_dir):
        assert data._sha256((shared_nab_dir / "data" / key).read_bytes()) == checksums[f"data/{key}"], key


def test_nab_files_with_repeated_timestamps_load_in_file_order(shared_nab_dir):
    # NAB repeats 11 timestamps at a daylight-saving change here; NAB scores rows in file order.
    path = shared_nab_dir / "data" / "realAWSCloudwatch" / "ec2_network_in_5abac7.csv"
    with pytest.raises(UserError, match="duplicate timestamp"):
        data.load_csv(path)
    series = data.load_nab_series(shared_nab_dir, "realAWSCloudwatch/ec2_network_in_5abac7.csv")
    assert len(series) == sum(1 for _ in path.open()) - 1


def test_window_edges_use_the_first_occurrence_of_a_repeated_timestamp():
    stamps = np.array(["2024-01-01T00:00", "2024-01-01T00:05", "2024-01-01T00:05", "2024-01-01T00:10",
                       "2024-01-01T00:15"], dtype="datetime64[ns]")
    series = data.Series("s", stamps, np.arange(5.0), [(pd.Timestamp("2024-01-01 00:05"),
                                                        pd.Timestamp("2024-01-01 00:12"))], "test")
    assert series.window_bounds() == [(1, 3)]
    assert series.labels().tolist() == [False, True, True, True, False]


def test_file_order_keeps_repeated_and_backward_timestamps_in_file_order(tmp_path):
    path = tmp_path / "dst.csv"
    path.write_text("timestamp,value\n2024-10-27 01:00,1\n2024-10-27 01:30,2\n2024-10-27 01:00,3\n"
                    "2024-10-27 01:30,4\n2024-10-27 02:00,5\n")
    with pytest.raises(UserError, match="sort the file by time, or pass --file-order"):
        data.load_csv(path)
    series = data.load_csv(path, file_order=True)
    assert series.values.tolist() == [1, 2, 3, 4, 5]
    assert [str(stamp)[11:16] for stamp in series.timestamps] == ["01:00", "01:30", "01:00", "01:30", "02:00"]
    with pytest.raises(UserError, match="constant"):  # file order relaxes the order checks only
        path.write_text("timestamp,value\n2024-01-01 00:00,7\n2024-01-01 00:00,7\n2024-01-01 00:05,7\n")
        data.load_csv(path, file_order=True)
    assert data.load_csv(path, file_order=True, allow_constant=True).values.tolist() == [7, 7, 7]  # NAB's way


def test_file_order_reaches_the_loader_from_the_config(tmp_path):
    from anomaly.config import AnomalyConfig

    path = tmp_path / "dst.csv"
    path.write_text("timestamp,value\n2024-10-27 01:00,1\n2024-10-27 01:00,2\n2024-10-27 01:30,4\n")
    with pytest.raises(UserError, match="duplicate timestamp"):
        data.load_series(AnomalyConfig(csv=str(path)))
    assert len(data.load_series(AnomalyConfig(csv=str(path), file_order=True))) == 3
