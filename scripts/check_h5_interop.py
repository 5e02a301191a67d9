"""Checks legacy Keras .h5 files (model files and weights files) with h5py against what Keras writes.

    python scripts/check_h5_interop.py DIR [--reference REFDIR] [--load]

For every .h5 file in DIR it prints the structure and checks it against the layout of Keras 3.15's
legacy_h5_format (model.save("m.h5"), save_weights_to_hdf5_group), with h5py 3's types:
  model file   root attributes keras_version and backend (variable-length UTF-8 strings, scalars)
               and model_config (a variable-length ASCII string holding a JSON object with
               class_name and config); the group model_weights (and, for a compiled model,
               training_config and the group optimizer_weights)
  weights      (model_weights, or the root of a weights file) attributes layer_names, backend and
               keras_version (variable-length ASCII strings); layer_names split into
               layer_names0, layer_names1, ... of fixed-length strings exactly when Keras splits it
               (more than 64,512 bytes as a numpy S array, in the fewest np.array_split pieces
               that fit); one member group per listed layer plus top_level_model_weights, nothing
               else
  layer group  the attribute weight_names only: variable-length ASCII strings, or an empty
               float64 array when the layer has no weights (split like layer_names when long);
               each listed path a contiguous, unfiltered float dataset below the group, and no
               other dataset
Files from Keras 2 (keras_version 2.x) may hold fixed-length strings (h5py 2) and no
top_level_model_weights.

--reference REFDIR: a file of the same name in REFDIR (written by Keras) must have the same groups,
the same attributes (names, HDF5 types, shapes and values, except keras_version and backend values)
and the same datasets (shape, dtype, values).
--load: each model file is loaded with keras.saving.load_model(compile=False) and every layer's
weights must equal the file's arrays (and the config equal the reference's, when one is given);
each weights file is loaded with model.load_weights into the model of a model file in DIR with the
same layer_names, and must give the weights file's arrays.

Exits with status 1 on any difference. Used by hand and in CI on the files that Fovea's tests write
into FOVEA_INTEROP_DIR (Tests/IOTests/KerasH5WriterTests.swift).
"""
import argparse, json, os, sys
import h5py
import numpy as np

LIMIT = 64512  # Keras's HDF5_OBJECT_HEADER_LIMIT
problems = []


def problem(file, text):
    problems.append(f"{file}: {text}")
    print(f"  DIFFERENCE: {text}")


def attribute_type(obj, name):
    """('vlen-string/ascii', shape) or ('fixed-string/ascii/nullpad/12', shape) or ('float64', shape)."""
    aid = h5py.h5a.open(obj.id, name.encode())
    t = aid.get_type()
    if isinstance(t, h5py.h5t.TypeStringID):
        cset = {h5py.h5t.CSET_ASCII: "ascii", h5py.h5t.CSET_UTF8: "utf-8"}[t.get_cset()]
        if t.is_variable_str():
            return f"vlen-string/{cset}", aid.shape
        pad = {h5py.h5t.STR_NULLTERM: "nullterm", h5py.h5t.STR_NULLPAD: "nullpad", h5py.h5t.STR_SPACEPAD: "spacepad"}[t.get_strpad()]
        return f"fixed-string/{cset}/{pad}/{t.get_size()}", aid.shape
    return str(aid.dtype), aid.shape


def text(value):
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def check_scalar_string(file, obj, name, where, kinds):
    if name not in obj.attrs:
        return problem(file, f"{where} has no attribute {name}")
    kind, shape = attribute_type(obj, name)
    if shape != () or not any(kind.startswith(k) for k in kinds):
        problem(file, f"{where} attribute {name} is {kind} of shape {shape}, expected a scalar {' or '.join(kinds)}")
    return text(obj.attrs[name])


