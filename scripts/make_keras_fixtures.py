"""Generates the Keras 3 reference numbers Fovea's conformance tests compare against.

Run once, by hand, never in CI (Keras lives in an ignored virtual environment):
    python3 -m venv .venv && .venv/bin/pip install tensorflow-cpu
    .venv/bin/python scripts/make_keras_fixtures.py
It rewrites Tests/LayerTests/Fixtures/keras_layers.json, Tests/LayerTests/Fixtures/keras_summary_*.txt
and Tests/TrainingTests/Fixtures/keras_{optimizers,losses,schedules}.json. Inputs are seeded, so
re-running gives the same files.
"""
import io, json, os, sys, contextlib
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import tensorflow as tf
import keras
from keras import layers, models, optimizers, losses, metrics

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
LAYER_DIR = os.path.join(ROOT, "Tests", "LayerTests", "Fixtures")
TRAIN_DIR = os.path.join(ROOT, "Tests", "TrainingTests", "Fixtures")
rng = np.random.default_rng(20261123)


def flat(a):
    return [float(v) for v in np.asarray(a, dtype=np.float32).reshape(-1)]


def layer_case(name, layer, input_shape, twin=None):
    """`twin`: for channels_first layers, which TensorFlow cannot run on the CPU, the same layer in
    channels_last; the output is then the twin's on the transposed input, transposed back."""
    x = rng.uniform(-1, 1, size=input_shape).astype("float32")
    layer.build(input_shape)
    weights = [rng.uniform(-0.5, 0.5, size=w.shape).astype("float32") for w in layer.get_weights()]
    if weights:
        layer.set_weights(weights)
    if twin is None:
        y = np.asarray(layer(x))
    else:
        perm, back = (0, 2, 3, 1), (0, 3, 1, 2)
        xt = np.transpose(x, perm)
        twin.build(xt.shape)
        if weights:
            twin.set_weights(weights)
        y = np.transpose(np.asarray(twin(xt)), back)
    config = {k: v for k, v in layer.get_config().items() if k not in ("name", "dtype", "trainable")}
    config = json.loads(json.dumps(config, default=lambda o: list(o) if isinstance(o, tuple) else str(o)))
    return {
        "name": name, "layer": layer.__class__.__name__, "config": config,
        "note": "channels_first output computed by the channels_last twin (TensorFlow has no NCHW conv/pool on the CPU)" if twin else "",
        "input_shape": list(input_shape), "input": flat(x),
        "weights": [{"name": v.name, "shape": list(w.shape), "values": flat(w)} for v, w in zip(layer.weights, weights)],
        "output_shape": list(y.shape), "output": flat(y),
    }


def layer_cases():
    c = []
    c.append(layer_case("conv2d_valid_3x3", layers.Conv2D(3, 3), (2, 6, 7, 2)))
    c.append(layer_case("conv2d_same_3x3", layers.Conv2D(3, 3, padding="same"), (1, 5, 6, 2)))
    c.append(layer_case("conv2d_same_stride2_even_6x6", layers.Conv2D(3, 3, strides=2, padding="same"), (1, 6, 6, 2)))
    c.append(layer_case("conv2d_same_stride2_even_8x7", layers.Conv2D(2, 3, strides=2, padding="same"), (2, 8, 7, 1)))
    c.append(layer_case("conv2d_valid_stride2", layers.Conv2D(3, 3, strides=2), (1, 7, 8, 2)))
    c.append(layer_case("conv2d_dilation2_valid", layers.Conv2D(2, 3, dilation_rate=2), (1, 8, 7, 2)))
    c.append(layer_case("conv2d_dilation2_same", layers.Conv2D(2, 3, dilation_rate=2, padding="same"), (1, 6, 6, 2)))
    c.append(layer_case("conv2d_channels_first", layers.Conv2D(3, 3, padding="same", data_format="channels_first"), (2, 2, 5, 4),
                        twin=layers.Conv2D(3, 3, padding="same")))
    c.append(layer_case("conv2d_1x1", layers.Conv2D(4, 1), (1, 4, 5, 3)))
    c.append(layer_case("conv2d_5x5_same", layers.Conv2D(2, 5, padding="same"), (1, 7, 6, 2)))
    c.append(layer_case("conv2d_kernel3x2_strides2x1", layers.Conv2D(3, (3, 2), strides=(2, 1)), (1, 7, 6, 2)))
    c.append(layer_case("conv2d_no_bias_relu", layers.Conv2D(3, 3, use_bias=False, activation="relu"), (2, 5, 5, 2)))
    c.append(layer_case("conv1d_valid", layers.Conv1D(3, 3), (2, 9, 2)))
    c.append(layer_case("conv1d_same", layers.Conv1D(3, 3, padding="same"), (1, 8, 2)))
    c.append(layer_case("conv1d_stride2", layers.Conv1D(2, 3, strides=2), (1, 9, 3)))
    c.append(layer_case("conv1d_dilation2", layers.Conv1D(2, 3, dilation_rate=2, padding="same"), (1, 8, 2)))
    for kind, cls in (("max", layers.MaxPooling2D), ("avg", layers.AveragePooling2D)):
        c.append(layer_case(f"{kind}pool2d_2_valid", cls(2), (2, 6, 5, 2)))
        c.append(layer_case(f"{kind}pool2d_2_same_odd", cls(2, padding="same"), (1, 5, 5, 2)))
        c.append(layer_case(f"{kind}pool2d_3_stride2_valid", cls(3, strides=2), (1, 7, 8, 2)))
        c.append(layer_case(f"{kind}pool2d_2x3_same", cls((2, 3), padding="same"), (1, 5, 7, 1)))
        c.append(layer_case(f"{kind}pool2d_channels_first", cls(2, padding="same", data_format="channels_first"), (1, 2, 5, 5),
                            twin=cls(2, padding="same")))
    for kind, cls in (("max", layers.MaxPooling1D), ("avg", layers.AveragePooling1D)):
        c.append(layer_case(f"{kind}pool1d_2_valid", cls(2), (2, 7, 2)))
        c.append(layer_case(f"{kind}pool1d_3_same", cls(3, padding="same"), (1, 8, 2)))
        c.append(layer_case(f"{kind}pool1d_3_stride1", cls(3, strides=1), (1, 6, 1)))
    c.append(layer_case("global_average_pooling2d", layers.GlobalAveragePooling2D(), (2, 4, 3, 3)))
    c.append(layer_case("global_max_pooling2d", layers.GlobalMaxPooling2D(), (2, 4, 3, 3)))
    c.append(layer_case("dense_bias", layers.Dense(4), (3, 5)))
    c.append(layer_case("dense_no_bias_relu", layers.Dense(4, use_bias=False, activation="relu"), (3, 5)))
    c.append(layer_case("dense_softmax", layers.Dense(3, activation="softmax"), (2, 4)))
    c.append(layer_case("dense_rank3", layers.Dense(3), (2, 3, 4)))
    c.append(layer_case("flatten_channels_last", layers.Flatten(), (2, 3, 2, 2)))
    c.append(layer_case("flatten_channels_first", layers.Flatten(data_format="channels_first"), (2, 3, 2, 2)))
    return c


