"""The online detector on NAB: the whole-corpus run, the ablation (one row per component removed) and the
split-half protocol for the constants.

The Keras part (`OnlineDetector.errors`) runs once per file; every row that only changes the statistics
around it re-uses those errors (`post_process`), so the ablation costs seconds, not another corpus run.
Rows that change the Keras part (no time features, one autoencoder rather than an ensemble, no online learning) or
remove it (persistence forecast instead of the autoencoder) recompute the errors.
"""

import dataclasses
import datetime
import itertools
import time
from pathlib import Path

import numpy as np

from anomaly import benchmark, nab, online
from anomaly.benchmark import summarise
from core import report

#: The post-processing constants the split-half protocol chooses from (the grid is named in the summary).
SPLIT_GRID = {
    "spatial_tolerance": (0.01, 0.02, 0.05),
    "short_windows": ((1,), (1, 10), (1, 3, 10)),
    "min_std": (0.01, 0.03, 0.05),
    "suppress_fraction": (0.1, 0.2, 0.3),
    "recurring_margin": (0.0, 0.3, 0.5),  # with the rule on; 0: a new largest error is new (bar exact ties)
}


def corpus_errors(settings: online.OnlineSettings, series: dict, seed: int, label: str = "") -> tuple[dict, dict]:
    """(key -> errors, key -> seconds) of `OnlineDetector(settings).errors` over every file."""
    detector = online.OnlineDetector(settings, seed=seed)
    errors, seconds = {}, {}
    for key, one in series.items():
        started = time.perf_counter()
        errors[key] = detector.errors(one)  # values and timestamps
        seconds[key] = time.perf_counter() - started
        print(f"  {label or 'errors'} {key}: {len(one)} points in {seconds[key]:.1f} s", flush=True)
    return errors, seconds


def scores_of(settings: online.OnlineSettings, series: dict, errors: dict) -> dict:
    return {key: online.post_process(errors[key], one, settings) for key, one in series.items()}


def nab_scores(settings, series: dict, errors: dict, labelled: dict, profiles: dict, keys=None) -> dict:
    """Normalised NAB score per profile of `settings`' post-processing over `keys` (default: all).

    Args:
        labelled: key -> `nab.LabelledFile` (built once: it does not depend on the detector).
    """
    keys = list(series) if keys is None else keys
    files = [(online.post_process(errors[key], series[key], settings), labelled[key]) for key in keys]
    return {name: values["score"] for name, values in nab.corpus_scores(files, profiles).items()}


def labelled_files(series: dict) -> dict:
    return {key: nab.LabelledFile.from_bounds(len(one), one.window_bounds()) for key, one in series.items()}