def read_list(file, obj, name, where, keras2):
    """The list attribute `name` (whole or split), checked against Keras's save_attributes_to_hdf5_group."""
    if name in obj.attrs:
        kind, shape = attribute_type(obj, name)
        values = [text(v) for v in obj.attrs[name]]
        if kind == "float64" and shape == (0,):
            return values, [name]
        vlen_ok = kind == "vlen-string/ascii" and len(shape) == 1
        fixed_ok = keras2 and kind.startswith("fixed-string/ascii/") and len(shape) == 1
        if not (vlen_ok or fixed_ok):
            problem(file, f"{where} attribute {name} is {kind} of shape {shape}, expected a 1-D variable-length ASCII string array (or an empty float64 array)")
        itemsize = max(1, max(len(v.encode("utf8")) for v in values))
        if len(values) * itemsize > LIMIT:
            problem(file, f"{where} attribute {name} ({len(values)} names padded to {itemsize} bytes) exceeds {LIMIT} bytes: Keras splits it")
        return values, [name]
    pieces = []
    while f"{name}{len(pieces)}" in obj.attrs:
        pieces.append(f"{name}{len(pieces)}")
    if not pieces:
        return None, []
    values, sizes, kinds = [], [], set()
    for piece in pieces:
        kind, shape = attribute_type(obj, piece)
        kinds.add(kind)
        part = [text(v) for v in obj.attrs[piece]]
        values += part
        sizes.append(len(part))
        if not kind.startswith("fixed-string/ascii/nullpad/") or len(shape) != 1:
            problem(file, f"{where} attribute {piece} is {kind} of shape {shape}, expected 1-D fixed-length NUL-padded ASCII strings")
    itemsize = max(1, max(len(v.encode("utf8")) for v in values))
    if kinds != {f"fixed-string/ascii/nullpad/{itemsize}"}:
        problem(file, f"{where} pieces of {name} have types {sorted(kinds)}, expected all fixed-string/ascii/nullpad/{itemsize}")
    count = 1
    while -(-len(values) // count) * itemsize > LIMIT:
        count += 1
    expected = [len(p) for p in np.array_split(np.arange(len(values)), count)]
    if sizes != expected:
        problem(file, f"{where} {name} is split into pieces of {sizes}; Keras splits {len(values)} names of {itemsize} bytes into {expected}")
    return values, pieces


def check_weights_group(file, group, where, keras2):
    """The layout of save_weights_to_hdf5_group; returns {layer: [(weight path, array)]} and the layer names."""
    names, used = read_list(file, group, "layer_names", where, keras2)
    if names is None:
        problem(file, f"{where} has no layer_names")
        return {}, []
    kinds = ["vlen-string/ascii"] + (["fixed-string/ascii", "vlen-string/utf-8"] if keras2 else [])
    check_scalar_string(file, group, "backend", where, kinds)
    check_scalar_string(file, group, "keras_version", where, kinds)
    extra = set(group.attrs) - set(used) - {"backend", "keras_version"}
    if extra:
        problem(file, f"{where} has unexpected attributes {sorted(extra)}")
    # Keras 3 and tf_keras 2.13+ add top_level_model_weights; Keras 2 before did not.
    expected_members = set(names) | ({"top_level_model_weights"} if not keras2 or "top_level_model_weights" in group else set())
    if set(group.keys()) != expected_members:
        problem(file, f"{where} members differ from layer_names: missing {sorted(expected_members - set(group.keys()))[:5]}, extra {sorted(set(group.keys()) - expected_members)[:5]}")
    if len(set(names)) != len(names):
        problem(file, f"{where} layer_names repeats a name")
    layers = {}
    for name in names + (["top_level_model_weights"] if "top_level_model_weights" in expected_members else []):
        if name not in group or not isinstance(group[name], h5py.Group):
            continue
        layer = group[name]
        weight_names, used = read_list(file, layer, "weight_names", f"{where}/{name}", keras2)
        if weight_names is None:
            problem(file, f"{where}/{name} has no weight_names")
            continue
        if set(layer.attrs) - set(used):
            problem(file, f"{where}/{name} has unexpected attributes {sorted(set(layer.attrs) - set(used))}")
        datasets = []
        layer.visititems(lambda path, obj: datasets.append(path) if isinstance(obj, h5py.Dataset) else None)
        if sorted(datasets) != sorted(weight_names):
            problem(file, f"{where}/{name} holds datasets {sorted(datasets)} but weight_names lists {weight_names}")
        arrays = []
        for weight in weight_names:
            if weight not in layer or not isinstance(layer[weight], h5py.Dataset):
                continue
            d = layer[weight]
            plist = d.id.get_create_plist()
            if d.dtype.kind not in "fiu" or plist.get_layout() != h5py.h5d.CONTIGUOUS or plist.get_nfilters() or d.attrs.keys():
                problem(file, f"{where}/{name}/{weight}: {d.dtype}, layout {plist.get_layout()}, {plist.get_nfilters()} filters, attributes {list(d.attrs)}: expected a contiguous unfiltered number array without attributes")
            arrays.append((weight, d[()]))
        layers[name] = arrays
    return layers, names


def describe(f):
    """Every object: path -> description, for comparing two files."""
    out = {}
    def attrs(obj):
        result = {}
        for name in obj.attrs:
            kind, shape = attribute_type(obj, name)
            value = obj.attrs[name]
            value = [text(v) for v in value] if isinstance(value, np.ndarray) and value.dtype.kind in "OS" else (text(value) if isinstance(value, (bytes, str)) else np.asarray(value).tolist())
            result[name] = (kind, shape, value)
        return result
    out["/"] = ("group", attrs(f))
    def visit(path, obj):
        if isinstance(obj, h5py.Dataset):
            out[path] = ("dataset", obj.shape, str(obj.dtype), attrs(obj), obj[()])
        else:
            out[path] = ("group", attrs(obj))
    f.visititems(visit)
    return out


def compare(file, mine, reference):
    a, b = describe(mine), describe(reference)
    if set(a) != set(b):
        problem(file, f"objects differ from the reference: missing {sorted(set(b) - set(a))[:5]}, extra {sorted(set(a) - set(b))[:5]}")
    shown = 0
    for path in sorted(set(a) & set(b)):
        x, y = a[path], b[path]
        if x[0] != y[0]:
            problem(file, f"{path} is a {x[0]}, the reference's a {y[0]}")
            continue
        ax, ay = x[-1] if x[0] == "group" else x[3], y[-1] if y[0] == "group" else y[3]
        for name in sorted(set(ax) | set(ay)):
            if name not in ax or name not in ay:
                problem(file, f"{path} attribute {name}: {'missing' if name not in ax else 'not in the reference'}")
            elif name in ("keras_version", "backend"):
                if ax[name][:2] != ay[name][:2]:
                    problem(file, f"{path} attribute {name}: {ax[name][:2]} vs the reference's {ay[name][:2]}")
            elif ax[name] != ay[name]:
                shown += 1
                if shown <= 10:
                    problem(file, f"{path} attribute {name}: {str(ax[name])[:200]} vs the reference's {str(ay[name])[:200]}")
        if x[0] == "dataset" and (x[1:3] != y[1:3] or not np.array_equal(x[4], y[4])):
            problem(file, f"{path}: {x[1:3]} vs the reference's {y[1:3]}, or different values")
    print(f"  same structure, attributes and arrays as the reference" if not any(p.startswith(file) for p in problems) else "  compared with the reference")


def legacy_weights(layer):
    return layer.trainable_weights + layer.non_trainable_weights


def compare_model_weights(file, model, layers, names):
    """The model's layers with weights, in order, against the file's layers with weights, in order."""
    import keras
    stored = [(n, layers[n]) for n in names if layers.get(n)]
    targets = [l for l in model.layers if legacy_weights(l)]
    if len(stored) != len(targets):
        return problem(file, f"{len(stored)} layers with weights in the file, {len(targets)} in the loaded model")
    for (name, arrays), layer in zip(stored, targets):
        values = [keras.ops.convert_to_numpy(w) for w in legacy_weights(layer)]
        if len(values) != len(arrays) or not all(np.array_equal(v, a) for v, (_, a) in zip(values, arrays)):
            problem(file, f"layer {layer.name}: the loaded weights differ from the file's {name}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dir")
    parser.add_argument("--reference")
    parser.add_argument("--load", action="store_true")
    args = parser.parse_args()
    files = sorted(n for n in os.listdir(args.dir) if n.endswith(".h5"))
    if not files:
        print(f"{args.dir}: no .h5 files")
        return 1
    found = {}
    for name in files:
        path = os.path.join(args.dir, name)
        print(f"{name} ({os.path.getsize(path)} bytes)")
        with h5py.File(path, "r") as f:
            root = f.attrs
            keras2 = text(root.get("keras_version", b"")).startswith("2.") or (
                "model_weights" in f and text(f["model_weights"].attrs.get("keras_version", b"")).startswith("2."))
            if "model_config" in root:
                kind = "model"
                version = check_scalar_string(name, f, "keras_version", "/", ["vlen-string/utf-8"] + (["fixed-string", "vlen-string/ascii"] if keras2 else []))
                backend = check_scalar_string(name, f, "backend", "/", ["vlen-string/utf-8"] + (["fixed-string", "vlen-string/ascii"] if keras2 else []))
                config_text = check_scalar_string(name, f, "model_config", "/", ["vlen-string/ascii"] + (["fixed-string", "vlen-string/utf-8"] if keras2 else []))
                try:
                    config = json.loads(config_text)
                    assert isinstance(config, dict) and "class_name" in config and "config" in config
                except Exception:
                    problem(name, "model_config is not a JSON object with class_name and config")
                    config = {}
                allowed = {"keras_version", "backend", "model_config", "training_config"}
                if set(root) - allowed:
                    problem(name, f"root has unexpected attributes {sorted(set(root) - allowed)}")
                members = {"model_weights"} | ({"optimizer_weights"} if "optimizer_weights" in f and "training_config" in root else set())
                if set(f.keys()) != members:
                    problem(name, f"root members {sorted(f.keys())}, expected {sorted(members)}")
                if "model_weights" not in f:
                    continue
                layers, names = check_weights_group(name, f["model_weights"], "/model_weights", keras2)
                print(f"  model: Keras {version} ({backend}), {config.get('class_name')} config of {len(config_text)} bytes, "
                      f"{len(names)} layers, {sum(1 for v in layers.values() if v)} with weights")
            elif "layer_names" in root or "layer_names0" in root:
                kind = "weights"
                layers, names = check_weights_group(name, f, "/", keras2)
                print(f"  weights: {len(names)} layers, {sum(1 for v in layers.values() if v)} with weights")
            else:
                problem(name, "neither a Keras model file (no model_config) nor a legacy weights file (no layer_names)")
                continue
            split = [o for o in ["layer_names0"] if o in (f["model_weights"].attrs if kind == "model" else root)]
            if split:
                print("  layer_names split by Keras's rule")
            found[name] = (kind, names, layers)
            if args.reference:
                ref = os.path.join(args.reference, name)
                if os.path.exists(ref):
                    with h5py.File(ref, "r") as r:
                        compare(name, f, r)
                else:
                    print(f"  (no reference {ref})")
    if args.load:
        import keras
        models = {}
        for name, (kind, names, layers) in found.items():
            if kind != "model":
                continue
            try:
                model = keras.saving.load_model(os.path.join(args.dir, name), compile=False)
            except Exception as error:
                problem(name, f"keras.saving.load_model fails: {type(error).__name__}: {error}")
                continue
            models[name] = (model, names)
            compare_model_weights(name, model, layers, names)
            message = f"{name}: keras.saving.load_model loads it ({len(model.layers)} layers, {model.count_params()} parameters)"
            if args.reference and os.path.exists(os.path.join(args.reference, name)):
                ref = keras.saving.load_model(os.path.join(args.reference, name), compile=False)
                if json.dumps(ref.get_config(), sort_keys=True, default=str) != json.dumps(model.get_config(), sort_keys=True, default=str):
                    problem(name, "the loaded model's config differs from the reference's")
                x = np.random.default_rng(0).standard_normal((1,) + tuple(model.input_shape[1:])).astype("float32")
                diff = float(np.max(np.abs(model.predict(x, verbose=0) - ref.predict(x, verbose=0))))
                message += f", predicts as the reference (max difference {diff})"
                if diff != 0:
                    problem(name, f"predictions differ from the reference's by {diff}")
            print(message)
        for name, (kind, names, layers) in found.items():
            if kind != "weights":
                continue
            match = next((m for m, (model, model_names) in models.items() if model_names == names), None)
            if match is None:
                print(f"{name}: no model file in {args.dir} with the same layer_names to load it into")
                continue
            model = keras.saving.load_model(os.path.join(args.dir, match), compile=False)
            try:
                model.load_weights(os.path.join(args.dir, name))
            except Exception as error:
                problem(name, f"model.load_weights fails: {type(error).__name__}: {error}")
                continue
            compare_model_weights(name, model, layers, names)
            print(f"{name}: model.load_weights loads it into {match}'s model")
    print(f"{len(files)} files, {len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
