"""Small Keras 3 functional models (graphs) Fovea must load from .keras and .h5 files and predict.

Run by hand, never in CI (Keras lives in a virtual environment outside the repository):
    .venv/bin/python scripts/make_keras_graph_fixtures.py
Writes Tests/IOTests/Fixtures/graphs/, everything seeded (re-running gives the same numbers; the
.keras/.h5 containers hold timestamps, so their bytes change):

  NAME.keras            model.save("NAME.keras")  (config.json + model.weights.h5 + metadata.json)
  NAME.h5               model.save("NAME.h5")     (Keras 3's legacy HDF5 model file)
  NAME_input.npy        float32, batch 2; with several inputs NAME_input_0.npy, NAME_input_1.npy, ...
                        in model.inputs order
  NAME_output.npy       float32 model.predict(inputs); with several outputs NAME_output_0.npy, ... in
                        model.outputs order
  NAME_summary.txt      exactly the text model.summary() prints (print_fn capture, line_length left to
                        Keras). Keras clips its default line length (88 sequential-like, 108 with a
                        "Connected to" column) to the terminal's columns - 4; this file is made with
                        COLUMNS=80 (what a stdout that is no terminal gets, and what keras_summary_*.txt
                        in Tests/LayerTests/Fixtures were made with), so its tables are 76 wide and rich
                        wraps or truncates (with an ellipsis) long cells
  NAME_summary_wide.txt the same on a terminal 200 columns wide: Keras's unclipped default widths
  NAME_meta.json        {"total_params", "trainable_params", "non_trainable_params",
                         "layers": [layer names in model.layers order]}
and node_indices.json: the `keras_history` node indices Keras writes in config.json for the tensors the
nested models of nested_frozen produce ([consumer, producer, node_index, tensor_index]; the consumer
"(output_layers)" is the model's output_layers entry), in the first save, after a reload and save, after
a second, and in the .h5's model_config; and those of multi_io's shared Dense (called twice).
Keras 3.15.1 writes node index 0 for a nested model's tensor inside "inbound_nodes" but 1 in
"output_layers" (and "input_layers") when the producer is a nested Functional (not Sequential): its
node re-indexing counts a built-in node for Functional layers, and the loader subtracts 1 again.

Models: residual_block, inception_block, mobilenet_v2_block, nested_frozen, multi_io (see below).
Weights are seeded uniform with variance about 1/fan_in (biases +-0.2, BatchNormalization gamma
[0.5, 1.5], beta and moving_mean [-0.5, 0.5], moving_variance [0.5, 1.5], PReLU-free).
"""
import io, json, os, shutil, tempfile, zipfile
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import tensorflow as tf
import keras
from keras import layers

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Tests", "IOTests", "Fixtures", "graphs")
rng = np.random.default_rng(20270217)
keras.utils.set_random_seed(17)
tf.get_logger().setLevel("ERROR")


def randomize(model):
    values = []
    for v in model.weights:
        shape, name = tuple(v.shape), v.name
        if name == "gamma":
            a = rng.uniform(0.5, 1.5, size=shape)
        elif name in ("beta", "moving_mean"):
            a = rng.uniform(-0.5, 0.5, size=shape)
        elif name == "moving_variance":
            a = rng.uniform(0.5, 1.5, size=shape)
        elif name == "bias":
            a = rng.uniform(-0.2, 0.2, size=shape)
        else:  # kernels: fan_in = every axis but the last (depthwise: the spatial window)
            fan_in = int(np.prod(shape[:-1])) if "depthwise" not in v.path else int(np.prod(shape[:2]))
            a = rng.uniform(-1, 1, size=shape) * np.sqrt(3.0 / max(fan_in, 1))
        values.append(a.astype("float32"))
    model.set_weights(values)


# ---- the models ---------------------------------------------------------------------------------