def ablation(settings: online.OnlineSettings, series: dict, errors: dict, profiles: dict, seed: int,
             recompute: bool = True) -> list[dict]:
    """One row per component removed from `settings` (the first row is the full detector). `recompute`
    adds the rows that need new errors: persistence instead of the autoencoder, no online learning."""
    rows = []
    labelled = labelled_files(series)

    def row(component: str, changed, row_errors=None, seconds=None):
        started = time.perf_counter()
        result = nab_scores(changed, series, row_errors or errors, labelled, profiles)
        rows.append({"removed": component, "settings": {key: value for key, value in dataclasses.asdict(changed).items()
                                                        if getattr(settings, key) != value},
                     **result, "wall_time_s": round(seconds if seconds is not None else
                                                    time.perf_counter() - started, 1)})
        print(f"  ablation {component}: {result['standard']:.1f}", flush=True)

    row("nothing (full detector)", settings)
    row("anomaly likelihood (surprise = raw error / 0.05)",
        dataclasses.replace(settings, likelihood=False, raw_scale=0.05))
    row("empirical tail cap", dataclasses.replace(settings, empirical_tail=False))
    if settings.empirical_tail and settings.recurring_days:
        row(f"recurring-error rule (a new largest error within {settings.recurring_margin:g} of one at the same "
            f"time on the previous {settings.recurring_days} days still counts as new)",
            dataclasses.replace(settings, recurring_days=0))
    if settings.neighbour_window and settings.empirical_tail and not settings.neighbour_empirical_tail:
        row("neighbour distance left uncapped (the tail cap applies to it too)",
            dataclasses.replace(settings, neighbour_empirical_tail=True))
    if len(settings.short_windows) > 1:
        row(f"sustained error (short window {min(settings.short_windows)} only, not "
            f"{'+'.join(map(str, settings.short_windows))})",
            dataclasses.replace(settings, short_windows=(min(settings.short_windows),)))
    if settings.neighbour_window:
        row("nearest-neighbour distance (the autoencoder alone)", dataclasses.replace(settings, neighbour_window=0),
            {key: value[:-1] for key, value in errors.items()})
        if settings.neighbour_combine == "sum":
            row("sum of the two surprises (the larger one counts instead)",
                dataclasses.replace(settings, neighbour_combine="max"))
    row("spatial rule", dataclasses.replace(settings, spatial_tolerance=0.0))
    row("suppression (no rest period: neither repeats nor alerts suppressed)",
        dataclasses.replace(settings, suppress_fraction=0.0))
    if settings.alert_surprise:
        row("alert silence (only repeats suppressed)", dataclasses.replace(settings, alert_surprise=0.0))
    for index, window in enumerate(settings.windows):
        if len(settings.windows) > 1:
            others = tuple(w for w in settings.windows if w != window)
            kept = {key: np.delete(value, index, axis=0) for key, value in errors.items()}
            row(f"window {window} (scales {'+'.join(map(str, others))} only)",
                dataclasses.replace(settings, windows=others), kept)
    zero = {key: np.zeros_like(value[:1]) for key, value in errors.items()}
    models = "autoencoder, neighbour distance" if settings.neighbour_window else "autoencoder"
    row(f"{models} and likelihood (spatial rule + suppression only)",  # one row of zeros: one scale
        dataclasses.replace(settings, likelihood=False, neighbour_window=0, windows=settings.windows[:1]), zero)
    if recompute:
        def recomputed(changed: online.OnlineSettings, label: str) -> tuple[dict, float]:
            """The errors of `changed`, whose Keras part differs, and their seconds. The neighbour distance
            does not depend on the Keras part: the full detector's row is re-used, not computed again."""
            keras_only = dataclasses.replace(changed, neighbour_window=0)
            new_errors, seconds = corpus_errors(keras_only, series, seed, label)
            if settings.neighbour_window:
                new_errors = {key: np.concatenate([value, errors[key][-1:]]) for key, value in new_errors.items()}
            return new_errors, sum(seconds.values())

        without = dataclasses.replace(settings, autoencoder=False)
        persistence, seconds = recomputed(without, "persistence")
        kept = "; neighbour distance kept" if settings.neighbour_window else ""
        row(f"autoencoder (persistence forecast, error = abs(x_t - x_t-1), instead{kept})", without, persistence,
            seconds)
        if settings.neighbour_window:
            alone = {key: value[:1] for key, value in persistence.items()}
            row("autoencoder and neighbour distance (persistence forecast alone)",
                dataclasses.replace(without, neighbour_window=0), alone)
        if settings.time_features:
            blind = dataclasses.replace(settings, time_features=())
            row("time features (the autoencoder sees values only)", blind, *recomputed(blind, "no time features"))
        if settings.ensemble_size > 1:
            single = dataclasses.replace(settings, ensemble_size=1)
            row(f"ensemble (one autoencoder per window, not {settings.ensemble_size})", single,
                *recomputed(single, "one autoencoder"))
        frozen = dataclasses.replace(settings, refit_every=0)
        row("online learning (fit on the probationary period only)", frozen, *recomputed(frozen, "no online learning"))
    return rows


