"""Keras 3 reference cases for every layer Fovea registers: outputs AND gradients of single layers.

Run by hand, never in CI (Keras lives in a virtual environment outside the repository):
    .venv/bin/python scripts/make_keras_layer_cases.py
It rewrites Tests/LayerTests/Fixtures/keras_layer_cases.json. Everything is seeded, so re-running gives
the same file.

Schema (a contract with the Swift tests; all arrays are float32 values flattened row-major):
  {"keras_version": "3.15.1", "cases": [CASE, ...]}
  CASE = {
    "name":        unique snake_case string,
    "class_name":  Keras class name ("Conv2D"),
    "serialized":  keras.saving.serialize_keras_object(layer) after building: the entry a .keras
                   config.json holds (module, class_name, config with name/trainable/dtype,
                   registered_name, build_config; InputLayer has no build_config),
    "training":    the `training` argument of the call,
    "inputs":      [{"shape", "values"}, ...]  one per layer input (merges have 2 or 3),
    "weights":     [{"name", "shape", "values", "trainable"}]  in layer.weights order, set with
                   set_weights (e.g. "kernel", "bias", "gamma", "moving_mean"),
    "output":      {"shape", "values"},
    "probe":       {"shape", "values"}  a fixed random cotangent in [0.5, 1.5] of the output's shape,
    "input_gradients":  [{"shape", "values"}, ...]  d(sum(output * probe)) / d(input_i) (tf.GradientTape),
    "weight_gradients": [{"shape", "values"} or null]  in `weights` order; null for non-trainable weights,
    "weights_after":    null, or (stateful training calls: BatchNormalization with training=True) the
                        values of every weight after the call, in `weights` order, as {"name", "shape", "values"},
    "note":        free text
  }
Inputs stay at least 0.05 away from every kink of the layer (0 for relu-likes, threshold, max_value,
+-3 for hard_sigmoid/hard_silu; for layers with a fused activation the pre-activations are checked);
max-like layers (max pooling, global max pooling, Maximum/Minimum, softmax) get distinct values at
least 0.05 apart, so no ties. channels_first convolutions and pooling are computed by a channels_last
"twin" (same weights, transposed input/output/gradients); the direct channels_first call is checked
against it (Keras 3.15 transposes internally on the CPU) and the difference is in the note.
"""
import json, os, re
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import tensorflow as tf
import keras
from keras import layers

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Tests", "LayerTests", "Fixtures", "keras_layer_cases.json")
rng = np.random.default_rng(20270117)
MARGIN = 0.05


# ---- inputs -------------------------------------------------------------------------------------

def uniform(shape, lo=-1.0, hi=1.0, kinks=()):
    """Uniform values, each at least MARGIN away from every kink (resampled until so)."""
    x = rng.uniform(lo, hi, size=shape)
    for _ in range(1000):
        bad = np.zeros(x.shape, bool)
        for k in kinks:
            bad |= np.abs(x - k) < MARGIN
        if not bad.any():
            return x.astype("float32")
        x[bad] = rng.uniform(lo, hi, size=int(bad.sum()))
    raise RuntimeError("cannot avoid kinks")


def spaced(shapes, spacing=0.0625, jitter=0.0125):
    """Distinct values for one or several tensors together: a shuffled grid, gaps >= spacing - jitter."""
    sizes = [int(np.prod(s)) for s in shapes]
    n = sum(sizes)
    grid = (np.arange(n) - (n - 1) / 2) * spacing + rng.uniform(0, jitter, size=n)
    grid = grid[rng.permutation(n)].astype("float32")
    out, at = [], 0
    for s, k in zip(shapes, sizes):
        out.append(grid[at:at + k].reshape(s))
        at += k
    return out


# ---- one case -----------------------------------------------------------------------------------

def flat(a):
    return [float(v) for v in np.asarray(a, dtype=np.float32).reshape(-1)]


def tensor(a):
    a = np.asarray(a, dtype=np.float32)
    return {"shape": list(a.shape), "values": flat(a)}


