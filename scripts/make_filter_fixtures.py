"""Generates the SciPy reference outputs Fovea's image-filter tests compare against.

Run once, by hand, never in CI (SciPy lives in an ignored virtual environment):
    python3 -m venv .venv && .venv/bin/pip install scipy numpy
    .venv/bin/python scripts/make_filter_fixtures.py
It rewrites Tests/ImageTests/Fixtures/filters.json. Inputs are seeded, so re-running gives the
same file.

The reference is `scipy.ndimage.correlate` (cross-correlation, the kernel not flipped, as Keras's
Conv2D computes it) with mode='constant', cval=0: zero padding, which is what Keras's 'same'
padding does. For 'same' with a stride the outputs are the correlate result sampled where Keras
puts its windows (output i is centred on input i*stride - pad_before + k//2, with
pad_before = floor(total_padding / 2)); 'valid' is the interior, where the kernel fits whole.
If TensorFlow is installed, every case is also checked against tf.nn.depthwise_conv2d.
"""
import json, os
import numpy as np
from scipy import ndimage

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Tests", "ImageTests", "Fixtures", "filters.json")
rng = np.random.default_rng(20261123)

# The catalogue, as Fovea defines it (FilterKernel in Sources/Fovea/Images/Filters.swift); the test
# also checks these weights against Fovea's, so the two cannot drift apart unnoticed.
KERNELS = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "blur": [[1 / 16, 1 / 8, 1 / 16], [1 / 8, 1 / 4, 1 / 8], [1 / 16, 1 / 8, 1 / 16]],
    "laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    "sobel-left": [[1, 0, -1], [2, 0, -2], [1, 0, -1]],
    "sobel-upper": [[1, 2, 1], [0, 0, 0], [-1, -2, -1]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
    # Not in the catalogue: an asymmetric 5x5 (a flipped kernel would give other numbers) and a 1x1.
    "custom5": rng.integers(-3, 4, size=(5, 5)).tolist(),
    "scale1": [[2.5]],
}

INPUTS = {
    "gray": rng.integers(0, 256, size=(7, 9, 1)).astype(np.float64),
    "rgb": rng.integers(0, 256, size=(6, 8, 3)).astype(np.float64),
}


def keras_axis(n, k, stride, padding):
    """Output length and the input index of output 0's kernel centre, as Keras places windows."""
    if padding == "valid":
        return (n - k) // stride + 1, k // 2
    out = -(-n // stride)
    total = max((out - 1) * stride + k - n, 0)
    return out, k // 2 - total // 2


def reference(image, kernel, padding, stride):
    k = np.asarray(kernel, dtype=np.float64)
    h, w, c = image.shape
    oh, r0 = keras_axis(h, k.shape[0], stride, padding)
    ow, c0 = keras_axis(w, k.shape[1], stride, padding)
    out = np.zeros((oh, ow, c))
    for ch in range(c):
        full = ndimage.correlate(image[:, :, ch], k, mode="constant", cval=0.0)
        out[:, :, ch] = full[r0::stride, c0::stride][:oh, :ow]
    return out


def check_with_tensorflow(image, kernel, padding, stride, expected):
    try:
        import tensorflow as tf
    except ImportError:
        return
    k = np.asarray(kernel, dtype=np.float32)
    c = image.shape[2]
    filt = np.repeat(k[:, :, None, None], c, axis=2)
    got = tf.nn.depthwise_conv2d(image[None].astype(np.float32), filt, [1, stride, stride, 1], padding.upper())[0].numpy()
    assert got.shape == expected.shape and np.allclose(got, expected, atol=1e-3), (padding, stride)


cases = []
for input_name, image in INPUTS.items():
    for kernel_name, kernel in KERNELS.items():
        strides = [1, 2, 3] if kernel_name in ("sobel-left", "custom5") else [1]
        for padding in ("same", "valid"):
            for stride in strides:
                if padding == "valid" and len(kernel) > min(image.shape[:2]):
                    continue
                out = reference(image, kernel, padding, stride)
                check_with_tensorflow(image, kernel, padding, stride, out)
                cases.append({"input": input_name, "kernel": kernel_name, "padding": padding, "stride": stride,
                              "shape": list(out.shape), "values": [round(float(v), 6) for v in out.reshape(-1)]})

fixture = {
    "source": "scipy.ndimage.correlate(mode='constant', cval=0), scipy " + __import__("scipy").__version__,
    "inputs": {name: {"shape": list(a.shape), "values": [float(v) for v in a.reshape(-1)]} for name, a in INPUTS.items()},
    "kernels": {name: {"size": len(k), "weights": [float(v) for row in k for v in row]} for name, k in KERNELS.items()},
    "cases": cases,
}
os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump(fixture, f, separators=(",", ":"))
    f.write("\n")
print(f"wrote {len(cases)} cases to {OUT} ({os.path.getsize(OUT)} bytes)")