def split_protocol(settings: online.OnlineSettings, series: dict, errors: dict, profiles: dict) -> dict:
    """Constants chosen on one fixed half of the files (sorted keys, every other one), NAB scores on the
    other half, and the reverse; beside each, the whole-corpus defaults scored on the same half."""
    keys = sorted(series)
    halves = {"A": keys[0::2], "B": keys[1::2]}
    labelled = labelled_files(series)
    grid = {name: values for name, values in SPLIT_GRID.items()  # the margin only matters with the rule on
            if name != "recurring_margin" or (settings.recurring_days and settings.empirical_tail)}
    names = list(grid)
    results = {}
    for chosen_on, scored_on in (("A", "B"), ("B", "A")):
        best, best_score = None, -np.inf
        for values in itertools.product(*grid.values()):
            candidate = dataclasses.replace(settings, **dict(zip(names, values)))
            score = nab_scores(candidate, series, errors, labelled, profiles, halves[chosen_on])["standard"]
            if score > best_score:
                best, best_score = candidate, score
        held_out = nab_scores(best, series, errors, labelled, profiles, halves[scored_on])
        results[f"chosen on {chosen_on}, scored on {scored_on}"] = {
            "constants": {name: getattr(best, name) for name in names},
            "score_on_choice_half": best_score,
            "held_out_half": held_out,
            "defaults_on_held_out_half": nab_scores(settings, series, errors, labelled, profiles, halves[scored_on]),
        }
        print(f"  split {chosen_on}->{scored_on}: {held_out['standard']:.1f}", flush=True)
    return {"halves": halves, "grid": {name: list(values) for name, values in grid.items()},
            "results": results}


def run(name: str, settings: online.OnlineSettings, series: dict, out_dir, profiles: dict, seed: int,
        ablation_rows: str = "full") -> dict:
    """The whole-corpus result (as `benchmark.run_detector`), plus ablation rows and the split protocol.

    Args:
        ablation_rows: "full" (every row and the split protocol), "statistics" (only the rows that re-use
            the errors, and the split protocol) or "none".
    """
    started = time.perf_counter()
    errors, seconds = corpus_errors(settings, series, seed, name)
    scores = scores_of(settings, series, errors)
    corpus_seconds = time.perf_counter() - started
    result = summarise(name, settings, series, scores, seconds, out_dir, profiles, seed)
    result.update(protocol=benchmark.ONLINE_PROTOCOL, corpus_wall_time_s=round(corpus_seconds, 1))
    if ablation_rows != "none":
        result["ablation"] = ablation(settings, series, errors, profiles, seed, recompute=ablation_rows == "full")
        result["split_protocol"] = split_protocol(settings, series, errors, profiles)
    return result


def seed_spread(settings: online.OnlineSettings, series: dict, profiles: dict, seeds: list[int],
                ablation_rows: str = "statistics") -> dict:
    """The whole corpus once per seed: how much of a NAB score is the seed's luck, and what each
    component is worth across seeds: the ablation rows on each seed's errors ("statistics": the rows
    that re-use them; "full": also the rows that recompute them with that seed; "none": no rows).

    Returns {"seeds": one row per seed (its scores and its ablation rows), "spread": per profile
    mean/std/min/max, "ablation": per component removed, the standard score per seed and their mean/std}.
    """
    labelled = labelled_files(series)
    rows = []
    for seed in seeds:
        started = time.perf_counter()
        errors, _ = corpus_errors(settings, series, seed, f"seed {seed}")
        scores = nab_scores(settings, series, errors, labelled, profiles)
        wall_time = round(time.perf_counter() - started, 1)
        components = [] if ablation_rows == "none" else \
            ablation(settings, series, errors, profiles, seed, recompute=ablation_rows == "full")[1:]
        rows.append({"seed": seed, **scores, "wall_time_s": wall_time,
                     "ablation": [{"removed": row["removed"], **{profile: row[profile] for profile in profiles}}
                                  for row in components]})
        print(f"  seed {seed}: {scores['standard']:.1f}", flush=True)
    spread = {profile: statistics([row[profile] for row in rows]) for profile in profiles}
    removed = [row["removed"] for row in rows[0]["ablation"]]
    per_seed = {name: [row["ablation"][index]["standard"] for row in rows] for index, name in enumerate(removed)}
    components = {name: {"standard": standard, **statistics(standard)} for name, standard in per_seed.items()}
    return {"seeds": rows, "spread": spread, "ablation": components}


