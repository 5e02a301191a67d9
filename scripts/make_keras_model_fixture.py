"""Generates the Keras 3 model files Fovea's IO tests load (Tests/IOTests/Fixtures).

Run by hand, never in CI (Keras lives in a virtual environment outside the repository):
    python3 -m venv .venv && .venv/bin/pip install tensorflow-cpu h5py
    .venv/bin/python scripts/make_keras_model_fixture.py

Writes, with seeded weights and inputs:
  keras_cnn.keras              Sequential CNN saved by Keras with its default model.weights.h5
  keras_cnn_input.npy          4 input images, float32 (4, 12, 12, 2)
  keras_cnn_output.npy         Keras's predictions for them, float32 (4, 3)
  keras_cnn_npz.keras          the same model with model.weights.npz of plain arrays keyed by the
                               h5 paths (layers/conv2d/vars/0), converted from the h5 with h5py
  keras_cnn_keras_npz.keras    the same model saved by Keras with weights_format="npz": Keras pickles
                               backend variables there, so Fovea must refuse it (and Keras 3.15 cannot
                               load it either)
  keras_chain.keras, keras_chain_input.npy, keras_chain_output.npy
                               a functional single-chain model (Conv1D, pooling, Dense)
  keras_chain_gzip.keras       keras_chain.keras with its model.weights.h5 rewritten by h5py with
                               gzip-compressed (chunked) datasets, outside Fovea's HDF5 subset
  keras_unsupported.keras      a Sequential with BatchNormalization, which Fovea does not have
  keras_branching.keras        a functional model with two branches joined by Add
"""
import io, os, zipfile
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import h5py
import numpy as np
import keras
from keras import layers
from keras.src.saving import saving_lib
from keras_fixture_models import cnn_layers

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Tests", "IOTests", "Fixtures")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(20261124)
keras.utils.set_random_seed(7)


def randomize(model):
    """Seeded weights, biases included, so that every variable matters."""
    model.set_weights([rng.uniform(-0.5, 0.5, size=w.shape).astype("float32") for w in model.get_weights()])


def npz_variant(src, dst):
    """Copies a .keras archive, replacing model.weights.h5 by an npz of plain arrays at the same paths."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        arrays = {}
        h5 = h5py.File(io.BytesIO(zin.read("model.weights.h5")), "r")
        h5.visititems(lambda name, obj: arrays.__setitem__(name, np.asarray(obj)) if isinstance(obj, h5py.Dataset) else None)
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        for name in ("metadata.json", "config.json"):
            zout.writestr(name, zin.read(name))
        zout.writestr("model.weights.npz", buf.getvalue())


def gzip_variant(src, dst):
    """Copies a .keras archive, rewriting model.weights.h5 with gzip-compressed datasets."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        h5 = h5py.File(io.BytesIO(zin.read("model.weights.h5")), "r")
        buf = io.BytesIO()
        with h5py.File(buf, "w") as out:
            def copy(name, obj):
                if isinstance(obj, h5py.Dataset):
                    out.create_dataset(name, data=np.asarray(obj), compression="gzip", chunks=True)
            h5.visititems(copy)
        for name in ("metadata.json", "config.json"):
            zout.writestr(name, zin.read(name))
        zout.writestr("model.weights.h5", buf.getvalue())


def save(model, name, x=None):
    path = os.path.join(OUT, name + ".keras")
    model.save(path)
    if x is not None:
        np.save(os.path.join(OUT, name + "_input.npy"), x)
        np.save(os.path.join(OUT, name + "_output.npy"), np.asarray(model.predict(x, verbose=0), dtype="float32"))
    return path


cnn = keras.Sequential([keras.Input((12, 12, 2))] + cnn_layers(layers), name="fixture_cnn")
randomize(cnn)
x = rng.uniform(0, 1, size=(4, 12, 12, 2)).astype("float32")
cnn_path = save(cnn, "keras_cnn", x)
npz_variant(cnn_path, os.path.join(OUT, "keras_cnn_npz.keras"))
saving_lib.save_model(cnn, os.path.join(OUT, "keras_cnn_keras_npz.keras"), weights_format="npz")

inp = keras.Input((16, 3))
h = layers.Conv1D(4, 3, padding="same", activation="relu")(inp)
h = layers.MaxPooling1D(2)(h)
h = layers.Conv1D(2, 3, strides=2)(h)
h = layers.Flatten()(h)
out = layers.Dense(2, activation="softmax")(h)
chain = keras.Model(inp, out, name="fixture_chain")
randomize(chain)
chain_path = save(chain, "keras_chain", rng.uniform(-1, 1, size=(3, 16, 3)).astype("float32"))
gzip_variant(chain_path, os.path.join(OUT, "keras_chain_gzip.keras"))

unsupported = keras.Sequential([keras.Input((4,)), layers.Dense(3), layers.BatchNormalization(), layers.Dense(2)])
save(unsupported, "keras_unsupported")

inp = keras.Input((4,))
a, b = layers.Dense(2)(inp), layers.Dense(2)(inp)
save(keras.Model(inp, layers.Add()([a, b])), "keras_branching")

for name in sorted(os.listdir(OUT)):
    print(f"{os.path.getsize(os.path.join(OUT, name)):7d}  {name}")
