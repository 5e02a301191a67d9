"""The default recipe in Keras 3 (the seed CNN, RMSprop, batch 64, 5 epochs, real MNIST), for bench/compare.sh.

usage: python keras_recipe.py MNIST_DIR THREADS [SEED] [MODEL]   (MNIST_DIR holds the four IDX .gz files;
MODEL is seed_cnn, the default, or deep_cnn: Fovea's VGG-style deep-cnn, same optimizer, batch and epochs)
"""
import gzip, os, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, tensorflow as tf, keras
from keras import layers, models
d, threads = sys.argv[1], int(sys.argv[2])
tf.config.threading.set_intra_op_parallelism_threads(threads); tf.config.threading.set_inter_op_parallelism_threads(1)


def idx(name, offset):
    with gzip.open(os.path.join(d, name)) as f:
        return np.frombuffer(f.read(), np.uint8)[offset:]


xtr = idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28, 1).astype("float32") / 255
ytr = idx("train-labels-idx1-ubyte.gz", 8)
xte = idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28, 1).astype("float32") / 255
yte = idx("t10k-labels-idx1-ubyte.gz", 8)
keras.utils.set_random_seed(int(sys.argv[3]) if len(sys.argv) > 3 else 0)
name = sys.argv[4] if len(sys.argv) > 4 else "seed_cnn"
if name == "deep_cnn":
    stack = []
    for filters in (64, 128, 256):
        stack += [layers.Conv2D(filters, 3, padding="same", activation="relu"),
                  layers.Conv2D(filters, 3, padding="same", activation="relu"), layers.MaxPooling2D(2)]
    m = models.Sequential([keras.Input((28, 28, 1))] + stack + [layers.Flatten(), layers.Dense(512, activation="relu"),
                          layers.Dense(512, activation="relu"), layers.Dense(10, activation="softmax")])
else:
    m = models.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
                           layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
                           layers.Conv2D(64, 3, activation="relu"), layers.Flatten(),
                           layers.Dense(64, activation="relu"), layers.Dense(10, activation="softmax")])
m.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
t = time.perf_counter(); m.fit(xtr, ytr, epochs=5, batch_size=64, verbose=2); dt = time.perf_counter() - t
loss, acc = m.evaluate(xte, yte, verbose=0)
print(f"keras {name} 5 epochs: test_acc={acc:.4f} fit_seconds={dt:.1f}")