def residual_block():
    inp = keras.Input((8, 8, 3), name="image")
    x = layers.Conv2D(8, 3, padding="same", name="conv_a")(inp)
    x = layers.BatchNormalization(name="bn_a")(x)
    x = layers.Activation("relu", name="relu_a")(x)
    x = layers.Conv2D(8, 3, padding="same", name="conv_b")(x)
    x = layers.BatchNormalization(name="bn_b")(x)
    shortcut = layers.Conv2D(8, 1, name="projection")(inp)
    x = layers.Add(name="add")([x, shortcut])
    x = layers.Activation("relu", name="relu_out")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    out = layers.Dense(4, activation="softmax", name="predictions")(x)
    return keras.Model(inp, out, name="residual_block"), [rng.uniform(-1, 1, size=(2, 8, 8, 3))]


def conv_bn_relu(x, filters, kernel, name, padding="same"):
    x = layers.Conv2D(filters, kernel, padding=padding, use_bias=False, name=name + "_conv")(x)
    x = layers.BatchNormalization(scale=False, name=name + "_bn")(x)
    return layers.Activation("relu", name=name)(x)


def inception_block():
    inp = keras.Input((8, 8, 3))
    b1 = conv_bn_relu(inp, 4, 1, "branch1x1")
    b3 = conv_bn_relu(inp, 3, 1, "branch3x3_reduce")
    b3 = conv_bn_relu(b3, 4, 3, "branch3x3")
    b5 = conv_bn_relu(inp, 2, 1, "branch5x5_reduce")
    b5 = conv_bn_relu(b5, 4, 5, "branch5x5")
    bp = layers.AveragePooling2D(3, strides=1, padding="same", name="branch_pool_avg")(inp)
    bp = conv_bn_relu(bp, 3, 1, "branch_pool")
    x = layers.Concatenate(axis=-1, name="mixed")([b1, b3, b5, bp])
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = layers.Flatten(name="flatten")(x)
    out = layers.Dense(3, activation="softmax", name="predictions")(x)
    return keras.Model(inp, out, name="inception_block"), [rng.uniform(0, 1, size=(2, 8, 8, 3))]


def mobilenet_v2_block():
    inp = keras.Input((16, 16, 3))
    x = layers.Rescaling(1.0 / 127.5, offset=-1.0, name="rescale")(inp)
    x = layers.Conv2D(8, 3, padding="same", use_bias=False, name="stem_conv")(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.999, name="stem_bn")(x)
    x = layers.ReLU(6.0, name="stem_relu")(x)
    # inverted residual, stride 2: expand, pad, depthwise valid, project
    e = layers.Conv2D(16, 1, use_bias=False, name="block1_expand")(x)
    e = layers.BatchNormalization(name="block1_expand_bn")(e)
    e = layers.ReLU(6.0, name="block1_expand_relu")(e)
    e = layers.ZeroPadding2D(((0, 1), (0, 1)), name="block1_pad")(e)
    e = layers.DepthwiseConv2D(3, strides=2, padding="valid", use_bias=False, name="block1_depthwise")(e)
    e = layers.BatchNormalization(name="block1_depthwise_bn")(e)
    e = layers.ReLU(6.0, name="block1_depthwise_relu")(e)
    p = layers.Conv2D(8, 1, use_bias=False, name="block1_project")(e)
    p = layers.BatchNormalization(name="block1_project_bn")(p)
    # inverted residual, stride 1, with the residual Add
    e = layers.Conv2D(16, 1, use_bias=False, name="block2_expand")(p)
    e = layers.BatchNormalization(name="block2_expand_bn")(e)
    e = layers.ReLU(6.0, name="block2_expand_relu")(e)
    e = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name="block2_depthwise")(e)
    e = layers.BatchNormalization(name="block2_depthwise_bn")(e)
    e = layers.ReLU(6.0, name="block2_depthwise_relu")(e)
    e = layers.Conv2D(8, 1, use_bias=False, name="block2_project")(e)
    e = layers.BatchNormalization(name="block2_project_bn")(e)
    x = layers.Add(name="block2_add")([p, e])
    x = layers.Cropping2D(((1, 0), (0, 1)), name="crop")(x)
    x = layers.Conv2D(12, 1, name="head_conv")(x)
    x = layers.ReLU(6.0, name="head_relu")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(0.2, name="dropout")(x)
    out = layers.Dense(5, activation="softmax", name="predictions")(x)
    return keras.Model(inp, out, name="mobilenet_v2_block"), [rng.uniform(0, 255, size=(2, 16, 16, 3))]


