"""Train a window autoencoder anomaly detector, evaluate it, and export a SavedModel with its report.

    python scripts/train_anomaly.py                                   # embedded synthetic series
    python scripts/train_anomaly.py --csv my_series.csv --model conv
    python scripts/train_anomaly.py --nab-dir NAB --nab-file realAWSCloudwatch/ec2_disk_write_bytes_1ef3de.csv
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import config as core_config  # noqa: E402
from core.errors import exit_on_user_error  # noqa: E402
from anomaly import data  # noqa: E402  (NumPy and pandas only: input errors show before TF loads)
from anomaly.config import AnomalyConfig  # noqa: E402


@exit_on_user_error
def main(argv=None) -> int:
    config = core_config.parse(AnomalyConfig, __doc__, argv)

    prepared = data.prepare(config)

    from anomaly import task  # TensorFlow loads only once the flags and the data are valid
    from core import distribute

    distribute.get(config.strategy)  # before any other TensorFlow op (multi-worker needs that)
    result = task.run(config, prepared)
    test = result.metrics["test"]
    print(f"test part: point F1 {test['points']['f1']:.3f}, event F1 {test['events']['f1']:.3f} "
          f"({test['events']['detected']}/{test['events']['windows']} windows, "
          f"{test['events']['false_alarms']} false alarms)")
    distribute.print_outcome(config, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
