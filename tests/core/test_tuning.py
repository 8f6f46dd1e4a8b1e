"""Keras Tuner sweeps through scripts/tune.py: a sweep per task ranks its trials and exports the best model (a
multi-trial sweep of each task in the slow tier), a killed sweep resumes to exactly N trials, and a chief with
two workers on localhost completes and exits."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO, run_script
from tests.vision.images import make_tree

TUNE = [sys.executable, str(REPO / "scripts" / "tune.py")]


def _trials(folder: Path, *, while_running: bool = False) -> dict[str, str]:
    """trial id -> status, from Keras Tuner's trial files (`while_running`: a file half written by a live
    sweep is skipped, not an error)."""
    statuses = {}
    for path in folder.glob("trial_*/trial.json"):
        try:
            trial = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            if not while_running:
                raise
            continue
        statuses[trial["trial_id"]] = trial["status"]
    return statuses


def _poll(condition, process: subprocess.Popen, timeout: float):
    """`condition()`'s first true value, checked every 50 ms: the pause is a wait on `process`, so a process
    that ends first fails the test at once (with its exit status) instead of running out the clock."""
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, f"not within {timeout} s"
        try:
            code = process.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            continue
        found = condition()
        assert found, f"the process exited ({code}) first"
    return found


@pytest.fixture(scope="module")
def text_csv(tmp_path_factory):
    words = {"sport": "match goal team win league coach", "money": "stock market bank profit shares trade"}
    rng = np.random.default_rng(0)
    rows = [f"{label},{' '.join(rng.choice(words[label].split(), size=6))}\n"
            for label in ("sport", "money") * 80]
    path = tmp_path_factory.mktemp("text") / "news.csv"
    path.write_text("label,text\n" + "".join(rows))
    return path


@pytest.mark.parametrize("task, trials", [
    ("anomaly", 2),  # the ranking, trials table and best export: tune.py and core/tuning.py, shared by the tasks
    ("textclf", 1),  # each task's own search space and hypermodel: one trial trains, ranks and exports
    ("vision", 1),
    # Slow tier: more trials of the same task-independent ranking the anomaly sweep runs in the fast tier.
    pytest.param("textclf", 3, marks=pytest.mark.slow),
    pytest.param("vision", 3, marks=pytest.mark.slow),
])
def test_sweep_ranks_trials_and_exports_the_best(task, trials, tmp_path, capsys, text_csv, monkeypatch):
    monkeypatch.chdir(tmp_path)
    extra = {"anomaly": ["--epochs", "1"],
             "textclf": ["--epochs", "2", "--set", f"csv={text_csv}", "--set", "sequence_length=16"],
             "vision": ["--epochs", "1", "--set", f"data={make_tree(tmp_path / 'images', per_class=20)}",
                        "--set", "batch_size=16", "--hp", "model=vgg"]}[task]
    code, out, err = run_script("tune", ["--task", task, "--max-trials", str(trials), "--directory", "sweeps",
                                         *extra], capsys)
    assert code in (0, None), err
    folder = tmp_path / "sweeps" / f"{task}_random"
    assert sorted(_trials(folder).values()) == ["COMPLETED"] * trials
    rows = json.loads((folder / "trials.json").read_text())
    scores = [row["score"] for row in rows]
    assert [row["rank"] for row in rows] == list(range(1, trials + 1)) and scores == sorted(scores, reverse=True)
    assert len({json.dumps(row["hyperparameters"], sort_keys=True) for row in rows}) == trials  # distinct trials
    assert (folder / "trials.md").is_file() and (folder / "objective.png").is_file()
    assert (tmp_path / "saved_models" / f"{task}_tuned" / "1" / "saved_model.pb").is_file()
    assert (tmp_path / "saved_models" / f"{task}_tuned" / "1" / "assets.extra" / "tf_serving_warmup_requests").is_file()
    best = json.loads((folder / "best_config.json").read_text())
    assert all(best[name] == value for name, value in rows[0]["hyperparameters"].items())


@pytest.mark.parametrize("argv, message", [
    (["--task", "speech"], "--task 'speech' is unknown; tasks are anomaly, textclf, vision"),
    (["--task", "anomaly", "--hp", "depth=3"], "--hp depth: not in the anomaly search space; it has window, model"),
    (["--task", "anomaly", "--tuner", "grid"], "--tuner 'grid' is unknown"),
    (["--task", "anomaly", "--set", "colour=red"], "unknown field 'colour'"),
])
def test_tuning_mistakes_are_one_line_errors(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_script("tune", argv, capsys)
    assert code == 2 and message in err, err
    assert list(tmp_path.iterdir()) == []  # no tuning/, saved_models/, reports/ or runs/


def test_a_sweep_killed_mid_trial_resumes_to_exactly_n_trials(tmp_path):
    # Real processes on purpose: SIGKILL mid-trial leaves no clean-up at all (the trial stays RUNNING on disk),
    # and a fresh process resumes from the sweep's files alone.
    command = TUNE + ["--task", "anomaly", "--max-trials", "2", "--epochs", "3", "--directory", "sweeps"]
    folder = tmp_path / "sweeps" / "anomaly_random"
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # The second trial, as soon as it is RUNNING (a trial lasts seconds; the poll is 50 ms), so the sweep
        # dies with one trial finished and one half done.
        _poll(lambda: _trials(folder, while_running=True).get("1") == "RUNNING", process, timeout=240)
        process.send_signal(signal.SIGKILL)  # mid-trial
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert _trials(folder) == {"0": "COMPLETED", "1": "RUNNING"}
    finished = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert _trials(folder) == {"0": "COMPLETED", "1": "COMPLETED"}  # the finished one kept, the killed one rerun


def test_distributed_sweep_chief_and_two_workers_on_localhost(tmp_path):
    # Real processes on purpose: Keras Tuner's chief/worker mode is one oracle server process and a process per
    # worker, configured by environment variables.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = TUNE + ["--task", "anomaly", "--max-trials", "2", "--epochs", "1", "--directory", "sweeps"]
    processes = {}
    # All three start at once: a worker's requests to the oracle wait until the chief's server is up
    # (Keras Tuner's client calls gRPC with wait_for_ready).
    for tuner_id in ("chief", "tuner0", "tuner1"):
        environment = {**os.environ, "KERASTUNER_TUNER_ID": tuner_id, "KERASTUNER_ORACLE_IP": "127.0.0.1",
                       "KERASTUNER_ORACLE_PORT": str(port)}
        processes[tuner_id] = subprocess.Popen(command, cwd=tmp_path, env=environment, stdout=subprocess.PIPE,
                                               stderr=subprocess.PIPE, text=True)
    outputs = {}
    try:
        for tuner_id, process in processes.items():  # Keras Tuner can hang (#254, #645): bounded waits
            outputs[tuner_id] = process.communicate(timeout=420)
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
    for tuner_id, process in processes.items():
        assert process.returncode == 0, (tuner_id, outputs.get(tuner_id, ("", ""))[1][-2000:])
    folder = tmp_path / "sweeps" / "anomaly_random"
    assert sorted(_trials(folder).values()) == ["COMPLETED"] * 2
    assert "worker tuner0: done" in outputs["tuner0"][0] and "worker tuner1: done" in outputs["tuner1"][0]
    assert (tmp_path / "saved_models" / "anomaly_tuned" / "1" / "saved_model.pb").is_file()  # chief only
    assert len(list((tmp_path / "saved_models" / "anomaly_tuned").iterdir())) == 1
