"""Generates the HDF5 fixtures of Tests/IOTests/HDF5Tests.swift: small files with the structures that
big Keras files (ResNet50, InceptionV3, MobileNetV2, keras.applications weight files) use.

Run by hand, never in CI, with Keras 3 and h5py (make_keras_model_fixture.py first: this reuses
keras_cnn.keras), e.g.:
    python3 -m venv .venv && .venv/bin/pip install tensorflow-cpu h5py
    .venv/bin/python scripts/make_hdf5_fixtures.py
With --full-resnet DIR it also writes DIR/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5 in
the layout of keras.applications' Keras 2 weight file (about 94 MB, never committed), for reading
by hand (FOVEA_H5_SAMPLES_DIR=DIR swift test -c release --filter HDF5Tests).

Writes to Tests/IOTests/Fixtures:
  keras3_long_names.h5       keras_cnn.keras saved by Keras 3 as a legacy .h5 after renaming the model
                             to a 55,000-character name and its first Dropout to a 6,000-character
                             name: model_config (> 64 KiB) is a variable-length string in a global heap
                             collection of its own, as ResNet50's 153 KB config is, and layer_names
                             (11 names padded to 6,000 bytes > 64,512) is split by Keras itself into
                             layer_names0 and layer_names1 of fixed-length strings. Predicts
                             keras_cnn_output.npy.
  keras2_resnet_layout.h5    the layout of keras.applications' resnet50_..._notop.h5 (Keras 2.2 with
                             h5py 2): root attributes layer_names (fixed-length strings), backend and
                             keras_version (fixed-length scalars), one group per layer in Keras's
                             topological order, weight_names like "conv1_conv/kernel:0" stored in
                             nested groups, an empty float64 weight_names for layers without weights.
                             The layers are ResNet50's first ones (conv1 to conv2_block1_out) with
                             small filter counts; dataset j (in file order) holds
                             float32(((7 k + 13 j) mod 101)) / 100 at flat index k. Keras 3's
                             load_weights reads it into the matching model (checked here).
  keras3_cnn_weights_only.h5 keras_cnn.keras's weights as Keras 3's legacy save_weights_to_hdf5_group
                             writes them on a file's root (layer_names on the root, one group per
                             layer, top_level_model_weights): the reference for Fovea's
                             KerasLegacyH5.encodeWeights
  h5py_small_btree.h5        a file made with symbol-table B-tree parameters K = 1 (sym_k(1, 1)), so
                             its 40-member group "members" has a B-tree of 38 levels (a group of
                             hundreds of members, like InceptionV3's model_weights, gets 2 with
                             h5py's defaults); datasets "members/m00".."m39" hold i as a float32
                             scalar; the root attribute "names" holds 300 variable-length strings
                             "name000".."name299" (in one 8 KiB global heap collection).
"""
import argparse, ctypes, ctypes.util, os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import h5py
import numpy as np
import keras
from keras import layers

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Tests", "IOTests", "Fixtures")


def out(name):
    return os.path.join(OUT, name)


def long_names():
    cnn = keras.saving.load_model(out("keras_cnn.keras"), compile=False)
    config = cnn.get_config()
    config["name"] = "long_config_" + "x" * (55_000 - 12)
    dropout = next(layer for layer in config["layers"] if layer["class_name"] == "Dropout")
    dropout["config"]["name"] = "dropout_" + "d" * (6_000 - 8)
    model = keras.Sequential.from_config(config)
    model.set_weights(cnn.get_weights())
    path = out("keras3_long_names.h5")
    model.save(path)
    with h5py.File(path, "r") as f:
        assert len(f.attrs["model_config"]) > 65_536
        assert "layer_names" not in f["model_weights"].attrs
        assert f["model_weights"].attrs["layer_names0"].dtype == np.dtype("S6000")
        assert f["model_weights"].attrs["layer_names1"].dtype == np.dtype("S6000")
    again = keras.saving.load_model(path, compile=False)
    x = np.load(out("keras_cnn_input.npy"))
    diff = np.max(np.abs(again.predict(x, verbose=0) - np.load(out("keras_cnn_output.npy"))))
    assert diff <= 1e-6, diff


