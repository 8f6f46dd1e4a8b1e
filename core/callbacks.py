"""The standard callback list every task trains with, and the training-state folder's lock and history."""

import json
import math
import os
import time
from pathlib import Path

import keras
import tensorflow as tf

from core.errors import UserError

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; runs are not protected from sharing a folder
    fcntl = None


def standard_callbacks(run_dir, *, patience: int | None = 10, reduce_lr_patience: int | None = None,
                       monitor: str = "val_loss", tensorboard: bool = False) -> list:
    """Returns StateLock, EarlyStopping, ReduceLROnPlateau, TerminateOnNaN, RunHistory and BackupAndRestore
    (+ TensorBoard).

    BackupAndRestore keeps its state under `run_dir/backup`, so a killed run started again with the same
    `run_dir` resumes from the last finished epoch; Keras deletes the backup when training completes.
    `StateLock` keeps a second live run out of `run_dir` (a `UserError` when `fit` starts) and `RunHistory`
    makes a resumed `fit` return the history of every epoch, not only of those after the resume.

    Args:
        run_dir: folder for the backup (and TensorBoard logs).
        patience: epochs without improvement of `monitor` before stopping; the best weights are restored.
            None or 0: no early stopping (every epoch runs, the last weights are kept).
        reduce_lr_patience: epochs without improvement before the learning rate is divided by 2; None or 0:
            no reduction (e.g. when the optimizer follows its own schedule). With early stopping it must be
            below `patience` (a `UserError` otherwise): equal, both fire on the same epoch and the lower rate
            never trains.
        monitor: the logged metric both watch.
        tensorboard: also write TensorBoard logs to `run_dir/tensorboard`.
    """
    if patience and reduce_lr_patience and reduce_lr_patience >= patience:
        raise UserError(f"--reduce-lr-patience ({reduce_lr_patience}) must be below --patience ({patience}): "
                        "otherwise early stopping ends the run on the epoch the rate is lowered")
    run_dir = Path(run_dir)
    callbacks = [StateLock(run_dir)]  # first: before BackupAndRestore reads the state
    if patience:
        callbacks.append(keras.callbacks.EarlyStopping(monitor=monitor, patience=patience,
                                                       restore_best_weights=True))
    if reduce_lr_patience:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=0.5,
                                                           patience=reduce_lr_patience, min_lr=1e-6))
    callbacks += [keras.callbacks.TerminateOnNaN(),
                  RunHistory(run_dir),  # after the callbacks that add logs, before the backup is written
                  keras.callbacks.BackupAndRestore(backup_dir=str(backup_dir(run_dir)))]
    if tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run_dir / "tensorboard")))
    return callbacks


def backup_dir(run_dir) -> Path:
    """Where `standard_callbacks`' BackupAndRestore keeps a run's state."""
    return Path(run_dir) / "backup"


def has_backup(run_dir) -> bool:
    """Whether a `fit` with `standard_callbacks(run_dir)` will resume from a backup (a killed run's state): work
    done before the fit, whose result the backup's weights already hold, can be skipped."""
    return any(backup_dir(run_dir).glob("*"))


_HELD_LOCKS: dict[str, object] = {}  # lock path -> open file, for the locks this process holds


def lock_state_dir(run_dir) -> Path:
    """Takes `run_dir/lock` for this process: a `UserError` if another live process holds it.

    An OS advisory lock (`flock`): it goes with the process, so a killed run leaves no stale lock. A
    process may take its own lock again (fits run one after another: a tuner, a retry after an error).
    """
    run_dir = Path(run_dir)
    path = run_dir / "lock"
    key = str(path.resolve())
    if fcntl is None or key in _HELD_LOCKS:
        return path
    run_dir.mkdir(parents=True, exist_ok=True)
    file = open(path, "a+")
    try:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        file.seek(0)
        owner = file.read().strip() or "unknown"
        file.close()
        raise UserError(f"{run_dir}: another run (pid {owner}) is training with this state folder; wait for "
                        "it to finish, or give this run its own --run-dir") from None
    file.seek(0)
    file.truncate()
    file.write(str(os.getpid()))
    file.flush()
    _HELD_LOCKS[key] = file
    return path


def unlock_state_dir(run_dir) -> None:
    """Releases `run_dir/lock` if this process holds it."""
    file = _HELD_LOCKS.pop(str((Path(run_dir) / "lock").resolve()), None)
    if file is not None:
        file.close()  # closing releases the flock


class StateLock(keras.callbacks.Callback):
    """Holds the training-state folder's lock from the start of `fit` to its end, so two live runs never
    train into (and restore from) one BackupAndRestore folder."""

    def __init__(self, run_dir):
        super().__init__()
        self.run_dir = Path(run_dir)

    def on_train_begin(self, logs=None):
        lock_state_dir(self.run_dir)

    def on_train_end(self, logs=None):
        unlock_state_dir(self.run_dir)


