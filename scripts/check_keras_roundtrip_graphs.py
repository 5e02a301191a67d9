"""Checks that Keras 3 loads the graph models Fovea writes and predicts the expected numbers.

Run by hand, never in CI (Keras lives in a virtual environment outside the repository):
    .venv/bin/python scripts/check_keras_roundtrip_graphs.py DIR
DIR holds Fovea-written NAME.keras and/or NAME.h5 files with, named as in
scripts/make_keras_graph_fixtures.py, NAME_input.npy (or NAME_input_0.npy, NAME_input_1.npy, ...
in model input order) and NAME_output.npy (or NAME_output_0.npy, ...). Each model file is loaded with
keras.saving.load_model and predicts the inputs; one line per file with the largest absolute
difference; exits non-zero above 1e-5 or when a file does not load. Then every .h5 in DIR is opened
with h5py and every .safetensors with the `safetensors` package, and their structure is printed
(groups, datasets with shape and dtype, attributes; tensor names, dtypes, shapes, metadata).
"""
import glob, json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import h5py
import numpy as np
import tensorflow as tf
import keras
from safetensors import safe_open

TOLERANCE = 1e-5
tf.get_logger().setLevel("ERROR")


def arrays(directory, name, kind):
    single = os.path.join(directory, f"{name}_{kind}.npy")
    if os.path.exists(single):
        return [np.load(single)]
    found, i = [], 0
    while os.path.exists(os.path.join(directory, f"{name}_{kind}_{i}.npy")):
        found.append(np.load(os.path.join(directory, f"{name}_{kind}_{i}.npy")))
        i += 1
    return found


def check(path):
    directory, base = os.path.split(path)
    name = os.path.splitext(base)[0]
    xs, ys = arrays(directory, name, "input"), arrays(directory, name, "output")
    if not xs or not ys:
        print(f"skip {base}: no {name}_input*.npy / {name}_output*.npy beside it")
        return True
    try:
        model = keras.saving.load_model(path, compile=False)
        zs = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    except Exception as e:
        print(f"FAIL {base}: Keras cannot load or run it: {type(e).__name__}: {str(e)[:300]}")
        return False
    zs = zs if isinstance(zs, (list, tuple)) else [zs]
    shapes, expected = [tuple(np.shape(z)) for z in zs], [y.shape for y in ys]
    if shapes != expected:
        print(f"FAIL {base}: output shapes {shapes}, expected {expected}")
        return False
    diff = max(float(np.max(np.abs(np.asarray(z) - y))) for z, y in zip(zs, ys))
    ok = diff <= TOLERANCE
    print(f"{'ok  ' if ok else 'FAIL'} {base:28s} {len(model.layers):3d} layers {model.count_params():8d} params  "
          f"max |Keras - expected| = {diff:.3g}")
    return ok


def attrs(obj):
    out = []
    for k, v in obj.attrs.items():
        if isinstance(v, np.ndarray):  # e.g. layer_names, weight_names: arrays of bytes
            v = "[" + " ".join(x.decode() if isinstance(x, bytes) else str(x) for x in v.reshape(-1)) + "]"
        v = v.decode() if isinstance(v, bytes) else v
        text = str(v) if not (isinstance(v, str) and len(v) > 60) else f"<{len(v)} characters>"
        out.append(f"{k}={text}")
    return f"  [{', '.join(out)}]" if out else ""


def show_h5(path):
    print(f"\n{path}")
    with h5py.File(path, "r") as f:
        print(f"  /{attrs(f)}")
        def visit(name, obj):
            depth = name.count("/") + 1
            if isinstance(obj, h5py.Dataset):
                print(f"{'  ' * depth}{name.split('/')[-1]}  {obj.shape} {obj.dtype}{attrs(obj)}")
            else:
                print(f"{'  ' * depth}{name.split('/')[-1]}/{attrs(obj)}")
        f.visititems(visit)


def show_safetensors(path):
    print(f"\n{path}")
    with safe_open(path, framework="numpy") as f:
        for k, v in (f.metadata() or {}).items():
            print(f"  metadata {k}: {v if len(v) <= 100 else v[:100] + f'... ({len(v)} characters)'}")
        for key in f.keys():
            t = f.get_slice(key)
            print(f"  {key}  {t.get_shape()} {t.get_dtype()}")


if __name__ == "__main__":
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        sys.exit(__doc__)
    directory = sys.argv[1]
    models = sorted(glob.glob(os.path.join(directory, "*.keras")) + glob.glob(os.path.join(directory, "*.h5")))
    results = [check(p) for p in models]
    for p in sorted(glob.glob(os.path.join(directory, "*.h5"))):
        show_h5(p)
    for p in sorted(glob.glob(os.path.join(directory, "*.safetensors"))):
        show_safetensors(p)
    print(f"\n{results.count(True)} of {len(results)} model files within {TOLERANCE}")
    sys.exit(0 if all(results) else 1)
