"""The seed and deep CNNs of `fovea bench` in a peer framework, synthetic batches, fixed thread count.

usage: python peer_cnn.py keras|torch|onnxruntime THREADS [seed-cnn|deep-cnn ...]

Prints one JSON object per network: training images/s (batch 64, RMSprop, full steps after warm-up),
inference images/s (batch 256) and single-image latency in ms, each the median of several
repetitions, the same figures `fovea bench --json` reports. Run by bench/compare.sh; never in CI.
The networks are the ones in ../shared/bench (Keras's definitions, PyTorch's twins).
"""
import json, os, statistics, sys, time

framework, threads = sys.argv[1], int(sys.argv[2])
names = sys.argv[3:] or ["seed-cnn", "deep-cnn"]
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
os.environ["OMP_NUM_THREADS"] = str(threads)
import numpy as np  # noqa: E402

# (training steps per repetition, inference batches per repetition, single-image calls per repetition)
WORK = {"seed-cnn": (20, 4, 100), "deep-cnn": (3, 1, 10)}
REPS = 5


def median_rate(fn, items):
    fn()  # warm-up
    times = []
    for _ in range(REPS):
        t = time.perf_counter(); fn(); times.append(time.perf_counter() - t)
    return items / statistics.median(times)


def keras_models():
    import tensorflow as tf, keras
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from keras_nets import NETWORKS
    return keras, NETWORKS


def run_keras(name):
    keras, makers = keras_models()
    steps, batches, calls = WORK[name]
    m = makers[name]()
    m.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy")
    x = np.random.rand(64 * steps, 28, 28, 1).astype("float32"); y = np.random.randint(0, 10, 64 * steps)
    train = median_rate(lambda: m.fit(x, y, batch_size=64, epochs=1, verbose=0, shuffle=False), 64 * steps)
    xb = np.random.rand(256 * batches, 28, 28, 1).astype("float32")
    infer = median_rate(lambda: m.predict(xb, batch_size=256, verbose=0), 256 * batches)
    import tensorflow as tf
    x1 = tf.constant(xb[:1])
    # Keras's `predict` sets up a dataset per call; a server calls the model as a compiled graph instead.
    call = tf.function(lambda x: m(x, training=False))
    single = median_rate(lambda: [call(x1) for _ in range(calls)], calls)
    return train, infer, 1000 / single


def torch_models():
    import torch, torch.nn as nn
    torch.set_num_threads(threads)

    def seed_cnn():
        return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(),
                             nn.Linear(576, 64), nn.ReLU(), nn.Linear(64, 10))

    def deep_cnn():
        def block(i, o):
            return [nn.Conv2d(i, o, 3, padding=1), nn.ReLU(), nn.Conv2d(o, o, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
        return nn.Sequential(*block(1, 64), *block(64, 128), *block(128, 256), nn.Flatten(),
                             nn.Linear(2304, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    return torch, {"seed-cnn": seed_cnn, "deep-cnn": deep_cnn}


def run_torch(name):
    torch, makers = torch_models()
    steps, batches, calls = WORK[name]
    m = makers[name]()
    opt = torch.optim.RMSprop(m.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
    lossf = torch.nn.CrossEntropyLoss()
    xs = [torch.rand(64, 1, 28, 28) for _ in range(steps)]; ys = [torch.randint(0, 10, (64,)) for _ in range(steps)]

    def train_steps():
        for x, y in zip(xs, ys):
            opt.zero_grad(); lossf(m(x), y).backward(); opt.step()
    train = median_rate(train_steps, 64 * steps)
    m.eval()
    xb = torch.rand(256, 1, 28, 28); x1 = torch.rand(1, 1, 28, 28)
    with torch.no_grad():
        infer = median_rate(lambda: [m(xb) for _ in range(batches)], 256 * batches)
        single = median_rate(lambda: [m(x1) for _ in range(calls)], calls)
    return train, infer, 1000 / single


def run_onnxruntime(name):
    import io, onnxruntime as ort
    torch, makers = torch_models()
    steps, batches, calls = WORK[name]
    m = makers[name]().eval(); buf = io.BytesIO()
    torch.onnx.export(m, torch.rand(1, 1, 28, 28), buf, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "n"}, "y": {0: "n"}}, dynamo=False)
    so = ort.SessionOptions(); so.intra_op_num_threads = threads; so.inter_op_num_threads = 1
    s = ort.InferenceSession(buf.getvalue(), so, providers=["CPUExecutionProvider"])
    xb = np.random.rand(256, 1, 28, 28).astype(np.float32); x1 = xb[:1]
    infer = median_rate(lambda: [s.run(None, {"x": xb}) for _ in range(batches)], 256 * batches)
    single = median_rate(lambda: [s.run(None, {"x": x1}) for _ in range(calls)], calls)
    return None, infer, 1000 / single


runner = {"keras": run_keras, "torch": run_torch, "onnxruntime": run_onnxruntime}[framework]
for name in names:
    train, infer, latency = runner(name)
    print(json.dumps({"framework": framework, "model": name, "threads": threads, "train_images_per_second": train,
                      "inference_images_per_second": infer, "single_image_milliseconds": latency}), flush=True)
