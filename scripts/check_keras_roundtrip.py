"""Checks that Keras 3 loads the .keras archives Fovea writes and predicts Fovea's numbers.

Run by hand, never in CI (Keras lives in a virtual environment outside the repository):
    swift build -c release
    .venv/bin/python scripts/check_keras_roundtrip.py [path/to/fovea]

For every built-in architecture, and for the Keras-made fixture read by Fovea and written again:
`fovea convert` writes a .keras archive, `fovea predict --input x.npy --output y.npy` gives Fovea's
outputs for seeded inputs, and `keras.saving.load_model` loads the archive and predicts the same
inputs. Prints the largest absolute difference per model; exits non-zero above 1e-5.
"""
import os, subprocess, sys, tempfile
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import keras

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
FOVEA = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build", "release", "fovea")
FIXTURES = os.path.join(ROOT, "Tests", "IOTests", "Fixtures")
TOLERANCE = 1e-5
rng = np.random.default_rng(6)


def fovea(*args):
    subprocess.run([FOVEA, *args], check=True, stdout=subprocess.DEVNULL)


def check(source, work, reference=None):
    """`source`: a built-in architecture name or a model file Fovea reads."""
    name = os.path.splitext(os.path.basename(source))[0]
    archive = os.path.join(work, name + ".keras")
    fovea("convert", source, archive)
    model = keras.saving.load_model(archive)
    if reference is None:
        x = rng.uniform(0, 1, size=(5, *model.input_shape[1:])).astype("float32")
    else:
        x = np.load(reference[0])
    x_path, y_path = os.path.join(work, name + "_x.npy"), os.path.join(work, name + "_y.npy")
    np.save(x_path, x)
    fovea("predict", "--model", archive, "--input", x_path, "--output", y_path, "--batch-size", "3")
    ours = np.load(y_path)
    theirs = np.asarray(model.predict(x, verbose=0))
    diff = float(np.max(np.abs(ours - theirs)))
    line = f"{name:14s} {model.count_params():8d} params  {len(model.layers):2d} layers  max |Fovea - Keras| = {diff:.3g}"
    if reference is not None:
        line += f"  (vs. the original Keras model's output: {float(np.max(np.abs(theirs - np.load(reference[1])))):.3g})"
    print(line)
    return diff


with tempfile.TemporaryDirectory() as work:
    diffs = [check(arch, work) for arch in ("dense", "seed-cnn", "tutorial-cnn", "deep-cnn")]
    # Keras → Fovea (.safetensors) → .keras → Keras again.
    native = os.path.join(work, "keras_cnn_via_fovea.safetensors")
    fovea("convert", os.path.join(FIXTURES, "keras_cnn.keras"), native)
    diffs.append(check(native, work, reference=(os.path.join(FIXTURES, "keras_cnn_input.npy"),
                                                os.path.join(FIXTURES, "keras_cnn_output.npy"))))
    diffs.append(check(os.path.join(FIXTURES, "keras_chain.keras"), work,
                       reference=(os.path.join(FIXTURES, "keras_chain_input.npy"), os.path.join(FIXTURES, "keras_chain_output.npy"))))
print(f"largest difference: {max(diffs):.3g} (tolerance {TOLERANCE})")
sys.exit(0 if max(diffs) <= TOLERANCE else 1)