def default_weights(layer):
    out = []
    for v in layer.weights:
        shape = tuple(v.shape)
        n = v.name
        if n == "gamma":
            out.append(rng.uniform(0.5, 1.5, size=shape))
        elif n == "moving_mean":
            out.append(rng.uniform(-0.5, 0.5, size=shape))
        elif n == "moving_variance":
            out.append(rng.uniform(0.5, 1.5, size=shape))
        elif n == "alpha":  # PReLU: non-zero slopes
            out.append(rng.uniform(0.1, 0.6, size=shape))
        else:
            out.append(rng.uniform(-0.5, 0.5, size=shape))
    return [w.astype("float32") for w in out]


def swap_format(layer):
    """The same layer in channels_last (its twin)."""
    cfg = layer.get_config()
    cfg["data_format"] = "channels_last"
    return layer.__class__.from_config(cfg)


def linear_clone(layer):
    cfg = layer.get_config()
    cfg["activation"] = "linear"
    return layer.__class__.from_config(cfg)


def run(layer, xs, weights, training, probe=None):
    """Calls the layer under a tape; returns output, input gradients, weight gradients (None where
    not trainable), weights after. `probe` None: only the output."""
    if weights:
        layer.set_weights(weights)
    tx = [tf.constant(x) for x in xs]
    trainable = [v for v in layer.weights if v.trainable]
    with tf.GradientTape() as tape:
        tape.watch(tx)
        y = layer(tx if len(tx) > 1 else tx[0], training=training)
    if probe is None:
        return np.asarray(y), None, None, [np.asarray(v) for v in layer.get_weights()]
    grads = tape.gradient(y, tx + [v.value for v in trainable], output_gradients=tf.constant(probe),
                          unconnected_gradients=tf.UnconnectedGradients.ZERO)
    gx = [np.asarray(g) for g in grads[:len(tx)]]
    gw_it = iter(np.asarray(g) for g in grads[len(tx):])
    gw = [next(gw_it) if v.trainable else None for v in layer.weights]
    return np.asarray(y), gx, gw, [np.asarray(v) for v in layer.get_weights()]


def case(name, layer, inputs, training=False, twin=False, pre_kinks=(), note="", weights=None, retries=None):
    """`inputs`: a function returning the list of input arrays (called again while a fused
    activation's pre-activations come too close to `pre_kinks`)."""
    keras.backend.clear_session()
    layer_cfg = layer.get_config()
    for attempt in range(500):
        layer = layer.__class__.from_config(layer_cfg)
        xs = inputs()
        shapes = [x.shape for x in xs]
        layer.build(shapes if len(shapes) > 1 else shapes[0])
        w = weights(layer) if weights else default_weights(layer)
        if pre_kinks:
            lin = linear_clone(layer)
            lin.build(shapes[0])
            z, *_ = run(lin, xs, w, training)
            if any(np.min(np.abs(z - k)) < MARGIN for k in pre_kinks):
                continue
        break
    else:
        raise RuntimeError(f"{name}: pre-activations keep hitting a kink")
    serialized = keras.saving.serialize_keras_object(layer)
    weights_before = [np.asarray(v) for v in w] if w else [np.asarray(v) for v in layer.get_weights()]
    perm, back = (0, 2, 3, 1), (0, 3, 1, 2)
    if twin:
        t = swap_format(layer)
        txs = [np.ascontiguousarray(np.transpose(x, perm)) for x in xs]
        t.build(txs[0].shape)
        probe_t = rng.uniform(0.5, 1.5, size=tuple(t.compute_output_shape(txs[0].shape))).astype("float32")
        y_t, gx_t, gw, after = run(t, txs, w, training, probe_t)
        y = np.transpose(y_t, back)
        probe = np.transpose(probe_t, back)
        gx = [np.transpose(g, back) for g in gx_t]
        direct, *_ = run(layer, xs, w, training)
        diff = float(np.max(np.abs(direct - y)))
        note = (note + "; " if note else "") + "channels_first computed by the channels_last twin"
        if diff < 1e-5:
            note += f" (the direct Keras call agrees within {diff:.2g})"
        else:
            # Keras 3.15.1's TensorFlow ops.add treats a (1, C, 1, 1) bias as NHWC bias_add when the
            # output's last axis also has C entries, so a direct channels_first call is wrong there.
            assert layer.get_config().get("use_bias") and y.shape[-1] == y.shape[1], (name, diff)
            note += (f" (the direct Keras 3.15.1 call is off by {diff:.3g}: its TensorFlow ops.add adds the (1, C, 1, 1) "
                     "bias along the last axis when the output's width equals C; the twin is right)")
    else:
        shape = layer.compute_output_shape(shapes if len(shapes) > 1 else shapes[0])
        probe = rng.uniform(0.5, 1.5, size=tuple(shape)).astype("float32")
        y, gx, gw, after = run(layer, xs, w, training, probe)
    stateful = training and any(not v.trainable for v in layer.weights) and layer.trainable
    return {
        "name": name,
        "class_name": layer.__class__.__name__,
        "serialized": serialized,
        "training": bool(training),
        "inputs": [tensor(x) for x in xs],
        "weights": [{"name": v.name, "shape": list(a.shape), "values": flat(a), "trainable": bool(v.trainable)}
                    for v, a in zip(layer.weights, weights_before)],
        "output": tensor(y),
        "probe": tensor(probe),
        "input_gradients": [tensor(g) for g in gx],
        "weight_gradients": [None if g is None else tensor(g) for g in gw],
        "weights_after": [{"name": v.name, "shape": list(a.shape), "values": flat(a)}
                          for v, a in zip(layer.weights, after)] if stateful else None,
        "note": note,
    }


