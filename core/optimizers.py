"""The one optimizer and learning-rate schedule builder every task compiles with."""

import keras

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "plateau", "cosine")


def steps_per_epoch(train_size: int, batch_size: int) -> int:
    """Batches per epoch (the last one partial)."""
    return max(1, -(-train_size // batch_size))


def learning_rate(peak: float, schedule: str, *, epochs: int, steps_per_epoch: int, warmup_epochs: float = 0.0):
    """`peak` as a constant (`constant`, or `plateau`: ReduceLROnPlateau changes it during training), or a
    linear warm-up over `warmup_epochs` followed by a cosine decay to 0 at the last step (`cosine`)."""
    if schedule in ("constant", "plateau"):
        return peak
    if schedule != "cosine":
        raise ValueError(f"schedule {schedule!r} is unknown; schedules are {', '.join(SCHEDULES)}")
    warmup = int(warmup_epochs * steps_per_epoch)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0, warmup_target=peak, warmup_steps=warmup,
        decay_steps=max(1, epochs * steps_per_epoch - warmup))


def build(name: str, peak_learning_rate: float, *, schedule: str = "constant", epochs: int = 1,
          steps_per_epoch: int = 1, warmup_epochs: float = 0.0, weight_decay: float = 0.0, momentum: float = 0.9,
          weight_averaging: float = 0.0) -> keras.optimizers.Optimizer:
    """Adam, AdamW or Nesterov SGD (`momentum`), the last two with decoupled `weight_decay` (Keras subtracts
    learning rate x weight_decay x weight at every step), following `learning_rate(...)`'s schedule.

    `weight_averaging` > 0 keeps an exponential moving average of the weights with that momentum (Keras's own
    `use_ema`; `Model.fit` writes the averages into the model when it ends, so what is evaluated, calibrated
    and exported after training is the averaged model; the per-epoch validation figures are the raw weights').

    Example:
        optimizer = build("adamw", 1e-3, schedule="cosine", epochs=30, steps_per_epoch=100, warmup_epochs=1)
    """
    rate = learning_rate(peak_learning_rate, schedule, epochs=epochs, steps_per_epoch=steps_per_epoch,
                         warmup_epochs=warmup_epochs)
    if not 0 <= weight_averaging < 1:
        raise ValueError(f"weight_averaging must be in [0, 1), got {weight_averaging}")
    averaging = {"use_ema": True, "ema_momentum": weight_averaging} if weight_averaging else {}
    if name == "adamw":
        return keras.optimizers.AdamW(rate, weight_decay=weight_decay, **averaging)
    if name == "adam":
        return keras.optimizers.Adam(rate, **averaging)
    if name == "sgd":
        return keras.optimizers.SGD(rate, momentum=momentum, nesterov=True, weight_decay=weight_decay or None,
                                    **averaging)
    raise ValueError(f"optimizer {name!r} is unknown; optimizers are {', '.join(OPTIMIZERS)}")
