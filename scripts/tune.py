"""Keras Tuner sweep over a task's hyper-parameters; ranks the trials, then retrains the best configuration
and exports it with its report, like the train scripts.

    python scripts/tune.py --task anomaly --tuner random --max-trials 10 --directory tuning
    python scripts/tune.py --task textclf --tuner bayesian --max-trials 20 \
        --set csv=../shared/data/ag_news/test_subset.csv
    python scripts/tune.py --task vision --tuner hyperband --epochs 27 --set data=flowers/ --set max_per_class=200
    python scripts/tune.py --task vision --hp model=resnet ...     # fix a hyper-parameter, tune the rest

Running it again with the same --directory and --project continues the sweep (finished trials are kept, a
trial killed midway runs again). Distributed: start the same command on every machine with
KERASTUNER_TUNER_ID=chief (one) or tuner0, tuner1, ... (workers), KERASTUNER_ORACLE_IP and
KERASTUNER_ORACLE_PORT set to the chief's address; the chief serves the oracle and, once every trial is done,
exports the best model.
"""

import argparse
import dataclasses
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.quiet import quiet  # noqa: E402

quiet()  # before anything imports TensorFlow: no absl/CUDA start-up noise

from core import config as core_config  # noqa: E402
from core.errors import UserError, exit_on_user_error  # noqa: E402

TASKS = {"anomaly": ("anomaly.config", "AnomalyConfig", "anomaly.tuning"),
         "textclf": ("textclf.config", "TextConfig", "textclf.tuning"),
         "vision": ("vision.config", "VisionConfig", "vision.tuning")}
TUNERS = core_config.TUNERS


def _fixed_value(item: str, hp):
    """`--hp NAME=VALUE`'s value, typed like the hyper-parameter (a Float's float, else its default's type:
    an Int's int, a Boolean's bool, a Choice's values' type); a UserError naming the item for a value of
    another type or a non-finite number."""
    import math

    import keras_tuner as kt

    _, _, text = item.partition("=")
    kind = float if isinstance(hp, kt.engine.hyperparameters.Float) else type(hp.default)
    try:
        value = core_config.parse_bool(text) if kind is bool else kind(text)
    except ValueError:
        raise UserError(f"--hp {item}: {text!r} is not a valid {kind.__name__} (like {hp.name}'s values)") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise UserError(f"--hp {item}: must be a finite number")
    return value


def check_trial_config(hypermodel, hyperparameters, items: list[str], config_class, task: str) -> None:
    """The configuration a trial gets with the `--hp` values (the search space's defaults for the rest),
    checked before any trial: finite floats, the config's `validate()` and a registered model name."""
    import importlib

    config = hypermodel.config_for(hyperparameters.copy())  # a copy: config_for registers the whole space
    named = f"--hp {', '.join(items)}: " if items else ""
    try:
        core_config.check_finite(config_class, core_config.to_dict(config))
        if hasattr(config, "validate"):
            config.validate()
        if hasattr(config, "model"):
            importlib.import_module(f"{task}.models").MODELS.get(config.model)
    except UserError as error:
        raise UserError(f"{named}{error}") from None