def summaries():
    def seed():
        return [layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2), layers.Conv2D(64, 3, activation="relu"),
                layers.MaxPooling2D(2), layers.Conv2D(64, 3, activation="relu"), layers.Flatten(),
                layers.Dense(64, activation="relu"), layers.Dense(10, activation="softmax")]
    def dense():
        return [layers.Flatten(), layers.Dense(512, activation="relu"), layers.Dense(10, activation="softmax")]
    def tutorial():
        return [layers.Conv2D(4, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
                layers.Conv2D(8, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
                layers.Conv2D(16, 3, padding="same", activation="relu"), layers.Flatten(), layers.Dropout(0.25),
                layers.Dense(784, activation="relu"), layers.Dropout(0.25), layers.Dense(100, activation="relu"),
                layers.Dense(10, activation="softmax")]
    def deep():
        out = []
        for f in (64, 128, 256):
            out += [layers.Conv2D(f, 3, padding="same", activation="relu"), layers.Conv2D(f, 3, padding="same", activation="relu"),
                    layers.MaxPooling2D(2)]
        return out + [layers.Flatten(), layers.Dense(512, activation="relu"), layers.Dense(512, activation="relu"),
                      layers.Dense(10, activation="softmax")]
    for name, make in (("seed-cnn", seed), ("dense", dense), ("tutorial-cnn", tutorial), ("deep-cnn", deep)):
        keras.backend.clear_session()
        model = models.Sequential([keras.Input((28, 28, 1))] + make())
        lines = []
        model.summary(print_fn=lambda line, **_: lines.append(line), line_length=None)
        text = "\n".join(lines)
        # rich may pad lines; strip trailing spaces only.
        text = "\n".join(l.rstrip() for l in text.split("\n")).strip("\n") + "\n"
        with open(os.path.join(LAYER_DIR, f"keras_summary_{name}.txt"), "w") as f:
            f.write(text)


def optimizer_cases():
    configs = [
        ("sgd_default", lambda: optimizers.SGD()),
        ("sgd_momentum", lambda: optimizers.SGD(learning_rate=0.1, momentum=0.9)),
        ("sgd_nesterov", lambda: optimizers.SGD(learning_rate=0.1, momentum=0.9, nesterov=True)),
        ("rmsprop_default", lambda: optimizers.RMSprop()),
        ("rmsprop_rho_momentum", lambda: optimizers.RMSprop(learning_rate=0.01, rho=0.8, momentum=0.5)),
        ("rmsprop_centered", lambda: optimizers.RMSprop(learning_rate=0.01, centered=True)),
        ("rmsprop_centered_momentum", lambda: optimizers.RMSprop(learning_rate=0.01, momentum=0.5, centered=True)),
        ("adam_default", lambda: optimizers.Adam()),
        ("adam_amsgrad", lambda: optimizers.Adam(learning_rate=0.01, beta_1=0.8, beta_2=0.99, amsgrad=True)),
        ("adam_exponential_decay", lambda: optimizers.Adam(
            learning_rate=optimizers.schedules.ExponentialDecay(0.01, decay_steps=2, decay_rate=0.5))),
    ]
    cases = []
    for name, make in configs:
        opt = make()
        w0 = rng.normal(size=(2, 3)).astype("float32")
        grads = [rng.normal(size=(2, 3)).astype("float32") for _ in range(4)]
        var = keras.Variable(w0)
        after = []
        for g in grads:
            opt.apply_gradients([(tf.constant(g), var)])
            after.append(flat(var.numpy()))
        cfg = opt.get_config()
        cases.append({"name": name, "optimizer": opt.__class__.__name__,
                      "config": json.loads(json.dumps(cfg, default=str)), "shape": [2, 3], "initial": flat(w0),
                      "gradients": [flat(g) for g in grads], "after_step": after})
    return {"keras_version": keras.__version__, "cases": cases}


def schedule_cases():
    out = []
    for name, s in (("exponential", optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)),
                    ("exponential_staircase", optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5, staircase=True)),
                    ("piecewise", optimizers.schedules.PiecewiseConstantDecay(boundaries=[5, 10], values=[1.0, 0.5, 0.1]))):
        out.append({"name": name, "config": json.loads(json.dumps(s.get_config(), default=str)),
                    "steps": list(range(16)), "values": [float(s(step)) for step in range(16)]})
    return {"cases": out}