def mini_resnet():
    """ResNet50's first layers (keras.applications.resnet: stack1's first block1), small filters."""
    bn = dict(axis=3, epsilon=1.001e-5)
    inp = keras.Input((16, 16, 3))
    x = layers.ZeroPadding2D(3, name="conv1_pad")(inp)
    x = layers.Conv2D(4, 7, strides=2, name="conv1_conv")(x)
    x = layers.BatchNormalization(**bn, name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(1, name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    name = "conv2_block1"
    shortcut = layers.Conv2D(8, 1, name=name + "_0_conv")(x)
    shortcut = layers.BatchNormalization(**bn, name=name + "_0_bn")(shortcut)
    x = layers.Conv2D(2, 1, name=name + "_1_conv")(x)
    x = layers.BatchNormalization(**bn, name=name + "_1_bn")(x)
    x = layers.Activation("relu", name=name + "_1_relu")(x)
    x = layers.Conv2D(2, 3, padding="same", name=name + "_2_conv")(x)
    x = layers.BatchNormalization(**bn, name=name + "_2_bn")(x)
    x = layers.Activation("relu", name=name + "_2_relu")(x)
    x = layers.Conv2D(8, 1, name=name + "_3_conv")(x)
    x = layers.BatchNormalization(**bn, name=name + "_3_bn")(x)
    x = layers.Add(name=name + "_add")([shortcut, x])
    x = layers.Activation("relu", name=name + "_out")(x)
    return keras.Model(inp, x, name="resnet50")


def keras2_weight_name(variable, layer):
    """The TF1 variable name Keras 2 stored: "conv1_bn/moving_mean:0"."""
    return f"{layer.name}/{variable.name}:0"


def write_keras2_weights(path, model, values):
    """Keras 2.2's save_weights_to_hdf5_group as h5py 2 stored it: fixed-length byte strings,
    layers in the model's (topological) order, the InputLayer named input_1 as Keras 2 named it;
    `values(j, variable)` gives the j-th dataset's array."""
    names = ["input_1" if isinstance(layer, layers.InputLayer) else layer.name for layer in model.layers]
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([n.encode("utf8") for n in names])
        f.attrs["backend"] = np.bytes_(b"tensorflow")
        f.attrs["keras_version"] = np.bytes_(b"2.2.4")
        j = 0
        for name, layer in zip(names, model.layers):
            group = f.create_group(name)
            weights = layer.trainable_weights + layer.non_trainable_weights  # Keras 2's order
            weight_names = [keras2_weight_name(w, layer).encode("utf8") for w in weights]
            group.attrs["weight_names"] = np.array(weight_names) if weight_names else np.array([])
            for weight_name, w in zip(weight_names, weights):
                group.create_dataset(weight_name.decode(), data=values(j, w))
                j += 1


def pattern(j, variable):
    n = int(np.prod(variable.shape))
    k = np.arange(n, dtype=np.int64)
    return (((7 * k + 13 * j) % 101).astype(np.float32) / np.float32(100)).reshape(variable.shape)


def keras2_resnet_layout():
    model = mini_resnet()
    path = out("keras2_resnet_layout.h5")
    write_keras2_weights(path, model, pattern)
    # Keras 3 reads the layout (by position, as it reads keras.applications' files).
    model.load_weights(path)
    j = 0
    for layer in model.layers:
        for w in layer.trainable_weights + layer.non_trainable_weights:
            assert np.array_equal(np.asarray(w), pattern(j, w)), w.path
            j += 1


def weights_only():
    from keras.src.legacy.saving import legacy_h5_format
    cnn = keras.saving.load_model(out("keras_cnn.keras"), compile=False)
    path = out("keras3_cnn_weights_only.h5")
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, cnn)
    fresh = keras.saving.load_model(out("keras_cnn.keras"), compile=False)
    for w in fresh.weights:
        w.assign(np.zeros(w.shape, w.dtype))
    fresh.load_weights(path)
    assert all(np.array_equal(a, b) for a, b in zip(fresh.get_weights(), cnn.get_weights()))


def small_btree():
    path = out("h5py_small_btree.h5")
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    # h5py does not wrap H5Pset_sym_k: call the libhdf5 that h5py itself loaded.
    libs = os.path.join(os.path.dirname(h5py.__file__), os.pardir, "h5py.libs")
    names = [n for n in os.listdir(libs) if n.startswith("libhdf5-")] if os.path.isdir(libs) else []
    hdf5 = ctypes.CDLL(os.path.join(libs, names[0]) if names else ctypes.util.find_library("hdf5"))
    hdf5.H5Pset_sym_k.argtypes = [ctypes.c_int64, ctypes.c_uint, ctypes.c_uint]
    assert hdf5.H5Pset_sym_k(fcpl.id, 1, 1) >= 0
    fid = h5py.h5f.create(path.encode(), h5py.h5f.ACC_TRUNC, fcpl=fcpl)
    with h5py.File(fid) as f:
        group = f.create_group("members")
        for i in range(40):
            group.create_dataset(f"m{i:02d}", data=np.float32(i))
        f.attrs["names"] = [f"name{i:03d}" for i in range(300)]
    with h5py.File(path, "r") as f:
        assert list(f["members"]) == [f"m{i:02d}" for i in range(40)]
    data = open(path, "rb").read()
    levels = {data[i + 5] for i in range(len(data) - 5) if data[i:i + 4] == b"TREE"}
    assert max(levels) == 37, levels


def full_resnet(directory):
    model = keras.applications.ResNet50(include_top=False, weights=None)
    path = os.path.join(directory, "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5")
    write_keras2_weights(path, model, lambda j, w: np.asarray(w))
    fresh = keras.applications.ResNet50(include_top=False, weights=None)
    fresh.load_weights(path)
    for a, b in zip(model.weights, fresh.weights):
        assert np.array_equal(np.asarray(a), np.asarray(b)), a.path
    print(f"{os.path.getsize(path):10d}  {path} (Keras 3 load_weights reads it back)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--full-resnet", metavar="DIR")
    args = parser.parse_args()
    keras.utils.set_random_seed(7)
    long_names()
    keras2_resnet_layout()
    weights_only()
    small_btree()
    for name in ["keras3_long_names.h5", "keras2_resnet_layout.h5", "keras3_cnn_weights_only.h5", "h5py_small_btree.h5"]:
        print(f"{os.path.getsize(out(name)):10d}  {name}")
    if args.full_resnet:
        os.makedirs(args.full_resnet, exist_ok=True)
        full_resnet(args.full_resnet)
