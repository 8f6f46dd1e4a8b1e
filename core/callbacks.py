"""The standard callback list every task trains with."""

from pathlib import Path

import keras


def standard_callbacks(run_dir, *, patience: int = 10, reduce_lr_patience: int = 5,
                       monitor: str = "val_loss", tensorboard: bool = False) -> list:
    """Returns EarlyStopping, ReduceLROnPlateau, TerminateOnNaN and BackupAndRestore (+ TensorBoard).

    BackupAndRestore keeps its state under `run_dir/backup`, so a killed run started again with the same
    `run_dir` resumes from the last finished epoch; Keras deletes the backup when training completes.

    Args:
        run_dir: folder for the backup (and TensorBoard logs).
        patience: epochs without improvement of `monitor` before stopping; the best weights are restored.
        reduce_lr_patience: epochs without improvement before the learning rate is divided by 2.
        monitor: the logged metric both watch.
        tensorboard: also write TensorBoard logs to `run_dir/tensorboard`.
    """
    run_dir = Path(run_dir)
    callbacks = [
        keras.callbacks.EarlyStopping(monitor=monitor, patience=patience, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=0.5, patience=reduce_lr_patience,
                                          min_lr=1e-6),
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.BackupAndRestore(backup_dir=str(run_dir / "backup")),
    ]
    if tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run_dir / "tensorboard")))
    return callbacks
