"""Keras's side of the step-by-step comparison with Fovea (see Examples/KerasParity).

  python scripts/keras_parity.py keras DIR [EPOCHS]   seed-cnn from keras.utils.set_random_seed(0), its initial
                                                      weights and the weights after steps 1, 10, 100 and at the
                                                      end, trained with shuffle=False on MNIST (../shared/datasets)
  python scripts/keras_parity.py diff DIR             max |Keras - Fovea| per tensor at each snapshot

Needs tensorflow-cpu and safetensors in the venv. Measured 2026-11-23 (Keras 3.15): after 100 steps every
tensor agrees within 1.1e-6 while having moved by 2e-2 to 7e-2; per-epoch training losses over 3 epochs
0.1834/0.0475/0.0310 (Keras) and 0.1831/0.0474/0.0313 (Fovea).
"""
import os, sys
import numpy as np
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../bench"))
from keras_nets import load_mnist, seed_cnn  # noqa: E402  (Fovea's networks in Keras, shared with bench/)


def keras_side(out, epochs):
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import tensorflow as tf, keras
    from safetensors.numpy import save_file
    tf.config.threading.set_intra_op_parallelism_threads(2); tf.config.threading.set_inter_op_parallelism_threads(1)
    d = os.environ.get("MNIST_DIR", os.path.join(os.path.dirname(__file__), "../Sources/Fovea/Resources/mnist"))

    (xtr, ytr), (xte, yte) = load_mnist(d)
    keras.utils.set_random_seed(0)
    m = seed_cnn()
    m.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])

    def dump(tag):
        tensors = {f"{l.name}.{n}": np.ascontiguousarray(w.numpy()) for l in m.layers for w, n in zip(l.weights, ["kernel", "bias"])}
        save_file(tensors, os.path.join(out, f"keras_{tag}.safetensors"))
    dump("init")
    marks = {1, 10, 100}
    cb = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: dump(f"step{b + 1}") if b + 1 in marks else None)
    m.fit(xtr, ytr, epochs=epochs, batch_size=64, verbose=2, shuffle=False, callbacks=[cb])
    dump("final")
    loss, acc = m.evaluate(xte, yte, verbose=0)
    print(f"keras, {epochs} epochs without shuffling: test accuracy {acc:.4f}, test loss {loss:.4f}")


def diff(out):
    from safetensors.numpy import load_file
    init = load_file(os.path.join(out, "keras_init.safetensors"))
    for tag in ["step1", "step10", "step100", "final"]:
        k = load_file(os.path.join(out, f"keras_{tag}.safetensors")); f = load_file(os.path.join(out, f"fovea_{tag}.safetensors"))
        print(tag)
        for n in sorted(k):
            print(f"  {n:18s} max |keras - fovea| {np.abs(k[n] - f[n]).max():.2e}   moved {np.abs(k[n] - init[n]).max():.2e}")


if __name__ == "__main__":
    if sys.argv[1] == "keras":
        keras_side(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    else:
        diff(sys.argv[2])