def U(shape, lo=-1.0, hi=1.0, kinks=()):
    return lambda: [uniform(shape, lo, hi, kinks)]


def S(*shapes):
    return lambda: spaced(shapes)


def input_layer_case():
    keras.backend.clear_session()
    layer = layers.InputLayer(shape=(3, 4))
    x = uniform((2, 3, 4))
    probe = rng.uniform(0.5, 1.5, size=x.shape).astype("float32")
    return {"name": "input_layer", "class_name": "InputLayer",
            "serialized": keras.saving.serialize_keras_object(layer), "training": False,
            "inputs": [tensor(x)], "weights": [], "output": tensor(x), "probe": tensor(probe),
            "input_gradients": [tensor(probe)], "weight_gradients": [], "weights_after": None,
            "note": "InputLayer cannot be called; it is the identity on its tensor (output = input, gradient = probe)"}


# ---- the cases ----------------------------------------------------------------------------------

def cases():
    c = [input_layer_case()]
    add = c.append

    # Dense
    add(case("dense_rank2", layers.Dense(4), U((3, 5))))
    add(case("dense_rank3", layers.Dense(3), U((2, 3, 4))))
    add(case("dense_no_bias", layers.Dense(4, use_bias=False), U((3, 5))))
    add(case("dense_relu", layers.Dense(4, activation="relu"), U((3, 5)), pre_kinks=(0,)))
    add(case("dense_no_bias_relu_rank3", layers.Dense(3, use_bias=False, activation="relu"), U((2, 3, 4)), pre_kinks=(0,)))
    add(case("dense_softmax", layers.Dense(3, activation="softmax"), U((2, 4))))

    # Conv1D
    add(case("conv1d_valid", layers.Conv1D(3, 3), U((2, 9, 2))))
    add(case("conv1d_same_stride2", layers.Conv1D(3, 3, strides=2, padding="same"), U((1, 8, 2))))
    add(case("conv1d_dilation2", layers.Conv1D(2, 3, dilation_rate=2, padding="same"), U((1, 8, 2))))
    add(case("conv1d_causal", layers.Conv1D(2, 3, padding="causal"), U((1, 7, 2))))
    add(case("conv1d_relu_no_bias", layers.Conv1D(3, 2, use_bias=False, activation="relu"), U((2, 6, 2)), pre_kinks=(0,)))

    # Conv2D
    add(case("conv2d_valid", layers.Conv2D(3, 3), U((2, 5, 6, 2))))
    add(case("conv2d_same", layers.Conv2D(3, 3, padding="same"), U((1, 5, 4, 2))))
    add(case("conv2d_same_stride2", layers.Conv2D(3, 3, strides=2, padding="same"), U((1, 6, 6, 2))))
    add(case("conv2d_valid_stride2", layers.Conv2D(2, 3, strides=2), U((1, 7, 6, 2))))
    add(case("conv2d_dilation2", layers.Conv2D(2, 3, dilation_rate=2), U((1, 7, 6, 2))))
    add(case("conv2d_dilation2_same", layers.Conv2D(2, 3, dilation_rate=2, padding="same"), U((1, 5, 5, 2))))
    add(case("conv2d_groups2", layers.Conv2D(4, 3, groups=2), U((1, 5, 5, 4))))
    add(case("conv2d_groups2_same", layers.Conv2D(6, 2, groups=2, padding="same"), U((1, 4, 4, 4))))
    add(case("conv2d_channels_first", layers.Conv2D(3, 3, padding="same", data_format="channels_first"),
             U((2, 2, 5, 4)), twin=True))
    add(case("conv2d_channels_first_stride2_valid", layers.Conv2D(2, 3, strides=2, data_format="channels_first"),
             U((1, 3, 7, 6)), twin=True))
    add(case("conv2d_relu", layers.Conv2D(3, 3, activation="relu"), U((2, 4, 5, 2)), pre_kinks=(0,)))
    add(case("conv2d_no_bias", layers.Conv2D(3, (3, 2), strides=(2, 1), use_bias=False), U((1, 7, 6, 2))))

    # Conv2DTranspose
    add(case("conv2d_transpose_valid", layers.Conv2DTranspose(3, 3), U((1, 4, 3, 2))))
    add(case("conv2d_transpose_same", layers.Conv2DTranspose(3, 3, padding="same"), U((1, 4, 3, 2))))
    add(case("conv2d_transpose_stride2_same", layers.Conv2DTranspose(2, 3, strides=2, padding="same"), U((2, 3, 3, 2))))
    add(case("conv2d_transpose_stride2_valid", layers.Conv2DTranspose(2, 3, strides=2), U((1, 3, 4, 2))))
    add(case("conv2d_transpose_stride2_kernel4_same", layers.Conv2DTranspose(2, 4, strides=2, padding="same"), U((1, 3, 3, 2))))
    add(case("conv2d_transpose_output_padding", layers.Conv2DTranspose(2, 3, strides=2, output_padding=1), U((1, 3, 3, 2))))
    add(case("conv2d_transpose_output_padding_same", layers.Conv2DTranspose(2, 3, strides=(2, 3), padding="same",
                                                                            output_padding=(0, 1)), U((1, 3, 3, 2))))
    add(case("conv2d_transpose_dilation2", layers.Conv2DTranspose(2, 3, dilation_rate=2), U((1, 3, 4, 2))))
    add(case("conv2d_transpose_dilation2_same", layers.Conv2DTranspose(2, 3, dilation_rate=2, padding="same"), U((1, 4, 4, 2))))
    add(case("conv2d_transpose_relu_no_bias", layers.Conv2DTranspose(3, 2, strides=2, use_bias=False, activation="relu"),
             U((1, 2, 3, 2), -4, 4), pre_kinks=(0,)))

    # DepthwiseConv2D
    add(case("depthwise_conv2d_valid", layers.DepthwiseConv2D(3), U((2, 5, 5, 3))))
    add(case("depthwise_conv2d_multiplier2_same", layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same"), U((1, 4, 5, 2))))
    add(case("depthwise_conv2d_stride2_same", layers.DepthwiseConv2D(3, strides=2, padding="same"), U((1, 6, 6, 3))))
    add(case("depthwise_conv2d_stride2_same_odd", layers.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2),
             U((1, 5, 5, 2))))
    add(case("depthwise_conv2d_no_bias", layers.DepthwiseConv2D(3, use_bias=False), U((1, 5, 4, 3))))
    add(case("depthwise_conv2d_relu6", layers.DepthwiseConv2D(3, activation="relu6"), U((2, 5, 5, 2), -8, 8), pre_kinks=(0, 6)))
    add(case("depthwise_conv2d_dilation2", layers.DepthwiseConv2D(3, dilation_rate=2, padding="same"), U((1, 5, 5, 2))))
    add(case("depthwise_conv2d_channels_first", layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2,
                                                                       data_format="channels_first"),
             U((1, 2, 5, 4)), twin=True))

    # SeparableConv2D
    add(case("separable_conv2d_valid", layers.SeparableConv2D(3, 3), U((1, 5, 5, 2))))
    add(case("separable_conv2d_multiplier2_same", layers.SeparableConv2D(4, 3, depth_multiplier=2, padding="same"), U((1, 4, 4, 2))))
    add(case("separable_conv2d_stride2_same", layers.SeparableConv2D(3, 3, strides=2, padding="same"), U((2, 6, 5, 2))))
    add(case("separable_conv2d_multiplier2_stride2_valid", layers.SeparableConv2D(2, 3, strides=2, depth_multiplier=2),
             U((1, 7, 7, 3))))
    add(case("separable_conv2d_no_bias_relu", layers.SeparableConv2D(3, 3, use_bias=False, activation="relu"),
             U((1, 5, 5, 2)), pre_kinks=(0,)))

    # Pooling
    for kind, cls in (("max", layers.MaxPooling1D), ("average", layers.AveragePooling1D)):
        add(case(f"{kind}_pooling1d_valid", cls(2), S((2, 7, 2))))
        add(case(f"{kind}_pooling1d_same", cls(3, padding="same"), S((1, 8, 2))))
        add(case(f"{kind}_pooling1d_stride1", cls(3, strides=1), S((1, 6, 2))))
        add(case(f"{kind}_pooling1d_stride2_same_odd", cls(2, strides=2, padding="same"), S((1, 7, 2))))
    for kind, cls in (("max", layers.MaxPooling2D), ("average", layers.AveragePooling2D)):
        add(case(f"{kind}_pooling2d_valid", cls(2), S((2, 6, 5, 2))))
        add(case(f"{kind}_pooling2d_same_odd", cls(2, padding="same"), S((1, 5, 5, 2))))
        add(case(f"{kind}_pooling2d_3_stride2_valid", cls(3, strides=2), S((1, 7, 6, 2))))
        add(case(f"{kind}_pooling2d_3_stride2_same", cls(3, strides=2, padding="same"), S((1, 6, 5, 2))))
        add(case(f"{kind}_pooling2d_3_stride1_same", cls(3, strides=1, padding="same"), S((1, 4, 4, 2))))
        add(case(f"{kind}_pooling2d_2x3_strides_1x2", cls((2, 3), strides=(1, 2)), S((1, 4, 7, 1))))
        add(case(f"{kind}_pooling2d_channels_first", cls(2, padding="same", data_format="channels_first"),
                 S((1, 2, 5, 5)), twin=True))
    for keepdims in (False, True):
        suffix = "_keepdims" if keepdims else ""
        add(case("global_average_pooling2d" + suffix, layers.GlobalAveragePooling2D(keepdims=keepdims), U((2, 4, 3, 3))))
        add(case("global_max_pooling2d" + suffix, layers.GlobalMaxPooling2D(keepdims=keepdims), S((2, 4, 3, 3))))
    add(case("global_average_pooling2d_channels_first", layers.GlobalAveragePooling2D(data_format="channels_first"),
             U((2, 3, 4, 3)), note="direct Keras call (no kernel of TensorFlow's needs NHWC here)"))
    add(case("global_max_pooling2d_channels_first", layers.GlobalMaxPooling2D(data_format="channels_first"),
             S((2, 3, 4, 3)), note="direct Keras call"))

    # Reshaping and identity-like
    add(case("flatten", layers.Flatten(), U((2, 3, 2, 2))))
    add(case("flatten_channels_first", layers.Flatten(data_format="channels_first"), U((2, 3, 2, 2))))
    add(case("dropout_inference", layers.Dropout(0.5), U((2, 3, 4)), note="training=False: identity"))
    add(case("spatial_dropout2d_inference", layers.SpatialDropout2D(0.5), U((2, 3, 3, 2)), note="training=False: identity"))
    add(case("reshape_minus_one", layers.Reshape((-1, 4)), U((2, 3, 4, 2))))
    add(case("reshape_explicit", layers.Reshape((4, 6)), U((2, 3, 4, 2))))
    add(case("permute_2_1_3", layers.Permute((2, 1, 3)), U((2, 3, 4, 2))))
    add(case("permute_3_1_2", layers.Permute((3, 1, 2)), U((2, 3, 4, 2))))
    add(case("rescaling_1_over_255", layers.Rescaling(1.0 / 255), U((2, 3, 3, 2), 0, 255)))
    add(case("rescaling_2_offset_minus1", layers.Rescaling(2.0, offset=-1.0), U((2, 3, 3, 2), 0, 1)))
    add(case("zero_padding2d_int", layers.ZeroPadding2D(1), U((2, 3, 4, 2))))
    add(case("zero_padding2d_tuples", layers.ZeroPadding2D(((1, 2), (0, 3))), U((1, 3, 3, 2))))
    add(case("zero_padding2d_channels_first", layers.ZeroPadding2D(((1, 0), (2, 1)), data_format="channels_first"),
             U((1, 2, 3, 3)), note="direct Keras call"))
    add(case("cropping2d_int", layers.Cropping2D(1), U((2, 5, 4, 2))))
    add(case("cropping2d_tuples", layers.Cropping2D(((1, 0), (2, 1))), U((1, 4, 6, 2))))
    add(case("cropping2d_channels_first", layers.Cropping2D(((0, 1), (1, 1)), data_format="channels_first"),
             U((1, 2, 4, 5)), note="direct Keras call"))
    add(case("up_sampling2d_2_nearest", layers.UpSampling2D(2), U((2, 3, 2, 2))))
    add(case("up_sampling2d_2x3_nearest", layers.UpSampling2D((2, 3)), U((1, 2, 3, 2))))
    add(case("up_sampling2d_2_bilinear", layers.UpSampling2D(2, interpolation="bilinear"), U((2, 3, 3, 2))))
    add(case("up_sampling2d_2x3_bilinear", layers.UpSampling2D((2, 3), interpolation="bilinear"), U((1, 3, 2, 2))))
    add(case("up_sampling2d_channels_first", layers.UpSampling2D(2, data_format="channels_first"), U((1, 2, 3, 2)),
             note="direct Keras call"))

    # Activation layers
    act_inputs = {
        "linear": U((2, 3, 4), -3, 3), "relu": U((2, 3, 4), -2, 2, (0,)), "sigmoid": U((2, 3, 4), -4, 4),
        "tanh": U((2, 3, 4), -3, 3), "softmax": S((2, 3, 4)), "relu6": U((2, 3, 4), -2, 8, (0, 6)),
        "swish": U((2, 3, 4), -4, 4), "silu": U((2, 3, 4), -4, 4), "gelu": U((2, 3, 4), -3, 3),
        "hard_sigmoid": U((2, 3, 4), -4.5, 4.5, (-3, 3)), "hard_swish": U((2, 3, 4), -4.5, 4.5, (-3, 3)),
        "hard_silu": U((2, 3, 4), -4.5, 4.5, (-3, 3)), "elu": U((2, 3, 4), -3, 2, (0,)),
        "selu": U((2, 3, 4), -3, 2, (0,)), "softplus": U((2, 3, 4), -4, 4), "softsign": U((2, 3, 4), -4, 4, (0,)),
        "exponential": U((2, 3, 4), -2, 2), "leaky_relu": U((2, 3, 4), -2, 2, (0,)),
    }
    for act, inputs in act_inputs.items():
        layer = layers.Activation(act)
        serialized_as = layer.get_config()["activation"]
        note = f"Keras serializes Activation('{act}') as '{serialized_as}'" if serialized_as != act else ""
        add(case("activation_" + act, layer, inputs, note=note))

    # Advanced activations
    add(case("relu_default", layers.ReLU(), U((2, 3, 4), -2, 2, (0,))))
    add(case("relu_max_value_6", layers.ReLU(max_value=6.0), U((2, 3, 4), -2, 8, (0, 6))))
    add(case("relu_negative_slope_0_1", layers.ReLU(negative_slope=0.1), U((2, 3, 4), -2, 2, (0,))))
    add(case("relu_threshold_0_5", layers.ReLU(threshold=0.5), U((2, 3, 4), -2, 2, (0.5,))))
    add(case("relu_all_three", layers.ReLU(max_value=6.0, negative_slope=0.1, threshold=0.5), U((2, 3, 4), -2, 8, (0.5, 6))))
    add(case("leaky_relu_default", layers.LeakyReLU(), U((2, 3, 4), -2, 2, (0,)), note="Keras 3's LeakyReLU layer defaults to negative_slope=0.3 (the leaky_relu activation function to 0.2)"))
    add(case("leaky_relu_slope_0_3", layers.LeakyReLU(negative_slope=0.3), U((2, 3, 4), -2, 2, (0,))))
    add(case("leaky_relu_slope_0_1", layers.LeakyReLU(negative_slope=0.1), U((2, 3, 4), -2, 2, (0,))))
    add(case("elu_alpha_1", layers.ELU(), U((2, 3, 4), -3, 2, (0,))))
    add(case("elu_alpha_0_5", layers.ELU(alpha=0.5), U((2, 3, 4), -3, 2, (0,))))
    add(case("prelu_default", layers.PReLU(), U((2, 3, 3, 2), -2, 2, (0,))))
    add(case("prelu_shared_axes_1_2", layers.PReLU(shared_axes=[1, 2]), U((2, 3, 3, 2), -2, 2, (0,))))
    add(case("prelu_rank2", layers.PReLU(), U((3, 4), -2, 2, (0,))))
    add(case("softmax_axis_last", layers.Softmax(), S((2, 3, 4))))
    add(case("softmax_axis1", layers.Softmax(axis=1), S((2, 3, 4))))

    # BatchNormalization
    add(case("batch_normalization_inference", layers.BatchNormalization(), U((2, 3, 3, 4), -2, 2)))
    add(case("batch_normalization_inference_rank2", layers.BatchNormalization(), U((3, 4), -2, 2)))
    add(case("batch_normalization_training", layers.BatchNormalization(), U((2, 3, 3, 4), -2, 2), training=True,
             note="batch statistics; moving statistics updated with momentum 0.99 and the biased batch variance"))
    add(case("batch_normalization_training_rank2", layers.BatchNormalization(), U((6, 3), -2, 2), training=True))
    add(case("batch_normalization_no_center_no_scale", layers.BatchNormalization(center=False, scale=False),
             U((2, 3, 3, 4), -2, 2)))
    add(case("batch_normalization_no_center_no_scale_training", layers.BatchNormalization(center=False, scale=False),
             U((2, 3, 3, 4), -2, 2), training=True))
    add(case("batch_normalization_axis1_channels_first", layers.BatchNormalization(axis=1), U((2, 3, 3, 4), -2, 2),
             note="direct Keras call (TensorFlow's CPU kernels run axis=1)"))
    add(case("batch_normalization_axis1_channels_first_training", layers.BatchNormalization(axis=1),
             U((2, 3, 3, 4), -2, 2), training=True, note="direct Keras call"))
    add(case("batch_normalization_momentum_0_9_epsilon_1e_5", layers.BatchNormalization(momentum=0.9, epsilon=1e-5),
             U((2, 3, 3, 4), -2, 2)))
    add(case("batch_normalization_momentum_0_9_epsilon_1e_5_training", layers.BatchNormalization(momentum=0.9, epsilon=1e-5),
             U((2, 3, 3, 4), -2, 2), training=True))
    frozen = layers.BatchNormalization()
    frozen.trainable = False
    add(case("batch_normalization_frozen_training", frozen, U((2, 3, 3, 4), -2, 2), training=True,
             note="trainable=False: Keras 3 runs in inference mode even when called with training=True "
                  "(moving statistics, no update); every weight is then non-trainable"))

    # Merges
    def merge(name, cls, n, distinct=False, shape=(2, 3, 4)):
        make = S(*([shape] * n)) if distinct else U((n,) + shape)
        inputs = make if distinct else (lambda: list(make()[0]))
        add(case(name, cls(), inputs))
    merge("add_2", layers.Add, 2)
    merge("add_3", layers.Add, 3)
    merge("subtract", layers.Subtract, 2)
    merge("multiply_2", layers.Multiply, 2)
    merge("multiply_3", layers.Multiply, 3)
    merge("average_2", layers.Average, 2)
    merge("average_3", layers.Average, 3)
    merge("maximum_2", layers.Maximum, 2, distinct=True)
    merge("maximum_3", layers.Maximum, 3, distinct=True)
    merge("minimum_2", layers.Minimum, 2, distinct=True)
    merge("minimum_3", layers.Minimum, 3, distinct=True)
    add(case("concatenate_axis_last_3", layers.Concatenate(axis=-1),
             lambda: [uniform((2, 3, 2)), uniform((2, 3, 1)), uniform((2, 3, 3))]))
    add(case("concatenate_axis1_3", layers.Concatenate(axis=1),
             lambda: [uniform((2, 1, 2, 2)), uniform((2, 3, 2, 2)), uniform((2, 2, 2, 2))]))
    add(case("concatenate_axis_last_2_rank4", layers.Concatenate(),
             lambda: [uniform((1, 2, 2, 3)), uniform((1, 2, 2, 2))]))

    names = [x["name"] for x in c]
    assert len(names) == len(set(names)), "duplicate case names"
    assert all(re.fullmatch("[a-z0-9]+(_[a-z0-9]+)*", n) for n in names), "names must be snake_case"
    return c