def loss_cases():
    def probs(shape):
        p = rng.uniform(0.05, 1, size=shape).astype("float32")
        return p / p.sum(axis=-1, keepdims=True)
    labels = np.array([2, 0, 3], dtype="int64")
    onehot = np.eye(4, dtype="float32")[labels]
    p = probs((3, 4))
    p_edge = p.copy(); p_edge[1] = [0.0, 1.0, 0.0, 0.0]  # true class 0 has probability exactly 0
    p_edge[2] = [0.0, 0.0, 0.0, 1.0]                        # true class 3 has probability exactly 1
    logits = rng.normal(size=(3, 4)).astype("float32")
    cases = []

    def add(name, fn, y_true, y_pred, with_grad=True):
        yp = tf.Variable(y_pred)
        with tf.GradientTape() as tape:
            per = fn(tf.constant(y_true), yp)
            mean = tf.reduce_mean(per)
        grad = tape.gradient(mean, yp) if with_grad else None
        cases.append({"name": name, "y_true": flat(y_true), "y_true_shape": list(np.shape(y_true)),
                      "y_pred": flat(y_pred), "y_pred_shape": list(np.shape(y_pred)),
                      "per_sample": flat(per), "mean": float(mean),
                      "grad_mean_wrt_y_pred": flat(grad) if grad is not None else None})

    add("categorical_crossentropy", losses.categorical_crossentropy, onehot, p)
    add("categorical_crossentropy_clipped", losses.categorical_crossentropy, onehot, p_edge)
    add("categorical_crossentropy_from_logits", lambda t, q: losses.categorical_crossentropy(t, q, from_logits=True), onehot, logits)
    add("sparse_categorical_crossentropy", losses.sparse_categorical_crossentropy, labels.astype("float32"), p)
    add("sparse_categorical_crossentropy_from_logits",
        lambda t, q: losses.sparse_categorical_crossentropy(t, q, from_logits=True), labels.astype("float32"), logits)
    add("mean_squared_error", losses.mean_squared_error, onehot, p)
    b_true = np.array([[1, 0, 1], [0, 0, 1]], dtype="float32")
    b_pred = np.array([[0.9, 0.2, 1.0], [0.0, 0.4, 0.7]], dtype="float32")
    add("binary_crossentropy", losses.binary_crossentropy, b_true, b_pred)
    add("binary_crossentropy_from_logits", lambda t, q: losses.binary_crossentropy(t, q, from_logits=True),
        b_true, rng.normal(size=(2, 3)).astype("float32"))
    acc = []
    for name, m, yt, yp in (("categorical_accuracy", metrics.CategoricalAccuracy(), onehot, p),
                            ("sparse_categorical_accuracy", metrics.SparseCategoricalAccuracy(), labels.astype("float32"), p),
                            ("binary_accuracy", metrics.BinaryAccuracy(), b_true, b_pred)):
        m.update_state(yt, yp)
        acc.append({"name": name, "y_true": flat(yt), "y_true_shape": list(yt.shape), "y_pred": flat(yp),
                    "y_pred_shape": list(yp.shape), "value": float(m.result())})
    return {"keras_version": keras.__version__, "losses": cases, "metrics": acc}


def write(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    os.makedirs(LAYER_DIR, exist_ok=True)
    os.makedirs(TRAIN_DIR, exist_ok=True)
    write(os.path.join(LAYER_DIR, "keras_layers.json"), {"keras_version": keras.__version__, "cases": layer_cases()})
    summaries()
    write(os.path.join(TRAIN_DIR, "keras_optimizers.json"), optimizer_cases())
    write(os.path.join(TRAIN_DIR, "keras_schedules.json"), schedule_cases())
    write(os.path.join(TRAIN_DIR, "keras_losses.json"), loss_cases())
    print("fixtures written")
