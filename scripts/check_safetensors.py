"""Opens a Fovea model file with Python's `safetensors` package, as issue #6 asks: proves the file is
standard safetensors. Prints every tensor's name, dtype and shape and the architecture metadata.

usage: python scripts/check_safetensors.py MODEL.safetensors   (needs: pip install safetensors numpy)
"""
import json, sys
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
    total = 0
    for name in f.keys():
        t = f.get_tensor(name)
        total += t.size
        print(f"  {name:24s} {str(t.dtype):8s} {tuple(t.shape)}  mean {t.mean():+.5f}")
    print(f"{total:,} parameters")