# ---- compact JSON: structure indented, arrays of scalars on one line, float32 shortest repr -------

def number(v):
    if isinstance(v, bool) or v is None:
        return json.dumps(v)
    if isinstance(v, int):
        return str(v)
    f = np.float32(v)
    if float(f) != v:  # a config float (e.g. 1/255 as float64): keep Python's own repr
        return json.dumps(v)
    s = str(f)
    assert np.float32(s) == f
    return s


def dumps(obj, indent=0):
    pad, inner = " " * indent, " " * (indent + 1)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{inner}{json.dumps(k)}: {dumps(v, indent + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, (list, tuple)):
        if all(not isinstance(v, (dict, list, tuple)) for v in obj):
            return "[" + ", ".join(json.dumps(v) if isinstance(v, str) else number(v) for v in obj) + "]"
        return "[\n" + ",\n".join(inner + dumps(v, indent + 1) for v in obj) + "\n" + pad + "]"
    if isinstance(obj, str):
        return json.dumps(obj)
    return number(obj)


if __name__ == "__main__":
    all_cases = cases()
    text = dumps({"keras_version": keras.__version__, "cases": all_cases}) + "\n"
    assert json.loads(text)["cases"][0]["name"] == "input_layer"
    with open(OUT, "w") as f:
        f.write(text)
    by_class = {}
    for x in all_cases:
        by_class.setdefault(x["class_name"], []).append(x["name"])
    for k, v in by_class.items():
        print(f"{k}: {', '.join(v)}")
    print(f"{len(all_cases)} cases, {os.path.getsize(OUT)} bytes -> {OUT}")
