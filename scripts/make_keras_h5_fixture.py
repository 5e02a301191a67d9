"""Generates the legacy Keras HDF5 model files (model.save("m.h5")) Fovea's IO tests load.

Run by hand, never in CI. It needs TensorFlow with both Keras 3 and tf_keras (Keras 2 for
TensorFlow 2.16+, which writes exactly what tf.keras 2 wrote), e.g.:
    python3 -m venv .venv && .venv/bin/pip install tensorflow-cpu h5py tf_keras
    .venv/bin/python scripts/make_keras_h5_fixture.py
It reuses the weights and inputs of scripts/make_keras_model_fixture.py's keras_cnn.keras and
keras_chain.keras (run that first), so both formats hold the same model.

Writes to Tests/IOTests/Fixtures:
  keras3_cnn.h5           keras_cnn.keras re-saved by Keras 3 as a legacy .h5 (its legacy_h5_format:
                          Keras 3 config, weight names like "fixture_cnn/conv2d/kernel"); predicts
                          keras_cnn_output.npy
  tfkeras_cnn.h5          the same CNN built and saved by tf_keras 2 without an Input layer (the first
                          Conv2D carries batch_input_shape, weight names like "conv2d/kernel:0"),
                          compiled, so the file also holds training_config and optimizer_weights
  tfkeras_cnn_output.npy  tf_keras's predictions for keras_cnn_input.npy
  tfkeras_cnn_h5py2.h5    tfkeras_cnn.h5 as Keras 2.0-2.2 with h5py 2 wrote it: string attributes as
                          fixed-length byte strings, the Sequential config a plain list of layers with
                          no InputLayer (the first Conv2D carries batch_input_shape), and layer_names
                          split into layer_names0 and layer_names1 the way Keras splits attributes too
                          large for an object header
  tfkeras_cnn_weights.h5  tf_keras's model.save_weights("w.h5"): weights only, layer_names on the root
  tfkeras_chain.h5        keras_chain.keras's functional model rebuilt and saved by tf_keras 2 (Keras 2
                          inbound_nodes); predicts tfkeras_chain_output.npy for keras_chain_input.npy
  tfkeras_unsupported.h5  a tf_keras Sequential with BatchNormalization, which Fovea does not have
"""
import json, os, shutil
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import h5py
import numpy as np
import keras
import tf_keras
from keras_fixture_models import cnn_layers

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Tests", "IOTests", "Fixtures")
L = tf_keras.layers


def out(name):
    return os.path.join(OUT, name)


def check(a, b, what):
    diff = float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
    assert diff <= 1e-6, f"{what}: predictions differ by {diff}"


# Keras 3's legacy writer: load the .keras fixture and save it under a .h5 name.
cnn = keras.saving.load_model(out("keras_cnn.keras"), compile=False)
x = np.load(out("keras_cnn_input.npy"))
cnn.save(out("keras3_cnn.h5"))
again = keras.saving.load_model(out("keras3_cnn.h5"), compile=False)
check(again.predict(x, verbose=0), np.load(out("keras_cnn_output.npy")), "keras3_cnn.h5")

# tf_keras (Keras 2): the same architecture and weights, declared the Keras 2 way.
tf_keras.utils.set_random_seed(7)
old = tf_keras.Sequential(cnn_layers(L, input_shape=(12, 12, 2)), name="fixture_cnn")
old.set_weights(cnn.get_weights())
old.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
old.save(out("tfkeras_cnn.h5"))
y = old.predict(x, verbose=0)
check(y, np.load(out("keras_cnn_output.npy")), "tf_keras vs Keras 3")
np.save(out("tfkeras_cnn_output.npy"), np.asarray(y, dtype="float32"))
old.save_weights(out("tfkeras_cnn_weights.h5"))
check(tf_keras.models.load_model(out("tfkeras_cnn.h5")).predict(x, verbose=0), y, "tfkeras_cnn.h5")

# The old spelling of the same file: fixed-length strings, list config, chunked layer_names.
shutil.copy(out("tfkeras_cnn.h5"), out("tfkeras_cnn_h5py2.h5"))
with h5py.File(out("tfkeras_cnn_h5py2.h5"), "r+") as f:
    config = json.loads(f.attrs["model_config"])
    assert config["config"]["layers"][0]["class_name"] == "InputLayer"
    config["config"] = config["config"]["layers"][1:]
    f.attrs["model_config"] = json.dumps(config)
    def fixed(obj):
        for key, value in list(obj.attrs.items()):
            if isinstance(value, str):
                obj.attrs[key] = np.bytes_(value.encode("utf8"))
            elif isinstance(value, np.ndarray) and value.dtype == object:
                obj.attrs[key] = np.array([v.encode("utf8") for v in value], dtype="S")
    fixed(f)
    f.visititems(lambda name, obj: fixed(obj))
    g = f["model_weights"]
    names = g.attrs["layer_names"]
    del g.attrs["layer_names"]
    g.attrs["layer_names0"], g.attrs["layer_names1"] = names[:4], names[4:]
check(tf_keras.models.load_model(out("tfkeras_cnn_h5py2.h5")).predict(x, verbose=0), y, "tfkeras_cnn_h5py2.h5")

# A functional chain in Keras 2's config (inbound_nodes as nested lists).
chain = keras.saving.load_model(out("keras_chain.keras"), compile=False)
inp = tf_keras.Input((16, 3))
h = L.Conv1D(4, 3, padding="same", activation="relu")(inp)
h = L.MaxPooling1D(2)(h)
h = L.Conv1D(2, 3, strides=2)(h)
h = L.Flatten()(h)
old_chain = tf_keras.Model(inp, L.Dense(2, activation="softmax")(h), name="fixture_chain")
old_chain.set_weights(chain.get_weights())
old_chain.save(out("tfkeras_chain.h5"))
xc = np.load(out("keras_chain_input.npy"))
np.save(out("tfkeras_chain_output.npy"), np.asarray(old_chain.predict(xc, verbose=0), dtype="float32"))
check(old_chain.predict(xc, verbose=0), np.load(out("keras_chain_output.npy")), "tf_keras chain vs Keras 3")

unsupported = tf_keras.Sequential([L.Dense(3, input_shape=(4,)), L.BatchNormalization(), L.Dense(2)])
unsupported.save(out("tfkeras_unsupported.h5"))

for name in sorted(os.listdir(OUT)):
    if name.endswith(".h5") or name.startswith("tfkeras"):
        print(f"{os.path.getsize(out(name)):7d}  {name}")
