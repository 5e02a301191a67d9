"""Checks that Fovea loads Keras's applications (.keras and legacy .h5) and predicts Keras's numbers.

Run by hand, never in CI (Keras lives in a virtual environment outside the repository; the models are
large: ResNet50's files are about 100 MB each, VGG16's about 530 MB):
    swift build -c release
    .venv/bin/python scripts/check_keras_applications.py --fovea .build/release/fovea \\
        [--models resnet50,inception_v3,mobilenet_v2] [--workdir DIR] [--keras-only]

For each model (vgg16, vgg19, resnet50, inception_v3, mobilenet_v2; include_top=True, weights=None):
  1. Keras builds it and every weight is set to seeded random values of sensible scale: kernels
     uniform with variance 2/fan_in (He; a depthwise kernel's fan-in is its window), biases and
     BatchNormalization beta uniform in [-0.1, 0.1], gamma in [0.8, 1.2]. BatchNormalization moving
     statistics are calibrated on a separate seeded batch (run once with training=True, which
     normalizes every layer by its batch statistics) and then perturbed: moving_mean = batch mean +
     U[-0.1, 0.1] * batch std, moving_variance = max(batch variance, 0.01) * U[0.8, 1.25]. Random moving
     statistics alone (moving_variance in [0.5, 1.5]) would let activations grow block after block in
     ResNet50 until the softmax is one-hot; calibrated ones keep every layer near unit scale.
     Last, the classifier's kernel and bias are scaled so that its logits on the calibration batch
     have standard deviation 4: with 1000 classes a softmax of unit-scale logits is nearly uniform
     (values near 1e-3), where an absolute tolerance of 1e-4 would hide logit errors of 0.1.
  2. It saves WORKDIR/NAME.keras and WORKDIR/NAME.h5, writes WORKDIR/NAME_x.npy (batch 2 of uniform
     [0, 1) images of the model's input size) and WORKDIR/NAME_y.npy = model.predict(x), and checks
     that Keras itself reloads both files and predicts y.
  3. For each file: `FOVEA predict --model FILE --input NAME_x.npy --output NAME_fovea_y.npy`, compared
     with y; then `FOVEA convert FILE NAME_from_{keras,h5}.keras`, which keras.saving.load_model loads and
     predicts x, compared with y too.
One line per check: max |difference| (absolute) and max relative difference (|difference| /
max(|y|, 1e-6), elementwise). Exits non-zero when any absolute difference exceeds 1e-4 (softmax
outputs) or any step fails. --keras-only runs steps 1 and 2 only. Without --workdir the files go
to a temporary directory that is removed at the end.
"""
import argparse, os, shutil, subprocess, sys, tempfile
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import tensorflow as tf
import keras
from keras import applications, layers

tf.get_logger().setLevel("ERROR")
TOLERANCE = 1e-4
MODELS = {"vgg16": applications.VGG16, "vgg19": applications.VGG19, "resnet50": applications.ResNet50,
          "inception_v3": applications.InceptionV3, "mobilenet_v2": applications.MobileNetV2}


def randomize(model, rng):
    for layer in model.layers:
        values = []
        for v in layer.weights:
            shape, name = tuple(v.shape), v.name
            if name == "gamma":
                a = rng.uniform(0.8, 1.2, size=shape)
            elif name in ("beta", "bias"):
                a = rng.uniform(-0.1, 0.1, size=shape)
            elif name == "moving_mean":
                a = np.zeros(shape)
            elif name == "moving_variance":
                a = np.ones(shape)
            else:
                fan_in = int(np.prod(shape[:2])) if isinstance(layer, layers.DepthwiseConv2D) else int(np.prod(shape[:-1]))
                a = rng.uniform(-1, 1, size=shape) * np.sqrt(6.0 / fan_in)  # variance 2 / fan_in
            values.append(a.astype("float32"))
        if values:
            layer.set_weights(values)


def calibrate(model, x, rng):
    """Moving statistics near the batch statistics each BatchNormalization sees on `x`; then the
    classifier's kernel and bias scaled so that its logits on `x` have standard deviation 4 (the
    softmax is then far from uniform, so an absolute tolerance on it means something)."""
    bns = [l for l in model.layers if isinstance(l, layers.BatchNormalization)]
    if bns:
        probe = keras.Model(model.input, [l.input for l in bns])
        seen = probe(x, training=True)  # every BatchNormalization normalizes by its batch statistics
        set_moving_statistics(bns, seen, rng)
    head = model.layers[-1]
    features = np.asarray(keras.Model(model.input, head.input)(x), "float64")
    kernel, bias = head.get_weights()
    scale = 4.0 / (features @ kernel + bias).std()
    head.set_weights([(kernel * scale).astype("float32"), (bias * scale).astype("float32")])


