"""One runner for every task: seeding and op determinism, the `tf.distribute` scope, the training-state
folder, and the chief-only report and export. Training runs, tuner trials and benchmarks all go through it,
so these are written once.

    CLI flags -> config (core/config.py) -> Task.prepare -> runner.train [seed, strategy scope:
    Task.build_model, state folder: Task.fit] -> Task.evaluate -> runner.run [chief: Task.report ->
    report folder, then Task.export beside it; other workers: a throw-away export]

A task (in the spirit of TF Model Garden's `base_task.Task`) says only what is its own: how to prepare its
data, build and fit its model, evaluate, describe the report and export. See `anomaly/task.py`,
`textclf/task.py`, `vision/task.py`.
"""

import abc
import dataclasses
import os
import tempfile
import time
from pathlib import Path

import keras
import tensorflow as tf
from tensorflow.python.framework import config as tf_config  # op determinism's off switch and its state

from core import config as core_config
from core import distribute
from core import report as core_report


@dataclasses.dataclass
class ReportContent:
    """What a task puts in its report (`core.report.write_report`'s task-specific arguments)."""

    title: str
    model: object = None
    sections: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    figures: dict = dataclasses.field(default_factory=dict)
    images: dict | None = None
    extra: dict | None = None
    tables: dict = dataclasses.field(default_factory=dict)  # file name -> pandas DataFrame, written as CSV
    texts: dict = dataclasses.field(default_factory=dict)  # file name -> text (e.g. a serving description)


class Task(abc.ABC):
    """A task's own steps; `core.runner` calls them in order and owns everything around them."""

    #: Short name (anomaly, textclf, vision), used by the tuner.
    name: str = "task"

    @abc.abstractmethod
    def prepare(self, config):
        """Loads and validates the data (no TensorFlow op: a multi-worker strategy is not created yet)."""

    @abc.abstractmethod
    def build_model(self, config, data, batch_size: int) -> keras.Model:
        """The compiled model; called inside the strategy scope. `batch_size` is the global batch."""

    @abc.abstractmethod
    def fit(self, config, data, model: keras.Model, *, state_dir: Path, batch_size: int, callbacks: list,
            epochs: int | None, initial_epoch: int):
        """Trains `model` (callbacks from `core.callbacks.standard_callbacks(state_dir, ...)` plus
        `callbacks`) and returns what evaluation, report and export need (the task's "trained" object)."""

    @abc.abstractmethod
    def evaluate(self, config, data, trained) -> dict:
        """Metrics of the trained model (on data training never saw)."""

    @abc.abstractmethod
    def report(self, config, data, trained, metrics: dict) -> ReportContent:
        """The report's title, sections and figures."""

    @abc.abstractmethod
    def export(self, trained, model_dir, extra_files=None) -> Path:
        """The next version of `model_dir`, a TF Serving SavedModel."""

    def export_name(self, config) -> str:
        """The model's name under `output_dir` and `reports_dir`."""
        return config.export_name

    def result(self, trained, export_dir, report_dir, metrics) -> core_report.RunResult:
        """What `run` returns; tasks may return a subclass with more fields."""
        return core_report.RunResult(export_dir=export_dir, report_dir=report_dir, metrics=metrics,
                                model=getattr(trained, "model", None))


def seed_everything(config) -> bool:
    """Seeds Python, NumPy and TensorFlow with `config.seed` and switches TensorFlow's op determinism on
    (`config.deterministic`, the default) or off; returns whether it is on.

    Op determinism makes a seeded run repeat exactly (same weights, same export) on the same machine and
    software: multi-threaded CPU kernels and tf.data otherwise reorder floating-point sums. It costs some
    speed; `--no-deterministic` trades it away. It is process-wide, so every run sets it afresh.
    """
    keras.utils.set_random_seed(config.seed)
    deterministic = bool(getattr(config, "deterministic", True))
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    else:  # TensorFlow exports only the switch on; its own module has the switch off
        tf_config.disable_op_determinism()
    return deterministic


def op_determinism_enabled() -> bool:
    """Whether TensorFlow's op determinism is on in this process."""
    return tf_config.is_op_determinism_enabled()


def state_dir(config) -> Path:
    """The run's training-state folder (`config.state_dir()`); each non-chief worker gets its own inside."""
    folder = Path(config.state_dir())
    if not distribute.is_chief():
        folder = folder / f"task_{distribute.task_label().replace(' ', '_')}"
    return folder


def report_dir(config, name: str) -> Path:
    """A new report folder: `reports_dir/<name>/<date-time>/<pid>` (two runs never share one)."""
    return Path(config.reports_dir) / name / time.strftime("%Y%m%d-%H%M%S") / str(os.getpid())


def batch_size(config, strategy=None) -> int:
    """The global batch: `config.batch_size` per replica times the strategy's replicas."""
    strategy = strategy or distribute.get(config.strategy)
    return distribute.global_batch_size(getattr(config, "batch_size", 1), strategy)


def build(task: Task, config, data) -> keras.Model:
    """Seeds, then builds the task's model inside the strategy scope (tuner trials build through this); a
    task whose models are built as it learns (the online anomaly detector) returns None."""
    seed_everything(config)
    strategy = distribute.get(config.strategy)
    with strategy.scope():
        return task.build_model(config, data, batch_size(config, strategy))


def train(task: Task, config, data, *, model: keras.Model | None = None, callbacks=(), epochs: int | None = None,
          initial_epoch: int = 0):
    """Seeds, builds the model in the strategy scope (unless `model` is given, e.g. by a tuner, which built
    it through `build`) and fits it with the run's state folder; returns the task's trained object."""
    strategy = distribute.get(config.strategy)
    if model is None:
        model = build(task, config, data)
    else:
        seed_everything(config)
    return task.fit(config, data, model, state_dir=state_dir(config), batch_size=batch_size(config, strategy),
                    callbacks=list(callbacks), epochs=epochs, initial_epoch=initial_epoch)


def run(task: Task, config, data=None) -> core_report.RunResult:
    """Prepares (unless `data` is given), trains, evaluates; the chief writes the report and then the export
    with the report beside it, the other workers take part in saving and keep nothing."""
    started = time.perf_counter()
    data = task.prepare(config) if data is None else data
    trained = train(task, config, data)
    metrics = {**task.evaluate(config, data, trained), "deterministic": bool(getattr(config, "deterministic", True))}
    name = task.export_name(config)
    if not distribute.is_chief():  # saving may involve collective ops, so every worker exports
        with tempfile.TemporaryDirectory() as folder:
            task.export(trained, Path(folder) / name)
        return task.result(trained, None, None, metrics)
    content = task.report(config, data, trained, metrics)
    folder = core_report.write_report(
        report_dir(config, name), title=content.title, config=core_config.to_dict(config), metrics=metrics,
        seed=config.seed, wall_time_s=time.perf_counter() - started, model=content.model,
        sections=content.sections, figures=content.figures, images=content.images, extra=content.extra)
    for file_name, frame in content.tables.items():
        core_report.write_csv(folder / file_name, frame)
    for file_name, text in content.texts.items():
        (folder / file_name).write_text(text)
    export_dir = task.export(trained, Path(config.output_dir) / name, extra_files=core_report.report_files(folder))
    return task.result(trained, export_dir, folder, metrics)
