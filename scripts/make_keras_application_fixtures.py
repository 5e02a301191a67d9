"""Architecture fixtures of Keras's applications: configs, parameter counts and summaries.

Run by hand, never in CI (Keras lives in a virtual environment outside the repository):
    .venv/bin/python scripts/make_keras_application_fixtures.py
Writes Tests/LayerTests/Fixtures/applications/ (no weights: weights=None, nothing is downloaded):

  NAME.json or NAME.json.gz  {"total_params", "trainable_params", "non_trainable_params",
                              "config": json.loads(model.to_json())}, gzip-compressed (NAME.json.gz,
                              with mtime 0 so re-runs give the same bytes) when the JSON is larger
                              than 300 KB
  NAME_summary.txt           exactly what model.summary() prints with a stdout that is no terminal
                             (COLUMNS=80: Keras clips its default line length to columns - 4 = 76, the
                             width of Tests/LayerTests/Fixtures/keras_summary_*.txt)
  NAME_summary_wide.txt.gz   the same on a terminal 200 columns wide (Keras's unclipped defaults,
                             88 for sequential-like models, 108 with a "Connected to" column),
                             gzip-compressed with mtime 0 to keep the repository small

NAME: vgg16_top, vgg16_notop, vgg19_top, vgg19_notop, resnet50_top, resnet50_notop,
resnet50_notop_avg (pooling="avg"), inception_v3_top, inception_v3_notop, mobilenet_v2_top,
mobilenet_v2_notop, mobilenet_v2_alpha0.5_top, mobilenet_v2_alpha1.4_top, and the models without
the top at their default size given explicitly (vgg16_notop_224, vgg19_notop_224, resnet50_notop_224,
inception_v3_notop_299, mobilenet_v2_notop_224: what Fovea builds without the top, whose layers need
the image size known). "top" is
include_top=True (1000 classes, softmax; input 224x224x3, InceptionV3 299x299x3), "notop"
include_top=False with input_shape None: input (None, None, None, 3), and MobileNetV2's model name
then reads "mobilenetv2_1.00_None". keras.backend.clear_session() runs before each build, so layer
names that Keras numbers automatically (InceptionV3's conv2d_12, batch_normalization_12, ...) start over.
"""
import gzip, json, os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import tensorflow as tf
import keras
from keras import applications

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Tests", "LayerTests", "Fixtures", "applications")
tf.get_logger().setLevel("ERROR")
GZIP_ABOVE = 300 * 1024

MODELS = [
    ("vgg16_top", applications.VGG16, dict(include_top=True)),
    ("vgg16_notop", applications.VGG16, dict(include_top=False)),
    ("vgg19_top", applications.VGG19, dict(include_top=True)),
    ("vgg19_notop", applications.VGG19, dict(include_top=False)),
    ("resnet50_top", applications.ResNet50, dict(include_top=True)),
    ("resnet50_notop", applications.ResNet50, dict(include_top=False)),
    ("resnet50_notop_avg", applications.ResNet50, dict(include_top=False, pooling="avg")),
    ("inception_v3_top", applications.InceptionV3, dict(include_top=True)),
    ("inception_v3_notop", applications.InceptionV3, dict(include_top=False)),
    ("mobilenet_v2_top", applications.MobileNetV2, dict(include_top=True)),
    ("mobilenet_v2_notop", applications.MobileNetV2, dict(include_top=False)),
    ("mobilenet_v2_alpha0.5_top", applications.MobileNetV2, dict(include_top=True, alpha=0.5)),
    ("mobilenet_v2_alpha1.4_top", applications.MobileNetV2, dict(include_top=True, alpha=1.4)),
    ("vgg16_notop_224", applications.VGG16, dict(include_top=False, input_shape=(224, 224, 3))),
    ("vgg19_notop_224", applications.VGG19, dict(include_top=False, input_shape=(224, 224, 3))),
    ("resnet50_notop_224", applications.ResNet50, dict(include_top=False, input_shape=(224, 224, 3))),
    ("inception_v3_notop_299", applications.InceptionV3, dict(include_top=False, input_shape=(299, 299, 3))),
    ("mobilenet_v2_notop_224", applications.MobileNetV2, dict(include_top=False, input_shape=(224, 224, 3))),
]

