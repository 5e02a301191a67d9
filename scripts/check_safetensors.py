"""Opens a Fovea model file with Python's `safetensors` package, as issue #6 asks: proves the file is
standard safetensors. Prints every tensor's name, dtype and shape, the architecture metadata and,
for format version 2 files, the optimizer config and step count, the training position and the
layers' random states; then recomputes Fovea's SHA-256 checksum independently and says whether it
matches.

usage: python scripts/check_safetensors.py MODEL.safetensors   (needs: pip install safetensors numpy)
"""
import hashlib, json, struct, sys
from safetensors import safe_open

path = sys.argv[1]
with safe_open(path, framework="numpy") as f:
    meta = f.metadata() or {}
    print(f"format={meta.get('format')} format_version={meta.get('format_version')}")
    arch = json.loads(meta["architecture"]) if "architecture" in meta else None
    if arch:
        layers = arch["config"]["layers"]
        print(f"architecture: {arch['class_name']} '{arch['config']['name']}' with {len(layers)} layers: "
              + ", ".join(l["class_name"] for l in layers))
    weights = optimizer_scalars = 0
    for name in f.keys():
        t = f.get_tensor(name)
        if name.startswith("optimizer/"):
            optimizer_scalars += t.size
        else:
            weights += t.size
        print(f"  {name:40s} {str(t.dtype):8s} {str(tuple(t.shape)):16s} mean {t.mean():+.5f}")
    print(f"{weights:,} parameters" + (f", {optimizer_scalars:,} optimizer state values" if optimizer_scalars else ""))

for key in ("compile", "optimizer", "training", "random_state"):
    if key in meta:
        print(f"{key}: {json.dumps(json.loads(meta[key]), sort_keys=True)}")

# Fovea's checksum: SHA-256 over every metadata entry but the checksum, every tensor's header entry
# (sorted by name) and the SHA-256 of the data section (Sequential.modelChecksum in ModelFile.swift).
if "checksum" in meta:
    raw = open(path, "rb").read()
    (header_length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + header_length])
    text = "fovea-checksum-1\n"
    for key in sorted(k for k in meta if k != "checksum"):
        value = meta[key]
        text += f"{len(key.encode())}:{key}={len(value.encode())}:{value}\n"
    for name in sorted(k for k in header if k != "__metadata__"):
        entry = header[name]
        shape = "[" + ", ".join(str(d) for d in entry["shape"]) + "]"
        text += f"{len(name.encode())}:{name} F32 {shape} {entry['data_offsets'][0]} {entry['data_offsets'][1]}\n"
    text += "data " + hashlib.sha256(raw[8 + header_length:]).hexdigest()
    actual = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    print(f"checksum {'matches' if actual == meta['checksum'] else 'DOES NOT MATCH'}: {meta['checksum']}")