@exit_on_user_error
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", required=True, help="anomaly, textclf or vision")
    parser.add_argument("--tuner", default="random", help="random, hyperband or bayesian")
    parser.add_argument("--max-trials", type=int, default=10, help="trials (random, bayesian)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per trial (hyperband: the most)")
    parser.add_argument("--directory", default="tuning", help="Keras Tuner state; rerun with it to resume")
    parser.add_argument("--project", default=None, help="sweep name inside --directory (default: TASK_TUNER)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="a field of the task's config for every trial (data, csv, max_per_class, ...)")
    parser.add_argument("--hp", action="append", default=[], metavar="NAME=VALUE",
                        help="fix a hyper-parameter of the search space instead of tuning it")
    arguments = parser.parse_args(argv)
    if arguments.task not in TASKS:
        raise UserError(f"--task {arguments.task!r} is unknown; tasks are {', '.join(TASKS)}")
    if arguments.tuner not in TUNERS:
        raise UserError(f"--tuner {arguments.tuner!r} is unknown; tuners are {', '.join(TUNERS)}")
    if arguments.max_trials < 1:
        raise UserError(f"--max-trials must be at least 1, got {arguments.max_trials}")
    import importlib

    config_module, config_name, tuning_module = TASKS[arguments.task]
    config_class = getattr(importlib.import_module(config_module), config_name)
    overrides = dict(core_config.parse_override(config_class, item) for item in arguments.set)
    if arguments.epochs is not None:
        if arguments.epochs < 1:
            raise UserError(f"--epochs must be at least 1, got {arguments.epochs}")
        overrides["epochs"] = arguments.epochs
    overrides.setdefault("name", f"{arguments.task}_tuned")
    given = {"seed": arguments.seed, "verbose": 0, **overrides}  # every trial's; the rest from its model's presets
    base = core_config.build(config_class, **given)
    if hasattr(base, "validate"):
        base.validate()

    import keras_tuner as kt

    from core import tuning as core_tuning

    tuning = importlib.import_module(tuning_module).TUNING
    space = kt.HyperParameters()
    tuned = sorted(set(tuning.search_space(space)) & set(overrides))  # config fields the trials set
    definitions = {hp.name: hp for hp in space.space}
    if tuned:  # the trial's hyper-parameter would silently replace the --set value
        raise UserError(f"--set {', '.join(tuned)}: tuned by the {arguments.task} search space, so --set would be "
                        f"ignored; fix it with --hp {tuned[0]}=VALUE instead")
    fixed, items = {}, []
    for item in arguments.hp:
        name, equals, _ = item.partition("=")
        if name not in definitions:
            raise UserError(f"--hp {name}: not in the {arguments.task} search space; it has "
                            f"{', '.join(space.values)}")
        if not equals:
            raise UserError(f"--hp {item}: expected NAME=VALUE")
        fixed[name] = _fixed_value(item, definitions[name])
        items.append(item)
    hyperparameters = kt.HyperParameters()
    for name, value in fixed.items():
        hyperparameters.Fixed(name, value)
    project = arguments.project or f"{arguments.task}_{arguments.tuner}"
    folder = Path(arguments.directory) / project
    # Every --set/--hp value is checked here, before the data loads and before any trial: a value no trial
    # can use is one line and exit 2, not a sweep of failed trials.
    check_trial_config(core_tuning.ConfigHyperModel(tuning, base, None, folder / "runs", given), hyperparameters,
                       items, config_class, arguments.task)

    from core import distribute

    distribute.get(base.strategy)  # before any other TensorFlow op (multi-worker needs that)
    prepared = tuning.prepare_data(base)
    hypermodel = core_tuning.ConfigHyperModel(tuning, base, prepared, folder / "runs", given)
    tuner = core_tuning.make_tuner(arguments.tuner, hypermodel, tuning.objective, max_trials=arguments.max_trials,
                                   max_epochs=base.epochs, directory=arguments.directory, project_name=project,
                                   seed=arguments.seed)
    if fixed:
        tuner.oracle.hyperparameters.merge(hyperparameters)  # Fixed values win over the search space
    tuner.search(verbose=0)
    if core_tuning.is_worker():
        print(f"worker {os.environ['KERASTUNER_TUNER_ID']}: done")
        return 0

    rows = core_tuning.ranked_trials(tuner)
    paths = core_tuning.write_trials(folder, rows, tuning.objective.name)
    best = rows[0]
    if best["score"] is None:
        raise UserError(f"{folder}: no trial finished with a score; see the trial logs")
    config = hypermodel.config_for(tuner.oracle.get_best_trials(1)[0].hyperparameters)
    config = dataclasses.replace(config, run_dir=base.run_dir)  # the final run's own training state
    core_config.save(config, folder / "best_config.json")
    print(f"best trial {best['trial_id']}: {tuning.objective.name} {best['score']:.4f} with {best['hyperparameters']}")
    from core import runner

    result = runner.run(tuning.task, config, prepared)
    print(f"trials:     {paths['markdown']}")
    print(f"SavedModel: {result.export_dir}")
    print(f"Report:     {result.report_dir / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