def nested_frozen():
    features = keras.Sequential([
        keras.Input((8, 8, 3)),
        layers.Conv2D(4, 3, padding="same", activation="relu", name="features_conv"),
        layers.BatchNormalization(name="features_bn"),
        layers.MaxPooling2D(2, name="features_pool"),
    ], name="features")
    features.get_layer("features_conv").trainable = False
    head_in = keras.Input((4, 4, 4), name="head_input")
    h = layers.Conv2D(6, 1, name="head_conv")(head_in)
    h = layers.BatchNormalization(name="head_bn")(h)
    h = layers.Activation("relu", name="head_relu")(h)
    h = layers.GlobalAveragePooling2D(name="head_gap")(h)
    h = layers.Dense(3, activation="softmax", name="predictions")(h)
    head = keras.Model(head_in, h, name="head_block")
    inp = keras.Input((8, 8, 3), name="image")
    x = layers.Rescaling(2.0, offset=-1.0, name="scale")(inp)
    x = features(x)
    out = head(x, training=False)  # the nested functional model's output is the outer model's output
    return keras.Model(inp, out, name="nested_frozen"), [rng.uniform(0, 1, size=(2, 8, 8, 3))]


def multi_io():
    image = keras.Input((8, 8, 2), name="image")
    vector = keras.Input((5,), name="vector")
    a = layers.Conv2D(4, 3, activation="relu", name="image_conv")(image)
    a = layers.GlobalAveragePooling2D(name="image_gap")(a)
    b = layers.Dense(4, activation="tanh", name="vector_dense")(vector)
    shared = layers.Dense(6, activation="sigmoid", name="shared_dense")
    sa, sb = shared(a), shared(b)  # one layer, two nodes
    joined = layers.Concatenate(name="concat")([sa, sb])
    diff = layers.Subtract(name="subtract")([sa, sb])
    prod = layers.Multiply(name="multiply")([sa, sb])
    peak = layers.Maximum(name="maximum")([diff, prod])
    class_out = layers.Dense(3, activation="softmax", name="class_output")(joined)
    value_out = layers.Dense(2, name="value_output")(peak)
    model = keras.Model([image, vector], [class_out, value_out], name="multi_io")
    return model, [rng.uniform(-1, 1, size=(2, 8, 8, 2)), rng.uniform(-1, 1, size=(2, 5))]


MODELS = [residual_block, inception_block, mobilenet_v2_block, nested_frozen, multi_io]


# ---- writing ------------------------------------------------------------------------------------

def summary_text(model, columns):
    """model.summary() as printed on a terminal `columns` wide (Keras and rich both read COLUMNS)."""
    os.environ["COLUMNS"] = str(columns)
    parts = []
    model.summary(print_fn=lambda text, **_: parts.append(text))
    return "".join(parts)


def count(weights):
    return int(sum(np.prod(v.shape) for v in weights))


def numbered(name, kind, arrays):
    if len(arrays) == 1:
        return [(f"{name}_{kind}.npy", arrays[0])]
    return [(f"{name}_{kind}_{i}.npy", a) for i, a in enumerate(arrays)]


def config_of(path):
    with zipfile.ZipFile(path) as z:
        return json.loads(z.read("config.json"))


