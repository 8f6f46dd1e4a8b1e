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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.quiet import quiet  # noqa: E402  (TensorFlow start-up noise off; see core/quiet.py)

quiet()

from anomaly import data  # noqa: E402
from core.errors import UserError, exit_on_user_error  # noqa: E402


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", required=True, help="saved_models/<name> (or one version folder)")
    parser.add_argument("--version", type=int, default=None, help="version to load (default: the newest)")
    parser.add_argument("--csv", required=True, help="the series to score: a timestamp column and the value column(s)")
    parser.add_argument("--timestamp-column", default="timestamp")
    parser.add_argument("--file-order", action="store_true",
                        help="accept repeated or backward timestamps (a daylight-saving change, as in NAB's files) "
                             "and score the rows in file order")
    parser.add_argument("--output", required=True, help="CSV to write")
    parser.add_argument("--plot", default=None, help="PNG of the series, flags and score (optional)")
    parser.add_argument("--batch-size", type=int, default=4096, help="contexts per request")
    return parser.parse_args(argv)


@exit_on_user_error
def main(argv=None) -> int:
    arguments = parse_arguments(argv)
    if arguments.batch_size < 1:
        raise UserError(f"--batch-size must be positive, got {arguments.batch_size}")
    from anomaly.online_task import SERVING_FILE
    from core import serving

    folder = serving.version_dir(arguments.model_dir, arguments.version)
    if not (folder / SERVING_FILE).is_file():
        raise UserError(f"{folder}: no {SERVING_FILE}; not an online anomaly detector export "
                        "(train one with scripts/train_anomaly.py)")
    description = json.loads((folder / SERVING_FILE).read_text())
    context, columns = description["context"], description["columns"]
    series = data.load_csv(arguments.csv, timestamp_column=arguments.timestamp_column, value_column=columns,
                           file_order=arguments.file_order)
    if len(series) < context:
        raise UserError(f"{arguments.csv}: {len(series)} rows; the detector scores a point from the {context} "
                        f"points up to it, so it needs at least {context} rows")
    output = Path(arguments.output)
    if not output.parent.is_dir():
        raise UserError(f"--output {output}: folder {output.parent} does not exist")

    import numpy as np
    import pandas as pd

    from anomaly import plots
    from anomaly.online_export import requests
    from anomaly.online_task import scores_frame
    from core import client, report

    loaded, _ = client.load(arguments.model_dir, arguments.version)  # tensorflow_text-safe loading
    function = loaded.signatures[description["signature"]]
    inputs = requests(series.values, series.timestamps, description)  # values (and timestamps) per point
    answers = [function(**{name: batch[begin:begin + arguments.batch_size] for name, batch in inputs.items()})
               for begin in range(0, len(series) - context + 1, arguments.batch_size)]
    # The first context - 1 points have no full context: no score, no flag (empty cells in the CSV).
    padding = context - 1
    scores = np.concatenate([np.full(padding, np.nan)] + [answer["anomaly_score"].numpy() for answer in answers])
    flags = np.concatenate([np.zeros(padding, bool)] + [answer["is_anomaly"].numpy() for answer in answers])
    frame = scores_frame(series.timestamps, columns, series.values, scores,
                         pd.array(flags, dtype="boolean"))
    frame.loc[:padding - 1, "is_anomaly"] = pd.NA
    report.write_csv(output, frame)
    if arguments.plot:
        figure = plots.detections_and_score(series, flags, scores, description["threshold"],
                                            f"{Path(arguments.csv).name} scored by {folder}")
        figure.savefig(arguments.plot, dpi=100)
        plots.plt.close(figure)
    print(f"{len(series)} rows scored ({len(series) - padding} with a full context): {int(flags.sum())} anomalies "
          f"at threshold {description['threshold']:.3f} -> {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
