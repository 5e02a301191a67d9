"""Keras 3 reference numbers for Fovea's batch normalization, depthwise, grouped and transposed
convolution ops (Tests/TensorTests/ConvFamilyKerasTests.swift).

Run once, by hand, never in CI (Keras lives in a virtual environment outside the repository):
    /tmp/fovea-peers/keras/bin/python scripts/make_conv_family_references.py
It rewrites Tests/TensorTests/Fixtures/keras_conv_family.json. Inputs are seeded, so re-running gives
the same file (up to TensorFlow's own rounding).

Each case runs one Keras layer (TensorFlow backend, CPU) on a small seeded input and records its
output and, through tf.GradientTape, the gradients of sum(output * probe) with respect to the input
and every trainable weight (`probe` is a seeded array of the output's shape, in [0.5, 1.5)).
"""
import json, os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import tensorflow as tf
import keras
from keras import layers

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Tests", "TensorTests", "Fixtures", "keras_conv_family.json")
rng = np.random.default_rng(20260517)


def flat(a):
    return [float(v) for v in np.asarray(a, dtype=np.float32).reshape(-1)]


def array(a):
    a = np.asarray(a, dtype=np.float32)
    return {"shape": list(a.shape), "values": flat(a)}


def run(name, layer, x, weights=None, training=False, extra=None):
    """Builds `layer` on x, sets `weights` (name -> array) or seeded uniform ones, and records the
    output and the gradients of sum(output * probe)."""
    layer.build(x.shape)
    values = {}
    for w in layer.weights:
        short = w.path.split("/")[-1]
        v = weights[short] if weights and short in weights else rng.uniform(-0.5, 0.5, size=w.shape).astype("float32")
        w.assign(v)
        values[short] = v
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = layer(xt, training=training)
        probe = rng.uniform(0.5, 1.5, size=y.shape).astype("float32")
        loss = tf.reduce_sum(y * probe)
    trainable = list(layer.trainable_weights)
    grads = tape.gradient(loss, [xt] + [w.value for w in trainable])
    case = {
        "name": name, "layer": layer.__class__.__name__,
        "config": {k: v for k, v in layer.get_config().items() if k in (
            "kernel_size", "strides", "padding", "dilation_rate", "depth_multiplier", "groups", "filters",
            "output_padding", "epsilon", "center", "scale", "use_bias")},
        "input": array(x), "weights": {k: array(v) for k, v in values.items()},
        "probe": array(probe), "output": array(y),
        "input_gradient": array(grads[0]),
        "weight_gradients": {w.path.split("/")[-1]: array(g) for w, g in zip(trainable, grads[1:])},
    }
    if extra:
        case.update(extra)
    return json.loads(json.dumps(case, default=lambda o: list(o) if isinstance(o, tuple) else str(o)))


def uniform(*shape, low=-1.0, high=1.0):
    return rng.uniform(low, high, size=shape).astype("float32")


def batch_norm_cases():
    cases = []
    for name, x, kwargs in [
        ("bn_train_rank4", uniform(3, 4, 5, 6), {}),
        ("bn_train_rank2_offset", uniform(7, 5) * 3 + 10, {"epsilon": 1e-5}),
        ("bn_train_rank3_no_scale_center", uniform(2, 6, 4), {"center": False, "scale": False}),
    ]:
        layer = layers.BatchNormalization(**kwargs)
        axes = list(range(x.ndim - 1))
        mean, variance = keras.ops.moments(tf.constant(x), axes=axes)
        cases.append(run(name, layer, x, training=True,
                         extra={"mean": array(mean), "variance": array(variance)}))
    x = uniform(2, 3, 4, 5)
    layer = layers.BatchNormalization(epsilon=1e-3)
    weights = {"moving_mean": uniform(5, low=-0.5, high=0.5), "moving_variance": uniform(5, low=0.2, high=2.0)}
    cases.append(run("bn_inference_rank4", layer, x, weights=weights, training=False))
    return cases


def depthwise_cases():
    return [
        run("depthwise_3x3_same_m1", layers.DepthwiseConv2D(3, padding="same"), uniform(2, 6, 5, 4)),
        run("depthwise_3x3_stride2_same_m2", layers.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2),
            uniform(1, 7, 6, 3)),
        run("depthwise_3x3_dilation2_valid_m1", layers.DepthwiseConv2D(3, dilation_rate=2), uniform(2, 7, 8, 5)),
        run("depthwise_5x5_stride2_valid_m1_no_bias", layers.DepthwiseConv2D(5, strides=2, use_bias=False),
            uniform(1, 9, 9, 17)),
    ]


def grouped_cases():
    return [
        run("grouped_3x3_g2_valid", layers.Conv2D(6, 3, groups=2), uniform(2, 6, 5, 4)),
        run("grouped_3x3_g4_same_stride2", layers.Conv2D(8, 3, strides=2, padding="same", groups=4), uniform(1, 7, 6, 8)),
        run("grouped_1x1_g2", layers.Conv2D(4, 1, groups=2), uniform(2, 3, 4, 6)),
    ]


def transpose_cases():
    return [
        run("transpose_3x3_stride2_same", layers.Conv2DTranspose(3, 3, strides=2, padding="same"), uniform(2, 4, 3, 2)),
        run("transpose_3x3_stride2_same_op0", layers.Conv2DTranspose(2, 3, strides=2, padding="same", output_padding=0),
            uniform(1, 3, 4, 3)),
        run("transpose_4x4_stride2_valid_op1", layers.Conv2DTranspose(2, 4, strides=2, output_padding=1), uniform(1, 3, 3, 2)),
        run("transpose_3x3_dilation2_valid", layers.Conv2DTranspose(2, 3, dilation_rate=2), uniform(2, 4, 4, 3)),
        run("transpose_2x3_stride_3x1_valid", layers.Conv2DTranspose(2, (2, 3), strides=(3, 1)), uniform(1, 3, 4, 2)),
        run("transpose_1x1", layers.Conv2DTranspose(3, 1, use_bias=False), uniform(2, 3, 3, 4)),
    ]


def main():
    cases = batch_norm_cases() + depthwise_cases() + grouped_cases() + transpose_cases()
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"keras_version": keras.__version__, "tensorflow_version": tf.__version__, "cases": cases}, f)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    main()
