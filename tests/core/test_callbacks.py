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
    assert not callbacks.has_backup(run_dir)
    with pytest.raises(KeyboardInterrupt):
        _fit(run_dir, 5, [Crash(at_epoch=3)])
    assert callbacks.has_backup(run_dir) and (run_dir / "history.json").is_file()
    history = _fit(run_dir, 5)  # resumes at epoch 3
    assert history.epoch == [0, 1, 2, 3, 4]
    assert len(history.history["loss"]) == len(history.history["val_loss"]) == 5
    assert all(np.isfinite(history.history["loss"]))
    assert np.all(np.diff(history.history["elapsed_s"]) > 0)  # training time keeps counting across the resume
    assert not callbacks.has_backup(run_dir) and not (run_dir / "history.json").exists()
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


class _Weights(keras.callbacks.Callback):
    """Records the model's weights at every batch end and epoch end (where it stands in the callback list)."""

    def on_train_begin(self, logs=None):
        self.batches, self.epochs = [], []
        self.initial = [w.copy() for w in self.model.get_weights()]

    def on_train_batch_end(self, batch, logs=None):
        self.batches.append([w.copy() for w in self.model.get_weights()])

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append([w.copy() for w in self.model.get_weights()])


def test_lookahead_averages_into_a_slow_copy_and_writes_it_back():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(keras.optimizers.SGD(0.1, momentum=0.9), "mse")
    x = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
    before, after = _Weights(), _Weights()
    lookahead = callbacks.Lookahead(decay=0.8, every=3)
    model.fit(x, x[:, :2] * 3, batch_size=2, epochs=2, shuffle=False, verbose=0, callbacks=[before, lookahead, after])
    total = 8  # 4 steps x 2 epochs

    def lerp(decay, slow, fast):
        return [decay * s + (1 - decay) * f for s, f in zip(slow, fast)]

    slow = before.initial
    for step, (fast, seen) in enumerate(zip(before.batches, after.batches), start=1):
        if step % 3 == 0:
            slow = lerp(0.8 * (step / total) ** 3, slow, fast)
        expected = slow if step % 3 == 0 else fast  # between synchronisations the fast weights train on
        for value, want in zip(seen, expected):
            np.testing.assert_allclose(value, want, rtol=1e-5, atol=1e-6)
        if step % 4 == 0:  # an epoch ends: synchronised too, the last one with decay 1 (the slow copy itself)
            slow = lerp(1.0 if step == total else 0.8 * (step / total) ** 3, slow, expected)
            for value, want in zip(after.epochs[step // 4 - 1], slow):
                np.testing.assert_allclose(value, want, rtol=1e-5, atol=1e-6)
    assert not np.allclose(before.batches[5][0], after.batches[5][0])  # step 6 wrote back an average, not the fast
    assert not np.allclose(before.batches[-1][0], model.get_weights()[0])  # and the model ends on the slow copy
    for value, want in zip(model.get_weights(), slow):
        np.testing.assert_allclose(value, want, rtol=1e-5, atol=1e-6)


def test_lookahead_refuses_a_decay_outside_0_1():
    with pytest.raises(ValueError, match="decay in"):
        callbacks.Lookahead(decay=1.0)