def history_of(config, producers):
    """[consumer layer, producer, node_index, tensor_index] for every keras_history in the
    model's config whose producer is in `producers`, plus the model's output_layers entries."""
    found = []

    def walk(obj, consumer):
        if isinstance(obj, dict):
            if obj.get("class_name") == "__keras_tensor__":
                h = obj["config"]["keras_history"]
                if h[0] in producers:
                    found.append([consumer] + h)
            for v in obj.values():
                walk(v, consumer)
        elif isinstance(obj, list):
            for v in obj:
                walk(v, consumer)

    for layer in config["config"]["layers"]:
        walk(layer["inbound_nodes"], layer["name"])
    outputs = config["config"]["output_layers"]
    for entry in ([outputs] if isinstance(outputs[0], str) else outputs):  # one output: a flat triple
        if entry[0] in producers:
            found.append(["(output_layers)"] + entry)
    return found


def node_indices(path, producers):
    """The node indices of the nested models' outputs in NAME.keras, and after load + save again."""
    first = history_of(config_of(path), producers)
    with tempfile.TemporaryDirectory() as tmp:
        again = os.path.join(tmp, "again.keras")
        keras.saving.load_model(path).save(again)
        second = history_of(config_of(again), producers)
        again2 = os.path.join(tmp, "again2.keras")
        keras.saving.load_model(again).save(again2)
        third = history_of(config_of(again2), producers)
    return {"first_save": first, "after_reload_and_save": second, "after_second_reload_and_save": third}


def write_model(make):
    keras.backend.clear_session()
    model, xs = make()
    name = model.name
    xs = [x.astype("float32") for x in xs]
    randomize(model)
    ys = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    ys = [np.asarray(y, "float32") for y in (ys if isinstance(ys, list) else [ys])]
    keras_path, h5_path = os.path.join(OUT, name + ".keras"), os.path.join(OUT, name + ".h5")
    model.save(keras_path)
    model.save(h5_path)
    for fname, a in numbered(name, "input", xs) + numbered(name, "output", ys):
        np.save(os.path.join(OUT, fname), a)
    with open(os.path.join(OUT, name + "_summary.txt"), "w") as f:
        f.write(summary_text(model, 80))
    with open(os.path.join(OUT, name + "_summary_wide.txt"), "w") as f:
        f.write(summary_text(model, 200))
    meta = {"total_params": model.count_params(), "trainable_params": count(model.trainable_weights),
            "non_trainable_params": count(model.non_trainable_weights), "layers": [l.name for l in model.layers]}
    assert meta["total_params"] == meta["trainable_params"] + meta["non_trainable_params"]
    with open(os.path.join(OUT, name + "_meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    # Both files load back in Keras and predict the same numbers.
    for path in (keras_path, h5_path):
        again = keras.saving.load_model(path, compile=False)
        zs = again.predict(xs if len(xs) > 1 else xs[0], verbose=0)
        zs = zs if isinstance(zs, list) else [zs]
        diff = max(float(np.max(np.abs(np.asarray(z) - y))) for z, y in zip(zs, ys))
        assert diff < 1e-6, (path, diff)
    print(f"{name:20s} params {meta['total_params']:6d} (trainable {meta['trainable_params']}, "
          f"non-trainable {meta['non_trainable_params']})  {len(model.layers)} layers")
    return model


if __name__ == "__main__":
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    for make in MODELS:
        write_model(make)
    indices = node_indices(os.path.join(OUT, "nested_frozen.keras"), {"features", "head_block"})
    import h5py
    with h5py.File(os.path.join(OUT, "nested_frozen.h5"), "r") as f:
        indices["h5"] = history_of(json.loads(f.attrs["model_config"]), {"features", "head_block"})
    indices["multi_io_shared_dense"] = history_of(config_of(os.path.join(OUT, "multi_io.keras")), {"shared_dense"})
    with open(os.path.join(OUT, "node_indices.json"), "w") as f:
        json.dump(indices, f, indent=1)
        f.write("\n")
    print(json.dumps(indices))
    for fname in sorted(os.listdir(OUT)):
        size = os.path.getsize(os.path.join(OUT, fname))
        assert size < 200_000, fname
        print(f"{size:8d}  {fname}")