class RunHistory(keras.callbacks.Callback):
    """Keeps each epoch's logs in `run_dir/history.json`, so that a run resumed by BackupAndRestore returns
    the history of the whole run: `fit`'s History then starts at epoch 0, not at the resumed epoch
    (the report's curves and `epochs_trained` count every epoch). The file goes when training completes,
    as BackupAndRestore's backup does."""

    def __init__(self, run_dir):
        super().__init__()
        self.path = Path(run_dir) / "history.json"

    def on_train_begin(self, logs=None):
        try:
            self.records = json.loads(self.path.read_text()) if self.path.is_file() else []
        except (OSError, json.JSONDecodeError):
            self.records = []
        self.earlier = None  # the records of the epochs before this fit's first one

    def on_epoch_begin(self, epoch, logs=None):
        if self.earlier is None:  # where BackupAndRestore (or initial_epoch) starts this fit
            self.records = [record for record in self.records if record["epoch"] < epoch]
            self.earlier = list(self.records)

    def on_epoch_end(self, epoch, logs=None):
        values = {key: float(value) for key, value in (logs or {}).items()
                  if isinstance(value, (int, float)) or getattr(value, "shape", None) == ()}
        self.records.append({"epoch": epoch, "logs": values})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.records, allow_nan=True))
        os.replace(temporary, self.path)

    def on_train_end(self, logs=None):
        earlier = self.earlier or []
        history = getattr(self.model, "history", None)
        if earlier and isinstance(history, keras.callbacks.History):
            current = history.history
            keys = list(dict.fromkeys([*current, *(key for record in earlier for key in record["logs"])]))
            history.history = {key: [record["logs"].get(key, math.nan) for record in earlier]
                               + list(current.get(key, [math.nan] * len(history.epoch))) for key in keys}
            if "elapsed_s" in current and "elapsed_s" in earlier[-1]["logs"]:  # ElapsedTime restarts at 0
                offset = earlier[-1]["logs"]["elapsed_s"]
                history.history["elapsed_s"][len(earlier):] = [value + offset for value in current["elapsed_s"]]
            history.epoch = [record["epoch"] for record in earlier] + list(history.epoch)
        self.path.unlink(missing_ok=True)


class EvaluateEachEpoch(keras.callbacks.Callback):
    """Evaluates the model on an extra dataset at every epoch end and logs `<prefix><metric>`.

    For the per-epoch test curves of a report (as the seeds plotted them): nothing monitors these logs,
    so the extra data never steers training, early stopping or checkpoint choice. Put it first in the
    callback list so that History and the other callbacks see the values.

    Args:
        dataset: batches of (inputs, targets).
        prefix: prefix of the logged names, e.g. "test_" -> test_loss, test_accuracy.
    """

    def __init__(self, dataset, prefix: str = "test_"):
        super().__init__()
        self.dataset = dataset
        self.prefix = prefix

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        results = self.model.evaluate(self.dataset, verbose=0, return_dict=True)
        logs.update({self.prefix + name: float(value) for name, value in results.items()})


class ElapsedTime(keras.callbacks.Callback):
    """Logs `elapsed_s`: the training seconds (fit + validation) up to each epoch end, for time-to-accuracy
    curves. Time spent in callbacks listed after it (e.g. `EvaluateEachEpoch`) is not counted."""

    def on_train_begin(self, logs=None):
        self.elapsed = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.elapsed += time.perf_counter() - self.started
        if logs is not None:
            logs["elapsed_s"] = self.elapsed


class Lookahead(keras.callbacks.Callback):
    """airbench's lookahead (Jordan 2024, after Zhang et al. 2019, "Lookahead Optimizer"): a slow copy of the
    trainable weights that, every `every` steps, moves toward the fast (trained) weights by 1 - decay and is
    copied back into them. decay = `decay` x (step / total steps)^3, so the early steps are barely slowed and
    the late ones averaged; at every epoch end the weights are synchronised the same way, and the last epoch
    ends with the slow copy itself (decay 1).

    Written here because Keras's own averaging (`Optimizer(use_ema=True)`) never writes the average back during
    training, which is what lets lookahead's averaged weights keep training. Put it first in the callback list,
    so that the callbacks after it (batch-norm re-estimation, early stopping's snapshot) see the synchronised
    weights. A resumed run (BackupAndRestore) starts its slow copy again from the restored weights.

    Args:
        decay: the slow copy's largest decay, reached at the last step (airbench: 0.95^5).
        every: steps between synchronisations (airbench: 5).

    Example:
        model.fit(batches, epochs=10, callbacks=[Lookahead()])
    """

    def __init__(self, decay: float = 0.95 ** 5, every: int = 5):
        super().__init__()
        if not 0 <= decay < 1 or every < 1:
            raise ValueError(f"Lookahead needs decay in [0, 1) and every >= 1, got {decay} and {every}")
        self.decay, self.every = decay, every

    def on_train_begin(self, logs=None):
        self.slow = [tf.Variable(tf.identity(weight.value), trainable=False) for weight in self.model.trainable_weights]
        self.total = (self.params.get("steps") or 0) * self.params["epochs"]  # 0 when the data's length is unknown

        @tf.function(reduce_retracing=True)
        def synchronise(decay):
            for slow, weight in zip(self.slow, self.model.trainable_weights):
                slow.assign(decay * slow + (1.0 - decay) * tf.cast(weight.value, slow.dtype))
                weight.assign(tf.cast(slow, weight.dtype))

        self._synchronise = lambda decay: synchronise(tf.constant(decay, tf.float32))  # a tensor: one trace

    def _decay(self) -> float:
        return self.decay * min(1.0, self.step / self.total) ** 3 if self.total else self.decay

    def on_epoch_begin(self, epoch, logs=None):
        self.step = epoch * (self.params.get("steps") or 0)  # a resumed run starts at a later epoch

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.step % self.every == 0:
            self._synchronise(self._decay())

    def on_epoch_end(self, epoch, logs=None):
        last = epoch + 1 >= self.params["epochs"]
        self._synchronise(1.0 if last else self._decay())
