"""Run causal autoencoder detectors over the NAB corpus and score them with NAB's rules.

    python scripts/benchmark_anomaly.py --nab-dir ../shared/data/nab --out benchmarks/out
    python scripts/benchmark_anomaly.py --nab-dir NAB --out DIR --detectors aeDense,aeBase --files realTweets

Writes, per detector:
- DIR/<detector>/<category>/<detector>_<file>.csv with timestamp,value,anomaly_score,label (NAB's results
  layout, readable by NAB's own scorer);
- <summary-dir>/anomaly_nab_<detector>.json and .md: NAB scores for the three profiles (threshold optimised
  over the corpus, as NAB does) next to the published scoreboard, point and event precision/recall/F1 per
  category at the standard profile's threshold, per-file results, wall time, machine, versions, seed.
"""

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.quiet import quiet  # noqa: E402  (TensorFlow start-up noise off; see core/quiet.py)

quiet()

from anomaly import data  # noqa: E402
from anomaly.presets import DEFAULT_DETECTOR, ONLINE_DETECTORS  # noqa: E402
from core.errors import UserError, exit_on_user_error  # noqa: E402

TARGET_FILES = ["artificialWithAnomaly/art_daily_flatmiddle.csv",
                "realAWSCloudwatch/ec2_disk_write_bytes_1ef3de.csv"]


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nab-dir", required=True, help="a NAB checkout: data/, labels/, config/, results/")
    parser.add_argument("--out", required=True, help="folder for the per-file result CSVs (NAB's layout)")
    parser.add_argument("--detectors", default=DEFAULT_DETECTOR,
                        help=f"comma-separated detector names: the online detectors {', '.join(ONLINE_DETECTORS)} "
                             f"(default {DEFAULT_DETECTOR}), each with its ablation and split-half "
                             "protocol; aeMultiscale, "
                             "aeDense, aeBase, aeTanh, aeDropout, aeDenseRetrain, aeConv, aeLstm, or 'seeds' for "
                             "the four seed variants")
    parser.add_argument("--ablation", choices=["full", "statistics", "none"], default="full",
                        help="online detectors: every ablation row and the split-half protocol (full); only the "
                             "rows that re-use the detector's errors, and the split protocol (statistics); or the "
                             "whole-corpus run alone (none). With --seed-spread: the same rows on every seed "
                             "(no split protocol)")
    parser.add_argument("--files", default="", help="only files whose key contains this text")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seed-spread", default="",
                        help="online detectors: comma-separated seeds (at least two) to run the whole corpus with "
                             "instead, writing <summary-dir>/anomaly_seed_spread_<detector>.json and .md (each "
                             "seed's NAB scores, mean, std, and the --ablation rows on every seed)")
    parser.add_argument("--summary-dir", default="benchmarks/results", help="where the JSON/Markdown go")
    return parser.parse_args(argv)


@exit_on_user_error
def main(argv=None) -> int:
    arguments = parse_arguments(argv)
    seeds = parse_seeds(arguments.seed_spread)
    nab_dir = Path(arguments.nab_dir)
    keys = [key for key in data.nab_data_files(nab_dir) if arguments.files in key]
    if not keys:
        raise UserError(f"{nab_dir}: no NAB data files match {arguments.files!r}")
    if not (nab_dir / data.NAB_WINDOWS_FILE).is_file():
        raise UserError(f"{nab_dir}: no {data.NAB_WINDOWS_FILE}")

    from anomaly import nab, online  # TensorFlow loads once the arguments are valid
    from anomaly.benchmark import run_detector, write_comparison, write_summary

    names = online.SEED_VARIANTS if arguments.detectors == "seeds" else arguments.detectors.split(",")
    known = {**online.DETECTORS, **online.ONLINE_DETECTORS}
    for name in names:
        if name not in known:
            raise UserError(f"unknown detector {name!r}; choose from {', '.join(known)}")
        if seeds and name not in online.ONLINE_DETECTORS:
            raise UserError(f"--seed-spread runs online detectors only ({', '.join(online.ONLINE_DETECTORS)}), "
                            f"not {name!r}")
    profiles = nab.load_profiles(nab_dir / "config" / "profiles.json")
    series = {key: data.load_nab_series(nab_dir, key) for key in keys}
    if not any(one.window_bounds() for one in series.values()):
        raise UserError(f"--files {arguments.files!r}: the {len(keys)} file(s) it selects have no labelled anomaly "
                        "window; NAB scores need at least one")
    scoreboard_path = nab_dir / "results" / "final_results.json"
    scoreboard = json.loads(scoreboard_path.read_text()) if scoreboard_path.is_file() else {}
    if seeds:
        from anomaly import online_benchmark

        for name in names:
            summary, markdown = online_benchmark.write_seed_spread(name, online.ONLINE_DETECTORS[name], series,
                                                                   profiles, seeds, Path(arguments.summary_dir),
                                                                   arguments.ablation)
            standard = summary["spread"]["standard"]
            print(f"{name}: NAB standard {standard['mean']:.1f} ± {standard['std']:.1f} over seeds {seeds} -> "
                  f"{markdown}")
        return 0
    for name in names:
        started = time.perf_counter()
        if name in online.ONLINE_DETECTORS:
            from anomaly import online_benchmark

            result = online_benchmark.run(name, online.ONLINE_DETECTORS[name], series, Path(arguments.out),
                                          profiles, arguments.seed, arguments.ablation)
            result["peak_memory_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        else:
            result = run_detector(name, online.DETECTORS[name], series, Path(arguments.out), profiles,
                                  arguments.seed)
        paths = write_summary(result, scoreboard, Path(arguments.summary_dir), TARGET_FILES,
                              corpus_complete=len(keys) == 58, wall_time_s=time.perf_counter() - started)
        scores = result["nab"]
        print(f"{name}: NAB standard {scores['standard']['score']:.1f}, low FP "
              f"{scores['reward_low_FP_rate']['score']:.1f}, low FN {scores['reward_low_FN_rate']['score']:.1f} "
              f"({len(keys)} files, {time.perf_counter() - started:.0f} s) -> {paths[1]}")
    print(f"comparison of every summary in {arguments.summary_dir}: "
          f"{write_comparison(Path(arguments.summary_dir))}")
    return 0


def parse_seeds(text: str) -> list[int]:
    """--seed-spread's seeds: empty for none, else at least two distinct integers."""
    if not text:
        return []
    try:
        seeds = [int(part) for part in text.split(",")]
    except ValueError:
        raise UserError(f"--seed-spread {text!r}: expected comma-separated integers, e.g. 0,1,2") from None
    if len(seeds) < 2 or len(set(seeds)) != len(seeds):
        raise UserError(f"--seed-spread {text!r}: give at least two distinct seeds")
    return seeds


if __name__ == "__main__":
    sys.exit(main())
