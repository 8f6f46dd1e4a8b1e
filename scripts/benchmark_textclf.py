"""Benchmark text classifiers against a TF-IDF + logistic-regression peer; writes JSON + Markdown.

    python scripts/benchmark_textclf.py --csv ../shared/data/ag_news/test_subset.csv     # test-cv protocol
    python scripts/benchmark_textclf.py --data-dir ag_news_csv                           # full protocol
    python scripts/benchmark_textclf.py --csv test_subset.csv --projection-rows 120000   # full-size speed, memory
    python scripts/benchmark_textclf.py --csv test_subset.csv --unseen-rows   # the CLI's export on rows it never saw
"""

import argparse
import datetime
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.quiet import quiet  # noqa: E402

quiet()  # before anything imports TensorFlow: no absl/CUDA start-up noise

from core import config as core_config  # noqa: E402
from core.errors import UserError, exit_on_user_error  # noqa: E402
from textclf import data  # noqa: E402
from textclf.config import DEFAULT_MODEL, VARIANTS, TextConfig  # noqa: E402


@exit_on_user_error
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--csv", help="one labelled CSV: test-cv protocol")
    source.add_argument("--data-dir", help="AG News canonical layout (train.csv, test.csv): full protocol")
    parser.add_argument("--models", default=DEFAULT_MODEL, help="comma-separated registered models")
    parser.add_argument("--variants", default="", help="comma-separated variants (base, l2, dropout, "
                        "early_stopping, tuned) of every model; default: each model's defaults")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--max-folds", type=int, default=None,
                        help="test-cv: run only the first N folds (for slow models; the summary says so)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--projection-rows", type=int, default=None,
                        help="with --csv: instead of test-cv, train each model for --projection-epochs on a file "
                             "of this many rows made from the CSV (speed and memory at the full data set's size)")
    parser.add_argument("--projection-epochs", type=int, default=2,
                        help="epochs of the projection (the first includes graph tracing; later ones are steady)")
    parser.add_argument("--unseen-rows", action="store_true",
                        help="with --csv: per fold, scripts/train_textclf.py trains with its defaults on the other "
                             "folds' rows and its export classifies the fold; the peer is fitted on the same rows")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/results")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="override a TextConfig field for every model, e.g. --set dropout=0.4")
    parser.add_argument("--tag", default="", help="suffix of the summary files, e.g. _dropout04")
    parser.add_argument("--notes", default="", help="a paragraph for the summary, e.g. which constants were "
                        "chosen on this benchmark and how")
    arguments = parser.parse_args(argv)
    if arguments.folds < 2:
        raise UserError(f"--folds must be at least 2, got {arguments.folds}")
    if arguments.epochs < 1:
        raise UserError(f"--epochs must be at least 1, got {arguments.epochs}")
    if arguments.projection_rows is not None:
        if not arguments.csv:
            raise UserError("--projection-rows needs --csv (the rows it is made from)")
        if arguments.projection_rows < 100 or arguments.projection_epochs < 2:
            raise UserError(f"--projection-rows must be at least 100 and --projection-epochs at least 2, got "
                            f"{arguments.projection_rows} and {arguments.projection_epochs}")
    if arguments.unseen_rows and (not arguments.csv or arguments.projection_rows is not None):
        raise UserError("--unseen-rows needs --csv (the rows the folds are made from) and no --projection-rows")
    if arguments.unseen_rows and (arguments.models != DEFAULT_MODEL or arguments.variants or arguments.set
                                  or arguments.epochs != parser.get_default("epochs")):
        raise UserError("--unseen-rows trains the CLI with its defaults: --models, --variants, --set and --epochs "
                        "do not apply")
    whole = data.load_csv(arguments.csv) if arguments.csv else None
    if arguments.unseen_rows:
        return unseen_rows(arguments, whole)
    train_test = data.load_ag_news_dir(arguments.data_dir) if arguments.data_dir else None

    from core import report
    from textclf import benchmark, models

    names = arguments.models.split(",")
    for name in names:
        models.MODELS.get(name)  # UserError listing the registered names
    variants = [variant for variant in arguments.variants.split(",") if variant] or [None]
    for variant in variants:
        if variant not in VARIANTS and variant is not None:
            raise UserError(f"--variants: {variant!r} is unknown; variants are {', '.join(VARIANTS)}")
    overrides = dict(core_config.parse_override(TextConfig, item) for item in arguments.set)
    # test_curves off: a benchmark times training and never looks at the test part before the end. The data
    # path is named so that each fold's training state (under --out/.runs) is keyed by the file's contents.
    # --set values win over a variant's preset (core.config.build sets them after it).
    configs = {(name if variant is None else f"{name}_{variant}"): core_config.build(TextConfig, **{
        "csv": arguments.csv, "data_dir": arguments.data_dir, "model": name, "variant": variant,
        "epochs": arguments.epochs, "seed": arguments.seed,
        "verbose": 0, "test_curves": False, "run_dir": str(Path(arguments.out) / ".runs"), **overrides})
        for name in names for variant in variants}
    for config in configs.values():
        config.validate()
    started = time.perf_counter()
    if arguments.projection_rows is not None:
        return projection(arguments, whole, configs, started)
    if whole is not None:
        result = benchmark.run_test_cv(whole, configs, arguments.folds, arguments.seed, arguments.max_folds)
        label, source_name = "test_cv", arguments.csv
    else:
        result = benchmark.run_full(*train_test, configs, arguments.seed)
        label, source_name = "full", arguments.data_dir
    wall_time = time.perf_counter() - started
    environment = report.environment()
    out = Path(arguments.out)
    out.mkdir(parents=True, exist_ok=True)
    summary = {"benchmark": "text classification", "created": datetime.datetime.now(datetime.timezone.utc)
               .isoformat(timespec="seconds"), "source": source_name, "seed": arguments.seed,
               "wall_time_s": round(wall_time, 1), "environment": environment,
               "configs": {name: core_config.to_dict(config) for name, config in configs.items()},
               **({"notes": arguments.notes} if arguments.notes else {}), **result}
    json_path = out / f"textclf_{label}{arguments.tag}.json"
    json_path.write_text(report.to_json(summary))
    markdown_path = out / f"textclf_{label}{arguments.tag}.md"
    markdown_path.write_text(benchmark.markdown(result, environment, wall_time, source_name,
                                                {name: core_config.to_dict(config) for name, config in configs.items()},
                                                arguments.notes))
    for name, values in result["summary"].items():
        print(f"{name}: accuracy {values['accuracy_mean']:.4f} ± {values['accuracy_std']:.4f}, "
              f"ratio to peer {values['ratio_to_peer']:.3f}")
    print(f"summary: {markdown_path}")
    return 0


