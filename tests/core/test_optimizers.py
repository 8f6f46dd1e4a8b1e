"""core.optimizers: the one optimizer builder (its weight averaging; the schedules are tested with each task)."""

import keras
import numpy as np
import pytest

from core import optimizers


def _fit(weight_averaging: float) -> tuple[keras.Model, keras.optimizers.Optimizer]:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    optimizer = optimizers.build("adam", 0.1, weight_averaging=weight_averaging)
    model.compile(optimizer=optimizer, loss="mse")
    features = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    model.fit(features, features @ np.array([1.0, -2.0, 3.0], "float32"), batch_size=8, epochs=2, verbose=0,
              shuffle=False)
    return model, optimizer


def test_weight_averaging_puts_the_moving_average_into_the_model_after_fit():
    raw, _ = _fit(0.0)
    averaged, optimizer = _fit(0.9)
    assert optimizer.use_ema and optimizer.ema_momentum == 0.9
    for weight, average in zip(averaged.trainable_weights, optimizer._model_variables_moving_average):
        np.testing.assert_allclose(weight.numpy(), average.numpy())
    # The same steps without the average end elsewhere (the average lags the last steps).
    assert not np.allclose(raw.get_weights()[0], averaged.get_weights()[0], atol=1e-3)


def test_weight_averaging_outside_0_1_is_refused():
    with pytest.raises(ValueError, match="weight_averaging"):
        optimizers.build("adam", 1e-3, weight_averaging=1.0)