def set_moving_statistics(bns, seen, rng):
    for layer, t in zip(bns, seen):
        t = np.asarray(t, "float64")
        axes = tuple(range(t.ndim - 1))
        mean, var = t.mean(axes), t.var(axes)
        gamma_beta = [w for w, v in zip(layer.get_weights(), layer.weights) if v.trainable]
        moving_mean = mean + rng.uniform(-0.1, 0.1, size=mean.shape) * np.sqrt(var)
        moving_var = np.maximum(var, 0.01) * rng.uniform(0.8, 1.25, size=var.shape)
        layer.set_weights(gamma_beta + [moving_mean.astype("float32"), moving_var.astype("float32")])


def compare(label, ours, y):
    diff = np.abs(np.asarray(ours, "float64") - y)
    worst = float(diff.max())
    relative = float((diff / np.maximum(np.abs(y), 1e-6)).max())
    ok = worst <= TOLERANCE
    print(f"{'ok  ' if ok else 'FAIL'} {label:48s} max |diff| {worst:.3g}  max relative {relative:.3g}", flush=True)
    return ok


def fail(label, message):
    print(f"FAIL {label:48s} {message}", flush=True)
    return False


def run_fovea(fovea, *args):
    done = subprocess.run([fovea, *args], capture_output=True, text=True)
    if done.returncode != 0:
        lines = (done.stderr.strip() or done.stdout.strip() or f"exit status {done.returncode}").splitlines()
        raise RuntimeError(lines[-1][:200])


def check(name, fovea, work, keras_only):
    keras.backend.clear_session()
    rng = np.random.default_rng([20270317, list(MODELS).index(name)])
    model = MODELS[name](weights=None)
    size = model.input_shape[1:]
    randomize(model, rng)
    calibrate(model, rng.uniform(0, 1, size=(2, *size)).astype("float32"), rng)
    x = rng.uniform(0, 1, size=(2, *size)).astype("float32")
    y = np.asarray(model.predict(x, verbose=0), "float64")
    top = np.sort(y, axis=1)[:, -1]
    print(f"---- {name}: {model.count_params():,} parameters, input {size}, largest probability per image "
          f"{', '.join(f'{p:.3g}' for p in top)}", flush=True)
    paths = {"keras": os.path.join(work, name + ".keras"), "h5": os.path.join(work, name + ".h5")}
    x_path, y_path = os.path.join(work, name + "_x.npy"), os.path.join(work, name + "_y.npy")
    np.save(x_path, x)
    np.save(y_path, y.astype("float32"))
    model.save(paths["keras"])
    model.save(paths["h5"])
    del model
    results = []
    for kind, path in paths.items():
        keras.backend.clear_session()
        again = keras.saving.load_model(path, compile=False)
        results.append(compare(f"{name}: Keras reloads {os.path.basename(path)}", again.predict(x, verbose=0), y))
        del again
    if keras_only:
        return results
    for kind, path in paths.items():
        base = os.path.basename(path)
        ours = os.path.join(work, f"{name}_fovea_y_{kind}.npy")
        try:
            run_fovea(fovea, "predict", "--model", path, "--input", x_path, "--output", ours)
            results.append(compare(f"{name}: fovea predict {base}", np.load(ours), y))
        except RuntimeError as e:
            results.append(fail(f"{name}: fovea predict {base}", str(e)))
        converted = os.path.join(work, f"{name}_from_{kind}.keras")
        try:
            run_fovea(fovea, "convert", path, converted)
            keras.backend.clear_session()
            back = keras.saving.load_model(converted, compile=False)
            results.append(compare(f"{name}: fovea convert {base} -> Keras", back.predict(x, verbose=0), y))
        except Exception as e:  # a Fovea failure, or Keras refusing Fovea's archive
            results.append(fail(f"{name}: fovea convert {base} -> Keras", f"{type(e).__name__}: {str(e)[:200]}"))
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fovea", help="path to the fovea binary (required unless --keras-only)")
    parser.add_argument("--models", default="resnet50,inception_v3,mobilenet_v2",
                        help=f"comma-separated, from {','.join(MODELS)}")
    parser.add_argument("--workdir", help="keep the files here (default: a temporary directory)")
    parser.add_argument("--keras-only", action="store_true", help="only build, save and reload in Keras")
    args = parser.parse_args()
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)}")
    if not args.keras_only:
        if not args.fovea:
            parser.error("--fovea PATH is required (or give --keras-only)")
        if not os.access(args.fovea, os.X_OK):
            parser.error(f"--fovea {args.fovea} is not an executable file")
        args.fovea = os.path.abspath(args.fovea)
    work = args.workdir or tempfile.mkdtemp(prefix="fovea-apps-")
    os.makedirs(work, exist_ok=True)
    try:
        results = []
        for name in names:
            results += check(name, args.fovea, work, args.keras_only)
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    failed = results.count(False)
    print(f"{len(results) - failed} of {len(results)} checks within {TOLERANCE} (absolute)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
