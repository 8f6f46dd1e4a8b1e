"""The NAB benchmark: run a causal detector over the corpus, score it as NAB does, summarise it.

Used by `scripts/benchmark_anomaly.py`; kept here so that it is importable and tested.
"""

import dataclasses
import datetime
import json
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

from anomaly import evaluation, nab
from anomaly.online import make_detector
from core import report

PROTOCOL = (
    "Causal, as NAB requires: for each file the scaling and the autoencoder are fit on the first 15% "
    "(NAB's probationary period, at most 750 points) only, and each later point is scored from the window "
    "ending at it. NAB scores use NAB's rules and, as NAB does, one threshold per profile optimised over the "
    "whole corpus. Point and event metrics use the standard profile's corpus threshold on the scored "
    "(post-probationary) points; an event is a labelled window (detected if any point in it is flagged), "
    "a false alarm a run of flagged points outside windows.")


def write_results_csv(path: Path, series, scores: np.ndarray) -> None:
    """NAB's result file: timestamp,value,anomaly_score,label, written to a temp name and renamed."""
    report.write_csv(path, pd.DataFrame({
        "timestamp": pd.to_datetime(series.timestamps).strftime("%Y-%m-%d %H:%M:%S"), "value": series.values,
        "anomaly_score": scores, "label": series.labels().astype(int)}))


def run_detector(name: str, settings, series: dict, out_dir: Path, profiles: dict, seed: int) -> dict:
    """Scores every series causally, writes NAB result CSVs and returns the measured results.

    Args:
        settings: an `online.DetectorSettings` or `online.EnsembleSettings`.
    """
    detector = make_detector(settings, seed=seed)
    scores, seconds = {}, {}
    for key, one in series.items():
        started = time.perf_counter()
        scores[key] = detector.score(one)
        seconds[key] = time.perf_counter() - started
        print(f"  {name} {key}: {len(one)} points in {seconds[key]:.1f} s", flush=True)
    return summarise(name, settings, series, scores, seconds, out_dir, profiles, seed)


def summarise(name: str, settings, series: dict, scores: dict, seconds: dict, out_dir: Path | None,
              profiles: dict, seed: int) -> dict:
    """NAB corpus scores and per-category/per-file metrics of per-file `scores`; writes NAB's result
    CSVs under `out_dir` (None: writes nothing)."""
    files, per_file = [], {}
    for key, one in series.items():
        category, file_name = key.split("/")
        if out_dir is not None:
            write_results_csv(out_dir / name / category / f"{name}_{file_name}", one, scores[key])
        labelled = nab.LabelledFile.from_bounds(len(one), one.window_bounds())
        files.append((key, one, scores[key], labelled))
        per_file[key] = {"points": len(one), "windows": labelled.windows, "wall_time_s": round(seconds[key], 2)}

    corpus = nab.corpus_scores([(scores, labelled) for _, _, scores, labelled in files], profiles)
    threshold = corpus["standard"]["threshold"]
    categories = defaultdict(Counter)
    for key, one, scores, labelled in files:
        probation = nab.probationary_length(len(one))
        flags = scores >= threshold
        labels = one.labels()
        events = evaluation.event_metrics(flags[probation:], evaluation.clip_bounds(
            one.window_bounds(), probation, len(one)))
        points = {"tp": int((flags & labels)[probation:].sum()), "fp": int((flags & ~labels)[probation:].sum()),
                  "fn": int((~flags & labels)[probation:].sum())}
        standard = nab.score_detections(flags, labelled, profiles["standard"])
        per_file[key].update({"events": events, "points": {**points, "count": len(one)},
                              "nab_standard_raw": standard["score"]})
        counts = Counter({f"point_{field}": value for field, value in points.items()})
        counts.update(windows=events["windows"], detected=events["detected"],
                      false_alarms=events["false_alarms"], files=1)
        categories[key.split("/")[0]].update(counts)
        categories["all"].update(counts)
    per_category = {}
    for category, totals in categories.items():
        point = evaluation.precision_recall_f1(totals["point_tp"], totals["point_fp"], totals["point_fn"])
        event = evaluation.precision_recall_f1(totals["detected"], totals["false_alarms"],
                                               totals["windows"] - totals["detected"])
        per_category[category] = {
            "files": totals["files"], "windows": totals["windows"], "detected": totals["detected"],
            "false_alarms": totals["false_alarms"],
            "point": dict(zip(("precision", "recall", "f1"), point)),
            "event": dict(zip(("precision", "recall", "f1"), event)),
        }
    described = {**dataclasses.asdict(settings), "model": settings.model, "window": settings.window}
    return {"detector": name, "settings": described, "seed": seed, "nab": corpus,
            "standard_threshold": threshold, "per_category": per_category, "per_file": per_file}


