"""Keras 3 reference numbers for Fovea's merge, concatenation, padding/resampling and activation ops.

Run once, by hand, never in CI (Keras lives in a virtual environment outside the repository):
    <venv>/bin/python scripts/make_elementwise_references.py
It rewrites Tests/TensorTests/Fixtures/elementwise_references.json. Inputs are seeded, so
re-running gives the same file. Every array of numbers is stored as base64 of little-endian float32
bytes (exact, and a third of the size of decimal text).

Every number is computed by Keras (TensorFlow backend) in eager mode: activations through
keras.activations and the activation layers, merges through the merge layers, spatial ops through
ZeroPadding2D, Cropping2D and UpSampling2D. Gradients are TensorFlow's (tf.GradientTape) of
sum(output · upstream) for a fixed upstream tensor, so they pin the gradient conventions at kinks and
ties too.
"""
import base64, json, os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import tensorflow as tf
import keras
from keras import layers

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Tests", "TensorTests", "Fixtures", "elementwise_references.json")
rng = np.random.default_rng(20260517)


def flat(a):
    """Float32 values, row-major, as base64 of their little-endian bytes (exact and compact)."""
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode("ascii")


def tensor(a):
    a = np.asarray(a, dtype=np.float32)
    return {"shape": list(a.shape), "values": flat(a)}


def value_and_gradients(fn, inputs, upstream):
    """fn(inputs) and the gradients of sum(fn(inputs) · upstream) with respect to each input."""
    xs = [tf.constant(x) for x in inputs]
    with tf.GradientTape() as tape:
        for x in xs:
            tape.watch(x)
        y = fn(xs)
        objective = tf.reduce_sum(y * upstream)
    grads = tape.gradient(objective, xs)
    return np.asarray(y), [np.asarray(g) for g in grads]


# ---- Activations: a grid, the kinks and points just beside them --------------------------------

def activation_inputs(extra):
    grid = np.linspace(-8, 8, 321)
    kinks = [0.0, 1e-3, -1e-3, 0.25, -0.25, 3.0, -3.0, 2.999, -2.999, 3.001, -3.001, 6.0, 5.999, 6.001,
             13.9, 14.0, -13.9, -14.0, 20.0, 1e-6, -1e-6]
    x = np.concatenate([grid, kinks, extra]).astype(np.float32)
    return x


def activation_case(name, fn, config, extra=(), note=""):
    x = activation_inputs(list(extra))
    upstream = np.ones_like(x)
    y, (g,) = value_and_gradients(lambda xs: fn(xs[0]), [x], upstream)
    return {"name": name, "config": config, "note": note, "x": flat(x), "y": flat(y), "dydx": flat(g)}


def activation_cases():
    A = keras.activations
    c = []
    c.append(activation_case("relu", A.relu, {}))
    c.append(activation_case("relu6", A.relu6, {}))
    c.append(activation_case("leaky_relu", A.leaky_relu, {"negative_slope": 0.2}))
    c.append(activation_case("leaky_relu", layers.LeakyReLU(), {"negative_slope": 0.3}, note="LeakyReLU layer default"))
    for cfg, extra in [({"max_value": 6.0}, ()),
                       ({"max_value": 10.0, "negative_slope": 0.5}, (10.0, 9.999, 10.001)),
                       ({"threshold": 1.5}, (1.5, 1.499, 1.501)),
                       ({"max_value": 4.0, "negative_slope": 0.1, "threshold": 1.0}, (1.0, 0.999, 1.001, 4.0, 3.999, 4.001)),
                       ({"max_value": 6.0, "negative_slope": 0.1}, ()),
                       ({"max_value": 2.5}, (2.5, 2.499, 2.501)),
                       ({"negative_slope": 0.25}, ())]:
        c.append(activation_case("relu", layers.ReLU(**cfg), cfg, extra, note="ReLU layer"))
    c.append(activation_case("elu", A.elu, {"alpha": 1.0}))
    c.append(activation_case("elu", layers.ELU(alpha=0.5), {"alpha": 0.5}, note="ELU layer"))
    c.append(activation_case("selu", A.selu, {}))
    c.append(activation_case("silu", A.silu, {}))
    c.append(activation_case("gelu", A.gelu, {"approximate": False}, note="keras.activations.gelu default; the 'gelu' string"))
    c.append(activation_case("gelu", lambda t: A.gelu(t, approximate=True), {"approximate": True}))
    c.append(activation_case("hard_sigmoid", A.hard_sigmoid, {}))
    c.append(activation_case("hard_silu", A.hard_silu, {}))
    c.append(activation_case("softplus", A.softplus, {}))
    c.append(activation_case("softsign", A.softsign, {}))
    c.append(activation_case("exponential", A.exponential, {}))
    return c


def prelu_cases():
    c = []
    for shape, shared in [((2, 3, 4, 5), [1, 2]), ((3, 4, 2), None), ((2, 3, 4, 5), [3])]:
        x = rng.uniform(-2, 2, size=shape).astype(np.float32)
        x.reshape(-1)[:3] = 0.0  # the kink: TensorFlow's gradient is 0 there
        layer = layers.PReLU(shared_axes=shared)
        layer.build(shape)
        alpha = rng.uniform(-0.5, 0.8, size=layer.alpha.shape).astype(np.float32)
        layer.set_weights([alpha])
        upstream = rng.uniform(0.5, 1.5, size=shape).astype(np.float32)
        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = layer(xt)
            objective = tf.reduce_sum(y * upstream)
        gx, ga = tape.gradient(objective, [xt, layer.alpha])
        c.append({"shared_axes": shared, "input": tensor(x), "alpha": tensor(alpha), "upstream": flat(upstream),
                  "output": tensor(y), "input_gradient": flat(gx), "alpha_gradient": flat(ga)})
    return c