def unseen_rows(arguments, whole) -> int:
    """The CLI's defaults, trained and exported per fold by scripts/train_textclf.py (`--models`, `--variants`,
    `--set` and `--epochs` do not apply: the point is what a user gets)."""
    import tempfile

    from textclf import benchmark

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as work_dir:
        result = benchmark.run_unseen_rows(whole, arguments.folds, arguments.seed, Path(work_dir), arguments.max_folds)
    defaults = core_config.to_dict(core_config.build(TextConfig, csv=arguments.csv, seed=arguments.seed))
    markdown_path = write_summary(arguments, "unseen_rows", "text classification, the CLI's export on unseen rows",
                                  result, time.perf_counter() - started, {"cli_defaults": defaults},
                                  benchmark.unseen_rows_markdown)
    values = result["summary"]
    print(f"export {values['export_accuracy_mean']:.4f}, peer {values['peer_whole_file_accuracy_mean']:.4f}, "
          f"ratio {values['ratio_to_peer']:.3f}")
    print(f"summary: {markdown_path}")
    return 0


def projection(arguments, whole, configs, started) -> int:
    from textclf import benchmark

    result = benchmark.run_projection(whole, configs, arguments.projection_rows, arguments.seed,
                                      arguments.projection_epochs)
    markdown_path = write_summary(arguments, "projection", "text classification, full-data projection", result,
                                  time.perf_counter() - started,
                                  {"configs": {name: core_config.to_dict(config) for name, config in configs.items()}},
                                  benchmark.projection_markdown)
    print(f"summary: {markdown_path}")
    return 0


def write_summary(arguments, label: str, title: str, result: dict, wall_time: float, settings: dict, markdown) -> Path:
    """Writes `--out`/textclf_<label><--tag>.json (what ran on which `--csv`, where, how long; `settings`; the
    result) and the .md that `markdown(result, environment, wall_time, source, notes)` makes; returns the .md."""
    from core import report

    environment = report.environment()
    out = Path(arguments.out)
    out.mkdir(parents=True, exist_ok=True)
    created = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    summary = {"benchmark": title, "created": created,
               "source": arguments.csv, "seed": arguments.seed, "wall_time_s": round(wall_time, 1),
               "environment": environment, **settings, **({"notes": arguments.notes} if arguments.notes else {}),
               **result}
    (out / f"textclf_{label}{arguments.tag}.json").write_text(report.to_json(summary))
    markdown_path = out / f"textclf_{label}{arguments.tag}.md"
    markdown_path.write_text(markdown(result, environment, wall_time, arguments.csv, arguments.notes))
    return markdown_path


if __name__ == "__main__":
    sys.exit(main())