def write_summary(result: dict, scoreboard: dict, summary_dir: Path, target_files: list[str], *,
                  corpus_complete: bool, wall_time_s: float) -> tuple[Path, Path]:
    """Writes anomaly_nab_<detector>.json and .md; returns their paths."""
    summary_dir.mkdir(parents=True, exist_ok=True)
    name = result["detector"]
    summary = {
        "benchmark": "NAB (Numenta Anomaly Benchmark)",
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "protocol": result.get("protocol", PROTOCOL),
        "corpus_complete": corpus_complete,
        "files": len(result["per_file"]),
        "wall_time_s": round(wall_time_s, 1),
        "environment": report.environment(),
        **result,
        "published_scoreboard": scoreboard,
    }
    json_path = summary_dir / f"anomaly_nab_{name}.json"
    json_path.write_text(report.to_json(summary))

    lines = [f"# NAB benchmark: {name}", "",
             f"{summary['created']} · {summary['files']} files"
             f"{'' if corpus_complete else ' (a subset: not comparable to the scoreboard)'} · seed "
             f"{result['seed']} · wall time {wall_time_s / 60:.1f} min on {summary['environment']['cpu_count']} "
             f"CPUs · model `{result['settings']['model']}`, window {result['settings']['window']}", "",
             summary["protocol"], "", "## NAB scores (0 = null detector, 100 = perfect)", "",
             "| detector | standard | reward_low_FP_rate | reward_low_FN_rate |", "|---|---|---|---|"]
    rows = [(f"**{name} (this run)**", result["nab"]["standard"]["score"],
             result["nab"]["reward_low_FP_rate"]["score"], result["nab"]["reward_low_FN_rate"]["score"])]
    rows += [(f"{detector} (published)", values["standard"], values["reward_low_FP_rate"],
              values["reward_low_FN_rate"]) for detector, values in scoreboard.items()]
    rows.sort(key=lambda row: -row[1])
    lines += [f"| {row[0]} | {row[1]:.1f} | {row[2]:.1f} | {row[3]:.1f} |" for row in rows]
    lines += ["", f"Corpus threshold (standard profile): {result['standard_threshold']:.4f}.", "",
              "## Per category, at the standard threshold", "",
              "| category | files | windows | detected | false alarms | point P | point R | point F1 | "
              "event P | event R | event F1 |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for category, values in sorted(result["per_category"].items(), key=lambda item: item[0] == "all"):
        point, event = values["point"], values["event"]
        lines.append(f"| {category} | {values['files']} | {values['windows']} | {values['detected']} | "
                     f"{values['false_alarms']} | {point['precision']:.3f} | {point['recall']:.3f} | "
                     f"{point['f1']:.3f} | {event['precision']:.3f} | {event['recall']:.3f} | {event['f1']:.3f} |")
    lines += ["", "## Target files", "", "| file | windows | detected | false alarms | event F1 |",
              "|---|---|---|---|---|"]
    for key in target_files:
        if key in result["per_file"]:
            events = result["per_file"][key]["events"]
            lines.append(f"| {key} | {events['windows']} | {events['detected']} | {events['false_alarms']} | "
                         f"{events['f1']:.3f} |")
    lines += _online_sections(result, wall_time_s)
    lines += ["", f"Per-file results: `{json_path.name}`.", ""]
    markdown_path = summary_dir / f"anomaly_nab_{name}.md"
    markdown_path.write_text("\n".join(lines))
    return json_path, markdown_path


def write_comparison(summary_dir: Path) -> Path:
    """anomaly_nab_comparison.md: every detector summary in `summary_dir` beside the published scoreboard."""
    summaries = [json.loads(path.read_text()) for path in sorted(summary_dir.glob("anomaly_nab_*.json"))]
    scoreboard = summaries[0]["published_scoreboard"] if summaries else {}
    lines = ["# NAB: our detectors and the published scoreboard", "", PROTOCOL, "",
             "| detector | model | window | files | standard | reward_low_FP_rate | reward_low_FN_rate | "
             "event F1 | wall time (min) |", "|---|---|---|---|---|---|---|---|---|"]
    rows = [(f"**{summary['detector']}** (ours, seed {summary['seed']})", summary["settings"]["model"],
             summary["settings"]["window"], summary["files"], summary["nab"]["standard"]["score"],
             summary["nab"]["reward_low_FP_rate"]["score"], summary["nab"]["reward_low_FN_rate"]["score"],
             f"{summary['per_category']['all']['event']['f1']:.3f}", f"{summary['wall_time_s'] / 60:.1f}")
            for summary in summaries]
    rows += [(f"{name} (published)", "", "", 58, values["standard"], values["reward_low_FP_rate"],
              values["reward_low_FN_rate"], "", "") for name, values in scoreboard.items()]
    for row in sorted(rows, key=lambda row: -row[4]):
        lines.append("| " + " | ".join(str(cell) if not isinstance(cell, float) else f"{cell:.1f}" for cell in row)
                     + " |")
    environment = summaries[0]["environment"] if summaries else {}
    if environment:
        lines += ["", f"Measured on {environment['cpu_count']} CPUs ({environment['platform']}), TensorFlow "
                      f"{environment['packages']['tensorflow']}, Keras {environment['packages']['keras']}."]
    path = summary_dir / "anomaly_nab_comparison.md"
    path.write_text("\n".join(lines) + "\n")
    return path


ONLINE_PROTOCOL = (
    "Online and causal: point t is scored from points 0..t only, then learnt from. The scaling, the "
    "autoencoders' weights, the likelihood's normal fit and the spatial rule's range all follow the data "
    "seen so far (the first fit uses NAB's probationary period); the nearest-neighbour distance compares "
    "each window with earlier ones only, scaled by the first fit's range. One set of constants for the whole "
    "corpus (below); NAB's per-profile corpus threshold is the only thing fitted on labels.")

NOT_DONE = (
    "HTM (numenta) encodes the timestamp's time of day with a learnt sparse code and predicts sequences of "
    "any length; ours sees the phase of the day and the week beside the last few values only. HTM and CAD "
    "OSE set their encoders' range from the whole file's min and max "
    "(NAB's base detector hands every detector inputMin/inputMax of the entire file), which is not causal; "
    "ours scales by the points seen so far.")


def _online_sections(result: dict, wall_time_s: float) -> list[str]:
    """Constants, wall time and memory, ablation and split protocol of an online-detector result."""
    if result.get("protocol") != ONLINE_PROTOCOL:
        return []
    lines = ["", "## What the leaders do that this detector does not", "", NOT_DONE, "",
             "## Constants (one set for the whole corpus, chosen on this corpus)", "",
             "| constant | value |", "|---|---|"]
    lines += [f"| `{key}` | {value} |" for key, value in result["settings"].items() if key != "window"]
    corpus_minutes = result.get("corpus_wall_time_s", wall_time_s) / 60
    lines += ["", f"Whole corpus (errors + scores, every file): {corpus_minutes:.1f} "
                  f"min wall time; peak memory {result.get('peak_memory_mb', 'n/a')} MB (max RSS of the process)."]
    if result.get("ablation"):
        lines += ["", "## Ablation: one component removed at a time", "",
                  "| removed | standard | reward_low_FP_rate | reward_low_FN_rate | wall time (s) |",
                  "|---|---|---|---|---|"]
        lines += [f"| {row['removed']} | {row['standard']:.1f} | {row['reward_low_FP_rate']:.1f} | "
                  f"{row['reward_low_FN_rate']:.1f} | {row['wall_time_s']} |" for row in result["ablation"]]
        lines += ["", "Rows that change only the statistics re-use the full detector's autoencoder errors; the "
                      "rows without time features, with one autoencoder, with persistence or without online learning "
                      "recompute them (their wall time)."]
    if result.get("split_protocol"):
        split = result["split_protocol"]
        lines += ["", "## Split-half protocol", "",
                  "The files sorted by key, every other one in half A, the rest in B. Constants chosen "
                  "(by standard score) from the grid " + ", ".join(f"`{k}` ∈ {v}" for k, v in split["grid"].items())
                  + " on one half, scored on the other; every constant outside the grid (the autoencoder's, "
                  "`alert_surprise`, ...) keeps its value above, chosen on the whole corpus.", "",
                  "| protocol | constants chosen | standard | low FP | low FN | defaults on that half (standard) |",
                  "|---|---|---|---|---|---|"]
        for protocol, values in split["results"].items():
            held = values["held_out_half"]
            lines.append(f"| {protocol} | {values['constants']} | {held['standard']:.1f} | "
                         f"{held['reward_low_FP_rate']:.1f} | {held['reward_low_FN_rate']:.1f} | "
                         f"{values['defaults_on_held_out_half']['standard']:.1f} |")
    return lines
