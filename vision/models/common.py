"""Pieces the families share: input scaling and the classification head."""

import keras
from keras import layers


def regularizer(l2: float):
    return keras.regularizers.L2(l2) if l2 else None


def scaled_input(input_shape, name="images"):
    """(Input of float pixels in [0, 255], the same scaled to [-1, 1])."""
    images = keras.Input(tuple(input_shape), name=name)
    return images, layers.Rescaling(1 / 127.5, offset=-1.0, name="scale")(images)


def classifier_head(features, num_classes: int, *, dropout: float, l2: float):
    """Dropout -> Dense softmax, computed in float32 (mixed-precision safe)."""
    if dropout:
        features = layers.Dropout(dropout, name="head_dropout")(features)
    return layers.Dense(num_classes, activation="softmax", kernel_regularizer=regularizer(l2), dtype="float32",
                        name="probabilities")(features)
