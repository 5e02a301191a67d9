"""The layers of the fixture CNN, shared by make_keras_model_fixture.py (Keras 3) and
make_keras_h5_fixture.py (tf_keras, Keras 2), so that both formats hold the same model."""


def cnn_layers(layers, **first):
    """The CNN's layers from a Keras `layers` module; `first` goes to the first Conv2D
    (Keras 2's input_shape=)."""
    return [
        layers.Conv2D(4, 3, padding="same", activation="relu", **first),
        layers.Conv2D(6, 3, strides=2, padding="same", activation="relu"),  # asymmetric "same" padding
        layers.MaxPooling2D(2),
        layers.Dropout(0.25),
        layers.Conv2D(5, 2, activation="tanh"),
        layers.AveragePooling2D(2, strides=1, padding="same"),
        layers.Flatten(),
        layers.Dense(8),
        layers.Activation("relu"),
        layers.Dropout(0.1),
        layers.Dense(3, activation="softmax"),
    ]
