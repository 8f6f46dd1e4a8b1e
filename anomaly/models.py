"""Window autoencoders, registered by name and built by one factory.

Every builder takes the window length as `input_dim` and returns an uncompiled functional
`keras.Model` mapping `[batch, input_dim]` windows scaled to [0, 1] onto their reconstruction (sigmoid
output). `l2` adds an L2 kernel regularizer to every Dense/Conv/LSTM kernel.

    model = build("dense", input_dim=64, l2=1e-5)
    names()  # ['base', 'dense', 'tanh', 'dropout', 'conv', 'lstm', 'reference']
"""

import keras
from keras import layers

from core.registry import Registry

MODELS = Registry("anomaly model")
build = MODELS.build
names = MODELS.names


def _regularizer(l2: float):
    return keras.regularizers.L2(l2) if l2 else None


def _dense_autoencoder(name: str, input_dim: int, hidden_units: tuple[int, ...], latent_dim: int, *,
                       activation: str, dropout: float, l2: float) -> keras.Model:
    """input -> hidden_units... -> latent -> reversed(hidden_units)... -> input_dim (sigmoid)."""
    inputs = keras.Input(shape=(input_dim,), name="window")
    x = inputs
    for index, units in enumerate(hidden_units):
        x = layers.Dense(units, activation=activation, kernel_regularizer=_regularizer(l2),
                         name=f"encoder_{index}")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"encoder_dropout_{index}")(x)
    x = layers.Dense(latent_dim, activation=activation, kernel_regularizer=_regularizer(l2), name="latent")(x)
    for index, units in enumerate(reversed(hidden_units)):
        x = layers.Dense(units, activation=activation, kernel_regularizer=_regularizer(l2),
                         name=f"decoder_{index}")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"decoder_dropout_{index}")(x)
    outputs = layers.Dense(input_dim, activation="sigmoid", kernel_regularizer=_regularizer(l2),
                           name="reconstruction")(x)
    return keras.Model(inputs, outputs, name=name)


@MODELS.register("base")
def build_base(input_dim: int, *, hidden_units: int = 64, latent_dim: int = 16, l2: float = 0.0,
               dropout: float = 0.0) -> keras.Model:
    """The seeds' base variant: one ReLU hidden layer each side of the code."""
    return _dense_autoencoder("base", input_dim, (hidden_units,), latent_dim, activation="relu",
                              dropout=dropout, l2=l2)


@MODELS.register("dense")
def build_dense(input_dim: int, *, hidden_units: tuple[int, ...] = (256, 128, 64), latent_dim: int = 16,
                l2: float = 0.0, dropout: float = 0.0) -> keras.Model:
    """The seeds' dense variant: three ReLU layers each side (256-128-64 | 64-128-256)."""
    return _dense_autoencoder("dense", input_dim, tuple(hidden_units), latent_dim, activation="relu",
                              dropout=dropout, l2=l2)


@MODELS.register("tanh")
def build_tanh(input_dim: int, *, hidden_units: tuple[int, ...] = (256, 128, 64), latent_dim: int = 16,
               l2: float = 0.0, dropout: float = 0.0) -> keras.Model:
    """The dense variant with tanh activations."""
    return _dense_autoencoder("tanh", input_dim, tuple(hidden_units), latent_dim, activation="tanh",
                              dropout=dropout, l2=l2)


@MODELS.register("dropout")
def build_dropout(input_dim: int, *, hidden_units: tuple[int, ...] = (256, 128, 64), latent_dim: int = 16,
                  l2: float = 0.0, dropout: float = 0.2) -> keras.Model:
    """The tanh variant with Dropout(0.2) after every hidden layer."""
    return _dense_autoencoder("dropout", input_dim, tuple(hidden_units), latent_dim, activation="tanh",
                              dropout=dropout, l2=l2)


@MODELS.register("conv")
def build_conv(input_dim: int, *, filters: tuple[int, int] = (32, 16), kernel_size: int = 7,
               l2: float = 0.0, dropout: float = 0.0) -> keras.Model:
    """A Conv1D encoder (two stride-2 layers) and a Conv1DTranspose decoder.

    Windows whose length is not a multiple of 4 are zero-padded on the right and cropped back.
    """
    padding = (-input_dim) % 4
    inputs = keras.Input(shape=(input_dim,), name="window")
    x = layers.Reshape((input_dim, 1), name="as_sequence")(inputs)
    if padding:
        x = layers.ZeroPadding1D((0, padding), name="pad_to_multiple_of_4")(x)
    for index, count in enumerate(filters):
        x = layers.Conv1D(count, kernel_size, strides=2, padding="same", activation="relu",
                          kernel_regularizer=_regularizer(l2), name=f"encoder_{index}")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"encoder_dropout_{index}")(x)
    for index, count in enumerate(reversed(filters)):
        x = layers.Conv1DTranspose(count, kernel_size, strides=2, padding="same", activation="relu",
                                   kernel_regularizer=_regularizer(l2), name=f"decoder_{index}")(x)
    x = layers.Conv1D(1, kernel_size, padding="same", activation="sigmoid",
                      kernel_regularizer=_regularizer(l2), name="to_values")(x)
    if padding:
        x = layers.Cropping1D((0, padding), name="crop_padding")(x)
    outputs = layers.Reshape((input_dim,), name="reconstruction")(x)
    return keras.Model(inputs, outputs, name="conv")


@MODELS.register("lstm")
def build_lstm(input_dim: int, *, units: int = 32, l2: float = 0.0, dropout: float = 0.0) -> keras.Model:
    """An LSTM encoder to one state vector, repeated and decoded by a second LSTM."""
    inputs = keras.Input(shape=(input_dim,), name="window")
    x = layers.Reshape((input_dim, 1), name="as_sequence")(inputs)
    x = layers.LSTM(units, dropout=dropout, kernel_regularizer=_regularizer(l2), name="encoder")(x)
    x = layers.RepeatVector(input_dim, name="repeat")(x)
    x = layers.LSTM(units, return_sequences=True, dropout=dropout, kernel_regularizer=_regularizer(l2),
                    name="decoder")(x)
    x = layers.TimeDistributed(layers.Dense(1, activation="sigmoid", kernel_regularizer=_regularizer(l2)),
                               name="to_values")(x)
    outputs = layers.Reshape((input_dim,), name="reconstruction")(x)
    return keras.Model(inputs, outputs, name="lstm")


@MODELS.register("reference")
def build_reference(input_dim: int = 1000, *, l2: float = 0.0, dropout: float = 0.0) -> keras.Model:
    """The Part I autoencoder: 1000-512(ReLU)-32-512(ReLU)-1000(sigmoid); 1,058,824 parameters at 1000."""
    inputs = keras.Input(shape=(input_dim,), name="window")
    x = layers.Dense(512, activation="relu", kernel_regularizer=_regularizer(l2), name="encoder")(inputs)
    if dropout:
        x = layers.Dropout(dropout, name="encoder_dropout")(x)
    x = layers.Dense(32, activation="relu", kernel_regularizer=_regularizer(l2), name="latent")(x)
    x = layers.Dense(512, activation="relu", kernel_regularizer=_regularizer(l2), name="decoder")(x)
    if dropout:
        x = layers.Dropout(dropout, name="decoder_dropout")(x)
    outputs = layers.Dense(input_dim, activation="sigmoid", kernel_regularizer=_regularizer(l2),
                           name="reconstruction")(x)
    return keras.Model(inputs, outputs, name="reference")
