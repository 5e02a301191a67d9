"""Keras 3 definitions of Fovea's seed-cnn and deep-cnn and a loader for the four MNIST IDX .gz files,
shared by bench/peer_cnn.py, bench/keras_recipe.py and scripts/keras_parity.py (never run in CI)."""
import gzip, os
import numpy as np


def load_mnist(d):
    """((x_train, y_train), (x_test, y_test)): pixels scaled to [0, 1] with a channel axis, labels as uint8."""
    def idx(name, offset):
        with gzip.open(os.path.join(d, name)) as f:
            return np.frombuffer(f.read(), np.uint8)[offset:]
    train = (idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28, 1).astype("float32") / 255,
             idx("train-labels-idx1-ubyte.gz", 8))
    test = (idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28, 1).astype("float32") / 255,
            idx("t10k-labels-idx1-ubyte.gz", 8))
    return train, test


def seed_cnn():
    import keras
    from keras import layers, models
    return models.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
                              layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
                              layers.Conv2D(64, 3, activation="relu"), layers.Flatten(),
                              layers.Dense(64, activation="relu"), layers.Dense(10, activation="softmax")])


def deep_cnn():
    import keras
    from keras import layers, models
    stack = [keras.Input((28, 28, 1))]
    for filters in (64, 128, 256):
        stack += [layers.Conv2D(filters, 3, padding="same", activation="relu"),
                  layers.Conv2D(filters, 3, padding="same", activation="relu"), layers.MaxPooling2D(2)]
    stack += [layers.Flatten(), layers.Dense(512, activation="relu"), layers.Dense(512, activation="relu"),
              layers.Dense(10, activation="softmax")]
    return models.Sequential(stack)


NETWORKS = {"seed-cnn": seed_cnn, "deep-cnn": deep_cnn}
