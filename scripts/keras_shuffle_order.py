"""Which samples Keras 3 (TensorFlow backend) feeds `fit(shuffle=True)` in each epoch, with and without
`keras.utils.set_random_seed`. Run by hand in a Keras venv:  python scripts/keras_shuffle_order.py

Measured with TensorFlow 2.21 / Keras 3.15: once seeded, every epoch gets the SAME permutation
(the seeded shuffle op restarts with each epoch's iterator). Fovea's `Shuffle.samePermutation`
reproduces that; `Shuffle.everyEpoch` draws a new permutation per epoch.
"""
import os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import sys
import numpy as np, keras


def first_batches(seeded):
    if seeded:
        keras.utils.set_random_seed(0)
    seen = []

    class Recorder(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(1)

        def call(self, x):
            return self.dense(x)

        def train_step(self, data):
            x, _ = data
            seen.append(np.array(x[:, 0]).astype(int))
            return {"batches": 0.0}

    m = Recorder()
    m.compile(optimizer="sgd", loss="mse", run_eagerly=True)
    x = np.arange(640, dtype="float32").reshape(-1, 1)
    m.fit(x, np.zeros((640, 1), "float32"), batch_size=64, epochs=3, verbose=0, shuffle=True)
    return [seen[e * 10][:6].tolist() for e in range(3)]


mode = sys.argv[1] if len(sys.argv) > 1 else "seeded"
for epoch, batch in enumerate(first_batches(mode == "seeded")):
    print(f"{mode}: epoch {epoch + 1} starts with samples {batch}")
