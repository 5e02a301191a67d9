"""Fovea's `residual-cnn` (Sources/Fovea/Models/ResidualCNN.swift) written in Keras 3, for its summary
fixture: Tests/LayerTests/Fixtures/keras_summary_residual-cnn.txt (what model.summary() prints at an
80-column terminal, as the other keras_summary_*.txt).

Run by hand, never in CI:  COLUMNS=80 /tmp/fovea-peers/keras/bin/python scripts/make_keras_residual_cnn.py
"""
import io, os, contextlib
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["COLUMNS"] = "80"
import keras
from keras import layers

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def conv_bn(x, filters, name, relu=True):
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x) if relu else x


def block(x, filters, name):
    shortcut = x
    if x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_projection")(x)
        shortcut = layers.BatchNormalization(name=f"{name}_projection_bn")(shortcut)
    y = conv_bn(conv_bn(x, filters, f"{name}_1"), filters, f"{name}_2", relu=False)
    return layers.Activation("relu", name=f"{name}_out")(layers.Add(name=f"{name}_add")([y, shortcut]))


inputs = keras.Input((28, 28, 1), name="image")
x = conv_bn(inputs, 32, "stem")
x = layers.MaxPooling2D(2, name="pool1")(x)
x = block(x, 64, "stage1")
x = layers.MaxPooling2D(2, name="pool2")(x)
x = block(x, 128, "stage2")
x = layers.GlobalAveragePooling2D(name="average")(x)
outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
model = keras.Model(inputs, outputs, name="residual_cnn")
lines = []
model.summary(print_fn=lambda line, **_: lines.append(line))
path = os.path.join(ROOT, "Tests", "LayerTests", "Fixtures", "keras_summary_residual-cnn.txt")
with open(path, "w") as f:
    f.write("\n".join(lines).rstrip("\n") + "\n")
print(f"wrote {path}: {model.count_params():,} parameters")