# ---- Merges ----------------------------------------------------------------------------------

MERGES = {"add": layers.Add, "subtract": layers.Subtract, "multiply": layers.Multiply,
          "average": layers.Average, "maximum": layers.Maximum, "minimum": layers.Minimum}


def merge_case(op, shapes, ties=False):
    if ties:  # few distinct values, so maxima and minima tie often
        inputs = [rng.integers(-2, 3, size=s).astype(np.float32) * 0.5 for s in shapes]
    else:
        inputs = [rng.uniform(-2, 2, size=s).astype(np.float32) for s in shapes]
    layer = MERGES[op]()
    out_shape = tuple(layer.compute_output_shape([tuple(s) for s in shapes]))
    upstream = rng.uniform(0.5, 1.5, size=out_shape).astype(np.float32)
    y, grads = value_and_gradients(lambda xs: layer(xs), inputs, upstream)
    return {"op": op, "inputs": [tensor(x) for x in inputs], "upstream": flat(upstream),
            "output": tensor(y), "gradients": [flat(g) for g in grads]}


def merge_cases():
    c = []
    for op in MERGES:
        counts = [2] if op == "subtract" else [1, 2, 3, 4]
        for n in counts:
            c.append(merge_case(op, [(2, 3, 4)] * n))
        if op in ("maximum", "minimum"):
            c.append(merge_case(op, [(3, 4, 6)] * 3, ties=True))
            c.append(merge_case(op, [(3, 4, 6)] * 2, ties=True))
        # Broadcasting as the merge layers allow: a size-1 axis, and a lower rank (axes inserted after the batch axis).
        c.append(merge_case(op, [(2, 3, 4), (2, 1, 4)]))
        c.append(merge_case(op, [(2, 3, 4), (2, 4)]))
        if op != "subtract":
            c.append(merge_case(op, [(2, 1, 4), (2, 3, 1), (2, 3, 4)]))
    return c


def concatenate_cases():
    c = []
    for shapes, axis in [([(2, 3, 3, 4), (2, 3, 3, 6), (2, 3, 3, 5), (2, 3, 3, 3)], -1),
                         ([(2, 2, 4), (2, 3, 4)], 1),
                         ([(1, 3, 2), (2, 3, 2)], 0)]:
        inputs = [rng.uniform(-1, 1, size=s).astype(np.float32) for s in shapes]
        layer = layers.Concatenate(axis=axis)
        out_shape = tuple(layer.compute_output_shape([tuple(s) for s in shapes]))
        upstream = rng.uniform(0.5, 1.5, size=out_shape).astype(np.float32)
        y, grads = value_and_gradients(lambda xs: layer(xs), inputs, upstream)
        c.append({"axis": axis, "inputs": [tensor(x) for x in inputs], "upstream": flat(upstream),
                  "output": tensor(y), "gradients": [flat(g) for g in grads]})
    return c


# ---- Padding, cropping, up-sampling ------------------------------------------------------------

def spatial_case(kind, layer, args, shape):
    x = rng.uniform(-1, 1, size=shape).astype(np.float32)
    out_shape = tuple(layer.compute_output_shape(shape))
    upstream = rng.uniform(0.5, 1.5, size=out_shape).astype(np.float32)
    y, (g,) = value_and_gradients(lambda xs: layer(xs[0]), [x], upstream)
    return {"op": kind, "args": args, "data_format": layer.data_format, "input": tensor(x),
            "upstream": flat(upstream), "output": tensor(y), "gradient": flat(g)}


def spatial_cases():
    c = []
    for fmt, shape in [("channels_last", (2, 4, 5, 2)), ("channels_first", (2, 2, 4, 5))]:
        for pad in [((1, 2), (3, 0)), ((0, 0), (1, 1))]:
            c.append(spatial_case("zero_padding2d", layers.ZeroPadding2D(pad, data_format=fmt),
                                  {"top": pad[0][0], "bottom": pad[0][1], "left": pad[1][0], "right": pad[1][1]}, shape))
        for crop in [((1, 0), (2, 1)), ((1, 2), (0, 0))]:
            c.append(spatial_case("cropping2d", layers.Cropping2D(crop, data_format=fmt),
                                  {"top": crop[0][0], "bottom": crop[0][1], "left": crop[1][0], "right": crop[1][1]}, shape))
        for size in [(2, 2), (2, 3), (3, 1)]:
            for interpolation in ["nearest", "bilinear"]:
                c.append(spatial_case("up_sampling2d", layers.UpSampling2D(size, data_format=fmt, interpolation=interpolation),
                                      {"rows": size[0], "columns": size[1], "interpolation": interpolation}, shape))
    # Larger maps (more rows per image than one source cell, factors whose scale is not exact in binary).
    for size in [(3, 3), (5, 7)]:
        c.append(spatial_case("up_sampling2d", layers.UpSampling2D(size, interpolation="bilinear"),
                              {"rows": size[0], "columns": size[1], "interpolation": "bilinear"}, (1, 5, 6, 1)))
    return c


def main():
    data = {
        "generator": "scripts/make_elementwise_references.py",
        "keras": keras.__version__, "tensorflow": tf.__version__,
        "activations": activation_cases(),
        "prelu": prelu_cases(),
        "merges": merge_cases(),
        "concatenate": concatenate_cases(),
        "spatial": spatial_cases(),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(data, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT} ({os.path.getsize(OUT) // 1024} KiB)")


if __name__ == "__main__":
    main()
