"""Keras Tuner sweeps over a task's config: every trial is the task's own training with some config fields
set by the tuner, so a sweep's best trial is retrained, reported and exported exactly like a train script run.

A task describes its sweep with a `TaskTuning` (see `anomaly/tuning.py`, `textclf/tuning.py`,
`vision/tuning.py`): its `core.runner.Task`, the search space as config overrides, the objective and how to
score a trained trial. `core.runner` builds, seeds and trains every trial and runs the final configuration,
exactly as it does for a train script.

Keras Tuner does the rest: `overwrite=False` resumes a sweep in the same directory (a trial killed midway
runs again under its id), and its chief/worker mode (KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP,
KERASTUNER_ORACLE_PORT) spreads trials over processes or machines.
"""

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable

import keras_tuner as kt

from core import config as core_config
from core import runner
from core.config import TUNERS  # noqa: F401  (defined where scripts/tune.py reads it before TensorFlow loads)
from core.errors import UserError


@dataclasses.dataclass
class TaskTuning:
    """What a task gives the sweep.

    Attributes:
        task: the task's `core.runner.Task`; every trial is built and trained by `core.runner` (seeded, in
            the strategy scope, with its own state folder), and the best configuration runs through
            `core.runner.run`.
        objective: what the oracle optimises, e.g. `kt.Objective("val_accuracy", "max")`.
        search_space: hp -> {config field: value} for one trial.
        score: (config, trained, data) -> {metric: value} of a trained trial, including the objective.
        prepare: config -> data shared by every trial (default: the task's own `prepare`); may check more.
        trial_data: data -> what a trial trains on (default: all of it; tasks leave their test part out).
    """

    task: Any
    objective: kt.Objective
    search_space: Callable[[kt.HyperParameters], dict[str, Any]]
    score: Callable
    prepare: Callable | None = None
    trial_data: Callable = lambda data: data

    @property
    def name(self) -> str:
        return self.task.name

    def prepare_data(self, config):
        return (self.prepare or self.task.prepare)(config)


class ConfigHyperModel(kt.HyperModel):
    """A trial's hyper-parameters become config overrides; the task builds and fits as usual."""

    def __init__(self, tuning: TaskTuning, base_config, data, runs_root, given: dict | None = None):
        """`given`: the values set explicitly for every trial (`--set`, `--epochs`); a trial's config is built
        from them and its hyper-parameters, so the fields neither sets keep the presets of the trial's model
        (e.g. each vision family's recipe). Default: every field of `base_config`."""
        super().__init__(name=tuning.name)
        self.tuning, self.base_config, self.data, self.runs_root = tuning, base_config, data, Path(runs_root)
        self.given = given

    def config_for(self, hp: kt.HyperParameters):
        overrides = self.tuning.search_space(hp)
        # One training-state folder per hyper-parameter set: a trial killed midway and run again on resume
        # continues from its own BackupAndRestore state, never from another trial's.
        digest = hashlib.sha1(json.dumps(hp.values, sort_keys=True, default=str).encode()).hexdigest()[:12]
        given = core_config.to_dict(self.base_config) if self.given is None else self.given
        return core_config.build(type(self.base_config), **{**given, **overrides,
                                                            "run_dir": str(self.runs_root / digest)})

    def build(self, hp):
        return runner.build(self.tuning.task, self.config_for(hp), self.tuning.trial_data(self.data))

    def fit(self, hp, model, *args, callbacks=None, epochs=None, initial_epoch=0, **kwargs):
        # Hyperband passes `epochs`/`initial_epoch`; the other tuners use the config's epochs.
        config, data = self.config_for(hp), self.tuning.trial_data(self.data)
        trained = runner.train(self.tuning.task, config, data, model=model, callbacks=list(callbacks or []),
                               epochs=epochs, initial_epoch=initial_epoch)
        return self.tuning.score(config, trained, data)


def make_tuner(kind: str, hypermodel: ConfigHyperModel, objective, *, max_trials: int, max_epochs: int,
               directory, project_name: str, seed: int) -> kt.Tuner:
    """A Keras Tuner of `kind` that resumes what is already in `directory/project_name`."""
    common = dict(objective=objective, directory=str(directory), project_name=project_name, seed=seed,
                  overwrite=False)
    if kind == "random":
        return kt.RandomSearch(hypermodel, max_trials=max_trials, **common)
    if kind == "bayesian":
        return kt.BayesianOptimization(hypermodel, max_trials=max_trials, **common)
    if kind == "hyperband":  # the number of trials follows from max_epochs and factor, not max_trials
        return kt.Hyperband(hypermodel, max_epochs=max_epochs, factor=3, hyperband_iterations=1, **common)
    raise UserError(f"--tuner {kind!r} is unknown; tuners are {', '.join(TUNERS)}")


def is_worker() -> bool:
    """True in a Keras Tuner worker process (distributed mode, not the chief)."""
    return "KERASTUNER_TUNER_ID" in os.environ and os.environ["KERASTUNER_TUNER_ID"] != "chief"


def ranked_trials(tuner: kt.Tuner) -> list[dict]:
    """Every trial, best first (trials without a score last): id, status, score, hyper-parameters."""
    trials = list(tuner.oracle.trials.values())
    direction = tuner.oracle.objective.direction
    scored = sorted((t for t in trials if t.score is not None), key=lambda t: t.score, reverse=direction == "max")
    rest = [t for t in trials if t.score is None]
    return [{"rank": rank if trial.score is not None else None, "trial_id": trial.trial_id, "status": trial.status,
             "score": trial.score, "hyperparameters": trial.hyperparameters.values}
            for rank, trial in enumerate(scored + rest, start=1)]


def write_trials(folder, rows: list[dict], objective_name: str) -> dict[str, Path]:
    """trials.json, trials.md and objective.png (objective per trial, in trial order) in `folder`."""
    from core.plots import close, plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"json": folder / "trials.json", "markdown": folder / "trials.md", "plot": folder / "objective.png"}
    paths["json"].write_text(json.dumps(rows, indent=2, default=str) + "\n")
    names = sorted({name for row in rows for name in row["hyperparameters"]})
    lines = [f"| rank | trial | status | {objective_name} | " + " | ".join(names) + " |",
             "|---" * (4 + len(names)) + "|"]
    for row in rows:
        score = f"{row['score']:.4f}" if row["score"] is not None else ""
        values = " | ".join(_short(row["hyperparameters"].get(name, "")) for name in names)
        lines.append(f"| {row['rank'] or ''} | {row['trial_id']} | {row['status']} | {score} | {values} |")
    paths["markdown"].write_text("\n".join(lines) + "\n")
    ordered = sorted((row for row in rows if row["score"] is not None), key=lambda row: row["trial_id"])
    figure, axes = plt.subplots(figsize=(7, 4))
    axes.plot(range(1, len(ordered) + 1), [row["score"] for row in ordered], marker="o")
    axes.set_xlabel("trial (in order run)")
    axes.set_ylabel(objective_name)
    axes.set_title(f"{objective_name} per trial")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(paths["plot"], dpi=90)
    close(figure)
    return paths


def _short(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