# Totals Keras documents for these architectures (with top / without top).
KNOWN = {"vgg16_top": 138_357_544, "vgg16_notop": 14_714_688, "vgg19_top": 143_667_240, "vgg19_notop": 20_024_384,
         "resnet50_top": 25_636_712, "resnet50_notop": 23_587_712, "inception_v3_top": 23_851_784,
         "inception_v3_notop": 21_802_784, "mobilenet_v2_top": 3_538_984, "mobilenet_v2_notop": 2_257_984,
         "vgg16_notop_224": 14_714_688, "vgg19_notop_224": 20_024_384, "resnet50_notop_224": 23_587_712,
         "inception_v3_notop_299": 21_802_784, "mobilenet_v2_notop_224": 2_257_984}
KNOWN_NON_TRAINABLE = {"resnet50_top": 53_120}


def summary_text(model, columns):
    os.environ["COLUMNS"] = str(columns)
    parts = []
    model.summary(print_fn=lambda text, **_: parts.append(text))
    return "".join(parts)


def write_gzip(path, data):
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as f:
        f.write(data)


def count(weights):
    return int(sum(np.prod(v.shape) for v in weights))


def write(name, make, kwargs):
    keras.backend.clear_session()
    model = make(weights=None, **kwargs)
    record = {"total_params": model.count_params(), "trainable_params": count(model.trainable_weights),
              "non_trainable_params": count(model.non_trainable_weights), "config": json.loads(model.to_json())}
    assert record["total_params"] == record["trainable_params"] + record["non_trainable_params"]
    if name in KNOWN:
        assert record["total_params"] == KNOWN[name], (name, record["total_params"])
    if name in KNOWN_NON_TRAINABLE:
        assert record["non_trainable_params"] == KNOWN_NON_TRAINABLE[name], name
    text = (json.dumps(record, indent=1) + "\n").encode()
    for stale in (name + ".json", name + ".json.gz"):
        if os.path.exists(os.path.join(OUT, stale)):
            os.remove(os.path.join(OUT, stale))
    if len(text) > GZIP_ABOVE:
        path = os.path.join(OUT, name + ".json.gz")
        write_gzip(path, text)
    else:
        path = os.path.join(OUT, name + ".json")
        with open(path, "wb") as f:
            f.write(text)
    with open(os.path.join(OUT, name + "_summary.txt"), "w") as f:
        f.write(summary_text(model, 80))
    write_gzip(os.path.join(OUT, name + "_summary_wide.txt.gz"), summary_text(model, 200).encode())
    row = (name, model.name, record["total_params"], record["trainable_params"], record["non_trainable_params"],
           len(model.layers), tuple(model.input_shape), tuple(model.output_shape), os.path.basename(path),
           len(text), os.path.getsize(path))
    del model
    return row


if __name__ == "__main__":
    import sys
    os.makedirs(OUT, exist_ok=True)
    # Optional arguments: the NAMEs to write (default: all).
    wanted = set(sys.argv[1:])
    unknown = wanted - {m[0] for m in MODELS}
    if unknown:
        sys.exit(f"unknown fixture names: {sorted(unknown)}")
    rows = [write(*m) for m in MODELS if not wanted or m[0] in wanted]
    print(f"{'file name':28s} {'model.name':22s} {'total':>12s} {'trainable':>12s} {'non-train.':>10s} {'layers':>6s}  "
          f"input -> output; config file (JSON bytes -> file bytes)")
    for name, mname, total, trainable, frozen, n, ishape, oshape, fname, raw, size in rows:
        print(f"{name:28s} {mname:22s} {total:12,d} {trainable:12,d} {frozen:10,d} {n:6d}  {ishape} -> {oshape}; "
              f"{fname} ({raw:,} -> {size:,})")
