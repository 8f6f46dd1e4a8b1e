"""The training-state folder: its lock keeps a second live run out, and a resumed fit returns the whole run's
history (so `epochs_trained` and the report's curves count every epoch)."""

import subprocess
import sys

import keras
import numpy as np
import pytest

from core import callbacks
from core.errors import UserError


class Crash(keras.callbacks.Callback):
    def __init__(self, at_epoch):
        super().__init__()
        self.at_epoch = at_epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at_epoch:
            raise KeyboardInterrupt("killed")  # as a killed run: no on_train_end


def _fit(run_dir, epochs, extra=()):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    x = np.arange(24, dtype="float32").reshape(8, 3) / 24
    return model.fit(x, x[:, :1], validation_data=(x, x[:, :1]), epochs=epochs, verbose=0,
                     callbacks=[callbacks.ElapsedTime(), *extra,
                                *callbacks.standard_callbacks(run_dir, patience=0, reduce_lr_patience=0)])


def test_a_resumed_fit_returns_the_history_of_the_whole_run(tmp_path):
    run_dir = tmp_path / "state"
    with pytest.raises(KeyboardInterrupt):
        _fit(run_dir, 5, [Crash(at_epoch=3)])
    assert (run_dir / "backup").is_dir() and (run_dir / "history.json").is_file()
    history = _fit(run_dir, 5)  # resumes at epoch 3
    assert history.epoch == [0, 1, 2, 3, 4]
    assert len(history.history["loss"]) == len(history.history["val_loss"]) == 5
    assert all(np.isfinite(history.history["loss"]))
    assert np.all(np.diff(history.history["elapsed_s"]) > 0)  # training time keeps counting across the resume
    assert not (run_dir / "backup").exists() and not (run_dir / "history.json").exists()
    assert len(_fit(run_dir, 2).history["loss"]) == 2  # completed: the next run starts afresh


def test_a_second_live_run_cannot_share_the_state_folder(tmp_path):
    pytest.importorskip("fcntl")
    run_dir = tmp_path / "state"
    run_dir.mkdir()
    # A real second process on purpose: the lock is per process (a flock, its owner's pid inside), and it must
    # go with the process when that process dies. The holder takes run_dir/lock as lock_state_dir does, without
    # importing TensorFlow, says so, and holds it until its stdin closes.
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys; f = open(sys.argv[1], 'a+'); "
         "fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB); f.write(str(os.getpid())); f.flush(); "
         "print('locked', flush=True); sys.stdin.read()", str(run_dir / "lock")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(UserError, match=f"{run_dir}: another run \\(pid {holder.pid}\\) is training"):
            _fit(run_dir, 1)
        with pytest.raises(UserError, match="another run"):
            callbacks.lock_state_dir(run_dir)
    finally:
        holder.kill()
        holder.wait(timeout=30)  # reaped: its descriptors, and so its flock, are gone
    callbacks.lock_state_dir(run_dir)  # the lock went with the process: free at once, no waiting
    callbacks.unlock_state_dir(run_dir)
    assert len(_fit(run_dir, 1).history["loss"]) == 1