def statistics(values) -> dict:
    """Mean, sample std (0 for one value), min and max of a few scores."""
    values = np.asarray(values, dtype=float)
    return {"mean": float(values.mean()), "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
            "min": float(values.min()), "max": float(values.max())}


def write_seed_spread(name: str, settings: online.OnlineSettings, series: dict, profiles: dict, seeds: list[int],
                      summary_dir: Path, ablation_rows: str = "statistics") -> tuple[dict, Path]:
    """`seed_spread` written as `summary_dir`/anomaly_seed_spread_<name>.json and .md (not anomaly_nab_*:
    the comparison table reads those); returns (summary, Markdown path)."""
    started = time.perf_counter()
    spread = seed_spread(settings, series, profiles, seeds, ablation_rows)
    summary = {"benchmark": "NAB seed spread", "detector": name,
               "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "files": len(series), "corpus_complete": len(series) == 58,
               "wall_time_s": round(time.perf_counter() - started, 1), "environment": report.environment(),
               "settings": dataclasses.asdict(settings), **spread}
    summary_dir.mkdir(parents=True, exist_ok=True)
    (summary_dir / f"anomaly_seed_spread_{name}.json").write_text(report.to_json(summary))
    markdown = summary_dir / f"anomaly_seed_spread_{name}.md"
    markdown.write_text(seed_spread_markdown(name, summary))
    return summary, markdown


def seed_spread_markdown(name: str, summary: dict) -> str:
    """The Markdown of a `seed_spread` summary (scripts/benchmark_anomaly.py --seed-spread)."""
    profiles = list(summary["spread"])
    lines = [f"# NAB seed spread: {name}", "",
             f"{summary['created']} · {summary['files']} files · seeds {[row['seed'] for row in summary['seeds']]} · "
             f"wall time {summary['wall_time_s'] / 60:.1f} min on {summary['environment']['cpu_count']} CPUs", "",
             "The whole corpus once per seed, the detector's constants unchanged (the seed sets the autoencoder's "
             "initial weights and the order of its training batches); each seed's corpus threshold is optimised "
             "as NAB does. No split protocol; the ablation rows, if any, are computed per seed (below).", "",
             "| seed | " + " | ".join(profiles) + " | wall time (s) |", "|---" * (len(profiles) + 2) + "|"]
    lines += [f"| {row['seed']} | " + " | ".join(f"{row[profile]:.1f}" for profile in profiles)
              + f" | {row['wall_time_s']} |" for row in summary["seeds"]]
    lines.append("| mean ± std (min–max) | " + " | ".join(
        f"{values['mean']:.1f} ± {values['std']:.1f} ({values['min']:.1f}–{values['max']:.1f})"
        for values in summary["spread"].values()) + " | |")
    if summary.get("ablation"):
        seeds = [row["seed"] for row in summary["seeds"]]
        full = [row["standard"] for row in summary["seeds"]]
        mean = summary["spread"]["standard"]["mean"]
        lines += ["", "## Ablation per seed (standard profile)", "",
                  "Each row on that seed's autoencoder errors (rows that change the Keras part recompute them with "
                  "that seed); the last column is the full detector's mean minus the row's (what the component is "
                  "worth).", "",
                  "| removed | " + " | ".join(f"seed {seed}" for seed in seeds) + " | mean ± std | worth |",
                  "|---" * (len(seeds) + 3) + "|",
                  "| nothing (full detector) | " + " | ".join(f"{value:.1f}" for value in full)
                  + f" | {mean:.1f} ± {summary['spread']['standard']['std']:.1f} | |"]
        lines += [f"| {name} | " + " | ".join(f"{value:.1f}" for value in row["standard"])
                  + f" | {row['mean']:.1f} ± {row['std']:.1f} | {mean - row['mean']:+.1f} |"
                  for name, row in summary["ablation"].items()]
    return "\n".join(lines + [""])
