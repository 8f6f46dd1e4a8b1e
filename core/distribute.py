"""tf.distribute strategies for every train script: `--strategy default|mirrored|multiworker`.

- `default`: TensorFlow's default strategy (one device).
- `mirrored`: `tf.distribute.MirroredStrategy`, every local GPU (or the CPU when there is none).
- `multiworker`: `tf.distribute.MultiWorkerMirroredStrategy` over the cluster in `TF_CONFIG`; start the same
  command on every worker. Only the chief (task `chief`, or `worker` 0 when the cluster has no chief) writes
  the report and the export; the others export to a temporary folder that is deleted (saving may involve
  collective ops, so every worker takes part).

The batch size flags are per replica: datasets are batched with `batch_size x replicas` and Keras shards
them over the workers (tf.data's DATA auto-shard policy for in-memory data).
"""

import json
import os

import tensorflow as tf

from core.errors import UserError

STRATEGIES = ("default", "mirrored", "multiworker")
_created: dict[str, tf.distribute.Strategy] = {}


class MultiWorkerStrategy(tf.distribute.MultiWorkerMirroredStrategy):
    """`MultiWorkerMirroredStrategy` with a `reduce` that takes the two calls Keras 3's trainer makes.

    Keras 3.15's TensorFlow trainer (keras-team/keras#20585, open) calls, where `MirroredStrategy` copes and
    `MultiWorkerMirroredStrategy` raises:
    - `reduce("MEAN", (x, y) batch, axis=None)` before building the model, only to learn the batch's shapes:
      a nested value here returns this worker's own batch (no communication: workers' last batches may differ
      in size, which a collective op rejects);
    - `reduce("MEAN", scalar log, axis=0)`: scalars are reduced across workers without an axis.
    Everything else is TensorFlow's strategy unchanged.
    """

    def reduce(self, reduce_op, value, axis=None):
        if axis is None and tf.nest.is_nested(value):
            return tf.nest.map_structure(lambda leaf: self.experimental_local_results(leaf)[0], value)
        local = self.experimental_local_results(value)[0]
        if axis is not None and getattr(local, "shape", None) is not None and local.shape.rank == 0:
            axis = None
        return super().reduce(reduce_op, value, axis)


def get(name: str = "default") -> tf.distribute.Strategy:
    """The strategy `name`, created once per process (a multi-worker strategy must be created before any
    other TensorFlow op runs, so scripts call this right after importing TensorFlow)."""
    if name not in STRATEGIES:
        raise UserError(f"--strategy {name!r} is unknown; strategies are {', '.join(STRATEGIES)}")
    if name not in _created:
        if name == "default":
            _created[name] = tf.distribute.get_strategy()
        elif name == "mirrored":
            _created[name] = tf.distribute.MirroredStrategy()
        else:
            cluster = _tf_config()
            if not cluster:
                raise UserError("--strategy multiworker needs TF_CONFIG with the cluster and this task, e.g. "
                                '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                                '"task": {"type": "worker", "index": 0}}')
            _created[name] = MultiWorkerStrategy()
    return _created[name]


def _tf_config() -> dict:
    try:
        return json.loads(os.environ.get("TF_CONFIG", "{}") or "{}")
    except json.JSONDecodeError as error:
        raise UserError(f"TF_CONFIG is not valid JSON ({error})") from None


def is_chief() -> bool:
    """True unless this process is a non-chief task of a TF_CONFIG cluster."""
    config = _tf_config()
    task = config.get("task", {})
    if not task:
        return True
    if task.get("type") == "chief":
        return True
    return task.get("type") == "worker" and task.get("index", 0) == 0 and "chief" not in config.get("cluster", {})


def task_label() -> str:
    task = _tf_config().get("task", {})
    return f"{task.get('type')} {task.get('index', 0)}" if task else "single process"


def global_batch_size(per_replica: int, strategy: tf.distribute.Strategy) -> int:
    return per_replica * strategy.num_replicas_in_sync


def weights_digest(model) -> str:
    """A short SHA-256 of the trainable weights, to check that workers ended in sync (all-reduced gradients
    keep them identical; batch-norm moving statistics are per worker and left out)."""
    import hashlib

    digest = hashlib.sha256()
    for weight in model.trainable_weights:
        digest.update(weight.numpy().tobytes())
    return digest.hexdigest()[:16]


def print_outcome(config, result) -> None:
    """A train script's last lines: the weights digest under multiworker, then where the export and report went."""
    if config.strategy == "multiworker":
        print(f"{task_label()}: weights digest {weights_digest(result.model)}")
    if result.export_dir is None:
        print("not the chief: the chief writes the export and the report")
        return
    print(f"SavedModel: {result.export_dir}")
    print(f"Report:     {result.report_dir / 'report.md'}")
