"""Score a new CSV with an exported online anomaly detector (scripts/train_anomaly.py's SavedModel).

    python scripts/detect_anomalies.py --model-dir saved_models/anomaly_aeOnline --csv new.csv \
        --output scores.csv [--plot scores.png] [--version 3]

Each point is scored from the `context` points up to it (the export's serving.json says how many), with
the state the detector had when it was exported: it does not learn from the new file. Writes
timestamp,<value column(s)>,anomaly_score,is_anomaly; the first context - 1 points have no full
context and are left empty. The value columns are the ones the detector was trained on.
"""

import argparse
import json
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.quiet import quiet  # noqa: E402  (TensorFlow start-up noise off; see core/quiet.py)

quiet()

from core.errors import UserError, exit_on_user_error  # noqa: E402
from anomaly import data  # noqa: E402


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", required=True, help="saved_models/<name> (or one version folder)")
    parser.add_argument("--version", type=int, default=None, help="version to load (default: the newest)")
    parser.add_argument("--csv", required=True, help="the series to score: a timestamp column and the value column(s)")
    parser.add_argument("--timestamp-column", default="timestamp")
    parser.add_argument("--output", required=True, help="CSV to write")
    parser.add_argument("--plot", default=None, help="PNG of the series, flags and score (optional)")
    parser.add_argument("--batch-size", type=int, default=4096, help="contexts per request")
    return parser.parse_args(argv)


def version_folder(model_dir: Path, version: int | None) -> Path:
    from anomaly.online_task import SERVING_FILE

    if (model_dir / "saved_model.pb").is_file():
        folder = model_dir
    else:
        if not model_dir.is_dir():
            raise UserError(f"--model-dir {model_dir}: no such folder")
        numbered = sorted(int(path.name) for path in model_dir.iterdir() if path.is_dir() and path.name.isdigit()
                          and (path / "saved_model.pb").is_file())
        if not numbered:
            raise UserError(f"--model-dir {model_dir}: no exported version (no <n>/saved_model.pb)")
        if version is not None and version not in numbered:
            raise UserError(f"--version {version}: not in {model_dir} (versions: {numbered})")
        folder = model_dir / str(version if version is not None else numbered[-1])
    if not (folder / SERVING_FILE).is_file():
        raise UserError(f"{folder}: no {SERVING_FILE}; not an online anomaly detector export "
                        "(train one with scripts/train_anomaly.py)")
    return folder


@exit_on_user_error
def main(argv=None) -> int:
    arguments = parse_arguments(argv)
    if arguments.batch_size < 1:
        raise UserError(f"--batch-size must be positive, got {arguments.batch_size}")
    folder = version_folder(Path(arguments.model_dir), arguments.version)
    from anomaly.online_task import SERVING_FILE

    serving = json.loads((folder / SERVING_FILE).read_text())
    context, columns = serving["context"], serving["columns"]
    parts = [data.load_csv(arguments.csv, timestamp_column=arguments.timestamp_column, value_column=column)
             for column in columns]
    length = len(parts[0])
    if length < context:
        raise UserError(f"{arguments.csv}: {length} rows; the detector scores a point from the {context} points "
                        f"up to it, so it needs at least {context} rows")
    output = Path(arguments.output)
    if not output.parent.is_dir():
        raise UserError(f"--output {output}: folder {output.parent} does not exist")

    import numpy as np
    import pandas as pd
    import tensorflow as tf

    values = parts[0].values if serving["univariate"] else np.stack([part.values for part in parts], axis=1)
    function = tf.saved_model.load(str(folder)).signatures[serving["signature"]]
    matrix = np.asarray(values, np.float32)
    view = np.lib.stride_tricks.sliding_window_view(matrix, context, axis=0)
    contexts = view if matrix.ndim == 1 else np.swapaxes(view, 1, 2)
    scores, flags = [], []
    for begin in range(0, len(contexts), arguments.batch_size):
        answer = function(values=tf.constant(contexts[begin:begin + arguments.batch_size]))
        scores.append(answer["anomaly_score"].numpy())
        flags.append(answer["is_anomaly"].numpy())
    padding = context - 1
    score = np.concatenate([np.full(padding, np.nan), np.concatenate(scores)])
    flag = pd.array(np.concatenate([np.zeros(padding, bool), np.concatenate(flags)]), dtype="boolean")
    flag[:padding] = pd.NA
    frame = pd.DataFrame({"timestamp": pd.to_datetime(parts[0].timestamps).strftime("%Y-%m-%d %H:%M:%S")})
    for column, part in zip(columns, parts):
        frame[column] = part.values
    frame["anomaly_score"], frame["is_anomaly"] = score, flag
    temporary = output.with_name(f".{output.name}.{uuid.uuid4().hex}.tmp")
    frame.to_csv(temporary, index=False)
    temporary.rename(output)
    if arguments.plot:
        _plot(Path(arguments.plot), parts[0], score, np.asarray(flag.fillna(False), bool), serving["threshold"])
    alerts = int(np.asarray(flag.fillna(False), bool).sum())
    print(f"{length} rows scored ({length - padding} with a full context): {alerts} anomalies at threshold "
          f"{serving['threshold']:.3f} -> {output}")
    return 0


def _plot(path: Path, series, score, flags, threshold: float) -> None:
    from core.plots import plt

    figure, (top, bottom) = plt.subplots(2, 1, figsize=(11, 5), sharex=True)
    top.plot(series.timestamps, series.values, linewidth=0.7, label=series.columns[0] if series.columns else "value")
    top.scatter(series.timestamps[flags], series.values[flags], s=8, color="tab:red", zorder=3,
                label=f"anomaly ({int(flags.sum())})")
    top.legend(loc="upper left", fontsize=8)
    bottom.plot(series.timestamps, score, linewidth=0.7, color="tab:purple", label="anomaly score")
    bottom.axhline(threshold, color="tab:red", linestyle="--", label="threshold")
    bottom.set_ylim(0, 1)
    bottom.legend(loc="upper left", fontsize=8)
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


if __name__ == "__main__":
    sys.exit(main())
