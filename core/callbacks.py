"""The standard callback list every task trains with."""

import time
from pathlib import Path

import keras


def standard_callbacks(run_dir, *, patience: int | None = 10, reduce_lr_patience: int | None = 5,
                       monitor: str = "val_loss", tensorboard: bool = False) -> list:
    """Returns EarlyStopping, ReduceLROnPlateau, TerminateOnNaN and BackupAndRestore (+ TensorBoard).

    BackupAndRestore keeps its state under `run_dir/backup`, so a killed run started again with the same
    `run_dir` resumes from the last finished epoch; Keras deletes the backup when training completes.

    Args:
        run_dir: folder for the backup (and TensorBoard logs).
        patience: epochs without improvement of `monitor` before stopping; the best weights are restored.
            None or 0: no early stopping (every epoch runs, the last weights are kept).
        reduce_lr_patience: epochs without improvement before the learning rate is divided by 2; None or 0:
            no reduction (e.g. when the optimizer follows its own schedule).
        monitor: the logged metric both watch.
        tensorboard: also write TensorBoard logs to `run_dir/tensorboard`.
    """
    run_dir = Path(run_dir)
    callbacks = []
    if patience:
        callbacks.append(keras.callbacks.EarlyStopping(monitor=monitor, patience=patience,
                                                       restore_best_weights=True))
    if reduce_lr_patience:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=0.5,
                                                           patience=reduce_lr_patience, min_lr=1e-6))
    callbacks += [keras.callbacks.TerminateOnNaN(),
                  keras.callbacks.BackupAndRestore(backup_dir=str(run_dir / "backup"))]
    if tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run_dir / "tensorboard")))
    return callbacks


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
