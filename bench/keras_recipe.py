"""The default recipe in Keras 3 (the seed CNN, RMSprop, batch 64, 5 epochs, real MNIST), for bench/compare.sh.

usage: python keras_recipe.py MNIST_DIR THREADS [SEED] [MODEL]   (MNIST_DIR holds the four IDX .gz files;
MODEL is seed-cnn, the default, or deep-cnn: Fovea's VGG-style network, same optimizer, batch and epochs)
"""
import os, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf, keras
from keras_nets import NETWORKS, load_mnist
d, threads = sys.argv[1], int(sys.argv[2])
tf.config.threading.set_intra_op_parallelism_threads(threads); tf.config.threading.set_inter_op_parallelism_threads(1)
(xtr, ytr), (xte, yte) = load_mnist(d)
keras.utils.set_random_seed(int(sys.argv[3]) if len(sys.argv) > 3 else 0)
name = (sys.argv[4] if len(sys.argv) > 4 else "seed-cnn").replace("_", "-")
m = NETWORKS[name]()
m.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
t = time.perf_counter(); m.fit(xtr, ytr, epochs=5, batch_size=64, verbose=2); dt = time.perf_counter() - t
loss, acc = m.evaluate(xte, yte, verbose=0)
print(f"keras {name} 5 epochs: test_acc={acc:.4f} fit_seconds={dt:.1f}")
