"""Detect anomalies in a time series: the online detector scores every point as it arrives and keeps
learning; the report has per-point scores, flags, metrics where labels exist and plots; the export is a
TensorFlow Serving model of the detector's state.

    python scripts/train_anomaly.py                                   # embedded synthetic series
    python scripts/train_anomaly.py --csv my_series.csv               # online detector (aeOnline)
    python scripts/train_anomaly.py --csv machine.csv --value-column temperature,pressure,rpm
    python scripts/train_anomaly.py --nab-dir NAB --nab-file realAWSCloudwatch/ec2_disk_write_bytes_1ef3de.csv
    python scripts/train_anomaly.py --csv my_series.csv --detector window --model conv   # offline autoencoder
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.quiet import quiet  # noqa: E402  (TensorFlow start-up noise off; see core/quiet.py)

quiet()

from anomaly import data  # noqa: E402  (NumPy and pandas only: input errors show before TF loads)
from anomaly.config import AnomalyConfig  # noqa: E402
from core import config as core_config  # noqa: E402
from core.errors import exit_on_user_error  # noqa: E402


def _summary(part: str, metrics: dict) -> str:
    events = metrics["events"]
    return (f"{part}: point F1 {metrics['points']['f1']:.3f}, event F1 {events['f1']:.3f} "
            f"({events['detected']}/{events['windows']} labelled windows, {events['false_alarms']} false alarms)")


@exit_on_user_error
def main(argv=None) -> int:
    config = core_config.parse(AnomalyConfig, __doc__, argv)
    if config.detector == "window":
        prepared = data.prepare(config)
    else:
        from anomaly import presets  # dataclasses only

        series = data.load_series(config)
        presets.check_length(series, presets.ONLINE_DETECTORS[config.detector])

    from anomaly import online_task, task  # TensorFlow loads only once the flags and the data are valid
    from core import distribute

    distribute.get(config.strategy)  # before any other TensorFlow op (multi-worker needs that)
    if config.detector == "window":
        result = task.run(config, prepared)
        print(_summary("test part", result.metrics["test"]))
    else:
        result = online_task.run(config, series)
        print(_summary(f"held-out part (the {len(series) - result.metrics['held_out_from']} points after the "
                       "initial fit)", result.metrics["held_out"]))
    distribute.print_outcome(config, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
